//go:build race

package kernels

// raceEnabled reports whether the race detector is on. It makes the
// float64 reference products of the tests some twenty times slower, so
// under -race the big test tables are sampled (the assembly kernels are
// not instrumented anyway); without -race they run whole.
const raceEnabled = true
