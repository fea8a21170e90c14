package model

import "github.com/nebras-ai/nebras/model/kernels"

// tanhf is tanh in float32 through kernels.Exp; for small |x| it uses the odd
// series, where 1 − 2/(e^{2x}+1) would cancel.
func tanhf(x float32) float32 {
	ax := x
	if ax < 0 {
		ax = -ax
	}
	if ax < 0.0625 {
		x2 := x * x
		// x − x³/3 + 2x⁵/15 − 17x⁷/315: error below 1e-9 for |x| < 1/16.
		return x * (1 + x2*(-1.0/3+x2*(2.0/15-x2*(17.0/315))))
	}
	if ax > 9.1 { // tanh is 1 to float32 precision
		if x < 0 {
			return -1
		}
		return 1
	}
	t := 1 - 2/(kernels.Exp(2*ax)+1)
	if x < 0 {
		return -t
	}
	return t
}
