// Package kernels provides the fp32 compute kernels of the GPT-2 model: a
// BLIS-style matrix multiply, matrix-vector paths for decoding, and vector
// primitives, with AVX-512 and AVX2+FMA assembly and a pure Go fallback.
//
// Results never depend on the number of threads: work is split over the
// output only and the reduction (k) dimension is blocked with a size fixed
// per instruction set, so every element of C is computed by the same
// sequence of floating-point operations whatever the split. Results do
// depend on the instruction set, since the kernels differ in how they
// round.
package kernels

//go:generate go run -C asm . -out ../kernels_amd64.s -stubs ../stubs_amd64.go -pkg kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Features reports the instruction set used by Dot, Axpy and CPUs made by
// NewCPU: "avx512", "avx2+fma" or "generic".
func Features() string { return best.name }

// Task is a unit of parallel work for CPU.Parallel.
type Task interface {
	// Run processes the indices [lo, hi). Worker is the index, in
	// [0, Threads()), of the worker running it; it can select per-worker
	// state such as a Workspace.
	Run(worker, lo, hi int)
}

// CPU runs kernels on a fixed set of worker goroutines. Its methods may be
// called from several goroutines, but only one call at a time uses the
// workers: a Parallel or Gemm call made while the workers are busy, from
// inside a Task or from another goroutine, runs serially on the calling
// goroutine instead.
type CPU struct {
	arch    *arch
	threads int
	ws      []*Workspace
	start   []chan struct{} // start[w] wakes worker w ≥ 1
	done    sync.WaitGroup
	busy    atomic.Bool
	closed  sync.Once

	// The call in progress. Written by the goroutine that set busy before
	// it signals the workers, so the channel send orders the accesses.
	task   Task
	n      int
	chunks int
	gemm   gemmJob
	small  smallJob

	spareMu sync.Mutex
	spare   []*Workspace // workspaces for Gemm calls that find the workers busy
}

// NewCPU returns a CPU with the given number of workers, or
// runtime.GOMAXPROCS(0) of them if threads <= 0. The calling goroutine
// acts as worker 0; the others are goroutines that live until Close.
func NewCPU(threads int) *CPU { return newCPU(threads, best) }

func newCPU(threads int, a *arch) *CPU {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	c := &CPU{arch: a, threads: threads}
	c.ws = make([]*Workspace, threads)
	for i := range c.ws {
		c.ws[i] = newWorkspace(a)
	}
	c.start = make([]chan struct{}, threads)
	for w := 1; w < threads; w++ {
		c.start[w] = make(chan struct{})
		go c.worker(w)
	}
	return c
}

func (c *CPU) worker(w int) {
	for range c.start[w] {
		lo, hi := c.chunk(w)
		c.task.Run(w, lo, hi)
		c.done.Done()
	}
}

// Close stops the workers. The CPU must not be used afterwards.
func (c *CPU) Close() {
	c.closed.Do(func() {
		for w := 1; w < c.threads; w++ {
			close(c.start[w])
		}
	})
}

// Threads returns the number of workers.
func (c *CPU) Threads() int { return c.threads }

// Workspace returns the packing buffers of the given worker, for
// GemmSerial calls made by a Task running on that worker. Gemm uses the
// same buffers, so they must not be used outside such a Task.
func (c *CPU) Workspace(worker int) *Workspace { return c.ws[worker] }

// Parallel splits [0, n) into at most Threads() contiguous chunks of at
// least grain indices (a single chunk if n < 2·grain), runs t on them
// concurrently and waits for all of them. If the workers are busy (a call
// from inside a Task, or from another goroutine), it instead runs
// t.Run(0, 0, n) on the calling goroutine, so such Tasks must not rely on
// the worker index to own state.
func (c *CPU) Parallel(n, grain int, t Task) {
	if n <= 0 {
		return
	}
	if !c.busy.CompareAndSwap(false, true) {
		t.Run(0, 0, n)
		return
	}
	c.run(n, grain, t)
	// Not deferred: if t panicked the workers may still be running, and
	// leaving busy set keeps later calls off them.
	c.busy.Store(false)
}

// run is Parallel for a caller that holds busy.
func (c *CPU) run(n, grain int, t Task) {
	chunks := n / max(grain, 1)
	chunks = max(1, min(chunks, c.threads))
	if chunks == 1 {
		t.Run(0, 0, n)
		return
	}
	c.task, c.n, c.chunks = t, n, chunks
	c.done.Add(chunks - 1)
	for w := 1; w < chunks; w++ {
		c.start[w] <- struct{}{}
	}
	lo, hi := c.chunk(0)
	t.Run(0, lo, hi)
	c.done.Wait()
	c.task = nil
}

func (c *CPU) chunk(w int) (lo, hi int) {
	return w * c.n / c.chunks, (w + 1) * c.n / c.chunks
}

// barrier is a reusable spinning barrier for the workers of one Gemm call.
// Spinning rather than blocking keeps the hand-off in the microseconds;
// the waits are short because the work between barriers is balanced.
type barrier struct {
	n     int32
	count atomic.Int32
	gen   atomic.Uint32
}

func (b *barrier) reset(n int) {
	b.n = int32(n)
	b.count.Store(0)
}

func (b *barrier) wait() {
	if b.n <= 1 {
		return
	}
	g := b.gen.Load()
	if b.count.Add(1) == b.n {
		b.count.Store(0)
		b.gen.Add(1)
		return
	}
	for i := 0; b.gen.Load() == g; i++ {
		if i > 100 {
			// Let the other workers run if there are fewer Ps than workers.
			runtime.Gosched()
		}
	}
}
