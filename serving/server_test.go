package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/openai"
)

func TestParseAPIKeys(t *testing.T) {
	hashed := sha256.Sum256([]byte("s3cret-hashed"))
	tests := []struct {
		name    string
		file    string
		keys    int
		wantErr string
	}{
		{"hashed and plain", "# keys\n\nsha256:" + hex.EncodeToString(hashed[:]) + " rate=60/m\n  plain-token\t rate=2/s\nsha256:" + strings.ToUpper(strings.Repeat("ab", 32)) + "\n", 3, ""},
		{"short hash", "ok-key\nsha256:abcd\n", 0, "line 2: a sha256: key must be followed by 64 hex digits"},
		{"hash not hex", "sha256:" + strings.Repeat("zz", 32), 0, "line 1: a sha256: key"},
		{"unknown setting", "key burst=5", 0, `line 1: unknown setting "burst"`},
		{"bad rate number", "\nkey rate=x/s", 0, `line 2: rate "x/s"`},
		{"zero rate", "key rate=0/s", 0, "line 1: rate"},
		{"bad rate unit", "key rate=5/d", 0, "line 1: rate \"5/d\": the period must be s, m or h"},
		{"rate twice", "key rate=1/s rate=2/s", 0, "line 1: rate given twice"},
		{"duplicate", "key-a\n#\nkey-a\n", 0, "line 3: the same key as line 1"},
		{"duplicate across forms", "key-a\nsha256:" + func() string { h := sha256.Sum256([]byte("key-a")); return hex.EncodeToString(h[:]) }(), 0, "line 2: the same key as line 1"},
		{"empty", "# nothing\n\n", 0, "no keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseAPIKeys(strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "key-a") {
					t.Errorf("error %q quotes a key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ks.keys) != tt.keys {
				t.Errorf("%d keys, want %d", len(ks.keys), tt.keys)
			}
		})
	}
}

func TestLoadAPIKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("good\nbad rate=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAPIKeys(path); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want one naming the file and line 2", err)
	}
	if _, err := LoadAPIKeys(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestAPIKeys(t *testing.T) {
	hashed := sha256.Sum256([]byte("hashed-key"))
	keys, err := ParseAPIKeys(strings.NewReader("sha256:" + hex.EncodeToString(hashed[:]) + "\nplain-key\nlimited-key rate=1/h\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, newFake(replying([]string{"ok"}, batcher.Result{FinishReason: "stop"})), Options{APIKeys: keys})
	bearer := func(k string) http.Header { return http.Header{"Authorization": {k}} }
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		status int
		code   string
	}{
		{"no key", "GET", "/v1/models", nil, 401, codeInvalidAPIKey},
		{"wrong key", "GET", "/v1/models", bearer("Bearer nope"), 401, codeInvalidAPIKey},
		{"not bearer", "GET", "/v1/models", bearer("Basic cGxhaW4ta2V5"), 401, codeInvalidAPIKey},
		{"empty bearer", "POST", "/v1/chat/completions", bearer("Bearer "), 401, codeInvalidAPIKey},
		{"hashed key", "GET", "/v1/models", bearer("Bearer hashed-key"), 200, ""},
		{"plain key, scheme any case", "POST", "/v1/chat/completions", bearer("bearer plain-key"), 200, ""},
		{"limited key", "GET", "/v1/models", bearer("Bearer limited-key"), 200, ""},
		{"limited key again", "GET", "/v1/models", bearer("Bearer limited-key"), 429, codeRateLimited},
		{"other keys unaffected", "GET", "/v1/models", bearer("Bearer plain-key"), 200, ""},
		{"healthz needs none", "GET", "/healthz", nil, 200, ""},
		{"readyz needs none", "GET", "/readyz", nil, 200, ""},
		{"metrics needs none", "GET", "/metrics", nil, 200, ""},
		{"page needs none", "GET", "/", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.do(tt.method, tt.path, userHi, tt.header)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.code == "" {
				return
			}
			e := apiErr(t, rec.Body.Bytes())
			if e.Code != tt.code {
				t.Errorf("code %q, want %q", e.Code, tt.code)
			}
			switch tt.status {
			case 401:
				if e.Type != openai.TypeAuthentication || rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("type %q, WWW-Authenticate %q", e.Type, rec.Header().Get("WWW-Authenticate"))
				}
			case 429:
				if n, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || n < 1 || e.Type != openai.TypeRateLimit {
					t.Errorf("Retry-After %q, type %q", rec.Header().Get("Retry-After"), e.Type)
				}
			}
		})
	}
	if got := testutil.ToFloat64(s.metrics.rejected.WithLabelValues(rejectUnauthorized)); got != 4 {
		t.Errorf("rejected{unauthorized} = %v, want 4", got)
	}
	if got := testutil.ToFloat64(s.metrics.rejected.WithLabelValues(rejectRateLimited)); got != 1 {
		t.Errorf("rejected{rate_limited} = %v, want 1", got)
	}
}

func TestCORS(t *testing.T) {
	preflight := http.Header{"Origin": {"https://agents.example.com"}, "Access-Control-Request-Method": {"POST"}}
	tests := []struct {
		name       string
		origins    []string
		method     string
		header     http.Header
		status     int
		wantOrigin string
	}{
		{"off", nil, "GET", http.Header{"Origin": {"https://agents.example.com"}}, 200, ""},
		{"off preflight", nil, "OPTIONS", preflight, 405, ""},
		{"listed origin", []string{"https://agents.example.com"}, "GET", http.Header{"Origin": {"https://agents.example.com"}}, 200, "https://agents.example.com"},
		{"other origin", []string{"https://agents.example.com"}, "GET", http.Header{"Origin": {"https://evil.example.com"}}, 200, ""},
		{"listed preflight", []string{"https://agents.example.com"}, "OPTIONS", preflight, 204, "https://agents.example.com"},
		{"any origin", []string{"*"}, "GET", http.Header{"Origin": {"https://x.example"}}, 200, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, newFake(nil), Options{CORSOrigins: tt.origins})
			rec := s.do(tt.method, "/v1/models", "", tt.header)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Allow-Origin %q, want %q", got, tt.wantOrigin)
			}
			if tt.origins == nil {
				for k := range rec.Header() {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("CORS off sent %s", k)
					}
				}
			}
			if tt.status == 204 && !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("preflight headers %v", rec.Header())
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	s := newServer(t, newFake(nil), Options{})
	tests := []struct {
		name, in string
		echo     bool
	}{
		{"valid", "abc-123_X.y", true},
		{"64 chars", strings.Repeat("a", 64), true},
		{"too long", strings.Repeat("a", 65), false},
		{"bad chars", "a b", false},
		{"injection", "a\"}\n{", false},
		{"absent", "", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Header
			if tt.in != "" {
				h = http.Header{"X-Request-Id": {tt.in}}
			}
			got := s.do("GET", "/healthz", "", h).Header().Get("X-Request-ID")
			switch {
			case tt.echo && got != tt.in:
				t.Errorf("id %q, want the client's %q", got, tt.in)
			case !tt.echo && (got == tt.in || !validRequestID(got) || seen[got]):
				t.Errorf("id %q: want a fresh valid id", got)
			}
			seen[got] = true
			if !strings.Contains(s.logs.String(), `"request_id":"`+got+`"`) {
				t.Errorf("id %q not logged", got)
			}
		})
	}
}

func TestReadyzAndModels(t *testing.T) {
	b := newFake(nil)
	b.setLoaded(false)
	s := newServer(t, b, Options{})

	rec := s.do("GET", "/readyz", "", nil)
	if e := apiErr(t, rec.Body.Bytes()); rec.Code != 503 || e.Code != codeNoModel {
		t.Errorf("readyz before a model: %d %+v", rec.Code, e)
	}
	if rec := s.do("GET", "/healthz", "", nil); rec.Code != 200 {
		t.Errorf("healthz %d", rec.Code)
	}
	if rec := s.do("GET", "/v1/models", "", nil); rec.Code != 200 || rec.Body.String() != `{"object":"list","data":[]}` {
		t.Errorf("models before a model: %d %s", rec.Code, rec.Body)
	}
	if rec := s.chat(userHi); rec.Code != 503 || apiErr(t, rec.Body.Bytes()).Code != codeNoModel {
		t.Errorf("chat before a model: %d %s", rec.Code, rec.Body)
	}

	b.setLoaded(true)
	if rec := s.do("GET", "/readyz", "", nil); rec.Code != 200 {
		t.Errorf("readyz with a model: %d %s", rec.Code, rec.Body)
	}
	rec = s.do("GET", "/v1/models", "", nil)
	var list openai.ModelList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	want := openai.Model{ID: "support", Object: "model", Created: testModel.LoadedAt.Unix(), OwnedBy: "nebras",
		Nebras: &openai.ModelMeta{Version: "3", RunID: "abc123", Source: "models:/support@production", LoadedAt: "2026-01-02T03:04:05Z"}}
	if list.Object != "list" || len(list.Data) != 1 || *list.Data[0].Nebras != *want.Nebras || list.Data[0].ID != want.ID ||
		list.Data[0].Created != want.Created || list.Data[0].OwnedBy != want.OwnedBy {
		t.Errorf("models %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "/var/lib") {
		t.Errorf("models reveals the weights' path: %s", rec.Body)
	}
	if rec := s.do("GET", "/v1/models/support", "", nil); rec.Code != 200 {
		t.Errorf("GET /v1/models/support: %d", rec.Code)
	}
	if rec := s.do("GET", "/v1/models/gpt-4", "", nil); rec.Code != 404 || apiErr(t, rec.Body.Bytes()).Code != codeModelNotFound {
		t.Errorf("GET /v1/models/gpt-4: %d %s", rec.Code, rec.Body)
	}

	b.mu.Lock()
	b.info = batcher.ModelInfo{ID: "mymodel", Source: "/home/me/runs/mymodel"}
	b.mu.Unlock()
	if rec := s.do("GET", "/v1/models", "", nil); strings.Contains(rec.Body.String(), "/home/me") {
		t.Errorf("a directory model's path is shown: %s", rec.Body)
	}
}

func TestUnknownRoutes(t *testing.T) {
	s := newServer(t, newFake(nil), Options{})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nothing", 404, codeNotFound},
		{"GET", "/etc/passwd", 404, codeNotFound},
		{"DELETE", "/v1/models", 405, codeMethodNotAllowed},
		{"GET", "/v1/chat/completions", 405, codeMethodNotAllowed},
	}
	for _, tt := range tests {
		rec := s.do(tt.method, tt.path, "", nil)
		if rec.Code != tt.status || apiErr(t, rec.Body.Bytes()).Code != tt.code {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, rec.Code, rec.Body)
		}
	}
	if !strings.Contains(s.logs.String(), `"route":"unmatched"`) {
		t.Error("unknown routes not logged as unmatched")
	}
}

func TestPage(t *testing.T) {
	s := newServer(t, newFake(nil), Options{})
	for path, want := range map[string]string{"/": "text/html", "/app.js": "javascript", "/style.css": "text/css"} {
		rec := s.do("GET", path, "", nil)
		if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), want) || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
}

// wantMetrics are the names /tmp/prompts/metrics.md fixes.
var wantMetrics = []string{
	"nebras_http_requests_total", "nebras_http_request_duration_seconds", "nebras_http_requests_in_flight",
	"nebras_generation_time_to_first_token_seconds", "nebras_generation_queue_wait_seconds",
	"nebras_generation_prompt_tokens_total", "nebras_generation_completion_tokens_total",
	"nebras_generation_tokens_per_second", "nebras_generation_finished_total", "nebras_requests_rejected_total",
	"nebras_scheduler_queue_depth", "nebras_scheduler_active_sequences", "nebras_scheduler_batch_size",
	"nebras_scheduler_step_duration_seconds", "nebras_model_info", "nebras_model_reloads_total",
	"nebras_model_last_reload_timestamp_seconds",
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := newFake(replying([]string{" a", " b", " c"}, batcher.Result{FinishReason: model.FinishStop, PromptTokens: 3,
		CompletionTokens: 3, Queued: time.Millisecond, FirstToken: time.Millisecond}))
	m, err := NewMetrics(reg, b.Stats)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, b.Stats); err == nil {
		t.Error("registering twice succeeded")
	}
	s := newServer(t, b, Options{Registry: reg, Metrics: m})
	m.ObserveStep(4, 40, 3*time.Millisecond)
	m.ObserveReload(batcher.ModelInfo{ID: "support", Version: "2", RunID: "r2"}, nil)
	m.ObserveReload(batcher.ModelInfo{}, errors.New("smoke test failed"))
	m.ObserveReload(testModel, nil)

	s.chat(userHi)
	s.chat(`{"messages":[]}`)
	s.do("GET", "/no/such/path", "", nil)
	s.do("BREW", "/v1/models", "", nil)

	rec := s.do("GET", "/metrics", "", nil)
	if rec.Code != 200 {
		t.Fatalf("metrics: %d", rec.Code)
	}
	text := rec.Body.String()
	problems, err := promlint.New(bytes.NewReader(rec.Body.Bytes())).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, name := range wantMetrics {
		if !strings.Contains(text, "\n# TYPE "+name+" ") {
			t.Errorf("metric %s missing", name)
		}
	}
	for _, want := range []string{
		"go_goroutines", "process_",
		`nebras_http_requests_total{code="200",method="POST",route="/v1/chat/completions"} 1`,
		`nebras_http_requests_total{code="400",method="POST",route="/v1/chat/completions"} 1`,
		`nebras_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`nebras_http_requests_total{code="405",method="other",route="unmatched"} 1`,
		`nebras_model_info{model="support",run_id="abc123",version="3"} 1`,
		`nebras_model_reloads_total{result="failure"} 1`,
		`nebras_model_reloads_total{result="success"} 2`,
		`nebras_scheduler_queue_depth 1`, `nebras_scheduler_active_sequences 2`,
		`nebras_scheduler_batch_size_sum 4`,
		`nebras_generation_finished_total{reason="stop"} 1`,
		`nebras_generation_finished_total{reason="timeout"} 0`,
		`nebras_requests_rejected_total{reason="invalid"} 1`,
		`nebras_generation_completion_tokens_total 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if n := testutil.CollectAndCount(m.modelInfo); n != 1 {
		t.Errorf("nebras_model_info has %d series, want 1 after a swap", n)
	}
}

func TestNewOptions(t *testing.T) {
	b := newFake(nil)
	m, err := NewMetrics(prometheus.NewRegistry(), b.Stats)
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]Options{
		"metrics without registry": {Metrics: m},
		"negative limit":           {Limits: Limits{MaxTokens: -1}},
		"negative shutdown":        {ShutdownTimeout: -time.Second},
	} {
		if _, err := New(b, opt); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := NewMetrics(nil, b.Stats); err == nil {
		t.Error("NewMetrics(nil) succeeded")
	}
}

// notifyHandler is a slog handler that signals when a message is logged.
type notifyHandler struct {
	slog.Handler
	msg string
	ch  chan struct{}
}

func (h notifyHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Message == h.msg {
		close(h.ch)
	}
	return err
}

// TestGracefulShutdown checks that ending Serve's context lets a stream in
// flight finish before Serve returns.
func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	b := newFake(func(ctx context.Context, r batcher.Request) (*batcher.Stream, error) {
		st, sink := batcher.NewStream(r.MaxTokens)
		go func() {
			<-release
			sink.Send(" still")
			sink.Send(" here")
			sink.Finish(batcher.Result{Text: " still here", FinishReason: "stop", CompletionTokens: 2}, nil)
		}()
		return st, nil
	})
	shuttingDown := make(chan struct{})
	logger := slog.New(notifyHandler{Handler: slog.NewTextHandler(io.Discard, nil), msg: "shutting down", ch: shuttingDown})
	s := newServer(t, b, Options{Logger: logger, ShutdownTimeout: guard})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	resp := streamChat(t, context.Background(), "http://"+ln.Addr().String(), `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	// The role chunk is flushed at once: the stream is in flight.
	first := make([]byte, 1)
	if _, err := resp.Body.Read(first); err != nil {
		t.Fatal(err)
	}
	stop()
	waitClosed(t, shuttingDown, "the shutdown to begin")
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a stream in flight", err)
	default:
	}
	close(release)
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(resp.Body); err != nil {
		t.Fatalf("reading the rest of the stream: %v", err)
	}
	evs := events(t, io.MultiReader(bytes.NewReader(first), &rest))
	if len(evs) < 2 || evs[len(evs)-1] != "[DONE]" || !strings.Contains(strings.Join(evs, ""), "here") {
		t.Errorf("stream cut short: %q", evs)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(guard):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("the server still answers after Serve returned")
	}
}
