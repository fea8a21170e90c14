package kernels

import (
	"fmt"
	"sync/atomic"
)

// smallM is the largest m handled by the matrix-vector paths, which stream
// B in place instead of packing it: for so few rows packing B would cost
// as much as the product.
const smallM = 16

// Workspace holds the packing buffers of one worker. A Workspace must not
// be used by two goroutines at once.
type Workspace struct {
	arch *arch
	a    []float32 // packed block of A: mc rows × kc
	b    []float32 // packed block of B: kc × nc columns
}

func newWorkspace(a *arch) *Workspace {
	return &Workspace{
		arch: a,
		a:    make([]float32, a.mc*a.kc),
		b:    make([]float32, a.kc*a.nc),
	}
}

// gemmParams is one C = alpha·op(A)·op(B) + beta·C problem.
type gemmParams struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
}

func (p *gemmParams) check() {
	if p.m < 0 || p.n < 0 || p.k < 0 {
		panic(fmt.Sprintf("kernels: negative dimension m=%d n=%d k=%d", p.m, p.n, p.k))
	}
	ra, ca := p.m, p.k
	if p.transA {
		ra, ca = ca, ra
	}
	rb, cb := p.k, p.n
	if p.transB {
		rb, cb = cb, rb
	}
	checkMatrix("A", p.a, ra, ca, p.lda)
	checkMatrix("B", p.b, rb, cb, p.ldb)
	checkMatrix("C", p.c, p.m, p.n, p.ldc)
}

func checkMatrix(name string, x []float32, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("kernels: %s has stride %d < %d columns", name, ld, cols))
	}
	if len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: %s has %d elements, want %d×%d with stride %d", name, len(x), rows, cols, ld))
	}
}

// scaleC handles the products that need no multiplication: C = beta·C.
func (p *gemmParams) scaleC() {
	for i := 0; i < p.m; i++ {
		row := p.c[i*p.ldc : i*p.ldc+p.n]
		if p.beta == 0 {
			clear(row)
			continue
		}
		if p.beta != 1 {
			for j := range row {
				row[j] *= p.beta
			}
		}
	}
}

// trivial reports whether the product can be skipped, after doing what is
// left of it.
func (p *gemmParams) trivial() bool {
	if p.m == 0 || p.n == 0 {
		return true
	}
	if p.k == 0 || p.alpha == 0 {
		p.scaleC()
		return true
	}
	return false
}

func (p *gemmParams) useSmall() bool { return p.m <= smallM && !p.transA }

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(X) is X or Xᵀ as transA and transB say. C is m×n, op(A) is m×k
// and op(B) is k×n; lda, ldb and ldc are the row strides in elements. If
// beta is 0, C is only written, so it may hold NaNs. The output is split
// over the workers; the result is bit-identical for any number of threads.
func (c *CPU) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	p := gemmParams{transA, transB, m, n, k, alpha, beta, a, lda, b, ldb, cc, ldc}
	p.check()
	if p.trivial() {
		return
	}
	if !c.busy.CompareAndSwap(false, true) {
		ws := c.getSpare()
		gemmSerial(ws, &p)
		c.putSpare(ws)
		return
	}
	if p.useSmall() {
		c.smallParallel(&p)
	} else {
		c.gemmParallel(&p)
	}
	c.busy.Store(false)
}

// GemmSerial is Gemm on the calling goroutine only, using the packing
// buffers of ws; it is meant for products computed inside a Task, with
// ws = cpu.Workspace(worker). Its result is bit-identical to Gemm's on a
// CPU of the same instruction set.
func GemmSerial(ws *Workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	p := gemmParams{transA, transB, m, n, k, alpha, beta, a, lda, b, ldb, cc, ldc}
	p.check()
	if p.trivial() {
		return
	}
	gemmSerial(ws, &p)
}

func gemmSerial(ws *Workspace, p *gemmParams) {
	if p.useSmall() {
		if p.transB {
			ws.arch.smallT(*p, 0, ceilDiv(p.n, smallTUnit))
		} else {
			ws.arch.smallN(*p, 0, ceilDiv(p.n, smallNUnit))
		}
		return
	}
	var j gemmJob
	j.init(p, ws.arch, 1)
	j.aBuf[0], j.aBuf[1] = ws.a, ws.a
	j.work(ws)
}

func (c *CPU) getSpare() *Workspace {
	c.spareMu.Lock()
	defer c.spareMu.Unlock()
	if n := len(c.spare); n > 0 {
		ws := c.spare[n-1]
		c.spare = c.spare[:n-1]
		return ws
	}
	return newWorkspace(c.arch)
}

func (c *CPU) putSpare(ws *Workspace) {
	c.spareMu.Lock()
	c.spare = append(c.spare, ws)
	c.spareMu.Unlock()
}

// gemmJob is a packed GEMM shared by nt workers.
//
// The loops follow BLIS with the roles of A and B swapped, since C is
// row-major. For each block of A (up to mc rows, kc deep) the workers
// first pack it together into mr-row panels, then share out units of C:
// a unit is a range of A panels times a chunk of at most nc columns. The
// worker that takes a unit packs that chunk of B into its own buffer,
// which stays in its L2, and sweeps the A panels over it, each panel
// staying in L1 across the chunk.
//
// Units are handed out dynamically, because the cores of a shared
// machine run at uneven speeds. That is safe for bit-identity: every
// element of C gets the same operations whoever computes it, as only kc
// decides where partial sums are rounded.
type gemmJob struct {
	p    gemmParams
	ar   *arch
	nt   int
	aBuf [2][]float32 // A blocks, alternated so one barrier per block suffices
	bar  barrier
	cpu  *CPU

	mp, np         int // panels of A and B
	mBlock         int // panels per block of A
	mChunk, nChunk int // panels per unit

	// Claim counters, never reset: each phase consumes its number of
	// items plus one failed claim per worker, so every worker can compute
	// where the next phase starts.
	packNext, unitNext atomic.Int64
}

// packChunk is the number of A panels a worker claims at a time.
const packChunk = 4

func (j *gemmJob) init(p *gemmParams, ar *arch, nt int) {
	*j = gemmJob{p: *p, ar: ar, nt: nt}
	j.mp, j.np = ceilDiv(p.m, ar.mr), ceilDiv(p.n, ar.nr)
	// Balanced A blocks: equal sizes waste less than a short last one.
	j.mBlock = ceilDiv(j.mp, ceilDiv(j.mp, ar.mc/ar.mr))
	// Aim for a few units per worker so that a slow core delays the end
	// of a block by a fraction of its share; but no smaller than needed.
	want := 4 * nt
	if nt == 1 {
		want = 1
	}
	j.nChunk = min(ar.nc/ar.nr, max(1, ceilDiv(j.np, want)))
	j.mChunk = j.mBlock
	if cols := ceilDiv(j.np, j.nChunk); cols < want {
		j.mChunk = max(1, ceilDiv(j.mBlock, ceilDiv(want, cols)))
	}
	j.bar.reset(nt)
}

// Run runs the job on one worker; every worker runs it once.
func (j *gemmJob) Run(worker, lo, hi int) {
	for range hi - lo {
		j.work(j.cpu.ws[worker])
	}
}

// minParallelFlops is the size below which waking the workers costs more
// than it saves.
const minParallelFlops = 1 << 18

func (c *CPU) gemmParallel(p *gemmParams) {
	if c.threads == 1 || p.m*p.n*p.k < minParallelFlops {
		gemmSerial(c.ws[0], p)
		return
	}
	j := &c.gemm
	j.init(p, c.arch, c.threads)
	j.cpu = c
	j.aBuf[0], j.aBuf[1] = c.ws[0].a, c.ws[1].a
	c.run(c.threads, 1, j)
	// Drop the references to the caller's matrices.
	j.p = gemmParams{}
}

// work is one worker's share of the job, using the B buffer of ws.
func (j *gemmJob) work(ws *Workspace) {
	p, ar := &j.p, j.ar
	mr, nr := ar.mr, ar.nr
	nt := int64(j.nt)
	var packBase, unitBase int64
	buf := 0
	for bp0 := 0; bp0 < j.mp; bp0 += j.mBlock {
		bp1 := min(bp0+j.mBlock, j.mp)
		rows := ceilDiv(bp1-bp0, j.mChunk)
		units := int64(rows * ceilDiv(j.np, j.nChunk))
		packs := int64(ceilDiv(bp1-bp0, packChunk))
		for p0 := 0; p0 < p.k; p0 += ar.kc {
			kb := min(ar.kc, p.k-p0)
			a := j.aBuf[buf]
			buf ^= 1
			for {
				v := j.packNext.Add(1) - 1 - packBase
				if v >= packs {
					break
				}
				for ip := bp0 + int(v)*packChunk; ip < min(bp0+int(v+1)*packChunk, bp1); ip++ {
					i0 := ip * mr
					ar.packA(a[(ip-bp0)*mr*kb:], p.a, p.lda, p.transA, i0, min(mr, p.m-i0), p0, kb, mr)
				}
			}
			packBase += packs + nt
			j.bar.wait()

			beta, acc := p.beta, p.beta != 0
			if p0 > 0 {
				beta, acc = 1, true
			}
			packed := -1 // chunk of B in ws.b
			for {
				v := j.unitNext.Add(1) - 1 - unitBase
				if v >= units {
					break
				}
				r, cc := int(v)%rows, int(v)/rows
				i0, i1 := bp0+r*j.mChunk, min(bp0+(r+1)*j.mChunk, bp1)
				q0, q1 := cc*j.nChunk, min((cc+1)*j.nChunk, j.np)
				if cc != packed {
					for jp := q0; jp < q1; jp++ {
						c0 := jp * nr
						ar.packB(ws.b[(jp-q0)*nr*kb:], p.b, p.ldb, p.transB, p0, kb, c0, min(nr, p.n-c0), nr)
					}
					packed = cc
				}
				for ip := i0; ip < i1; ip++ {
					ap := a[(ip-bp0)*mr*kb:]
					r0 := ip * mr
					rows := min(mr, p.m-r0)
					for jp := q0; jp < q1; jp++ {
						c0 := jp * nr
						ar.kernel(kb, ap, ws.b[(jp-q0)*nr*kb:], p.c[r0*p.ldc+c0:], p.ldc, p.alpha, beta, rows, min(nr, p.n-c0), acc)
					}
				}
			}
			unitBase += units + nt
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
