package continual

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/internal/fixture"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/orchestrate"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/manager"
	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/transforms/synth"
)

// deadlockGuard bounds every wait on another goroutine: a test that
// reaches it is broken, not slow.
const deadlockGuard = 2 * time.Minute

const modelName = "nebras-support-bot"

var testRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nebras-continual-test-")
	if err != nil {
		panic(err)
	}
	testRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testTokenizer is a small BPE tokenizer, so a tiny model trains in
// moments.
var testTokenizer = sync.OnceValues(func() (string, error) {
	d, err := fixture.Build(filepath.Join(testRoot, "fixture"), fixture.Options{Conversations: 40})
	return d.Tokenizer, err
})

// env is an input root, a work directory and a tracking store.
type env struct {
	t     *testing.T
	dir   string
	root  string
	store *tracking.FileStore
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	s, err := tracking.NewFileStore(filepath.Join(dir, "mlruns"))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "tickets")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, root: root, store: s}
}

// config is a tiny pipeline; gate is the eval gate's YAML ("" for the
// default).
func (e *env) config(gate string) *orchestrate.Config {
	e.t.Helper()
	tok, err := testTokenizer()
	if err != nil {
		e.t.Fatal(err)
	}
	if gate != "" {
		gate = "\n  gate: " + gate
	}
	src := fmt.Sprintf(`
work_dir: %s
prepare: {tokenizer: %s, runner: loop, max_seq_len: 96}
eval:
  max_examples: 4
  max_new_tokens: 4
  ppl_batches: 1
  threads: 2
  batch: 4%s
train:
  max_steps: 2
  batch_size: 4
  seq_len: 64
  threads: 2
  eval_every: 0
  eval_batches: 2
  max_minutes: 0
`, filepath.Join(e.dir, "work"), tok, gate)
	c, err := orchestrate.ParseConfig([]byte(src), "test.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// partition writes n synthetic conversations from seed as ROOT/name/,
// their ids prefixed with name so that partitions do not share ids.
func (e *env) partition(name string, n int, seed int64) {
	e.t.Helper()
	o := synth.DefaultOptions()
	o.N, o.Seed = n, seed
	var b bytes.Buffer
	if _, err := synth.Generate(&b, o); err != nil {
		e.t.Fatal(err)
	}
	data := bytes.ReplaceAll(b.Bytes(), []byte(`{"id":"`), []byte(`{"id":"`+name+`-`))
	writeFile(e.t, filepath.Join(e.root, name, "part-0.jsonl"), string(data))
}

func (e *env) options(min int) Options {
	return Options{
		InputRoot: e.root, MinNewConversations: min, ReplayRatio: 0.5,
		Run: orchestrate.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: e.store,
			CacheDir: filepath.Join(e.dir, "cache")},
	}
}

func (e *env) production() string {
	e.t.Helper()
	mv, err := e.store.GetModelVersionByAlias(context.Background(), modelName, "production")
	if tracking.IsAliasNotFound(err) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return mv.Version
}

func (e *env) state() *State {
	e.t.Helper()
	s, err := ReadState(filepath.Join(e.dir, "work", Dir, StateFile))
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) stateBytes() []byte {
	b, err := os.ReadFile(filepath.Join(e.dir, "work", Dir, StateFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		e.t.Fatal(err)
	}
	return b
}

func statuses(s *orchestrate.Summary) string {
	var out []string
	for _, st := range s.Stages {
		out = append(out, st.Name+"="+st.Status)
	}
	return strings.Join(out, " ")
}

// waitVersion waits until the manager serves version v.
func waitVersion(t *testing.T, m *manager.Manager, v string) {
	t.Helper()
	guard := time.After(deadlockGuard)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if info, ok := m.Model(); ok && info.Version == v {
			return
		}
		select {
		case <-guard:
			info, _ := m.Model()
			t.Fatalf("the server still serves version %q, want %s", info.Version, v)
		case <-tick.C:
		}
	}
}

// TestCycleEndToEnd follows tickets through three cycles while a serving
// manager follows models:/NAME@production: partition 1 trains and
// promotes v1; the same input again does nothing; partition 2 waits
// while it is below --min-new-conversations, then is prepared alone with
// a replay of partition 1, fine-tunes v1, is evaluated on the first
// cycle's held-out set, and v2 is promoted past a permissive gate (the
// server switches to it); partition 3 meets a strict gate and v3 is
// refused, production staying at v2.
func TestCycleEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	work := filepath.Join(e.dir, "work")

	// Cycle 1: no production yet, so the config's base; no baseline,
	// so blessed.
	e.partition("date=2026-11-20", 60, 1)
	res, err := Cycle(ctx, e.config(""), e.options(10))
	if err != nil {
		t.Fatal(err)
	}
	if res.Cycle != 1 || res.Base != "scratch:tiny" || res.Replay != 0 || res.Summary.Promotion != orchestrate.Promoted || e.production() != "1" {
		t.Fatalf("cycle 1: %+v, outcome %q, production %q", res, res.Outcome(), e.production())
	}
	st := e.state()
	if st.LastCycle != 1 || st.HeldOut == nil || st.HeldOut.Split != "test" || st.Partitions["date=2026-11-20"].Version != "1" {
		t.Fatalf("state after cycle 1: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(work, Dir, PendingFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a finished cycle left %s: %v", PendingFile, err)
	}

	// A server following production serves v1.
	m := manager.New(manager.RegistrySource{Store: e.store, Name: modelName, CacheDir: filepath.Join(e.dir, "serve-cache")},
		kernels.NewCPU(2), manager.Options{PollInterval: 20 * time.Millisecond, Scheduler: batcher.Options{MaxBatch: 2}})
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(mctx) }()
	t.Cleanup(func() {
		stop()
		<-done
		cctx, cancel := context.WithTimeout(context.Background(), deadlockGuard)
		defer cancel()
		m.Close(cctx)
	})
	waitVersion(t, m, "1")

	// The same input again: nothing to do, the state untouched.
	before := e.stateBytes()
	res, err = Cycle(ctx, e.config(""), e.options(10))
	if err != nil || res.Skipped == "" || res.Summary != nil || !strings.Contains(res.Skipped, "no new partitions") {
		t.Fatalf("no new input: %+v %v", res, err)
	}
	if !bytes.Equal(before, e.stateBytes()) {
		t.Error("a cycle with nothing to do changed the state")
	}

	// Partition 2, below the threshold: nothing runs.
	e.partition("date=2026-11-21", 30, 2)
	res, err = Cycle(ctx, e.config(""), e.options(1000))
	if err != nil || res.Summary != nil || !strings.Contains(res.Skipped, "fewer than --min-new-conversations 1000") {
		t.Fatalf("below the threshold: %+v %v", res, err)
	}
	if !bytes.Equal(before, e.stateBytes()) || e.production() != "1" {
		t.Error("a cycle below the threshold changed something")
	}

	// Other split settings would move held-out conversations into
	// training when replayed: refused before anything runs.
	salted := e.config("")
	salted.Prepare.SplitSalt = "reshuffle"
	if _, err := Cycle(ctx, salted, e.options(10)); err == nil || !strings.Contains(err.Error(), "split_salt") {
		t.Fatalf("changed split salt: %v", err)
	}
	if !bytes.Equal(before, e.stateBytes()) || e.production() != "1" {
		t.Error("a refused cycle changed something")
	}

	// Cycle 2: only partition 2 plus a replay of partition 1; fine-tunes
	// v1; evaluated on the held-out set; promoted past a permissive gate.
	permissive := "{rules: [{metric: perplexity, max: 1.0e9}]}"
	res, err = Cycle(ctx, e.config(permissive), e.options(10))
	if err != nil {
		t.Fatal(err)
	}
	if res.Cycle != 2 || !slices.Equal(res.NewPartitions, []string{"date=2026-11-21"}) || res.Replay == 0 ||
		res.Base != "models:/"+modelName+"/1" || res.Summary.Promotion != orchestrate.Promoted || e.production() != "2" {
		t.Fatalf("cycle 2: %+v, outcome %q, production %q", res, res.Outcome(), e.production())
	}
	if got, want := res.Replay, (res.NewConversations+1)/2; got != want {
		t.Errorf("replayed %d conversations, want %d (half the %d new)", got, want, res.NewConversations)
	}
	resolved, err := os.ReadFile(filepath.Join(work, "pipeline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(resolved); strings.Contains(s, "date=2026-11-20") || !strings.Contains(s, "date=2026-11-21") || !strings.Contains(s, "replay.jsonl") {
		t.Errorf("cycle 2's inputs are not partition 2 and the replay:\n%s", s)
	}
	evalJSON, err := os.ReadFile(res.Summary.EvalJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(evalJSON), filepath.Join(work, Dir, HeldOutDir)) {
		t.Errorf("cycle 2 was not evaluated on the held-out set:\n%.600s", evalJSON)
	}
	if res.Summary.Baseline == "none" || res.Summary.Baseline == "" {
		t.Errorf("cycle 2 was not compared with production: baseline %q", res.Summary.Baseline)
	}
	waitVersion(t, m, "2")

	// Cycle 3: a gate no model passes; v3 is refused, which is an
	// outcome: the partition is consumed, production stays.
	e.partition("date=2026-11-22", 30, 3)
	strict := "{rules: [{metric: perplexity, max: 1}]}"
	res, err = Cycle(ctx, e.config(strict), e.options(10))
	if err != nil {
		t.Fatal(err)
	}
	if res.Cycle != 3 || res.Base != "models:/"+modelName+"/2" || res.Summary.Promotion != orchestrate.NotBlessed || e.production() != "2" {
		t.Fatalf("cycle 3: %+v, outcome %q, production %q", res, res.Outcome(), e.production())
	}
	st = e.state()
	if c := st.Partitions["date=2026-11-22"]; st.LastCycle != 3 || c.Cycle != 3 || c.Version != "3" || c.Outcome != orchestrate.NotBlessed {
		t.Errorf("state after cycle 3: last %d, partition %+v", st.LastCycle, c)
	}
	if len(st.Cycles) != 3 || st.Cycles[2].Blessed || !st.Cycles[1].Blessed || st.Cycles[1].Production != "2" {
		t.Errorf("cycle history: %+v", st.Cycles)
	}
	if info, _ := m.Model(); info.Version != "2" {
		t.Errorf("after a refusal the server serves %q, want 2", info.Version)
	}
	res, err = Cycle(ctx, e.config(strict), e.options(10))
	if err != nil || res.Summary != nil {
		t.Fatalf("after cycle 3: %+v %v, want nothing to do", res, err)
	}
	var out bytes.Buffer
	if err := res.Write(&out); err != nil || !strings.HasPrefix(out.String(), "retrain: nothing to do: no new partitions") {
		t.Errorf("printed %q (%v)", out.String(), err)
	}
}

// TestCycleCrashResumes fails a cycle part way, as a crash would: the
// state is unchanged and nothing is half promoted; the next cycle finds
// what was finished in the cache and completes the same cycle. A crash
// after the alias moved (before the state was written) must not make the
// next cycle fine-tune the version just promoted on the same data: the
// pending cycle pins its base.
func TestCycleCrashResumes(t *testing.T) {
	crashIn := func(stage string) func(context.CancelFunc) func(string, string) error {
		return func(context.CancelFunc) func(string, string) error {
			return func(s, _ string) error {
				if s == stage {
					return errSimulated
				}
				return nil
			}
		}
	}
	cases := []struct {
		name      string
		fault     func(cancel context.CancelFunc) func(stage, dir string) error
		want      error
		failed    string
		crashProd string // production after the crash
		resumed   string // the next cycle's stage statuses
		outcome   string
	}{
		{"eval crashes before its record", crashIn(orchestrate.StageEval), errSimulated, orchestrate.StageEval, "",
			"tickets=not needed prepare=skipped (cached) train=skipped (cached) eval=ran promote=ran", orchestrate.Promoted},
		{"cancelled after train", func(cancel context.CancelFunc) func(string, string) error {
			return func(stage, _ string) error {
				if stage == orchestrate.StageTrain {
					cancel()
				}
				return nil
			}
		}, context.Canceled, orchestrate.StageEval, "",
			"tickets=not needed prepare=skipped (cached) train=skipped (cached) eval=ran promote=ran", orchestrate.Promoted},
		{"crash after the alias moved", crashIn(orchestrate.StagePromote), errSimulated, orchestrate.StagePromote, "1",
			"tickets=not needed prepare=skipped (cached) train=skipped (cached) eval=skipped (cached) promote=ran", orchestrate.AlreadyInProduction},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.partition("date=2026-11-20", 40, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opt := e.options(1)
			opt.Run.BeforeRecord = tc.fault(cancel)
			res, err := Cycle(ctx, e.config(""), opt)
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "cycle 1: stage "+tc.failed+": ") {
				t.Fatalf("error %v, want %v in cycle 1's %s", err, tc.want, tc.failed)
			}
			if res == nil || res.Summary == nil || res.Summary.FailedStage != tc.failed {
				t.Fatalf("result %+v", res)
			}
			if e.production() != tc.crashProd || e.stateBytes() != nil {
				t.Fatalf("after the crash production is %q (want %q), state %q", e.production(), tc.crashProd, e.stateBytes())
			}

			res, err = Cycle(context.Background(), e.config(""), e.options(1))
			if err != nil {
				t.Fatal(err)
			}
			if got := statuses(res.Summary); got != tc.resumed {
				t.Errorf("resumed cycle: %s, want %s", got, tc.resumed)
			}
			if res.Cycle != 1 || res.Summary.Promotion != tc.outcome || e.production() != "1" || e.state().LastCycle != 1 {
				t.Errorf("resumed cycle %d: %q, production %q", res.Cycle, res.Summary.Promotion, e.production())
			}
		})
	}
}

var errSimulated = errors.New("simulated crash")

// TestWatch runs the watch loop on an empty root until it is stopped.
func TestWatch(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	var reports []string
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, e.config(""), e.options(1), time.Millisecond, func(r *Result, err error) {
			if err != nil {
				reports = append(reports, err.Error())
			} else {
				reports = append(reports, r.Outcome())
			}
			if len(reports) == 2 {
				cancel()
			}
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(deadlockGuard):
		t.Fatal("Watch did not stop")
	}
	if len(reports) != 2 || !strings.Contains(reports[0], "no new partitions") {
		t.Errorf("reports %q", reports)
	}
	if err := Watch(context.Background(), e.config(""), e.options(1), 0, nil); err == nil {
		t.Error("a zero interval was accepted")
	}
}
