package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/tokenizer"
)

func (a *app) modelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Create, inspect and score GPT-2 checkpoints (Hugging Face layout)",
	}
	cmd.AddCommand(a.modelInitCmd(), a.modelInfoCmd(), a.modelScoreCmd())
	return cmd
}

func (a *app) modelInitCmd() *cobra.Command {
	var (
		config, out, tok string
		seed             uint64
		overwrite        bool
	)
	cmd := &cobra.Command{
		Use:   "init --config NAME --out DIR",
		Short: "Write a randomly initialised GPT-2 (GPT-2's initialisation) in the Hugging Face layout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("--out is required")}
			}
			cfg, err := model.NamedConfig(config)
			if err != nil {
				return usageError{err}
			}
			t, err := tokenizer.Open(tok)
			if err != nil {
				return err
			}
			// A tokenizer trained on the tickets has its own size; the
			// embedding follows it.
			cfg.VocabSize = t.VocabSize()
			cfg.BOSTokenID, cfg.EOSTokenID = t.EOT(), t.EOT()
			if _, err := os.Stat(out); err == nil && !overwrite {
				return usageError{fmt.Errorf("%s already exists (pass --overwrite to replace the checkpoint in it)", out)}
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			m, err := model.New(cfg, t, seed)
			if err != nil {
				return err
			}
			if err := m.Save(out); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s: %s\n", out, cfg)
			return nil
		},
	}
	cmd.Flags().StringVar(&config, "config", "tiny", "size: "+strings.Join(model.ConfigNames(), ", ")+" (or gpt2, gpt2-medium, gpt2-large, gpt2-xl)")
	cmd.Flags().StringVar(&out, "out", "", "output directory")
	cmd.Flags().StringVar(&tok, "tokenizer", "gpt2", "gpt2, or a directory holding vocab.json and merges.txt")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "random seed for the initial weights")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace an existing checkpoint")
	return cmd
}

func (a *app) modelInfoCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info MODEL",
		Short: "Describe a checkpoint: architecture, parameter count, tokenizer, files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := model.Resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			m, err := model.Load(dir)
			if err != nil {
				return err
			}
			c := m.Config
			info := map[string]any{
				"dir": dir, "n_layer": c.NLayer, "n_head": c.NHead, "n_embd": c.NEmbd,
				"n_positions": c.NPositions, "vocab_size": c.VocabSize, "n_inner": c.Inner(),
				"parameters": c.NumParams(), "eos_token_id": c.EOSTokenID,
			}
			if m.Tokenizer != nil {
				info["tokenizer_hash"] = m.Tokenizer.Hash()
				info["tokenizer_vocab"] = m.Tokenizer.VocabSize()
			}
			var files []string
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && !fi.IsDir() {
					files = append(files, fmt.Sprintf("%s (%d bytes)", e.Name(), fi.Size()))
				}
			}
			info["files"] = files
			if asJSON {
				return writeJSONLine(a.stdout, info)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "model\t%s\n", dir)
			fmt.Fprintf(w, "architecture\t%s\n", c)
			fmt.Fprintf(w, "parameters\t%d\n", c.NumParams())
			if m.Tokenizer != nil {
				fmt.Fprintf(w, "tokenizer\t%d tokens, %s\n", m.Tokenizer.VocabSize(), m.Tokenizer.Hash())
			} else {
				fmt.Fprintf(w, "tokenizer\tnone (no vocab.json/merges.txt)\n")
			}
			for _, f := range files {
				fmt.Fprintf(w, "file\t%s\n", f)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// scoreResult is what `model score` prints.
type scoreResult struct {
	Model      string     `json:"model"`
	Tokens     int        `json:"tokens"`
	TokenIDs   []int32    `json:"token_ids"`
	LogProbs   []*float64 `json:"logprobs"` // null for the first token, which nothing predicts
	Scored     int        `json:"scored_tokens"`
	MeanLoss   float64    `json:"mean_loss"`
	Perplexity float64    `json:"perplexity"`
	Windows    int        `json:"windows"`
}

func (a *app) modelScoreCmd() *cobra.Command {
	var (
		modelRef, input, format string
		threads                 int
	)
	cmd := &cobra.Command{
		Use:   "score --model MODEL --input FILE",
		Short: "Print each token's log-probability and the mean loss of a text or token-id file as JSON",
		Long: `Score a text under the model. The input is a text file (encoded with the
model's tokenizer) or a JSON array of token ids (--format ids, or detected).
Inputs longer than the context are scored in windows of n_positions that
overlap by one token, so every token but the first is predicted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelRef == "" || input == "" {
				return usageError{errors.New("--model and --input are required")}
			}
			m, err := model.Open(cmd.Context(), modelRef)
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(input)
			if err != nil {
				return err
			}
			ids, err := scoreInput(raw, format, m)
			if err != nil {
				return fmt.Errorf("%s: %w", input, err)
			}
			cpu := kernels.NewCPU(threads)
			defer cpu.Close()
			res, err := score(cpu, m, ids)
			if err != nil {
				return err
			}
			res.Model = modelRef
			return writeJSONLine(a.stdout, res)
		},
	}
	cmd.Flags().StringVar(&modelRef, "model", "", "checkpoint directory or hf:org/name[@rev]")
	cmd.Flags().StringVar(&input, "input", "", "text file, or JSON array of token ids")
	cmd.Flags().StringVar(&format, "format", "auto", "auto, text or ids")
	cmd.Flags().IntVar(&threads, "threads", 0, "worker threads (0: all cores)")
	return cmd
}

// scoreInput turns the file into token ids.
func scoreInput(raw []byte, format string, m *model.Model) ([]int32, error) {
	trimmed := bytes.TrimSpace(raw)
	if format == "ids" || (format == "auto" && len(trimmed) > 0 && trimmed[0] == '[') {
		var ids []int32
		if err := json.Unmarshal(trimmed, &ids); err != nil {
			return nil, fmt.Errorf("not a JSON array of token ids: %w", err)
		}
		return ids, nil
	}
	if format != "auto" && format != "text" {
		return nil, usageError{fmt.Errorf("--format %q: want auto, text or ids", format)}
	}
	if m.Tokenizer == nil {
		return nil, errors.New("the model has no tokenizer to encode text; pass token ids")
	}
	var ids []int32
	for _, id := range m.Tokenizer.Encode(string(raw)) {
		ids = append(ids, int32(id))
	}
	return ids, nil
}

// score runs the model over ids in windows of the context length.
func score(cpu *kernels.CPU, m *model.Model, ids []int32) (*scoreResult, error) {
	if len(ids) < 2 {
		return nil, fmt.Errorf("need at least 2 tokens to score, got %d", len(ids))
	}
	T := min(m.Config.NPositions, len(ids)-1)
	eng, err := model.NewEngine(cpu, m.Params, model.EngineOptions{B: 1, T: T})
	if err != nil {
		return nil, err
	}
	res := &scoreResult{Tokens: len(ids), TokenIDs: ids, LogProbs: make([]*float64, len(ids))}
	var sum float64
	// Each window starts on the previous one's last token.
	for start := 0; start < len(ids)-1; {
		end := min(start+T+1, len(ids))
		b := model.Batch{B: 1, T: end - 1 - start, Inputs: ids[start : end-1], Targets: ids[start+1 : end]}
		if _, err := eng.Forward(b); err != nil {
			return nil, err
		}
		for i, nll := range eng.NLL() {
			lp := -float64(nll)
			res.LogProbs[start+1+i] = &lp
			sum += float64(nll)
			res.Scored++
		}
		res.Windows++
		start = end - 1
	}
	res.MeanLoss = sum / float64(res.Scored)
	res.Perplexity = math.Exp(res.MeanLoss)
	return res, nil
}
