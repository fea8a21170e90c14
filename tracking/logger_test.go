package tracking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	errUnavailable = &Error{Code: CodeTemporarilyUnavailable, Message: "try later", HTTPStatus: 503}
	errBadParam    = &Error{Code: CodeInvalidParameterValue, Message: "param changed", HTTPStatus: 400}
)

// fakeLogStore is a Store that keeps what LogBatch and UpdateRun accept,
// with injectable failures. Other Store methods are not implemented.
type fakeLogStore struct {
	Store
	uri string

	mu      sync.Mutex
	missing map[string]bool // runs GetRun does not find
	metrics []Metric
	params  []Param
	tags    []Tag
	ends    []spillEnd
	calls   int // LogBatch calls, failed ones included
	// fail, when set, decides LogBatch call n (1-based); a non-nil error
	// is returned and nothing is kept.
	fail    func(n int, b Batch) error
	failEnd error
	// gate, when set, makes LogBatch wait for it to be closed;
	// entered is signalled when a call starts waiting.
	gate    chan struct{}
	entered chan struct{}
}

func newFakeLogStore() *fakeLogStore { return &fakeLogStore{uri: "http://tracking.test"} }

func (s *fakeLogStore) URI() string { return s.uri }

func (s *fakeLogStore) GetRun(_ context.Context, id string) (*Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing[id] {
		return nil, &Error{Code: CodeResourceDoesNotExist, Message: "run " + id + " not found", HTTPStatus: 404}
	}
	return &Run{Info: RunInfo{RunID: id}}, nil
}

func (s *fakeLogStore) LogBatch(ctx context.Context, _ string, m []Metric, p []Param, t []Tag) error {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		if err := s.fail(s.calls, Batch{Metrics: m, Params: p, Tags: t}); err != nil {
			return err
		}
	}
	s.metrics = append(s.metrics, m...)
	s.params = append(s.params, p...)
	s.tags = append(s.tags, t...)
	return nil
}

func (s *fakeLogStore) UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64, _ string) (*RunInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failEnd != nil {
		return nil, s.failEnd
	}
	s.ends = append(s.ends, spillEnd{Status: status, EndTime: endTime})
	return &RunInfo{RunID: runID, Status: status, EndTime: endTime}, nil
}

func (s *fakeLogStore) setFail(f func(n int, b Batch) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

func alwaysUnavailable(int, Batch) error { return errUnavailable }

// loggerWorkload is what a short training run logs.
type loggerWorkload struct {
	metrics []Metric // timestamps are not compared
	params  []Param
	tags    []Tag
}

// logWorkload logs a run of steps steps to l: 150 params up front (more
// than one request holds), a loss every step, two metrics every tenth,
// a few tags, and non-finite values that JSON cannot spell.
func logWorkload(l *Logger, steps int) loggerWorkload {
	var w loggerWorkload
	for i := range 150 {
		w.params = append(w.params, Param{Key: fmt.Sprintf("p%03d", i), Value: fmt.Sprint(i)})
	}
	l.LogParams(w.params...)
	for step := range int64(steps) {
		loss := 10 / float64(step+1)
		switch step {
		case 7:
			loss = math.NaN()
		case 8:
			loss = math.Inf(1)
		}
		l.LogMetric("loss", loss, step)
		w.metrics = append(w.metrics, Metric{Key: "loss", Value: loss, Step: step})
		if step%10 == 0 {
			kv := map[string]float64{"lr": 1e-3 / float64(step+1), "acc": float64(step) / float64(steps)}
			l.LogMetrics(step, kv)
			// LogMetrics sends keys sorted.
			w.metrics = append(w.metrics, Metric{Key: "acc", Value: kv["acc"], Step: step}, Metric{Key: "lr", Value: kv["lr"], Step: step})
		}
		if step%500 == 0 {
			tag := Tag{Key: "phase", Value: fmt.Sprint(step / 500)}
			l.SetTags(tag)
			w.tags = append(w.tags, tag)
		}
	}
	return w
}

func (w loggerWorkload) records() int64 { return int64(len(w.metrics) + len(w.params) + len(w.tags)) }

func metricID(m Metric) string {
	return fmt.Sprintf("%s@%d=%s", m.Key, m.Step, FormatMetricValue(m.Value))
}

// checkDeliveredOnce checks that store holds exactly what w logged, each
// once; with ordered, metrics must also have arrived in logging order.
func checkDeliveredOnce(t *testing.T, s *fakeLogStore, w loggerWorkload, ordered bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	count := func(ids []string) map[string]int {
		m := map[string]int{}
		for _, id := range ids {
			m[id]++
		}
		return m
	}
	var got, want []string
	for _, m := range s.metrics {
		got = append(got, metricID(m))
	}
	for _, m := range w.metrics {
		want = append(want, metricID(m))
	}
	if ordered {
		if len(got) != len(want) {
			t.Fatalf("%d metrics delivered, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("metric %d delivered is %s, want %s", i, got[i], want[i])
			}
		}
	}
	checkSame := func(what string, got, want []string) {
		t.Helper()
		gc, wc := count(got), count(want)
		for id, n := range wc {
			if gc[id] != n {
				t.Errorf("%s %s delivered %d times, want %d", what, id, gc[id], n)
			}
		}
		for id, n := range gc {
			if wc[id] == 0 {
				t.Errorf("%s %s delivered %d times, never logged", what, id, n)
			}
		}
	}
	checkSame("metric", got, want)
	var gp, wp, gt, wt []string
	for _, p := range s.params {
		gp = append(gp, p.Key+"="+p.Value)
	}
	for _, p := range w.params {
		wp = append(wp, p.Key+"="+p.Value)
	}
	for _, tg := range s.tags {
		gt = append(gt, tg.Key+"="+tg.Value)
	}
	for _, tg := range w.tags {
		wt = append(wt, tg.Key+"="+tg.Value)
	}
	checkSame("param", gp, wp)
	checkSame("tag", gt, wt)
}

// testLoggerOptions keeps every wait tiny and sends only when told to
// (Flush, End, Close, MaxPending), so tests do not depend on timing.
func testLoggerOptions(dir string) LoggerOptions {
	return LoggerOptions{
		FlushInterval: time.Hour,
		MaxPending:    1_000_000,
		RetryFor:      time.Hour,
		MinBackoff:    50 * time.Microsecond,
		MaxBackoff:    time.Millisecond,
		SpillDir:      dir,
		Log:           slog.New(slog.DiscardHandler),
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestLoggerDeliversEverythingOnceInOrder(t *testing.T) {
	tests := []struct {
		name        string
		fail        func(n int, b Batch) error
		wantRetried int64
	}{
		{"healthy", nil, 0},
		{
			// Call 2 is the second request of the first chunk (150
			// params do not fit one), so its retry must not resend the
			// first.
			"transient failures",
			func(n int, _ Batch) error {
				if n == 2 || n == 3 || n == 7 {
					return errUnavailable
				}
				return nil
			},
			3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			store := newFakeLogStore()
			store.fail = tt.fail
			opt := testLoggerOptions(dir)
			opt.MaxPending = 700 // some chunks go while logging goes on
			l := NewLogger(store, "run1", opt)
			w := logWorkload(l, 2500)
			if err := l.Flush(context.Background()); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			checkDeliveredOnce(t, store, w, true)
			if err := l.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			st := l.Stats()
			if st.Sent != w.records() || st.Pending != 0 || st.Spilled != 0 || st.Refused != 0 || st.Retried != tt.wantRetried {
				t.Errorf("stats %+v, want %d sent and %d retried, nothing else", st, w.records(), tt.wantRetried)
			}
			if _, err := os.Stat(st.SpillPath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("spill file exists though nothing was spilled (stat: %v)", err)
			}
		})
	}
}

func TestLoggerEnd(t *testing.T) {
	store := newFakeLogStore()
	opt := testLoggerOptions(t.TempDir())
	now := time.UnixMilli(1_700_000_000_123)
	opt.Now = func() time.Time { return now }
	l := NewLogger(store, "run1", opt)
	l.LogMetric("loss", 1, 0)
	if err := l.End(context.Background(), RunFinished); err != nil {
		t.Fatal(err)
	}
	if len(store.metrics) != 1 || len(store.ends) != 1 || store.ends[0] != (spillEnd{RunFinished, now.UnixMilli()}) {
		t.Fatalf("store has metrics %v, ends %v; want the loss, then FINISHED at %d", store.metrics, store.ends, now.UnixMilli())
	}
	if err := l.End(context.Background(), RunRunning); err == nil {
		t.Error("End accepted RUNNING")
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLoggerDownThroughoutSpillsAndSyncDelivers(t *testing.T) {
	dir := t.TempDir()
	down := newFakeLogStore()
	down.fail = alwaysUnavailable
	l := NewLogger(down, "run1", testLoggerOptions(dir))
	w := logWorkload(l, 2500)
	// A Flush whose context ends leaves the records buffered.
	if err := l.End(canceledContext(), RunFailed); !errors.Is(err, context.Canceled) {
		t.Fatalf("End with a cancelled context: %v", err)
	}
	err := l.Close(canceledContext())
	if err == nil || !strings.Contains(err.Error(), "spilled") {
		t.Fatalf("Close = %v, want an error saying records were spilled", err)
	}
	st := l.Stats()
	if want := w.records() + 1; st.Spilled != want || st.Sent != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v, want all %d records spilled", st, want)
	}
	files, err := SpillFiles(dir)
	if err != nil || len(files) != 1 || files[0] != st.SpillPath {
		t.Fatalf("SpillFiles = %v, %v; want [%s]", files, err, st.SpillPath)
	}

	healthy := newFakeLogStore()
	rep, err := Sync(context.Background(), healthy, st.SpillPath)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	checkDeliveredOnce(t, healthy, w, true)
	if len(healthy.ends) != 1 || healthy.ends[0].Status != RunFailed {
		t.Errorf("ends %v, want one FAILED", healthy.ends)
	}
	if !rep.Ended || rep.RunID != "run1" || rep.Metrics != len(w.metrics) || rep.Params != len(w.params) || rep.Tags != len(w.tags) || len(rep.Warnings) != 0 {
		t.Errorf("report %+v", rep)
	}
	if files, _ := SpillFiles(dir); len(files) != 0 {
		t.Errorf("spill files left after sync: %v", files)
	}
	if _, err := os.Stat(syncStatePath(st.SpillPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sync progress left after sync (stat: %v)", err)
	}
}

func TestLoggerGivesUpAfterRetryForThenRecovers(t *testing.T) {
	dir := t.TempDir()
	store := newFakeLogStore()
	store.fail = alwaysUnavailable
	opt := testLoggerOptions(dir)
	opt.RetryFor = time.Nanosecond
	l := NewLogger(store, "run1", opt)
	w := logWorkload(l, 300)
	err := l.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "spilled") {
		t.Fatalf("Flush with the server down = %v, want an error saying records were spilled", err)
	}
	if st := l.Stats(); st.Spilled != w.records() || st.Pending != 0 {
		t.Fatalf("stats %+v, want all %d records spilled", st, w.records())
	}

	store.setFail(nil)
	// Until its backoff ends the logger spills without trying; the first
	// try after it succeeds and logging goes on normally.
	for step := int64(300); ; step++ {
		l.LogMetric("loss", 0.01, step)
		w.metrics = append(w.metrics, Metric{Key: "loss", Value: 0.01, Step: step})
		if err := l.Flush(context.Background()); err == nil {
			break
		} else if step == 100_000 {
			t.Fatalf("Flush still fails after recovery: %v", err)
		}
	}
	before := l.Stats()
	l.LogMetric("loss", 0.001, 0)
	w.metrics = append(w.metrics, Metric{Key: "loss", Value: 0.001, Step: 0})
	if err := l.Flush(context.Background()); err != nil {
		t.Fatalf("Flush after recovery: %v", err)
	}
	if st := l.Stats(); st.Sent != before.Sent+1 || st.Spilled != before.Spilled {
		t.Errorf("stats %+v after a flush following %+v, want one more sent", st, before)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := Sync(context.Background(), store, l.Stats().SpillPath); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	checkDeliveredOnce(t, store, w, false)
}

func TestLoggerNeverBlocksTheCaller(t *testing.T) {
	store := newFakeLogStore()
	store.gate = make(chan struct{})
	store.entered = make(chan struct{}, 1)
	opt := testLoggerOptions(t.TempDir())
	opt.MaxPending = 10
	l := NewLogger(store, "run1", opt)
	var w loggerWorkload
	for step := range int64(10) {
		l.LogMetric("loss", float64(step), step)
		w.metrics = append(w.metrics, Metric{Key: "loss", Value: float64(step), Step: step})
	}
	<-store.entered // the sender is now stuck in LogBatch
	for step := int64(10); step < 5000; step++ {
		l.LogMetric("loss", float64(step), step)
		w.metrics = append(w.metrics, Metric{Key: "loss", Value: float64(step), Step: step})
	}
	// Reaching here with LogBatch still blocked is the point.
	if st := l.Stats(); st.Sent != 0 || st.Pending != 5000 {
		t.Fatalf("stats %+v while the store is blocked, want 5000 pending", st)
	}
	close(store.gate)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkDeliveredOnce(t, store, w, true)
}

func TestLoggerRefusesInvalidRecordsAndSendsTheRest(t *testing.T) {
	store := newFakeLogStore()
	store.fail = func(_ int, b Batch) error {
		for _, p := range b.Params {
			if p.Key == "bad" {
				return errBadParam
			}
		}
		return nil
	}
	var logs syncBuffer
	opt := testLoggerOptions(t.TempDir())
	opt.Log = slog.New(slog.NewTextHandler(&logs, nil))
	l := NewLogger(store, "run1", opt)
	w := logWorkload(l, 200)
	l.LogParams(Param{Key: "bad", Value: "x"})
	l.LogMetric("after", 1, 0)
	w.metrics = append(w.metrics, Metric{Key: "after", Value: 1, Step: 0})
	err := l.Flush(context.Background())
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "1 record refused") {
		t.Fatalf("Flush = %v, want 1 record refused as invalid", err)
	}
	checkDeliveredOnce(t, store, w, false)
	if st := l.Stats(); st.Refused != 1 || st.Sent != w.records() || st.Spilled != 0 {
		t.Errorf("stats %+v, want 1 refused and %d sent", st, w.records())
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "param bad") {
		t.Errorf("no error log names the refused param:\n%s", logs.String())
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLoggerReportsKeysRefusedByLimits(t *testing.T) {
	store := newFakeLogStore()
	var logs syncBuffer
	opt := testLoggerOptions(t.TempDir())
	opt.Log = slog.New(slog.NewTextHandler(&logs, nil))
	l := NewLogger(store, "run1", opt)
	l.LogMetric("", 1, 0)
	l.LogParams(Param{Key: "long", Value: strings.Repeat("v", MaxParamValueLength+1)})
	err := l.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Close = %v, want the empty key refused", err)
	}
	if st := l.Stats(); st.Refused != 1 || st.Sent != 1 {
		t.Errorf("stats %+v, want 1 refused, 1 sent", st)
	}
	out := logs.String()
	if !strings.Contains(out, "empty key") || !strings.Contains(out, "param long") || !strings.Contains(out, "truncated") {
		t.Errorf("logs do not name the refused and truncated keys:\n%s", out)
	}
}

func TestLoggerSpillsOldestPastMaxBuffered(t *testing.T) {
	dir := t.TempDir()
	store := newFakeLogStore()
	store.fail = alwaysUnavailable
	opt := testLoggerOptions(dir)
	opt.MaxPending = 10
	opt.MaxBuffered = 100
	opt.MinBackoff, opt.MaxBackoff = time.Hour, time.Hour // the sender sits in backoff
	l := NewLogger(store, "run1", opt)
	var w loggerWorkload
	step := int64(0)
	log := func(n int) {
		for range n {
			l.LogMetric("loss", float64(step), step)
			w.metrics = append(w.metrics, Metric{Key: "loss", Value: float64(step), Step: step})
			step++
		}
	}
	log(500)
	// Past MaxBuffered the sender is woken from its backoff to spill.
	// Wait for that by progress; the bound only turns a hang into a
	// failure.
	for i := 0; ; i++ {
		if st := l.Stats(); st.Spilled > 0 && st.Pending <= 100 {
			break
		}
		if i == 20_000 {
			t.Fatalf("%d records buffered over a bound of 100 and not spilled: %+v", step, l.Stats())
		}
		time.Sleep(100 * time.Microsecond)
	}
	log(10)
	if err := l.Close(canceledContext()); err == nil {
		t.Fatal("Close with the server down and no time reported no error")
	}
	if st := l.Stats(); st.Spilled != int64(len(w.metrics)) {
		t.Fatalf("stats %+v, want all %d spilled", st, len(w.metrics))
	}
	store.setFail(nil)
	if _, err := Sync(context.Background(), store, l.Stats().SpillPath); err != nil {
		t.Fatal(err)
	}
	checkDeliveredOnce(t, store, w, false)
}

func TestLoggerAfterCloseSpills(t *testing.T) {
	dir := t.TempDir()
	store := newFakeLogStore()
	l := NewLogger(store, "run1", testLoggerOptions(dir))
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.LogMetric("late", 2, 9)
	if err := l.End(context.Background(), RunKilled); err == nil || !strings.Contains(err.Error(), "spilled") {
		t.Errorf("End after Close = %v, want an error saying it was spilled", err)
	}
	if st := l.Stats(); st.Spilled != 2 {
		t.Fatalf("stats %+v, want 2 spilled", st)
	}
	rep, err := Sync(context.Background(), store, filepath.Join(dir, "run1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(store.metrics) != 1 || store.metrics[0].Key != "late" || !rep.Ended || store.ends[0].Status != RunKilled {
		t.Errorf("after sync: metrics %v, ends %v, report %+v", store.metrics, store.ends, rep)
	}
}

func TestLoggerEndIsSpilledAfterItsRecords(t *testing.T) {
	dir := t.TempDir()
	store := newFakeLogStore()
	store.failEnd = errUnavailable
	opt := testLoggerOptions(dir)
	opt.RetryFor = time.Nanosecond
	l := NewLogger(store, "run1", opt)
	l.LogMetric("loss", 1, 0)
	if err := l.End(context.Background(), RunFinished); err == nil || !strings.Contains(err.Error(), "1 record spilled") {
		t.Fatalf("End with UpdateRun failing = %v, want the end spilled", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	store.failEnd = nil
	rep, err := Sync(context.Background(), store, l.Stats().SpillPath)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Ended || rep.Records != 1 || len(store.ends) != 1 || len(store.metrics) != 1 {
		t.Errorf("report %+v, store ends %v, metrics %v", rep, store.ends, store.metrics)
	}
}
