//go:build !amd64 || purego

package kernels

func expShift(dst, src []float32, shift, scale float32) float32 {
	return expShiftGeneric(dst, src, shift, scale)
}
