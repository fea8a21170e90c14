package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// problem is a Gemm test case. The matrices live at offset off inside
// larger slices, with padded strides, to catch stride and bounds mistakes.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra elements per row
	padC           int
	off            int
}

func (pr problem) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s_m%d_n%d_k%d_a%g_b%g_pad%d.%d.%d", t(pr.transA), t(pr.transB), pr.m, pr.n, pr.k, pr.alpha, pr.beta, pr.padA, pr.padB, pr.padC)
}

// operands holds the inputs of a problem and a float64 reference result.
type operands struct {
	pr            problem
	a, b, c0      []float32 // c0 is C before the call
	lda, ldb, ldc int
	want, bound   []float64 // expected C and its error bound
}

func newOperands(pr problem, rng *rand.Rand) *operands {
	ra, ca := pr.m, pr.k
	if pr.transA {
		ra, ca = ca, ra
	}
	rb, cb := pr.k, pr.n
	if pr.transB {
		rb, cb = cb, rb
	}
	o := &operands{pr: pr, lda: ca + pr.padA, ldb: cb + pr.padB, ldc: max(1, pr.n+pr.padC)}
	fill := func(rows, ld int) []float32 {
		x := make([]float32, pr.off+rows*ld+3)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	o.a = fill(ra, o.lda)
	o.b = fill(rb, o.ldb)
	o.c0 = fill(pr.m, o.ldc)
	if pr.beta == 0 {
		// Gemm must not read C when beta is 0.
		for i := range o.c0 {
			o.c0[i] = float32(math.NaN())
		}
	}
	at := func(i, kk int) float64 {
		if pr.transA {
			return float64(o.a[pr.off+kk*o.lda+i])
		}
		return float64(o.a[pr.off+i*o.lda+kk])
	}
	bt := func(kk, j int) float64 {
		if pr.transB {
			return float64(o.b[pr.off+j*o.ldb+kk])
		}
		return float64(o.b[pr.off+kk*o.ldb+j])
	}
	o.want = make([]float64, pr.m*pr.n)
	o.bound = make([]float64, pr.m*pr.n)
	const eps = 1.0 / (1 << 23)
	for i := 0; i < pr.m; i++ {
		for j := 0; j < pr.n; j++ {
			var s, abs float64
			for kk := 0; kk < pr.k; kk++ {
				p := at(i, kk) * bt(kk, j)
				s += p
				abs += math.Abs(p)
			}
			want := float64(pr.alpha) * s
			mag := math.Abs(float64(pr.alpha)) * abs
			if pr.beta != 0 {
				cv := float64(o.c0[pr.off+i*o.ldc+j])
				want += float64(pr.beta) * cv
				mag += math.Abs(float64(pr.beta) * cv)
			}
			o.want[i*pr.n+j] = want
			// A sum of k products in float32 is within about k·eps of the
			// sum of magnitudes; allow for the alpha/beta roundings too.
			o.bound[i*pr.n+j] = float64(pr.k+4)*eps*mag*2 + 1e-30
		}
	}
	return o
}

// run calls gemm on a fresh copy of C and returns it.
func (o *operands) run(gemm func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) []float32 {
	pr := o.pr
	c := append([]float32(nil), o.c0...)
	gemm(pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.alpha, o.a[pr.off:], o.lda, o.b[pr.off:], o.ldb, pr.beta, c[pr.off:], o.ldc)
	return c
}

// check compares C against the reference, and checks that the padding
// around it was left alone.
func (o *operands) check(t *testing.T, name string, c []float32) {
	t.Helper()
	pr := o.pr
	bad := 0
	for idx := range c {
		i, j := (idx-pr.off)/o.ldc, (idx-pr.off)%o.ldc
		inside := idx >= pr.off && i < pr.m && j < pr.n
		if !inside {
			if math.Float32bits(c[idx]) != math.Float32bits(o.c0[idx]) {
				t.Errorf("%s %v: wrote outside C at %d", name, pr, idx)
				return
			}
			continue
		}
		got := float64(c[idx])
		want, bound := o.want[i*pr.n+j], o.bound[i*pr.n+j]
		if math.IsNaN(got) || math.Abs(got-want) > bound {
			if bad++; bad <= 3 {
				t.Errorf("%s %v: C[%d,%d] = %g, want %g ± %g", name, pr, i, j, got, want, bound)
			}
		}
	}
}

// testProblems lists shapes around the tile, block and small-m boundaries
// of every instruction set, plus random ones.
func testProblems() []problem {
	var ps []problem
	add := func(m, n, k int) {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			ps = append(ps, problem{transA: tr[0], transB: tr[1], m: m, n: n, k: k, alpha: 1, beta: 0})
		}
	}
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 16, 17, 25} {
		for _, n := range []int{1, 3, 4, 5, 16, 31, 33, 64, 65, 97} {
			for _, k := range []int{1, 7, 16, 17, 40} {
				add(m, n, k)
			}
		}
	}
	// k across the kc boundaries (256 and 384), m across mc, n across nc.
	for _, k := range []int{255, 256, 257, 383, 384, 385, 800} {
		add(20, 40, k)
		add(3, 70, k)
	}
	add(1600, 20, 10)
	add(40, 1100, 30)
	add(130, 500, 300)
	add(1, 50257, 8)
	add(2, 9, 2000)

	rng := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		m, n, k := 1+rng.IntN(70), 1+rng.IntN(150), 1+rng.IntN(300)
		ps = append(ps, problem{
			transA: rng.IntN(2) == 0, transB: rng.IntN(2) == 0,
			m: m, n: n, k: k,
			alpha: []float32{1, -0.5, 2}[rng.IntN(3)],
			beta:  []float32{0, 1, 0.25, -1}[rng.IntN(4)],
			padA:  rng.IntN(3) * 5, padB: rng.IntN(3) * 3, padC: rng.IntN(3) * 7,
			off: rng.IntN(5),
		})
	}
	// alpha/beta variants, strides and offsets on fixed shapes.
	for _, ab := range [][2]float32{{1, 1}, {0.5, 2}, {-1, 0}, {0, 0}, {0, 1.5}, {1, -1}} {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, sh := range [][3]int{{37, 45, 29}, {5, 70, 33}, {13, 33, 400}} {
				ps = append(ps, problem{transA: tr[0], transB: tr[1], m: sh[0], n: sh[1], k: sh[2],
					alpha: ab[0], beta: ab[1], padA: 3, padB: 17, padC: 2, off: 7})
			}
		}
	}
	// k = 0 and empty shapes.
	for _, beta := range []float32{0, 1, 3} {
		ps = append(ps, problem{m: 4, n: 5, k: 0, alpha: 1, beta: beta})
		ps = append(ps, problem{m: 40, n: 50, k: 0, alpha: 1, beta: beta, transA: true, padC: 3})
	}
	ps = append(ps, problem{m: 0, n: 5, k: 3, alpha: 1}, problem{m: 5, n: 0, k: 3, alpha: 1})
	return ps
}

func TestGemm(t *testing.T) {
	problems := testProblems()
	if testing.Short() || raceEnabled {
		problems = problems[:len(problems)/4]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	ops := make([]*operands, len(problems))
	for i, pr := range problems {
		ops[i] = newOperands(pr, rng)
	}
	for _, ar := range archs() {
		t.Run(ar.name, func(t *testing.T) {
			c := newCPU(2, ar)
			defer c.Close()
			ws := c.Workspace(1)
			for _, o := range ops {
				got := o.run(c.Gemm)
				o.check(t, "Gemm", got)
				serial := o.run(func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
					GemmSerial(ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
				})
				if !sameBits(got, serial) {
					t.Errorf("%v: GemmSerial differs from Gemm", o.pr)
				}
			}
		})
	}
}

// TestGemmPackers checks the packing routines of each instruction set
// against the Go ones, including the partial panels.
func TestGemmPackers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]float32, 70*90)
	for i := range src {
		src[i] = rng.Float32()
	}
	for _, ar := range archs() {
		for _, trans := range []bool{false, true} {
			for _, kb := range []int{1, 5, 33} {
				for rows := 1; rows <= ar.mr; rows++ {
					want := make([]float32, kb*ar.mr)
					got := make([]float32, kb*ar.mr)
					for i := range got {
						got[i] = -1
					}
					packAGo(want, src, 90, trans, 3, rows, 2, kb, ar.mr)
					ar.packA(got, src, 90, trans, 3, rows, 2, kb, ar.mr)
					if !sameBits(got, want) {
						t.Errorf("%s packA trans=%v kb=%d rows=%d differs", ar.name, trans, kb, rows)
					}
				}
				for cols := 1; cols <= ar.nr; cols++ {
					want := make([]float32, kb*ar.nr)
					got := make([]float32, kb*ar.nr)
					for i := range got {
						got[i] = -1
					}
					packBGo(want, src, 90, trans, 2, kb, 3, cols, ar.nr)
					ar.packB(got, src, 90, trans, 2, kb, 3, cols, ar.nr)
					if !sameBits(got, want) {
						t.Errorf("%s packB trans=%v kb=%d cols=%d differs", ar.name, trans, kb, cols)
					}
				}
			}
		}
	}
}

// TestGemmThreadInvariance checks that the result is bit-identical for any
// number of threads, on the packed and the small-m paths.
func TestGemmThreadInvariance(t *testing.T) {
	shapes := []problem{
		{m: 300, n: 1000, k: 900, alpha: 1, beta: 0},
		{m: 300, n: 1000, k: 900, alpha: 0.5, beta: 1, transA: true},
		{m: 200, n: 70, k: 1000, alpha: 1, beta: 0.5, transB: true},
		{m: 1700, n: 40, k: 500, alpha: 1, beta: 0},
		{m: 97, n: 2000, k: 400, alpha: -1, beta: 1, transA: true, transB: true},
		{m: 1, n: 5000, k: 768, alpha: 1, beta: 0},
		{m: 4, n: 5000, k: 768, alpha: 1, beta: 1, transB: true},
		{m: 16, n: 3001, k: 333, alpha: 2, beta: 0},
		{m: 7, n: 3001, k: 333, alpha: 1, beta: 0, transB: true},
	}
	if raceEnabled {
		// Operands carry a float64 reference product that the race
		// detector slows twentyfold; a third of m and n keeps every path
		// (several k blocks, small m) at a ninth of the cost.
		for i := range shapes {
			shapes[i].m = max(1, shapes[i].m/3)
			shapes[i].n = max(1, shapes[i].n/3)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ar := range archs() {
		if raceEnabled && ar.name != Features() {
			// The race detector is here for the workers' hand-offs, which
			// one instruction set exercises; instrumented Go packing and
			// the generic kernel would take minutes on these shapes.
			continue
		}
		for _, pr := range shapes {
			o := newOperands(pr, rng)
			var ref []float32
			for threads := 1; threads <= 4; threads++ {
				c := newCPU(threads, ar)
				got := o.run(c.Gemm)
				c.Close()
				if threads == 1 {
					ref = got
					o.check(t, ar.name, got)
					continue
				}
				if !sameBits(got, ref) {
					t.Errorf("%s %v: %d threads differ from 1", ar.name, pr, threads)
				}
			}
		}
	}
}

func sameBits(x, y []float32) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

func TestGemmPanics(t *testing.T) {
	c := NewCPU(1)
	defer c.Close()
	cases := map[string]func(){
		"short A": func() {
			c.Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"short C": func() {
			c.Gemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		},
		"small lda": func() {
			c.Gemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"negative":   func() { c.Gemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) },
		"Dot length": func() { Dot(make([]float32, 3), make([]float32, 4)) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, ar := range archs() {
		for n := 0; n < 300; n += 1 + n/8 {
			x := make([]float32, n+1)
			y := make([]float32, n+1)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			var want, mag float64
			for i := 0; i < n; i++ {
				want += float64(x[i]) * float64(y[i])
				mag += math.Abs(float64(x[i]) * float64(y[i]))
			}
			if got := ar.dot(x[:n], y[:n]); math.Abs(float64(got)-want) > float64(n+1)*mag/(1<<22)+1e-30 {
				t.Errorf("%s dot n=%d = %g, want %g", ar.name, n, got, want)
			}
			y0 := append([]float32(nil), y...)
			ar.axpy(-1.5, x[:n], y[:n])
			for i := 0; i < n; i++ {
				want := float64(y0[i]) - 1.5*float64(x[i])
				if math.Abs(float64(y[i])-want) > 1e-6*(math.Abs(want)+math.Abs(float64(x[i]))) {
					t.Errorf("%s axpy n=%d y[%d] = %g, want %g", ar.name, n, i, y[i], want)
					break
				}
			}
			if y[n] != y0[n] {
				t.Errorf("%s axpy n=%d wrote past the end", ar.name, n)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	c := NewCPU(2)
	defer c.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	for _, pr := range []problem{
		{m: 200, n: 300, k: 500, alpha: 1, beta: 0},
		{m: 200, n: 300, k: 500, alpha: 1, beta: 1, transA: true, transB: true},
		{m: 1, n: 3000, k: 768, alpha: 1, beta: 0},
		{m: 4, n: 3000, k: 768, alpha: 1, beta: 0, transB: true},
	} {
		o := newOperands(pr, rng)
		cc := append([]float32(nil), o.c0...)
		f := func() {
			c.Gemm(pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.alpha, o.a, o.lda, o.b, o.ldb, pr.beta, cc, o.ldc)
		}
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("Gemm %v: %v allocations", pr, n)
		}
		ws := c.Workspace(0)
		g := func() {
			GemmSerial(ws, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.alpha, o.a, o.lda, o.b, o.ldb, pr.beta, cc, o.ldc)
		}
		if n := testing.AllocsPerRun(20, g); n != 0 {
			t.Errorf("GemmSerial %v: %v allocations", pr, n)
		}
	}
	task := &sumTask{}
	if n := testing.AllocsPerRun(100, func() { c.Parallel(1000, 1, task) }); n != 0 {
		t.Errorf("Parallel: %v allocations", n)
	}
	x, y := make([]float32, 1000), make([]float32, 1000)
	if n := testing.AllocsPerRun(100, func() { Axpy(2, x, y); _ = Dot(x, y) }); n != 0 {
		t.Errorf("Dot/Axpy: %v allocations", n)
	}
}

type sumTask struct{ sum atomic.Int64 }

func (s *sumTask) Run(worker, lo, hi int) { s.sum.Add(int64(hi - lo)) }
