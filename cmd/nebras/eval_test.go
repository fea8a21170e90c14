package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalMetricsCommand scores sacreBLEU's README example corpus: 48.53
// with the defaults.
func TestEvalMetricsCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		return p
	}
	hyp := write("hyp.txt", "The dog bit the man.", "It wasn't surprising.", "The man had just bitten him.")
	ref1 := write("ref1.txt", "The dog bit the man.", "It was not unexpected.", "The man bit him first.")
	ref2 := write("ref2.txt", "The dog had bit the man.", "No one was surprised.", "The man had bitten the dog.")
	out, _, err := run(t, "eval", "metrics", "--hyp", hyp, "--ref", ref1, "--ref", ref2)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		BLEU   float64 `json:"bleu"`
		RougeL struct {
			Precision, Recall, F float64
		} `json:"rougeL"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if math.Abs(got.BLEU-48.530827) > 1e-4 {
		t.Errorf("BLEU %.6f, sacreBLEU says 48.530827", got.BLEU)
	}
	if !(got.RougeL.F > 0 && got.RougeL.F <= 1) {
		t.Errorf("rougeL %+v", got.RougeL)
	}
	// The same corpus as --pairs.
	var pairs strings.Builder
	for i, h := range []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."} {
		refs := [][]string{{"The dog bit the man.", "The dog had bit the man."}, {"It was not unexpected.", "No one was surprised."}, {"The man bit him first.", "The man had bitten the dog."}}[i]
		b, _ := json.Marshal(map[string]any{"hyp": h, "refs": refs})
		pairs.Write(append(b, '\n'))
	}
	p := write("pairs.jsonl", strings.TrimSpace(pairs.String()))
	out2, _, err := run(t, "eval", "metrics", "--pairs", p)
	if err != nil || out2 != out {
		t.Errorf("--pairs gave another result (%v):\n%s\nvs\n%s", err, out2, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--hyp", hyp}, "--ref"},
		{[]string{"--hyp", hyp, "--ref", write("short.txt", "one line")}, "lines"},
		{[]string{"--hyp", hyp, "--ref", ref1, "--tokenize", "zh"}, "zh"},
		{[]string{"--pairs", p, "--hyp", hyp}, "--pairs"},
		{[]string{"--pairs", write("bad.jsonl", `{"hyp": "x", "ref": ["y"]}`)}, "bad.jsonl:1"},
	} {
		_, _, err := run(t, append([]string{"eval", "metrics"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("eval metrics %v: %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}

// TestEvalAndPromoteCommands trains a model, evaluates it (no baseline:
// blessed), promotes it, evaluates a far worse one against it (exit
// status 3), refuses to promote that one, and rolls back.
func TestEvalAndPromoteCommands(t *testing.T) {
	dir := t.TempDir()
	tickets := filepath.Join(dir, "tickets.jsonl")
	if _, _, err := run(t, "tickets", "generate", "--n", "40", "--seed", "5", "--out", tickets); err != nil {
		t.Fatal(err)
	}
	ds := filepath.Join(dir, "ds")
	if _, _, err := run(t, "prepare", "--input", tickets, "--output", ds, "--max-seq-len", "128", "--runner", "loop"); err != nil {
		t.Fatal(err)
	}
	mlruns := filepath.Join(dir, "mlruns")
	trainArgs := func(out, steps string) []string {
		return []string{"train", "--data", ds, "--base", "scratch:tiny", "--out", filepath.Join(dir, out), "--max-steps", steps,
			"--batch-size", "2", "--seq-len", "32", "--lr", "0.01", "--eval-batches", "2", "--tracking-uri", mlruns, "--quiet"}
	}
	evalArgs := func(version, out string) []string {
		return []string{"eval", "--model", "models:/nebras-support-bot/" + version, "--data", ds, "--out", filepath.Join(dir, out),
			"--max-examples", "4", "--max-new-tokens", "8", "--ppl-batches", "2", "--tracking-uri", mlruns}
	}
	if _, _, err := run(t, trainArgs("r1", "20")...); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, evalArgs("1", "e1")...)
	if err != nil {
		t.Fatalf("first eval: %v\n%s", err, out)
	}
	if !strings.Contains(out, "BLESSED") || !strings.Contains(out, filepath.Join(dir, "e1", "report.html")) {
		t.Errorf("eval output:\n%s", out)
	}
	out, _, err = run(t, "promote", "--if-blessed", filepath.Join(dir, "e1", "eval.json"), "--tracking-uri", mlruns)
	if err != nil || !strings.Contains(out, "nebras-support-bot@production is version 1") {
		t.Fatalf("promote: %v\n%s", err, out)
	}

	if _, _, err := run(t, trainArgs("r2", "1")...); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, evalArgs("2", "e2")...)
	var nb errNotBlessed
	if !errors.As(err, &nb) || !strings.Contains(out, "NOT BLESSED") {
		t.Fatalf("a 1-step model against a 20-step one: %v\n%s", err, out)
	}
	if _, _, err := run(t, "promote", "--if-blessed", filepath.Join(dir, "e2", "eval.json"), "--tracking-uri", mlruns); err == nil || !strings.Contains(err.Error(), "not blessed") {
		t.Errorf("promoting an unblessed model: %v", err)
	}
	if _, _, err := run(t, "promote", "--model-version", "2", "--tracking-uri", mlruns); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("--model-version without --force: %v", err)
	}
	out, _, err = run(t, "promote", "--model-version", "2", "--force", "--reason", "test", "--tracking-uri", mlruns)
	if err != nil || !strings.Contains(out, "forced") {
		t.Fatalf("forced promotion: %v\n%s", err, out)
	}
	out, _, err = run(t, "promote", "--rollback", "--tracking-uri", mlruns)
	if err != nil || !strings.Contains(out, "version 1 again") {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
}
