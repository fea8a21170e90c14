package tracking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LoggerOptions tunes a Logger. Zero values take the defaults.
type LoggerOptions struct {
	// FlushInterval is how often buffered records are sent (default 2s).
	FlushInterval time.Duration
	// MaxPending is how many buffered records trigger a send before the
	// next tick (default 1000).
	MaxPending int
	// MaxBuffered bounds the records held in memory while the server
	// cannot keep up or is down (default 100000): past it, the oldest
	// half are spilled.
	MaxBuffered int
	// RetryFor is how long requests are retried while the server fails
	// with retryable errors before what they carry is spilled (default
	// 2m).
	RetryFor time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff, with
	// jitter, between retries (defaults 250ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// SpillDir is where records that could not be sent are written;
	// "" means DefaultSpillDir().
	SpillDir string
	// Log receives warnings about truncated, refused and spilled records;
	// nil means slog.Default().
	Log *slog.Logger
	// Now is the clock for timestamps and for RetryFor; nil means
	// time.Now.
	Now func() time.Time
}

// LoggerStats counts what a Logger did with the records it was given.
// Every record ends up sent, spilled or refused, or lost when it could
// not be spilled either; Pending are those not yet settled.
type LoggerStats struct {
	Sent    int64
	Pending int64
	// Retried counts requests sent again after a retryable error.
	Retried int64
	Spilled int64
	// Refused counts records rejected for good, by the server (an error
	// that is not retryable) or by MLflow's limits (an empty or
	// over-long key); they are neither sent nor spilled, since sending
	// them again would fail again.
	Refused int64
	// Lost counts records that could be neither sent nor written to the
	// spill file.
	Lost int64
	// SpillPath is the run's spill file; it exists only if Spilled > 0
	// (in this session or an earlier one).
	SpillPath string
}

// Logger sends a run's metrics, params and tags to a Store in the
// background, so that a training loop never waits for the network.
// Records are buffered in memory and sent in order, in batches, every
// FlushInterval or as soon as MaxPending accumulate. Retryable failures
// are retried with backoff; when the server stays unreachable for
// RetryFor, or when Close runs out of time, records go to a spill file
// that Sync replays later. A Logger is safe for concurrent use.
type Logger struct {
	store Store
	runID string
	opt   LoggerOptions
	log   *slog.Logger
	spill *spillWriter

	// ctx is cancelled when Close runs out of time: in-flight requests
	// stop and whatever is left is spilled.
	ctx     context.Context
	cancel  context.CancelFunc
	kick    chan struct{} // wakes the sender early; capacity 1
	closing chan struct{} // closed by Close: send what is left and exit
	exited  chan struct{} // closed by the sender when it returns

	mu      sync.Mutex
	queue   []record // unsettled records, oldest first, the one in flight included
	head    int64    // records settled so far; queue[0] is record head+1
	closed  bool
	waiters []*waiter

	sent, retried, spilled, refused, lost atomic.Int64
	warnedLate                            atomic.Bool

	// The sender goroutine's own state.
	failingSince time.Time // first failure of the current outage; zero while healthy
	failures     int       // retryable failures in the current outage
	nextTry      time.Time // after giving up: no request before this
	warnedSpill  bool      // a spill was already logged in this outage

	closeOnce sync.Once
	closeErr  error
}

type recordKind uint8

const (
	kindMetric recordKind = iota
	kindParam
	kindTag
	kindEnd
)

// record is one logged entity, or the end of the run (value is the
// status, ts the end time).
type record struct {
	kind     recordKind
	key      string
	value    string
	num      float64
	ts, step int64
}

// waiter is a Flush waiting for records up to number to to settle.
type waiter struct {
	to   int64
	res  sendResult // what became of its records; under Logger.mu until done
	done chan struct{}
}

// errStopped is why records are spilled when Close runs out of time.
var errStopped = errors.New("logger closed before they could be sent")

// NewLogger starts a Logger for run runID of store. Call Close when done
// with it.
func NewLogger(store Store, runID string, opt LoggerOptions) *Logger {
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = 2 * time.Second
	}
	if opt.MaxPending <= 0 {
		opt.MaxPending = 1000
	}
	if opt.MaxBuffered <= 0 {
		opt.MaxBuffered = 100_000
	}
	opt.MaxBuffered = max(opt.MaxBuffered, opt.MaxPending)
	if opt.RetryFor <= 0 {
		opt.RetryFor = 2 * time.Minute
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 250 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	opt.MaxBackoff = max(opt.MaxBackoff, opt.MinBackoff)
	if opt.SpillDir == "" {
		opt.SpillDir = DefaultSpillDir()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	log := opt.Log
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Logger{
		store: store,
		runID: runID,
		opt:   opt,
		log:   log.With("run_id", runID),
		spill: &spillWriter{
			path:  SpillPath(opt.SpillDir, runID),
			runID: runID,
			uri:   store.URI(),
			now:   func() int64 { return opt.Now().UnixMilli() },
		},
		ctx:     ctx,
		cancel:  cancel,
		kick:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go l.run()
	return l
}

// LogMetric records value of metric key at step, timestamped now. It
// never waits for the network.
func (l *Logger) LogMetric(key string, value float64, step int64) {
	l.enqueue(record{kind: kindMetric, key: key, num: value, step: step, ts: l.nowMillis()})
}

// LogMetrics records several metrics at step with one timestamp.
func (l *Logger) LogMetrics(step int64, kv map[string]float64) {
	ts := l.nowMillis()
	recs := make([]record, 0, len(kv))
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		recs = append(recs, record{kind: kindMetric, key: k, num: kv[k], step: step, ts: ts})
	}
	l.enqueue(recs...)
}

// LogParams records params. Params are write-once in MLflow: logging one
// again with another value is refused by the server.
func (l *Logger) LogParams(params ...Param) {
	recs := make([]record, len(params))
	for i, p := range params {
		recs[i] = record{kind: kindParam, key: p.Key, value: p.Value}
	}
	l.enqueue(recs...)
}

// SetTags records tags; a later value of a key replaces an earlier one.
func (l *Logger) SetTags(tags ...Tag) {
	recs := make([]record, len(tags))
	for i, t := range tags {
		recs[i] = record{kind: kindTag, key: t.Key, value: t.Value}
	}
	l.enqueue(recs...)
}

// Flush sends everything logged before it was called and waits until the
// store accepted it, or it was spilled or refused, or ctx is done. It
// returns an error if any of those records was not accepted; records
// still unsent when ctx ends stay buffered and are sent later.
func (l *Logger) Flush(ctx context.Context) error {
	w := l.wait()
	if w == nil {
		return nil
	}
	select {
	case l.kick <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
		return w.res.err()
	case <-ctx.Done():
		l.mu.Lock()
		l.waiters = slices.DeleteFunc(l.waiters, func(x *waiter) bool { return x == w })
		l.mu.Unlock()
		return fmt.Errorf("flush run %s: %w", l.runID, ctx.Err())
	}
}

// wait registers a waiter for every record now buffered; nil if none.
func (l *Logger) wait() *waiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue) == 0 {
		return nil
	}
	w := &waiter{to: l.head + int64(len(l.queue)), done: make(chan struct{})}
	l.waiters = append(l.waiters, w)
	return w
}

// End records the end of the run, after everything logged before it:
// status and the end time (now) are sent with UpdateRun once the records
// before are settled, and End waits for that as Flush does. If the end
// cannot be sent it is spilled with the records, and Sync sends it.
func (l *Logger) End(ctx context.Context, status RunStatus) error {
	if !status.Terminal() {
		return fmt.Errorf("end run %s: status %q is not a final state", l.runID, status)
	}
	late, err := l.enqueue(record{kind: kindEnd, value: string(status), ts: l.nowMillis()})
	if late {
		if err != nil {
			return fmt.Errorf("end run %s: %w", l.runID, err)
		}
		return fmt.Errorf("end run %s: logger closed, end spilled to %s", l.runID, l.spill.path)
	}
	if err := l.Flush(ctx); err != nil {
		return fmt.Errorf("end run %s: %w", l.runID, err)
	}
	return nil
}

// Close sends what is buffered, spills what cannot be sent before ctx is
// done, and stops the background sender. It returns an error naming
// what was not sent. Every write to the spill file is synced as it is
// made, so what was spilled survives the process. Later calls return
// the first call's result; records logged after Close go straight to
// the spill file.
//
// The Logger installs no signal handler: on Ctrl-C a program cancels its
// own context and calls Close with a fresh one that has a deadline, so
// that a few seconds are spent trying to deliver and the rest is spilled
// rather than lost.
func (l *Logger) Close(ctx context.Context) error {
	l.closeOnce.Do(func() { l.closeErr = l.close(ctx) })
	return l.closeErr
}

func (l *Logger) close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	w := l.wait()
	close(l.closing)
	select {
	case <-l.exited:
	case <-ctx.Done():
		l.cancel()
		<-l.exited
	}
	l.cancel()
	if n := l.spilled.Load(); n > 0 {
		l.log.Warn("tracking: records spilled; replay them with `nebras runs sync`", "spilled", n, "file", l.spill.path)
	}
	if w == nil {
		return nil
	}
	// The sender settles every record before it exits.
	<-w.done
	if err := w.res.err(); err != nil {
		return fmt.Errorf("close logger of run %s: %w", l.runID, err)
	}
	return nil
}

// Stats returns the logger's counts.
func (l *Logger) Stats() LoggerStats {
	l.mu.Lock()
	pending := len(l.queue)
	l.mu.Unlock()
	return LoggerStats{
		Sent:      l.sent.Load(),
		Pending:   int64(pending),
		Retried:   l.retried.Load(),
		Spilled:   l.spilled.Load(),
		Refused:   l.refused.Load(),
		Lost:      l.lost.Load(),
		SpillPath: l.spill.path,
	}
}

func (l *Logger) nowMillis() int64 { return l.opt.Now().UnixMilli() }

// enqueue buffers recs and wakes the sender when enough are waiting.
// After Close it spills them at once instead, and reports late.
func (l *Logger) enqueue(recs ...record) (late bool, err error) {
	if len(recs) == 0 {
		return false, nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		if !l.warnedLate.Swap(true) {
			l.log.Warn("tracking: logging after Close; records go to the spill file", "file", l.spill.path)
		}
		units, _ := l.units(recs)
		return true, l.spillUnits(units, errStopped)
	}
	l.queue = append(l.queue, recs...)
	n := len(l.queue)
	l.mu.Unlock()
	if n >= l.opt.MaxPending {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return false, nil
}

// run is the sender goroutine.
func (l *Logger) run() {
	defer close(l.exited)
	tick := time.NewTicker(l.opt.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-l.kick:
		case <-l.closing:
			l.drain()
			return
		}
		l.drain()
	}
}

// drain sends buffered records until none are left, or spills them all
// when the server has been failing for RetryFor or Close ran out of time.
func (l *Logger) drain() {
	for {
		l.trim()
		if err := l.ctx.Err(); err != nil {
			l.spillQueue(0, errStopped)
			return
		}
		if l.givenUp() {
			l.spillQueue(0, fmt.Errorf("server failing for %s", l.opt.Now().Sub(l.failingSince).Round(time.Second)))
			return
		}
		recs := l.take()
		if recs == nil {
			return
		}
		res := l.send(recs)
		l.settle(len(recs), res)
		if res.gaveUp {
			l.spillQueue(0, res.gaveUpCause)
			return
		}
	}
}

// givenUp reports whether the server has failed for RetryFor and the
// backoff says not to try it again yet.
func (l *Logger) givenUp() bool {
	if l.failingSince.IsZero() {
		return false
	}
	now := l.opt.Now()
	return now.Sub(l.failingSince) >= l.opt.RetryFor && now.Before(l.nextTry)
}

// trim spills the oldest records while more than MaxBuffered are held,
// down to half of it, so that an outage does not grow memory without
// bound.
func (l *Logger) trim() {
	if l.overBuffered() {
		l.spillQueue(l.opt.MaxBuffered/2, fmt.Errorf("more than %d records buffered", l.opt.MaxBuffered))
	}
}

func (l *Logger) overBuffered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue) > l.opt.MaxBuffered
}

// take copies the next chunk to send: up to one request's worth of
// entities, or an end record alone.
func (l *Logger) take() []record {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.queue) == 0 {
		return nil
	}
	n := 1
	if l.queue[0].kind != kindEnd {
		for n < len(l.queue) && n < MaxEntitiesPerBatch && l.queue[n].kind != kindEnd {
			n++
		}
	}
	return slices.Clone(l.queue[:n])
}

// settle removes the n oldest records from the queue, now sent, spilled
// or refused as res says, and releases the Flush calls waiting for them.
func (l *Logger) settle(n int, res sendResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := l.head
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil // let an outage's backlog be collected
	}
	l.head += int64(n)
	kept := l.waiters[:0]
	for _, w := range l.waiters {
		if from < w.to {
			// A chunk can reach past w.to, so the counts can include
			// records logged after the Flush began.
			w.res.add(res)
		}
		if l.head >= w.to {
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	clear(l.waiters[len(kept):])
	l.waiters = kept
}

// spillQueue spills the oldest buffered records until keep are left.
func (l *Logger) spillQueue(keep int, cause error) {
	for {
		l.mu.Lock()
		n := min(len(l.queue)-keep, MaxEntitiesPerBatch)
		var recs []record
		if n > 0 {
			recs = slices.Clone(l.queue[:n])
		}
		l.mu.Unlock()
		if n <= 0 {
			return
		}
		units, res := l.units(recs)
		if err := l.spillFromSender(units, cause); err != nil {
			res.lost += len(recs) - res.refused
			res.lostCause = err
		} else {
			res.spilled += len(recs) - res.refused
			res.spillCause = cause
		}
		l.settle(n, res)
	}
}

// unit is what one request carries: a batch inside MLflow's limits, or
// the end of the run.
type unit struct {
	batch Batch
	end   *spillEnd
}

func (u unit) len() int {
	if u.end != nil {
		return 1
	}
	return u.batch.Len()
}

// sendResult is what became of one chunk.
type sendResult struct {
	refused, spilled, lost             int
	refuseCause, spillCause, lostCause error
	spillPath                          string
	// gaveUp: the server failed for RetryFor; spill the rest too.
	gaveUp      bool
	gaveUpCause error
}

func nRecords(n int) string {
	if n == 1 {
		return "1 record"
	}
	return fmt.Sprintf("%d records", n)
}

// add adds the counts of o to r, keeping r's causes where it has them.
func (r *sendResult) add(o sendResult) {
	r.refused += o.refused
	r.spilled += o.spilled
	r.lost += o.lost
	r.refuseCause = cmp.Or(r.refuseCause, o.refuseCause)
	r.spillCause = cmp.Or(r.spillCause, o.spillCause)
	r.lostCause = cmp.Or(r.lostCause, o.lostCause)
	r.spillPath = cmp.Or(r.spillPath, o.spillPath)
}

// err describes what in the chunk was not sent, or is nil.
func (r sendResult) err() error {
	var errs []error
	if r.refused > 0 {
		errs = append(errs, fmt.Errorf("%s refused: %w", nRecords(r.refused), r.refuseCause))
	}
	if r.spilled > 0 {
		errs = append(errs, fmt.Errorf("%s spilled to %s: %w", nRecords(r.spilled), r.spillPath, r.spillCause))
	}
	if r.lost > 0 {
		errs = append(errs, fmt.Errorf("%s lost: %w", nRecords(r.lost), r.lostCause))
	}
	return errors.Join(errs...)
}

// units groups records into requests inside MLflow's limits, reporting
// what the limits made it truncate or refuse.
func (l *Logger) units(recs []record) ([]unit, sendResult) {
	var out []unit
	res := sendResult{spillPath: l.spill.path}
	for len(recs) > 0 {
		if recs[0].kind == kindEnd {
			out = append(out, unit{end: &spillEnd{Status: RunStatus(recs[0].value), EndTime: recs[0].ts}})
			recs = recs[1:]
			continue
		}
		n := 0
		for n < len(recs) && recs[n].kind != kindEnd {
			n++
		}
		m, p, t := splitRecords(recs[:n])
		batches, rep := SplitBatch(m, p, t)
		l.report(rep, &res)
		for _, b := range batches {
			out = append(out, unit{batch: b})
		}
		recs = recs[n:]
	}
	return out, res
}

// spillUnits appends units to the spill file and counts them spilled,
// or lost when the file cannot be written (the error says why).
func (l *Logger) spillUnits(units []unit, cause error) error {
	if len(units) == 0 {
		return nil
	}
	n := 0
	recs := make([]spillRecord, len(units))
	for i, u := range units {
		n += u.len()
		if u.end != nil {
			recs[i] = spillRecord{End: u.end}
		} else {
			recs[i] = batchRecord(u.batch)
		}
	}
	note, err := l.spill.append(recs)
	if note != "" {
		l.log.Warn("tracking: repaired spill file", "file", l.spill.path, "repair", note)
	}
	if err != nil {
		l.lost.Add(int64(n))
		l.log.Error("tracking: records lost: could not be sent or spilled", "records", n, "cause", cause, "error", err)
		return err
	}
	l.spilled.Add(int64(n))
	return nil
}

// spillFromSender spills units for the sender goroutine and logs it,
// once per outage at warning level.
func (l *Logger) spillFromSender(units []unit, cause error) error {
	if err := l.spillUnits(units, cause); err != nil {
		return err
	}
	n := 0
	for _, u := range units {
		n += u.len()
	}
	level := slog.LevelWarn
	if l.warnedSpill {
		level = slog.LevelDebug // once an outage is reported, its further spills are noise
	}
	l.warnedSpill = true
	l.log.Log(context.Background(), level, "tracking: records spilled; replay them with `nebras runs sync`",
		"records", n, "file", l.spill.path, "cause", cause)
	return nil
}

// report logs what MLflow's limits made SplitBatch truncate or refuse
// and counts the refused.
func (l *Logger) report(rep BatchReport, res *sendResult) {
	if len(rep.Truncated) > 0 {
		l.log.Warn("tracking: values truncated to MLflow's limits", "truncated", rep.Truncated)
	}
	if len(rep.Refused) > 0 {
		l.log.Warn("tracking: entities refused by MLflow's limits", "refused", rep.Refused)
		l.refused.Add(int64(len(rep.Refused)))
		res.refused += len(rep.Refused)
		res.refuseCause = fmt.Errorf("beyond MLflow's limits: %s", strings.Join(rep.Refused, "; "))
	}
}

// send delivers one chunk, retrying while errors are retryable. What is
// still unsent when the server has failed for RetryFor, when memory is
// over MaxBuffered, or when Close runs out of time is spilled; what the
// server refuses as invalid is isolated by halving the request and
// dropped with an error log.
func (l *Logger) send(recs []record) sendResult {
	res := sendResult{spillPath: l.spill.path}
	var todo []unit
	var err error
	if recs[0].kind == kindEnd {
		todo = []unit{{end: &spillEnd{Status: RunStatus(recs[0].value), EndTime: recs[0].ts}}}
		err = l.attempt(todo[0])
	} else {
		m, p, t := splitRecords(recs)
		rep, e := LogBatchSplit(l.ctx, l.store, l.runID, m, p, t)
		l.report(rep, &res)
		unsent := 0
		for _, b := range rep.Unsent {
			todo = append(todo, unit{batch: b})
			unsent += b.Len()
		}
		l.sent.Add(int64(len(recs) - len(rep.Refused) - unsent))
		if e == nil || rep.Requests > 0 {
			l.reachable()
		}
		err = e
	}
	for len(todo) > 0 {
		u := todo[0]
		switch {
		case err == nil:
			l.sent.Add(int64(u.len()))
			l.reachable()
			todo = todo[1:]

		case l.ctx.Err() != nil:
			l.spillRest(todo, errStopped, &res)
			return res

		case Retryable(err):
			now := l.opt.Now()
			if l.failingSince.IsZero() {
				l.failingSince = now
			}
			l.failures++
			delay := l.backoff()
			if now.Sub(l.failingSince) >= l.opt.RetryFor {
				l.nextTry = now.Add(delay)
				res.gaveUp = true
				res.gaveUpCause = fmt.Errorf("server failing for %s: %w", now.Sub(l.failingSince).Round(time.Second), err)
				l.spillRest(todo, res.gaveUpCause, &res)
				return res
			}
			switch l.sleep(delay) {
			case sleptStopped:
				l.spillRest(todo, errStopped, &res)
				return res
			case sleptOverflow:
				l.spillRest(todo, fmt.Errorf("more than %d records buffered while retrying: %w", l.opt.MaxBuffered, err), &res)
				return res
			}
			l.retried.Add(1)

		case u.end == nil && u.batch.Len() > 1 && errors.Is(err, ErrInvalid):
			// One bad entity fails the whole request: halve it until the
			// bad ones are alone, so that the good ones still get in.
			l.reachable()
			a, b := halve(u.batch)
			todo = append([]unit{{batch: a}, {batch: b}}, todo[1:]...)

		default:
			l.reachable()
			l.refuse(u, err, &res)
			todo = todo[1:]
		}
		if len(todo) > 0 {
			err = l.attempt(todo[0])
		}
	}
	return res
}

// attempt sends one unit, once.
func (l *Logger) attempt(u unit) error {
	if u.end != nil {
		_, err := l.store.UpdateRun(l.ctx, l.runID, u.end.Status, u.end.EndTime, "")
		return err
	}
	_, err := LogBatchSplit(l.ctx, l.store, l.runID, u.batch.Metrics, u.batch.Params, u.batch.Tags)
	return err
}

// spillRest spills todo and notes it in res.
func (l *Logger) spillRest(todo []unit, cause error, res *sendResult) {
	n := 0
	for _, u := range todo {
		n += u.len()
	}
	if err := l.spillFromSender(todo, cause); err != nil {
		res.lost += n
		res.lostCause = err
		return
	}
	res.spilled += n
	res.spillCause = cause
}

// refuse drops a unit the server refused, with an error log naming its
// keys: sending it again would fail again.
func (l *Logger) refuse(u unit, err error, res *sendResult) {
	n := u.len()
	if u.end != nil {
		l.log.Error("tracking: server refused the end of the run", "status", u.end.Status, "error", err)
	} else {
		l.log.Error("tracking: server refused records", "records", n, "keys", keysOf(u.batch), "error", err)
	}
	l.refused.Add(int64(n))
	res.refused += n
	res.refuseCause = err
}

// reachable notes that the server answered: the outage, if any, is over.
func (l *Logger) reachable() {
	l.failingSince = time.Time{}
	l.failures = 0
	l.nextTry = time.Time{}
	l.warnedSpill = false
}

// backoff is the wait before the next retry: exponential in the failures
// of this outage, capped at MaxBackoff, with jitter so that many
// trainers do not retry in step.
func (l *Logger) backoff() time.Duration {
	d := l.opt.MinBackoff
	for i := 1; i < l.failures && d < l.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, l.opt.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

type sleepResult int

const (
	slept sleepResult = iota
	sleptStopped
	sleptOverflow
)

// sleep waits d, or less when Close runs out of time or memory goes over
// MaxBuffered.
func (l *Logger) sleep(d time.Duration) sleepResult {
	// The kick that crossed the bound may have been taken by run.
	if l.overBuffered() {
		return sleptOverflow
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return slept
		case <-l.ctx.Done():
			return sleptStopped
		case <-l.kick:
			if l.overBuffered() {
				return sleptOverflow
			}
		}
	}
}

// splitRecords sorts records into the three kinds of a log-batch.
func splitRecords(recs []record) (metrics []Metric, params []Param, tags []Tag) {
	for _, r := range recs {
		switch r.kind {
		case kindMetric:
			metrics = append(metrics, Metric{Key: r.key, Value: r.num, Timestamp: r.ts, Step: r.step})
		case kindParam:
			params = append(params, Param{Key: r.key, Value: r.value})
		case kindTag:
			tags = append(tags, Tag{Key: r.key, Value: r.value})
		}
	}
	return metrics, params, tags
}

// halve splits b into two batches of about half the entities each.
func halve(b Batch) (Batch, Batch) {
	k := b.Len() / 2
	var x, y Batch
	np := min(k, len(b.Params))
	x.Params, y.Params = b.Params[:np], b.Params[np:]
	k -= np
	nt := min(k, len(b.Tags))
	x.Tags, y.Tags = b.Tags[:nt], b.Tags[nt:]
	k -= nt
	x.Metrics, y.Metrics = b.Metrics[:k], b.Metrics[k:]
	return x, y
}

// keysOf names the keys in b for a log line, at most ten of them.
func keysOf(b Batch) string {
	seen := map[string]bool{}
	var keys []string
	add := func(kind, key string) {
		k := kind + " " + key
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, p := range b.Params {
		add("param", p.Key)
	}
	for _, t := range b.Tags {
		add("tag", t.Key)
	}
	for _, m := range b.Metrics {
		add("metric", m.Key)
	}
	if len(keys) > 10 {
		return strings.Join(keys[:10], ", ") + fmt.Sprintf(" and %d more", len(keys)-10)
	}
	return strings.Join(keys, ", ")
}
