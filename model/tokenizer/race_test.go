//go:build race

package tokenizer

// raceEnabled reports whether the race detector is on. It slows regexp2 and
// tiktoken-go, the references, by an order of magnitude, so the slowest
// comparisons then check a sample; without -race they check everything.
const raceEnabled = true
