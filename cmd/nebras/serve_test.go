package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/internal/syncbuf"
)

func tinyModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "support-tiny")
	if _, _, err := run(t, "model", "init", "--config", "tiny", "--out", dir, "--seed", "1"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestServeCommand(t *testing.T) {
	dir := tinyModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	root := newRootCmd(&stdout, &stderr)
	root.SetArgs([]string{"serve", "--model", dir, "--addr", "127.0.0.1:0", "--default-max-tokens", "6", "--log-format", "json"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	page := regexp.MustCompile(`chat page: (http://127\.0\.0\.1:\d+)/`)
	var base string
	for deadline := time.Now().Add(time.Minute); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := page.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended early: %v\n%s", err, stderr.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("serve printed no address:\n%s\n%s", stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "curl -s "+base+"/v1/chat/completions") {
		t.Errorf("no curl example:\n%s", stdout.String())
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	if code, body := get("/v1/models"); code != 200 || !strings.Contains(body, `"id":"support-tiny"`) {
		t.Fatalf("/v1/models = %d %s", code, body)
	}
	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"My parcel is late."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var chat struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	err = json.NewDecoder(resp.Body).Decode(&chat)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(chat.Choices) != 1 {
		t.Fatalf("chat: %d %v %+v", resp.StatusCode, err, chat)
	}
	// "Customer: My parcel is late.\nAgent:" is 10 GPT-2 tokens; the
	// random model rarely stops early, and never past --default-max-tokens.
	if chat.Usage.PromptTokens != 10 || chat.Usage.CompletionTokens < 1 || chat.Usage.CompletionTokens > 6 {
		t.Fatalf("usage = %+v", chat.Usage)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `nebras_http_requests_total{code="200",method="POST",route="/v1/chat/completions"} 1`) {
		t.Fatalf("/metrics = %d:\n%s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not shut down")
	}
	if !strings.Contains(stderr.String(), `"request_id"`) {
		t.Errorf("no JSON request log:\n%s", stderr.String())
	}
}

func TestServeUsageErrors(t *testing.T) {
	dir := tinyModel(t)
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--model", dir, "--registry-model", "x"},
		{"serve", "--model", dir, "--addr", "nope"},
		{"serve", "--model", dir, "--max-batch", "0"},
		{"serve", "--model", dir, "--default-max-tokens", "900"},
		{"bench", "serve", "--model", dir, "--concurrency", "8,1"},
		{"bench", "serve", "--url", "http://192.0.2.7:8080"},
	} {
		_, _, err := run(t, args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	_, _, err := run(t, "serve", "--model", filepath.Join(t.TempDir(), "missing"))
	if err == nil || strings.Contains(err.Error(), "panic") {
		t.Fatalf("missing model: %v", err)
	}
}

func TestBenchServe(t *testing.T) {
	dir := tinyModel(t)
	out := filepath.Join(t.TempDir(), "bench.json")
	stdout, _, err := run(t, "bench", "serve", "--model", dir, "--concurrency", "1,4", "--requests", "8",
		"--max-tokens", "4", "--max-batch", "4", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"batching", "sequential", "tok/s", "overload"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep benchReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Levels) != 4 {
		t.Fatalf("%d levels, want 2 modes × 2 concurrencies", len(rep.Levels))
	}
	for _, l := range rep.Levels {
		if l.OK != 8 || l.Errors != 0 || l.TokensPerSec <= 0 {
			t.Errorf("%s c=%d: %+v", l.Mode, l.Concurrency, l.Report)
		}
	}
	o := rep.Overload
	if o == nil || o.Errors != 0 {
		t.Fatalf("overload: %+v", o)
	}
	for code := range o.Status {
		if code != 200 && code != 429 {
			t.Errorf("overload answered %d: %v", code, o.Status)
		}
	}
	if o.Status[429] == 0 {
		t.Errorf("overload never filled the queue: %v", o.Status)
	}
}

func TestHealthcheck(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if _, _, err := run(t, "healthcheck", "--url", srv.URL+"/readyz"); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	ready.Store(false)
	if _, _, err := run(t, "healthcheck", "--url", srv.URL+"/readyz"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("unready: %v", err)
	}
	srv.Close()
	if _, _, err := run(t, "healthcheck", "--url", srv.URL+"/readyz"); err == nil {
		t.Fatal("closed server: want an error")
	}
	var ue usageError
	if _, _, err := run(t, "healthcheck", "--url", "ftp://x"); !errors.As(err, &ue) {
		t.Fatalf("bad url: %v", err)
	}
}
