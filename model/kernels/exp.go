package kernels

import "math"

// ExpShift writes dst[i] = e^(src[i]−shift)·scale and returns
// Σ e^(src[i]−shift); dst may be src, or nil to only sum. It is the inner
// loop of softmax and cross-entropy, vectorised where the CPU allows.
// Arguments are clamped to [−86.9, 88.7] (the float32 range of e^x), so
// far-negative ones give about 1e-38 rather than 0: nothing a sum or a
// gradient can see. Accuracy is about 2 ulp (Cephes' expf polynomial). The
// sum's order is fixed by the length alone, so results are reproducible.
func ExpShift(dst, src []float32, shift, scale float32) float32 {
	if dst != nil && len(dst) < len(src) {
		panic("kernels: ExpShift: dst shorter than src")
	}
	return expShift(dst, src, shift, scale)
}

// Cephes expf constants: e^x = 2^n · e^r with n = round(x·log2 e) and
// r = x − n·ln 2 (ln 2 split in two for precision).
const (
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expRound = 12582912 // 1.5·2²³: adding it rounds a float32 to an integer
	expLo    = -86.9
	expHi    = 88.72283
)

// Exp is e^x in float32 arithmetic: Cephes' expf, range reduction by ln 2
// and a degree-5 polynomial, about 1 ulp. Results below the smallest normal
// float32 flush to zero. Used one value at a time (gelu's tanh, sampling);
// ExpShift is the vector form over a row.
func Exp(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expHi:
		return float32(math.Inf(1))
	case x < -87.33654: // the result would not be a normal float32
		return 0
	}
	n := (x*expLog2e + expRound) - expRound
	r := x - n*expC1 - n*expC2
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y := p*r*r + r + 1
	if n > 127 { // 2^128 is not a float32; y·2^128 may be
		return 2 * y * math.Float32frombits(uint32(127+127)<<23)
	}
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// expShiftGeneric is ExpShift in scalar Go, also the tail of the vector
// versions.
func expShiftGeneric(dst, src []float32, shift, scale float32) float32 {
	var sum float32
	for i, v := range src {
		y := Exp(min(max(v-shift, expLo), expHi))
		sum += y
		if dst != nil {
			dst[i] = y * scale
		}
	}
	return sum
}
