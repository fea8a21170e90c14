package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"time"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/tracking"
)

// Output files in Config.Out.
const (
	ResultFile   = "eval.json"
	ReportFile   = "report.html"
	ExamplesFile = "examples.jsonl"
)

// writeOutputs writes eval.json, examples.jsonl and report.html, each
// atomically.
func writeOutputs(dir string, res *Result) error {
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("eval.json: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ResultFile), append(js, '\n')); err != nil {
		return err
	}
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	for _, e := range res.PerExample {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("examples.jsonl: %w", err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ExamplesFile), lines.Bytes()); err != nil {
		return err
	}
	html, err := Report(res)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ReportFile), html)
}

// logToMLflow records the evaluation as a run nested under parent when
// given, else under the candidate's training run when it has one:
// decoding params, both systems' metrics (the baseline's prefixed
// baseline_), the gate's decision as tags, and the output files as
// artifacts.
func logToMLflow(ctx context.Context, s tracking.Store, cfg Config, res *Result, parent string, log *slog.Logger) error {
	opts := tracking.RunOptions{
		Experiment: cfg.Experiment, Source: "nebras eval",
		RunName: "eval-" + runLabel(res.Candidate),
		Tags: []tracking.Tag{
			{Key: "nebras.stage", Value: "eval"},
			{Key: "nebras.blessed", Value: fmt.Sprint(res.Blessed)},
			{Key: "nebras.gate", Value: res.Gate.Summary},
		},
	}
	if parent != "" {
		opts.ParentRunID = parent
	} else if res.Candidate.RunID != "" {
		if _, err := s.GetRun(ctx, res.Candidate.RunID); err == nil {
			opts.ParentRunID = res.Candidate.RunID
		}
	}
	run, err := tracking.StartRun(ctx, s, opts)
	if err != nil {
		return err
	}
	res.EvalRunID = run.Info.RunID
	params := []tracking.Param{
		{Key: "candidate", Value: res.Candidate.Ref},
		{Key: "split", Value: res.Split},
		{Key: "examples", Value: fmt.Sprint(res.Examples)},
		{Key: "dataset_digest", Value: res.Dataset["digest"]},
		{Key: "gate", Value: orDefault(cfg.Gate, "default")},
	}
	if res.Baseline != nil {
		params = append(params, tracking.Param{Key: "baseline", Value: res.Baseline.Ref})
	} else {
		params = append(params, tracking.Param{Key: "baseline", Value: "none"})
	}
	keys := make([]string, 0, len(res.Decoding))
	for k := range res.Decoding {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		params = append(params, tracking.Param{Key: "decoding." + k, Value: res.Decoding[k]})
	}
	var ms []tracking.Metric
	now := res.Created.UnixMilli()
	add := func(prefix string, m map[string]float64) {
		for k, v := range m {
			ms = append(ms, tracking.Metric{Key: prefix + k, Value: v, Timestamp: now})
		}
	}
	add("", res.Candidate.Metrics)
	ms = append(ms, tracking.Metric{Key: "examples_per_second", Value: res.Candidate.ExamplesPerSec, Timestamp: now})
	if res.Baseline != nil {
		add("baseline_", res.Baseline.Metrics)
	}
	if _, err := tracking.LogBatchSplit(ctx, s, run.Info.RunID, ms, params, nil); err != nil {
		return err
	}
	if repo, err := s.Artifacts(ctx, run.Info.ArtifactURI); err != nil {
		log.Warn("tracking: evaluation artifacts not logged", "err", err)
	} else {
		// eval.json goes last, rewritten to hold the run's id.
		for _, f := range []string{ReportFile, ExamplesFile} {
			if err := repo.LogArtifact(ctx, filepath.Join(cfg.Out, f), ""); err != nil {
				return fmt.Errorf("log %s: %w", f, err)
			}
		}
		if err := writeOutputs(cfg.Out, res); err != nil {
			return err
		}
		if err := repo.LogArtifact(ctx, filepath.Join(cfg.Out, ResultFile), ""); err != nil {
			return fmt.Errorf("log %s: %w", ResultFile, err)
		}
	}
	status := tracking.RunFinished
	_, err = s.UpdateRun(ctx, run.Info.RunID, status, time.Now().UnixMilli(), "")
	return err
}

func runLabel(s *System) string {
	if s.RegisteredModel != "" {
		return s.RegisteredModel + "-v" + s.Version
	}
	return filepath.Base(s.Ref)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
