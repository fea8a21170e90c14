package training

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nebras-ai/nebras/model"
)

// Config is everything a training run depends on. It is read from a YAML
// file (keys as the yaml tags below), overridden by flags of the same
// names with dashes, and logged to MLflow whole, resolved.
type Config struct {
	// Data is the prepared dataset directory (manifest.json inside).
	Data string `yaml:"data"`
	// Base is the model to start from: a local Hugging Face directory,
	// hf:org/name[@rev], models:/NAME@ALIAS or models:/NAME/VERSION, or
	// scratch:tiny|small|124M|... for a random GPT-2 with the dataset's
	// tokenizer.
	Base string `yaml:"base"`
	// Out is the run directory: the final model in model/, LoRA adapters
	// in adapter/, checkpoints in checkpoints/.
	Out string `yaml:"out"`

	Device  string `yaml:"device"`  // cpu; cuda once the engine has a CUDA backend
	Threads int    `yaml:"threads"` // 0: every core
	Seed    uint64 `yaml:"seed"`

	// Budget: the run stops at whichever comes first. With neither
	// max_steps nor epochs set, it trains one epoch.
	MaxSteps   int     `yaml:"max_steps"`
	Epochs     float64 `yaml:"epochs"`
	MaxMinutes float64 `yaml:"max_minutes"`

	BatchSize int  `yaml:"batch_size"` // sequences per micro-batch
	GradAccum int  `yaml:"grad_accum"` // micro-batches per optimizer step
	SeqLen    int  `yaml:"seq_len"`    // T
	Pack      bool `yaml:"pack"`       // concatenate examples into full rows (else pad one per row)

	LR          float64 `yaml:"lr"`
	MinLRRatio  float64 `yaml:"min_lr_ratio"` // the decay ends at lr·min_lr_ratio
	Schedule    string  `yaml:"schedule"`     // cosine, linear or constant
	WarmupSteps int     `yaml:"warmup_steps"` // -1: 5% of the steps, at most 100
	WeightDecay float64 `yaml:"weight_decay"`
	Beta1       float64 `yaml:"beta1"`
	Beta2       float64 `yaml:"beta2"`
	AdamEps     float64 `yaml:"adam_eps"`
	GradClip    float64 `yaml:"grad_clip"` // max global gradient norm; 0: no clipping

	EvalEvery       int `yaml:"eval_every"`              // optimizer steps between val evaluations; 0: only at the end
	EvalBatches     int `yaml:"eval_batches"`            // val batches per evaluation; 0: the whole split
	Patience        int `yaml:"early_stopping_patience"` // stop after this many evaluations without a better val loss; 0: never
	CheckpointEvery int `yaml:"checkpoint_every"`        // optimizer steps between checkpoints (also after each evaluation)

	LoRARank    int      `yaml:"lora_rank"` // 0: full fine-tuning
	LoRAAlpha   float64  `yaml:"lora_alpha"`
	LoRATargets []string `yaml:"lora_targets"`

	TrackingURI   string `yaml:"tracking_uri"` // "": $MLFLOW_TRACKING_URI, else ./mlruns
	Experiment    string `yaml:"experiment"`   // "": $MLFLOW_EXPERIMENT_NAME, else nebras
	RunName       string `yaml:"run_name"`
	ParentRunID   string `yaml:"parent_run_id"` // nest under a pipeline run
	RegisterAs    string `yaml:"register_as"`   // registered model to add a version to
	Register      bool   `yaml:"register"`
	ArtifactMaxMB int    `yaml:"artifact_max_mb"` // larger models are logged as a pointer with sha256s
}

// DefaultConfig trains something sensible on the demo data in minutes.
func DefaultConfig() Config {
	return Config{
		Device: "cpu", Seed: 1,
		BatchSize: 8, GradAccum: 1, SeqLen: 256, Pack: true,
		LR: 3e-4, MinLRRatio: 0.1, Schedule: "cosine", WarmupSteps: -1,
		WeightDecay: model.DefaultAdamW.WeightDecay, Beta1: model.DefaultAdamW.Beta1,
		Beta2: model.DefaultAdamW.Beta2, AdamEps: model.DefaultAdamW.Eps, GradClip: 1,
		EvalEvery: 100, EvalBatches: 50, Patience: 5, CheckpointEvery: 100,
		LoRAAlpha: 16, LoRATargets: append([]string(nil), model.DefaultLoRATargets...),
		RegisterAs: "nebras-support-bot", Register: true, ArtifactMaxMB: 1024,
	}
}

// LoadConfig reads a YAML config file over the defaults. Unknown keys are
// errors (a typo must not silently train with a default), with the line.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return c, nil
}

// YAML renders the config as a file LoadConfig reads back: the resolved
// config of a run, saved beside it and logged to MLflow.
func (c Config) YAML() []byte {
	b, err := yaml.Marshal(c)
	if err != nil { // plain fields only: cannot happen
		panic(err)
	}
	return b
}

// LoRA reports whether the run trains LoRA adapters rather than the whole
// model.
func (c Config) LoRA() bool { return c.LoRARank > 0 }

// Validate checks everything that can be checked before a run starts, one
// precise message per problem (the first found).
func (c Config) Validate() error {
	pos := func(name string, v int) error {
		if v < 1 {
			return fmt.Errorf("%s %d: want at least 1", name, v)
		}
		return nil
	}
	nonNeg := func(name string, v float64) error {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s %g: want 0 or more", name, v)
		}
		return nil
	}
	switch {
	case c.Data == "":
		return errors.New("data: the prepared dataset directory is required (--data)")
	case c.Base == "":
		return errors.New("base: the model to start from is required (--base DIR|hf:org/name|models:/NAME@ALIAS|scratch:SIZE)")
	case c.Out == "":
		return errors.New("out: the run directory is required (--out)")
	}
	if c.Device != "cpu" {
		if c.Device == "cuda" || strings.HasPrefix(c.Device, "cuda:") {
			return fmt.Errorf("device %q: this build's engine runs on the CPU only; the CUDA backend is not there yet (use --device cpu)", c.Device)
		}
		return fmt.Errorf("device %q: want cpu", c.Device)
	}
	for _, err := range []error{
		pos("batch_size", c.BatchSize), pos("grad_accum", c.GradAccum), pos("seq_len", c.SeqLen),
		nonNeg("epochs", c.Epochs), nonNeg("max_minutes", c.MaxMinutes), nonNeg("weight_decay", c.WeightDecay),
		nonNeg("grad_clip", c.GradClip),
	} {
		if err != nil {
			return err
		}
	}
	switch {
	case c.Threads < 0:
		return fmt.Errorf("threads %d: want 0 (every core) or more", c.Threads)
	case c.MaxSteps < 0:
		return fmt.Errorf("max_steps %d: want 0 (no limit) or more", c.MaxSteps)
	case c.WarmupSteps < -1:
		return fmt.Errorf("warmup_steps %d: want -1 (automatic) or more", c.WarmupSteps)
	case c.EvalEvery < 0 || c.EvalBatches < 0 || c.Patience < 0 || c.CheckpointEvery < 0:
		return errors.New("eval_every, eval_batches, early_stopping_patience and checkpoint_every must not be negative")
	case !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("beta1 %g, beta2 %g: want numbers in [0, 1)", c.Beta1, c.Beta2)
	case !(c.AdamEps > 0):
		return fmt.Errorf("adam_eps %g: want a positive number", c.AdamEps)
	case c.LoRARank < 0:
		return fmt.Errorf("lora_rank %d: want 0 (full fine-tuning) or more", c.LoRARank)
	case c.ArtifactMaxMB < 0:
		return fmt.Errorf("artifact_max_mb %d: want 0 or more", c.ArtifactMaxMB)
	case c.Register && c.RegisterAs == "":
		return errors.New("register_as: a registered model name is required when registering")
	}
	if err := (Schedule{Kind: c.Schedule, Peak: c.LR, MinRatio: c.MinLRRatio, Total: 1}).Validate(); err != nil {
		return err
	}
	if c.LoRA() {
		if err := (model.LoRAConfig{Rank: c.LoRARank, Alpha: c.LoRAAlpha, Targets: c.LoRATargets}).Validate(); err != nil {
			return err
		}
	}
	return nil
}
