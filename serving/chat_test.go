package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nebras-ai/nebras/internal/syncbuf"
	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/openai"
	"github.com/nebras-ai/nebras/transforms"
)

func TestChatTurns(t *testing.T) {
	tests := []struct {
		name    string
		msgs    []openai.Message
		want    []transforms.Turn
		wantErr string
	}{
		{
			name: "roles map to the template's",
			msgs: []openai.Message{
				{Role: "system", Content: "Be brief."}, {Role: "developer", Content: "Be kind."},
				{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello!"}, {Role: "user", Content: "Help"},
			},
			want: []transforms.Turn{
				{Role: transforms.RoleSystem, Text: "Be brief."}, {Role: transforms.RoleSystem, Text: "Be kind."},
				{Role: transforms.RoleCustomer, Text: "Hi"}, {Role: transforms.RoleAgent, Text: "Hello!"},
				{Role: transforms.RoleCustomer, Text: "Help"},
			},
		},
		{
			name: "cleaned and redacted like training data",
			msgs: []openai.Message{{Role: "user", Content: "  <p>Mail me at jane.doe@example.com</p>\n\n\n\nthanks  "}},
			want: []transforms.Turn{{Role: transforms.RoleCustomer, Text: "Mail me at [EMAIL]\n\nthanks"}},
		},
		{
			name: "a message left empty is dropped",
			msgs: []openai.Message{{Role: "assistant", Content: "<br>"}, {Role: "user", Content: "Hi"}},
			want: []transforms.Turn{{Role: transforms.RoleCustomer, Text: "Hi"}},
		},
		{
			name:    "the last message left empty is refused",
			msgs:    []openai.Message{{Role: "user", Content: "<br>"}},
			wantErr: "messages[0].content",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chatTurns(tt.msgs)
			if tt.wantErr != "" {
				var re *openai.RequestError
				if !errors.As(err, &re) || re.Param != tt.wantErr {
					t.Fatalf("err = %v; want a RequestError on %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestGenerationRequest(t *testing.T) {
	lim, err := withDefaults(Limits{MaxPromptTokens: 300})
	if err != nil {
		t.Fatal(err)
	}
	turns := []transforms.Turn{{Role: transforms.RoleCustomer, Text: "Hi"}}
	temp, topP, seed := 0.0, 0.5, int64(-1)
	tests := []struct {
		name string
		req  openai.ChatRequest
		want batcher.Request
	}{
		{
			name: "explicit",
			req:  openai.ChatRequest{MaxTokens: 9, Temperature: &temp, TopP: &topP, Seed: &seed, Stop: []string{"END"}},
			want: batcher.Request{
				Prompt: "Customer: Hi\nAgent:", MaxTokens: 9, MaxPromptTokens: 300,
				Sampling: model.Sampling{Temperature: 0, TopP: 0.5, Seed: 1<<64 - 1},
				Stop:     []string{"\nCustomer:", "\nAgent:", "\nSystem:", "END"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := generationRequest(&tt.req, turns, lim); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		got := generationRequest(&openai.ChatRequest{}, turns, lim)
		if got.MaxTokens != 128 || got.Sampling.Temperature != 1 || got.Sampling.TopP != 0 || len(got.Stop) != 3 {
			t.Errorf("defaults: %+v", got)
		}
	})
}

func TestReplyTrimmer(t *testing.T) {
	tests := [][]string{
		{" Hello", " world", "\n"},
		{" ", "\n", "Hi", " ", " ", "there", " \n"},
		{"  "},
		{},
		{"a", "\u00a0", "b\t"},
	}
	for _, pieces := range tests {
		var tr replyTrimmer
		var got strings.Builder
		for _, p := range pieces {
			got.WriteString(tr.push(p))
		}
		if want := strings.TrimSpace(strings.Join(pieces, "")); got.String() != want {
			t.Errorf("%q: streamed %q, want %q", pieces, got.String(), want)
		}
	}
}

// TestChatInvalid checks that every malformed request gets its exact 4xx
// and never reaches the backend.
func TestChatInvalid(t *testing.T) {
	user := `[{"role":"user","content":"hi"}]`
	tests := []struct {
		name   string
		body   string
		status int
		typ    string
		code   string
	}{
		{"malformed JSON", `{"messages":[`, 400, openai.TypeInvalidRequest, openai.CodeInvalidJSON},
		{"not an object", `"hi"`, 400, openai.TypeInvalidRequest, openai.CodeInvalidJSON},
		{"messages wrong type", `{"messages":{}}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidType},
		{"empty messages", `{"messages":[]}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"empty content", `{"messages":[{"role":"user","content":""}]}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"content cleans to nothing", `{"messages":[{"role":"user","content":"<div></div>"}]}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"unknown role", `{"messages":[{"role":"root","content":"x"}]}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"last not user", `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"too many messages", `{"messages":[` + strings.Repeat(`{"role":"user","content":"a"},`, 3) + `{"role":"user","content":"a"}]}`, 400, openai.TypeInvalidRequest, openai.CodeTooManyMessages},
		{"n 2", `{"messages":` + user + `,"n":2}`, 400, openai.TypeInvalidRequest, openai.CodeUnsupported},
		{"temperature 3", `{"messages":` + user + `,"temperature":3}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"temperature string", `{"messages":` + user + `,"temperature":"1"}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidType},
		{"top_p 0", `{"messages":` + user + `,"top_p":0}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"max_tokens 0", `{"messages":` + user + `,"max_tokens":0}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"max_tokens huge", `{"messages":` + user + `,"max_tokens":99999999999}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"max_tokens over cap", `{"messages":` + user + `,"max_tokens":65}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"stop 5 entries", `{"messages":` + user + `,"stop":["a","b","c","d","e"]}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidValue},
		{"seed string", `{"messages":` + user + `,"seed":"7"}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidType},
		{"stream string", `{"messages":` + user + `,"stream":"true"}`, 400, openai.TypeInvalidRequest, openai.CodeInvalidType},
		{"invalid UTF-8", "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}", 400, openai.TypeInvalidRequest, openai.CodeInvalidUTF8},
		{"body too large", `{"messages":[{"role":"user","content":"` + strings.Repeat("a", 2048) + `"}]}`, 413, openai.TypeInvalidRequest, codeBodyTooLarge},
		{"unknown model", `{"model":"gpt-4o","messages":` + user + `}`, 404, openai.TypeNotFound, codeModelNotFound},
	}
	b := newFake(failing(errors.New("must not be called")))
	s := newServer(t, b, Options{Limits: Limits{MaxBodyBytes: 1024, MaxMessages: 3, MaxTokens: 64}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.chat(tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			e := apiErr(t, rec.Body.Bytes())
			if e.Type != tt.typ || e.Code != tt.code {
				t.Errorf("type, code = %q, %q; want %q, %q (%s)", e.Type, e.Code, tt.typ, tt.code, e.Message)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	if n := len(b.submitted()); n != 0 {
		t.Errorf("%d invalid requests reached the backend", n)
	}
	if got := testutil.ToFloat64(s.metrics.rejected.WithLabelValues(rejectInvalid)); got != float64(len(tests)-1) {
		t.Errorf("rejected{invalid} = %v, want %d", got, len(tests)-1)
	}
	if got := testutil.ToFloat64(s.metrics.rejected.WithLabelValues(rejectTooLarge)); got != 1 {
		t.Errorf("rejected{too_large} = %v, want 1", got)
	}
}

func TestChatCompletion(t *testing.T) {
	res := batcher.Result{FinishReason: model.FinishStop, PromptTokens: 12, CompletionTokens: 4,
		Queued: time.Millisecond, FirstToken: 2 * time.Millisecond}
	b := newFake(replying([]string{" Sorry", " about", " that.", "\n"}, res))
	s := newServer(t, b, Options{})
	rec := s.chat(`{"model":"support","messages":[{"role":"system","content":"Be kind."},
		{"role":"user","content":"Where is my order?"},{"role":"assistant","content":"Which one?"},
		{"role":"user","content":"Number 42, mail jane@example.com"}],"max_tokens":20,"temperature":0,"stop":"###","seed":7}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var got openai.ChatCompletion
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.ID, "chatcmpl-") || len(got.ID) < len("chatcmpl-")+16 || got.Created == 0 {
		t.Errorf("id %q, created %d", got.ID, got.Created)
	}
	want := openai.ChatCompletion{
		ID: got.ID, Object: "chat.completion", Created: got.Created, Model: "support", SystemFingerprint: "3",
		Choices: []openai.Choice{{Message: openai.ResponseMessage{Role: "assistant", Content: "Sorry about that."}, FinishReason: "stop"}},
		Usage:   openai.Usage{PromptTokens: 12, CompletionTokens: 4, TotalTokens: 16},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	reqs := b.submitted()
	if len(reqs) != 1 {
		t.Fatalf("%d requests submitted", len(reqs))
	}
	wantPrompt := "System: Be kind.\nCustomer: Where is my order?\nAgent: Which one?\nCustomer: Number 42, mail [EMAIL]\nAgent:"
	if r := reqs[0]; r.Prompt != wantPrompt || r.MaxTokens != 20 || r.Sampling.Seed != 7 || r.Stop[len(r.Stop)-1] != "###" {
		t.Errorf("submitted %+v", r)
	}
	if got := testutil.ToFloat64(s.metrics.completionTokens); got != 4 {
		t.Errorf("completion tokens = %v", got)
	}
	if got := testutil.ToFloat64(s.metrics.finished.WithLabelValues(finishStop)); got != 1 {
		t.Errorf("finished{stop} = %v", got)
	}
	log := s.logs.String()
	for _, want := range []string{`"route":"/v1/chat/completions"`, `"status":200`, `"prompt_tokens":12`, `"completion_tokens":4`, `"request_id":"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log %s lacks %s", log, want)
		}
	}
}

// streamChat posts body to a real server and returns the response.
func streamChat(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestChatStream(t *testing.T) {
	pieces := []string{" Hi", " there", "!", " \n"}
	res := batcher.Result{FinishReason: model.FinishLength, PromptTokens: 5, CompletionTokens: 4}
	for _, includeUsage := range []bool{false, true} {
		t.Run("include_usage="+strconv.FormatBool(includeUsage), func(t *testing.T) {
			s := newServer(t, newFake(replying(pieces, res)), Options{})
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			body := `{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":` + strconv.FormatBool(includeUsage) + `}}`
			resp := streamChat(t, context.Background(), ts.URL, body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			evs := events(t, resp.Body)
			if len(evs) < 3 || evs[len(evs)-1] != "[DONE]" {
				t.Fatalf("events %q: want chunks then [DONE]", evs)
			}
			evs = evs[:len(evs)-1]
			var chunks []openai.ChatCompletionChunk
			for _, e := range evs {
				var c openai.ChatCompletionChunk
				if err := json.Unmarshal([]byte(e), &c); err != nil {
					t.Fatalf("event %q: %v", e, err)
				}
				if c.Object != "chat.completion.chunk" || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Model != "support" || c.ID != chunksID(chunks, c.ID) {
					t.Errorf("chunk header %+v", c)
				}
				chunks = append(chunks, c)
			}
			first := chunks[0].Choices[0]
			if first.Delta.Role != "assistant" || first.Delta.Content == nil || *first.Delta.Content != "" || first.FinishReason != nil {
				t.Errorf("first chunk %+v", first)
			}
			if !strings.Contains(evs[0], `"finish_reason":null`) {
				t.Errorf("first chunk %s lacks finish_reason null", evs[0])
			}
			if includeUsage {
				last := chunks[len(chunks)-1]
				if len(last.Choices) != 0 || last.Usage == nil || *last.Usage != (openai.Usage{PromptTokens: 5, CompletionTokens: 4, TotalTokens: 9}) {
					t.Errorf("usage chunk %s", evs[len(evs)-1])
				}
				if !strings.Contains(evs[len(evs)-1], `"choices":[]`) {
					t.Errorf("usage chunk %s lacks empty choices", evs[len(evs)-1])
				}
				chunks = chunks[:len(chunks)-1]
			}
			fin := chunks[len(chunks)-1]
			if len(fin.Choices) != 1 || fin.Choices[0].FinishReason == nil || *fin.Choices[0].FinishReason != "length" ||
				fin.Choices[0].Delta.Content != nil || fin.Usage != nil {
				t.Errorf("finish chunk %+v", fin)
			}
			var text strings.Builder
			for _, c := range chunks[1 : len(chunks)-1] {
				if len(c.Choices) != 1 || c.Choices[0].Delta.Content == nil || *c.Choices[0].Delta.Content == "" || c.Choices[0].FinishReason != nil {
					t.Fatalf("content chunk %+v", c)
				}
				text.WriteString(*c.Choices[0].Delta.Content)
			}
			if text.String() != "Hi there!" {
				t.Errorf("streamed text %q", text.String())
			}
		})
	}
}

// chunksID returns the id the stream's chunks share, or id for the first.
func chunksID(chunks []openai.ChatCompletionChunk, id string) string {
	if len(chunks) == 0 {
		return id
	}
	return chunks[0].ID
}

func TestChatBackendErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		typ, code  string
		retryAfter bool
	}{
		{"queue full", batcher.ErrQueueFull, 429, openai.TypeRateLimit, codeQueueFull, true},
		{"no model", batcher.ErrNoModel, 503, openai.TypeServer, codeNoModel, false},
		{"closed", batcher.ErrClosed, 503, openai.TypeServer, codeShuttingDown, false},
		{"unknown adapter", batcher.ErrUnknownAdapter, 404, openai.TypeNotFound, codeUnknownAdapter, false},
		{"invalid", fmt.Errorf("%w: stop string 0 is empty", batcher.ErrInvalidRequest), 400, openai.TypeInvalidRequest, openai.CodeInvalidValue, false},
		{"internal", errors.New("open /var/lib/nebras/weights.bin: no such file"), 500, openai.TypeServer, codeInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, newFake(failing(tt.err)), Options{})
			for _, body := range []string{userHi, `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`} {
				rec := s.chat(body)
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d", rec.Code, tt.status)
				}
				e := apiErr(t, rec.Body.Bytes())
				if e.Type != tt.typ || e.Code != tt.code || strings.Contains(e.Message, "/var/lib") {
					t.Errorf("error %+v", e)
				}
				ra := rec.Header().Get("Retry-After")
				if n, err := strconv.Atoi(ra); tt.retryAfter && (err != nil || n < 1) || !tt.retryAfter && ra != "" {
					t.Errorf("Retry-After %q", ra)
				}
			}
		})
	}
	s := newServer(t, newFake(failing(batcher.ErrQueueFull)), Options{})
	s.chat(userHi)
	if got := testutil.ToFloat64(s.metrics.rejected.WithLabelValues(rejectQueueFull)); got != 1 {
		t.Errorf("rejected{queue_full} = %v", got)
	}
}

func TestChatTimeout(t *testing.T) {
	t.Run("before the answer", func(t *testing.T) {
		started, ended := make(chan struct{}), make(chan struct{})
		s := newServer(t, newFake(blocking(started, ended)), Options{Limits: Limits{RequestTimeout: 50 * time.Millisecond}})
		rec := s.chat(userHi)
		if e := apiErr(t, rec.Body.Bytes()); rec.Code != http.StatusGatewayTimeout || e.Code != codeTimeout || e.Type != openai.TypeServer {
			t.Errorf("status %d, error %+v", rec.Code, e)
		}
		waitClosed(t, ended, "the generation's context to end")
		if got := testutil.ToFloat64(s.metrics.finished.WithLabelValues(finishTimeout)); got != 1 {
			t.Errorf("finished{timeout} = %v", got)
		}
	})
	t.Run("while streaming", func(t *testing.T) {
		started, ended := make(chan struct{}), make(chan struct{})
		s := newServer(t, newFake(blocking(started, ended)), Options{Limits: Limits{RequestTimeout: 50 * time.Millisecond}})
		rec := s.chat(`{"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		evs := events(t, rec.Body)
		if rec.Code != 200 || len(evs) != 2 {
			t.Fatalf("status %d, events %q: want the role chunk and an error", rec.Code, evs)
		}
		if e := apiErr(t, []byte(evs[1])); e.Code != codeTimeout {
			t.Errorf("error event %+v", e)
		}
	})
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(guard):
		t.Fatalf("gave up waiting for %s", what)
	}
}

// TestChatClientDisconnect checks that a client that leaves cancels its
// generation, streaming or not.
func TestChatClientDisconnect(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run("stream="+strconv.FormatBool(stream), func(t *testing.T) {
			started, ended, logged := make(chan struct{}), make(chan struct{}), make(chan struct{})
			logs := &syncbuf.Buffer{}
			logger := slog.New(notifyHandler{Handler: slog.NewJSONHandler(logs, nil), msg: "request", ch: logged})
			s := newServer(t, newFake(blocking(started, ended)), Options{Logger: logger})
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := `{"stream":` + strconv.FormatBool(stream) + `,"messages":[{"role":"user","content":"hi"}]}`
			errc := make(chan error, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					// Streams answer headers at once; read until the
					// connection drops.
					_, err = resp.Body.Read(make([]byte, 1<<16))
					for err == nil {
						_, err = resp.Body.Read(make([]byte, 1<<16))
					}
					resp.Body.Close()
				}
				errc <- err
			}()
			waitClosed(t, started, "the request to reach the backend")
			cancel()
			waitClosed(t, ended, "the backend's context to be cancelled")
			if err := <-errc; err == nil {
				t.Error("the client's request succeeded")
			}
			waitClosed(t, logged, "the request to be logged")
			if !strings.Contains(logs.String(), `"status":499`) {
				t.Errorf("log %s: want status 499", logs.String())
			}
			if got := testutil.ToFloat64(s.metrics.finished.WithLabelValues(finishCancelled)); got != 1 {
				t.Errorf("finished{cancelled} = %v", got)
			}
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	b := newFake(func(context.Context, batcher.Request) (*batcher.Stream, error) {
		panic("reading /srv/nebras/secret/model.safetensors: boom")
	})
	s := newServer(t, b, Options{})
	rec := s.do(http.MethodPost, "/v1/chat/completions", userHi, http.Header{"X-Request-Id": {"req-42"}})
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	e := apiErr(t, rec.Body.Bytes())
	body := rec.Body.String()
	if e.Type != openai.TypeServer || strings.Contains(body, "secret") || strings.Contains(body, "goroutine") || strings.Contains(body, ".go") {
		t.Errorf("body %s", body)
	}
	if log := s.logs.String(); !strings.Contains(log, `"msg":"panic"`) || !strings.Contains(log, "req-42") || !strings.Contains(log, "boom") {
		t.Errorf("panic not logged with its request id: %s", log)
	}
}

// FuzzServeChat sends arbitrary bodies through the whole handler: whatever
// the body, the answer is a 200 or a JSON 4xx, never a 5xx or a panic.
func FuzzServeChat(f *testing.F) {
	for _, s := range []string{
		userHi,
		`{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
		`{"model":"support","messages":[{"role":"user","content":"<p>x</p>"}],"max_tokens":1,"seed":-9}`,
		`{"messages":[{"role":"user","content":"<br>"}]}`,
		`{"model":"other","messages":[{"role":"user","content":"x"}]}`,
		`{"messages":[{"role":"user","content":"` + strings.Repeat("z", 600) + `"}]}`,
		"\x00", `{"messages":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	res := batcher.Result{FinishReason: model.FinishStop, PromptTokens: 2, CompletionTokens: 2}
	s := newServer(f, newFake(replying([]string{" ok", "."}, res)), Options{Limits: Limits{MaxBodyBytes: 512, MaxMessages: 8}})
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := s.chat(string(body))
		switch {
		case rec.Code == http.StatusOK:
		case rec.Code >= 400 && rec.Code < 500:
			apiErr(t, rec.Body.Bytes())
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// BenchmarkChatCompletion measures the server's own cost per request, from
// decoding to the JSON answer, with a backend that answers at once.
func BenchmarkChatCompletion(b *testing.B) {
	res := batcher.Result{FinishReason: model.FinishStop, PromptTokens: 30, CompletionTokens: 3}
	s := newServer(b, newFake(replying([]string{" Sorry", " about", " that."}, res)), Options{})
	body := `{"messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"My parcel is late, order 48213; mail me at jane@example.com"}]}`
	for b.Loop() {
		if rec := s.chat(body); rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
