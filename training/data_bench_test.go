package training

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/nebras-ai/nebras/model"
)

// BenchmarkLoaderNext measures a training loader's cost per batch (pack
// mode, B=8, T=256, shuffled, repeating), window loads included: 2 files
// of 2048 examples of ~150 tokens in row groups of 512, 8 row groups a
// window.
func BenchmarkLoaderNext(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	counter := int32(1)
	train := [][]lexample{genExamples(r, 2048, 200, 100, &counter), genExamples(r, 2048, 200, 100, &counter)}
	ds := writeLoaderDataset(b, loaderData{vocab: 1 << 21, rowsPerGroup: 512, splits: map[string][][]lexample{"train": train}})
	l := newTestLoader(b, ds, LoaderOptions{Split: "train", B: 8, T: 256, Pack: true, Shuffle: true, Seed: 1, Repeat: true})
	var batch model.Batch
	ctx := context.Background()
	for b.Loop() {
		if err := l.Next(ctx, &batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(l.BatchesPerEpoch(), "batches/epoch")
}
