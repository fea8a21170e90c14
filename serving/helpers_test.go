package serving

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nebras-ai/nebras/internal/syncbuf"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/openai"
)

// guard bounds every wait in these tests. It only turns a deadlock into a
// failure; no test measures time against it.
const guard = 20 * time.Second

var testModel = batcher.ModelInfo{
	ID: "support", Name: "support", Version: "3", RunID: "abc123",
	Source: "models:/support@production", Dir: "/var/lib/nebras/secret/models/support",
	LoadedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

// fakeBackend is a Backend whose Submit is a test's function.
type fakeBackend struct {
	mu       sync.Mutex
	info     batcher.ModelInfo
	loaded   bool
	requests []batcher.Request
	submit   func(ctx context.Context, r batcher.Request) (*batcher.Stream, error)
}

func newFake(submit func(ctx context.Context, r batcher.Request) (*batcher.Stream, error)) *fakeBackend {
	return &fakeBackend{info: testModel, loaded: true, submit: submit}
}

func (f *fakeBackend) Submit(ctx context.Context, r batcher.Request) (*batcher.Stream, error) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	return f.submit(ctx, r)
}

func (f *fakeBackend) Model() (batcher.ModelInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.info, f.loaded
}

func (f *fakeBackend) Stats() batcher.Stats { return batcher.Stats{Queued: 1, Active: 2, Slots: 8} }

func (f *fakeBackend) setLoaded(ok bool) {
	f.mu.Lock()
	f.loaded = ok
	f.mu.Unlock()
}

func (f *fakeBackend) submitted() []batcher.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]batcher.Request(nil), f.requests...)
}

// replying returns a Submit that streams pieces and finishes with res, its
// Text the pieces joined, as a scheduler would: never more pieces than
// MaxTokens, the stream's capacity.
func replying(pieces []string, res batcher.Result) func(context.Context, batcher.Request) (*batcher.Stream, error) {
	return func(ctx context.Context, r batcher.Request) (*batcher.Stream, error) {
		st, sink := batcher.NewStream(r.MaxTokens)
		pieces := pieces[:min(len(pieces), r.MaxTokens)]
		go func() {
			for _, p := range pieces {
				sink.Send(p)
			}
			res.Text = strings.Join(pieces, "")
			res.Model = testModel
			sink.Finish(res, nil)
		}()
		return st, nil
	}
}

// blocking returns a Submit whose generation never ends on its own: it
// ends with the context's error, closing ended, once ctx is done. started
// is closed when Submit has been called.
func blocking(started, ended chan struct{}) func(context.Context, batcher.Request) (*batcher.Stream, error) {
	return func(ctx context.Context, r batcher.Request) (*batcher.Stream, error) {
		st, sink := batcher.NewStream(r.MaxTokens)
		close(started)
		go func() {
			<-ctx.Done()
			sink.Finish(batcher.Result{}, ctx.Err())
			close(ended)
		}()
		return st, nil
	}
}

func failing(err error) func(context.Context, batcher.Request) (*batcher.Stream, error) {
	return func(context.Context, batcher.Request) (*batcher.Stream, error) { return nil, err }
}

type testServer struct {
	*Server
	reg  *prometheus.Registry
	logs *syncbuf.Buffer
}

func newServer(t testing.TB, b Backend, opt Options) *testServer {
	t.Helper()
	logs := &syncbuf.Buffer{}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	s, err := New(b, opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testServer{Server: s, reg: opt.Registry, logs: logs}
}

// do serves one request in process.
func (s *testServer) do(method, path, body string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func (s *testServer) chat(body string) *httptest.ResponseRecorder {
	return s.do(http.MethodPost, "/v1/chat/completions", body, http.Header{"Content-Type": {"application/json"}})
}

// apiErr decodes an error body, failing the test when it is not one.
func apiErr(t testing.TB, body []byte) openai.ErrorBody {
	t.Helper()
	var e openai.ErrorResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("body %q is not an error object: %v", body, err)
	}
	return e.Error
}

// events reads Server-Sent Events, returning each data payload.
func events(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	pendingBlank := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if !pendingBlank {
				t.Errorf("blank line without an event before it")
			}
			pendingBlank = false
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not a data line", line)
		}
		if pendingBlank {
			t.Fatalf("event %q not ended by a blank line", line)
		}
		pendingBlank = true
		out = append(out, data)
	}
	if pendingBlank {
		t.Errorf("last event not ended by a blank line")
	}
	return out
}

const userHi = `{"messages":[{"role":"user","content":"Hello, my order is late."}]}`
