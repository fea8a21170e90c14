package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/transforms"
)

func (a *app) tokenizerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokenizer",
		Short: "Encode, decode and train byte-level BPE tokenizers (GPT-2 compatible, Hugging Face files)",
	}
	cmd.AddCommand(a.tokenizerEncodeCmd(), a.tokenizerDecodeCmd(), a.tokenizerTrainCmd())
	return cmd
}

func (a *app) tokenizerEncodeCmd() *cobra.Command {
	spec := "gpt2"
	var ordinary bool
	cmd := &cobra.Command{
		Use:   "encode [TEXT...]",
		Short: "Print the token ids of TEXT (or of standard input) as a JSON array",
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := tokenizer.Open(spec)
			if err != nil {
				return err
			}
			text := strings.Join(args, " ")
			if len(args) == 0 {
				raw, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				text = string(raw)
			}
			ids := tok.Encode(text)
			if ordinary {
				ids = tok.EncodeOrdinary(text)
			}
			return writeJSONLine(a.stdout, ids)
		},
	}
	cmd.Flags().StringVar(&spec, "tokenizer", spec, "gpt2, or a directory holding vocab.json and merges.txt")
	cmd.Flags().BoolVar(&ordinary, "ordinary", false, "treat special-token text such as <|endoftext|> as plain text")
	return cmd
}

func (a *app) tokenizerDecodeCmd() *cobra.Command {
	spec := "gpt2"
	cmd := &cobra.Command{
		Use:   "decode [ID...]",
		Short: "Print the text of token ids given as arguments or as a JSON array on standard input",
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := tokenizer.Open(spec)
			if err != nil {
				return err
			}
			var ids []int
			if len(args) == 0 {
				raw, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				if err := json.Unmarshal(bytes.TrimSpace(raw), &ids); err != nil {
					return usageError{fmt.Errorf("standard input is not a JSON array of ids: %w", err)}
				}
			} else {
				for _, s := range args {
					id, err := strconv.Atoi(s)
					if err != nil {
						return usageError{fmt.Errorf("id %q is not an integer", s)}
					}
					ids = append(ids, id)
				}
			}
			text, err := tok.Decode(ids)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, text)
			return err
		},
	}
	cmd.Flags().StringVar(&spec, "tokenizer", spec, "gpt2, or a directory holding vocab.json and merges.txt")
	return cmd
}

func (a *app) tokenizerTrainCmd() *cobra.Command {
	opts := tokenizer.TrainOptions{VocabSize: 8192, MinFrequency: 2}
	var inputs []string
	var out string
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "train --input FILE... --vocab-size N --out DIR",
		Short: "Train a byte-level BPE tokenizer on cleaned, redacted conversations, for models trained from scratch",
		Long: `train learns a byte-level BPE vocabulary (GPT-2's algorithm and file format) from
conversations. Inputs are canonical JSONL (each conversation is cleaned and
redacted exactly as prepare does, so no PII enters the vocabulary, and rendered
with the chat template so role prefixes get tokens of their own) or plain text
(.txt, one document per line, also cleaned and redacted). The result is written
to DIR as Hugging Face vocab.json + merges.txt; pass DIR to prepare --tokenizer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(inputs) == 0 || out == "" {
				return usageError{errors.New("--input and --out are required")}
			}
			if _, err := os.Stat(out); err == nil && !overwrite {
				return fmt.Errorf("%s exists: pass --overwrite to replace it", out)
			}
			for _, in := range inputs {
				if _, err := os.Stat(in); err != nil {
					return fmt.Errorf("input %s: %w", in, errors.Unwrap(err))
				}
			}
			var readErr error
			texts := func(yield func(string) bool) {
				for _, in := range inputs {
					if readErr = trainingTexts(in, yield); readErr != nil {
						return
					}
				}
			}
			tok, err := tokenizer.Train(cmd.Context(), texts, opts)
			if err == nil {
				err = readErr
			}
			if err != nil {
				return err
			}
			if err := tok.Save(out); err != nil {
				return err
			}
			a.log.Info("tokenizer trained", "out", out, "vocab_size", tok.VocabSize(), "hash", tok.Hash())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&inputs, "input", "i", nil, "JSONL conversations or .txt file (repeatable)")
	f.StringVarP(&out, "out", "o", "", "directory to write vocab.json and merges.txt to")
	f.IntVar(&opts.VocabSize, "vocab-size", opts.VocabSize, "vocabulary size, including 256 byte tokens and <|endoftext|>")
	f.IntVar(&opts.MinFrequency, "min-frequency", opts.MinFrequency, "stop merging when the best pair occurs fewer times than this")
	f.BoolVar(&overwrite, "overwrite", false, "replace --out if it exists")
	return cmd
}

// trainingTexts yields the cleaned, redacted texts of one input file. JSONL
// lines that do not parse, and conversations prepare would filter, are
// skipped: the tokenizer should learn from what the model will see.
func trainingTexts(path string, yield func(string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	jsonl := !strings.HasSuffix(strings.ToLower(path), ".txt")
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var text string
		if jsonl {
			c, err := transforms.ParseJSONL(line)
			if err != nil {
				continue
			}
			clean, rep := transforms.Prepare(c, transforms.PrepareOptions{})
			if rep.Filtered != "" {
				continue
			}
			text = transforms.RenderPrompt(clean.Turns)
		} else {
			text, _ = transforms.Redact(transforms.CleanText(string(line)))
		}
		if !yield(text) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
