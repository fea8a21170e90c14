package training

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/mlflowtest"
)

// smallConfig trains scratch:tiny on the fixture quickly.
func smallConfig(t *testing.T, f fixture) Config {
	t.Helper()
	c := DefaultConfig()
	c.Data, c.Base, c.Out = f.dir, "scratch:tiny", filepath.Join(t.TempDir(), "run")
	c.TrackingURI = filepath.Join(t.TempDir(), "mlruns")
	c.BatchSize, c.SeqLen, c.MaxSteps, c.LR = 4, 64, 30, 3e-3
	c.EvalEvery, c.EvalBatches, c.CheckpointEvery = 10, 4, 10
	c.Threads = 2
	return c
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func fastLogger() tracking.LoggerOptions {
	return tracking.LoggerOptions{FlushInterval: 5 * time.Millisecond, RetryFor: 200 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, SpillDir: os.TempDir()}
}

func train(t *testing.T, cfg Config, opt Options) *Result {
	t.Helper()
	if opt.Log == nil {
		opt.Log = quietLog()
	}
	opt.Logger = fastLogger()
	res, err := Train(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTrainLearnsAndTracksEverything is the main check: loss goes down,
// and the MLflow run holds params, metrics, the dataset input, artifacts
// and a registered version, in the local store and through the REST API.
func TestTrainLearnsAndTracksEverything(t *testing.T) {
	f := testDataset(t)
	for _, backend := range []string{"filestore", "rest"} {
		t.Run(backend, func(t *testing.T) {
			cfg := smallConfig(t, f)
			var store tracking.Store
			var err error
			if backend == "filestore" {
				store, err = tracking.NewFileStore(cfg.TrackingURI)
			} else {
				// A tracking server over a store of its own, serving
				// artifacts through its proxy.
				var fs *tracking.FileStore
				if fs, err = tracking.NewFileStore(cfg.TrackingURI, tracking.WithArtifactRoot("mlflow-artifacts:")); err != nil {
					t.Fatal(err)
				}
				srv := mlflowtest.New(fs, mlflowtest.Options{ArtifactDir: t.TempDir(), Int64AsString: true})
				t.Cleanup(srv.Close)
				store, err = tracking.NewRESTStore(tracking.RESTConfig{URI: srv.URL()})
			}
			if err != nil {
				t.Fatal(err)
			}
			res := train(t, cfg, Options{Store: store})
			checkTrackedRun(t, store, cfg, res)
		})
	}
}

func checkTrackedRun(t *testing.T, s tracking.Store, cfg Config, res *Result) {
	t.Helper()
	ctx := context.Background()
	if res.Steps != cfg.MaxSteps || res.Stopped != "max_steps" {
		t.Errorf("steps %d (%s), want %d (max_steps)", res.Steps, res.Stopped, cfg.MaxSteps)
	}
	hist, err := s.GetMetricHistory(ctx, res.RunID, "train_loss")
	if err != nil || len(hist) != cfg.MaxSteps {
		t.Fatalf("train_loss history %d values, %v", len(hist), err)
	}
	first := (hist[0].Value + hist[1].Value + hist[2].Value) / 3
	last := (hist[len(hist)-1].Value + hist[len(hist)-2].Value + hist[len(hist)-3].Value) / 3
	if !(last < first-1) {
		t.Errorf("train loss went from %.3f to %.3f; want a drop of more than 1 nat", first, last)
	}
	// ln(384) is what a uniform guess over the vocabulary costs.
	if !(res.ValLoss > 0 && res.ValLoss < math.Log(384)-1) {
		t.Errorf("val loss %.3f, want well below ln(384) = %.3f", res.ValLoss, math.Log(384))
	}
	if !(res.FullValPerplexity > 1 && res.FullValPerplexity < res.UnigramPerplexity) {
		t.Errorf("whole-val perplexity %.2f, unigram baseline %.2f: want the model below the baseline", res.FullValPerplexity, res.UnigramPerplexity)
	}
	run, err := s.GetRun(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.Status != tracking.RunFinished {
		t.Errorf("run status %s", run.Info.Status)
	}
	for key, want := range map[string]string{"lr": "0.003", "batch_size": "4", "base": "scratch:tiny", "method": "full", "total_steps": "30", "dataset_digest": mustDigest(t, cfg.Data)} {
		if v, _ := run.Param(key); v != want {
			t.Errorf("param %s = %q, want %q", key, v, want)
		}
	}
	for _, key := range []string{"learning_rate", "grad_norm", "tokens_per_second", "val_loss", "val_perplexity", "final_val_perplexity", "val_unigram_perplexity"} {
		if _, ok := run.Metric(key); !ok {
			t.Errorf("metric %s missing", key)
		}
	}
	if v, _ := run.Tag("system.go_version"); !strings.HasPrefix(v, "go") {
		t.Errorf("system.go_version tag %q", v)
	}
	if len(run.Inputs) != 1 || run.Inputs[0].Dataset.Digest != mustDigest(t, cfg.Data) || run.Inputs[0].Dataset.Name != "dataset" {
		t.Errorf("dataset input %+v", run.Inputs)
	}
	repo, err := s.Artifacts(ctx, run.Info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dir := range []string{"", ModelDir} {
		list, err := repo.List(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range list {
			names = append(names, fi.Path)
		}
	}
	for _, want := range []string{ModelDir, ConfigName, PlotName, "model/config.json", "model/model.safetensors", "model/README.md", "model/vocab.json"} {
		if !slices.Contains(names, want) {
			t.Errorf("artifact %s missing from %v", want, names)
		}
	}
	mv, err := s.GetModelVersion(ctx, cfg.RegisterAs, res.Version)
	if err != nil || mv.RunID != res.RunID || !strings.HasSuffix(mv.Source, "/model") {
		t.Fatalf("registered version %+v, %v", mv, err)
	}
	if len(mv.Aliases) != 0 {
		t.Errorf("training moved aliases %v", mv.Aliases)
	}
	// The exported model loads and scores like the run said.
	m, err := model.Load(res.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tokenizer == nil || m.Tokenizer.Hash() != mustManifest(t, cfg.Data).Tokenizer.Hash {
		t.Error("exported model lacks the dataset's tokenizer")
	}
	if m.Config.NPositions != cfg.SeqLen {
		t.Errorf("a scratch model trained on %d positions says its context is %d", cfg.SeqLen, m.Config.NPositions)
	}
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	ds, _ := dataset.Open(cfg.Data)
	l, err := EvalLoss(ctx, cpu, m, ds, "val", cfg.BatchSize, cfg.SeqLen, cfg.Pack, 0)
	if err != nil || math.Abs(l.Mean()-res.FullValLoss) > 1e-6 {
		t.Errorf("EvalLoss of the exported model %.6f (%v), the run said %.6f", l.Mean(), err, res.FullValLoss)
	}
	card, _ := os.ReadFile(filepath.Join(res.ModelDir, "README.md"))
	if !bytes.Contains(card, []byte(res.RunID)) {
		t.Error("model card does not name the run")
	}
}

func mustManifest(t *testing.T, dir string) dataset.Manifest {
	t.Helper()
	ds, err := dataset.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ds.Manifest
}

func mustDigest(t *testing.T, dir string) string { return mustManifest(t, dir).Digest() }

func TestTrainRefusesBadInputs(t *testing.T) {
	f := testDataset(t)
	ctx := context.Background()
	gpt2Dir := filepath.Join(t.TempDir(), "gpt2-tiny")
	// A model with GPT-2's own tokenizer: not what the dataset was made with.
	cfgM, _ := model.NamedConfig("tiny")
	tok := mustGPT2(t)
	cfgM.VocabSize = tok.VocabSize()
	m, err := model.New(cfgM, tok, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(gpt2Dir); err != nil {
		t.Fatal(err)
	}
	noManifest := t.TempDir()
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"tokenizer mismatch", func(c *Config) { c.Base = gpt2Dir }, "tokenized with"},
		{"no manifest", func(c *Config) { c.Data = noManifest }, "incomplete"},
		{"seq too long", func(c *Config) { c.SeqLen = 4096 }, "longer than base"},
		{"unknown size", func(c *Config) { c.Base = "scratch:huge" }, "huge"},
		{"cuda", func(c *Config) { c.Device = "cuda" }, "CPU only"},
		{"bad schedule", func(c *Config) { c.Schedule = "step" }, "cosine, linear or constant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := smallConfig(t, f)
			c.edit(&cfg)
			_, err := Train(ctx, cfg, Options{Log: quietLog()})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	// An earlier run is not overwritten unless asked.
	cfg := smallConfig(t, f)
	cfg.MaxSteps, cfg.Register = 2, false
	train(t, cfg, Options{})
	if _, err := Train(ctx, cfg, Options{Log: quietLog()}); err == nil || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("second run into the same out: %v", err)
	}
	train(t, cfg, Options{Overwrite: true})
}

// TestResumeAfterSIGKILLIsBitIdentical kills a training process with
// SIGKILL at some moment, resumes it, and compares the weights with those
// of an uninterrupted run of the same config.
func TestResumeAfterSIGKILLIsBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	f := testDataset(t)
	cfg := smallConfig(t, f)
	cfg.MaxSteps, cfg.EvalEvery, cfg.CheckpointEvery, cfg.Register = 24, 0, 1, false

	ref := cfg
	ref.Out = filepath.Join(t.TempDir(), "uninterrupted")
	want := train(t, ref, Options{})

	cfgFile := filepath.Join(t.TempDir(), "train.yaml")
	if err := os.WriteFile(cfgFile, cfg.YAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "NEBRAS_TRAIN_CHILD="+cfgFile)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killedAt := -1
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(cfg.Out, checkpointsDir, latestFile)); err == nil {
			if step, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(string(b)), "step-")); err == nil && step >= 6 {
				child.Process.Signal(syscall.SIGKILL)
				killedAt = step
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	child.Wait()
	if killedAt < 0 {
		t.Fatal("the child never reached step 6")
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, ModelDir)); err == nil {
		t.Skip("the child finished before the kill landed; nothing was interrupted")
	}
	got := train(t, cfg, Options{Resume: true})
	if got.Steps != cfg.MaxSteps {
		t.Fatalf("resumed run ended at step %d", got.Steps)
	}
	a, _ := os.ReadFile(filepath.Join(want.ModelDir, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(got.ModelDir, "model.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("killed at step ≥ %d and resumed: weights differ from the uninterrupted run's", killedAt)
	}
	t.Logf("killed after checkpoint %d, resumed, weights bit-identical", killedAt)
}

// trainChild is the process the kill test kills.
func trainChild(cfgFile string) int {
	cfg, err := LoadConfig(cfgFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := Train(context.Background(), cfg, Options{Log: quietLog(), Logger: fastLogger()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestInterruptWritesACheckpointAndResumeFinishes(t *testing.T) {
	f := testDataset(t)
	cfg := smallConfig(t, f)
	cfg.MaxSteps, cfg.EvalEvery, cfg.CheckpointEvery = 12, 0, 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // SIGINT once training is under way
		for {
			if _, err := os.Stat(filepath.Join(cfg.Out, checkpointsDir, latestFile)); err == nil {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := Train(ctx, cfg, Options{Log: quietLog(), Logger: fastLogger()})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error %v, want ErrInterrupted", err)
	}
	if dir, _ := pointedCheckpoint(cfg.Out, latestFile); dir == "" {
		t.Fatal("no checkpoint after the interrupt")
	}
	s, err := tracking.NewFileStore(cfg.TrackingURI)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.SearchRuns(context.Background(), tracking.SearchRunsRequest{ExperimentIDs: experimentIDs(t, s)})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].Info.Status != tracking.RunKilled {
		t.Fatalf("interrupted run: %v %+v", err, page)
	}
	res := train(t, cfg, Options{Resume: true})
	run, err := s.GetRun(context.Background(), res.RunID)
	if err != nil || run.Info.Status != tracking.RunFinished || res.Steps != 12 {
		t.Errorf("after resume: %v, status %v, %d steps", err, run.Info.Status, res.Steps)
	}
}

// TestLoRATrainsOnlyTheAdapters: the base weights do not move, the
// adapters do, and the merged model's logits equal the base with the
// adapters applied.
func TestLoRATrainsOnlyTheAdapters(t *testing.T) {
	f := testDataset(t)
	cfg := smallConfig(t, f)
	cfg.LoRARank, cfg.LoRAAlpha, cfg.MaxSteps, cfg.LR = 4, 8, 15, 1e-2
	res := train(t, cfg, Options{})
	if res.AdapterDir == "" {
		t.Fatal("no adapter directory")
	}
	// The base: scratch:tiny with the run's seed and the dataset's tokenizer.
	baseRun := &run{cfg: cfg, log: quietLog()}
	var err error
	if baseRun.ds, err = dataset.Open(cfg.Data); err != nil {
		t.Fatal(err)
	}
	if err := baseRun.loadBase(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := baseRun.base
	merged, err := model.Load(res.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	lora, err := model.LoadLoRA(res.AdapterDir, base.Config)
	if err != nil {
		t.Fatal(err)
	}
	nonZero := false
	for _, v := range lora.Data {
		if v != 0 {
			nonZero = true
		}
	}
	if !nonZero {
		t.Fatal("adapters are all zero: nothing was trained")
	}
	// Tensors LoRA does not touch are the base's, bit for bit.
	for _, name := range []string{"wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.1.mlp.c_fc.bias", "ln_f.bias"} {
		a, _ := base.Params.Tensor(name)
		b, _ := merged.Params.Tensor(name)
		if !slices.Equal(a.Data, b.Data) {
			t.Errorf("%s changed under LoRA training", name)
		}
	}
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	batch := model.Batch{B: 1, T: 16, Inputs: make([]int32, 16), Targets: make([]int32, 16)}
	for i := range batch.Inputs {
		batch.Inputs[i], batch.Targets[i] = int32(7*i%300), -1
	}
	logits := func(p *model.Params, l *model.LoRA) []float32 {
		e, err := model.NewEngine(cpu, p, model.EngineOptions{B: 1, T: 16, LoRA: l})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Forward(batch); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(e.Logits())
	}
	withAdapters, mergedLogits := logits(base.Params, lora), logits(merged.Params, nil)
	var maxDiff float64
	for i := range withAdapters {
		maxDiff = max(maxDiff, math.Abs(float64(withAdapters[i]-mergedLogits[i])))
	}
	if maxDiff > 1e-4 {
		t.Errorf("merged logits differ from adapter-on logits by %g", maxDiff)
	}
}

func TestFineTuneFromTheRegistry(t *testing.T) {
	f := testDataset(t)
	cfg := smallConfig(t, f)
	cfg.MaxSteps = 5
	first := train(t, cfg, Options{})
	second := cfg
	second.Out = filepath.Join(t.TempDir(), "second")
	second.Base = "models:/" + cfg.RegisterAs + "/" + first.Version
	res := train(t, second, Options{CacheDir: t.TempDir()})
	if res.Version != "2" {
		t.Errorf("second run registered version %q, want 2", res.Version)
	}
	s, _ := tracking.NewFileStore(cfg.TrackingURI)
	run, _ := s.GetRun(context.Background(), res.RunID)
	if v, _ := run.Param("base_resolved"); !strings.Contains(v, "version 1") {
		t.Errorf("base_resolved %q", v)
	}
}

func TestConfigFileRejectsUnknownKeysWithTheirLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "train.yaml")
	os.WriteFile(p, []byte("lr: 0.001\nbatch_sise: 8\n"), 0o644)
	_, err := LoadConfig(p)
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "batch_sise") {
		t.Fatalf("error %v", err)
	}
	os.WriteFile(p, []byte("lr: 0.001\nlora_rank: 8\nlora_targets: [c_attn]\n"), 0o644)
	c, err := LoadConfig(p)
	if err != nil || c.LR != 0.001 || c.LoRARank != 8 || !slices.Equal(c.LoRATargets, []string{"c_attn"}) || c.BatchSize != DefaultConfig().BatchSize {
		t.Fatalf("config %+v, %v", c, err)
	}
	back, err := os.CreateTemp(t.TempDir(), "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	back.Write(c.YAML())
	back.Close()
	if c2, err := LoadConfig(back.Name()); err != nil || c2.identity() != c.identity() {
		t.Errorf("YAML round trip: %v", err)
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Kind: "cosine", Peak: 1, MinRatio: 0.1, Warmup: 10, Total: 110}
	for _, c := range []struct {
		step int
		want float64
	}{{0, 0.1}, {9, 1}, {10, 1}, {60, 0.55}, {110, 0.1}, {500, 0.1}} {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("cosine LR(%d) = %g, want %g", c.step, got, c.want)
		}
	}
	s.Kind = "linear"
	if got := s.LR(60); math.Abs(got-0.55) > 1e-12 {
		t.Errorf("linear LR(60) = %g", got)
	}
	s.Kind = "constant"
	if got := s.LR(100); got != 1 {
		t.Errorf("constant LR(100) = %g", got)
	}
}

func experimentIDs(t *testing.T, s tracking.Store) []string {
	t.Helper()
	exp, err := s.GetExperimentByName(context.Background(), tracking.DefaultExperimentName)
	if err != nil {
		t.Fatal(err)
	}
	return []string{exp.ID}
}

func TestResumeOfAFinishedRunIsRefused(t *testing.T) {
	f := testDataset(t)
	cfg := smallConfig(t, f)
	cfg.MaxSteps, cfg.Register = 3, false
	train(t, cfg, Options{})
	_, err := Train(context.Background(), cfg, Options{Log: quietLog(), Resume: true, Logger: fastLogger()})
	if err == nil || !strings.Contains(err.Error(), "already finished") {
		t.Fatalf("resume of a finished run: %v", err)
	}
	cfg.MaxSteps = 5 // a bigger budget continues it
	if res := train(t, cfg, Options{Resume: true}); res.Steps != 5 {
		t.Errorf("extended run ended at step %d", res.Steps)
	}
}
