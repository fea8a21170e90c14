// Package pipelines builds and runs the data pipeline that turns support
// tickets into a tokenized Parquet dataset: read → parse → clean → redact →
// filter → tokenize → dedup → examples → split → write, as an Apache Beam
// graph (Prism in-process by default; Dataflow, Flink, Spark or any portable
// runner on request) or as a plain single-goroutine loop over the same
// functions, used as the reference and benchmark baseline.
//
// The per-record logic lives in transforms/; this package only moves records
// between those functions and the file system.
package pipelines

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nebras-ai/nebras/transforms"
)

// Input formats.
const (
	FormatAuto  = "auto"
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// Runner names accepted besides the Beam runners: the plain loop.
const (
	RunnerPrism = "prism"
	RunnerLoop  = "loop"
)

// Runners lists the accepted --runner values.
var Runners = []string{RunnerPrism, "dataflow", "flink", "spark", "universal", RunnerLoop}

// Options configure a prepare run. The zero value is not valid; start from
// DefaultOptions.
type Options struct {
	// Inputs are files or glob patterns, local or any scheme Beam's
	// filesystem package knows (gs://, s3://, memfs://).
	Inputs []string `json:"inputs"`
	// Output is the dataset directory.
	Output string `json:"output"`
	// Format is auto (by extension: .jsonl/.ndjson/.json or .csv, with an
	// optional .gz), jsonl or csv.
	Format string `json:"format"`
	// Tokenizer is "gpt2" (built in) or a directory with vocab.json and
	// merges.txt.
	Tokenizer string `json:"tokenizer"`
	// MaxSeqLen bounds every example's length in tokens.
	MaxSeqLen int `json:"max_seq_len"`
	// MaxTurnChars drops conversations holding a turn longer than this
	// many characters after cleaning: such turns are log dumps or pasted
	// documents, not conversation.
	MaxTurnChars int `json:"max_turn_chars"`
	// Split sets the train/val/test shares; SplitSalt changes the
	// assignment without changing the shares.
	Split     transforms.SplitRatios `json:"split"`
	SplitSalt string                 `json:"split_salt"`
	// Shards is the number of output shards per split; 0 picks one per
	// 64 MiB of input.
	Shards int `json:"shards"`
	// Runner is prism (default), dataflow, flink, spark, universal or loop.
	Runner string `json:"runner"`
	// Overwrite replaces a dataset already at Output.
	Overwrite bool `json:"-"`
}

// DefaultOptions returns options that prepare a GPT-2 dataset with 1024-token
// examples, GPT-2's context length.
func DefaultOptions() Options {
	return Options{
		Format:       FormatAuto,
		Tokenizer:    "gpt2",
		MaxSeqLen:    1024,
		MaxTurnChars: 8000,
		Split:        transforms.DefaultSplitRatios(),
		Runner:       RunnerPrism,
	}
}

// Validate checks every option and returns the first problem as a one-line
// error.
func (o Options) Validate() error {
	if len(o.Inputs) == 0 {
		return errors.New("no input: give at least one --input file or glob")
	}
	for _, in := range o.Inputs {
		if strings.TrimSpace(in) == "" {
			return errors.New("an --input is empty")
		}
	}
	if strings.TrimSpace(o.Output) == "" {
		return errors.New("no --output directory")
	}
	switch o.Format {
	case FormatAuto, FormatJSONL, FormatCSV:
	default:
		return fmt.Errorf("--format %q: want auto, jsonl or csv", o.Format)
	}
	if o.Tokenizer == "" {
		return errors.New("--tokenizer is empty: use gpt2 or a directory with vocab.json and merges.txt")
	}
	if o.MaxSeqLen < 16 || o.MaxSeqLen > 1<<20 {
		return fmt.Errorf("--max-seq-len %d: want 16..%d", o.MaxSeqLen, 1<<20)
	}
	if o.MaxTurnChars < 1 {
		return fmt.Errorf("--max-turn-chars %d: want at least 1", o.MaxTurnChars)
	}
	if err := o.Split.Validate(); err != nil {
		return fmt.Errorf("--split: %w", err)
	}
	if o.Shards < 0 || o.Shards > 10000 {
		return fmt.Errorf("--shards %d: want 0 (auto) to 10000", o.Shards)
	}
	known := false
	for _, r := range Runners {
		known = known || o.Runner == r
	}
	if !known {
		return fmt.Errorf("--runner %q: want one of %s", o.Runner, strings.Join(Runners, ", "))
	}
	return nil
}

// FormatOf returns the format of a file by its name when format is auto.
func FormatOf(path, format string) (string, error) {
	if format != FormatAuto {
		return format, nil
	}
	name := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".gzip"))
	switch {
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"), strings.HasSuffix(name, ".json"):
		return FormatJSONL, nil
	case strings.HasSuffix(name, ".csv"):
		return FormatCSV, nil
	}
	return "", fmt.Errorf("cannot tell the format of %s from its name: use --format jsonl or --format csv", path)
}
