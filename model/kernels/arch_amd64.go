//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// avx512 runs 12×32 tiles: 24 zmm accumulators, two zmm of B and
// broadcasts of A, so one k step is 24 FMAs for 2 loads and 12
// broadcasts. kc×mr of A (18 KiB) stays in L1 and kc×nc of B (720 KiB) in
// the 1 MiB L2 of Skylake-SP class cores.
var avx512 = &arch{
	name: "avx512",
	mr:   12, nr: 32, kc: 384, mc: 1536, nc: 480,
	kernel: kernelAVX512,
	packA:  packAAVX512,
	packB:  packBAVX512,
	smallN: smallNAVX512,
	smallT: smallTAVX512,
	dot:    dotAVX512Slice,
	axpy:   axpyAVX512Slice,
}

// avx2 runs 6×16 tiles in the 16 ymm registers, with blocks sized for a
// 256 KiB L2.
var avx2 = &arch{
	name: "avx2+fma",
	mr:   6, nr: 16, kc: 256, mc: 1536, nc: 192,
	kernel: kernelAVX2,
	packA:  packAGo,
	packB:  packBGo,
	smallN: smallNVia(axpyAVX2Slice),
	smallT: smallTVia(dotAVX2Slice),
	dot:    dotAVX2Slice,
	axpy:   axpyAVX2Slice,
}

var (
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA

	best = bestArch()
)

func bestArch() *arch {
	switch {
	case hasAVX512:
		return avx512
	case hasAVX2:
		return avx2
	}
	return generic
}

// archs returns the instruction sets this machine can run, for tests.
func archs() []*arch {
	as := []*arch{generic}
	if hasAVX2 {
		as = append(as, avx2)
	}
	if hasAVX512 {
		as = append(as, avx512)
	}
	return as
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func kernelAVX512(kc int, a, b, c []float32, ldc int, alpha, beta float32, rows, cols int, accumulate bool) {
	_, _ = a[12*kc-1], b[32*kc-1]
	sgemmKernelAVX512(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, rows, uint32(1)<<cols-1, b2i(accumulate))
}

func kernelAVX2(kc int, a, b, c []float32, ldc int, alpha, beta float32, rows, cols int, accumulate bool) {
	_, _ = a[6*kc-1], b[16*kc-1]
	sgemmKernelAVX2(kc, &a[0], &b[0], &c[0], ldc, alpha, beta, rows, cols, b2i(accumulate))
}

func packAAVX512(dst, a []float32, lda int, trans bool, i0, rows, p0, kb, mr int) {
	if kb == 0 {
		return
	}
	_ = dst[kb*12-1]
	if trans {
		packN12AVX512(&dst[0], &a[p0*lda+i0], lda, kb, uint32(1)<<rows-1)
		return
	}
	packT12AVX512(&dst[0], &a[i0*lda+p0], lda, kb, rows)
}

func packBAVX512(dst, b []float32, ldb int, trans bool, p0, kb, j0, cols, nr int) {
	if kb == 0 {
		return
	}
	_ = dst[kb*32-1]
	if !trans {
		packN32AVX512(&dst[0], &b[p0*ldb+j0], ldb, kb, uint32(1)<<cols-1)
		return
	}
	packT32AVX512(&dst[0], &b[j0*ldb+p0], ldb, kb, cols)
}

// smallNAVX512 keeps a strip of up to 6 rows × 64 columns of C in
// registers over smallNDepth rows of B, and sweeps the strips of the
// column range for each such depth block. So B is read as smallNDepth
// long ascending streams, which the hardware prefetchers follow; running
// one strip over all of k instead would hop a page per row of B and reach
// about half the memory bandwidth.
func smallNAVX512(p gemmParams, lo, hi int) {
	for k0 := 0; k0 < p.k; k0 += smallNDepth {
		kb := min(smallNDepth, p.k-k0)
		// Later depth blocks add to C, like the kc blocks of Gemm.
		beta, acc := p.beta, b2i(p.beta != 0)
		if k0 > 0 {
			beta, acc = 1, 1
		}
		for u := lo; u < hi; u++ {
			j := u * smallNUnit
			mask := ^uint64(0) >> (smallNUnit - min(smallNUnit, p.n-j))
			b := &p.b[k0*p.ldb+j]
			for i := 0; i < p.m; i += 6 {
				a, c := &p.a[i*p.lda+k0], &p.c[i*p.ldc+j]
				switch min(6, p.m-i) {
				case 1:
					sgemvN1AVX512(kb, a, p.lda, b, p.ldb, c, p.ldc, p.alpha, beta, acc, mask)
				case 2:
					sgemvN2AVX512(kb, a, p.lda, b, p.ldb, c, p.ldc, p.alpha, beta, acc, mask)
				case 3:
					sgemvN3AVX512(kb, a, p.lda, b, p.ldb, c, p.ldc, p.alpha, beta, acc, mask)
				case 4:
					sgemvN4AVX512(kb, a, p.lda, b, p.ldb, c, p.ldc, p.alpha, beta, acc, mask)
				case 5:
					sgemvN5AVX512(kb, a, p.lda, b, p.ldb, c, p.ldc, p.alpha, beta, acc, mask)
				default:
					sgemvN6AVX512(kb, a, p.lda, b, p.ldb, c, p.ldc, p.alpha, beta, acc, mask)
				}
			}
		}
	}
}

// smallTAVX512 computes 4 columns of C at a time as dot products of up to
// 4 rows of A with 4 rows of B; the B rows stay in L1 across row groups.
func smallTAVX512(p gemmParams, lo, hi int) {
	var dst [16]float32
	tail := uint16(1)<<(p.k%16) - 1
	for u := lo; u < hi; u++ {
		j := u * smallTUnit
		nb := min(smallTUnit, p.n-j)
		// Missing rows of B repeat the last one; their sums are dropped.
		b0 := &p.b[j*p.ldb]
		b1 := &p.b[(j+min(1, nb-1))*p.ldb]
		b2 := &p.b[(j+min(2, nb-1))*p.ldb]
		b3 := &p.b[(j+min(3, nb-1))*p.ldb]
		for i := 0; i < p.m; i += 4 {
			a := &p.a[i*p.lda]
			r := min(4, p.m-i)
			switch r {
			case 1:
				sgemvT1AVX512(p.k, a, p.lda, b0, b1, b2, b3, &dst[0], tail)
			case 2:
				sgemvT2AVX512(p.k, a, p.lda, b0, b1, b2, b3, &dst[0], tail)
			case 3:
				sgemvT3AVX512(p.k, a, p.lda, b0, b1, b2, b3, &dst[0], tail)
			default:
				sgemvT4AVX512(p.k, a, p.lda, b0, b1, b2, b3, &dst[0], tail)
			}
			for ii := 0; ii < r; ii++ {
				row := p.c[(i+ii)*p.ldc+j : (i+ii)*p.ldc+j+nb]
				for jj := range row {
					v := p.alpha * dst[4*ii+jj]
					if p.beta != 0 {
						v += p.beta * row[jj]
					}
					row[jj] = v
				}
			}
		}
	}
}

func dotAVX512Slice(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = y[len(x)-1]
	return dotAVX512(&x[0], &y[0], len(x))
}

func axpyAVX512Slice(alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	_ = y[len(x)-1]
	axpyAVX512(alpha, &x[0], &y[0], len(x))
}

func dotAVX2Slice(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = y[len(x)-1]
	return dotAVX2(&x[0], &y[0], len(x))
}

func axpyAVX2Slice(alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	_ = y[len(x)-1]
	axpyAVX2(alpha, &x[0], &y[0], len(x))
}
