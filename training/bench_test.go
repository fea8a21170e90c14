package training

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nebras-ai/nebras/pipelines"
)

// gpt2Dataset is a prepared dataset with GPT-2's own tokenizer (vocab
// 50257), so the benchmarks train the real shapes.
var gpt2Dataset = sync.OnceValues(func() (string, error) {
	f, err := buildFixtureIfNeeded()
	if err != nil {
		return "", err
	}
	out := filepath.Join(fixtureRoot, "gpt2-dataset")
	po := pipelines.DefaultOptions()
	po.Inputs, po.Output, po.Runner, po.MaxSeqLen = []string{f.tickets}, out, pipelines.RunnerLoop, 512
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := pipelines.Run(context.Background(), po, log); err != nil {
		return "", err
	}
	return out, nil
})

func buildFixtureIfNeeded() (fixture, error) {
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = buildFixture(fixtureRoot) })
	return fixtureVal, fixtureErr
}

// BenchmarkTrain runs nebras train's loop on random-weight GPT-2 shapes
// with GPT-2's vocabulary (B=4, T=64, 2 threads) and reports tokens/s,
// the share of step time outside forward/backward/optimizer
// (step_overhead_%: data, logging, the loop) and what one checkpoint
// costs. Run with -benchtime 1x: each iteration is a whole short run.
func BenchmarkTrain(b *testing.B) {
	ds, err := gpt2Dataset()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		size  string
		steps int
	}{{"tiny", 40}, {"small", 12}, {"124M", 6}} {
		b.Run(c.size, func(b *testing.B) {
			for b.Loop() {
				cfg := DefaultConfig()
				cfg.Data, cfg.Base, cfg.Out = ds, "scratch:"+c.size, filepath.Join(b.TempDir(), "run")
				cfg.TrackingURI = filepath.Join(b.TempDir(), "mlruns")
				cfg.BatchSize, cfg.SeqLen, cfg.MaxSteps, cfg.Threads = 4, 64, c.steps, 2
				cfg.EvalEvery, cfg.EvalBatches, cfg.Register, cfg.ArtifactMaxMB = 0, 1, false, 1
				res, err := Train(context.Background(), cfg, Options{Log: quietLog()})
				if err != nil {
					b.Fatal(err)
				}
				t := res.Timing
				b.ReportMetric(res.TokensPerSecond, "tokens/s")
				b.ReportMetric(100*t.StepOverhead(), "step_overhead_%")
				b.ReportMetric(100*float64(t.Data)/float64(t.Model+t.Optimizer+t.Data+t.Other), "data_%")
				if t.Checkpoints > 0 {
					b.ReportMetric(t.Checkpoint.Seconds()/float64(t.Checkpoints), "s/checkpoint")
				}
				b.ReportMetric(float64(t.Model+t.Optimizer+t.Data+t.Other)/float64(res.Steps)/1e9, "s/step")
			}
		})
	}
}
