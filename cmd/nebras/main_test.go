package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/internal/syncbuf"
	"github.com/nebras-ai/nebras/pipelines/dataset"
)

// run executes the CLI in-process and returns stdout, stderr and the error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	// Commands that serve log from many goroutines while printing, as
	// they may to a terminal; a plain bytes.Buffer would race.
	var stdout, stderr syncbuf.Buffer
	root := newRootCmd(&stdout, &stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

func TestGeneratePrepareSummary(t *testing.T) {
	dir := t.TempDir()
	tickets := filepath.Join(dir, "tickets.jsonl")
	if _, _, err := run(t, "tickets", "generate", "--n", "120", "--seed", "3", "--out", tickets); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "tickets", "generate", "--n", "120", "--out", tickets); err == nil || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("generate over an existing file: %v, want a refusal naming --overwrite", err)
	}
	out := filepath.Join(dir, "ds")
	stdout, _, err := run(t, "prepare", "--input", tickets, "--output", out, "--max-seq-len", "512", "--runner", "loop")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"records read", "kept", "duplicates", "rejected", "redactions", "train", "val", "test", "total"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := dataset.Open(out); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "prepare", "--input", tickets, "--output", out)
	if err == nil || !strings.Contains(err.Error(), "already holds a dataset") {
		t.Fatalf("second prepare: %v, want refusal", err)
	}
	if _, _, err := run(t, "prepare", "--input", tickets, "--output", out, "--overwrite", "--split", "0.8,0.1,0.1", "--runner", "loop"); err != nil {
		t.Fatalf("prepare --overwrite: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"prepare", "--bogus"},
		{"prepare", "--input", "x.jsonl", "--output", "o", "--split", "1,2"},
		{"--log-level", "loud", "tokenizer", "encode", "x"},
		{"tokenizer", "decode", "12x"},
	}
	for _, args := range tests {
		_, _, err := run(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error (exit 2)", args, err)
		}
	}
}

func TestTokenizerEncodeDecode(t *testing.T) {
	stdout, _, err := run(t, "tokenizer", "encode", "Hello world<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(stdout); got != "[15496,995,50256]" {
		t.Fatalf("encode = %s, want [15496,995,50256]", got)
	}
	stdout, _, _ = run(t, "tokenizer", "encode", "--ordinary", "<|endoftext|>")
	if strings.Contains(stdout, "50256") {
		t.Fatalf("--ordinary still produced the special id: %s", stdout)
	}
	stdout, _, err = run(t, "tokenizer", "decode", "15496", "995", "50256")
	if err != nil || stdout != "Hello world<|endoftext|>\n" {
		t.Fatalf("decode = %q, %v", stdout, err)
	}
	if _, _, err := run(t, "tokenizer", "decode", "99999999"); err == nil {
		t.Fatal("decode of an out-of-range id succeeded")
	}
}

// TestTokenizerTrainThenPrepare trains a small vocabulary on tickets and
// prepares a dataset with it, the path a from-scratch model takes.
func TestTokenizerTrainThenPrepare(t *testing.T) {
	dir := t.TempDir()
	tickets := filepath.Join(dir, "t.jsonl")
	if _, _, err := run(t, "tickets", "generate", "--n", "150", "--out", tickets); err != nil {
		t.Fatal(err)
	}
	tokDir := filepath.Join(dir, "tok")
	if _, _, err := run(t, "tokenizer", "train", "--input", tickets, "--vocab-size", "600", "--out", tokDir); err != nil {
		t.Fatal(err)
	}
	ids, _, err := run(t, "tokenizer", "encode", "--tokenizer", tokDir, "Customer: my parcel is late")
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"tokenizer", "decode", "--tokenizer", tokDir}, strings.Fields(strings.NewReplacer("[", " ", "]", " ", ",", " ").Replace(ids))...)
	text, _, err := run(t, args...)
	if err != nil || text != "Customer: my parcel is late\n" {
		t.Fatalf("round trip through the trained tokenizer: %q, %v", text, err)
	}
	out := filepath.Join(dir, "ds")
	if _, _, err := run(t, "prepare", "--input", tickets, "--output", out, "--tokenizer", tokDir, "--runner", "loop"); err != nil {
		t.Fatal(err)
	}
	d, err := dataset.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if d.Manifest.Tokenizer.VocabSize != 600 {
		t.Errorf("dataset tokenizer vocab %d, want 600", d.Manifest.Tokenizer.VocabSize)
	}
	if _, err := os.Stat(filepath.Join(d.TokenizerPath(), "merges.txt")); err != nil {
		t.Errorf("dataset lacks its tokenizer copy: %v", err)
	}
}

func TestBeamFlagsPassThroughHidden(t *testing.T) {
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	cmd := a.prepareCmd()
	for _, name := range []string{"project", "region", "temp_location", "staging_location", "endpoint", "environment_type", "worker_binary"} {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Errorf("Beam flag --%s does not reach prepare", name)
			continue
		}
		if !f.Hidden {
			t.Errorf("Beam flag --%s shows in prepare's help", name)
		}
	}
	if err := cmd.Flags().Parse([]string{"--project=acme", "--region", "europe-west1"}); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flags().Lookup("project").Value.String(); got != "acme" {
		t.Errorf("--project = %q", got)
	}
}

func TestIsBeamWorker(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"--worker=true", "--id=1"}, true},
		{[]string{"--id=1", "--worker"}, true},
		{[]string{"prepare", "--input", "x"}, false},
		{[]string{"--worker=false"}, false},
	}
	for _, tt := range tests {
		if got := isBeamWorker(tt.args); got != tt.want {
			t.Errorf("isBeamWorker(%v) = %v", tt.args, got)
		}
	}
}

func TestParseSplit(t *testing.T) {
	if r, err := parseSplit("0.8, 0.1, 0.1"); err != nil || r.Train != 0.8 || r.Test != 0.1 {
		t.Errorf("parseSplit = %+v, %v", r, err)
	}
	for _, bad := range []string{"0.9,0.1", "a,b,c", "0.5,0.5,0.5", "-0.1,0.6,0.5"} {
		if _, err := parseSplit(bad); err == nil {
			t.Errorf("parseSplit(%q) accepted", bad)
		}
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := num(in); got != want {
			t.Errorf("num(%d) = %q, want %q", in, got, want)
		}
	}
}
