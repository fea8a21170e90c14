//go:build race

package retrieval

// raceEnabled reports whether the race detector is on. It slows indexing
// the real dataset in TestSGD some tenfold, so that test is skipped under
// -race; the small tests cover the same code.
const raceEnabled = true
