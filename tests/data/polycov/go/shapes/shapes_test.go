package shapes

import "testing"

func TestArea(t *testing.T) {
	if Area(2, 3) != 6 || Area(-1, 3) != 0 {
		t.Fatal("area")
	}
}
