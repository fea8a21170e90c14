// Package eval decides whether a newly trained model may replace the one
// in production: it generates a reply for each test conversation with the
// candidate and with the baseline (the production model, or a retrieval
// baseline), scores both with BLEU, ROUGE and perplexity, applies the
// promotion gate, logs everything to MLflow, and writes eval.json for
// machines and report.html for people.
package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nebras-ai/nebras/eval/gate"
	"github.com/nebras-ai/nebras/eval/metrics"
	"github.com/nebras-ai/nebras/eval/retrieval"
	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/training"
	"github.com/nebras-ai/nebras/transforms"
)

// Baseline kinds besides a model reference.
const (
	BaselineAuto      = ""          // the production alias of the candidate's registered model, if any
	BaselineNone      = "none"      // candidate alone: only the gate's value rules apply
	BaselineRetrieval = "retrieval" // the reply of the most similar training context (TF-IDF)
)

// Config is an evaluation run.
type Config struct {
	Model    string // candidate: DIR, hf:org/name, models:/NAME@ALIAS, models:/NAME/VERSION
	Data     string // prepared dataset
	Split    string // default "test"
	Baseline string // BaselineAuto, BaselineNone, BaselineRetrieval or a model reference
	Gate     string // gate.yaml; "" uses gate.Default()
	Out      string // where eval.json, report.html and examples.jsonl go

	MaxExamples  int // 0: the whole split
	MaxNewTokens int
	// MaxPromptTokens keeps only the last N prompt tokens (0: as many as
	// the model's context holds beside MaxNewTokens), for a model trained
	// on shorter windows than its context.
	MaxPromptTokens int
	Sampling        model.Sampling // zero value: greedy
	Batch           int            // sequences decoded together
	Threads         int

	PPLSeqLen  int // sequence length for perplexity (0: min(256, context))
	PPLBatches int // 0: the whole split

	RegisteredModel string // for BaselineAuto when the candidate is not a models:/ URI (default nebras-support-bot)
	BaselineAlias   string // the alias BaselineAuto compares with (default "production")
	Experiment      string
	TrackingURI     string
	CacheDir        string
}

// DefaultConfig evaluates 200 test examples greedily, 64 new tokens each.
func DefaultConfig() Config {
	return Config{Split: "test", Out: "eval", MaxExamples: 200, MaxNewTokens: 64, Batch: 8, RegisteredModel: "nebras-support-bot"}
}

// Validate checks the config before anything is loaded.
func (c Config) Validate() error {
	switch {
	case c.Model == "":
		return errors.New("model: the candidate is required (--model DIR|hf:org/name|models:/NAME@ALIAS)")
	case c.Data == "":
		return errors.New("data: the prepared dataset is required (--data)")
	case c.Out == "":
		return errors.New("out: an output directory is required (--out)")
	case c.MaxExamples < 0:
		return fmt.Errorf("max-examples %d: want 0 (all) or more", c.MaxExamples)
	case c.MaxNewTokens < 1:
		return fmt.Errorf("max-new-tokens %d: want at least 1", c.MaxNewTokens)
	case c.Batch < 1:
		return fmt.Errorf("batch %d: want at least 1", c.Batch)
	case c.MaxPromptTokens < 0:
		return fmt.Errorf("max-prompt-tokens %d: want 0 (the model's context) or more", c.MaxPromptTokens)
	case c.PPLSeqLen < 0 || c.PPLBatches < 0:
		return errors.New("ppl-seq-len and ppl-batches must not be negative")
	}
	return c.Sampling.Validate()
}

// System is one model (or the retrieval baseline) as evaluated.
type System struct {
	Ref             string             `json:"model"`
	Kind            string             `json:"kind"` // model, retrieval
	RegisteredModel string             `json:"registered_model,omitempty"`
	Version         string             `json:"version,omitempty"`
	RunID           string             `json:"run_id,omitempty"`
	Metrics         map[string]float64 `json:"metrics"`
	Seconds         float64            `json:"generation_seconds"`
	ExamplesPerSec  float64            `json:"examples_per_second"`

	replies  []string
	finished []string
	tokens   []int
}

// ExampleResult is one test example with both replies and their scores.
type ExampleResult struct {
	ExampleID      string  `json:"example_id"`
	Context        string  `json:"context"`
	Reference      string  `json:"reference"`
	Candidate      string  `json:"candidate"`
	Baseline       string  `json:"baseline,omitempty"`
	CandidateROUGE float64 `json:"candidate_rougeL"`
	BaselineROUGE  float64 `json:"baseline_rougeL,omitempty"`
	CandidateBLEU  float64 `json:"candidate_sentence_bleu"`
	BaselineBLEU   float64 `json:"baseline_sentence_bleu,omitempty"`
}

// Result is what eval.json holds.
type Result struct {
	Blessed   bool              `json:"blessed"`
	Candidate *System           `json:"candidate"`
	Baseline  *System           `json:"baseline"`
	Gate      gate.Decision     `json:"gate"`
	Dataset   map[string]string `json:"dataset"`
	Split     string            `json:"split"`
	Examples  int               `json:"examples"`
	Decoding  map[string]string `json:"decoding"`
	EvalRunID string            `json:"eval_run_id"`
	Tracking  string            `json:"tracking_uri"`
	Created   time.Time         `json:"created"`
	Notes     []string          `json:"notes,omitempty"`

	PerExample []ExampleResult `json:"-"` // in examples.jsonl
}

// Options connect a run to the outside.
type Options struct {
	Log   *slog.Logger
	Store tracking.Store // nil: opened from Config/environment
	// ParentRunID nests the evaluation's MLflow run under this run (a
	// pipeline run) instead of under the candidate's training run.
	ParentRunID string
}

// Run evaluates the candidate (and the baseline) and applies the gate.
// The decision is in Result.Blessed; an error means no decision.
func Run(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Split == "" {
		cfg.Split = "test"
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	rules, err := loadGate(cfg.Gate)
	if err != nil {
		return nil, err
	}
	ds, err := dataset.Open(cfg.Data)
	if err != nil {
		return nil, err
	}
	if _, ok := ds.Manifest.Splits[cfg.Split]; !ok {
		return nil, fmt.Errorf("dataset %s has no %q split", cfg.Data, cfg.Split)
	}
	store := opt.Store
	if store == nil {
		if store, err = openStore(cfg); err != nil {
			return nil, err
		}
		defer store.Close()
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("out %s: %w", cfg.Out, err)
	}
	cpu := kernels.NewCPU(cfg.Threads)
	defer cpu.Close()

	res := &Result{Split: cfg.Split, Tracking: store.URI(), Created: time.Now().UTC(),
		Dataset:  map[string]string{"path": absPath(cfg.Data), "digest": ds.Manifest.Digest(), "tokenizer": ds.Manifest.Tokenizer.Hash},
		Decoding: decodingParams(cfg)}
	exs, err := loadExamples(ctx, ds, cfg.Split, cfg.MaxExamples)
	if err != nil {
		return nil, err
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("dataset %s: the %s split has no examples", cfg.Data, cfg.Split)
	}
	res.Examples = len(exs)

	cand, candModel, err := loadModel(ctx, store, cfg, cfg.Model, ds)
	if err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	opt.Log.Info("evaluating candidate", "model", cand.Ref, "examples", len(exs))
	if err := evaluateModel(ctx, cpu, cfg, ds, candModel, cand, exs); err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	res.Candidate = cand
	candModel = nil // free before the baseline loads

	base, note, err := evaluateBaseline(ctx, cpu, store, cfg, ds, cand, exs, opt.Log)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	res.Baseline = base
	var baseMetrics map[string]float64
	if base != nil {
		baseMetrics = base.Metrics
	}
	res.Gate = rules.Evaluate(cand.Metrics, baseMetrics)
	res.Blessed = res.Gate.Blessed
	res.PerExample = perExample(exs, cand, base)

	if err := writeOutputs(cfg.Out, res); err != nil {
		return nil, err
	}
	if err := logToMLflow(ctx, store, cfg, res, opt.ParentRunID, opt.Log); err != nil {
		opt.Log.Warn("tracking: the evaluation is not fully logged", "err", err)
	}
	return res, nil
}

func loadGate(path string) (*gate.Rules, error) {
	if path == "" {
		return gate.Default(), nil
	}
	return gate.Load(path)
}

func openStore(cfg Config) (tracking.Store, error) {
	tc, err := tracking.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	if cfg.TrackingURI != "" {
		tc.TrackingURI = cfg.TrackingURI
	}
	return tracking.Open(tc)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func decodingParams(cfg Config) map[string]string {
	s := cfg.Sampling
	mode := "greedy"
	if s.Temperature > 0 {
		mode = "sampling"
	}
	return map[string]string{
		"mode": mode, "max_new_tokens": fmt.Sprint(cfg.MaxNewTokens), "temperature": fmt.Sprint(s.Temperature),
		"top_k": fmt.Sprint(s.TopK), "top_p": fmt.Sprint(s.TopP), "repetition_penalty": fmt.Sprint(s.RepetitionPenalty),
		"seed": fmt.Sprint(s.Seed), "batch": fmt.Sprint(cfg.Batch), "max_prompt_tokens": fmt.Sprint(cfg.MaxPromptTokens),
		"stop": `<|endoftext|>, "\n` + transforms.RolePrefix(transforms.RoleCustomer) + `"`,
	}
}

// loadExamples reads the first max examples of a split in stored order
// (the pipeline assigns conversations to splits by hash, so stored order
// is not biased by time or topic).
func loadExamples(ctx context.Context, ds *dataset.Dataset, split string, max int) ([]dataset.Example, error) {
	var out []dataset.Example
	stop := errors.New("enough")
	err := ds.Examples(ctx, split, nil, func(e dataset.Example) error {
		if e.TargetStart < 1 || int(e.TargetStart) >= len(e.InputIDs) {
			return nil // no prompt or no reply: nothing to generate or score
		}
		out = append(out, e)
		if max > 0 && len(out) >= max {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return out, nil
}

// loadModel opens a model reference and checks it reads the dataset's ids.
func loadModel(ctx context.Context, s tracking.Store, cfg Config, ref string, ds *dataset.Dataset) (*System, *model.Model, error) {
	sys := &System{Ref: ref, Kind: "model"}
	var m *model.Model
	var err error
	if strings.HasPrefix(ref, "models:/") {
		dir, mv, err := tracking.DownloadModel(ctx, s, ref, cfg.CacheDir)
		if err != nil {
			return nil, nil, err
		}
		sys.RegisteredModel, sys.Version, sys.RunID = mv.Name, mv.Version, mv.RunID
		if m, err = model.Load(dir); err != nil {
			return nil, nil, err
		}
	} else if m, err = model.Open(ctx, ref); err != nil {
		return nil, nil, err
	}
	if m.Tokenizer == nil {
		return nil, nil, fmt.Errorf("%s has no tokenizer files", ref)
	}
	if got, want := m.Tokenizer.Hash(), ds.Manifest.Tokenizer.Hash; got != want {
		return nil, nil, fmt.Errorf("%s uses another tokenizer than the one dataset %s was made with", ref, filepath.Base(ds.Dir))
	}
	return sys, m, nil
}

// evaluateModel generates a reply per example and scores the replies and
// the model's perplexity.
func evaluateModel(ctx context.Context, cpu *kernels.CPU, cfg Config, ds *dataset.Dataset, m *model.Model, sys *System, exs []dataset.Example) error {
	prompts := make([][]int32, len(exs))
	for i, e := range exs {
		p := e.InputIDs[:e.TargetStart]
		if n := cfg.MaxPromptTokens; n > 0 && len(p) > n {
			p = p[len(p)-n:]
		}
		prompts[i] = p
	}
	t0 := time.Now()
	gens, err := m.Generate(ctx, cpu, prompts, model.GenerateOptions{
		MaxNewTokens: cfg.MaxNewTokens, Sampling: cfg.Sampling, MaxBatch: cfg.Batch,
		Stop: []string{"\n" + transforms.RolePrefix(transforms.RoleCustomer)},
	})
	if err != nil {
		return err
	}
	sys.Seconds = time.Since(t0).Seconds()
	sys.ExamplesPerSec = float64(len(exs)) / sys.Seconds
	for _, g := range gens {
		sys.replies = append(sys.replies, strings.TrimSpace(g.Text))
		sys.finished = append(sys.finished, g.FinishReason)
		sys.tokens = append(sys.tokens, len(g.Tokens))
	}
	if sys.Metrics, err = replyMetrics(sys.replies, exs, sys.finished, sys.tokens); err != nil {
		return err
	}
	T := cfg.PPLSeqLen
	if T == 0 {
		T = min(256, m.Config.NPositions)
	}
	if T > m.Config.NPositions {
		return fmt.Errorf("ppl-seq-len %d exceeds the model's %d positions", T, m.Config.NPositions)
	}
	l, err := training.EvalLoss(ctx, cpu, m, ds, cfg.Split, 8, T, false, cfg.PPLBatches)
	if err != nil {
		return fmt.Errorf("perplexity: %w", err)
	}
	if ppl := math.Exp(l.Mean()); l.Weight > 0 && !math.IsInf(ppl, 0) {
		sys.Metrics["perplexity"] = ppl
		sys.Metrics["perplexity_tokens"] = l.Weight
	}
	return nil
}

// replyMetrics scores replies against the references.
func replyMetrics(replies []string, exs []dataset.Example, finished []string, tokens []int) (map[string]float64, error) {
	refs := make([]string, len(exs))
	for i, e := range exs {
		refs[i] = e.Reply
	}
	bleu, err := metrics.CorpusBLEU(replies, [][]string{refs}, metrics.BLEUOptions{})
	if err != nil {
		return nil, err
	}
	rouge, err := metrics.CorpusROUGE(replies, [][]string{refs}, metrics.ROUGEOptions{})
	if err != nil {
		return nil, err
	}
	var truncated []bool
	if finished != nil {
		truncated = make([]bool, len(finished))
		for i, f := range finished {
			truncated[i] = f == model.FinishLength
		}
	}
	st, err := metrics.ComputeReplyStats(replies, tokens, truncated)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{
		"bleu": bleu.Score, "rouge1": rouge.R1.F, "rouge2": rouge.R2.F, "rougeL": rouge.RL.F, "rougeLsum": rouge.RLsum.F,
		"distinct1": st.Distinct1, "distinct2": st.Distinct2, "avg_reply_tokens": st.AvgTokens,
		"empty_share": st.EmptyShare, "max_tokens_share": st.MaxTokensShare,
	}
	return out, nil
}

// evaluateBaseline evaluates what the candidate is compared with, and
// says in a note when there is nothing to compare with.
func evaluateBaseline(ctx context.Context, cpu *kernels.CPU, s tracking.Store, cfg Config, ds *dataset.Dataset, cand *System, exs []dataset.Example, log *slog.Logger) (*System, string, error) {
	ref := cfg.Baseline
	switch ref {
	case BaselineNone:
		return nil, "no baseline (--baseline none): only the gate's value rules apply", nil
	case BaselineRetrieval:
		return evaluateRetrieval(ctx, ds, exs, log)
	case BaselineAuto:
		name := cand.RegisteredModel
		if name == "" {
			name = cfg.RegisteredModel
		}
		alias := cfg.BaselineAlias
		if alias == "" {
			alias = "production"
		}
		ref = "models:/" + name + "@" + alias
		if _, err := s.GetModelVersionByAlias(ctx, name, alias); tracking.IsAliasNotFound(err) {
			return nil, fmt.Sprintf("no baseline: %s has no %s alias yet, so only the gate's value rules apply", name, alias), nil
		} else if err != nil {
			return nil, "", err
		}
	}
	base, m, err := loadModel(ctx, s, cfg, ref, ds)
	if err != nil {
		return nil, "", err
	}
	if cand.RegisteredModel != "" && base.RegisteredModel == cand.RegisteredModel && base.Version == cand.Version {
		return nil, fmt.Sprintf("no baseline: the candidate is the production model (%s version %s)", base.RegisteredModel, base.Version), nil
	}
	log.Info("evaluating baseline", "model", base.Ref)
	if err := evaluateModel(ctx, cpu, cfg, ds, m, base, exs); err != nil {
		return nil, "", err
	}
	return base, "", nil
}

func evaluateRetrieval(ctx context.Context, ds *dataset.Dataset, exs []dataset.Example, log *slog.Logger) (*System, string, error) {
	t0 := time.Now()
	ix, err := retrieval.Build(ctx, ds, retrieval.Options{})
	if err != nil {
		return nil, "", err
	}
	log.Info("evaluating retrieval baseline", "train_examples", ix.Len(), "build_seconds", time.Since(t0).Seconds())
	sys := &System{Ref: "retrieval (TF-IDF nearest training context)", Kind: "retrieval"}
	t1 := time.Now()
	for _, e := range exs {
		r, _ := ix.Reply(e.Context)
		sys.replies = append(sys.replies, strings.TrimSpace(r))
	}
	sys.Seconds = time.Since(t1).Seconds()
	sys.ExamplesPerSec = float64(len(exs)) / max(sys.Seconds, 1e-9)
	if sys.Metrics, err = replyMetrics(sys.replies, exs, nil, nil); err != nil {
		return nil, "", err
	}
	delete(sys.Metrics, "max_tokens_share") // a retrieved reply has no token budget
	return sys, "", nil
}

// perExample pairs each example's replies with their scores.
func perExample(exs []dataset.Example, cand, base *System) []ExampleResult {
	out := make([]ExampleResult, len(exs))
	for i, e := range exs {
		r := ExampleResult{ExampleID: e.ExampleID, Context: e.Context, Reference: e.Reply, Candidate: cand.replies[i]}
		r.CandidateROUGE, r.CandidateBLEU = sentenceScores(r.Candidate, e.Reply)
		if base != nil {
			r.Baseline = base.replies[i]
			r.BaselineROUGE, r.BaselineBLEU = sentenceScores(r.Baseline, e.Reply)
		}
		out[i] = r
	}
	return out
}

func sentenceScores(hyp, ref string) (float64, float64) {
	var rl, bl float64
	if r, err := metrics.ScoreROUGE(hyp, []string{ref}, metrics.ROUGEOptions{}); err == nil {
		rl = r.RL.F
	}
	if b, err := metrics.SentenceBLEU(hyp, []string{ref}, metrics.BLEUOptions{EffectiveOrder: true}); err == nil {
		bl = b.Score
	}
	return rl, bl
}
