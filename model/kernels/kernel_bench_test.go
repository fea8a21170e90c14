package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkKernel measures the microkernels alone on one packed A panel
// and an L2-sized packed block of B, i.e. the inner loop of the GEMM.
func BenchmarkKernel(b *testing.B) {
	for _, ar := range archs() {
		for _, nc := range []int{ar.nr, ar.nc} {
			b.Run(fmt.Sprintf("%s/nc=%d", ar.name, nc), func(b *testing.B) {
				kc := ar.kc
				a := randMatrix(ar.mr, kc, 1)
				bp := randMatrix(kc, nc, 2)
				c := make([]float32, ar.mr*nc)
				for range b.N {
					for j := 0; j < nc; j += ar.nr {
						ar.kernel(kc, a, bp[j*kc:], c[j:], nc, 1, 1, ar.mr, ar.nr, true)
					}
				}
				b.ReportMetric(2*float64(ar.mr*nc*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkPack measures packing a 1024×3072 A (or a transposed B) into
// panels, in ns per element.
func BenchmarkPack(b *testing.B) {
	for _, sz := range [][2]int{{96, 1536}, {1024, 3072}} {
		for _, ar := range archs() {
			for _, which := range []string{"A", "AT", "B", "BT"} {
				benchPack(b, ar, which, sz[0], sz[1])
			}
		}
	}
}

func benchPack(b *testing.B, ar *arch, which string, m, k int) {
	src := randMatrix(m, k, 1)
	b.Run(fmt.Sprintf("%s/%dx%d/%s", ar.name, m, k, which), func(b *testing.B) {
		dst := make([]float32, max(ar.mr, ar.nr)*ar.kc)
		for range b.N {
			for p0 := 0; p0 < k; p0 += ar.kc {
				switch which {
				case "A": // op(A) = A, m×k
					for i := 0; i < m; i += ar.mr {
						ar.packA(dst, src, k, false, i, min(ar.mr, m-i), p0, min(ar.kc, k-p0), ar.mr)
					}
				case "BT": // op(B) = Bᵀ with B m×k: columns of op(B) are rows
					for j := 0; j < m; j += ar.nr {
						ar.packB(dst, src, k, true, p0, min(ar.kc, k-p0), j, min(ar.nr, m-j), ar.nr)
					}
				}
			}
			switch which {
			case "AT": // op(A) = Aᵀ with A k'×m' = 1024 rows of 3072: treat as depth 1024
				for p0 := 0; p0 < m; p0 += ar.kc {
					for i := 0; i < k; i += ar.mr {
						ar.packA(dst, src, k, true, i, min(ar.mr, k-i), p0, min(ar.kc, m-p0), ar.mr)
					}
				}
			case "B":
				for p0 := 0; p0 < m; p0 += ar.kc {
					for j := 0; j < k; j += ar.nr {
						ar.packB(dst, src, k, false, p0, min(ar.kc, m-p0), j, min(ar.nr, k-j), ar.nr)
					}
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m*k), "ns/elem")
	})
}
