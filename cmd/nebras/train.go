package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nebras-ai/nebras/training"
)

// bindTrainFlags registers one flag per Config field, named as its YAML
// key with dashes, bound to c.
func bindTrainFlags(fs *pflag.FlagSet, c *training.Config) {
	fs.StringVar(&c.Data, "data", c.Data, "prepared dataset directory (manifest.json inside)")
	fs.StringVar(&c.Base, "base", c.Base, "model to start from: DIR, hf:org/name[@rev], models:/NAME@ALIAS, models:/NAME/VERSION or scratch:tiny|small|124M|...")
	fs.StringVar(&c.Out, "out", c.Out, "run directory: model/, adapter/, checkpoints/, loss.png")
	fs.StringVar(&c.Device, "device", c.Device, "device: cpu (cuda when the engine gains its CUDA backend)")
	fs.IntVar(&c.Threads, "threads", c.Threads, "CPU threads (0: every core)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed for initialisation, LoRA and the data order")
	fs.IntVar(&c.MaxSteps, "max-steps", c.MaxSteps, "stop after this many optimizer steps (0: no limit)")
	fs.Float64Var(&c.Epochs, "epochs", c.Epochs, "passes over the training split (default 1 when --max-steps is not set)")
	fs.Float64Var(&c.MaxMinutes, "max-minutes", c.MaxMinutes, "stop after this many minutes of training (0: no limit)")
	fs.IntVar(&c.BatchSize, "batch-size", c.BatchSize, "sequences per micro-batch")
	fs.IntVar(&c.GradAccum, "grad-accum", c.GradAccum, "micro-batches per optimizer step")
	fs.IntVar(&c.SeqLen, "seq-len", c.SeqLen, "tokens per sequence")
	fs.BoolVar(&c.Pack, "pack", c.Pack, "pack examples into full sequences (--pack=false: one example per sequence, padded)")
	fs.Float64Var(&c.LR, "lr", c.LR, "peak learning rate")
	fs.Float64Var(&c.MinLRRatio, "min-lr-ratio", c.MinLRRatio, "the decay ends at lr times this")
	fs.StringVar(&c.Schedule, "schedule", c.Schedule, "learning-rate decay after warm-up: cosine, linear or constant")
	fs.IntVar(&c.WarmupSteps, "warmup-steps", c.WarmupSteps, "linear warm-up steps (-1: 5% of the steps, at most 100)")
	fs.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "AdamW decoupled weight decay")
	fs.Float64Var(&c.Beta1, "beta1", c.Beta1, "AdamW beta1")
	fs.Float64Var(&c.Beta2, "beta2", c.Beta2, "AdamW beta2")
	fs.Float64Var(&c.AdamEps, "adam-eps", c.AdamEps, "AdamW epsilon")
	fs.Float64Var(&c.GradClip, "grad-clip", c.GradClip, "clip the global gradient norm to this (0: no clipping)")
	fs.IntVar(&c.EvalEvery, "eval-every", c.EvalEvery, "evaluate on the val split every N steps (0: only at the end)")
	fs.IntVar(&c.EvalBatches, "eval-batches", c.EvalBatches, "val batches per evaluation (0: the whole split)")
	fs.IntVar(&c.Patience, "early-stopping-patience", c.Patience, "stop after N evaluations without a better val loss (0: never)")
	fs.IntVar(&c.CheckpointEvery, "checkpoint-every", c.CheckpointEvery, "checkpoint every N steps (and after each evaluation)")
	fs.IntVar(&c.LoRARank, "lora-rank", c.LoRARank, "train LoRA adapters of this rank instead of the whole model (0: full fine-tuning)")
	fs.Float64Var(&c.LoRAAlpha, "lora-alpha", c.LoRAAlpha, "LoRA alpha (the update is scaled by alpha/rank)")
	fs.StringSliceVar(&c.LoRATargets, "lora-targets", c.LoRATargets, "modules LoRA adapts: c_attn, c_proj, c_fc")
	fs.StringVar(&c.TrackingURI, "tracking-uri", c.TrackingURI, "MLflow tracking URI (default $MLFLOW_TRACKING_URI, else ./mlruns)")
	fs.StringVar(&c.Experiment, "experiment", c.Experiment, "MLflow experiment (default $MLFLOW_EXPERIMENT_NAME, else nebras)")
	fs.StringVar(&c.RunName, "run-name", c.RunName, "MLflow run name (default: base, method and lr)")
	fs.StringVar(&c.ParentRunID, "parent-run-id", c.ParentRunID, "nest the run under this MLflow run")
	fs.StringVar(&c.RegisterAs, "register-as", c.RegisterAs, "registered model to add the result to as a new version")
	fs.BoolVar(&c.Register, "register", c.Register, "register the result in the MLflow model registry")
	fs.IntVar(&c.ArtifactMaxMB, "artifact-max-mb", c.ArtifactMaxMB, "models larger than this are logged as a pointer with sha256s, not uploaded")
}

// trainConfig is the config a train command runs with: defaults, then the
// --config file, then the flags given on the command line.
func trainConfig(cmd *cobra.Command, file string) (training.Config, error) {
	cfg := training.DefaultConfig()
	if file != "" {
		var err error
		if cfg, err = training.LoadConfig(file); err != nil {
			return cfg, usageError{err}
		}
	}
	// Re-apply each flag the user set onto the file's config, through a
	// flag set bound to it, so flag values parse exactly as they did.
	over := pflag.NewFlagSet("override", pflag.ContinueOnError)
	bindTrainFlags(over, &cfg)
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		target := over.Lookup(f.Name)
		if target == nil || err != nil {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			err = target.Value.(pflag.SliceValue).Replace(sv.GetSlice())
			return
		}
		err = target.Value.Set(f.Value.String())
	})
	return cfg, err
}

func (a *app) trainCmd() *cobra.Command {
	var (
		file              string
		resume, overwrite bool
		quiet             bool
	)
	flagCfg := training.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "train --data DATASET --base MODEL --out RUN_DIR [--config train.yaml]",
		Short: "Fine-tune GPT-2 on a prepared dataset, tracked in MLflow, resumable",
		Long: `Fine-tune GPT-2 (full or LoRA) on a prepared dataset. The run is tracked in
MLflow (params, dataset input, per-step metrics, artifacts) and the result is
registered as a new model version. Flags override the --config file. SIGINT
or SIGTERM stops after writing a checkpoint; --resume continues bit for bit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := trainConfig(cmd, file)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			opt := training.Options{Log: a.log, Resume: resume, Overwrite: overwrite}
			if !quiet {
				opt.Progress = a.stderr
				if f, ok := a.stderr.(*os.File); ok {
					opt.Terminal = training.IsTerminal(f)
				}
			}
			res, err := training.Train(cmd.Context(), cfg, opt)
			if errors.Is(err, training.ErrInterrupted) {
				fmt.Fprintf(a.stdout, "interrupted; continue with: nebras train --resume --out %s%s\n", cfg.Out, configHint(file))
				return err
			}
			if err != nil {
				return err
			}
			printTrainResult(a, cfg, res)
			return nil
		},
	}
	bindTrainFlags(cmd.Flags(), &flagCfg)
	cmd.Flags().StringVar(&file, "config", "", "YAML file of the same settings (keys as the flags with underscores); flags override it")
	cmd.Flags().BoolVar(&resume, "resume", false, "continue the run in --out from its latest checkpoint")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace an earlier run in --out")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress display")
	return cmd
}

func configHint(file string) string {
	if file == "" {
		return " (and the same flags)"
	}
	return " --config " + file
}

func printTrainResult(a *app, cfg training.Config, res *training.Result) {
	w := a.stdout
	fmt.Fprintf(w, "trained %d steps (%s), %.0f tokens/s; final train loss %.4f\n", res.Steps, res.Stopped, res.TokensPerSecond, res.TrainLoss)
	if res.BestStep > 0 {
		fmt.Fprintf(w, "val loss %.4f, perplexity %.2f (best evaluation, step %d)\n", res.ValLoss, res.ValPerplexity, res.BestStep)
		fmt.Fprintf(w, "whole val split: perplexity %.2f; unigram baseline %.2f\n", res.FullValPerplexity, res.UnigramPerplexity)
	}
	fmt.Fprintf(w, "model:        %s\n", res.ModelDir)
	if res.AdapterDir != "" {
		fmt.Fprintf(w, "adapters:     %s\n", res.AdapterDir)
	}
	fmt.Fprintf(w, "mlflow run:   %s (experiment %q) in %s\n", res.RunID, res.ExperimentName, res.TrackingURI)
	if res.Version != "" {
		fmt.Fprintf(w, "registered:   %s version %s (no alias moved; promotion is eval's job)\n", res.RegisteredModel, res.Version)
	}
	if strings.HasPrefix(res.TrackingURI, "file:") {
		root := strings.TrimPrefix(res.TrackingURI, "file://")
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, root); err == nil && !strings.HasPrefix(rel, "..") {
				root = "./" + rel
			}
		}
		fmt.Fprintf(w, "see it:       MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri %s\n", root)
	}
	fmt.Fprintf(w, "overhead:     %.1f%% of step time outside forward/backward/optimizer\n", 100*res.Timing.Overhead())
}
