package shapes

// Area of a rectangle; negative sides count as zero.
func Area(w, h int) int {
	if w < 0 {
		w = 0
	}
	if h < 0 {
		h = 0
	}
	return w * h
}

// Perimeter of a rectangle.
func Perimeter(w, h int) int { return 2 * (w + h) }
