package calc

import "testing"

func TestDivide(t *testing.T) {
	if got, err := Divide(6, 3); err != nil || got != 2 {
		t.Fatalf("Divide(6, 3) = %d, %v", got, err)
	}
}

func TestSign(t *testing.T) {
	if Sign(-4) != -1 || Sign(3) != 1 {
		t.Fatal("sign")
	}
}

func TestSum(t *testing.T) {
	if Sum(1, 2, 3) != 6 {
		t.Fatal("sum")
	}
}
