package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nebras-ai/nebras/serving"
	"github.com/nebras-ai/nebras/serving/batcher"
)

// findBrowser returns a Chromium or Chrome binary: $NEBRAS_CHROME, or the
// first of the usual names on PATH.
func findBrowser() (string, bool) {
	if p := os.Getenv("NEBRAS_CHROME"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// generation is one request that reached the fake backend; the test plays
// the scheduler's part, sending the reply piece by piece.
type generation struct {
	ctx context.Context
	req batcher.Request

	mu   sync.Mutex
	sink batcher.Sink
	done bool
}

func (g *generation) send(piece string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.done {
		g.sink.Send(piece)
	}
}

func (g *generation) finish(res batcher.Result, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.done {
		g.done = true
		g.sink.Finish(res, err)
	}
}

// fakeBackend hands every request to the test, so the test decides when each
// piece of a reply is sent and can watch the browser in between. Like the
// real scheduler it ends a generation whose request context is cancelled.
type fakeBackend struct {
	info batcher.ModelInfo
	gens chan *generation
	full atomic.Bool // refuse requests as a full queue would
}

func (b *fakeBackend) Submit(ctx context.Context, req batcher.Request) (*batcher.Stream, error) {
	if b.full.Load() {
		return nil, batcher.ErrQueueFull
	}
	s, sink := batcher.NewStream(req.MaxTokens)
	g := &generation{ctx: ctx, req: req, sink: sink}
	go func() {
		select {
		case <-ctx.Done():
			g.finish(batcher.Result{}, ctx.Err())
		case <-s.Done():
		}
	}()
	select {
	case b.gens <- g:
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *fakeBackend) Model() (batcher.ModelInfo, bool) { return b.info, true }

func (b *fakeBackend) Stats() batcher.Stats { return batcher.Stats{Slots: 4} }

// chatMessage is a message as the browser sent it.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// recordBodies passes requests on to next and sends the messages of each
// chat completion request to bodies, so the test sees exactly what the
// page sent.
func recordBodies(next http.Handler, bodies chan<- []chatMessage) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions") {
			raw, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			var body struct {
				Messages []chatMessage `json:"messages"`
			}
			if err := json.Unmarshal(raw, &body); err == nil {
				select {
				case bodies <- body.Messages:
				case <-r.Context().Done(): // the test failed and closed the browser
					return
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(raw))
		}
		next.ServeHTTP(w, r)
	})
}

// newServer starts the real server over backend, recording the messages of
// each chat request on bodies. It closes after the browser (cleanups run
// last first), so that no browser connection keeps Close waiting.
func newServer(t *testing.T, backend serving.Backend, opt serving.Options, bodies chan<- []chatMessage) *httptest.Server {
	t.Helper()
	s, err := serving.New(backend, opt)
	if err != nil {
		t.Fatalf("serving.New: %v", err)
	}
	srv := httptest.NewServer(recordBodies(s.Handler(), bodies))
	t.Cleanup(srv.Close)
	return srv
}

func newBackend() *fakeBackend {
	return &fakeBackend{
		info: batcher.ModelInfo{
			ID: "nebras-support-bot", Name: "nebras-support-bot", Version: "7", RunID: "0123456789abcdef",
			Source: "models:/nebras-support-bot@production", LoadedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		},
		gens: make(chan *generation, 1),
	}
}

// browser is a headless Chromium tab driven by the test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	path, ok := findBrowser()
	if !ok {
		t.Skip("no Chromium or Chrome found (looked for $NEBRAS_CHROME, chromium, chromium-browser, google-chrome on PATH); `make browser` installs Debian's chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return &browser{t: t, ctx: bctx}
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (page: %s)", what, err, b.state())
	}
}

// waitFor polls a JavaScript expression until it is true. The polling
// timeout only guards against a hang; it leaves the browser alive so that
// the failure message can describe the page.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		b.t.Fatalf("waiting until %s: %v (page: %s)", what, err, b.state())
	}
}

// text evaluates a JavaScript expression that gives a string.
func (b *browser) text(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// state describes the page for failure messages.
func (b *browser) state() string {
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify({
		model: document.getElementById("model").textContent,
		turns: [...document.querySelectorAll("#log li")].map(li => li.className + ": " + li.querySelector(".text").textContent),
		error: !document.getElementById("error").checkVisibility() ? "" : document.getElementById("error").textContent,
		input: document.getElementById("input").value,
	})`))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return s
}

// typeAndSend types text into the message box and presses Enter. A real
// Enter whose keydown the page cancels types no character, so the key goes
// as a bare keydown and keyup: chromedp's SendKeys would add a char event
// that types a newline after the page has sent the message.
func (b *browser) typeAndSend(text string) {
	b.t.Helper()
	b.do("typing "+text, chromedp.SendKeys(chromedp.ID("input"), text), pressEnter())
}

func pressEnter() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			})
			if err != nil {
				return fmt.Errorf("pressing Enter: %w", err)
			}
		}
		return nil
	})
}

// newLine presses Shift+Enter, with the newline it types when the page lets
// the key through.
func newLine() chromedp.Action[chromedp.Void] {
	return chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift))
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// lastAssistant is an expression for the text of the newest reply.
const lastAssistant = `([...document.querySelectorAll("#log li.assistant .text")].pop() || {}).textContent`

// receive waits for the next value on ch, failing the test if ctx ends first.
func receive[T any](t *testing.T, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
		var zero T
		return zero
	}
}

func checkMessages(t *testing.T, got []chatMessage, want ...chatMessage) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("the page sent messages %q, want %q", got, want)
	}
}

func TestChatPageInBrowser(t *testing.T) {
	// The deadline only guards against a hang; every wait below is for an
	// event, not for time to pass.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	backend := newBackend()
	bodies := make(chan []chatMessage, 1)
	srv := newServer(t, backend, serving.Options{}, bodies)
	b := newBrowser(t, ctx)

	b.do("opening the page", chromedp.Navigate(srv.URL+"/"))
	b.waitFor("the model version shows", `document.getElementById("model").textContent.includes("nebras-support-bot · version 7")`)

	// First turn, two lines: Shift+Enter makes a new line, Enter sends.
	b.do("typing the first line", chromedp.SendKeys(chromedp.ID("input"), "My invoice is wrong."), newLine())
	b.typeAndSend("Order 42.")
	first := "My invoice is wrong.\nOrder 42."
	checkMessages(t, receive(t, ctx, bodies, "the first request"), chatMessage{"user", first})
	gen := receive(t, ctx, backend.gens, "the first generation")
	if gen.req.Sampling.Temperature != 0 {
		t.Errorf("the page asked for temperature %v, want 0 (greedy, as evaluated)", gen.req.Sampling.Temperature)
	}
	if !strings.Contains(gen.req.Prompt, "Order 42.") {
		t.Errorf("the prompt %q lacks the agent's message", gen.req.Prompt)
	}
	b.waitFor("the user's message shows", `document.querySelector("#log li.user .text").textContent === `+js(first))
	b.waitFor("the stop button shows while the reply streams", `document.getElementById("stop").checkVisibility()`)
	if got := b.text(`document.getElementById("input").value`); got != "" {
		t.Errorf("after sending, the text box holds %q, want it empty", got)
	}

	// The reply streams: the page shows the first piece before the second
	// is even sent.
	gen.send("Sorry about that")
	b.waitFor("the first piece of the reply shows", lastAssistant+` === "Sorry about that"`)
	gen.send(", I have fixed order 42.")
	reply := "Sorry about that, I have fixed order 42."
	gen.finish(batcher.Result{Text: reply, FinishReason: "stop", PromptTokens: 12, CompletionTokens: 9, Model: backend.info}, nil)
	b.waitFor("the whole reply shows", lastAssistant+` === `+js(reply))
	b.waitFor("the send button is back", `!document.getElementById("send").disabled && !document.getElementById("stop").checkVisibility()`)

	// Second turn: the page sends the whole conversation.
	b.typeAndSend("Thanks!")
	checkMessages(t, receive(t, ctx, bodies, "the second request"),
		chatMessage{"user", first}, chatMessage{"assistant", reply}, chatMessage{"user", "Thanks!"})
	gen = receive(t, ctx, backend.gens, "the second generation")
	if i, j := strings.Index(gen.req.Prompt, "fixed order 42"), strings.Index(gen.req.Prompt, "Thanks!"); i < 0 || j < i {
		t.Errorf("the prompt %q lacks the first reply before the second message", gen.req.Prompt)
	}
	gen.send("You are welcome.")
	gen.finish(batcher.Result{Text: "You are welcome.", FinishReason: "stop", Model: backend.info}, nil)
	b.waitFor("the second reply shows", lastAssistant+` === "You are welcome."`)

	// Stop: the page aborts the fetch, the server cancels the generation,
	// and the partial reply stays.
	b.waitFor("the send button is back", `!document.getElementById("send").disabled`)
	b.typeAndSend("One more thing")
	receive(t, ctx, bodies, "the third request")
	gen = receive(t, ctx, backend.gens, "the third generation")
	gen.send("Let me")
	b.waitFor("the partial reply shows", lastAssistant+` === "Let me"`)
	b.do("stopping the reply", chromedp.Click(chromedp.ID("stop")))
	receive(t, ctx, gen.ctx.Done(), "the server to cancel the stopped generation")
	b.waitFor("the stopped reply is marked", `document.querySelector("#log li.assistant:last-child .note")?.textContent === "Stopped."`)
	b.waitFor("the send button is back after stopping", `!document.getElementById("send").disabled`)

	// New conversation clears the view and the history sent next time.
	b.do("starting a new conversation", chromedp.Click(chromedp.ID("new")))
	b.waitFor("the conversation is cleared", `document.querySelectorAll("#log li").length === 0`)
	b.typeAndSend("Hello again")
	checkMessages(t, receive(t, ctx, bodies, "the first request of the new conversation"), chatMessage{"user", "Hello again"})
	gen = receive(t, ctx, backend.gens, "the new conversation's generation")
	gen.send("Hi!")
	gen.finish(batcher.Result{Text: "Hi!", FinishReason: "stop", Model: backend.info}, nil)
	b.waitFor("the new conversation's reply shows", lastAssistant+` === "Hi!"`)
	b.waitFor("the send button is back", `!document.getElementById("send").disabled`)

	// A full queue: 429 with Retry-After shows inline and the message goes
	// back into the text box to be sent again.
	backend.full.Store(true)
	b.typeAndSend("Are you there?")
	receive(t, ctx, bodies, "the refused request")
	b.waitFor("the busy message shows", `document.getElementById("error").checkVisibility()`)
	if msg := b.text(`document.getElementById("error").textContent`); !regexp.MustCompile(`busy, retry in \d+ s`).MatchString(msg) {
		t.Errorf("after a 429 the page says %q, want it to say the assistant is busy and when to retry", msg)
	}
	if kept := b.text(`document.getElementById("input").value`); kept != "Are you there?" {
		t.Errorf("after a 429 the text box holds %q, want the unsent message", kept)
	}
	if turns := b.text(`String(document.querySelectorAll("#log li").length)`); turns != "2" {
		t.Errorf("after a 429 the conversation shows %s turns, want the 2 from before", turns)
	}

	// Sending again once the queue has room works; an error in the middle
	// of the reply shows inline and withdraws the turn again.
	backend.full.Store(false)
	b.do("sending the kept message again", chromedp.Click(chromedp.ID("send")))
	checkMessages(t, receive(t, ctx, bodies, "the resent request"), chatMessage{"user", "Hello again"}, chatMessage{"assistant", "Hi!"}, chatMessage{"user", "Are you there?"})
	gen = receive(t, ctx, backend.gens, "the resent generation")
	b.waitFor("the error from before is gone", `!document.getElementById("error").checkVisibility()`)
	gen.send("I am")
	b.waitFor("the partial reply shows", lastAssistant+` === "I am"`)
	gen.finish(batcher.Result{}, errors.New("the decoder broke"))
	b.waitFor("the failure shows", `document.getElementById("error").checkVisibility()`)
	if msg := b.text(`document.getElementById("error").textContent`); !strings.Contains(msg, "The assistant failed") {
		t.Errorf("after an error event the page says %q, want it to say the assistant failed", msg)
	}
	if kept := b.text(`document.getElementById("input").value`); kept != "Are you there?" {
		t.Errorf("after an error event the text box holds %q, want the unanswered message", kept)
	}
	if turns := b.text(`String(document.querySelectorAll("#log li").length)`); turns != "2" {
		t.Errorf("after an error event the conversation shows %s turns, want the 2 from before", turns)
	}
}

func TestChatPageAsksForAPIKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keys, err := serving.ParseAPIKeys(strings.NewReader("agent-key-0123456789\n"))
	if err != nil {
		t.Fatalf("ParseAPIKeys: %v", err)
	}
	backend := newBackend()
	bodies := make(chan []chatMessage, 1)
	srv := newServer(t, backend, serving.Options{APIKeys: keys}, bodies)
	b := newBrowser(t, ctx)

	b.do("opening the page", chromedp.Navigate(srv.URL+"/"))
	b.waitFor("the page asks for an API key", `document.getElementById("key-form").checkVisibility()`)
	if got := b.text(`document.getElementById("model").textContent`); strings.Contains(got, "version 7") {
		t.Errorf("without a key the page shows %q, want no model", got)
	}

	b.do("entering a wrong key", chromedp.SendKeys(chromedp.ID("key"), "wrong-key"), chromedp.Click(chromedp.CSS("#key-form button")))
	// The page tries the key on GET /v1/models and, refused, asks again
	// (and takes the focus); only then is it safe to type the message.
	b.waitFor("the model list refuses the wrong key", `document.getElementById("key-form").checkVisibility()`)
	b.typeAndSend("Hello?")
	receive(t, ctx, bodies, "the request with the wrong key")
	b.waitFor("the page asks for a key again", `document.getElementById("key-form").checkVisibility() && document.getElementById("error").textContent.includes("API key")`)

	b.do("entering the key", chromedp.SendKeys(chromedp.ID("key"), "agent-key-0123456789"), chromedp.Click(chromedp.CSS("#key-form button")))
	b.waitFor("the model version shows", `document.getElementById("model").textContent.includes("version 7")`)
	b.do("sending again", chromedp.Click(chromedp.ID("send")))
	checkMessages(t, receive(t, ctx, bodies, "the request with the key"), chatMessage{"user", "Hello?"})
	gen := receive(t, ctx, backend.gens, "the generation")
	gen.send("Hi.")
	gen.finish(batcher.Result{Text: "Hi.", FinishReason: "stop", Model: backend.info}, nil)
	b.waitFor("the reply shows", lastAssistant+` === "Hi."`)

	// The key stays for the tab's session: a reload does not ask again.
	b.do("reloading the page", chromedp.Navigate(srv.URL+"/"))
	b.waitFor("the model version shows after a reload", `document.getElementById("model").textContent.includes("version 7")`)
	if shown := b.text(`String(document.getElementById("key-form").checkVisibility())`); shown != "false" {
		t.Error("after a reload the page asks for the key again, want it kept in sessionStorage")
	}
}
