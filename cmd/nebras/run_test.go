package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/orchestrate"
)

func TestRunPrintDefaults(t *testing.T) {
	out, _, err := run(t, "run", "--print-defaults")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(orchestrate.Defaults()) {
		t.Errorf("--print-defaults printed something else than the embedded defaults:\n%s", out)
	}
	if !strings.Contains(out, "# work_dir holds") || !strings.Contains(out, "max_steps: 150") {
		t.Errorf("the defaults lack their comments or the demo's settings:\n%s", out)
	}
}

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where the default work_dir would go
	bad := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(bad, []byte("train:\n  batch_size: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--config", bad}, bad + ":2: train.batch_size: 0: want at least 1"},
		{[]string{"run", "--config", filepath.Join(dir, "none.yaml")}, "config: open "},
		{[]string{"run", "--force", "training"}, `--force "training": want one of tickets, prepare, train, eval, promote or all`},
		{[]string{"run", "--work-dir", ""}, "--work-dir is empty"},
	}
	for _, tc := range cases {
		_, _, err := run(t, tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat("nebras-work"); err == nil {
		t.Error("a config error created the work directory")
	}
}

// TestRunCommand runs a tiny pipeline twice through the CLI: the first
// run does every stage and promotes, the second skips them all; a
// failing stage is named in the error.
func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	cfg := filepath.Join(dir, "pipeline.yaml")
	write := func(extra string) {
		t.Helper()
		src := fmt.Sprintf(`tracking: {uri: %s}
data:
  synthetic: {n: 40, seed: 5}
prepare: {runner: loop, max_seq_len: 128}
eval: {max_examples: 2, max_new_tokens: 4, ppl_batches: 1}
train:
  max_steps: 2
  batch_size: 2
  seq_len: 32
  eval_every: 0
  eval_batches: 1
%s`, filepath.Join(dir, "mlruns"), extra)
		if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	work := filepath.Join(dir, "work")
	out, _, err := run(t, "run", "--config", cfg, "--work-dir", work, "--quiet")
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	for _, want := range []string{"5 ran, 0 skipped", "gate:        BLESSED", "nebras-support-bot@production is version 1",
		"report:      " + work, filepath.Join(work, "last-run.json")} {
		if !strings.Contains(out, want) {
			t.Errorf("first summary lacks %q:\n%s", want, out)
		}
	}
	out, _, err = run(t, "run", "--config", cfg, "--work-dir", work, "--quiet")
	if err != nil || !strings.Contains(out, "0 ran, 5 skipped") || !strings.Contains(out, "is version 1") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(work, "last-run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var last orchestrate.Summary
	if err := json.Unmarshal(b, &last); err != nil || last.ProductionVersion != "1" || last.Blessed == nil || !*last.Blessed {
		t.Errorf("last-run.json: %v %+v", err, last)
	}

	write("  base: " + filepath.Join(dir, "no-model") + "\n")
	out, _, err = run(t, "run", "--config", cfg, "--work-dir", work, "--quiet")
	if err == nil || !strings.HasPrefix(err.Error(), "stage train: ") {
		t.Fatalf("failing run: %v, want an error starting with the stage", err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Error("a failing stage is not a usage error")
	}
	if !strings.Contains(out, "FAILED:      stage train: ") {
		t.Errorf("the summary does not name the failed stage:\n%s", out)
	}
}
