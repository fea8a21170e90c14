package kernels

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// coverTask records which worker ran each index.
type coverTask struct {
	mu      sync.Mutex
	owner   []int
	chunks  int
	threads int
	t       *testing.T
}

func (c *coverTask) Run(worker, lo, hi int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if worker < 0 || worker >= c.threads {
		c.t.Errorf("worker %d out of range", worker)
	}
	c.chunks++
	for i := lo; i < hi; i++ {
		if c.owner[i] != -1 {
			c.t.Errorf("index %d run twice", i)
		}
		c.owner[i] = worker
	}
}

func TestParallel(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 5} {
		c := NewCPU(threads)
		for _, n := range []int{1, 2, 7, 100, 1001} {
			for _, grain := range []int{0, 1, 10, 400} {
				task := &coverTask{owner: make([]int, n), threads: threads, t: t}
				for i := range task.owner {
					task.owner[i] = -1
				}
				c.Parallel(n, grain, task)
				for i, w := range task.owner {
					if w == -1 {
						t.Fatalf("threads=%d n=%d grain=%d: index %d not run", threads, n, grain, i)
					}
				}
				want := max(1, min(threads, n/max(grain, 1)))
				if task.chunks != want {
					t.Errorf("threads=%d n=%d grain=%d: %d chunks, want %d", threads, n, grain, task.chunks, want)
				}
			}
		}
		c.Close()
	}
}

// nestedTask calls Parallel and Gemm from inside a Task.
type nestedTask struct {
	c     *CPU
	inner *sumTask
	a, b  []float32
	out   [][]float32
}

func (n *nestedTask) Run(worker, lo, hi int) {
	for i := lo; i < hi; i++ {
		n.c.Parallel(10, 1, n.inner)
		n.c.Gemm(false, false, 20, 20, 20, 1, n.a, 20, n.b, 20, 0, n.out[i], 20)
		GemmSerial(n.c.Workspace(worker), false, false, 20, 20, 20, 1, n.a, 20, n.b, 20, 1, n.out[i], 20)
	}
}

func TestParallelNested(t *testing.T) {
	c := NewCPU(2)
	defer c.Close()
	task := &nestedTask{c: c, inner: &sumTask{}, a: make([]float32, 400), b: make([]float32, 400), out: make([][]float32, 8)}
	for i := range task.a {
		task.a[i], task.b[i] = float32(i%7), float32(i%5)
	}
	for i := range task.out {
		task.out[i] = make([]float32, 400)
	}
	done := make(chan struct{})
	go func() {
		c.Parallel(8, 1, task)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("nested Parallel deadlocked")
	}
	if got := task.inner.sum.Load(); got != 80 {
		t.Errorf("inner tasks covered %d indices, want 80", got)
	}
	want := make([]float32, 400)
	c.Gemm(false, false, 20, 20, 20, 2, task.a, 20, task.b, 20, 0, want, 20)
	for i := range task.out {
		if !sameBits(task.out[i], want) {
			t.Fatalf("nested Gemm result %d is wrong", i)
		}
	}
}

// TestConcurrentGemm checks that Gemm calls from several goroutines at
// once are correct (some of them run serially).
func TestConcurrentGemm(t *testing.T) {
	c := NewCPU(2)
	defer c.Close()
	a, b := make([]float32, 300*300), make([]float32, 300*300)
	for i := range a {
		a[i], b[i] = float32(i%13)-6, float32(i%11)-5
	}
	want := make([]float32, 300*300)
	c.Gemm(false, true, 300, 300, 300, 1, a, 300, b, 300, 0, want, 300)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]float32, 300*300)
			for range 5 {
				c.Gemm(false, true, 300, 300, 300, 1, a, 300, b, 300, 0, got, 300)
				if !sameBits(got, want) {
					t.Error("concurrent Gemm differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	c := NewCPU(4)
	c.Close()
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before NewCPU", n, before)
	}
	if c.Threads() != 4 {
		t.Errorf("Threads() = %d", c.Threads())
	}
}
