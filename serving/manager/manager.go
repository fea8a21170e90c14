// Package manager decides which model serves and swaps models while
// serving: it loads a Source's candidate, checks it, starts a scheduler
// for it and switches requests over without failing any.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/transforms"
)

// Observer is told about every model the manager tries: err is nil for a
// model that now serves, and the reason otherwise. The server's metrics
// count reload successes and failures with it.
type Observer interface {
	ObserveReload(info batcher.ModelInfo, err error)
}

// Options configures a Manager.
type Options struct {
	// Scheduler is the template for each model's scheduler; Info and
	// CPULock are set by the manager.
	Scheduler batcher.Options
	// PollInterval is how often Run asks the source for a new model
	// (default 30s).
	PollInterval time.Duration
	// Observer, if not nil, is told about each load.
	Observer Observer
	// Logger receives loads, refusals and source failures; nil discards
	// them.
	Logger *slog.Logger
	// DrainTimeout bounds how long a replaced model may take to finish
	// the requests it holds (default 5 minutes); requests still running
	// then end with batcher.ErrClosed.
	DrainTimeout time.Duration
}

// Retry policy for a refused candidate: its Key is tried again at once
// if it changes, and otherwise after a backoff of refuseBackoff polls,
// doubling with each refusal up to refuseBackoffMax. A Key that is
// refused for good (corrupt weights) then costs a load attempt every hour
// at most, and one refused for a passing reason (the registry's artifact
// store down) is retried within minutes.
const (
	refuseBackoff    = 8
	refuseBackoffMax = time.Hour
)

// smokeTokens is how many greedy tokens a candidate must generate, with
// finite logits, before it may serve.
const smokeTokens = 4

// Manager owns the serving model: the scheduler requests go to, and the
// background loop that replaces it when the Source offers a new one. A
// new model is loaded and checked beside the serving one, then swapped in
// atomically; requests already queued or decoding finish on the old model
// while new ones go to the new, so a swap fails no request. A candidate
// that cannot be loaded or fails its smoke generation is refused and the
// serving model stays.
//
// Per-tenant LoRA adapters (not built yet) attach here: a served model
// would hold one base model's weights, shared by every tenant, and a set
// of adapters loaded per tenant beside it (model.LoadLoRA), keyed by
// Request.Adapter. The scheduler would carry each sequence's adapter with
// its slot and add the per-row LoRA deltas to the batched step's linear
// layers, so requests of different tenants still decode together. Today
// any non-empty Adapter is refused with batcher.ErrUnknownAdapter.
//
// A Manager is safe for concurrent use.
type Manager struct {
	src Source
	cpu *kernels.CPU
	opt Options
	log *slog.Logger
	now func() time.Time // the clock of the retry backoff

	// cpuLock serialises decoding on cpu across the schedulers of the
	// serving and the draining models and the smoke generations.
	cpuLock sync.Mutex
	cur     atomic.Pointer[served]
	loading sync.Mutex // one load at a time: Load and Run's polls

	mu       sync.Mutex
	closed   bool
	draining map[*batcher.Scheduler]struct{} // replaced, finishing their requests
	refused  refusal
	drained  sync.WaitGroup
}

// served is a model in service.
type served struct {
	sched *batcher.Scheduler
	key   string
	info  batcher.ModelInfo
}

// refusal is the last refused candidate.
type refusal struct {
	key     string
	count   int // consecutive refusals of key
	retryAt time.Time
}

// New returns a manager that serves what src offers, decoding on cpu.
// Nothing serves until Load succeeds.
func New(src Source, cpu *kernels.CPU, opt Options) *Manager {
	if opt.PollInterval <= 0 {
		opt.PollInterval = 30 * time.Second
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = 5 * time.Minute
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Scheduler.Logger == nil {
		opt.Scheduler.Logger = log
	}
	return &Manager{src: src, cpu: cpu, opt: opt, log: log, now: time.Now, draining: map[*batcher.Scheduler]struct{}{}}
}

// Load loads the source's current model and makes it serve. Its error is
// the first load's failure, which a server reports before exiting.
func (m *Manager) Load(ctx context.Context) error {
	c, err := m.src.Resolve(ctx)
	if err != nil {
		return fmt.Errorf("resolve the model: %w", err)
	}
	return m.try(ctx, c)
}

// Run polls the source every PollInterval and swaps in each new model
// that passes its checks, until ctx ends; it then returns ctx's error.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.opt.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			m.poll(ctx)
		}
	}
}

// poll loads the source's model if it is new and not refused lately.
func (m *Manager) poll(ctx context.Context) {
	c, err := m.src.Resolve(ctx)
	if err != nil {
		// The registry being unreachable says nothing about any model:
		// the serving one stays, and the next poll asks again.
		if ctx.Err() == nil {
			m.log.Warn("model source unavailable", "err", err)
		}
		return
	}
	if cur := m.cur.Load(); cur != nil && cur.key == c.Key && !cur.sched.Failed() {
		return
	}
	m.mu.Lock()
	r := m.refused
	m.mu.Unlock()
	if r.key == c.Key && m.now().Before(r.retryAt) {
		return
	}
	m.try(ctx, c) // logged and observed
}

// try loads c and swaps it in, or records its refusal.
func (m *Manager) try(ctx context.Context, c Candidate) error {
	m.loading.Lock()
	defer m.loading.Unlock()
	if cur := m.cur.Load(); cur != nil && cur.key == c.Key && !cur.sched.Failed() {
		return nil
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return batcher.ErrClosed
	}
	info, err := m.load(ctx, c)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, batcher.ErrClosed) {
			// Shutting down is not the candidate's fault.
			return err
		}
		m.mu.Lock()
		n := 1
		if m.refused.key == c.Key {
			n = m.refused.count + 1
		}
		wait := m.opt.PollInterval * refuseBackoff
		for i := 1; i < n && wait < refuseBackoffMax; i++ {
			wait *= 2
		}
		wait = min(wait, refuseBackoffMax)
		m.refused = refusal{key: c.Key, count: n, retryAt: m.now().Add(wait)}
		m.mu.Unlock()
		m.log.Error("model refused; the serving model stays", "source", info.Source, "version", info.Version, "err", err, "retry_in", wait)
		if m.opt.Observer != nil {
			m.opt.Observer.ObserveReload(info, err)
		}
		return err
	}
	m.mu.Lock()
	m.refused = refusal{}
	m.mu.Unlock()
	m.log.Info("model serving", "id", info.ID, "version", info.Version, "run_id", info.RunID, "source", info.Source, "dir", info.Dir)
	if m.opt.Observer != nil {
		m.opt.Observer.ObserveReload(info, nil)
	}
	return nil
}

// load fetches, loads and checks c, starts its scheduler and swaps it in.
func (m *Manager) load(ctx context.Context, c Candidate) (info batcher.ModelInfo, err error) {
	info = c.Info
	defer func() {
		// A checkpoint that crashes the loader or the smoke generation is
		// a refused candidate, not a crashed server.
		if r := recover(); r != nil {
			err = fmt.Errorf("loading %s panicked: %v", info.Source, r)
		}
	}()
	dir, err := m.src.Fetch(ctx, c)
	if err != nil {
		return info, fmt.Errorf("fetch %s: %w", info.Source, err)
	}
	info.Dir = dir
	mdl, err := model.Load(dir)
	if err != nil {
		return info, err
	}
	if mdl.Tokenizer == nil {
		return info, fmt.Errorf("load %s: no tokenizer files", dir)
	}
	if err := m.smoke(ctx, mdl); err != nil {
		return info, fmt.Errorf("%s: %w", dir, err)
	}
	info.LoadedAt = m.now()
	opt := m.opt.Scheduler
	opt.Info, opt.CPULock = info, &m.cpuLock
	s, err := batcher.New(mdl, m.cpu, opt)
	if err != nil {
		return info, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		s.Close(ctx)
		return info, batcher.ErrClosed
	}
	old := m.cur.Swap(&served{sched: s, key: c.Key, info: info})
	if old != nil {
		m.draining[old.sched] = struct{}{}
		m.drained.Add(1)
	}
	m.mu.Unlock()
	if old != nil {
		go m.drain(old)
	}
	return info, nil
}

// drain lets a replaced model finish its requests.
func (m *Manager) drain(old *served) {
	defer m.drained.Done()
	ctx, cancel := context.WithTimeout(context.Background(), m.opt.DrainTimeout)
	defer cancel()
	if err := old.sched.Close(ctx); err != nil {
		m.log.Warn("replaced model did not finish its requests in time", "version", old.info.Version, "err", err)
	}
	m.mu.Lock()
	delete(m.draining, old.sched)
	m.mu.Unlock()
}

// smoke generates a few greedy tokens of a fixed conversation, requiring
// finite logits: a model whose weights load but hold NaNs, or whose
// shapes disagree with its tokenizer, is refused before it serves.
func (m *Manager) smoke(ctx context.Context, mdl *model.Model) error {
	prompt := transforms.RenderPrompt([]transforms.Turn{{Role: transforms.RoleCustomer, Text: "Hello, my order has not arrived yet. Can you help me?"}})
	ids := mdl.Tokenizer.EncodeOrdinary(prompt)
	p := make([]int32, len(ids))
	for i, id := range ids {
		p[i] = int32(id)
	}
	p, n, _ := model.FitPrompt(p, smokeTokens, mdl.Config.NPositions)
	dec, err := model.NewDecoder(m.cpu, mdl.Params, 1, len(p)+n, 0)
	if err != nil {
		return fmt.Errorf("smoke generation: %w", err)
	}
	toks := p
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		logits, err := m.smokeStep(dec, toks)
		if err != nil {
			return fmt.Errorf("smoke generation: %w", err)
		}
		best := 0
		for k, v := range logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("smoke generation: token %d: logit %d is %v", i, k, v)
			}
			if v > logits[best] {
				best = k
			}
		}
		toks = []int32{int32(best)}
	}
	return nil
}

// smokeStep runs one step of the smoke generation under the CPU lock.
func (m *Manager) smokeStep(dec *model.Decoder, toks []int32) ([]float32, error) {
	m.cpuLock.Lock()
	defer m.cpuLock.Unlock()
	return dec.Step([]int{0}, [][]int32{toks})
}

// Submit queues r on the serving model. A request that meets a model
// being replaced goes to its successor, so a swap fails none. Before the
// first model has loaded the error is batcher.ErrNoModel; otherwise it is
// the scheduler's (ErrQueueFull, ErrClosed after Close...).
func (m *Manager) Submit(ctx context.Context, r batcher.Request) (*batcher.Stream, error) {
	if r.Adapter != "" {
		return nil, fmt.Errorf("adapter %q: %w", r.Adapter, batcher.ErrUnknownAdapter)
	}
	for {
		cur := m.cur.Load()
		if cur == nil {
			return nil, batcher.ErrNoModel
		}
		st, err := cur.sched.Submit(ctx, r)
		if errors.Is(err, batcher.ErrClosed) {
			if next := m.cur.Load(); next != cur {
				continue
			}
		}
		return st, err
	}
}

// Model describes the serving model; ok is false before the first load.
func (m *Manager) Model() (info batcher.ModelInfo, ok bool) {
	cur := m.cur.Load()
	// A scheduler whose decode loop died answers nothing: not ready
	// until the next poll loads the model again.
	if cur == nil || cur.sched.Failed() {
		return batcher.ModelInfo{}, false
	}
	return cur.info, true
}

// Stats is the load of the serving model plus the requests replaced
// models are still finishing; Slots is the serving model's.
func (m *Manager) Stats() batcher.Stats {
	var st batcher.Stats
	if cur := m.cur.Load(); cur != nil {
		st = cur.sched.Stats()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.draining {
		o := s.Stats()
		st.Queued += o.Queued
		st.Active += o.Active
	}
	return st
}

// Close stops serving: Submit returns batcher.ErrClosed, no new model is
// swapped in, and Close returns once every queued and running request
// has finished, or when ctx ends (then with its error, the remaining
// requests ended with batcher.ErrClosed).
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	var err error
	if cur := m.cur.Load(); cur != nil {
		err = cur.sched.Close(ctx)
	}
	done := make(chan struct{})
	go func() {
		m.drained.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Out of time: end what the replaced models still hold. Closing
		// with a done context returns once their decode loops stop.
		m.mu.Lock()
		var old []*batcher.Scheduler
		for s := range m.draining {
			old = append(old, s)
		}
		m.mu.Unlock()
		for _, s := range old {
			s.Close(ctx)
		}
		<-done
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}
