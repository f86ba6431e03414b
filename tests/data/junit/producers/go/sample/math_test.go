package sample

import (
	"os"
	"testing"
)

func TestAdds(t *testing.T)      { if 1+1 != 2 { t.Fatal("no") } }
func TestSubtracts(t *testing.T) { if 2-1 != 1 { t.Fatal("no") } }
func TestMultipliesWrongly(t *testing.T) {
	if 2*2 != 5 {
		t.Fatal("2*2 is not 5")
	}
}
func TestSkipped(t *testing.T) { t.Skip("not today") }
func TestSubtests(t *testing.T) {
	t.Run("first", func(t *testing.T) {})
	t.Run("second", func(t *testing.T) {})
}

// Fails on the first run, passes on gotestsum's rerun (a marker file remembers).
func TestFlaky(t *testing.T) {
	marker := os.Getenv("FLAKY_MARKER")
	if _, err := os.Stat(marker); err != nil {
		os.WriteFile(marker, []byte("x"), 0o644)
		t.Fatal("first attempt fails")
	}
}
