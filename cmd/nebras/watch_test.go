package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/continual"
)

func TestRetrainUsageErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where the default work_dir would go
	root := filepath.Join(dir, "tickets")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(bad, []byte("train:\n  batch_size: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"retrain"}, "--input-root is required"},
		{[]string{"retrain", "--input-root", filepath.Join(dir, "none")}, "--input-root: stat "},
		{[]string{"retrain", "--input-root", bad}, "not a directory"},
		{[]string{"retrain", "--input-root", root, "--since", "22/11/2026"}, `--since "22/11/2026": want a date YYYY-MM-DD`},
		{[]string{"retrain", "--input-root", root, "--min-new-conversations", "-3"}, "--min-new-conversations -3: want 0 or more"},
		{[]string{"retrain", "--input-root", root, "--replay-ratio", "-1"}, "--replay-ratio -1: want 0 to 100"},
		{[]string{"retrain", "--input-root", root, "--config", bad}, bad + ":2: train.batch_size: 0: want at least 1"},
		{[]string{"retrain", "--input-root", root, "--work-dir", ""}, "--work-dir is empty"},
		{[]string{"retrain", "--input-root", root, "extra"}, "unknown command"},
		{[]string{"watch", "--input-root", root, "--interval", "0s"}, "--interval 0s: want a positive duration"},
		{[]string{"watch", "--input-root", root, "--interval", "soon"}, `invalid argument "soon"`},
		{[]string{"watch"}, "--input-root is required"},
	}
	for _, tc := range cases {
		_, _, err := run(t, tc.args...)
		var ue usageError
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one line containing %q", tc.args, err, tc.want)
		} else if !errors.As(err, &ue) && tc.want != "unknown command" {
			t.Errorf("%q: %v is not a usage error", tc.args, err)
		}
	}
	if _, err := os.Stat("nebras-work"); err == nil {
		t.Error("a usage error created the work directory")
	}
}

// TestRetrainCommand runs one cycle through the CLI on a partition,
// then again with nothing new.
func TestRetrainCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	root := filepath.Join(dir, "tickets")
	if _, _, err := run(t, "tickets", "generate", "--n", "40", "--seed", "5", "--out", filepath.Join(root, "date=2026-11-22", "t.jsonl")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "pipeline.yaml")
	src := fmt.Sprintf(`tracking: {uri: %s}
prepare: {runner: loop, max_seq_len: 128}
eval: {max_examples: 2, max_new_tokens: 4, ppl_batches: 1}
train: {max_steps: 2, batch_size: 2, seq_len: 32, eval_every: 0, eval_batches: 1}
`, filepath.Join(dir, "mlruns"))
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	args := []string{"retrain", "--input-root", root, "--config", cfg, "--work-dir", work, "--quiet", "--min-new-conversations", "10"}
	out, _, err := run(t, args...)
	if err != nil {
		t.Fatalf("retrain: %v\n%s", err, out)
	}
	for _, want := range []string{"gate:        BLESSED", "nebras-support-bot@production is version 1",
		"retrain: cycle 1 on date=2026-11-22 (4", " new conversations, 0 replayed), base scratch:tiny: promoted\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	st, err := continual.ReadState(filepath.Join(work, continual.Dir, continual.StateFile))
	if err != nil || st.LastCycle != 1 || st.Partitions["date=2026-11-22"].Outcome != "promoted" {
		t.Errorf("state: %v %+v", err, st)
	}
	out, _, err = run(t, args...)
	if err != nil || out != "retrain: nothing to do: no new partitions under "+root+"\n" {
		t.Errorf("second retrain: %v\n%s", err, out)
	}
}
