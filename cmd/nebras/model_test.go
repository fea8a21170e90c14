package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModelInitInfoScoreGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiny")
	if _, _, err := run(t, "model", "init", "--config", "tiny", "--out", dir, "--seed", "1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "model", "init", "--config", "tiny", "--out", dir); err == nil || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("init over an existing checkpoint: %v", err)
	}
	if _, _, err := run(t, "model", "init", "--config", "huge", "--out", dir+"x"); err == nil || !strings.Contains(err.Error(), "unknown model config") {
		t.Fatalf("unknown config: %v", err)
	}
	out, _, err := run(t, "model", "info", "--json", dir)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info["n_layer"].(float64) != 2 || info["vocab_size"].(float64) != 50257 || info["tokenizer_hash"] == nil {
		t.Errorf("info: %v", info)
	}

	text := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(text, []byte("Customer: my order never arrived.\nAgent: I'm sorry, let me check."), 0o644)
	out, _, err = run(t, "model", "score", "--model", dir, "--input", text)
	if err != nil {
		t.Fatal(err)
	}
	var res scoreResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// A random model is close to uniform over 50257 tokens: loss ≈ ln 50257.
	if res.Scored != res.Tokens-1 || res.LogProbs[0] != nil || res.MeanLoss < 10 || res.MeanLoss > 11.5 {
		t.Errorf("score: %d of %d scored, mean loss %.3f", res.Scored, res.Tokens, res.MeanLoss)
	}

	// Ids longer than the context are scored in windows.
	ids := make([]int, 600)
	for i := range ids {
		ids[i] = i
	}
	b, _ := json.Marshal(ids)
	idsFile := filepath.Join(t.TempDir(), "ids.json")
	os.WriteFile(idsFile, b, 0o644)
	out, _, err = run(t, "model", "score", "--model", dir, "--input", idsFile)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(out), &res)
	if res.Tokens != 600 || res.Scored != 599 || res.Windows != 3 {
		t.Errorf("windows: %d tokens, %d scored, %d windows", res.Tokens, res.Scored, res.Windows)
	}

	gen := func() string {
		out, _, err := run(t, "generate", "--model", dir, "--prompt", "Hello", "--max-new-tokens", "8", "--temperature", "0.8", "--seed", "5", "--json")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b2 := gen(), gen()
	if a != b2 {
		t.Errorf("same seed, different generations:\n%s\n%s", a, b2)
	}
	var g map[string]any
	json.Unmarshal([]byte(a), &g)
	if n := len(g["tokens"].([]any)); n == 0 || n > 8 {
		t.Errorf("generated %d tokens", n)
	}
	if _, _, err := run(t, "generate", "--model", dir, "--prompt", "x", "--top-p", "2"); err == nil || !strings.Contains(err.Error(), "top_p") {
		t.Errorf("bad top-p: %v", err)
	}
}
