package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nebras-ai/nebras/model/tokenizer"
)

// TestOpenFromHub serves a saved checkpoint with the hub's URL shapes and
// opens it as hf:org/name: downloaded into the Hugging Face cache layout
// once, then loaded offline from there.
func TestOpenFromHub(t *testing.T) {
	tok, err := tokenizer.GPT2()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.VocabSize = tok.VocabSize()
	m, _ := New(cfg, tok, 3)
	src := filepath.Join(t.TempDir(), "src")
	if err := m.Save(src); err != nil {
		t.Fatal(err)
	}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /org/tiny-gpt2/resolve/{main or the commit}/{file}
		parts := strings.Split(r.URL.Path, "/")
		if len(parts) != 6 || parts[1] != "org" || parts[2] != "tiny-gpt2" || parts[3] != "resolve" || (parts[4] != "main" && parts[4] != commit) {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join(src, parts[5]))
		if err != nil {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(b)
		w.Header().Set("X-Repo-Commit", commit)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		if r.Method == http.MethodGet {
			gets.Add(1)
		}
		w.Write(b)
	}))
	defer srv.Close()
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("HF_HUB_OFFLINE", "")

	got, err := Open(context.Background(), "hf:org/tiny-gpt2")
	if err != nil {
		t.Fatal(err)
	}
	if relErr(got.Params.Data, m.Params.Data) != 0 || got.Tokenizer.Hash() != tok.Hash() {
		t.Fatal("the downloaded model differs from the served one")
	}
	snap := filepath.Join(home, "hub", "models--org--tiny-gpt2", "snapshots", commit, WeightsFile)
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("not in the Hugging Face cache layout: %v", err)
	}
	n := gets.Load()
	srv.Close()
	t.Setenv("HF_HUB_OFFLINE", "1")
	if _, err := Open(context.Background(), "hf:org/tiny-gpt2"); err != nil {
		t.Fatalf("offline from the cache: %v", err)
	}
	if n != 5 {
		t.Errorf("%d downloads, want 5 files", n)
	}
}
