package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/eval"
	"github.com/nebras-ai/nebras/eval/metrics"
)

// errNotBlessed makes nebras eval exit 3: the run worked, the candidate
// did not pass the gate. CI tells the two apart by the status.
type errNotBlessed struct{ summary string }

func (e errNotBlessed) Error() string { return "not blessed: " + e.summary }

func (a *app) evalCmd() *cobra.Command {
	cfg := eval.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "eval --model MODEL --data DATASET [--baseline models:/NAME@production|retrieval|none] [--gate gate.yaml]",
		Short: "Score a model against the production model (or a retrieval baseline) and apply the promotion gate",
		Long: `Generate a reply for each test conversation with the candidate and the
baseline, score BLEU, ROUGE and perplexity, apply the gate, log the evaluation
to MLflow and write eval.json and report.html to --out.

Exit status: 0 blessed, 3 not blessed, 1 error, 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			res, err := eval.Run(cmd.Context(), cfg, eval.Options{Log: a.log})
			if err != nil {
				return err
			}
			printEvalResult(a.stdout, cfg, res)
			if !res.Blessed {
				return errNotBlessed{res.Gate.Summary}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Model, "model", "", "candidate: DIR, hf:org/name, models:/NAME@ALIAS or models:/NAME/VERSION")
	f.StringVar(&cfg.Data, "data", "", "prepared dataset")
	f.StringVar(&cfg.Split, "split", cfg.Split, "split to evaluate on")
	f.StringVar(&cfg.Baseline, "baseline", "", "what to compare with: a model reference, retrieval, none (default: models:/NAME@production when that alias exists)")
	f.StringVar(&cfg.Gate, "gate", "", "gate rules (YAML); default: not worse than the baseline on ROUGE-L and perplexity")
	f.StringVar(&cfg.Out, "out", cfg.Out, "directory for eval.json, report.html and examples.jsonl")
	f.IntVar(&cfg.MaxExamples, "max-examples", cfg.MaxExamples, "examples to generate replies for (0: the whole split)")
	f.IntVar(&cfg.MaxNewTokens, "max-new-tokens", cfg.MaxNewTokens, "longest reply in tokens")
	f.IntVar(&cfg.MaxPromptTokens, "max-prompt-tokens", 0, "keep only the last N prompt tokens (0: what the model's context holds)")
	f.Float64Var(&cfg.Sampling.Temperature, "temperature", 0, "sampling temperature (0: greedy)")
	f.IntVar(&cfg.Sampling.TopK, "top-k", 0, "sample from the k most likely tokens (0: all)")
	f.Float64Var(&cfg.Sampling.TopP, "top-p", 0, "nucleus sampling threshold (0: off)")
	f.Uint64Var(&cfg.Sampling.Seed, "seed", 0, "sampling seed")
	f.Float64Var(&cfg.Sampling.RepetitionPenalty, "repetition-penalty", 0, "divide the logits of tokens already in the sequence by this (1 or 0: off; 1.2 curbs a small model's loops)")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "sequences decoded together")
	f.IntVar(&cfg.Threads, "threads", 0, "CPU threads (0: every core)")
	f.IntVar(&cfg.PPLSeqLen, "ppl-seq-len", 0, "sequence length for perplexity (0: min(256, the model's context))")
	f.IntVar(&cfg.PPLBatches, "ppl-batches", 0, "batches of 8 for perplexity (0: the whole split)")
	f.StringVar(&cfg.RegisteredModel, "registered-model", cfg.RegisteredModel, "registered model whose production alias is the default baseline")
	f.StringVar(&cfg.TrackingURI, "tracking-uri", "", "MLflow tracking URI (default $MLFLOW_TRACKING_URI, else ./mlruns)")
	f.StringVar(&cfg.Experiment, "experiment", "", "MLflow experiment (default $MLFLOW_EXPERIMENT_NAME, else nebras)")
	cmd.AddCommand(a.evalMetricsCmd())
	return cmd
}

func printEvalResult(w io.Writer, cfg eval.Config, res *eval.Result) {
	fmt.Fprintf(w, "candidate %s on %d %s examples\n", res.Candidate.Ref, res.Examples, res.Split)
	keys := []string{"rougeL", "rouge1", "rouge2", "bleu", "perplexity", "distinct2", "empty_share"}
	fmt.Fprintf(w, "  %-12s %10s", "metric", "candidate")
	if res.Baseline != nil {
		fmt.Fprintf(w, " %10s", "baseline")
	}
	fmt.Fprintln(w)
	for _, k := range keys {
		c, ok := res.Candidate.Metrics[k]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %-12s %10.4f", k, c)
		if res.Baseline != nil {
			if b, ok := res.Baseline.Metrics[k]; ok {
				fmt.Fprintf(w, " %10.4f", b)
			}
		}
		fmt.Fprintln(w)
	}
	if res.Baseline != nil {
		fmt.Fprintf(w, "baseline: %s\n", res.Baseline.Ref)
	}
	for _, n := range res.Notes {
		fmt.Fprintln(w, n)
	}
	verdict := "NOT BLESSED"
	if res.Blessed {
		verdict = "BLESSED"
	}
	fmt.Fprintf(w, "gate: %s (%s)\n", verdict, res.Gate.Summary)
	fmt.Fprintf(w, "report: %s\n", filepath.Join(cfg.Out, eval.ReportFile))
	fmt.Fprintf(w, "result: %s\n", filepath.Join(cfg.Out, eval.ResultFile))
	if res.EvalRunID != "" {
		fmt.Fprintf(w, "mlflow run: %s in %s\n", res.EvalRunID, res.Tracking)
	}
}

func (a *app) evalMetricsCmd() *cobra.Command {
	var (
		hyp, pairs string
		refs       []string
		bo         metrics.BLEUOptions
		stem       bool
	)
	cmd := &cobra.Command{
		Use:   "metrics --hyp FILE --ref FILE [--ref FILE...] | --pairs FILE",
		Short: "Score text files with BLEU (as sacreBLEU) and ROUGE (as rouge-score); prints JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var hyps []string
			var refStreams [][]string
			switch {
			case pairs != "" && (hyp != "" || len(refs) > 0):
				return usageError{errors.New("--pairs replaces --hyp and --ref; give one or the other")}
			case pairs != "":
				var err error
				if hyps, refStreams, err = readPairs(pairs); err != nil {
					return err
				}
			case hyp == "" || len(refs) == 0:
				return usageError{errors.New("give --hyp FILE and at least one --ref FILE, or --pairs FILE")}
			default:
				var err error
				if hyps, err = readLines(hyp); err != nil {
					return err
				}
				for _, r := range refs {
					lines, err := readLines(r)
					if err != nil {
						return err
					}
					if len(lines) != len(hyps) {
						return fmt.Errorf("%s has %d lines, %s has %d: one segment per line in every file", r, len(lines), hyp, len(hyps))
					}
					refStreams = append(refStreams, lines)
				}
			}
			out, err := scoreFiles(hyps, refStreams, bo, stem)
			if err != nil {
				return usageError{err}
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&hyp, "hyp", "", "hypotheses, one segment per line")
	f.StringArrayVar(&refs, "ref", nil, "references, one file per reference stream (repeatable)")
	f.StringVar(&pairs, "pairs", "", `JSONL of {"hyp": ..., "refs": [...]}; segments may hold newlines (ROUGE-Lsum splits sentences on them)`)
	f.StringVar(&bo.Tokenize, "tokenize", "13a", "BLEU tokenizer: 13a, none or intl")
	f.StringVar(&bo.Smooth, "smooth", "exp", "BLEU smoothing: exp, floor, add-k or none")
	f.Float64Var(&bo.SmoothValue, "smooth-value", 0, "value for floor (default 0.1) or add-k (default 1)")
	f.BoolVar(&bo.EffectiveOrder, "effective-order", false, "use effective order (as for sentence BLEU)")
	f.BoolVar(&bo.Lowercase, "lowercase", false, "case-insensitive BLEU")
	f.IntVar(&bo.MaxOrder, "max-order", 4, "largest n-gram order for BLEU")
	f.BoolVar(&stem, "rouge-stem", false, "Porter-stem tokens for ROUGE, as rouge-score's use_stemmer")
	return cmd
}

type rougeJSON struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F         float64 `json:"f"`
}

func scoreFiles(hyps []string, refs [][]string, bo metrics.BLEUOptions, stem bool) (map[string]any, error) {
	b, err := metrics.CorpusBLEU(hyps, refs, bo)
	if err != nil {
		return nil, err
	}
	r, err := metrics.CorpusROUGE(hyps, refs, metrics.ROUGEOptions{Stem: stem})
	if err != nil {
		return nil, err
	}
	conv := func(s metrics.ROUGEScore) rougeJSON { return rougeJSON{s.Precision, s.Recall, s.F} }
	return map[string]any{
		"bleu": b.Score, "bleu_detail": b.String(), "segments": len(hyps),
		"rouge1": conv(r.R1), "rouge2": conv(r.R2), "rougeL": conv(r.RL), "rougeLsum": conv(r.RLsum),
	}, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		out = append(out, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// readPairs reads --pairs JSONL. Every record needs the same number of
// references, which become the reference streams.
func readPairs(path string) ([]string, [][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var hyps []string
	var streams [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec struct {
			Hyp  *string  `json:"hyp"`
			Refs []string `json:"refs"`
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if rec.Hyp == nil || len(rec.Refs) == 0 {
			return nil, nil, fmt.Errorf("%s:%d: want {\"hyp\": \"...\", \"refs\": [\"...\"]}", path, line)
		}
		if streams == nil {
			streams = make([][]string, len(rec.Refs))
		}
		if len(rec.Refs) != len(streams) {
			return nil, nil, fmt.Errorf("%s:%d: %d references, earlier records have %d", path, line, len(rec.Refs), len(streams))
		}
		hyps = append(hyps, *rec.Hyp)
		for i, r := range rec.Refs {
			streams[i] = append(streams[i], r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(hyps) == 0 {
		return nil, nil, fmt.Errorf("%s: no records", path)
	}
	return hyps, streams, nil
}
