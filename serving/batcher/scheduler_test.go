package batcher

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/internal/leaktest"
	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/tokenizer"
)

// deadlockGuard bounds every wait in these tests; it only turns a hang
// into a failure and is never part of an assertion.
const deadlockGuard = 2 * time.Minute

// testModel is a small random GPT-2 with the GPT-2 tokenizer: cheap to
// run, and its replies are arbitrary tokens, invalid UTF-8 included.
func testModel(t testing.TB) *model.Model {
	t.Helper()
	tok, err := tokenizer.GPT2()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.NamedConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.NPositions, cfg.NEmbd, cfg.NHead = 64, 64, 2
	m, err := model.New(cfg, tok, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newCPU(t testing.TB) *kernels.CPU {
	cpu := kernels.NewCPU(2)
	t.Cleanup(cpu.Close)
	return cpu
}

func newScheduler(t testing.TB, m *model.Model, cpu *kernels.CPU, opt Options) *Scheduler {
	t.Helper()
	s, err := New(m, cpu, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), deadlockGuard)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// collect reads a stream to its end and checks that its pieces are whole
// UTF-8 and add up to the result's text.
func collect(t testing.TB, st *Stream) (Result, []string, error) {
	t.Helper()
	var pieces []string
	timeout := time.After(deadlockGuard)
	for {
		select {
		case p, ok := <-st.Text():
			if !ok {
				res, err := st.Wait()
				if err == nil {
					if got := strings.Join(pieces, ""); got != res.Text {
						t.Errorf("pieces add up to %q, result text is %q", got, res.Text)
					}
				}
				return res, pieces, err
			}
			if !utf8.ValidString(p) || p == "" {
				t.Errorf("piece %q is empty or not valid UTF-8", p)
			}
			pieces = append(pieces, p)
		case <-timeout:
			t.Fatal("stream did not end")
		}
	}
}

var testPrompts = []string{
	"Customer: My order has not arrived yet.\nAgent:",
	"Customer: How do I reset my password?\nAgent: Click on forgot password.\nCustomer: I did, nothing came.\nAgent:",
	"Customer: <|endoftext|> is in my message\nAgent:",
	"",
	"Customer: Can I get a refund for the broken lamp I bought last week? The glass was shattered when it came and the box was wet.\nAgent:",
	"Customer: héllo, ça marche pas 日本語\nAgent:",
}

// reference is what model.Generate gives for one request alone.
func reference(t testing.TB, m *model.Model, cpu *kernels.CPU, r Request) model.Generation {
	t.Helper()
	ids := m.Tokenizer.EncodeOrdinary(r.Prompt)
	p := make([]int32, len(ids))
	for i, id := range ids {
		p[i] = int32(id)
	}
	cut := 0
	if n := r.MaxPromptTokens; n > 0 && len(p) > n {
		cut, p = len(p)-n, p[len(p)-n:]
	}
	g, err := m.Generate(context.Background(), cpu, [][]int32{p}, model.GenerateOptions{
		MaxNewTokens: r.MaxTokens, Sampling: r.Sampling, Stop: r.Stop, MaxBatch: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	g[0].Truncated += cut
	return g[0]
}

// stepRecorder is an Observer keeping the largest batch it saw.
type stepRecorder struct {
	mu             sync.Mutex
	steps, maxSeqs int
	tokens         int
}

func (r *stepRecorder) ObserveStep(seqs, tokens int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps++
	r.maxSeqs = max(r.maxSeqs, seqs)
	r.tokens += tokens
}

// gate is a CPULock the test holds to stop the decode loop at its next
// step; entered tells when the loop has got there.
type gate struct {
	mu      sync.Mutex
	entered chan struct{}
}

func newGate() *gate {
	g := &gate{entered: make(chan struct{}, 1)}
	g.mu.Lock()
	return g
}

func (g *gate) Lock() {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	g.mu.Lock()
}

func (g *gate) Unlock() { g.mu.Unlock() }

// waitEntered waits until the decode loop is blocked on the gate.
func (g *gate) waitEntered(t testing.TB) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(deadlockGuard):
		t.Fatal("the decode loop never reached a step")
	}
}

func TestBatchedEqualsSequentialAndGenerate(t *testing.T) {
	m := testModel(t)
	cpu := newCPU(t)
	sampled := model.Sampling{Temperature: 0.9, TopK: 50, TopP: 0.95, RepetitionPenalty: 1.1}
	var reqs []Request
	for i, p := range testPrompts {
		reqs = append(reqs, Request{Prompt: p, MaxTokens: 3 + 4*i})
		s := sampled
		s.Seed = uint64(100 + i)
		reqs = append(reqs, Request{Prompt: p, MaxTokens: 9, Sampling: s})
	}
	// A prompt longer than the context beside MaxTokens is cut from the
	// left, and MaxPromptTokens cuts further.
	long := strings.Repeat("Customer: it still does not work at all.\n", 10) + "Agent:"
	reqs = append(reqs, Request{Prompt: long, MaxTokens: 10}, Request{Prompt: long, MaxTokens: 5, MaxPromptTokens: 12})
	wants := make([]model.Generation, len(reqs))
	for i, r := range reqs {
		wants[i] = reference(t, m, cpu, r)
	}

	for _, maxBatch := range []int{1, 4, 32} {
		t.Run(fmt.Sprintf("MaxBatch=%d", maxBatch), func(t *testing.T) {
			rec := &stepRecorder{}
			g := newGate()
			s := newScheduler(t, m, cpu, Options{MaxBatch: maxBatch, Observer: rec, CPULock: g})
			// The loop stops at its first step, so the rest queue up and
			// join together in the next.
			streams := make([]*Stream, len(reqs))
			for i, r := range reqs {
				st, err := s.Submit(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				streams[i] = st
				if i == 0 {
					g.waitEntered(t)
				}
			}
			g.Unlock()
			for i, st := range streams {
				res, _, err := collect(t, st)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				want := wants[i]
				if res.Text != want.Text || res.FinishReason != want.FinishReason || res.CompletionTokens != len(want.Tokens) ||
					res.PromptTokens != want.PromptTokens {
					t.Errorf("request %d: got %q (%s, %d tokens, prompt %d), Generate gives %q (%s, %d tokens, prompt %d)", i,
						res.Text, res.FinishReason, res.CompletionTokens, res.PromptTokens,
						want.Text, want.FinishReason, len(want.Tokens), want.PromptTokens)
				}
				if res.TruncatedTokens != want.Truncated {
					t.Errorf("request %d: %d prompt tokens cut, Generate cuts %d", i, res.TruncatedTokens, want.Truncated)
				}
			}
			last := len(reqs) - 1
			res, _ := streams[last].Wait()
			if res.PromptTokens != 12 || res.TruncatedTokens != len(m.Tokenizer.EncodeOrdinary(long))-12 {
				t.Errorf("MaxPromptTokens 12: model saw %d prompt tokens, %d cut", res.PromptTokens, res.TruncatedTokens)
			}
			if maxBatch == 1 && rec.maxSeqs != 1 || maxBatch > 1 && rec.maxSeqs < 4 {
				t.Errorf("largest step advanced %d sequences with MaxBatch %d", rec.maxSeqs, maxBatch)
			}
		})
	}
}

func TestManyConcurrentSubmitters(t *testing.T) {
	m := testModel(t)
	cpu := newCPU(t)
	want := make([]model.Generation, len(testPrompts))
	for i, p := range testPrompts {
		want[i] = reference(t, m, cpu, Request{Prompt: p, MaxTokens: 6 + i})
	}
	rec := &stepRecorder{}
	s := newScheduler(t, m, cpu, Options{MaxBatch: 8, Observer: rec})
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			k := i % len(testPrompts)
			st, err := s.Submit(context.Background(), Request{Prompt: testPrompts[k], MaxTokens: 6 + k})
			if err != nil {
				errs <- fmt.Errorf("request %d: %w", i, err)
				return
			}
			res, _, err := collect(t, st)
			switch {
			case err != nil:
				errs <- fmt.Errorf("request %d: %w", i, err)
			case res.Text != want[k].Text || res.CompletionTokens != len(want[k].Tokens):
				errs <- fmt.Errorf("request %d: %q, want %q", i, res.Text, want[k].Text)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.Queued != 0 || st.Active != 0 || st.Slots != 8 {
		t.Errorf("stats after the load: %+v", st)
	}
}

func TestQueueFull(t *testing.T) {
	m := testModel(t)
	g := newGate()
	s := newScheduler(t, m, newCPU(t), Options{MaxBatch: 1, QueueSize: 2, CPULock: g})
	r := Request{Prompt: "Customer: hi\nAgent:", MaxTokens: 3}
	first, err := s.Submit(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	g.waitEntered(t) // the first request holds the only slot
	var queued []*Stream
	for range 2 {
		st, err := s.Submit(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, st)
	}
	if _, err := s.Submit(context.Background(), r); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("submit to a full queue: %v, want ErrQueueFull", err)
	}
	if st := s.Stats(); st != (Stats{Queued: 2, Active: 1, Slots: 1}) {
		t.Errorf("stats %+v", st)
	}
	g.Unlock()
	for _, st := range append(queued, first) {
		if _, _, err := collect(t, st); err != nil {
			t.Error(err)
		}
	}
}

func TestCancelFreesSlot(t *testing.T) {
	m := testModel(t)
	cpu := newCPU(t)
	rec := &stepRecorder{}
	g := newGate()
	s := newScheduler(t, m, cpu, Options{MaxBatch: 1, CPULock: g, Observer: rec})
	ctxA, cancelA := context.WithCancel(context.Background())
	a, err := s.Submit(ctxA, Request{Prompt: "Customer: a long story\nAgent:", MaxTokens: 50})
	if err != nil {
		t.Fatal(err)
	}
	g.waitEntered(t)
	rb := Request{Prompt: testPrompts[0], MaxTokens: 4}
	b, err := s.Submit(context.Background(), rb)
	if err != nil {
		t.Fatal(err)
	}
	// A queued request whose client left is dropped before its prefill.
	ctxC, cancelC := context.WithCancel(context.Background())
	c, err := s.Submit(ctxC, Request{Prompt: strings.Repeat("x ", 30), MaxTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	cancelC()
	cancelA() // mid-generation: A has its prompt in the step under way
	g.Unlock()

	resA, _, err := collect(t, a)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request ended with %v, want context.Canceled", err)
	}
	if resA.CompletionTokens >= 50 {
		t.Errorf("cancelled request generated all %d tokens", resA.CompletionTokens)
	}
	if resC, _, err := collect(t, c); !errors.Is(err, context.Canceled) || resC.PromptTokens != 0 || resC.CompletionTokens != 0 {
		t.Errorf("cancelled queued request ended with %v after %d prompt and %d generated tokens, want context.Canceled and none",
			err, resC.PromptTokens, resC.CompletionTokens)
	}
	resB, _, err := collect(t, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := reference(t, m, cpu, rb); resB.Text != want.Text {
		t.Errorf("request after the cancelled one: %q, want %q", resB.Text, want.Text)
	}
	// A's slot went to B at once: A decoded one step, B its own; C never
	// reached the model.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if wantSteps := 1 + resB.CompletionTokens; rec.steps != wantSteps {
		t.Errorf("%d steps, want %d (one for the cancelled request, then B's)", rec.steps, wantSteps)
	}
	promptA := len(m.Tokenizer.EncodeOrdinary("Customer: a long story\nAgent:"))
	if want := promptA + resB.PromptTokens + resB.CompletionTokens - 1; rec.tokens != want {
		t.Errorf("the model processed %d tokens, want %d: the cancelled queued prompt was prefilled?", rec.tokens, want)
	}
}

func TestStopStrings(t *testing.T) {
	m := testModel(t)
	cpu := newCPU(t)
	s := newScheduler(t, m, cpu, Options{MaxBatch: 4})
	tried := 0
	for i, p := range testPrompts {
		full := reference(t, m, cpu, Request{Prompt: p, MaxTokens: 16})
		text := full.Text
		if len(text) < 8 {
			continue
		}
		// Stop strings taken from the reply itself, so they occur; one
		// that never does, sharing the stop's first bytes, is held back
		// until it fails.
		mid := strings.ToValidUTF8(text[len(text)/2:len(text)/2+3], "")
		if mid == "" {
			continue
		}
		tried++
		r := Request{Prompt: p, MaxTokens: 16, Stop: []string{mid + "\x00never", "\x01absent", mid}}
		st, err := s.Submit(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		res, pieces, err := collect(t, st)
		if err != nil {
			t.Fatal(err)
		}
		want := reference(t, m, cpu, r)
		if res.Text != want.Text || res.FinishReason != model.FinishStop || want.FinishReason != model.FinishStop {
			t.Errorf("prompt %d, stop %q: %q (%s), Generate gives %q (%s)", i, mid, res.Text, res.FinishReason, want.Text, want.FinishReason)
		}
		if strings.Contains(res.Text, mid) || !strings.HasPrefix(text, res.Text) {
			t.Errorf("prompt %d: text %q not cut before the first %q of %q", i, res.Text, mid, text)
		}
		for _, p := range pieces {
			if strings.Contains(p, mid) {
				t.Errorf("piece %q holds the stop string", p)
			}
		}
	}
	if tried < 3 {
		t.Fatalf("only %d replies were long enough to take a stop string from", tried)
	}
}

func TestReleasable(t *testing.T) {
	for _, c := range []struct {
		text  string
		stops []string
		want  int
	}{
		{"", nil, 0},
		{"hello", nil, 5},
		{"hello", []string{"\nCustomer:"}, 5},
		{"hello\n", []string{"\nCustomer:"}, 5},
		{"hello\nCust", []string{"\nCustomer:"}, 5},
		{"hello\nCusto", []string{"\nCustomer:", "Custard"}, 5},
		{"hello\nCx", []string{"\nCustomer:"}, 8}, // the prefix failed
		{"ab", []string{"b", "abc"}, 0},           // "ab" may become "abc"
		{"xab", []string{"abc", "bd"}, 1},
		{"aaa", []string{"aab"}, 1}, // the longest live prefix counts
		{"caf\xc3", nil, 3},         // half of "é"
		{"caf\xc3\xa9", nil, 5},     // "café"
		{"\xe6\x97", nil, 0},        // two thirds of "日"
		{"a\xffb", nil, 3},          // invalid inside: the next valid rune ends it
		{"ab\xff", nil, 2},          // invalid at the end: wait for a valid rune
		{"ab\xff\xfe", nil, 2},      // a run of invalid bytes stays whole
		{"ok\xef\xbf\xbd", nil, 5},  // a real U+FFFD is a character
		{"x日", []string{"日本"}, 1},   // a stop prefix that is a whole character
		{"x\xe6\x97", []string{"日本"}, 1},
		{"x\xe6\x97\xa5\xe6", []string{"日本"}, 1},
	} {
		if got := releasable([]byte(c.text), c.stops); got != c.want {
			t.Errorf("releasable(%q, %q) = %d, want %d", c.text, c.stops, got, c.want)
		}
	}
}

// TestPiecesAreConsistent streams replies of a random model, which are
// full of byte tokens that cut characters, with stop strings that start
// with common bytes; every piece must be valid UTF-8 and the pieces must
// add up to the result (checked in collect).
func TestPiecesAreConsistent(t *testing.T) {
	m := testModel(t)
	s := newScheduler(t, m, newCPU(t), Options{MaxBatch: 8})
	var streams []*Stream
	for i, p := range testPrompts {
		for seed := range 2 {
			st, err := s.Submit(context.Background(), Request{
				Prompt: p, MaxTokens: 24, Stop: []string{"e\xc3\xa9z", " th", "\n\n"},
				Sampling: model.Sampling{Temperature: 1.5, Seed: uint64(seed*10 + i)},
			})
			if err != nil {
				t.Fatal(err)
			}
			streams = append(streams, st)
		}
	}
	for _, st := range streams {
		if _, _, err := collect(t, st); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSubmitValidates(t *testing.T) {
	m := testModel(t)
	s := newScheduler(t, m, newCPU(t), Options{})
	ok := Request{Prompt: "hi", MaxTokens: 2}
	for _, c := range []struct {
		name string
		edit func(*Request)
		want error
	}{
		{"zero max tokens", func(r *Request) { r.MaxTokens = 0 }, ErrInvalidRequest},
		{"negative max prompt tokens", func(r *Request) { r.MaxPromptTokens = -1 }, ErrInvalidRequest},
		{"negative temperature", func(r *Request) { r.Sampling.Temperature = -1 }, ErrInvalidRequest},
		{"top_p above 1", func(r *Request) { r.Sampling.TopP = 1.5 }, ErrInvalidRequest},
		{"empty stop", func(r *Request) { r.Stop = []string{"a", ""} }, ErrInvalidRequest},
		{"invalid UTF-8 stop", func(r *Request) { r.Stop = []string{"\xff"} }, ErrInvalidRequest},
		{"adapter", func(r *Request) { r.Adapter = "tenant-42" }, ErrUnknownAdapter},
	} {
		r := ok
		c.edit(&r)
		if _, err := s.Submit(context.Background(), r); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Submit(ctx, ok); !errors.Is(err, context.Canceled) {
		t.Errorf("submit with a cancelled context: %v", err)
	}
	noTok := *m
	noTok.Tokenizer = nil
	if _, err := New(&noTok, newCPU(t), Options{}); err == nil {
		t.Error("a model without a tokenizer was accepted")
	}
}

func TestResultCarriesModelAndTimes(t *testing.T) {
	m := testModel(t)
	info := ModelInfo{ID: "support-bot", Name: "support-bot", Version: "3", RunID: "abc"}
	s := newScheduler(t, m, newCPU(t), Options{Info: info})
	st, err := s.Submit(context.Background(), Request{Prompt: testPrompts[1], MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := collect(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != info || res.FirstToken <= 0 || res.Queued < 0 || res.Queued > res.FirstToken {
		t.Errorf("result %+v", res)
	}
	if s.Info() != info {
		t.Errorf("Info() = %+v", s.Info())
	}
}

func TestCloseDrains(t *testing.T) {
	m := testModel(t)
	cpu := newCPU(t)
	base := runtime.NumGoroutine()
	s, err := New(m, cpu, Options{MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	var streams []*Stream
	for i := range 6 {
		st, err := s.Submit(context.Background(), Request{Prompt: testPrompts[i%len(testPrompts)], MaxTokens: 5})
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadlockGuard)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i, st := range streams {
		select {
		case <-st.Done():
		default:
			t.Fatalf("stream %d still running after Close", i)
		}
		if res, err := st.Wait(); err != nil || res.CompletionTokens == 0 {
			t.Errorf("stream %d: %d tokens, %v", i, res.CompletionTokens, err)
		}
	}
	if _, err := s.Submit(context.Background(), Request{Prompt: "hi", MaxTokens: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("submit after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	leaktest.Wait(t, base, deadlockGuard)
}

func TestCloseDeadlineEndsStreams(t *testing.T) {
	m := testModel(t)
	g := newGate()
	s, err := New(m, newCPU(t), Options{MaxBatch: 1, CPULock: g})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Submit(context.Background(), Request{Prompt: "hi", MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	g.waitEntered(t)
	b, err := s.Submit(context.Background(), Request{Prompt: "hello", MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	closed := make(chan error, 1)
	go func() { closed <- s.Close(ctx) }()
	g.Unlock() // let the step under way finish
	select {
	case err := <-closed:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Close past its deadline: %v, want context.Canceled", err)
		}
	case <-time.After(deadlockGuard):
		t.Fatal("Close did not return")
	}
	for _, st := range []*Stream{a, b} {
		if _, _, err := collect(t, st); !errors.Is(err, ErrClosed) {
			t.Errorf("stream ended with %v, want ErrClosed", err)
		}
	}
}

// FuzzPieces feeds arbitrary tokens (a model can produce any) through a
// continuation with arbitrary stop strings and checks what is streamed:
// whole UTF-8 pieces that join into the final text, which holds no stop
// string, so nothing streamed is ever taken back.
func FuzzPieces(f *testing.F) {
	tok, err := tokenizer.GPT2()
	if err != nil {
		f.Fatal(err)
	}
	cfg, err := model.NamedConfig("tiny")
	if err != nil {
		f.Fatal(err)
	}
	m := &model.Model{Config: cfg, Tokenizer: tok} // a continuation needs no weights
	f.Add([]byte("\x00\x10\x01\x20\xc4\x00"), "\nCustomer:", "")
	f.Add([]byte{0x00, 0xe2, 0x00, 0x80}, "é", "a")
	f.Add([]byte{0x00, 0x9e, 0x00, 0xbb, 0x00, 0x9e, 0xc4, 0x50}, "\x00", "日本")
	f.Fuzz(func(t *testing.T, ids []byte, stop1, stop2 string) {
		var stops []string
		for _, s := range []string{stop1, stop2} {
			if s != "" {
				stops = append(stops, s)
			}
		}
		if validate(Request{MaxTokens: 1, Stop: stops}) != nil || len(ids) < 2 {
			return
		}
		n := len(ids) / 2
		j := &job{seq: m.NewContinuation([]int32{0}, n, nil, stops), stops: stops}
		var streamed strings.Builder
		for i := range n {
			id := (int32(ids[2*i])<<8 | int32(ids[2*i+1])) % int32(cfg.VocabSize)
			done := j.seq.Accept(id)
			p := j.piece(done)
			if !utf8.ValidString(p) {
				t.Fatalf("piece %q is not valid UTF-8", p)
			}
			streamed.WriteString(p)
			if done {
				break
			}
		}
		final := strings.ToValidUTF8(string(j.seq.Text()), "\uFFFD")
		if j.seq.FinishReason() == "" {
			t.Fatal("the continuation did not end")
		}
		if streamed.String() != final {
			t.Fatalf("streamed %q, final text %q", streamed.String(), final)
		}
		for _, s := range stops {
			if strings.Contains(string(j.seq.Text()), s) {
				t.Fatalf("final text %q holds stop %q", j.seq.Text(), s)
			}
		}
	})
}

// TestLargeMaxTokensKeepsTheConversation checks the context budget: a
// max_tokens as large as the context leaves the prompt what it needs up
// to half the context, and the reply ends with "length" when the context
// is full.
func TestLargeMaxTokensKeepsTheConversation(t *testing.T) {
	m := testModel(t) // 64 positions
	s := newScheduler(t, m, newCPU(t), Options{MaxBatch: 2})
	long := strings.Repeat("Customer: my parcel is late again.\n", 8) + "Agent:"
	for _, tc := range []struct {
		prompt              string
		promptTokens, total int // total: prompt + completion when the context fills
	}{
		{testPrompts[0], 12, 64},
		{long, 32, 64},
	} {
		st, err := s.Submit(context.Background(), Request{Prompt: tc.prompt, MaxTokens: 64})
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := collect(t, st)
		if err != nil {
			t.Fatal(err)
		}
		n := len(m.Tokenizer.EncodeOrdinary(tc.prompt))
		if res.PromptTokens != tc.promptTokens || res.TruncatedTokens != n-tc.promptTokens {
			t.Errorf("%.20q: prompt %d truncated %d, want %d and %d", tc.prompt, res.PromptTokens, res.TruncatedTokens, tc.promptTokens, n-tc.promptTokens)
		}
		if res.FinishReason == model.FinishLength && res.PromptTokens+res.CompletionTokens != tc.total {
			t.Errorf("%.20q: finished by length after %d+%d tokens, want %d", tc.prompt, res.PromptTokens, res.CompletionTokens, tc.total)
		}
	}
}
