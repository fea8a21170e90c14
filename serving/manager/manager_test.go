package manager

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/internal/leaktest"
	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/mlflowtest"
)

// deadlockGuard bounds waits; it turns a hang into a failure and is never
// part of an assertion.
const deadlockGuard = 2 * time.Minute

const modelName = "support-bot"

// tokenizerDir holds the GPT-2 tokenizer's files, written once: saving
// and parsing them is most of the cost of a test model.
var tokenizerDir string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "manager-test-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		tok, err := tokenizer.GPT2()
		if err != nil {
			panic(err)
		}
		if err := tok.Save(dir); err != nil {
			panic(err)
		}
		tokenizerDir = dir
		return m.Run()
	}()
	os.Exit(code)
}

// saveModel writes a small random GPT-2 with the GPT-2 tokenizer to
// a new directory named model; broken spoils it the way a bad candidate
// would be spoilt.
func saveModel(t testing.TB, seed uint64, broken string) string {
	t.Helper()
	cfg, err := model.NamedConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.NPositions, cfg.NEmbd, cfg.NHead, cfg.NLayer = 64, 32, 2, 1
	m, err := model.New(cfg, nil, seed)
	if err != nil {
		t.Fatal(err)
	}
	if broken == "NaN weights" {
		ln, _ := m.Params.Tensor("ln_f.weight")
		ln.Data[3] = float32(math.NaN())
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if broken != "no tokenizer" {
		for _, name := range []string{tokenizer.VocabFile, tokenizer.MergesFile} {
			b, err := os.ReadFile(filepath.Join(tokenizerDir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if broken == "corrupt weights" {
		if err := os.WriteFile(filepath.Join(dir, model.WeightsFile), []byte("not safetensors"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// reloads is an Observer that passes every reload on a channel.
type reloads chan reload

type reload struct {
	info batcher.ModelInfo
	err  error
}

func (r reloads) ObserveReload(info batcher.ModelInfo, err error) { r <- reload{info, err} }

// next returns the next reload, failing if none comes.
func (r reloads) next(t testing.TB) reload {
	t.Helper()
	select {
	case x := <-r:
		return x
	case <-time.After(deadlockGuard):
		t.Fatal("no reload observed")
		return reload{}
	}
}

// none fails if a reload was observed.
func (r reloads) none(t testing.TB) {
	t.Helper()
	select {
	case x := <-r:
		t.Fatalf("unexpected reload of %+v: %v", x.info, x.err)
	default:
	}
}

func newCPU(t testing.TB) *kernels.CPU {
	cpu := kernels.NewCPU(2)
	t.Cleanup(cpu.Close)
	return cpu
}

func newManager(t testing.TB, src Source, obs Observer) *Manager {
	t.Helper()
	m := New(src, newCPU(t), Options{Observer: obs, Scheduler: batcher.Options{MaxBatch: 4}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadlockGuard)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

var req = batcher.Request{Prompt: "Customer: where is my parcel?\nAgent:", MaxTokens: 3}

// generate runs one request to its end.
func generate(t testing.TB, m *Manager) (batcher.Result, error) {
	t.Helper()
	st, err := m.Submit(context.Background(), req)
	if err != nil {
		return batcher.Result{}, err
	}
	for range st.Text() {
	}
	return st.Wait()
}

func TestDirSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := saveModel(t, 1, "")
	obs := make(reloads, 10)
	m := newManager(t, DirSource{Dir: dir}, obs)
	if _, err := m.Submit(ctx, req); !errors.Is(err, batcher.ErrNoModel) {
		t.Fatalf("submit before a model: %v, want ErrNoModel", err)
	}
	if _, ok := m.Model(); ok {
		t.Fatal("a model before Load")
	}
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if r := obs.next(t); r.err != nil || r.info.Dir != dir {
		t.Fatalf("first load observed as %+v, %v", r.info, r.err)
	}
	info, ok := m.Model()
	if !ok || info.ID != "model" || info.Dir != dir || info.Source != dir || info.LoadedAt.IsZero() {
		t.Fatalf("model info %+v", info)
	}
	res, err := generate(t, m)
	if err != nil || res.CompletionTokens == 0 || res.Model != info {
		t.Fatalf("generation: %+v, %v", res, err)
	}
	// Unchanged files: nothing to do.
	m.poll(ctx)
	obs.none(t)

	// New weights written over the old: the files' times change.
	other := saveModel(t, 2, "")
	for _, name := range []string{model.ConfigFile, model.WeightsFile} {
		b, err := os.ReadFile(filepath.Join(other, name))
		if err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	m.poll(ctx)
	if r := obs.next(t); r.err != nil {
		t.Fatalf("reload: %v", r.err)
	}
	info2, _ := m.Model()
	if info2.LoadedAt == info.LoadedAt {
		t.Error("the model was not replaced")
	}
	if res2, err := generate(t, m); err != nil || res2.Model != info2 {
		t.Errorf("after the reload: %+v, %v", res2.Model, err)
	}

	if _, err := (DirSource{Dir: t.TempDir()}).Resolve(ctx); err == nil {
		t.Error("a directory without config.json resolved")
	}
}

// registry is a store to register versions in, and how to make a version
// source of a local model directory in it.
type registry struct {
	store  tracking.Store
	source func(t testing.TB, dir string) (source, runID string)
}

func registries(t *testing.T) map[string]func(t *testing.T) registry {
	return map[string]func(t *testing.T) registry{
		// A local store registers the directory where it is.
		"FileStore": func(t *testing.T) registry {
			s, err := tracking.NewFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return registry{store: s, source: func(t testing.TB, dir string) (string, string) { return dir, "" }}
		},
		// A tracking server gets the model as a run's artifact, and the
		// manager downloads it through the artifact proxy.
		"REST": func(t *testing.T) registry {
			backend, err := tracking.NewFileStore(t.TempDir(), tracking.WithArtifactRoot("mlflow-artifacts:"))
			if err != nil {
				t.Fatal(err)
			}
			srv := mlflowtest.New(backend, mlflowtest.Options{ArtifactDir: t.TempDir()})
			t.Cleanup(srv.Close)
			c, err := tracking.NewRESTStore(tracking.RESTConfig{URI: srv.URL(), Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return registry{store: c, source: func(t testing.TB, dir string) (string, string) {
				ctx := context.Background()
				run, err := tracking.StartRun(ctx, c, tracking.RunOptions{Experiment: "support-bot"})
				if err != nil {
					t.Fatal(err)
				}
				repo, err := c.Artifacts(ctx, run.Info.ArtifactURI)
				if err != nil {
					t.Fatal(err)
				}
				if err := repo.LogArtifact(ctx, dir, ""); err != nil {
					t.Fatal(err)
				}
				return run.Info.ArtifactURI + "/model", run.Info.RunID
			}}
		},
	}
}

// register adds dir as the next version and returns its number.
func (r registry) register(t testing.TB, dir string) (version, runID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.store.GetRegisteredModel(ctx, modelName); errors.Is(err, tracking.ErrNotFound) {
		if _, err := r.store.CreateRegisteredModel(ctx, modelName, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	src, runID := r.source(t, dir)
	mv, err := r.store.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{Name: modelName, Source: src, RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	return mv.Version, runID
}

func (r registry) promote(t testing.TB, version string) {
	t.Helper()
	if err := r.store.SetRegisteredModelAlias(context.Background(), modelName, "production", version); err != nil {
		t.Fatal(err)
	}
}

func TestRegistrySource(t *testing.T) {
	t.Parallel()
	for name, open := range registries(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			reg := open(t)
			src := RegistrySource{Store: reg.store, Name: modelName, CacheDir: t.TempDir()}
			obs := make(reloads, 10)
			m := newManager(t, src, obs)
			if err := m.Load(ctx); err == nil {
				t.Fatal("Load with no registered model succeeded")
			}
			v1, run1 := reg.register(t, saveModel(t, 1, ""))
			reg.promote(t, v1)
			if err := m.Load(ctx); err != nil {
				t.Fatal(err)
			}
			obs.next(t)
			info, _ := m.Model()
			want := batcher.ModelInfo{ID: modelName, Name: modelName, Version: "1", RunID: run1, Source: "models:/support-bot@production", Dir: info.Dir, LoadedAt: info.LoadedAt}
			if info != want || info.Dir == "" {
				t.Fatalf("model %+v, want %+v", info, want)
			}
			v2, run2 := reg.register(t, saveModel(t, 2, ""))
			m.poll(ctx) // the alias has not moved
			obs.none(t)
			reg.promote(t, v2)
			m.poll(ctx)
			if r := obs.next(t); r.err != nil || r.info.Version != "2" || r.info.RunID != run2 {
				t.Fatalf("reload to version 2: %+v, %v", r.info, r.err)
			}
			res, err := generate(t, m)
			if err != nil || res.Model.Version != "2" {
				t.Fatalf("after the swap: version %q, %v", res.Model.Version, err)
			}
		})
	}
}

// TestHotSwapUnderLoad moves the alias while clients submit in a loop and
// Run polls the registry: no request fails, and every request submitted
// after the swap is answered by the new version.
func TestHotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registries(t)["FileStore"](t)
	v1, _ := reg.register(t, saveModel(t, 1, ""))
	v2, _ := reg.register(t, saveModel(t, 2, ""))
	reg.promote(t, v1)
	obs := make(reloads, 10)
	m := New(RegistrySource{Store: reg.store, Name: modelName}, newCPU(t), Options{
		Observer: obs, PollInterval: 20 * time.Millisecond, Scheduler: batcher.Options{MaxBatch: 4},
	})
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	obs.next(t)
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- m.Run(runCtx) }()

	type answer struct {
		afterSwap bool
		version   string
		err       error
	}
	var (
		mu       sync.Mutex
		swapped  bool
		answers  []answer
		stop     = make(chan struct{})
		progress = make(chan struct{}, 100) // an answer
		later    = make(chan struct{}, 100) // an answer to a request submitted after the swap
		wg       sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				after := swapped
				mu.Unlock()
				res, err := generate(t, m)
				mu.Lock()
				answers = append(answers, answer{after, res.Model.Version, err})
				mu.Unlock()
				ch := progress
				if after {
					ch = later
				}
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		})
	}
	waitAnswers := func(ch chan struct{}, n int) {
		for range n {
			select {
			case <-ch:
			case <-time.After(deadlockGuard):
				t.Fatal("clients stalled")
			}
		}
	}
	waitAnswers(progress, 8)
	reg.promote(t, v2) // Run's next poll swaps
	if r := obs.next(t); r.err != nil || r.info.Version != "2" {
		t.Fatalf("swap: %+v, %v", r.info, r.err)
	}
	mu.Lock()
	swapped = true // the observer hears of a swap once it is done
	mu.Unlock()
	waitAnswers(later, 12)
	close(stop)
	wg.Wait()
	stopRun()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	closeCtx, cancel := context.WithTimeout(ctx, deadlockGuard)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		t.Fatal(err)
	}

	var before, after int
	for _, a := range answers {
		if a.err != nil {
			t.Errorf("request failed during the swap: %v", a.err)
			continue
		}
		if a.afterSwap {
			after++
			if a.version != "2" {
				t.Errorf("request submitted after the swap answered by version %q", a.version)
			}
		} else if a.version == "1" {
			before++
		}
	}
	if before == 0 || after == 0 {
		t.Errorf("%d answers from version 1 before the swap, %d after it", before, after)
	}
}

func TestBrokenCandidateIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registries(t)["FileStore"](t)
	v1, _ := reg.register(t, saveModel(t, 1, ""))
	reg.promote(t, v1)
	obs := make(reloads, 10)
	m := newManager(t, RegistrySource{Store: reg.store, Name: modelName}, obs)
	clock := time.Now()
	m.now = func() time.Time { return clock }
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	obs.next(t)

	for i, broken := range []string{"corrupt weights", "no tokenizer", "NaN weights"} {
		bad, _ := reg.register(t, saveModel(t, uint64(2+i), broken))
		reg.promote(t, bad)
		m.poll(ctx)
		r := obs.next(t)
		if r.err == nil || r.info.Version != bad {
			t.Fatalf("%s: version %s observed as %+v, %v", broken, bad, r.info, r.err)
		}
		t.Logf("%s refused: %v", broken, r.err)
		if info, _ := m.Model(); info.Version != "1" {
			t.Fatalf("%s: version %q serves after a refusal, want 1", broken, info.Version)
		}
		if res, err := generate(t, m); err != nil || res.Model.Version != "1" {
			t.Fatalf("%s: after the refusal: version %q, %v", broken, res.Model.Version, err)
		}
	}
	// The alias points at the corrupt version again: not retried every
	// poll, but after the backoff, and then later still.
	reg.promote(t, "2")
	m.poll(ctx) // a new key: tried at once
	if r := obs.next(t); r.err == nil {
		t.Fatal("the corrupt version loaded")
	}
	clock = clock.Add(refuseBackoff * m.opt.PollInterval / 2)
	m.poll(ctx)
	obs.none(t)
	clock = clock.Add(refuseBackoff * m.opt.PollInterval)
	m.poll(ctx)
	if r := obs.next(t); r.err == nil {
		t.Fatal("the corrupt version loaded on retry")
	}
	clock = clock.Add(refuseBackoff * m.opt.PollInterval) // the backoff has doubled
	m.poll(ctx)
	obs.none(t)
}

func TestCloseDrains(t *testing.T) {
	cpu := newCPU(t)
	base := runtime.NumGoroutine()
	dir := saveModel(t, 1, "")
	m := New(DirSource{Dir: dir}, cpu, Options{Scheduler: batcher.Options{MaxBatch: 2}})
	ctx := context.Background()
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var streams []*batcher.Stream
	for i := range 5 {
		r := req
		r.Prompt = fmt.Sprintf("Customer: question %d\nAgent:", i)
		st, err := m.Submit(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	if _, err := m.Submit(ctx, batcher.Request{Prompt: "hi", MaxTokens: 1, Adapter: "tenant-1"}); !errors.Is(err, batcher.ErrUnknownAdapter) {
		t.Errorf("adapter request: %v, want ErrUnknownAdapter", err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i, st := range streams {
		select {
		case <-st.Done():
		default:
			t.Fatalf("stream %d still running after Close", i)
		}
		if _, err := st.Wait(); err != nil {
			t.Errorf("stream %d: %v", i, err)
		}
	}
	if _, err := m.Submit(ctx, req); !errors.Is(err, batcher.ErrClosed) {
		t.Errorf("submit after Close: %v, want ErrClosed", err)
	}
	if st := m.Stats(); st.Queued != 0 || st.Active != 0 {
		t.Errorf("stats after Close: %+v", st)
	}
	leaktest.Wait(t, base, deadlockGuard)
}

func TestRegistrySourceURI(t *testing.T) {
	for _, c := range []struct {
		src  RegistrySource
		want string
	}{
		{RegistrySource{Name: "bot"}, "models:/bot@production"},
		{RegistrySource{Name: "bot", Alias: "staging"}, "models:/bot@staging"},
	} {
		if got := c.src.URI(); got != c.want || !strings.HasPrefix(got, "models:/") {
			t.Errorf("%+v: %q, want %q", c.src, got, c.want)
		}
	}
}

// panicOnce is an observer whose first call panics, as a failing kernel
// would inside the decode loop.
type panicOnce struct{ done atomic.Bool }

func (p *panicOnce) ObserveStep(int, int, time.Duration) {
	if p.done.CompareAndSwap(false, true) {
		panic("kernel fault")
	}
}

// TestCrashedSchedulerIsReplaced: a decode loop that dies must not leave
// the server answering 503 for good while it reports ready. The manager
// reports no model until its next poll loads the same version again.
func TestCrashedSchedulerIsReplaced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := saveModel(t, 1, "")
	m := New(DirSource{Dir: dir}, newCPU(t), Options{Scheduler: batcher.Options{MaxBatch: 2, Observer: &panicOnce{}}})
	t.Cleanup(func() { m.Close(context.Background()) })
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(t, m); err == nil || !strings.Contains(err.Error(), "decode loop failed") {
		t.Fatalf("generation through a failing kernel: %v", err)
	}
	if _, ok := m.Model(); ok {
		t.Fatal("ready with a dead decode loop")
	}
	m.poll(ctx) // same files, same key: reloaded all the same
	if _, ok := m.Model(); !ok {
		t.Fatal("not ready after the reload")
	}
	if res, err := generate(t, m); err != nil || res.CompletionTokens == 0 {
		t.Fatalf("generation after the reload: %+v, %v", res, err)
	}
}
