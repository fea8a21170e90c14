package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/orchestrate"
	"github.com/nebras-ai/nebras/training"
)

func (a *app) runCmd() *cobra.Command {
	var (
		file, workDir string
		printDefaults bool
		force         []string
		quiet         bool
	)
	cmd := &cobra.Command{
		Use:   "run [--config pipeline.yaml] [--force STAGE|all] [--work-dir DIR] [--print-defaults]",
		Short: "Run the whole pipeline (tickets → prepare → train → eval → gate → promote), skipping what is unchanged",
		Long: `Run the pipeline as one MLflow parent run with a child run per stage:
tickets (synthetic data only), prepare, train, eval with the promotion gate,
and promote. Each stage's outputs are stored in the work directory under a
key hashing its settings and inputs; a stage whose key already has a
complete record is skipped, as a build cache skips an unchanged target
(--force STAGE or --force all runs it again). Without --config the embedded
defaults run the demo; --print-defaults prints them, every field documented.

The summary at the end says what ran and what was skipped, the gate's
decision and the version in production; WORK/last-run.json says the same
for machines.

Exit status: 0 when every stage worked, whether or not the gate blessed the
candidate (read "blessed" in last-run.json); 1 when a stage failed (the
message names it: "nebras: stage train: ..."); 2 for a usage or config
error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printDefaults {
				_, err := a.stdout.Write(orchestrate.Defaults())
				return err
			}
			if err := orchestrate.CheckForce(force); err != nil {
				return usageError{err}
			}
			cfg, err := pipelineConfig(cmd, file, workDir)
			if err != nil {
				return err
			}
			opt := a.pipelineOptions(quiet)
			opt.Force = force
			sum, err := orchestrate.Run(cmd.Context(), cfg, opt)
			if sum != nil {
				if werr := sum.Write(a.stdout); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "config", "", "pipeline config (YAML), read over the embedded defaults")
	f.BoolVar(&printDefaults, "print-defaults", false, "print the embedded default config, every field documented, and exit")
	f.StringSliceVar(&force, "force", nil, "run this stage even if its output is cached (tickets, prepare, train, eval, promote or all; repeatable)")
	f.StringVar(&workDir, "work-dir", "", "work directory (overrides work_dir in the config)")
	f.BoolVar(&quiet, "quiet", false, "no training progress display")
	return cmd
}

// pipelineConfig reads --config over the embedded defaults (the defaults
// alone without it) and applies --work-dir: nebras run, retrain and watch
// share it. Its errors are usage errors.
func pipelineConfig(cmd *cobra.Command, file, workDir string) (*orchestrate.Config, error) {
	var cfg *orchestrate.Config
	var err error
	if file != "" {
		cfg, err = orchestrate.LoadConfig(file)
	} else {
		cfg, err = orchestrate.DefaultConfig()
	}
	if err != nil {
		return nil, usageError{err}
	}
	if cmd.Flags().Changed("work-dir") {
		if workDir == "" {
			return nil, usageError{errors.New("--work-dir is empty")}
		}
		cfg.WorkDir = workDir
	}
	return cfg, nil
}

// pipelineOptions logs to the command's logger and, unless quiet, shows
// training's progress on standard error.
func (a *app) pipelineOptions(quiet bool) orchestrate.Options {
	opt := orchestrate.Options{Log: a.log}
	if !quiet {
		opt.Progress = a.stderr
		if f, ok := a.stderr.(*os.File); ok {
			opt.Terminal = training.IsTerminal(f)
		}
	}
	return opt
}
