// Package batcher serves generations for one loaded model with continuous
// batching: concurrent requests decode together in one batched step over
// a KV cache, joining and leaving the batch as they start and finish.
package batcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
)

// ErrInvalidRequest is wrapped by the error Submit returns for a request
// that can never be served as asked (MaxTokens ≤ 0, out-of-range sampling
// options, an empty stop string...); handlers map it to 400.
var ErrInvalidRequest = errors.New("invalid request")

// Options configures a Scheduler.
type Options struct {
	// MaxBatch is the most sequences decoded together (default 8); 1
	// turns batching off, so requests are decoded one after another.
	MaxBatch int
	// QueueSize bounds the requests waiting for a slot (default 64);
	// Submit refuses more with ErrQueueFull.
	QueueSize int
	// Info describes the model; every Result carries it.
	Info ModelInfo
	// Observer, if not nil, is told about every decode step.
	Observer Observer
	// Logger receives the scheduler's rare events (decode failures); nil
	// discards them.
	Logger *slog.Logger
	// CPULock, if not nil, is held around each decode step. Everything
	// that decodes on one kernels.CPU at the same time must hold the same
	// lock: the CPU runs a second caller's parallel work on that caller's
	// goroutine with worker 0's scratch, which the first caller may be
	// using. The manager gives all its schedulers one lock; nil gives the
	// scheduler a lock of its own.
	CPULock sync.Locker
}

// Scheduler decodes the requests for one loaded model with continuous
// batching: one goroutine owns a KV-cache decoder with MaxBatch slots and
// loops, admitting queued requests into free slots and advancing every
// active sequence by one token per batched step, so that sequences join
// and leave the batch as they start and finish. A joining sequence's
// prompt is prefilled in the same step as the others' next tokens.
//
// A Scheduler is safe for concurrent use.
type Scheduler struct {
	m    *model.Model
	cpu  *kernels.CPU
	dec  *model.Decoder
	opt  Options
	log  *slog.Logger
	lock sync.Locker

	mu     sync.Mutex
	queue  []*job // FIFO, at most opt.QueueSize
	closed bool

	wake   chan struct{} // capacity 1: a request was queued, or Close was called
	abort  chan struct{} // closed when Close gives up waiting
	abortO sync.Once
	done   chan struct{} // closed when the decode loop has returned
	failed atomic.Bool   // the decode loop died of a panic
	active atomic.Int64

	// Owned by the decode loop.
	slots []*job
	seqs  []int
	toks  [][]int32
	next  []int32 // the token sampled for each of seqs
}

// job is one request from Submit to its end.
type job struct {
	ctx       context.Context
	sink      Sink
	prompt    []int32 // as the model sees it: tokenized, cut from the left
	maxNew    int
	truncated int
	sampling  model.Sampling
	stops     []string
	submitted time.Time

	// Set when the job takes a slot.
	seq      *model.Continuation
	sampler  *model.Sampler
	queued   time.Duration
	first    time.Duration
	prefixed bool // the prompt has been through a step
	sent     int  // bytes of seq.Text() streamed
}

// New starts a scheduler for m, which must have a tokenizer, decoding on
// cpu. Close stops it.
func New(m *model.Model, cpu *kernels.CPU, opt Options) (*Scheduler, error) {
	switch {
	case m == nil:
		return nil, errors.New("scheduler: no model")
	case m.Tokenizer == nil:
		return nil, errors.New("scheduler: the model has no tokenizer")
	case cpu == nil:
		return nil, errors.New("scheduler: no CPU")
	case opt.MaxBatch < 0:
		return nil, fmt.Errorf("scheduler: max batch %d must be ≥ 0", opt.MaxBatch)
	case opt.QueueSize < 0:
		return nil, fmt.Errorf("scheduler: queue size %d must be ≥ 0", opt.QueueSize)
	}
	if opt.MaxBatch == 0 {
		opt.MaxBatch = 8
	}
	if opt.QueueSize == 0 {
		opt.QueueSize = 64
	}
	lock := opt.CPULock
	if lock == nil {
		lock = new(sync.Mutex)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// One step carries at most a whole prompt (shorter than the context)
	// plus one token for every other slot, so a joining request never
	// waits for rows while a slot is free and nothing else is joining.
	maxLen := m.Config.NPositions
	dec, err := model.NewDecoder(cpu, m.Params, opt.MaxBatch, maxLen, maxLen+opt.MaxBatch)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	s := &Scheduler{
		m: m, cpu: cpu, dec: dec, opt: opt, log: log, lock: lock,
		wake:  make(chan struct{}, 1),
		abort: make(chan struct{}),
		done:  make(chan struct{}),
		slots: make([]*job, opt.MaxBatch),
	}
	go s.loop()
	return s, nil
}

// Submit tokenizes r's prompt and queues it without blocking. The error
// is ErrQueueFull when the queue is full, ErrClosed after Close,
// ErrUnknownAdapter for an adapter other than the base model, and wraps
// ErrInvalidRequest for options that cannot be served. The stream ends
// with ctx's error if ctx is done before the generation is.
func (s *Scheduler) Submit(ctx context.Context, r Request) (*Stream, error) {
	if r.Adapter != "" {
		return nil, fmt.Errorf("adapter %q: %w", r.Adapter, ErrUnknownAdapter)
	}
	if err := validate(r); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	submitted := time.Now()
	// Special-token text in a prompt is text: a customer typing
	// "<|endoftext|>" must not end the conversation (as in training).
	ids := s.m.Tokenizer.EncodeOrdinary(r.Prompt)
	p := make([]int32, len(ids))
	for i, id := range ids {
		p[i] = int32(id)
	}
	if len(p) == 0 {
		p = []int32{int32(s.m.Config.BOSTokenID)}
	}
	cut := 0
	if n := r.MaxPromptTokens; n > 0 && len(p) > n {
		cut, p = len(p)-n, p[len(p)-n:]
	}
	// A large max_tokens (a client's, or the server's default on a model
	// with a short context) must not crowd out the conversation the reply
	// depends on: the prompt keeps what it needs up to half the context,
	// and a reply that fills the rest ends with "length".
	maxLen := s.dec.MaxLen()
	maxNew := min(r.MaxTokens, max(maxLen-len(p), maxLen/2))
	p, maxNew, fitCut := model.FitPrompt(p, maxNew, maxLen)
	// A cut prompt is a window on the whole one: copy it, so a queued
	// request holds only the tokens it will use.
	p = slices.Clone(p)
	// A piece per token at most, so the loop never blocks on a reader.
	stream, sink := NewStream(maxNew)
	j := &job{
		ctx: ctx, sink: sink, prompt: p, maxNew: maxNew, truncated: cut + fitCut,
		sampling: r.Sampling, stops: r.Stop, submitted: submitted,
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case len(s.queue) >= s.opt.QueueSize:
		s.mu.Unlock()
		return nil, ErrQueueFull
	}
	s.queue = append(s.queue, j)
	s.mu.Unlock()
	s.signal()
	return stream, nil
}

// validate reports why r cannot be served.
func validate(r Request) error {
	if r.MaxTokens <= 0 {
		return fmt.Errorf("%w: max tokens %d must be positive", ErrInvalidRequest, r.MaxTokens)
	}
	if r.MaxPromptTokens < 0 {
		return fmt.Errorf("%w: max prompt tokens %d must be ≥ 0", ErrInvalidRequest, r.MaxPromptTokens)
	}
	if err := r.Sampling.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	for i, st := range r.Stop {
		if st == "" {
			return fmt.Errorf("%w: stop string %d is empty", ErrInvalidRequest, i)
		}
		// Holding back stop prefixes relies on a stop starting at a
		// character boundary.
		if !utf8.ValidString(st) {
			return fmt.Errorf("%w: stop string %d is not valid UTF-8", ErrInvalidRequest, i)
		}
	}
	return nil
}

// signal wakes the decode loop if it is idle.
func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the scheduler's load now.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	q := len(s.queue)
	s.mu.Unlock()
	return Stats{Queued: q, Active: int(s.active.Load()), Slots: s.opt.MaxBatch}
}

// Info returns the description of the model the scheduler serves.
// Failed reports whether the decode loop died (a panic in a kernel or an
// observer): the scheduler then refuses everything with ErrClosed, and its
// owner should replace it.
func (s *Scheduler) Failed() bool { return s.failed.Load() }

func (s *Scheduler) Info() ModelInfo { return s.opt.Info }

// Close stops accepting requests (Submit returns ErrClosed), lets every
// queued and active request finish, and returns once all have. If ctx
// ends first, the remaining streams end with ErrClosed and Close returns
// ctx's error once the decode loop has stopped (after the step under way).
func (s *Scheduler) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.abortO.Do(func() { close(s.abort) })
		<-s.done
		return ctx.Err()
	}
}

// loop is the decode loop: schedule, step, repeat until closed and
// drained, or aborted.
func (s *Scheduler) loop() {
	defer close(s.done)
	defer func() {
		// A failing kernel must not hang every client: end all streams
		// and refuse new requests. Failed tells the manager, which then
		// reports not ready and loads the model again at its next poll.
		if r := recover(); r != nil {
			s.failed.Store(true)
			s.log.Error("decode loop failed", "panic", r, "model", s.opt.Info.ID, "version", s.opt.Info.Version)
			s.endAll(fmt.Errorf("decode loop failed: %v", r))
		}
	}()
	for {
		select {
		case <-s.abort:
			s.endAll(ErrClosed)
			return
		default:
		}
		n, exit := s.schedule()
		if exit {
			return
		}
		if n == 0 {
			select {
			case <-s.wake:
			case <-s.abort:
			}
			continue
		}
		s.step()
	}
}

// endAll ends every queued and active request with err and closes the
// scheduler.
func (s *Scheduler) endAll(err error) {
	s.mu.Lock()
	s.closed = true
	q := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, j := range q {
		s.finish(j, err)
	}
	for i, j := range s.slots {
		if j != nil {
			s.finish(j, err)
			s.slots[i] = nil
		}
	}
	s.active.Store(0)
}

// schedule ends active and queued requests whose context is done, admits
// queued requests into free slots in arrival order while the step has
// rows for their prompts, and returns how many sequences the next step
// advances; exit is true when the scheduler is closed and drained.
func (s *Scheduler) schedule() (n int, exit bool) {
	rows := 0
	for i, j := range s.slots {
		if j == nil {
			continue
		}
		if err := j.ctx.Err(); err != nil {
			// The client left or timed out: free the slot at once.
			s.finish(j, err)
			s.slots[i] = nil
			continue
		}
		n++
		rows++ // prompts are prefilled in the step they join, so every active sequence is decoding
	}
	s.mu.Lock()
	now := time.Now() // after the lock: no job queued later than now
	keep := s.queue[:0]
	free, blocked := 0, false
	for _, j := range s.queue {
		if err := j.ctx.Err(); err != nil {
			s.finish(j, err)
			continue
		}
		if !blocked {
			for free < len(s.slots) && s.slots[free] != nil {
				free++
			}
			blocked = free == len(s.slots) || rows+len(j.prompt) > s.dec.MaxRows()
		}
		if blocked {
			keep = append(keep, j)
			continue
		}
		s.dec.Reset(free)
		j.seq = s.m.NewContinuation(j.prompt, j.maxNew, nil, j.stops)
		j.sampler = model.NewSampler(j.sampling)
		j.queued = now.Sub(j.submitted)
		s.slots[free] = j
		rows += len(j.prompt)
		n++
	}
	clear(s.queue[len(keep):])
	s.queue = keep
	exit = n == 0 && s.closed && len(s.queue) == 0
	s.mu.Unlock()
	s.active.Store(int64(n))
	return n, exit
}

// step advances every active sequence: joining ones by their prompt,
// the others by their last token; then samples, streams and ends them.
func (s *Scheduler) step() {
	s.seqs, s.toks = s.seqs[:0], s.toks[:0]
	tokens := 0
	for i, j := range s.slots {
		if j == nil {
			continue
		}
		t := j.seq.Last()
		if !j.prefixed {
			t = j.prompt
		}
		s.seqs = append(s.seqs, i)
		s.toks = append(s.toks, t)
		tokens += len(t)
	}
	d, err := s.decode()
	if err != nil {
		// Submit keeps every request within the decoder's limits, so this
		// is a bug; fail the requests in the step, not the server.
		s.log.Error("decode step failed", "err", err, "model", s.opt.Info.ID, "version", s.opt.Info.Version)
		for _, i := range s.seqs {
			s.finish(s.slots[i], fmt.Errorf("decode: %w", err))
			s.slots[i] = nil
		}
		return
	}
	if s.opt.Observer != nil {
		s.opt.Observer.ObserveStep(len(s.seqs), tokens, d)
	}
	for k, i := range s.seqs {
		j := s.slots[i]
		if !j.prefixed {
			j.prefixed = true
			j.first = time.Since(j.submitted)
		}
		done := j.seq.Accept(s.next[k])
		j.sink.Send(j.piece(done))
		if done {
			s.finish(j, nil)
			s.slots[i] = nil
		}
	}
}

// decode runs the step laid out in seqs and toks under the CPU lock and
// samples each sequence's next token into next.
func (s *Scheduler) decode() (time.Duration, error) {
	s.lock.Lock()
	defer s.lock.Unlock() // even if a kernel panics: other schedulers share the lock
	t0 := time.Now()
	logits, err := s.dec.Step(s.seqs, s.toks)
	if err != nil {
		return time.Since(t0), err
	}
	// Sampling reads a whole vocabulary row per sequence; on the decode
	// goroutine alone it was a fifth of a full batch's step. Each
	// sequence has its own sampler, so the split over workers changes
	// nothing in what is sampled.
	s.next = slices.Grow(s.next[:0], len(s.seqs))[:len(s.seqs)]
	s.cpu.Parallel(len(s.seqs), 4, sampleTask{s: s, logits: logits, V: s.m.Config.VocabSize})
	return time.Since(t0), nil
}

// sampleTask samples the next token of sequences [lo, hi) of a step.
type sampleTask struct {
	s      *Scheduler
	logits []float32
	V      int
}

func (t sampleTask) Run(_, lo, hi int) {
	for k := lo; k < hi; k++ {
		j := t.s.slots[t.s.seqs[k]]
		t.s.next[k] = j.sampler.Next(t.logits[k*t.V:(k+1)*t.V], j.seq.Context())
	}
}

// piece returns the text to stream after a token: everything not yet
// sent once the sequence is done, else what releasable allows. Pieces
// join into the result's text.
func (j *job) piece(done bool) string {
	text := j.seq.Text()
	end := len(text)
	if !done {
		end = releasable(text, j.stops)
	}
	if end <= j.sent {
		return ""
	}
	p := string(bytes.ToValidUTF8(text[j.sent:end], []byte("\uFFFD")))
	j.sent = end
	return p
}

// finish ends j's stream with its result so far and err.
func (s *Scheduler) finish(j *job, err error) {
	res := Result{
		TruncatedTokens: j.truncated,
		Queued:          j.queued,
		FirstToken:      j.first,
		Model:           s.opt.Info,
	}
	if j.seq != nil {
		res.PromptTokens = len(j.prompt)
		res.Text = string(bytes.ToValidUTF8(j.seq.Text(), []byte("\uFFFD")))
		res.FinishReason = j.seq.FinishReason()
		res.CompletionTokens = len(j.seq.Tokens())
	} else {
		// Ended while queued: the model never saw it.
		res.Queued = time.Since(j.submitted)
	}
	j.sink.Finish(res, err)
}

// releasable returns how many leading bytes of text, a reply in progress,
// may be streamed: no stop string can still begin in them, and they end
// with a whole valid character. Ending pieces only after a valid
// character makes replacing invalid bytes with U+FFFD piece by piece give
// the same text as replacing them in the whole reply. Stop strings must be
// valid UTF-8.
func releasable(text []byte, stops []string) int {
	n := len(text)
	for _, s := range stops {
		// The longest suffix of text that s starts with may yet become s.
		for k := min(len(s)-1, len(text)); k > 0; k-- {
			if bytes.HasSuffix(text, []byte(s[:k])) {
				n = min(n, len(text)-k)
				break
			}
		}
	}
	for n > 0 {
		r, size := utf8.DecodeLastRune(text[:n])
		if r != utf8.RuneError || size > 1 {
			break
		}
		n--
	}
	return n
}
