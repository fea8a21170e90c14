package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/training"
)

// TestTrainCommand runs nebras train end to end on a freshly prepared
// dataset: the config file sets values, flags override them, and the
// summary says where the model and the MLflow run are.
func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	tickets := filepath.Join(dir, "tickets.jsonl")
	if _, _, err := run(t, "tickets", "generate", "--n", "40", "--seed", "5", "--out", tickets); err != nil {
		t.Fatal(err)
	}
	ds := filepath.Join(dir, "ds")
	if _, _, err := run(t, "prepare", "--input", tickets, "--output", ds, "--max-seq-len", "128", "--runner", "loop"); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "train.yaml")
	os.WriteFile(cfgFile, []byte("base: scratch:tiny\nlr: 0.01\nmax_steps: 5\nbatch_size: 2\nseq_len: 32\neval_batches: 2\n"), 0o644)
	out := filepath.Join(dir, "run")
	mlruns := filepath.Join(dir, "mlruns")
	stdout, _, err := run(t, "train", "--config", cfgFile, "--data", ds, "--out", out, "--max-steps", "2",
		"--tracking-uri", mlruns, "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"trained 2 steps", "model:", filepath.Join(out, "model"), "mlflow run:", "registered:   nebras-support-bot version 1", "mlflow ui --backend-store-uri"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	saved, err := training.LoadConfig(filepath.Join(out, training.ConfigName))
	if err != nil {
		t.Fatal(err)
	}
	if saved.LR != 0.01 || saved.MaxSteps != 2 || saved.BatchSize != 2 || saved.Base != "scratch:tiny" {
		t.Errorf("resolved config: lr %g, max_steps %d, batch_size %d, base %s; want the file's values with --max-steps 2 over them", saved.LR, saved.MaxSteps, saved.BatchSize, saved.Base)
	}
	// The run shows up in runs list.
	list, _, err := run(t, "runs", "list", "--tracking-uri", mlruns)
	if err != nil || !strings.Contains(list, "tiny-full-lr0.01") {
		t.Errorf("runs list: %v\n%s", err, list)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", cfgFile, "--data", ds}, "--out"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml"), "--data", ds, "--out", out}, "missing.yaml"},
		{[]string{"--base", "scratch:tiny", "--data", ds, "--out", filepath.Join(dir, "r2"), "--lr", "-1"}, "learning rate"},
		{[]string{"--base", "scratch:tiny", "--data", ds, "--out", filepath.Join(dir, "r3"), "--device", "cuda"}, "CPU only"},
	} {
		_, _, err := run(t, append([]string{"train"}, c.args...)...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("train %v: %v, want a usage error mentioning %q", c.args, err, c.want)
		}
	}
}
