//go:build !purego

package kernels

// expShiftAVX512 handles n (a multiple of 16) elements, leaving 16 partial
// sums in acc; store is 0 to only sum.
//
//go:noescape
func expShiftAVX512(dst, src *float32, n int, shift, scale float32, store int, acc *[16]float32)

func expShift(dst, src []float32, shift, scale float32) float32 {
	n := len(src) &^ 15
	if !hasAVX512 || n == 0 {
		return expShiftGeneric(dst, src, shift, scale)
	}
	var acc [16]float32
	var d *float32
	store := 0
	if dst != nil {
		d, store = &dst[0], 1
	}
	expShiftAVX512(d, &src[0], n, shift, scale, store, &acc)
	var sum float32
	for _, v := range acc {
		sum += v
	}
	var tail []float32
	if dst != nil {
		tail = dst[n:len(src)]
	}
	return sum + expShiftGeneric(tail, src[n:], shift, scale)
}
