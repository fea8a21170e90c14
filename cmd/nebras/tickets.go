package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/transforms/synth"
)

func (a *app) ticketsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tickets",
		Short: "Work with ticket files",
	}
	cmd.AddCommand(a.ticketsGenerateCmd())
	return cmd
}

func (a *app) ticketsGenerateCmd() *cobra.Command {
	o := synth.DefaultOptions()
	var out string
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "generate --n N --out FILE",
		Short: "Write realistic, messy synthetic support tickets (HTML, signatures, quotes, PII, duplicates, malformed lines)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{errors.New("--out is required (use - for standard output)")}
			}
			var rep synth.Report
			var err error
			if out == "-" {
				bw := bufio.NewWriter(a.stdout)
				if rep, err = synth.Generate(bw, o); err == nil {
					err = bw.Flush()
				}
			} else {
				err = writeFileAtomic(out, overwrite, func(w io.Writer) error {
					var gerr error
					rep, gerr = synth.Generate(w, o)
					return gerr
				})
			}
			if err != nil {
				return err
			}
			a.log.Info("tickets generated", "out", out, "format", o.Format, "conversations", rep.Conversations,
				"lines", rep.Lines, "duplicates", rep.Duplicates, "malformed", rep.Malformed)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.N, "n", "n", 1000, "number of conversations to generate")
	f.StringVarP(&out, "out", "o", "", "output file (- for standard output)")
	f.StringVar(&o.Format, "format", o.Format, "jsonl (canonical) or csv (help-desk export, one message per row)")
	f.Int64Var(&o.Seed, "seed", o.Seed, "random seed; the same seed writes the same bytes")
	f.BoolVar(&overwrite, "overwrite", false, "replace --out if it exists")
	return cmd
}

// writeFileAtomic writes path through a temp file in the same directory and
// renames it into place, so a crash never leaves a half-written file there.
func writeFileAtomic(path string, overwrite bool, write func(io.Writer) error) error {
	if _, err := os.Stat(path); err == nil && !overwrite {
		return fmt.Errorf("%s exists: pass --overwrite to replace it", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
