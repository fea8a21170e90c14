package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShape is a Gemm benchmark case: the GPT-2 (small) layer shapes with
// 1024 tokens, forward and backward.
type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
}

func gemmBenchShapes() []benchShape {
	var s []benchShape
	// Forward Y = X·W with X [M,K] and W [K,N]: attention qkv/out, MLP
	// up/down, and the LM head.
	for _, f := range [][3]int{{1024, 768, 768}, {1024, 768, 3072}, {1024, 3072, 768}, {1024, 768, 50257}} {
		m, k, n := f[0], f[1], f[2]
		s = append(s, benchShape{fmt.Sprintf("fwd_%dx%dx%d", m, k, n), false, false, m, n, k})
	}
	for _, f := range [][3]int{{1024, 768, 768}, {1024, 768, 3072}, {1024, 3072, 768}, {1024, 768, 50257}} {
		m, k, n := f[0], f[1], f[2]
		// dX = dY·Wᵀ: m=M, n=K, k=N.
		s = append(s, benchShape{fmt.Sprintf("dX_%dx%dx%d", m, n, k), false, true, m, k, n})
		// dW = Xᵀ·dY: m=K, n=N, k=M.
		s = append(s, benchShape{fmt.Sprintf("dW_%dx%dx%d", k, m, n), true, false, k, n, m})
	}
	return s
}

// randMatrix returns rows×cols standard normal values.
func randMatrix(rows, cols int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// benchGemm runs gemm on the shape and reports GFLOP/s.
func benchGemm(b *testing.B, sh benchShape, gemm func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	lda, ldb := sh.k, sh.n
	if sh.transA {
		lda = sh.m
	}
	if sh.transB {
		ldb = sh.k
	}
	a := randMatrix(sh.m, sh.k, 1)
	bm := randMatrix(sh.k, sh.n, 2)
	c := make([]float32, sh.m*sh.n)
	gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, sh.n)
	b.ResetTimer()
	for range b.N {
		gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bm, ldb, 0, c, sh.n)
	}
	b.ReportMetric(2*float64(sh.m)*float64(sh.n)*float64(sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemm(b *testing.B) {
	for _, sh := range gemmBenchShapes() {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", sh.name, threads), func(b *testing.B) {
				c := NewCPU(threads)
				defer c.Close()
				benchGemm(b, sh, c.Gemm)
			})
		}
	}
}

// BenchmarkGemv measures the small-m decode shapes (k=768) and reports the
// bandwidth of streaming B. "hot" reuses one B (it may sit in L3); "cold"
// cycles through enough copies of B to defeat the caches, like decoding
// through the layers of a model.
func BenchmarkGemv(b *testing.B) {
	type shape struct {
		transB bool
		n      int
	}
	shapes := []shape{{false, 2304}, {false, 768}, {false, 3072}, {true, 50257}, {false, 50257}, {true, 3072}}
	for _, m := range []int{1, 4} {
		for _, sh := range shapes {
			for _, cold := range []bool{false, true} {
				for _, threads := range []int{1, 2} {
					t := "N"
					if sh.transB {
						t = "T"
					}
					temp := "hot"
					if cold {
						temp = "cold"
					}
					name := fmt.Sprintf("m=%d/%s_k768_n%d/%s/threads=%d", m, t, sh.n, temp, threads)
					b.Run(name, func(b *testing.B) { benchGemv(b, m, sh.n, 768, sh.transB, cold, threads) })
				}
			}
		}
	}
}

func benchGemv(b *testing.B, m, n, k int, transB, cold bool, threads int) {
	c := NewCPU(threads)
	defer c.Close()
	copies := 1
	if cold {
		copies = max(2, (256<<20)/(4*n*k)) // ≥ 256 MiB in all
	}
	bs := make([][]float32, copies)
	for i := range bs {
		bs[i] = randMatrix(n, k, uint64(i))
	}
	ldb := n
	if transB {
		ldb = k
	}
	a := randMatrix(m, k, 99)
	out := make([]float32, m*n)
	b.ResetTimer()
	for i := range b.N {
		c.Gemm(false, transB, m, n, k, 1, a, k, bs[i%copies], ldb, 0, out, n)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(4*float64(n)*float64(k)*float64(b.N)/sec/1e9, "GB/s")
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/sec/1e9, "GFLOP/s")
}

// BenchmarkMemBandwidth measures what the machine can stream from memory,
// as a yardstick for BenchmarkGemv: summing (read) and copying (read +
// write, counted as both) 256 MiB, on 1 and 2 threads.
func BenchmarkMemBandwidth(b *testing.B) {
	const n = 64 << 20
	src, dst := make([]float32, n), make([]float32, n)
	for i := range src {
		src[i] = 1
	}
	for _, threads := range []int{1, 2} {
		c := NewCPU(threads)
		b.Run(fmt.Sprintf("sum/threads=%d", threads), func(b *testing.B) {
			t := &sumBandwidth{x: src}
			for range b.N {
				c.Parallel(len(src)/4096, 1, t)
			}
			b.ReportMetric(4*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run(fmt.Sprintf("copy/threads=%d", threads), func(b *testing.B) {
			t := &copyBandwidth{dst: dst, src: src}
			for range b.N {
				c.Parallel(len(src)/4096, 1, t)
			}
			b.ReportMetric(8*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		c.Close()
	}
}

type sumBandwidth struct {
	x    []float32
	sink [64]float32
}

func (s *sumBandwidth) Run(worker, lo, hi int) {
	ones := make([]float32, 4096)
	for i := range ones {
		ones[i] = 1
	}
	var t float32
	for i := lo; i < hi; i++ {
		t += Dot(s.x[i*4096:(i+1)*4096], ones)
	}
	s.sink[worker*8] = t
}

type copyBandwidth struct{ dst, src []float32 }

func (c *copyBandwidth) Run(worker, lo, hi int) {
	copy(c.dst[lo*4096:hi*4096], c.src[lo*4096:hi*4096])
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{64, 768, 4096} {
		x, y := randMatrix(1, n, 1), randMatrix(1, n, 2)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var s float32
			for range b.N {
				s += Dot(x, y)
			}
			b.ReportMetric(2*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkAxpy(b *testing.B) {
	for _, n := range []int{64, 768, 4096} {
		x, y := randMatrix(1, n, 1), randMatrix(1, n, 2)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for range b.N {
				Axpy(1e-3, x, y)
			}
			b.ReportMetric(2*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
