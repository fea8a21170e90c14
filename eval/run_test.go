package eval

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/nebras-ai/nebras/eval/promote"
	"github.com/nebras-ai/nebras/internal/fixture"
	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/training"
)

// testRoot holds what the package's tests share; TestMain removes it.
var testRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nebras-eval-test-")
	if err != nil {
		panic(err)
	}
	testRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testData is one prepared dataset for the package's tests; they only
// read it, so it is built once.
var testData = sync.OnceValues(func() (fixture.Dataset, error) {
	return fixture.Build(testRoot, fixture.Options{})
})

// setup returns the shared dataset and a fresh local tracking store.
func setup(t *testing.T) (fixture.Dataset, *tracking.FileStore) {
	t.Helper()
	d, err := testData()
	if err != nil {
		t.Fatal(err)
	}
	s, err := tracking.NewFileStore(filepath.Join(t.TempDir(), "mlruns"))
	if err != nil {
		t.Fatal(err)
	}
	return d, s
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// trainVersion trains scratch:tiny for steps and registers it.
func trainVersion(t *testing.T, s tracking.Store, data string, steps int) *training.Result {
	t.Helper()
	c := training.DefaultConfig()
	c.Data, c.Base, c.Out = data, "scratch:tiny", filepath.Join(t.TempDir(), "run")
	c.BatchSize, c.SeqLen, c.MaxSteps, c.LR, c.Threads = 4, 64, steps, 3e-3, 2
	c.EvalEvery, c.EvalBatches = 0, 2
	res, err := training.Train(context.Background(), c, training.Options{Log: quiet(), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func evalConfig(t *testing.T, data, modelRef string) Config {
	c := DefaultConfig()
	c.Model, c.Data, c.Out, c.CacheDir = modelRef, data, filepath.Join(t.TempDir(), "eval"), t.TempDir()
	c.MaxExamples, c.MaxNewTokens, c.PPLBatches, c.Threads = 10, 12, 4, 2
	return c
}

// TestEvaluateGateAndPromote walks the life of two versions: the first is
// evaluated with no production model and promoted; the second, trained
// far less, is evaluated against it on the same examples and not blessed.
func TestEvaluateGateAndPromote(t *testing.T) {
	ctx := context.Background()
	d, s := setup(t)
	v1 := trainVersion(t, s, d.Dir, 40)

	cfg1 := evalConfig(t, d.Dir, "models:/nebras-support-bot/"+v1.Version)
	r1, err := Run(ctx, cfg1, Options{Log: quiet(), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Baseline != nil || len(r1.Notes) == 0 || !strings.Contains(r1.Notes[0], "no production alias") {
		t.Errorf("first evaluation: baseline %+v, notes %q", r1.Baseline, r1.Notes)
	}
	if !r1.Blessed || r1.Gate.HasBaseline {
		t.Errorf("first evaluation: blessed %v (%s)", r1.Blessed, r1.Gate.Summary)
	}
	for _, k := range []string{"bleu", "rouge1", "rouge2", "rougeL", "rougeLsum", "perplexity", "distinct1", "distinct2", "empty_share", "max_tokens_share", "avg_reply_tokens"} {
		if _, ok := r1.Candidate.Metrics[k]; !ok {
			t.Errorf("metric %s missing", k)
		}
	}
	checkOutputs(t, cfg1.Out, r1)

	// The evaluation run is in MLflow, nested under the training run.
	run, err := s.GetRun(ctx, r1.EvalRunID)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := run.Tag("mlflow.parentRunId"); p != v1.RunID {
		t.Errorf("eval run's parent %q, want the training run %s", p, v1.RunID)
	}
	if _, ok := run.Metric("rougeL"); !ok {
		t.Error("eval run lacks rougeL")
	}
	if v, _ := run.Param("decoding.mode"); v != "greedy" {
		t.Errorf("decoding.mode param %q", v)
	}

	ev, err := promote.ReadEvalResult(filepath.Join(cfg1.Out, ResultFile))
	if err != nil || ev.Candidate.Version != v1.Version || !ev.Blessed {
		t.Fatalf("eval.json as promote reads it: %+v, %v", ev, err)
	}
	if _, err := promote.Promote(ctx, s, ev.Candidate.Version, ev.Blessed, promote.Options{Model: ev.Candidate.RegisteredModel}); err != nil {
		t.Fatal(err)
	}

	v2 := trainVersion(t, s, d.Dir, 2)
	cfg2 := evalConfig(t, d.Dir, "models:/nebras-support-bot/"+v2.Version)
	r2, err := Run(ctx, cfg2, Options{Log: quiet(), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Baseline == nil || r2.Baseline.Version != v1.Version {
		t.Fatalf("second evaluation's baseline %+v, want version %s (production)", r2.Baseline, v1.Version)
	}
	if r2.Blessed {
		t.Errorf("a model trained 2 steps was blessed against one trained 40: %s", r2.Gate.Summary)
	}
	if r2.Candidate.Metrics["perplexity"] <= r2.Baseline.Metrics["perplexity"] {
		t.Errorf("perplexity candidate %.2f, baseline %.2f: the 2-step model should be worse", r2.Candidate.Metrics["perplexity"], r2.Baseline.Metrics["perplexity"])
	}
	html, _ := os.ReadFile(filepath.Join(cfg2.Out, ReportFile))
	for _, want := range []string{"Not blessed", "differ most", "real reply", "baseline"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}

	// Same config, same examples, same replies: deterministic.
	cfg2b := cfg2
	cfg2b.Out = filepath.Join(t.TempDir(), "again")
	r2b, err := Run(ctx, cfg2b, Options{Log: quiet(), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r2.Candidate.Metrics, r2b.Candidate.Metrics) {
		t.Errorf("two evaluations of one config differ:\n%v\n%v", r2.Candidate.Metrics, r2b.Candidate.Metrics)
	}

	// A pipeline promoting to another alias is gated against that alias,
	// not against production.
	cfg2c := cfg2
	cfg2c.Out, cfg2c.BaselineAlias = filepath.Join(t.TempDir(), "live"), "live"
	r2c, err := Run(ctx, cfg2c, Options{Log: quiet(), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if r2c.Baseline != nil || !strings.Contains(strings.Join(r2c.Notes, " "), "no live alias") {
		t.Errorf("baseline alias live: baseline %+v, notes %q", r2c.Baseline, r2c.Notes)
	}
}

func checkOutputs(t *testing.T, dir string, res *Result) {
	t.Helper()
	var back map[string]any
	b, err := os.ReadFile(filepath.Join(dir, ResultFile))
	if err != nil || json.Unmarshal(b, &back) != nil {
		t.Fatalf("eval.json: %v", err)
	}
	if back["blessed"] != res.Blessed || back["eval_run_id"] != res.EvalRunID {
		t.Errorf("eval.json blessed %v run %v", back["blessed"], back["eval_run_id"])
	}
	lines, _ := os.ReadFile(filepath.Join(dir, ExamplesFile))
	if n := strings.Count(string(lines), "\n"); n != res.Examples {
		t.Errorf("examples.jsonl has %d lines for %d examples", n, res.Examples)
	}
}

func TestRetrievalBaseline(t *testing.T) {
	ctx := context.Background()
	d, s := setup(t)
	v1 := trainVersion(t, s, d.Dir, 10)
	cfg := evalConfig(t, d.Dir, v1.ModelDir)
	cfg.Baseline = BaselineRetrieval
	res, err := Run(ctx, cfg, Options{Log: quiet(), Store: s})
	if err != nil {
		t.Fatal(err)
	}
	if res.Baseline == nil || res.Baseline.Kind != "retrieval" {
		t.Fatalf("baseline %+v", res.Baseline)
	}
	if _, ok := res.Baseline.Metrics["rougeL"]; !ok {
		t.Error("retrieval baseline has no rougeL")
	}
	if _, ok := res.Baseline.Metrics["perplexity"]; ok {
		t.Error("retrieval baseline has a perplexity")
	}
	for _, e := range res.PerExample {
		if e.Baseline == "" {
			t.Errorf("example %s: retrieval returned nothing", e.ExampleID)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Model = "" }, "model"},
		{func(c *Config) { c.Data = "" }, "data"},
		{func(c *Config) { c.MaxNewTokens = 0 }, "max-new-tokens"},
		{func(c *Config) { c.Sampling.Temperature = -1 }, "temperature"},
		{func(c *Config) { c.MaxPromptTokens = -1 }, "max-prompt-tokens"},
	} {
		cfg := DefaultConfig()
		cfg.Model, cfg.Data = "m", "d"
		c.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one mentioning %q", err, c.want)
		}
	}
}
