package broken

import "testing"

func TestNeverCompiles(t *testing.T) { var x int = "not an int"; _ = x }
