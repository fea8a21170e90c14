package tokenizer

import (
	"slices"
	"testing"

	"github.com/tiktoken-go/tokenizer/codec"
)

// BenchmarkEncode compares this package with tiktoken-go on the SGD turns
// (skipped when the corpus is absent) and on the stress corpus. Run it on
// one core for the figures that matter:
//
//	go test -run '^$' -bench Encode -cpu 1 -count 5 ./model/tokenizer/
func BenchmarkEncode(b *testing.B) {
	corpora := []struct {
		name  string
		texts func(testing.TB) []string
	}{
		{"sgd", sgdTurns},
		{"stress", func(testing.TB) []string { return stressCorpus() }},
	}
	for _, c := range corpora {
		b.Run("corpus="+c.name, func(b *testing.B) {
			texts := c.texts(b)
			size := corpusBytes(texts)
			b.Run("impl=nebras", func(b *testing.B) {
				tk := mustGPT2(b)
				b.SetBytes(size)
				for b.Loop() {
					for _, s := range texts {
						tk.EncodeOrdinary(s)
					}
				}
			})
			b.Run("impl=nebras-append", func(b *testing.B) {
				tk := mustGPT2(b)
				var dst []int
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					for _, s := range texts {
						dst = tk.AppendOrdinary(dst[:0], s)
					}
				}
			})
			b.Run("impl=tiktoken", func(b *testing.B) {
				enc := codec.NewR50kBase()
				b.SetBytes(size)
				for b.Loop() {
					for _, s := range texts {
						if _, _, err := enc.Encode(s); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		})
	}
}

// BenchmarkTrain trains an 8k vocabulary on all SGD turns, and a 4k one on
// the stress corpus so that the benchmark always runs.
func BenchmarkTrain(b *testing.B) {
	corpora := []struct {
		name  string
		vocab int
		texts func(testing.TB) []string
	}{
		{"sgd", 8192, sgdTurns},
		{"stress", 4096, func(testing.TB) []string { return stressCorpus() }},
	}
	for _, c := range corpora {
		b.Run("corpus="+c.name, func(b *testing.B) {
			texts := c.texts(b)
			b.SetBytes(corpusBytes(texts))
			for b.Loop() {
				tk, err := Train(b.Context(), slices.Values(texts), TrainOptions{VocabSize: c.vocab})
				if err != nil {
					b.Fatal(err)
				}
				if tk.VocabSize() != c.vocab {
					b.Fatalf("VocabSize() = %d, want %d", tk.VocabSize(), c.vocab)
				}
			}
		})
	}
}

// BenchmarkGPT2 measures building the GPT-2 tokenizer from tiktoken-go's
// ranks, the start-up cost GPT2 pays once per process.
func BenchmarkGPT2(b *testing.B) {
	for b.Loop() {
		if _, err := buildGPT2(); err != nil {
			b.Fatal(err)
		}
	}
}
