package retrieval

import (
	"context"
	"os"
	"testing"

	"github.com/nebras-ai/nebras/eval/metrics"
	"github.com/nebras-ai/nebras/pipelines/dataset"
)

// openSGD opens the prepared Schema-Guided Dialogue dataset that
// $NEBRAS_SGD_DATASET names (README, "Quality on real data", makes one),
// or skips.
func openSGD(tb testing.TB) *dataset.Dataset {
	tb.Helper()
	sgdDir := os.Getenv("NEBRAS_SGD_DATASET")
	if sgdDir == "" {
		tb.Skip("NEBRAS_SGD_DATASET names no prepared SGD dataset")
	}
	ds, err := dataset.Open(sgdDir)
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// readPairs reads a split's contexts and replies.
func readPairs(tb testing.TB, ds *dataset.Dataset, split string) []pair {
	tb.Helper()
	var out []pair
	err := ds.Examples(context.Background(), split, []string{"context", "reply"}, func(ex dataset.Example) error {
		out = append(out, pair{ex.Context, ex.Reply})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// rougeL is rouge-score's ROUGE-L F-measure of hyp against ref.
func rougeL(hyp, ref string) float64 {
	r, err := metrics.ScoreROUGE(hyp, []string{ref}, metrics.ROUGEOptions{})
	if err != nil {
		return 0
	}
	return r.RL.F
}

// TestSGD measures the baseline on 500 val examples of SGD (every 6th, in
// stored order) for the default turn weighting and two alternatives, and
// checks that the default is the best of them, as the package comment
// claims. It also checks that every train context retrieves itself.
func TestSGD(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("indexes 57k contexts three times; skipped with -short and -race")
	}
	ds := openSGD(t)
	train, val := readPairs(t, ds, "train"), readPairs(t, ds, "val")
	stride := max(len(val)/500, 1)
	var sample []pair
	for i := 0; i < len(val) && len(sample) < 500; i += stride {
		sample = append(sample, val[i])
	}
	variants := []struct {
		name string
		opt  Options
	}{
		{"default (4 turns, decay 0.7)", Options{}},
		{"last turn only", Options{Turns: 1}},
		{"all turns, equal weights", Options{Turns: -1, Decay: 1}},
	}
	rouge := make([]float64, len(variants))
	for vi, v := range variants {
		b, err := newBuilder(v.opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range train {
			b.add(p.context, p.reply)
		}
		ix, err := b.index()
		if err != nil {
			t.Fatal(err)
		}
		if ix.Len() != int(ds.Manifest.Splits["train"].Rows) {
			t.Fatalf("%s: Len = %d, manifest has %d train rows", v.name, ix.Len(), ds.Manifest.Splits["train"].Rows)
		}
		if vi == 0 {
			for i := 0; i < len(train); i += 97 {
				if _, score := ix.Reply(train[i].context); score < 1-tol {
					t.Fatalf("train context %d retrieves with cosine %g, want 1 (itself)", i, score)
				}
			}
		}
		var exact int
		for _, p := range sample {
			reply, _ := ix.Reply(p.context)
			if reply == p.reply {
				exact++
			}
			rouge[vi] += rougeL(reply, p.reply)
		}
		rouge[vi] /= float64(len(sample))
		t.Logf("%-30s %d val examples: exact match %.1f%%, ROUGE-L F1 %.4f", v.name, len(sample), 100*float64(exact)/float64(len(sample)), rouge[vi])
	}
	for vi := 1; vi < len(variants); vi++ {
		if rouge[vi] >= rouge[0] {
			t.Errorf("%s scores ROUGE-L %.4f, not below the default's %.4f", variants[vi].name, rouge[vi], rouge[0])
		}
	}
}

// BenchmarkBuild indexes the SGD train split (57k contexts), reading it
// from Parquet.
func BenchmarkBuild(b *testing.B) {
	ds := openSGD(b)
	var n int
	for b.Loop() {
		ix, err := Build(context.Background(), ds, Options{})
		if err != nil {
			b.Fatal(err)
		}
		n = ix.Len()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "contexts/s")
}

// BenchmarkReply answers the SGD val contexts in turn from the train index.
func BenchmarkReply(b *testing.B) {
	ds := openSGD(b)
	ix, err := Build(context.Background(), ds, Options{})
	if err != nil {
		b.Fatal(err)
	}
	val := readPairs(b, ds, "val")
	i := 0
	for b.Loop() {
		ix.Reply(val[i%len(val)].context)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkReplyParallel is BenchmarkReply from GOMAXPROCS goroutines
// sharing the index.
func BenchmarkReplyParallel(b *testing.B) {
	ds := openSGD(b)
	ix, err := Build(context.Background(), ds, Options{})
	if err != nil {
		b.Fatal(err)
	}
	val := readPairs(b, ds, "val")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			ix.Reply(val[i%len(val)].context)
			i += 7
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
