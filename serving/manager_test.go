package serving

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/manager"
	"github.com/nebras-ai/nebras/serving/openai"
)

var (
	_ Backend          = (*manager.Manager)(nil)
	_ manager.Observer = (*Metrics)(nil)
	_ batcher.Observer = (*Metrics)(nil)
)

// tinyModelDir writes a small random GPT-2 with the GPT-2 tokenizer.
func tinyModelDir(t *testing.T) string {
	t.Helper()
	cfg, err := model.NamedConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.NPositions, cfg.NEmbd, cfg.NHead, cfg.NLayer = 64, 32, 2, 1
	m, err := model.New(cfg, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tiny-support")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.GPT2()
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, tokenizer.VocabFile)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestWithManager serves a real model through the manager and its
// scheduler, the way the CLI wires them: one Metrics shared by the server,
// the manager and the scheduler.
func TestWithManager(t *testing.T) {
	dir := tinyModelDir(t)
	reg := prometheus.NewRegistry()
	var mgr *manager.Manager
	metrics, err := NewMetrics(reg, func() batcher.Stats { return mgr.Stats() })
	if err != nil {
		t.Fatal(err)
	}
	cpu := kernels.NewCPU(2)
	defer cpu.Close()
	mgr = manager.New(manager.DirSource{Dir: dir}, cpu, manager.Options{
		Observer:  metrics,
		Scheduler: batcher.Options{MaxBatch: 4, Observer: metrics},
	})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := mgr.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if err := mgr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, mgr, Options{Registry: reg, Metrics: metrics, Limits: Limits{MaxPromptTokens: 32}})

	rec := s.chat(`{"model":"tiny-support","messages":[{"role":"user","content":"Where is my parcel?"}],"max_tokens":5,"temperature":0}`)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var c openai.ChatCompletion
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	u := c.Usage
	if c.Model != "tiny-support" || u.PromptTokens == 0 || u.CompletionTokens == 0 || u.CompletionTokens > 5 ||
		u.TotalTokens != u.PromptTokens+u.CompletionTokens || c.Choices[0].Message.Content != strings.TrimSpace(c.Choices[0].Message.Content) {
		t.Errorf("completion %s", rec.Body)
	}
	if r := c.Choices[0].FinishReason; r != "stop" && r != "length" {
		t.Errorf("finish reason %q", r)
	}

	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp := streamChat(t, context.Background(), ts.URL,
		`{"messages":[{"role":"user","content":"Where is my parcel?"}],"max_tokens":5,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`)
	evs := events(t, resp.Body)
	if len(evs) < 4 || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("events %q", evs)
	}
	var streamed strings.Builder
	var last openai.ChatCompletionChunk
	for _, e := range evs[:len(evs)-1] {
		last = openai.ChatCompletionChunk{}
		if err := json.Unmarshal([]byte(e), &last); err != nil {
			t.Fatalf("event %q: %v", e, err)
		}
		if len(last.Choices) == 1 && last.Choices[0].Delta.Content != nil {
			streamed.WriteString(*last.Choices[0].Delta.Content)
		}
	}
	// Greedy decoding of the same prompt gives the same reply either way.
	if streamed.String() != c.Choices[0].Message.Content || last.Usage == nil || *last.Usage != c.Usage {
		t.Errorf("streamed %q with usage %+v; the plain answer was %q with %+v", streamed.String(), last.Usage, c.Choices[0].Message.Content, c.Usage)
	}

	if got := testutil.ToFloat64(metrics.reloads.WithLabelValues("success")); got != 1 {
		t.Errorf("reloads{success} = %v", got)
	}
	text := s.do("GET", "/metrics", "", nil).Body.String()
	if !strings.Contains(text, `nebras_model_info{model="tiny-support",run_id="",version=""} 1`) {
		t.Errorf("model info missing from /metrics")
	}
	if strings.Contains(text, "\nnebras_scheduler_batch_size_count 0\n") || !strings.Contains(text, "\nnebras_scheduler_batch_size_count ") {
		t.Errorf("the scheduler's steps were not observed")
	}
}
