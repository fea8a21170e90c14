package synth_test

import (
	"io"
	"testing"

	"github.com/nebras-ai/nebras/transforms/synth"
)

// BenchmarkGenerate measures generation with the default rates, 10,000
// conversations per operation, written to io.Discard. For the 200k figure:
//
//	go test -run '^$' -bench Generate -benchtime 20x ./transforms/synth/
func BenchmarkGenerate(b *testing.B) {
	for _, format := range []string{synth.FormatJSONL, synth.FormatCSV} {
		b.Run(format, func(b *testing.B) {
			o := synth.DefaultOptions()
			o.N, o.Format = 10000, format
			var bytes int64
			for i := 0; b.Loop(); i++ {
				o.Seed = int64(i)
				rep, err := synth.Generate(io.Discard, o)
				if err != nil {
					b.Fatal(err)
				}
				bytes += rep.Bytes
			}
			b.SetBytes(bytes / int64(b.N))
			b.ReportMetric(float64(o.N*b.N)/b.Elapsed().Seconds(), "conversations/s")
		})
	}
}
