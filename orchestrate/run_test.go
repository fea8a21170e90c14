package orchestrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/nebras-ai/nebras/internal/fixture"
	"github.com/nebras-ai/nebras/tracking"
)

// testRoot holds what the package's tests share; TestMain removes it.
var testRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nebras-orchestrate-test-")
	if err != nil {
		panic(err)
	}
	testRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testTokenizer is a small BPE tokenizer trained on synthetic tickets, so
// a tiny model trains in moments.
var testTokenizer = sync.OnceValues(func() (string, error) {
	d, err := fixture.Build(filepath.Join(testRoot, "fixture"), fixture.Options{Conversations: 40})
	return d.Tokenizer, err
})

// env is one pipeline's work directory and tracking store.
type env struct {
	t     *testing.T
	dir   string
	store *tracking.FileStore
	cache string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	s, err := tracking.NewFileStore(filepath.Join(dir, "mlruns"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, store: s, cache: filepath.Join(dir, "cache")}
}

// config is a tiny pipeline: 80 synthetic conversations, the loop
// runner, scratch:tiny for a few steps, eval on a few examples; extra
// is more train keys, indented.
func (e *env) config(extra string) *Config {
	e.t.Helper()
	tok, err := testTokenizer()
	if err != nil {
		e.t.Fatal(err)
	}
	src := fmt.Sprintf(`
work_dir: %s
data:
  synthetic: {n: 80, seed: 5}
prepare: {tokenizer: %s, runner: loop, max_seq_len: 96}
eval: {max_examples: 4, max_new_tokens: 4, ppl_batches: 1, threads: 2, batch: 4}
train:
  max_steps: 2
  batch_size: 4
  seq_len: 64
  threads: 2
  eval_every: 0
  eval_batches: 2
  max_minutes: 0
%s`, filepath.Join(e.dir, "work"), tok, extra)
	c, err := ParseConfig([]byte(src), "test.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (e *env) run(c *Config, opt Options) (*Summary, error) {
	e.t.Helper()
	opt.Log, opt.Store, opt.CacheDir = quiet(), e.store, e.cache
	return Run(context.Background(), c, opt)
}

// statuses is each stage's status, in order.
func statuses(s *Summary) string {
	var out []string
	for _, st := range s.Stages {
		out = append(out, st.Name+"="+st.Status)
	}
	return strings.Join(out, " ")
}

func (e *env) production() string {
	e.t.Helper()
	mv, err := e.store.GetModelVersionByAlias(context.Background(), "nebras-support-bot", "production")
	if tracking.IsAliasNotFound(err) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return mv.Version
}

// lastRun reads WORK/last-run.json.
func (e *env) lastRun() *Summary {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "work", LastRunFile))
	if err != nil {
		e.t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		e.t.Fatal(err)
	}
	return &s
}

const (
	allRan     = "tickets=ran prepare=ran train=ran eval=ran promote=ran"
	allSkipped = "tickets=skipped (cached) prepare=skipped (cached) train=skipped (cached) eval=skipped (cached) promote=skipped (cached)"
)

// TestRunEndToEnd runs the pipeline on generated data through its life:
// a first run does everything and promotes v1; an identical run skips
// everything; a new train setting retrains and evaluates (not prepare)
// and promotes v2 past a lenient gate; a strict gate refuses v2's
// re-evaluation without failing the run.
func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	// 1: everything runs; v1 has no baseline, is blessed and promoted.
	sum, err := e.run(e.config(""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(sum); got != allRan {
		t.Fatalf("first run: %s", got)
	}
	if sum.Candidate != "1" || sum.Blessed == nil || !*sum.Blessed || sum.Promotion != Promoted || sum.ProductionVersion != "1" {
		t.Fatalf("first run: candidate %q blessed %v promotion %q production %q", sum.Candidate, sum.Blessed, sum.Promotion, sum.ProductionVersion)
	}
	if e.production() != "1" {
		t.Fatalf("production is %q, want 1", e.production())
	}
	if _, err := os.Stat(sum.Report); err != nil {
		t.Errorf("report: %v", err)
	}
	// Every stage's run is a child of the pipeline's run.
	parent, err := e.store.GetRun(ctx, sum.ParentRunID)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := parent.Tag("nebras.stage"); st != "pipeline" || parent.Info.Status != tracking.RunFinished {
		t.Errorf("parent run: stage tag %q, status %s", st, parent.Info.Status)
	}
	for _, st := range sum.Stages {
		run, err := e.store.GetRun(ctx, st.RunID)
		if err != nil {
			t.Fatalf("%s: run %q: %v", st.Name, st.RunID, err)
		}
		if p, _ := run.Tag("mlflow.parentRunId"); p != sum.ParentRunID {
			t.Errorf("%s run's parent is %q, want %q", st.Name, p, sum.ParentRunID)
		}
		if s, _ := run.Tag("nebras.stage"); s != st.Name {
			t.Errorf("%s run's nebras.stage is %q", st.Name, s)
		}
		if k, _ := run.Tag("nebras.key"); k != st.Key {
			t.Errorf("%s run's nebras.key is %q, want %q", st.Name, k, st.Key)
		}
	}
	if got := e.lastRun(); statuses(got) != allRan || got.ProductionVersion != "1" {
		t.Errorf("last-run.json: %s, production %q", statuses(got), got.ProductionVersion)
	}
	var out bytes.Buffer
	if err := sum.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"train    ran", "gate:        BLESSED", "promotion:   version 1 promoted to production",
		"production:  nebras-support-bot@production is version 1", "parent run " + sum.ParentRunID, "report:      " + sum.Report} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}

	// 2: nothing changed: everything is skipped, nothing new promoted.
	sum2, err := e.run(e.config(""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(sum2); got != allSkipped {
		t.Fatalf("second run: %s", got)
	}
	if sum2.ProductionVersion != "1" || sum2.Candidate != "1" {
		t.Errorf("second run: production %q candidate %q", sum2.ProductionVersion, sum2.Candidate)
	}
	for i, st := range sum2.Stages {
		if st.Key != sum.Stages[i].Key {
			t.Errorf("%s key changed between identical runs", st.Name)
		}
	}
	out.Reset()
	sum2.Write(&out)
	if !strings.Contains(out.String(), "nothing new") || !strings.Contains(out.String(), "0 ran, 5 skipped") {
		t.Errorf("second summary:\n%s", out.String())
	}

	// 3: a train setting changed, and a gate any model passes: train,
	// eval and promote run, prepare does not; v2 is promoted.
	lenient := "\n  gate: {rules: [{metric: perplexity, max: 1.0e9}]}"
	c3lenient := e.config("  lr: 0.004\n")
	if err := addGate(c3lenient, lenient); err != nil {
		t.Fatal(err)
	}
	sum3, err := e.run(c3lenient, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(sum3), "tickets=skipped (cached) prepare=skipped (cached) train=ran eval=ran promote=ran"; got != want {
		t.Fatalf("third run: %s, want %s", got, want)
	}
	if sum3.Candidate != "2" || !*sum3.Blessed || sum3.Baseline == "none" || e.production() != "2" {
		t.Fatalf("third run: candidate %q blessed %v baseline %q production %q", sum3.Candidate, *sum3.Blessed, sum3.Baseline, e.production())
	}

	// 4: a gate no model passes: only eval and promote run; v2 is not
	// blessed, which is an outcome, not a failure; production stays.
	strict := e.config("  lr: 0.004\n")
	if err := addGate(strict, "\n  gate: {rules: [{metric: perplexity, max: 1}]}"); err != nil {
		t.Fatal(err)
	}
	sum4, err := e.run(strict, Options{})
	if err != nil {
		t.Fatalf("not blessed must not fail the run: %v", err)
	}
	if got, want := statuses(sum4), "tickets=skipped (cached) prepare=skipped (cached) train=skipped (cached) eval=ran promote=ran"; got != want {
		t.Fatalf("fourth run: %s, want %s", got, want)
	}
	if *sum4.Blessed || sum4.Promotion != NotBlessed || e.production() != "2" || sum4.ProductionVersion != "2" {
		t.Fatalf("fourth run: blessed %v promotion %q production %q", *sum4.Blessed, sum4.Promotion, e.production())
	}
	if lr := e.lastRun(); lr.Blessed == nil || *lr.Blessed || len(lr.GateReasons) != 1 || !strings.Contains(lr.GateReasons[0], "(max)") {
		t.Errorf("last-run.json: blessed %v reasons %q", lr.Blessed, lr.GateReasons)
	}

	// 5: --force train retrains with the same settings: a new version,
	// hence a new evaluation; prepare stays cached.
	sum5, err := e.run(strict, Options{Force: []string{"train"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(sum5), "tickets=skipped (cached) prepare=skipped (cached) train=ran eval=ran promote=ran"; got != want {
		t.Fatalf("forced run: %s, want %s", got, want)
	}
	if sum5.Candidate != "3" || sum5.Stages[2].Key != sum4.Stages[2].Key {
		t.Errorf("forced train: candidate %q, key changed %v", sum5.Candidate, sum5.Stages[2].Key != sum4.Stages[2].Key)
	}
}

// addGate re-reads c's eval section with a gate appended.
func addGate(c *Config, gateYAML string) error {
	d, err := ParseConfig([]byte("eval:"+gateYAML+"\n"), "gate.yaml")
	if err != nil {
		return err
	}
	c.Eval.Gate = d.Eval.Gate
	return nil
}

// TestRunFailingStage checks a failing stage fails the run naming the
// stage, records nothing for it, and says so in last-run.json.
func TestRunFailingStage(t *testing.T) {
	cases := []struct {
		name, stage, want string
		config            func(e *env) *Config
	}{
		{"unreadable input", StagePrepare, "stage prepare: input ", func(e *env) *Config {
			in := filepath.Join(e.dir, "tickets.jsonl")
			if err := os.WriteFile(in, []byte("{}\n"), 0o000); err != nil {
				e.t.Fatal(err)
			}
			if f, err := os.Open(in); err == nil { // root reads anything
				f.Close()
				in = filepath.Join(e.dir, "missing.jsonl")
			}
			c := e.config("")
			c.Data.Synthetic, c.Data.Inputs = nil, []string{in}
			return c
		}},
		{"train fails at run time", StageTrain, "stage train: ", func(e *env) *Config {
			return e.config("  base: " + filepath.Join(e.dir, "no-such-model") + "\n")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			sum, err := e.run(tc.config(e), Options{})
			var se *StageError
			if !errors.As(err, &se) || se.Stage != tc.stage || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want a StageError starting %q", err, tc.want)
			}
			if sum.FailedStage != tc.stage || e.lastRun().FailedStage != tc.stage {
				t.Errorf("failed stage %q (last-run.json %q), want %q", sum.FailedStage, e.lastRun().FailedStage, tc.stage)
			}
			if st := sum.Stage(tc.stage); st == nil || st.Status != StatusFailed {
				t.Errorf("stage summary %+v", st)
			}
			if st := sum.Stage(StagePromote); st == nil || st.Status != StatusNotRun {
				t.Errorf("promote after a failed stage: %+v, want not run", st)
			}
			if tc.stage == StagePrepare && sum.Stage(StageTickets).Status != StatusNotNeeded {
				t.Errorf("tickets with input files: %q, want not needed", sum.Stage(StageTickets).Status)
			}
			recs, _ := filepath.Glob(filepath.Join(e.dir, "work", tc.stage, "*", RecordFile))
			if len(recs) != 0 {
				t.Errorf("a failed stage left records: %v", recs)
			}
			parent, err := e.store.GetRun(context.Background(), sum.ParentRunID)
			if err != nil {
				t.Fatal(err)
			}
			if parent.Info.Status != tracking.RunFailed {
				t.Errorf("parent run status %s, want FAILED", parent.Info.Status)
			}
		})
	}
}

// TestRunCrashMidStage fails the eval stage after it wrote its output
// but before its record, as a kill would: the next run redoes eval (and
// what follows), and nothing before it.
func TestRunCrashMidStage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	crash := errors.New("simulated crash")
	_, err := e.run(e.config(""), Options{BeforeRecord: func(stage, dir string) error {
		if stage == StageEval {
			if _, err := os.Stat(filepath.Join(dir, "eval.json")); err != nil {
				t.Errorf("eval wrote no eval.json before the crash: %v", err)
			}
			return crash
		}
		return nil
	}})
	if !errors.Is(err, crash) || !strings.HasPrefix(err.Error(), "stage eval: ") {
		t.Fatalf("error %v, want the crash in stage eval", err)
	}
	if e.production() != "" {
		t.Fatalf("a crashed run promoted version %s", e.production())
	}
	sum, err := e.run(e.config(""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(sum), "tickets=skipped (cached) prepare=skipped (cached) train=skipped (cached) eval=ran promote=ran"; got != want {
		t.Fatalf("after the crash: %s, want %s", got, want)
	}
	if sum.ProductionVersion != "1" {
		t.Errorf("production %q, want 1", sum.ProductionVersion)
	}
}

// TestRunCancelled stops the pipeline through its context: the stage
// running fails as cancelled and is redone by the next run.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	c := e.config("")
	_, err := Run(ctx, c, Options{Log: quiet(), Store: e.store, CacheDir: e.cache, BeforeRecord: func(stage, _ string) error {
		if stage == StagePrepare {
			cancel() // the next stage starts cancelled
		}
		return nil
	}})
	var se *StageError
	if !errors.As(err, &se) || se.Stage != StageTrain || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want train cancelled", err)
	}
	sum, err := e.run(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(sum), "tickets=skipped (cached) prepare=skipped (cached) train=ran eval=ran promote=ran"; got != want {
		t.Fatalf("after cancelling: %s, want %s", got, want)
	}
}

func TestRunRefusesABusyWorkDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no file locks here")
	}
	e := newEnv(t)
	c := e.config("")
	if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockWork(filepath.Join(c.WorkDir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.run(c, Options{})
	unlock()
	if err == nil || !strings.Contains(err.Error(), "another nebras run is using this work directory") {
		t.Fatalf("error %v, want the work directory refused", err)
	}
	if _, err := os.Stat(filepath.Join(c.WorkDir, LastRunFile)); err == nil {
		t.Error("a refused run wrote last-run.json")
	}
}

// TestRunEvalDataset evaluates on a dataset other than the one prepare
// made: a missing one fails the eval stage, a real one is what eval.json
// names, and the summary still reports prepare's dataset.
func TestRunEvalDataset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.config("")
	_, err := e.run(c, Options{EvalDataset: filepath.Join(e.dir, "no-such-dataset")})
	if err == nil || !strings.HasPrefix(err.Error(), "stage eval: eval dataset: ") {
		t.Fatalf("error %v, want the eval stage to fail on its dataset", err)
	}
	if _, err := testTokenizer(); err != nil {
		t.Fatal(err)
	}
	held := filepath.Join(testRoot, "fixture", "dataset")
	sum, err := e.run(c, Options{EvalDataset: held})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(sum), "tickets=skipped (cached) prepare=skipped (cached) train=skipped (cached) eval=ran promote=ran"; got != want {
		t.Fatalf("statuses %s, want %s", got, want)
	}
	b, err := os.ReadFile(sum.EvalJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), held) {
		t.Errorf("eval.json does not name %s:\n%.400s", held, b)
	}
	if sum.Dataset == "" || sum.Dataset == held || sum.DatasetDigest == "" {
		t.Errorf("summary dataset %q digest %q, want prepare's", sum.Dataset, sum.DatasetDigest)
	}
	own, err := e.run(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if own.Stage(StageEval).Status != StatusRan || own.Stage(StageEval).Key == sum.Stage(StageEval).Key {
		t.Error("evaluating on prepare's dataset reused the other dataset's evaluation")
	}
}

// TestRunFailingEarlyLeavesNoStaleDecision: a run that fails before its
// summary (here, the tracking store will not open) must not leave the
// previous run's last-run.json for CI to read as its decision.
func TestRunFailingEarlyLeavesNoStaleDecision(t *testing.T) {
	cfg, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.WorkDir = t.TempDir()
	cfg.Tracking.URI = "ftp://mlflow.invalid"
	last := filepath.Join(cfg.WorkDir, LastRunFile)
	if err := os.WriteFile(last, []byte(`{"blessed": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, Options{Log: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("an unusable tracking URI: want an error")
	}
	if _, err := os.Stat(last); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("last-run.json after a failed run: %v", err)
	}
}
