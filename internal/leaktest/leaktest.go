// Package leaktest checks that tests leave no goroutines behind.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// Wait fails t unless the number of goroutines comes back to base within
// guard. Goroutines that are ending take a moment to go, so it polls; the
// guard only bounds a real leak, it is never a timing assertion. On
// failure it prints every goroutine's stack.
func Wait(t testing.TB, base int, guard time.Duration) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
