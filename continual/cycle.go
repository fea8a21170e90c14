// Package continual keeps the production model current as new tickets
// arrive: `nebras retrain` runs one cycle, `nebras watch` runs cycles on
// an interval.
//
// Tickets arrive as partitions, sub-directories of an input root such as
// ROOT/date=2026-11-22/*.jsonl.gz. A cycle finds the partitions it has
// not consumed (new, or changed since), and when they hold enough new
// conversations it runs the pipeline (package orchestrate) on them plus a
// replay sample of conversations from partitions consumed before (so the
// model does not forget them): the dataset is prepared from those files
// only, the current production version is fine-tuned on it, the
// candidate is evaluated against production on a fixed held-out set (the
// first cycle's dataset, kept in WORK/continual/heldout) and promoted
// only when the gate blesses it.
//
// The state file (WORK/continual/state.json) is written, atomically, only
// once a cycle's outcome is final. A cycle that fails or is killed
// changes nothing there; promotion is orchestrate's last stage, and it
// moves previous before production, so a crash between the two leaves
// production where it was and the rerun finishes it. The next cycle resumes:
// WORK/continual/pending.json pins the base version the failed cycle was
// fine-tuning, so the stages it finished are found in orchestrate's cache.
package continual

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/orchestrate"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/tracking"
)

// Dir is the continual state's directory in the work directory.
const Dir = "continual"

// DefaultReplayRatio is how many replayed conversations a cycle adds per
// new one, unless Options says otherwise.
const DefaultReplayRatio = 0.5

// Options configure a cycle.
type Options struct {
	// InputRoot holds the partitions.
	InputRoot string
	// Since, when not zero, ignores partitions named date=YYYY-MM-DD
	// before it (others are always considered).
	Since time.Time
	// MinNewConversations is how many new conversations a cycle needs
	// to run; with fewer it does nothing.
	MinNewConversations int
	// ReplayRatio is how many conversations from consumed partitions are
	// replayed per new conversation (0: none).
	ReplayRatio float64
	// Run connects the pipeline to the outside (log, store, progress,
	// fault injection); its EvalDataset is set by the cycle.
	Run orchestrate.Options
}

// Validate checks the options.
func (o Options) Validate() error {
	switch {
	case strings.TrimSpace(o.InputRoot) == "":
		return errors.New("--input-root: want a directory of partitions, got nothing")
	case o.MinNewConversations < 0:
		return fmt.Errorf("--min-new-conversations %d: want 0 or more", o.MinNewConversations)
	case math.IsNaN(o.ReplayRatio) || o.ReplayRatio < 0 || o.ReplayRatio > 100:
		return fmt.Errorf("--replay-ratio %g: want 0 to 100 replayed conversations per new one", o.ReplayRatio)
	}
	st, err := os.Stat(o.InputRoot)
	if err != nil {
		return fmt.Errorf("--input-root: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--input-root %s: not a directory", o.InputRoot)
	}
	return nil
}

// Result is what a cycle did.
type Result struct {
	// Cycle is the cycle's number; 0 when nothing ran.
	Cycle int
	// Skipped says why nothing ran; "" when the pipeline ran.
	Skipped string
	// NewPartitions are the partitions the cycle found new.
	NewPartitions []string
	// NewConversations counts the distinct conversations in them;
	// Replay the conversations replayed from earlier partitions.
	NewConversations int
	Replay           int
	// Base is the model the cycle fine-tuned (a pinned models:/NAME/VERSION
	// once there is a production version).
	Base string
	// Summary is the pipeline's; nil when it did not run.
	Summary *orchestrate.Summary
}

// Outcome is the promotion's outcome, or why nothing ran.
func (r *Result) Outcome() string {
	switch {
	case r.Skipped != "":
		return "nothing to do: " + r.Skipped
	case r.Summary == nil:
		return "not run"
	case r.Summary.Error != "":
		return "failed: " + r.Summary.Error
	}
	return r.Summary.Promotion
}

// Write prints the pipeline's summary, if it ran, and a line on the
// cycle.
func (r *Result) Write(w io.Writer) error {
	if r.Skipped != "" {
		_, err := fmt.Fprintf(w, "retrain: nothing to do: %s\n", r.Skipped)
		return err
	}
	if r.Summary != nil {
		if err := r.Summary.Write(w); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "retrain: cycle %d on %s (%d new conversations, %d replayed), base %s: %s\n",
		r.Cycle, strings.Join(r.NewPartitions, ", "), r.NewConversations, r.Replay, r.Base, r.Outcome())
	return err
}

// Cycle runs one continual-learning cycle with cfg (whose data section it
// replaces with the new partitions and the replay sample). It returns an
// error when the pipeline failed; the state is then unchanged and the
// next cycle resumes.
func Cycle(ctx context.Context, cfg *orchestrate.Config, opt Options) (*Result, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	work, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("work_dir: %w", err)
	}
	dir := filepath.Join(work, Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("work_dir: %w", err)
	}
	unlock, err := orchestrate.LockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	defer unlock()
	if opt.Run.Log == nil {
		opt.Run.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Run.Store == nil {
		tc, err := tracking.ConfigFromEnv()
		if err != nil {
			return nil, err
		}
		if cfg.Tracking.URI != "" {
			tc.TrackingURI = cfg.Tracking.URI
		}
		if opt.Run.Store, err = tracking.Open(tc); err != nil {
			return nil, fmt.Errorf("tracking: %w", err)
		}
		defer opt.Run.Store.Close()
	}
	c := &cycle{cfg: cfg, opt: opt, work: work, dir: dir, log: opt.Run.Log, store: opt.Run.Store}
	return c.run(ctx)
}

type cycle struct {
	cfg   *orchestrate.Config
	opt   Options
	work  string
	dir   string
	log   *slog.Logger
	store tracking.Store
}

func (c *cycle) run(ctx context.Context) (*Result, error) {
	statePath, pendingPath := filepath.Join(c.dir, StateFile), filepath.Join(c.dir, PendingFile)
	st, err := ReadState(statePath)
	if err != nil {
		return nil, err
	}
	parts, err := Scan(c.opt.InputRoot)
	if err != nil {
		return nil, err
	}
	var fresh []Partition
	for _, p := range parts {
		if d, ok := p.Date(); ok && !c.opt.Since.IsZero() && d.Before(c.opt.Since) {
			continue
		}
		if prev, ok := st.Partitions[p.Name]; !ok || prev.SHA256 != p.SHA256 {
			fresh = append(fresh, p)
		}
	}
	res := &Result{}
	if len(fresh) == 0 {
		// A pending cycle whose partitions were then recorded (a crash
		// between the state and this file) or removed is stale.
		if err := os.Remove(pendingPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove %s: %w", pendingPath, err)
		}
		res.Skipped = fmt.Sprintf("no new partitions under %s", c.opt.InputRoot)
		return res, nil
	}
	// Each partition's conversations are counted once: the state records
	// them per partition, the threshold applies to their union.
	var newFiles []string
	ids := map[string]bool{}
	perPartition := make(map[string]int, len(fresh))
	for _, p := range fresh {
		res.NewPartitions = append(res.NewPartitions, p.Name)
		newFiles = append(newFiles, p.Files...)
		n, err := countConversations(p.Files)
		if err != nil {
			return nil, err
		}
		perPartition[p.Name] = len(n)
		maps.Copy(ids, n)
	}
	res.NewConversations = len(ids)
	if len(ids) == 0 || len(ids) < c.opt.MinNewConversations {
		res.Skipped = fmt.Sprintf("%d new conversations in %s, fewer than --min-new-conversations %d; waiting for more",
			len(ids), strings.Join(res.NewPartitions, ", "), c.opt.MinNewConversations)
		return res, nil
	}

	// The cycle: resumed when the pending one is for the same
	// partitions, else a new one fine-tuning today's production.
	var pend pending
	if err := readJSON(pendingPath, &pend); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if pend.Cycle <= st.LastCycle || !samePartitions(pend.Partitions, fresh) {
		base, err := c.base(ctx)
		if err != nil {
			return nil, err
		}
		pend = pending{Cycle: st.LastCycle + 1, Partitions: fresh, Base: base}
		if err := writeJSON(pendingPath, pend); err != nil {
			return nil, err
		}
	} else {
		c.log.Info("resuming an unfinished cycle", "cycle", pend.Cycle, "base", pend.Base)
	}
	res.Cycle, res.Base = pend.Cycle, pend.Base

	// Replay: a deterministic sample of the consumed partitions still
	// under the root, unchanged.
	var oldFiles []string
	for _, p := range parts {
		if prev, ok := st.Partitions[p.Name]; ok && prev.SHA256 == p.SHA256 {
			oldFiles = append(oldFiles, p.Files...)
		}
	}
	inputs := slices.Clone(newFiles)
	if n := int(math.Ceil(c.opt.ReplayRatio * float64(len(ids)))); n > 0 && len(oldFiles) > 0 {
		lines, err := sampleReplay(oldFiles, ids, n, fmt.Sprintf("cycle %d", pend.Cycle))
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		if len(lines) > 0 {
			path := filepath.Join(c.dir, fmt.Sprintf("cycle-%04d", pend.Cycle), "replay.jsonl")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, err
			}
			err := atomicfile.Write(path, func(w io.Writer) error {
				for _, l := range lines {
					if _, err := w.Write(append(l, '\n')); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("replay: %w", err)
			}
			inputs = append(inputs, path)
			res.Replay = len(lines)
		}
	}

	cfg := *c.cfg
	cfg.Data.Inputs, cfg.Data.Synthetic = inputs, nil
	cfg.Train.Base = pend.Base
	ropt := c.opt.Run
	ropt.EvalDataset = ""
	if h := st.HeldOut; h != nil {
		ropt.EvalDataset = filepath.Join(c.work, filepath.FromSlash(h.Dataset))
		ds, err := dataset.Open(ropt.EvalDataset)
		if err != nil {
			return nil, fmt.Errorf("held-out set: %w", err)
		}
		if d := ds.Manifest.Digest(); d != h.Digest {
			return nil, fmt.Errorf("held-out set %s changed (digest %.12s, recorded %.12s)", ropt.EvalDataset, d, h.Digest)
		}
		if h.Split != cfg.Eval.Split {
			return nil, fmt.Errorf("eval.split %q: the held-out set was fixed on split %q by cycle %d; keep it, or start a new work directory", cfg.Eval.Split, h.Split, h.Cycle)
		}
		if !slices.Equal(h.SplitRatios, cfg.Prepare.Split) || h.SplitSalt != cfg.Prepare.SplitSalt {
			return nil, fmt.Errorf("prepare.split %v, split_salt %q: the held-out set was fixed with %v, %q by cycle %d, and other settings would move held-out conversations into training; keep them, or start a new work directory",
				cfg.Prepare.Split, cfg.Prepare.SplitSalt, h.SplitRatios, h.SplitSalt, h.Cycle)
		}
	}
	c.log.Info("cycle running", "cycle", pend.Cycle, "partitions", res.NewPartitions,
		"new_conversations", res.NewConversations, "replay", res.Replay, "base", pend.Base)
	sum, err := orchestrate.Run(ctx, &cfg, ropt)
	res.Summary = sum
	if err != nil {
		return res, fmt.Errorf("cycle %d: %w", pend.Cycle, err)
	}

	// The outcome is final: fix the held-out set (first cycle), then
	// record the partitions as consumed.
	if st.HeldOut == nil {
		h, err := c.keepHeldOut(sum, cfg.Eval.Split, pend.Cycle)
		if err != nil {
			return res, err
		}
		st.HeldOut = h
	}
	blessed := sum.Blessed != nil && *sum.Blessed
	for _, p := range fresh {
		st.Partitions[p.Name] = Consumed{SHA256: p.SHA256, Conversations: perPartition[p.Name], Cycle: pend.Cycle,
			Version: sum.Candidate, Outcome: sum.Promotion}
	}
	st.LastCycle = pend.Cycle
	st.Cycles = append(st.Cycles, CycleRecord{
		Cycle: pend.Cycle, Finished: time.Now().UTC(), Partitions: res.NewPartitions,
		NewConversations: res.NewConversations, Replay: res.Replay, Base: pend.Base,
		Candidate: sum.Candidate, Blessed: blessed, Outcome: sum.Promotion,
		Production: sum.ProductionVersion, ParentRunID: sum.ParentRunID,
	})
	if err := writeJSON(statePath, st); err != nil {
		return res, err
	}
	if err := os.Remove(pendingPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("pending cycle not removed", "err", err)
	}
	return res, nil
}

// base is the model a new cycle fine-tunes: the production version,
// pinned by number; before there is one, the config's train.base (a
// registry alias there is resolved and pinned too).
func (c *cycle) base(ctx context.Context) (string, error) {
	p := c.cfg.Promote
	mv, err := c.store.GetModelVersionByAlias(ctx, p.Model, p.Alias)
	switch {
	case err == nil:
		return "models:/" + mv.Name + "/" + mv.Version, nil
	case !tracking.IsAliasNotFound(err) && !errors.Is(err, tracking.ErrNotFound):
		return "", fmt.Errorf("production model: %w", err)
	}
	base, err := tracking.PinModelURI(ctx, c.store, c.cfg.Train.Base)
	if err != nil {
		return "", fmt.Errorf("train.base %w (before the first promotion, train.base names the model to start from, e.g. hf:openai-community/gpt2)", err)
	}
	return base, nil
}

// keepHeldOut copies the first cycle's dataset to WORK/continual/heldout:
// every later cycle is evaluated on its eval split.
func (c *cycle) keepHeldOut(sum *orchestrate.Summary, split string, cycle int) (*HeldOut, error) {
	if sum.Dataset == "" {
		return nil, errors.New("held-out set: the pipeline reported no dataset")
	}
	dst := filepath.Join(c.dir, HeldOutDir)
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("held-out set: %w", err)
	}
	if err := os.CopyFS(tmp, os.DirFS(sum.Dataset)); err != nil {
		return nil, fmt.Errorf("held-out set: %w", err)
	}
	if err := os.RemoveAll(dst); err != nil {
		return nil, fmt.Errorf("held-out set: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("held-out set: %w", err)
	}
	ds, err := dataset.Open(dst)
	if err != nil {
		return nil, fmt.Errorf("held-out set: %w", err)
	}
	if d := ds.Manifest.Digest(); d != sum.DatasetDigest {
		return nil, fmt.Errorf("held-out set: the copy's digest %.12s differs from the dataset's %.12s", d, sum.DatasetDigest)
	}
	return &HeldOut{Dataset: Dir + "/" + HeldOutDir, Digest: sum.DatasetDigest, Split: split, Cycle: cycle,
		SplitRatios: slices.Clone(c.cfg.Prepare.Split), SplitSalt: c.cfg.Prepare.SplitSalt}, nil
}

func samePartitions(a, b []Partition) bool {
	return slices.EqualFunc(a, b, func(x, y Partition) bool { return x.Name == y.Name && x.SHA256 == y.SHA256 })
}

// Watch runs a cycle at once and then every interval until ctx ends,
// then returns nil. report is called after each cycle with its result
// and error; a failing cycle does not stop the watch (the next one
// resumes it).
func Watch(ctx context.Context, cfg *orchestrate.Config, opt Options, interval time.Duration, report func(*Result, error)) error {
	if interval <= 0 {
		return fmt.Errorf("--interval %s: want a positive duration", interval)
	}
	if err := opt.Validate(); err != nil {
		return err
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		res, err := Cycle(ctx, cfg, opt)
		report(res, err)
		if ctx.Err() != nil {
			return nil // stopped, perhaps mid-cycle: the next cycle resumes it
		}
		t.Reset(interval)
	}
}
