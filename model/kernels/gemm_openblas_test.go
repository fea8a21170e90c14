//go:build openblas && cgo

package kernels

import (
	"fmt"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/model/kernels/internal/openblas"
)

// BenchmarkGemmVsOpenBLAS runs the BenchmarkGemm shapes through this
// package and through OpenBLAS's cblas_sgemm, one after the other for each
// shape, so the two see the same machine; run with -tags openblas.
func BenchmarkGemmVsOpenBLAS(b *testing.B) {
	b.Logf("OpenBLAS %s", openblas.Config())
	for _, sh := range gemmBenchShapes() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d/ours", sh.name, threads), func(b *testing.B) {
				// OpenBLAS's threads spin for a while after each call.
				time.Sleep(300 * time.Millisecond)
				c := NewCPU(threads)
				defer c.Close()
				benchGemm(b, sh, c.Gemm)
			})
			b.Run(fmt.Sprintf("%s/threads=%d/openblas", sh.name, threads), func(b *testing.B) {
				openblas.SetThreads(threads)
				benchGemm(b, sh, openblas.Gemm)
			})
		}
	}
}

// BenchmarkGemvOpenBLAS runs the small-m decode shapes through OpenBLAS.
func BenchmarkGemvOpenBLAS(b *testing.B) {
	for _, m := range []int{1, 4} {
		for _, sh := range []struct {
			transB bool
			n      int
		}{{false, 2304}, {false, 768}, {false, 3072}, {true, 50257}} {
			for _, threads := range []int{1, 2} {
				t := "N"
				if sh.transB {
					t = "T"
				}
				b.Run(fmt.Sprintf("m=%d/%s_k768_n%d/hot/threads=%d", m, t, sh.n, threads), func(b *testing.B) {
					openblas.SetThreads(threads)
					k, n := 768, sh.n
					bm := randMatrix(n, k, 1)
					ldb := n
					if sh.transB {
						ldb = k
					}
					a := randMatrix(m, k, 2)
					out := make([]float32, m*n)
					for range b.N {
						openblas.Gemm(false, sh.transB, m, n, k, 1, a, k, bm, ldb, 0, out, n)
					}
					sec := b.Elapsed().Seconds()
					b.ReportMetric(4*float64(n)*float64(k)*float64(b.N)/sec/1e9, "GB/s")
				})
			}
		}
	}
}

// TestOpenBLASAgrees checks the comparison is like for like.
func TestOpenBLASAgrees(t *testing.T) {
	c := NewCPU(2)
	defer c.Close()
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		sh := benchShape{"", tr[0], tr[1], 100, 130, 70}
		a, bm := randMatrix(sh.m, sh.k, 1), randMatrix(sh.k, sh.n, 2)
		lda, ldb := sh.k, sh.n
		if sh.transA {
			lda = sh.m
		}
		if sh.transB {
			ldb = sh.k
		}
		x, y := make([]float32, sh.m*sh.n), make([]float32, sh.m*sh.n)
		c.Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, x, sh.n)
		openblas.Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, y, sh.n)
		for i := range x {
			if d := x[i] - y[i]; d > 1e-3 || d < -1e-3 {
				t.Fatalf("trans %v: element %d: ours %g, OpenBLAS %g", tr, i, x[i], y[i])
			}
		}
	}
}
