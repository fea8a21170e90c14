// Package orchestrate runs the whole pipeline, tickets → prepare → train
// → eval → (gate) → promote, as one MLflow parent run with a child run
// per stage, and skips stages whose inputs and settings are unchanged,
// the way a build cache skips an unchanged target.
//
// Each stage's key hashes the stage's name, its resolved settings and
// the identity of its inputs: the ticket files' contents, the dataset's
// digest, the registered model version and so on. The stage works in
// WORK/STAGE/KEY/ and writes record.json there last, atomically; a stage
// whose directory holds a record for its key (and whose outputs are still
// there) is skipped. A directory without a record is the remains of a
// failed or killed run: the next run clears it and does the stage again,
// so nothing half-written is ever taken for a result.
//
// A candidate the gate does not bless is a normal outcome, not a
// failure: Run returns no error, and the Summary (and last-run.json)
// says so.
package orchestrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/nebras-ai/nebras/eval"
	"github.com/nebras-ai/nebras/eval/promote"
	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/pipelines"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/training"
	"github.com/nebras-ai/nebras/transforms/synth"
)

// Stage names, in the order they run.
const (
	StageTickets = "tickets"
	StagePrepare = "prepare"
	StageTrain   = "train"
	StageEval    = "eval"
	StagePromote = "promote"
)

// Stages lists the stages in order.
func Stages() []string {
	return []string{StageTickets, StagePrepare, StageTrain, StageEval, StagePromote}
}

// LastRunFile is the machine-readable summary of the latest run, in the
// work directory.
const LastRunFile = "last-run.json"

// Promotion outcomes, as Record.Promotion and Summary.Promotion say them.
const (
	Promoted            = "promoted"
	AlreadyInProduction = "already in production"
	NotBlessed          = "not blessed"
	PromotionDisabled   = "disabled"
)

// StageError is a stage's failure; its message names the stage.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return "stage " + e.Stage + ": " + e.Err.Error() }

// Unwrap returns the stage's error.
func (e *StageError) Unwrap() error { return e.Err }

// Options connect a run to the outside; they do not change what is
// computed.
type Options struct {
	Log *slog.Logger
	// Progress receives training's progress display; nil for none.
	Progress io.Writer
	Terminal bool // Progress is a terminal
	// Force lists stages to run even when their key has a record; "all"
	// forces every stage.
	Force []string
	// Store is the tracking store; nil opens the one the config (or the
	// environment) names.
	Store tracking.Store
	// CacheDir holds models downloaded from the registry (default: the
	// user cache directory).
	CacheDir string
	// BeforeRecord, when set, is called after a stage did its work and
	// before its record is written; an error fails the stage there, as a
	// crash would (tests inject faults with it).
	BeforeRecord func(stage, dir string) error
	// EvalDataset, when set, is a prepared dataset directory the eval
	// stage evaluates on instead of the one prepare made (its digest
	// replaces prepare's in the eval key): `nebras retrain` keeps one
	// held-out set across cycles so that decisions stay comparable.
	EvalDataset string
}

// CheckForce reports the first name in force that is not a stage or
// "all".
func CheckForce(force []string) error {
	for _, f := range force {
		if f != "all" && !slices.Contains(Stages(), f) {
			return fmt.Errorf("--force %q: want one of %s or all", f, strings.Join(Stages(), ", "))
		}
	}
	return nil
}

// runner is one pipeline run in progress.
type runner struct {
	cfg     *Config
	opt     Options
	log     *slog.Logger
	store   tracking.Store
	work    string // absolute work directory
	parent  string // the pipeline's MLflow run
	sum     *Summary
	records map[string]*Record
}

// Run runs the pipeline to its end, or to the first stage that fails
// (a *StageError). The Summary is returned in both cases, and written to
// WORK/last-run.json.
func Run(ctx context.Context, cfg *Config, opt Options) (*Summary, error) {
	if err := CheckForce(opt.Force); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	work, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("work_dir: %w", err)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("work_dir: %w", err)
	}
	unlock, err := lockWork(filepath.Join(work, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("work_dir %s: %w", work, err)
	}
	defer unlock()
	// A run that fails before its summary is written must not leave the
	// previous run's decision behind for CI to read.
	if err := os.Remove(filepath.Join(work, LastRunFile)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("work_dir: %w", err)
	}
	r := &runner{cfg: cfg, opt: opt, log: opt.Log, work: work, records: map[string]*Record{}}
	r.store = opt.Store
	if r.store == nil {
		tc, err := tracking.ConfigFromEnv()
		if err != nil {
			return nil, err
		}
		if cfg.Tracking.URI != "" {
			tc.TrackingURI = cfg.Tracking.URI
		}
		if r.store, err = tracking.Open(tc); err != nil {
			return nil, fmt.Errorf("tracking: %w", err)
		}
		defer r.store.Close()
	}
	if cfg.Tracking.Experiment == "" {
		cfg.Tracking.Experiment = os.Getenv("MLFLOW_EXPERIMENT_NAME")
	}
	r.sum = &Summary{
		Started: time.Now().UTC(), Config: cfg.Source, WorkDir: work,
		TrackingURI: r.store.URI(), Experiment: orDefault(cfg.Tracking.Experiment, tracking.DefaultExperimentName),
		RegisteredModel: cfg.Promote.Model, Alias: cfg.Promote.Alias,
	}
	err = r.run(ctx)
	r.finish(ctx, err)
	return r.sum, err
}

func (r *runner) run(ctx context.Context) error {
	run, err := tracking.StartRun(ctx, r.store, tracking.RunOptions{
		Experiment: r.cfg.Tracking.Experiment, RunName: "nebras-run", Source: "nebras run",
		Tags: []tracking.Tag{{Key: "nebras.stage", Value: "pipeline"}},
	})
	if err != nil {
		return fmt.Errorf("tracking: %w", err)
	}
	r.parent = run.Info.RunID
	r.sum.ParentRunID = r.parent
	r.logConfig(ctx, run)
	type step struct {
		name string
		do   func(context.Context, string) (*stageResult, error)
	}
	steps := []step{
		{StageTickets, r.tickets}, {StagePrepare, r.prepare}, {StageTrain, r.train},
		{StageEval, r.eval}, {StagePromote, r.promote},
	}
	for _, s := range steps {
		if s.name == StageTickets && r.cfg.Data.Synthetic == nil {
			r.sum.Stages = append(r.sum.Stages, StageSummary{Name: s.name, Status: StatusNotNeeded})
			continue
		}
		if err := r.stage(ctx, s.name, s.do); err != nil {
			return err
		}
	}
	return nil
}

// logConfig logs the resolved config to the parent run; tracking
// failures here only warn.
func (r *runner) logConfig(ctx context.Context, run *tracking.Run) {
	params := []tracking.Param{
		{Key: "config", Value: r.cfg.Source}, {Key: "work_dir", Value: r.work},
		{Key: "force", Value: strings.Join(r.opt.Force, ",")},
	}
	if err := r.store.LogBatch(ctx, run.Info.RunID, nil, params, nil); err != nil {
		r.log.Warn("tracking: pipeline params not logged", "err", err)
	}
	path := filepath.Join(r.work, "pipeline.yaml")
	if err := atomicfile.WriteFile(path, r.cfg.YAML()); err != nil {
		r.log.Warn("resolved config not written", "err", err)
		return
	}
	repo, err := r.store.Artifacts(ctx, run.Info.ArtifactURI)
	if err == nil {
		err = repo.LogArtifact(ctx, path, "")
	}
	if err != nil {
		r.log.Warn("tracking: pipeline.yaml not logged", "err", err)
	}
}

// stageResult is what a stage function returns: its key's inputs first
// (the key decides whether it runs at all), then, through work, its
// record.
type stageResult struct {
	inputs any
	// valid checks a cached record's outputs are still there.
	valid func(context.Context, *Record) error
	// work does the stage in dir and fills rec.
	work func(ctx context.Context, dir string, rec *Record) error
	// ownRun is true when work makes the stage's MLflow run itself
	// (train and eval) and sets rec.RunID.
	ownRun bool
}

func (r *runner) forced(stage string) bool {
	return slices.Contains(r.opt.Force, stage) || slices.Contains(r.opt.Force, "all")
}

// stage runs one stage through the cache.
func (r *runner) stage(ctx context.Context, name string, plan func(context.Context, string) (*stageResult, error)) (err error) {
	start := time.Now()
	ss := StageSummary{Name: name, Status: StatusFailed}
	defer func() {
		ss.Seconds = time.Since(start).Seconds()
		if err != nil {
			err = &StageError{Stage: name, Err: err}
			ss.Error = err.Error()
			r.sum.FailedStage = name
		}
		r.sum.Stages = append(r.sum.Stages, ss)
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	sr, err := plan(ctx, name)
	if err != nil {
		return err
	}
	key, err := stageKey(name, sr.inputs)
	if err != nil {
		return err
	}
	ss.Key = key
	dir := filepath.Join(r.work, name, key[:keyDirLen])
	if !r.forced(name) {
		rec, ok, err := readRecord(dir, key)
		if err != nil {
			return err
		}
		if ok {
			verr := sr.valid(ctx, rec)
			if verr == nil {
				r.log.Info("stage skipped (cached)", "stage", name, "key", key[:12])
				ss.Status, ss.RunID = StatusSkipped, rec.RunID
				r.records[name] = rec
				r.cachedRun(ctx, name, rec)
				return nil
			}
			r.log.Warn("cached stage output is gone; running the stage again", "stage", name, "err", verr)
		}
	}
	// Whatever is in dir (a forced stage's old output, a killed run's
	// partial one) goes: the record, first.
	if err := os.Remove(filepath.Join(dir, RecordFile)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.log.Info("stage running", "stage", name, "key", key[:12], "dir", dir)
	rec := &Record{Stage: name, Key: key, Inputs: sr.inputs}
	var child *tracking.Run
	if !sr.ownRun {
		if child, err = r.childRun(ctx, name, key); err != nil {
			return err
		}
	}
	werr := sr.work(ctx, dir, rec)
	if werr == nil && r.opt.BeforeRecord != nil {
		werr = r.opt.BeforeRecord(name, dir)
	}
	if child != nil {
		rec.RunID = child.Info.RunID
		r.endRun(ctx, rec.RunID, werr)
	}
	ss.RunID = rec.RunID
	if werr != nil {
		return werr
	}
	rec.Created = time.Now().UTC()
	rec.Seconds = time.Since(start).Seconds()
	if err := writeRecord(dir, rec); err != nil {
		return err
	}
	ss.Status = StatusRan
	r.records[name] = rec
	return nil
}

// childRun starts a stage's MLflow run under the pipeline's.
func (r *runner) childRun(ctx context.Context, stage, key string) (*tracking.Run, error) {
	run, err := tracking.StartRun(ctx, r.store, tracking.RunOptions{
		Experiment: r.cfg.Tracking.Experiment, RunName: stage, ParentRunID: r.parent, Source: "nebras run",
		Tags: []tracking.Tag{{Key: "nebras.stage", Value: stage}, {Key: "nebras.key", Value: key}},
	})
	if err != nil {
		return nil, fmt.Errorf("tracking: %w", err)
	}
	return run, nil
}

// cachedRun records a skipped stage as a child run that points at the
// run that made the output.
func (r *runner) cachedRun(ctx context.Context, stage string, rec *Record) {
	run, err := tracking.StartRun(ctx, r.store, tracking.RunOptions{
		Experiment: r.cfg.Tracking.Experiment, RunName: stage + " (cached)", ParentRunID: r.parent, Source: "nebras run",
		Tags: []tracking.Tag{{Key: "nebras.stage", Value: stage}, {Key: "nebras.key", Value: rec.Key},
			{Key: "nebras.cached", Value: "true"}, {Key: "nebras.cached_run_id", Value: rec.RunID}},
	})
	if err != nil {
		r.log.Warn("tracking: skipped stage not logged", "stage", stage, "err", err)
		return
	}
	r.endRun(ctx, run.Info.RunID, nil)
}

func (r *runner) endRun(ctx context.Context, id string, err error) {
	status := tracking.RunFinished
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, training.ErrInterrupted):
		status = tracking.RunKilled
	case err != nil:
		status = tracking.RunFailed
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, uerr := r.store.UpdateRun(cctx, id, status, time.Now().UnixMilli(), ""); uerr != nil {
		r.log.Warn("tracking: run end not logged", "run", id, "err", uerr)
	}
}

// rel makes a path in the work directory relative to it.
func (r *runner) rel(p string) string {
	if rp, err := filepath.Rel(r.work, p); err == nil && !strings.HasPrefix(rp, "..") {
		return filepath.ToSlash(rp)
	}
	return p
}

// abs resolves a record's path.
func (r *runner) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.work, filepath.FromSlash(p))
}

// tickets generates synthetic tickets.
func (r *runner) tickets(context.Context, string) (*stageResult, error) {
	s := *r.cfg.Data.Synthetic
	o := synth.DefaultOptions()
	o.N, o.Seed = s.N, s.Seed
	return &stageResult{
		inputs: map[string]any{"synthetic": o},
		valid: func(_ context.Context, rec *Record) error {
			sum, err := hashFile(r.abs(rec.Tickets))
			if err == nil && sum != rec.TicketsSHA256 {
				err = fmt.Errorf("%s changed since it was generated", rec.Tickets)
			}
			return err
		},
		work: func(_ context.Context, dir string, rec *Record) error {
			path := filepath.Join(dir, "tickets.jsonl")
			var rep synth.Report
			err := atomicfile.Write(path, func(w io.Writer) error {
				var gerr error
				rep, gerr = synth.Generate(w, o)
				return gerr
			})
			if err != nil {
				return err
			}
			sum, err := hashFile(path)
			if err != nil {
				return err
			}
			rec.Tickets, rec.TicketsSHA256, rec.Conversations = r.rel(path), sum, rep.Conversations
			return nil
		},
	}, nil
}

// inputFile is a ticket file as the prepare key sees it.
type inputFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// prepare runs the data pipeline.
func (r *runner) prepare(ctx context.Context, _ string) (*stageResult, error) {
	var patterns []string
	if rec := r.records[StageTickets]; rec != nil {
		patterns = []string{r.abs(rec.Tickets)}
	} else {
		patterns = r.cfg.Data.Inputs
	}
	files, err := hashInputs(ctx, patterns)
	if err != nil {
		return nil, err
	}
	o := r.cfg.prepareOptions(nil, "")
	tok := o.Tokenizer
	if tok != "gpt2" {
		if tok, err = hashDir(o.Tokenizer); err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", o.Tokenizer, err)
		}
	}
	hashes := make([]string, len(files))
	paths := make([]string, len(files))
	for i, f := range files {
		hashes[i], paths[i] = f.SHA256, f.Path
	}
	opts := o
	opts.Runner = "" // every runner writes the same dataset
	return &stageResult{
		inputs: map[string]any{"options": opts, "tokenizer": tok, "inputs": hashes},
		valid: func(_ context.Context, rec *Record) error {
			ds, err := dataset.Open(r.abs(rec.Dataset))
			if err == nil && ds.Manifest.Digest() != rec.DatasetDigest {
				err = fmt.Errorf("dataset %s changed", rec.Dataset)
			}
			return err
		},
		work: func(ctx context.Context, dir string, rec *Record) error {
			po := r.cfg.prepareOptions(paths, filepath.Join(dir, "dataset"))
			res, err := pipelines.Run(ctx, po, r.log)
			if err != nil {
				return err
			}
			rec.Dataset, rec.DatasetDigest = r.rel(res.Dir), res.Manifest.Digest()
			rec.Examples = map[string]int64{}
			for name, s := range res.Manifest.Splits {
				rec.Examples[name] = s.Rows
			}
			return nil
		},
	}, nil
}

// hashInputs expands the input patterns (as prepare does) and hashes
// each file's contents.
func hashInputs(ctx context.Context, patterns []string) ([]inputFile, error) {
	seen := map[string]bool{}
	var paths []string
	for _, pattern := range patterns {
		fs, err := filesystem.New(ctx, pattern)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", pattern, err)
		}
		matches := []string{pattern}
		if strings.ContainsAny(pattern, "*?[") {
			matches, err = fs.List(ctx, pattern)
		}
		fs.Close()
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", pattern, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("input %s matches no files", pattern)
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				paths = append(paths, m)
			}
		}
	}
	slices.Sort(paths)
	out := make([]inputFile, len(paths))
	for i, p := range paths {
		sum, err := hashRemote(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		out[i] = inputFile{Path: p, SHA256: sum}
	}
	return out, nil
}

func hashRemote(ctx context.Context, path string) (string, error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return "", err
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, path)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// train fine-tunes and registers a model version; the training run is
// the stage's child run.
func (r *runner) train(ctx context.Context, _ string) (*stageResult, error) {
	prep := r.records[StagePrepare]
	tc := r.cfg.Train
	tc.Data = r.abs(prep.Dataset)
	tc.TrackingURI, tc.Experiment, tc.ParentRunID = r.cfg.Tracking.URI, r.cfg.Tracking.Experiment, r.parent
	tc.Register, tc.RegisterAs = true, r.cfg.Promote.Model
	keyed := tc
	keyed.Data, keyed.TrackingURI, keyed.Experiment, keyed.ParentRunID, keyed.RunName = "", "", "", "", ""
	// A registry alias is a moving target: the key holds the version it
	// points at now.
	// Train what the key names, even if the alias moves meanwhile.
	pinned, err := tracking.PinModelURI(ctx, r.store, tc.Base)
	if err != nil {
		return nil, fmt.Errorf("base %w", err)
	}
	keyed.Base, tc.Base = pinned, pinned
	return &stageResult{
		inputs: map[string]any{"config": string(keyed.YAML()), "dataset": prep.DatasetDigest},
		ownRun: true,
		valid: func(ctx context.Context, rec *Record) error {
			_, err := r.store.GetModelVersion(ctx, rec.RegisteredModel, rec.Version)
			return err
		},
		work: func(ctx context.Context, dir string, rec *Record) error {
			tc.Out = dir
			res, err := training.Train(ctx, tc, training.Options{
				Log: r.log, Progress: r.opt.Progress, Terminal: r.opt.Terminal, Store: r.store, CacheDir: r.opt.CacheDir,
			})
			if res != nil {
				rec.RunID = res.RunID
			}
			if errors.Is(err, training.ErrInterrupted) {
				// The pipeline does not resume: its next run trains again.
				return fmt.Errorf("interrupted; the next nebras run trains again: %w", context.Canceled)
			}
			if err != nil {
				return err
			}
			if res.Version == "" {
				return errors.New("training registered no model version")
			}
			if err := r.store.SetTag(ctx, res.RunID, "nebras.key", rec.Key); err != nil {
				r.log.Warn("tracking: key tag not set", "err", err)
			}
			// Checkpoints only serve --resume, which the pipeline never
			// does (a failed stage starts over): the cache keeps the model.
			if err := os.RemoveAll(filepath.Join(dir, "checkpoints")); err != nil {
				r.log.Warn("checkpoints not removed", "err", err)
			}
			rec.RunID, rec.RegisteredModel, rec.Version = res.RunID, res.RegisteredModel, res.Version
			rec.ModelDir, rec.Steps, rec.ValPerplexity = r.rel(res.ModelDir), res.Steps, res.FullValPerplexity
			return nil
		},
	}, nil
}

// eval evaluates the trained version and applies the gate; the
// evaluation's run is the stage's child run.
func (r *runner) eval(ctx context.Context, _ string) (*stageResult, error) {
	prep, tr := r.records[StagePrepare], r.records[StageTrain]
	candidate := "models:/" + tr.RegisteredModel + "/" + tr.Version
	data, digest := r.abs(prep.Dataset), prep.DatasetDigest
	if r.opt.EvalDataset != "" {
		ds, err := dataset.Open(r.opt.EvalDataset)
		if err != nil {
			return nil, fmt.Errorf("eval dataset: %w", err)
		}
		if data, err = filepath.Abs(ds.Dir); err != nil {
			return nil, fmt.Errorf("eval dataset: %w", err)
		}
		digest = ds.Manifest.Digest()
	}
	g := r.cfg.Eval.Gate
	gateID := "default"
	switch {
	case g.Rules != nil:
		gateID = string(g.YAML)
	case g.File != "":
		sum, err := hashFile(g.File)
		if err != nil {
			return nil, fmt.Errorf("gate: %w", err)
		}
		gateID = "file " + sum
	}
	keyed := r.cfg.Eval
	keyed.Gate = Gate{}
	return &stageResult{
		// The default baseline is the alias promotion moves: a pipeline
		// promoting to "live" must be gated against "live".
		inputs: map[string]any{"config": keyed, "gate": gateID, "dataset": digest, "candidate": candidate,
			"baseline_alias": r.cfg.Promote.Alias},
		ownRun: true,
		valid: func(_ context.Context, rec *Record) error {
			_, err := promote.ReadEvalResult(r.abs(rec.EvalJSON))
			return err
		},
		work: func(ctx context.Context, dir string, rec *Record) error {
			ec := r.cfg.evalConfig(candidate, data, dir)
			ec.CacheDir = r.opt.CacheDir
			if g.Rules != nil {
				ec.Gate = filepath.Join(dir, "gate.yaml")
				if err := atomicfile.WriteFile(ec.Gate, g.YAML); err != nil {
					return err
				}
			}
			res, err := eval.Run(ctx, ec, eval.Options{Log: r.log, Store: r.store, ParentRunID: r.parent})
			if err != nil {
				return err
			}
			if res.EvalRunID == "" {
				return errors.New("the evaluation was not logged to MLflow (see the warnings above)")
			}
			if err := r.store.SetTag(ctx, res.EvalRunID, "nebras.key", rec.Key); err != nil {
				r.log.Warn("tracking: key tag not set", "err", err)
			}
			blessed := res.Blessed
			rec.RunID, rec.Blessed, rec.Gate = res.EvalRunID, &blessed, res.Gate.Summary
			rec.EvalJSON, rec.Report = r.rel(filepath.Join(dir, eval.ResultFile)), r.rel(filepath.Join(dir, eval.ReportFile))
			for _, gr := range res.Gate.Results {
				label := gr.Rule.Name
				if label == "" {
					label = gr.Metric
				}
				reason := gr.Reason
				if !strings.HasPrefix(reason, gr.Metric) {
					reason = label + ": " + reason
				}
				rec.GateReasons = append(rec.GateReasons, reason)
			}
			rec.Baseline = "none"
			if res.Baseline != nil {
				rec.Baseline = res.Baseline.Ref
			}
			return nil
		},
	}, nil
}

// promote moves the alias to the candidate when the gate blessed it.
func (r *runner) promote(ctx context.Context, _ string) (*stageResult, error) {
	tr, ev := r.records[StageTrain], r.records[StageEval]
	p := r.cfg.Promote
	blessed := ev.Blessed != nil && *ev.Blessed
	return &stageResult{
		inputs: map[string]any{"enabled": p.Enabled, "model": p.Model, "alias": p.Alias,
			"version": tr.Version, "blessed": blessed, "eval": ev.Key},
		valid: func(context.Context, *Record) error { return nil },
		work: func(ctx context.Context, dir string, rec *Record) error {
			switch {
			case !p.Enabled:
				rec.Promotion = PromotionDisabled
				return nil
			case !blessed:
				rec.Promotion = NotBlessed
				return nil
			}
			res, err := promote.Promote(ctx, r.store, tr.Version, true, promote.Options{
				Model: p.Model, Alias: p.Alias, Reason: "blessed by nebras run " + r.parent,
			})
			if err != nil {
				return err
			}
			rec.Promotion = Promoted
			if res.NoOp {
				rec.Promotion = AlreadyInProduction
			}
			rec.ProductionVersion, rec.PreviousVersion = res.Version, res.PreviousVersion
			return nil
		},
	}, nil
}

// finish fills the summary in, ends the parent run and writes
// last-run.json.
func (r *runner) finish(ctx context.Context, err error) {
	s := r.sum
	s.Seconds = time.Since(s.Started).Seconds()
	if err != nil {
		s.Error = err.Error()
	}
	for _, name := range Stages() {
		if s.Stage(name) == nil {
			s.Stages = append(s.Stages, StageSummary{Name: name, Status: StatusNotRun})
		}
	}
	if pr := r.records[StagePrepare]; pr != nil {
		s.Dataset, s.DatasetDigest = r.abs(pr.Dataset), pr.DatasetDigest
	}
	if tr := r.records[StageTrain]; tr != nil {
		s.Candidate = tr.Version
	}
	if ev := r.records[StageEval]; ev != nil {
		s.Blessed, s.Gate, s.GateReasons, s.Baseline = ev.Blessed, ev.Gate, ev.GateReasons, ev.Baseline
		s.Report, s.EvalJSON = r.abs(ev.Report), r.abs(ev.EvalJSON)
	}
	if pr := r.records[StagePromote]; pr != nil {
		s.Promotion = pr.Promotion
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	mv, perr := r.store.GetModelVersionByAlias(cctx, r.cfg.Promote.Model, r.cfg.Promote.Alias)
	switch {
	case perr == nil:
		s.ProductionVersion = mv.Version
	case !tracking.IsAliasNotFound(perr) && !errors.Is(perr, tracking.ErrNotFound):
		r.log.Warn("tracking: production version unknown", "err", perr)
	}
	if r.parent != "" {
		tags := []tracking.Tag{{Key: "nebras.production_version", Value: s.ProductionVersion}}
		if s.Blessed != nil {
			tags = append(tags, tracking.Tag{Key: "nebras.blessed", Value: fmt.Sprint(*s.Blessed)})
		}
		if s.FailedStage != "" {
			tags = append(tags, tracking.Tag{Key: "nebras.failed_stage", Value: s.FailedStage})
		}
		if terr := r.store.LogBatch(cctx, r.parent, nil, nil, tags); terr != nil {
			r.log.Warn("tracking: pipeline tags not logged", "err", terr)
		}
		r.endRun(ctx, r.parent, err)
	}
	if werr := s.writeJSON(filepath.Join(r.work, LastRunFile)); werr != nil {
		r.log.Warn("last-run.json not written", "err", werr)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
