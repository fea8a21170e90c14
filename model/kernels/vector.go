package kernels

// Dot returns the dot product of a and b, which must have the same length.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic("kernels: Dot of vectors of different lengths")
	}
	return best.dot(a, b)
}

// Axpy computes y += alpha·x; x and y must have the same length.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic("kernels: Axpy of vectors of different lengths")
	}
	best.axpy(alpha, x, y)
}
