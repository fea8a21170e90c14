package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nebras-ai/nebras/pipelines"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/transforms"
)

func (a *app) prepareCmd() *cobra.Command {
	o := pipelines.DefaultOptions()
	split := "0.9,0.05,0.05"
	cmd := &cobra.Command{
		Use:   "prepare --input FILE|GLOB... --output DIR",
		Short: "Clean, redact and tokenize support conversations into a Parquet dataset",
		Long: `prepare reads support conversations (canonical JSONL, or a help-desk CSV export
with one message per row; plain or gzip; local paths or gs://), cleans,
redacts, filters, dedups and tokenizes them, and writes train/val/test Parquet
shards with a manifest.json, written last. Malformed records go to
OUTPUT/rejected/ with their reason and file:line; the run still succeeds.

It runs on Apache Beam's Prism runner in this process by default. With
--runner=dataflow|flink|spark|universal, Beam's own flags pass through, e.g.
  --project --region --temp_location --staging_location (Dataflow)
  --endpoint --environment_type --environment_config (portable runners)
  --worker_binary (a linux/amd64 build of this binary for the workers)
--runner=loop runs the same transforms as a plain single-goroutine loop.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := parseSplit(split)
			if err != nil {
				return usageError{err}
			}
			o.Split = r
			res, err := pipelines.Run(cmd.Context(), o, a.log)
			if err != nil {
				return err
			}
			printSummary(a.stdout, res, o.Runner)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Inputs, "input", "i", nil, "input file or glob pattern (repeatable); .gz is read transparently")
	f.StringVarP(&o.Output, "output", "o", "", "dataset directory to create")
	f.StringVar(&o.Format, "format", o.Format, "input format: auto (by extension), jsonl or csv")
	f.StringVar(&o.Tokenizer, "tokenizer", o.Tokenizer, "gpt2, or a directory holding vocab.json and merges.txt")
	f.IntVar(&o.MaxSeqLen, "max-seq-len", o.MaxSeqLen, "maximum tokens per example; older context is cut from the left to fit")
	f.IntVar(&o.MaxTurnChars, "max-turn-chars", o.MaxTurnChars, "drop conversations with a turn longer than this many characters after cleaning")
	f.StringVar(&split, "split", split, "train,val,test shares, summing to 1")
	f.StringVar(&o.SplitSalt, "split-salt", "", "salt for the split hash (changes which conversations go where)")
	f.IntVar(&o.Shards, "shards", 0, "output shards per split (0: one per 64 MiB of input)")
	f.StringVar(&o.Runner, "runner", o.Runner, "prism, dataflow, flink, spark, universal, or loop")
	f.BoolVar(&o.Overwrite, "overwrite", false, "replace a dataset already at --output")
	addBeamFlags(f)
	return cmd
}

// addBeamFlags exposes the flags Beam's runner packages registered on the Go
// flag set (hidden from help, documented in the README), so runner options
// reach Beam unchanged.
func addBeamFlags(f *pflag.FlagSet) {
	flag.CommandLine.VisitAll(func(gf *flag.Flag) {
		if f.Lookup(gf.Name) != nil || strings.HasPrefix(gf.Name, "test.") {
			return
		}
		pf := pflag.PFlagFromGoFlag(gf)
		pf.Hidden = true
		f.AddFlag(pf)
	})
}

func parseSplit(s string) (transforms.SplitRatios, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return transforms.SplitRatios{}, fmt.Errorf("--split %q: want three shares train,val,test such as 0.9,0.05,0.05", s)
	}
	var v [3]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return transforms.SplitRatios{}, fmt.Errorf("--split %q: %q is not a number", s, p)
		}
		v[i] = x
	}
	r := transforms.SplitRatios{Train: v[0], Val: v[1], Test: v[2]}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("--split: %w", err)
	}
	return r, nil
}

// printSummary prints the table a data engineer reads after a run.
func printSummary(w io.Writer, res *pipelines.Result, runner string) {
	m := res.Manifest
	c := m.Counts
	fmt.Fprintf(w, "Dataset written to %s in %s (runner %s, tokenizer %s)\n\n", res.Dir, res.Elapsed.Round(1e7), runner, m.Tokenizer.Spec)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "records read\t%s\t%s\n", num(c.Read), fmt.Sprintf("%d input file(s)", len(m.Inputs)))
	fmt.Fprintf(tw, "  kept\t%s\t\n", num(c.Kept))
	fmt.Fprintf(tw, "  filtered\t%s\t%s\n", num(sum(c.Filtered)), breakdown(c.Filtered))
	fmt.Fprintf(tw, "  duplicates\t%s\t\n", num(c.Duplicates))
	fmt.Fprintf(tw, "  rejected\t%s\t%s\n", num(sum(c.Rejected)), breakdown(c.Rejected))
	fmt.Fprintf(tw, "redactions\t%s\t%s\n", num(sum(c.Redactions)), breakdown(c.Redactions))
	if c.IDCollisions > 0 {
		fmt.Fprintf(tw, "id collisions\t%s\tdistinct conversations sharing an id; example ids get ~2, ~3, ...\n", num(c.IDCollisions))
	}
	if n := sum(c.TurnsDropped); n > 0 {
		fmt.Fprintf(tw, "turns dropped\t%s\t%s\n", num(n), breakdown(c.TurnsDropped))
	}
	if n := sum(c.ExamplesDropped); n > 0 {
		fmt.Fprintf(tw, "examples dropped\t%s\t%s\n", num(n), breakdown(c.ExamplesDropped))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "split\tconversations\texamples\ttokens\treply tokens\tfiles\t")
	var tot dataset.SplitInfo
	for _, s := range transforms.Splits {
		si := m.Splits[string(s)]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t\n", s, num(si.Conversations), num(si.Rows), num(si.Tokens), num(si.TargetTokens), len(si.Files))
		tot.Conversations += si.Conversations
		tot.Rows += si.Rows
		tot.Tokens += si.Tokens
		tot.TargetTokens += si.TargetTokens
		tot.Files = append(tot.Files, si.Files...)
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t%s\t%s\t%d\t\n", num(tot.Conversations), num(tot.Rows), num(tot.Tokens), num(tot.TargetTokens), len(tot.Files))
	tw.Flush()
	if n := sum(c.Rejected); n > 0 {
		fmt.Fprintf(w, "\n%d rejected record(s) with reasons and file:line in %s/%s/\n", n, res.Dir, dataset.RejectedDir)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// breakdown renders a reason→count map largest first.
func breakdown(m map[string]int64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s", k, num(m[k])))
	}
	return strings.Join(parts, ", ")
}

// num formats an integer with thousands separators.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
