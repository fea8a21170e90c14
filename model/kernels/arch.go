package kernels

// arch is the set of kernels and blocking sizes for one instruction set.
// The values are fixed at init and never written afterwards.
type arch struct {
	name string

	// Microkernel tile (mr×nr) and cache blocking. kc is the depth of a
	// packed block: it decides where partial sums are rounded into C, so it
	// must not depend on the thread count. mc (a multiple of mr) bounds the
	// rows of A packed at once (shared by all workers, lives in L3); nc (a
	// multiple of nr) bounds the columns of B a worker packs at once (lives
	// in its L2).
	mr, nr, kc, mc, nc int

	// kernel computes the rows×cols top-left part of the mr×nr tile
	// C = alpha·Ã·B̃ + beta·C from packed panels a (kc×mr) and b (kc×nr).
	// If accumulate is false C is not read.
	kernel func(kc int, a, b, c []float32, ldc int, alpha, beta float32, rows, cols int, accumulate bool)
	// packA packs rows [i0, i0+rows) and depth [p0, p0+kb) of op(A) into an
	// mr-wide panel, zero-padding missing rows.
	packA func(dst, a []float32, lda int, trans bool, i0, rows, p0, kb, mr int)
	// packB packs depth [p0, p0+kb) and columns [j0, j0+cols) of op(B)
	// into an nr-wide panel, zero-padding missing columns.
	packB func(dst, b []float32, ldb int, trans bool, p0, kb, j0, cols, nr int)

	// smallN and smallT compute the small-m product for untransposed and
	// transposed B over column units [lo, hi) (see small.go).
	smallN func(p gemmParams, lo, hi int)
	smallT func(p gemmParams, lo, hi int)

	dot  func(x, y []float32) float32
	axpy func(alpha float32, x, y []float32)
}

var generic = &arch{
	name: "generic",
	mr:   4, nr: 4, kc: 256, mc: 1536, nc: 256,
	kernel: kernelGeneric,
	packA:  packAGo,
	packB:  packBGo,
	smallN: smallNGo,
	smallT: smallTGo,
	dot:    dotGo,
	axpy:   axpyGo,
}

// kernelGeneric is the 4×4 microkernel in plain Go.
func kernelGeneric(kc int, a, b, c []float32, ldc int, alpha, beta float32, rows, cols int, accumulate bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:4*kc], b[:4*kc]
	for len(a) >= 4 && len(b) >= 4 {
		// Array pointers let the compiler drop the bounds checks.
		av, bv := (*[4]float32)(a), (*[4]float32)(b)
		a, b = a[4:], b[4:]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	t := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for i := 0; i < rows; i++ {
		row := c[i*ldc : i*ldc+cols]
		for j := range row {
			v := alpha * t[i][j]
			if accumulate {
				v += beta * row[j]
			}
			row[j] = v
		}
	}
}

// packAGo packs an mr-wide panel of op(A): dst[kk*mr+ii] = op(A)[i0+ii, p0+kk].
func packAGo(dst, a []float32, lda int, trans bool, i0, rows, p0, kb, mr int) {
	// An mr-row panel of op(A) laid out k-major is an mr-wide panel of
	// op(A)ᵀ, which is what packBGo writes.
	packBGo(dst, a, lda, !trans, p0, kb, i0, rows, mr)
}

// packBGo packs an nr-wide panel of op(B): dst[kk*nr+jj] = op(B)[p0+kk, j0+jj].
func packBGo(dst, b []float32, ldb int, trans bool, p0, kb, j0, cols, nr int) {
	dst = dst[:kb*nr]
	if !trans {
		for kk := 0; kk < kb; kk++ {
			d := dst[kk*nr : kk*nr+nr]
			copy(d, b[(p0+kk)*ldb+j0:(p0+kk)*ldb+j0+cols])
			clear(d[cols:])
		}
		return
	}
	for jj := 0; jj < cols; jj++ {
		src := b[(j0+jj)*ldb+p0 : (j0+jj)*ldb+p0+kb]
		for kk, v := range src {
			dst[kk*nr+jj] = v
		}
	}
	if cols < nr {
		for kk := 0; kk < kb; kk++ {
			clear(dst[kk*nr+cols : kk*nr+nr])
		}
	}
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}
