// Package training fine-tunes GPT-2 on a prepared dataset: the data
// loader (Parquet through Arrow into [B, T] batches with the loss mask),
// the learning-rate schedule, checkpoints that resume bit for bit, and the
// trainer, which tracks every run in MLflow and registers the model it
// produces.
package training

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/plot"
)

// Layout of a run directory.
const (
	ModelDir   = "model"             // the final model, Hugging Face layout (LoRA merged)
	AdapterDir = "adapter"           // LoRA adapters, PEFT layout, when LoRA was trained
	ConfigName = "train_config.yaml" // the resolved config
	PlotName   = "loss.png"          // train and val loss curves
)

// ErrInterrupted is returned when the context was cancelled (SIGINT or
// SIGTERM): the run stopped cleanly after writing a checkpoint, and
// --resume continues it.
var ErrInterrupted = errors.New("training interrupted; a checkpoint was written, --resume continues")

// Options connect a run to the outside; unlike Config they do not change
// what is trained.
type Options struct {
	Log      *slog.Logger
	Progress io.Writer // the progress display; nil for none
	Terminal bool      // Progress is a terminal: redraw one line
	// Store is where the run is tracked; nil opens the one Config (or the
	// environment) names.
	Store tracking.Store
	// Resume continues the run in Config.Out from its latest checkpoint.
	Resume bool
	// Overwrite replaces an earlier run in Config.Out.
	Overwrite bool
	// CacheDir holds models downloaded from the registry (default: the
	// user cache directory).
	CacheDir string
	// Logger tunes the MLflow logger (tests shorten its retries).
	Logger tracking.LoggerOptions
}

// Result is what a finished run produced.
type Result struct {
	RunID, ExperimentID, TrackingURI string
	ExperimentName                   string
	ModelDir, AdapterDir             string
	Steps                            int
	Stopped                          string // max_steps, epochs, max_minutes, early_stopping
	TrainLoss                        float64
	ValLoss, ValPerplexity           float64 // best periodic evaluation (eval_batches of val); 0 without a val split
	// FullValLoss and FullValPerplexity score the exported model on the
	// whole val split; UnigramPerplexity is the baseline it must beat.
	FullValLoss, FullValPerplexity float64
	UnigramPerplexity              float64
	BestStep                       int
	TokensPerSecond                float64
	RegisteredModel, Version       string
	Timing                         Timing
}

// Timing splits a run's wall time, to show where it went.
type Timing struct {
	Model      time.Duration // forward and backward passes
	Optimizer  time.Duration // clipping and AdamW
	Data       time.Duration // waiting for batches
	Eval       time.Duration
	Checkpoint time.Duration
	Other      time.Duration // logging, progress, the loop itself

	Checkpoints int // how many checkpoints Checkpoint covers
}

// StepOverhead is Overhead without checkpoints: the steady share of each
// step spent outside the model's math. Checkpoints cost
// Checkpoint/Checkpoints each, once every checkpoint_every steps.
func (t Timing) StepOverhead() float64 {
	total := t.Model + t.Optimizer + t.Data + t.Other
	if total == 0 {
		return 0
	}
	return float64(t.Data+t.Other) / float64(total)
}

// Overhead is the share of training-step time spent outside the model's
// forward, backward and optimizer math: data, logging, checkpoints.
func (t Timing) Overhead() float64 {
	total := t.Model + t.Optimizer + t.Data + t.Checkpoint + t.Other
	if total == 0 {
		return 0
	}
	return float64(t.Data+t.Checkpoint+t.Other) / float64(total)
}

// run is one training run in progress.
type run struct {
	cfg   Config
	opt   Options
	log   *slog.Logger
	ds    *dataset.Dataset
	base  *model.Model
	ref   string // the base as resolved (directory, hf ref, models:/ URI, scratch:...)
	store tracking.Store
	mlog  *tracking.Logger

	cpu        *kernels.CPU
	engine     *model.Engine
	grads      *model.Params // full fine-tuning
	lora       *model.LoRA   // LoRA
	loraGrads  *model.LoRA
	trainable  []float32 // the buffer AdamW updates, and its gradient
	gradBuf    []float32
	adam       *model.AdamW
	train      *Loader
	batches    []model.Batch
	sched      Schedule
	totalSteps int

	st     State
	timing Timing
	hist   struct{ trainStep, trainLoss, valStep, valLoss []float64 }
}

// Train runs a training job to its end, or until ctx is cancelled, when it
// writes a checkpoint and returns ErrInterrupted.
func Train(ctx context.Context, cfg Config, opt Options) (res *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	r := &run{cfg: cfg, opt: opt, log: opt.Log}
	if err := r.prepareOut(); err != nil {
		return nil, err
	}
	if r.ds, err = dataset.Open(cfg.Data); err != nil {
		return nil, err
	}
	if err := r.openStore(); err != nil {
		return nil, err
	}
	if opt.Store == nil {
		defer r.store.Close()
	}
	if err := r.loadBase(ctx); err != nil {
		return nil, err
	}
	r.cpu = kernels.NewCPU(cfg.Threads)
	defer r.cpu.Close()
	if err := r.setup(); err != nil {
		return nil, err
	}
	defer r.train.Close()
	if err := r.restore(); err != nil {
		return nil, err
	}
	if err := r.startTracking(ctx); err != nil {
		return nil, err
	}
	defer func() {
		// The run's end in MLflow says how it ended; Close flushes or
		// spills what the server has not taken.
		status := tracking.RunFinished
		switch {
		case errors.Is(err, ErrInterrupted):
			status = tracking.RunKilled
		case err != nil:
			status = tracking.RunFailed
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if eerr := r.mlog.End(cctx, status); eerr != nil {
			r.log.Warn("tracking: the run's end is not on the server yet", "err", eerr)
		}
		r.mlog.Close(cctx)
	}()

	if err := r.loop(ctx); err != nil {
		return nil, err
	}
	return r.finish(ctx)
}

// prepareOut refuses to train over an earlier run unless asked, and to
// resume a run that is not there.
func (r *run) prepareOut() error {
	out := r.cfg.Out
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		if r.opt.Resume {
			return fmt.Errorf("--resume: %s does not exist; nothing to resume", out)
		}
		return os.MkdirAll(out, 0o755)
	}
	if err != nil {
		return fmt.Errorf("out %s: %w", out, err)
	}
	_, cerr := os.Stat(filepath.Join(out, ConfigName))
	isRun := cerr == nil
	switch {
	case r.opt.Resume:
		if !isRun {
			return fmt.Errorf("--resume: %s is not a training run directory (no %s)", out, ConfigName)
		}
		saved, err := LoadConfig(filepath.Join(out, ConfigName))
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if a, b := saved.identity(), r.cfg.identity(); a != b {
			return fmt.Errorf("--resume: the config differs from the one %s was started with (%s); resume with the same settings, or start a new run", out, describeDiff(saved, r.cfg))
		}
		return nil
	case len(entries) == 0:
		return nil
	case !isRun:
		return fmt.Errorf("out %s exists and is not a training run directory; choose an empty or new directory", out)
	case !r.opt.Overwrite:
		return fmt.Errorf("out %s already holds a run (pass --resume to continue it or --overwrite to replace it)", out)
	}
	for _, name := range []string{ModelDir, AdapterDir, checkpointsDir, ConfigName, PlotName} {
		if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
			return fmt.Errorf("overwrite %s: %w", out, err)
		}
	}
	return nil
}

// identity hashes what decides the weights a run ends with; budget and
// bookkeeping fields may change across a resume.
func (c Config) identity() string {
	c.MaxSteps, c.Epochs, c.MaxMinutes, c.Threads = 0, 0, 0, 0
	c.TrackingURI, c.Experiment, c.RunName, c.ParentRunID, c.RegisterAs, c.Register, c.ArtifactMaxMB = "", "", "", "", "", false, 0
	c.EvalEvery, c.EvalBatches, c.Patience, c.CheckpointEvery = 0, 0, 0, 0
	c.Out = ""
	sum := sha256.Sum256(c.YAML())
	return hex.EncodeToString(sum[:8])
}

func describeDiff(a, b Config) string {
	al := strings.Split(string(a.YAML()), "\n")
	bl := strings.Split(string(b.YAML()), "\n")
	var diffs []string
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			diffs = append(diffs, fmt.Sprintf("%s → %s", strings.TrimSpace(al[i]), strings.TrimSpace(bl[i])))
		}
	}
	return strings.Join(diffs, "; ")
}

func (r *run) openStore() error {
	if r.opt.Store != nil {
		r.store = r.opt.Store
		return nil
	}
	tc, err := tracking.ConfigFromEnv()
	if err != nil {
		return err
	}
	if r.cfg.TrackingURI != "" {
		tc.TrackingURI = r.cfg.TrackingURI
	}
	if r.cfg.Experiment == "" {
		r.cfg.Experiment = tc.Experiment
	}
	s, err := tracking.Open(tc)
	if err != nil {
		return err
	}
	r.store = s
	return nil
}

// loadBase opens the model to start from and checks it fits the data.
func (r *run) loadBase(ctx context.Context) error {
	ref := r.cfg.Base
	m := r.ds.Manifest
	switch {
	case strings.HasPrefix(ref, "scratch:"):
		mc, err := model.NamedConfig(strings.TrimPrefix(ref, "scratch:"))
		if err != nil {
			return fmt.Errorf("base %s: %w", ref, err)
		}
		tok, err := tokenizer.LoadDir(r.ds.TokenizerPath())
		if err != nil {
			return fmt.Errorf("base %s: the dataset's tokenizer: %w", ref, err)
		}
		mc.VocabSize = tok.VocabSize()
		mc.BOSTokenID, mc.EOSTokenID = tok.EOT(), tok.EOT()
		// A model trained from scratch knows only the positions it was
		// trained on: its context is the run's sequence length, so
		// generation never feeds it positions whose embeddings are still
		// random.
		if r.cfg.SeqLen < mc.NPositions {
			mc.NPositions = r.cfg.SeqLen
		}
		if r.base, err = model.New(mc, tok, r.cfg.Seed); err != nil {
			return fmt.Errorf("base %s: %w", ref, err)
		}
		r.ref = ref
	case strings.HasPrefix(ref, "models:/"):
		cache := r.opt.CacheDir
		if cache == "" {
			dir, err := os.UserCacheDir()
			if err != nil {
				return fmt.Errorf("base %s: no cache directory for the download: %w", ref, err)
			}
			cache = filepath.Join(dir, "nebras", "models")
		}
		dir, mv, err := tracking.DownloadModel(ctx, r.store, ref, cache)
		if err != nil {
			return fmt.Errorf("base %s: %w", ref, err)
		}
		if r.base, err = model.Load(dir); err != nil {
			return fmt.Errorf("base %s (version %s): %w", ref, mv.Version, err)
		}
		r.ref = fmt.Sprintf("%s (version %s)", ref, mv.Version)
	default:
		var err error
		if r.base, err = model.Open(ctx, ref); err != nil {
			return fmt.Errorf("base: %w", err)
		}
		r.ref = ref
	}
	if r.base.Tokenizer == nil {
		return fmt.Errorf("base %s has no tokenizer files (vocab.json, merges.txt); training needs them to check the data's ids", ref)
	}
	if got, want := r.base.Tokenizer.Hash(), m.Tokenizer.Hash; got != want {
		return fmt.Errorf("dataset %s was tokenized with %s (%s) but base %s uses another tokenizer (%s); prepare the data with the model's tokenizer", r.cfg.Data, m.Tokenizer.Spec, short(want), ref, short(got))
	}
	if r.cfg.SeqLen > r.base.Config.NPositions {
		return fmt.Errorf("seq_len %d is longer than base %s's context of %d positions", r.cfg.SeqLen, ref, r.base.Config.NPositions)
	}
	if _, ok := m.Splits["train"]; !ok || m.Splits["train"].Rows == 0 {
		return fmt.Errorf("dataset %s has no training examples", r.cfg.Data)
	}
	return nil
}

func short(hash string) string {
	if len(hash) > 19 {
		return hash[:19] + "…"
	}
	return hash
}

// setup builds the engine, the trainable buffer, the optimizer, the data
// loader and the schedule.
func (r *run) setup() error {
	cfg, mc := r.cfg, r.base.Config
	B, T := cfg.BatchSize, cfg.SeqLen
	eo := model.EngineOptions{B: B, T: T}
	var decay [][2]int
	if cfg.LoRA() {
		lc := model.LoRAConfig{Rank: cfg.LoRARank, Alpha: cfg.LoRAAlpha, Targets: cfg.LoRATargets}
		var err error
		if r.lora, err = model.NewLoRA(mc, lc); err != nil {
			return err
		}
		r.lora.Init(cfg.Seed)
		if r.loraGrads, err = model.NewLoRA(mc, lc); err != nil {
			return err
		}
		eo.LoRA, eo.LoRAGrads = r.lora, r.loraGrads
		r.trainable, r.gradBuf = r.lora.Data, r.loraGrads.Data
		decay = [][2]int{{0, len(r.lora.Data)}}
	} else {
		r.grads = model.NewParams(mc)
		eo.Grads = r.grads
		r.trainable, r.gradBuf = r.base.Params.Data, r.grads.Data
		decay = r.base.Params.DecayMask()
	}
	var err error
	if r.engine, err = model.NewEngine(r.cpu, r.base.Params, eo); err != nil {
		return err
	}
	ac := model.AdamWConfig{Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.AdamEps, WeightDecay: cfg.WeightDecay}
	if r.adam, err = model.NewAdamW(len(r.trainable), decay, ac); err != nil {
		return err
	}
	eot := int32(r.base.Tokenizer.EOT())
	if r.train, err = NewLoader(r.ds, LoaderOptions{Split: "train", B: B, T: T, Pack: cfg.Pack, Shuffle: true, Seed: cfg.Seed, Repeat: true, PadID: eot}); err != nil {
		return err
	}
	r.batches = make([]model.Batch, cfg.GradAccum)

	r.totalSteps = cfg.MaxSteps
	if r.totalSteps == 0 || cfg.Epochs > 0 {
		epochs := cfg.Epochs
		if epochs == 0 {
			epochs = 1
		}
		steps := int(math.Ceil(epochs * r.train.BatchesPerEpoch() / float64(cfg.GradAccum)))
		if r.totalSteps == 0 || steps < r.totalSteps {
			r.totalSteps = max(steps, 1)
		}
	}
	warm := cfg.WarmupSteps
	if warm < 0 {
		warm = min(100, r.totalSteps/20)
	}
	r.sched = Schedule{Kind: cfg.Schedule, Peak: cfg.LR, MinRatio: cfg.MinLRRatio, Warmup: warm, Total: r.totalSteps}
	r.st.ConfigHash, r.st.Threads = cfg.identity(), r.cpu.Threads()
	return nil
}

// trainableTensors names the trained tensors, as views of the live buffer.
func (r *run) trainableTensors() []model.Tensor {
	if r.lora != nil {
		return r.lora.Tensors()
	}
	return r.base.Params.Tensors()
}

// restore continues from the latest checkpoint on --resume, or writes the
// resolved config of a new run.
func (r *run) restore() error {
	if !r.opt.Resume {
		return atomicfile.WriteFile(filepath.Join(r.cfg.Out, ConfigName), r.cfg.YAML())
	}
	dir, err := pointedCheckpoint(r.cfg.Out, latestFile)
	if err != nil {
		return err
	}
	if dir == "" {
		// Killed before the first checkpoint: start over, same run dir.
		r.log.Warn("resume: no checkpoint yet; starting from the beginning", "out", r.cfg.Out)
		return nil
	}
	st, err := loadCheckpoint(dir, checkpoint{Trainable: r.trainableTensors(), M: r.adam.M, V: r.adam.V})
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if st.ConfigHash != r.cfg.identity() {
		return fmt.Errorf("resume: checkpoint %s was made with another config", filepath.Base(dir))
	}
	if st.Threads != r.cpu.Threads() {
		r.log.Warn("resume: another thread count than the run started with; the weights will not be bit-identical to an uninterrupted run",
			"was", st.Threads, "now", r.cpu.Threads())
	}
	if err := r.train.Seek(st.Data); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if st.Stopped == "early_stopping" || (st.Stopped != "" && st.Step >= r.totalSteps) {
		return fmt.Errorf("resume: the run in %s already finished (%s at step %d); raise --max-steps or --epochs to train further", r.cfg.Out, st.Stopped, st.Step)
	}
	st.Stopped = ""
	r.adam.Step = st.AdamStep
	st.Threads = r.cpu.Threads()
	r.st = st
	r.log.Info("resumed", "checkpoint", dir, "step", st.Step, "of", r.totalSteps)
	return nil
}

// startTracking starts (or, on resume, reopens) the MLflow run and logs
// what the run is: params, the dataset input, system info, the config.
func (r *run) startTracking(ctx context.Context) error {
	cfg := r.cfg
	if r.st.RunID != "" {
		if _, err := r.store.UpdateRun(ctx, r.st.RunID, tracking.RunRunning, 0, ""); err != nil {
			r.log.Warn("tracking: cannot reopen the run; logging goes on and is spilled if the server stays away", "run", r.st.RunID, "err", err)
		}
	} else {
		name := cfg.RunName
		if name == "" {
			name = defaultRunName(cfg)
		}
		run, err := tracking.StartRun(ctx, r.store, tracking.RunOptions{
			Experiment: cfg.Experiment, RunName: name, ParentRunID: cfg.ParentRunID, Source: "nebras train",
			Tags: append([]tracking.Tag{{Key: "nebras.stage", Value: "train"}}, kvTags(SystemInfo(r.cpu.Threads()))...),
		})
		if err != nil {
			return fmt.Errorf("tracking: %w", err)
		}
		r.st.RunID = run.Info.RunID
	}
	r.mlog = tracking.NewLogger(r.store, r.st.RunID, r.opt.Logger)
	r.mlog.LogParams(r.params()...)
	m := r.ds.Manifest
	schema := `{"columns": ["example_id", "conversation_id", "split", "turn_index", "input_ids", "target_start", "n_tokens", "context", "reply", "truncated"]}`
	abs, _ := filepath.Abs(cfg.Data)
	in := tracking.DatasetInput{
		Tags: []tracking.Tag{{Key: "mlflow.data.context", Value: "training"}},
		Dataset: tracking.Dataset{
			Name: filepath.Base(filepath.Clean(cfg.Data)), Digest: m.Digest(), SourceType: "local",
			Source: fmt.Sprintf(`{"uri": %q}`, abs), Schema: schema,
			Profile: fmt.Sprintf(`{"train_rows": %d, "train_tokens": %d, "val_rows": %d}`, m.Splits["train"].Rows, m.Splits["train"].Tokens, m.Splits["val"].Rows),
		},
	}
	if err := r.store.LogInputs(ctx, r.st.RunID, []tracking.DatasetInput{in}); err != nil {
		r.log.Warn("tracking: dataset input not logged", "err", err)
	}
	return nil
}

func defaultRunName(cfg Config) string {
	base := cfg.Base
	if i := strings.LastIndexAny(base, "/:"); i >= 0 && i < len(base)-1 {
		base = base[i+1:]
	}
	method := "full"
	if cfg.LoRA() {
		method = fmt.Sprintf("lora-r%d", cfg.LoRARank)
	}
	return fmt.Sprintf("%s-%s-lr%g", base, method, cfg.LR)
}

// params are the run's MLflow params: every config field, resolved, and
// what the run derived from them.
func (r *run) params() []tracking.Param {
	var ps []tracking.Param
	for _, line := range strings.Split(strings.TrimSpace(string(r.cfg.YAML())), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "-") {
			continue
		}
		ps = append(ps, tracking.Param{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	}
	for i, p := range ps {
		if p.Key == "lora_targets" {
			ps[i].Value = strings.Join(r.cfg.LoRATargets, ",")
		}
	}
	method := "full"
	if r.cfg.LoRA() {
		method = "lora"
	}
	mc := r.base.Config
	return append(ps,
		tracking.Param{Key: "base_resolved", Value: r.ref},
		tracking.Param{Key: "method", Value: method},
		tracking.Param{Key: "total_steps", Value: fmt.Sprint(r.totalSteps)},
		tracking.Param{Key: "warmup_steps_resolved", Value: fmt.Sprint(r.sched.Warmup)},
		tracking.Param{Key: "trainable_params", Value: fmt.Sprint(len(r.trainable))},
		tracking.Param{Key: "model_params", Value: fmt.Sprint(mc.NumParams())},
		tracking.Param{Key: "model_shape", Value: fmt.Sprintf("n_layer=%d n_head=%d n_embd=%d n_positions=%d vocab=%d", mc.NLayer, mc.NHead, mc.NEmbd, mc.NPositions, mc.VocabSize)},
		tracking.Param{Key: "dataset_digest", Value: r.ds.Manifest.Digest()},
		tracking.Param{Key: "tokenizer_hash", Value: r.ds.Manifest.Tokenizer.Hash},
	)
}

func kvTags(kvs []KV) []tracking.Tag {
	out := make([]tracking.Tag, len(kvs))
	for i, kv := range kvs {
		out[i] = tracking.Tag{Key: kv.Key, Value: kv.Value}
	}
	return out
}

// loop trains until the budget is spent, early stopping, or ctx ends.
func (r *run) loop(ctx context.Context) error {
	cfg := r.cfg
	var prog *Progress
	if r.opt.Progress != nil {
		prog = NewProgress(r.opt.Progress, r.log, r.totalSteps, ProgressOptions{Terminal: r.opt.Terminal})
		defer prog.Done()
	}
	var smooth float64
	for r.st.Step < r.totalSteps {
		if cfg.MaxMinutes > 0 && r.st.TrainSeconds >= cfg.MaxMinutes*60 {
			r.st.Stopped = "max_minutes"
			break
		}
		if ctx.Err() != nil {
			if err := r.checkpoint(false); err != nil {
				return err
			}
			return ErrInterrupted
		}
		t0 := time.Now()
		loss, tokens, gnorm, lr, err := r.step()
		if err != nil {
			return fmt.Errorf("step %d: %w", r.st.Step+1, err)
		}
		r.st.Step++
		t1 := time.Now()
		dt := t1.Sub(t0).Seconds()
		r.st.TrainSeconds += dt
		r.st.TokensSeen += int64(tokens)
		tps := float64(tokens) / dt
		if smooth == 0 {
			smooth = loss
		}
		smooth = 0.9*smooth + 0.1*loss
		r.mlog.LogMetrics(int64(r.st.Step), map[string]float64{
			"train_loss": loss, "learning_rate": lr, "grad_norm": gnorm, "tokens_per_second": tps,
		})
		r.hist.trainStep = append(r.hist.trainStep, float64(r.st.Step))
		r.hist.trainLoss = append(r.hist.trainLoss, loss)
		if prog != nil {
			prog.Step(r.st.Step, r.train.Epoch(), smooth, lr, tps)
		}
		r.timing.Other += time.Since(t1)

		evalNow := cfg.EvalEvery > 0 && r.st.Step%cfg.EvalEvery == 0 && r.st.Step < r.totalSteps
		if evalNow {
			stop, err := r.evaluate(ctx, prog)
			if err != nil {
				return err
			}
			if stop {
				r.st.Stopped = "early_stopping"
				break
			}
		} else if cfg.CheckpointEvery > 0 && r.st.Step%cfg.CheckpointEvery == 0 {
			if err := r.checkpoint(false); err != nil {
				return err
			}
		}
	}
	if r.st.Stopped == "" {
		r.st.Stopped = "max_steps"
		if cfg.MaxSteps == 0 || r.totalSteps < cfg.MaxSteps {
			r.st.Stopped = "epochs"
		}
	}
	// The last evaluation, unless early stopping just made it.
	if r.st.Stopped != "early_stopping" {
		if _, err := r.evaluate(ctx, prog); err != nil {
			return err
		}
	}
	return nil
}

// step runs one optimizer step over GradAccum micro-batches and returns the
// mean loss, tokens processed, the gradient norm before clipping, and the
// learning rate used.
func (r *run) step() (loss float64, tokens int, gnorm, lr float64, err error) {
	t0 := time.Now()
	var weight float64
	for i := range r.batches {
		b := &r.batches[i]
		if err := r.train.Next(context.Background(), b); err != nil {
			return 0, 0, 0, 0, fmt.Errorf("data: %w", err)
		}
		weight += batchWeight(b)
		tokens += b.B * b.T
	}
	t1 := time.Now()
	r.timing.Data += t1.Sub(t0)
	clear(r.gradBuf)
	var sum float64
	scale := float32(0)
	if weight > 0 {
		scale = float32(1 / weight)
	}
	for i := range r.batches {
		l, err := r.engine.Forward(r.batches[i])
		if err != nil {
			return 0, 0, 0, 0, err
		}
		sum += l.Sum
		if err := r.engine.Backward(scale); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	t2 := time.Now()
	r.timing.Model += t2.Sub(t1)
	if r.cfg.GradClip > 0 {
		gnorm = r.adam.ClipGradNorm(r.cpu, r.gradBuf, r.cfg.GradClip)
	} else {
		gnorm = r.adam.GradNorm(r.cpu, r.gradBuf)
	}
	if math.IsNaN(gnorm) || math.IsInf(gnorm, 0) {
		return 0, 0, 0, 0, fmt.Errorf("gradient norm is %g: the run diverged (lower --lr?)", gnorm)
	}
	lr = r.sched.LR(r.st.Step)
	if err := r.adam.Update(r.cpu, r.trainable, r.gradBuf, lr); err != nil {
		return 0, 0, 0, 0, err
	}
	r.st.AdamStep = r.adam.Step
	r.st.TargetTokens += int64(weight)
	r.timing.Optimizer += time.Since(t2)
	if weight > 0 {
		loss = sum / weight
	}
	return loss, tokens, gnorm, lr, nil
}

// batchWeight is the batch's total loss weight.
func batchWeight(b *model.Batch) float64 {
	var w float64
	for i, t := range b.Targets[:b.B*b.T] {
		if t < 0 {
			continue
		}
		if b.Weights == nil {
			w++
		} else {
			w += float64(b.Weights[i])
		}
	}
	return w
}

// evaluate measures the val loss, logs it, keeps the best checkpoint and
// reports whether early stopping says to stop.
func (r *run) evaluate(ctx context.Context, prog *Progress) (bool, error) {
	if r.ds.Manifest.Splits["val"].Rows == 0 {
		return false, r.checkpoint(false)
	}
	t0 := time.Now()
	loss, n, err := r.valLoss(ctx)
	r.timing.Eval += time.Since(t0)
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, r.checkpoint(false)
	}
	r.st.LastValLoss = loss
	r.mlog.LogMetrics(int64(r.st.Step), map[string]float64{"val_loss": loss, "val_perplexity": math.Exp(loss)})
	r.hist.valStep = append(r.hist.valStep, float64(r.st.Step))
	r.hist.valLoss = append(r.hist.valLoss, loss)
	if prog != nil {
		prog.Eval(r.st.Step, loss)
	} else {
		r.log.Info("eval", "step", r.st.Step, "val_loss", loss, "val_perplexity", math.Exp(loss))
	}
	best := r.st.BestStep == 0 || loss < r.st.BestValLoss
	if best {
		r.st.BestValLoss, r.st.BestStep, r.st.EvalsNoBetter = loss, r.st.Step, 0
	} else {
		r.st.EvalsNoBetter++
	}
	if err := r.checkpoint(best); err != nil {
		return false, err
	}
	return r.cfg.Patience > 0 && r.st.EvalsNoBetter >= r.cfg.Patience, nil
}

// valLoss is the token-weighted mean loss over (up to EvalBatches batches
// of) the val split, in a fixed order, and the weight it rests on.
func (r *run) valLoss(ctx context.Context) (float64, float64, error) {
	l, err := evalLoss(ctx, r.engine, r.ds, "val", r.cfg.BatchSize, r.cfg.SeqLen, r.cfg.Pack, int32(r.base.Tokenizer.EOT()), r.cfg.EvalBatches)
	if err != nil {
		return 0, 0, fmt.Errorf("eval: %w", err)
	}
	return l.Mean(), l.Weight, nil
}

// EvalLoss scores a model on a split of a dataset: the summed loss over
// the reply tokens (the training loss mask) and the weight it rests on,
// in the split's stored order, over at most maxBatches batches of B×T
// (0: the whole split). exp(Mean()) is the split's perplexity.
func EvalLoss(ctx context.Context, cpu *kernels.CPU, m *model.Model, ds *dataset.Dataset, split string, B, T int, pack bool, maxBatches int) (model.Loss, error) {
	if m.Tokenizer == nil {
		return model.Loss{}, errors.New("eval: the model has no tokenizer")
	}
	e, err := model.NewEngine(cpu, m.Params, model.EngineOptions{B: B, T: T})
	if err != nil {
		return model.Loss{}, err
	}
	return evalLoss(ctx, e, ds, split, B, T, pack, int32(m.Tokenizer.EOT()), maxBatches)
}

func evalLoss(ctx context.Context, e *model.Engine, ds *dataset.Dataset, split string, B, T int, pack bool, pad int32, maxBatches int) (model.Loss, error) {
	ld, err := NewLoader(ds, LoaderOptions{Split: split, B: B, T: T, Pack: pack, PadID: pad})
	if err != nil {
		return model.Loss{}, err
	}
	defer ld.Close()
	var total model.Loss
	var b model.Batch
	for n := 0; maxBatches == 0 || n < maxBatches; n++ {
		if err := ld.Next(ctx, &b); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return total, err
		}
		l, err := e.Forward(b)
		if err != nil {
			return total, err
		}
		total.Sum += l.Sum
		total.Weight += l.Weight
	}
	return total, nil
}

func (r *run) checkpoint(best bool) error {
	t0 := time.Now()
	defer func() { r.timing.Checkpoint += time.Since(t0); r.timing.Checkpoints++ }()
	r.st.Data = r.train.Position()
	_, err := saveCheckpoint(r.cfg.Out, checkpoint{State: r.st, Trainable: r.trainableTensors(), M: r.adam.M, V: r.adam.V}, best)
	return err
}

// finish exports the model (the best checkpoint's weights when there were
// evaluations), writes the card and the loss plot, logs the artifacts and
// registers a new model version.
func (r *run) finish(ctx context.Context) (*Result, error) {
	res := &Result{
		RunID: r.st.RunID, TrackingURI: r.store.URI(), Steps: r.st.Step, Stopped: r.st.Stopped,
		BestStep: r.st.BestStep, Timing: r.timing,
	}
	if n := len(r.hist.trainLoss); n > 0 {
		res.TrainLoss = r.hist.trainLoss[n-1]
	}
	if r.st.TrainSeconds > 0 {
		res.TokensPerSecond = float64(r.st.TokensSeen) / r.st.TrainSeconds
	}
	if r.st.BestStep > 0 && r.st.BestStep != r.st.Step {
		dir, err := pointedCheckpoint(r.cfg.Out, bestFile)
		if err != nil {
			return nil, err
		}
		if _, err := loadCheckpoint(dir, checkpoint{Trainable: r.trainableTensors(), M: r.adam.M, V: r.adam.V}); err != nil {
			return nil, fmt.Errorf("restore the best checkpoint: %w", err)
		}
		r.log.Info("exporting the best checkpoint", "step", r.st.BestStep, "val_loss", r.st.BestValLoss)
	}
	if r.st.BestStep > 0 {
		res.ValLoss, res.ValPerplexity = r.st.BestValLoss, math.Exp(r.st.BestValLoss)
		if err := r.finalEval(ctx, res); err != nil {
			return nil, err
		}
	}

	out := r.cfg.Out
	res.ModelDir = filepath.Join(out, ModelDir)
	export := r.base
	if r.lora != nil {
		res.AdapterDir = filepath.Join(out, AdapterDir)
		if err := replaceDir(res.AdapterDir, func(dir string) error { return r.lora.Save(dir, r.cfg.Base) }); err != nil {
			return nil, fmt.Errorf("save adapters: %w", err)
		}
		merged := model.NewParams(r.base.Config)
		copy(merged.Data, r.base.Params.Data)
		r.lora.Merge(merged)
		export = &model.Model{Config: r.base.Config, Params: merged, Tokenizer: r.base.Tokenizer}
	}
	if err := replaceDir(res.ModelDir, export.Save); err != nil {
		return nil, err
	}
	if err := WriteCard(res.ModelDir, r.card(res)); err != nil {
		return nil, err
	}
	plotPath := filepath.Join(out, PlotName)
	if err := r.plot(plotPath); err != nil {
		r.log.Warn("loss plot not written", "err", err)
		plotPath = ""
	}
	r.mlog.LogMetrics(int64(r.st.Step), map[string]float64{
		"final_train_loss": res.TrainLoss, "time_model_seconds": r.timing.Model.Seconds(),
		"time_overhead_fraction": r.timing.Overhead(), "train_tokens_per_second": res.TokensPerSecond,
	})
	r.mlog.SetTags(tracking.Tag{Key: "nebras.stopped", Value: r.st.Stopped})
	if err := r.logArtifacts(ctx, res, plotPath); err != nil {
		return nil, err
	}
	if r.cfg.Register {
		if err := r.register(ctx, res); err != nil {
			return nil, err
		}
	}
	if run, err := r.store.GetRun(ctx, r.st.RunID); err == nil {
		res.ExperimentID = run.Info.ExperimentID
		if exp, err := r.store.GetExperiment(ctx, run.Info.ExperimentID); err == nil {
			res.ExperimentName = exp.Name
		}
	}
	return res, nil
}

// finalEval scores the exported weights on the whole val split (periodic
// evaluations may use a prefix of it) and computes the unigram baseline
// the model must beat, and logs both.
func (r *run) finalEval(ctx context.Context, res *Result) error {
	t0 := time.Now()
	defer func() { r.timing.Eval += time.Since(t0) }()
	mean, tokens := r.st.BestValLoss, -1.0
	if r.cfg.EvalBatches > 0 {
		l, err := evalLoss(ctx, r.engine, r.ds, "val", r.cfg.BatchSize, r.cfg.SeqLen, r.cfg.Pack, int32(r.base.Tokenizer.EOT()), 0)
		if err != nil {
			return fmt.Errorf("final eval: %w", err)
		}
		mean, tokens = l.Mean(), l.Weight
	}
	res.FullValLoss, res.FullValPerplexity = mean, math.Exp(mean)
	metrics := map[string]float64{"final_val_loss": mean, "final_val_perplexity": res.FullValPerplexity}
	if tokens >= 0 {
		metrics["final_val_tokens"] = tokens
	}
	if u, err := UnigramPerplexity(ctx, r.ds, r.base.Config.VocabSize); err == nil {
		res.UnigramPerplexity = u
		metrics["val_unigram_perplexity"] = u
	} else {
		r.log.Warn("unigram baseline not computed", "err", err)
	}
	r.mlog.LogMetrics(int64(r.st.Step), metrics)
	return nil
}

// replaceDir writes a directory with write into a temporary sibling and
// swaps it in, so a reader never sees half a model.
func replaceDir(dir string, write func(string) error) error {
	tmp := dir + ".tmp-new"
	os.RemoveAll(tmp)
	if err := write(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	old := dir + ".tmp-old"
	os.RemoveAll(old)
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

func (r *run) card(res *Result) Card {
	m := r.ds.Manifest
	abs, _ := filepath.Abs(r.cfg.Data)
	c := Card{
		ModelName: r.cfg.RegisterAs, Base: r.cfg.Base, BaseRef: r.ref,
		Dataset: CardDataset{Name: filepath.Base(filepath.Clean(r.cfg.Data)), Digest: m.Digest(), Path: abs, Rows: m.Splits["train"].Rows, Tokens: m.Splits["train"].Tokens},
		Method:  "full", RunID: r.st.RunID, TrackingURI: r.store.URI(), ExperimentName: r.cfg.Experiment,
		Created: time.Now().UTC(), Tokenizer: m.Tokenizer.Spec, ChatTemplate: m.ChatTemplate,
	}
	if r.lora != nil {
		c.Method = "lora"
		c.LoRA = &CardLoRA{Rank: r.cfg.LoRARank, Alpha: r.cfg.LoRAAlpha, Targets: r.cfg.LoRATargets}
	}
	for _, p := range r.params() {
		c.Hyper = append(c.Hyper, KV{Key: p.Key, Value: p.Value})
	}
	c.Metrics = []KV{
		{Key: "steps", Value: fmt.Sprint(res.Steps)},
		{Key: "stopped", Value: res.Stopped},
		{Key: "final_train_loss", Value: fmt.Sprintf("%.4f", res.TrainLoss)},
	}
	if res.BestStep > 0 {
		c.Metrics = append(c.Metrics,
			KV{Key: "val_loss", Value: fmt.Sprintf("%.4f (step %d)", res.ValLoss, res.BestStep)},
			KV{Key: "val_perplexity", Value: fmt.Sprintf("%.2f", res.ValPerplexity)})
	}
	return c
}

// plot draws the train and val loss curves of this session (and of
// earlier sessions when the tracking store has them).
func (r *run) plot(path string) error {
	train := plot.Series{Label: "train_loss", Steps: r.hist.trainStep, Values: r.hist.trainLoss}
	val := plot.Series{Label: "val_loss", Steps: r.hist.valStep, Values: r.hist.valLoss}
	if r.opt.Resume {
		// Flushed so far: the whole history, earlier sessions included.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if r.mlog.Flush(ctx) == nil {
			if s, err := plot.RunSeries(ctx, r.store, []string{r.st.RunID}, "train_loss"); err == nil && len(s) == 1 {
				train.Steps, train.Values = s[0].Steps, s[0].Values
			}
			if s, err := plot.RunSeries(ctx, r.store, []string{r.st.RunID}, "val_loss"); err == nil && len(s) == 1 {
				val.Steps, val.Values = s[0].Steps, s[0].Values
			}
		}
	}
	series := []plot.Series{train}
	if len(val.Steps) > 0 {
		series = append(series, val)
	}
	return plot.Write(path, series, plot.Options{Title: "loss", XLabel: "step", YLabel: "loss"})
}

// logArtifacts uploads the model (or a pointer to it when it is larger
// than artifact_max_mb), the adapters, the config and the plot.
func (r *run) logArtifacts(ctx context.Context, res *Result, plotPath string) error {
	run, err := r.store.GetRun(ctx, r.st.RunID)
	if err != nil {
		r.log.Warn("tracking: artifacts not logged", "err", err)
		return nil
	}
	repo, err := r.store.Artifacts(ctx, run.Info.ArtifactURI)
	if err != nil {
		r.log.Warn("tracking: artifacts not logged", "err", err)
		return nil
	}
	size, err := dirSize(res.ModelDir)
	if err != nil {
		return err
	}
	if r.cfg.ArtifactMaxMB > 0 && size > int64(r.cfg.ArtifactMaxMB)<<20 {
		tmp, err := os.MkdirTemp("", "nebras-pointer-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		ptrDir := filepath.Join(tmp, ModelDir)
		if err := os.Mkdir(ptrDir, 0o755); err != nil {
			return err
		}
		abs, _ := filepath.Abs(res.ModelDir)
		if _, err := tracking.WriteModelPointer(ptrDir, abs); err != nil {
			return err
		}
		r.log.Info("model larger than artifact_max_mb: logging a pointer with sha256s", "mb", size>>20, "path", abs)
		err = repo.LogArtifact(ctx, ptrDir, "")
		if err != nil {
			return fmt.Errorf("log model pointer: %w", err)
		}
	} else if err := repo.LogArtifact(ctx, res.ModelDir, ""); err != nil {
		return fmt.Errorf("log model: %w", err)
	}
	if res.AdapterDir != "" {
		if err := repo.LogArtifact(ctx, res.AdapterDir, ""); err != nil {
			return fmt.Errorf("log adapters: %w", err)
		}
	}
	if err := repo.LogArtifact(ctx, filepath.Join(r.cfg.Out, ConfigName), ""); err != nil {
		return fmt.Errorf("log config: %w", err)
	}
	if plotPath != "" {
		if err := repo.LogArtifact(ctx, plotPath, ""); err != nil {
			return fmt.Errorf("log plot: %w", err)
		}
	}
	return nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// register adds the model as a new version of RegisterAs, the run as its
// source. Aliases are promotion's business, not training's.
func (r *run) register(ctx context.Context, res *Result) error {
	name := r.cfg.RegisterAs
	if _, err := r.store.GetRegisteredModel(ctx, name); errors.Is(err, tracking.ErrNotFound) {
		if _, err := r.store.CreateRegisteredModel(ctx, name, "Nebras support assistant (GPT-2 fine-tuned on help-desk tickets)", nil); err != nil && !errors.Is(err, tracking.ErrAlreadyExists) {
			return fmt.Errorf("register %s: %w", name, err)
		}
	} else if err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	run, err := r.store.GetRun(ctx, r.st.RunID)
	if err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	mv, err := r.store.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{
		Name: name, Source: strings.TrimRight(run.Info.ArtifactURI, "/") + "/" + ModelDir, RunID: r.st.RunID,
		Description: fmt.Sprintf("%s trained on %s@%s", r.cfg.Base, filepath.Base(filepath.Clean(r.cfg.Data)), r.ds.Manifest.Digest()),
	})
	if err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	res.RegisteredModel, res.Version = name, mv.Version
	return nil
}
