package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/continual"
	"github.com/nebras-ai/nebras/orchestrate"
)

// cycleFlags are the flags retrain and watch share.
type cycleFlags struct {
	file, workDir, inputRoot, since string
	minNew                          int
	replay                          float64
	quiet                           bool
}

func (f *cycleFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.inputRoot, "input-root", "", "directory of ticket partitions (ROOT/date=YYYY-MM-DD/*.jsonl[.gz], or any sub-directory)")
	fs.StringVar(&f.file, "config", "", "pipeline config (YAML), read over the embedded defaults; its data section is replaced by the new partitions")
	fs.StringVar(&f.workDir, "work-dir", "", "work directory (overrides work_dir in the config); the state is WORK/continual/state.json")
	fs.StringVar(&f.since, "since", "", "ignore partitions named date=YYYY-MM-DD before this date")
	fs.IntVar(&f.minNew, "min-new-conversations", 1, "do nothing until the new partitions hold at least this many conversations")
	fs.Float64Var(&f.replay, "replay-ratio", continual.DefaultReplayRatio, "conversations replayed from consumed partitions per new conversation (0 to 100; 0: none)")
	fs.BoolVar(&f.quiet, "quiet", false, "no training progress display")
}

// resolve checks the flags and reads the config; its errors are usage
// errors.
func (f *cycleFlags) resolve(cmd *cobra.Command, a *app) (*orchestrate.Config, continual.Options, error) {
	var opt continual.Options
	if f.inputRoot == "" {
		return nil, opt, usageError{errors.New("--input-root is required")}
	}
	if f.since != "" {
		t, err := time.Parse(continual.DateLayout, f.since)
		if err != nil {
			return nil, opt, usageError{fmt.Errorf("--since %q: want a date YYYY-MM-DD", f.since)}
		}
		opt.Since = t
	}
	opt.InputRoot, opt.MinNewConversations, opt.ReplayRatio = f.inputRoot, f.minNew, f.replay
	if err := opt.Validate(); err != nil {
		return nil, opt, usageError{err}
	}
	cfg, err := pipelineConfig(cmd, f.file, f.workDir)
	if err != nil {
		return nil, opt, err
	}
	opt.Run = a.pipelineOptions(f.quiet)
	return cfg, opt, nil
}

const cycleHelp = `A cycle looks for partitions under --input-root it has not consumed (new,
or changed since) and, when they hold at least --min-new-conversations
conversations, runs the pipeline (see nebras run) on them plus a
deterministic replay sample of conversations from partitions consumed
before: it prepares only those files, fine-tunes the current production
version (models:/NAME@production, pinned by number; before the first
promotion, the config's train.base), evaluates the candidate against
production on a fixed held-out set (the first cycle's dataset) and
promotes it only when the gate blesses it.

WORK/continual/state.json records the consumed partitions (name and
content hash), the cycle and version that consumed them and the outcome;
it is written only when a cycle's outcome is final, so a cycle that fails
or is killed changes nothing and the next one resumes it (finished stages
are cached). Reprocessing the same input does nothing.`

func (a *app) retrainCmd() *cobra.Command {
	var f cycleFlags
	cmd := &cobra.Command{
		Use:   "retrain --input-root DIR [--config pipeline.yaml] [--since DATE] [--min-new-conversations N]",
		Short: "Run one continual-learning cycle on the new ticket partitions (for cron or CI)",
		Long: cycleHelp + `

Exit status: 0 when the cycle finished, whether it promoted, refused the
candidate or had nothing to do; 1 when a stage failed; 2 for a usage or
config error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, opt, err := f.resolve(cmd, a)
			if err != nil {
				return err
			}
			res, err := continual.Cycle(cmd.Context(), cfg, opt)
			if res != nil {
				if werr := res.Write(a.stdout); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) watchCmd() *cobra.Command {
	var (
		f        cycleFlags
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch --input-root DIR [--config pipeline.yaml] [--interval 10m] [--min-new-conversations N]",
		Short: "Run continual-learning cycles on an interval until stopped (SIGTERM or Ctrl-C)",
		Long: cycleHelp + `

watch runs a cycle at once and then every --interval until it receives
SIGTERM or an interrupt; a failing cycle is reported and retried on the
next tick. A serving process following models:/NAME@production picks up
each promotion by itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 {
				return usageError{fmt.Errorf("--interval %s: want a positive duration", interval)}
			}
			cfg, opt, err := f.resolve(cmd, a)
			if err != nil {
				return err
			}
			return continual.Watch(cmd.Context(), cfg, opt, interval, func(res *continual.Result, err error) {
				if res != nil {
					if werr := res.Write(a.stdout); werr != nil {
						a.log.Warn("cycle summary not written", "err", werr)
					}
				}
				if err != nil {
					a.log.Error("cycle failed; the next one resumes it", "err", err)
				}
			})
		},
	}
	f.add(cmd)
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Minute, "time between cycles")
	return cmd
}
