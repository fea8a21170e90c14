package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spillWorkload logs a workload with the server down and closes the
// logger, leaving everything in the spill file, whose path it returns.
func spillWorkload(t *testing.T, dir, runID string, steps int) (loggerWorkload, string) {
	t.Helper()
	down := newFakeLogStore()
	down.fail = alwaysUnavailable
	l := NewLogger(down, runID, testLoggerOptions(dir))
	w := logWorkload(l, steps)
	if err := l.Close(canceledContext()); err == nil {
		t.Fatal("Close with the server down reported no error")
	}
	if st := l.Stats(); st.Spilled != w.records() {
		t.Fatalf("stats %+v, want all %d records spilled", st, w.records())
	}
	return w, l.Stats().SpillPath
}

func spillLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")
}

func TestSyncResumesWithoutDuplicates(t *testing.T) {
	for _, k := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprintf("fails after %d requests", k), func(t *testing.T) {
			dir := t.TempDir()
			w, path := spillWorkload(t, dir, "run1", 2500)
			store := newFakeLogStore()
			store.fail = func(n int, _ Batch) error {
				if n > k {
					return errUnavailable
				}
				return nil
			}
			rep, err := Sync(context.Background(), store, path)
			if !errors.Is(err, errUnavailable) {
				t.Fatalf("Sync with the server failing = %v, want it to stop with that error", err)
			}
			if rep.Records != k {
				t.Errorf("report %+v, want %d records replayed", rep, k)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("an interrupted sync removed the spill file: %v", err)
			}
			store.setFail(nil)
			rep, err = Sync(context.Background(), store, path)
			if err != nil {
				t.Fatalf("resumed Sync: %v", err)
			}
			checkDeliveredOnce(t, store, w, true)
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("spill file left after a complete sync (stat: %v)", err)
			}
		})
	}
}

func TestSyncResumesInsideARecord(t *testing.T) {
	// A record too big for one request, as an older or hand-made file may
	// hold: its requests are tracked one by one.
	dir := t.TempDir()
	path := filepath.Join(dir, "run1.jsonl")
	var w loggerWorkload
	var rec spillRecord
	for i := range 250 {
		p := Param{Key: fmt.Sprintf("p%03d", i), Value: "v"}
		w.params = append(w.params, p)
		rec.Params = append(rec.Params, spillKV(p))
	}
	writeSpillFile(t, path, spillHeader{Version: 1, RunID: "run1", TrackingURI: "http://tracking.test", Created: 1}, rec)

	store := newFakeLogStore()
	store.fail = func(n int, _ Batch) error {
		if n == 2 {
			return errUnavailable
		}
		return nil
	}
	if _, err := Sync(context.Background(), store, path); !errors.Is(err, errUnavailable) {
		t.Fatalf("Sync = %v, want the second request's error", err)
	}
	rep, err := Sync(context.Background(), store, path)
	if err != nil {
		t.Fatal(err)
	}
	checkDeliveredOnce(t, store, w, true)
	if rep.Params != 150 || rep.Records != 1 {
		t.Errorf("resumed report %+v, want the last 150 params of 1 record", rep)
	}
}

func writeSpillFile(t *testing.T, path string, h spillHeader, recs ...spillRecord) {
	t.Helper()
	var b strings.Builder
	line, _ := json.Marshal(h)
	b.Write(line)
	b.WriteByte('\n')
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSyncSkipsATruncatedLastLine(t *testing.T) {
	dir := t.TempDir()
	w, path := spillWorkload(t, dir, "run1", 100)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"metrics":[{"key":"loss","val`)
	f.Close()

	store := newFakeLogStore()
	rep, err := Sync(context.Background(), store, path)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "partial last line") {
		t.Errorf("warnings %q, want one about the partial last line", rep.Warnings)
	}
	checkDeliveredOnce(t, store, w, true)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spill file left after sync (stat: %v)", err)
	}
}

func TestSpillFileAcrossSessionsRepairsAPartialLine(t *testing.T) {
	dir := t.TempDir()
	w1, path := spillWorkload(t, dir, "run1", 100)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"params":[{"key":"x","va`)
	f.Close()
	// A second session of the same run appends to the same file.
	w2, path2 := spillWorkload(t, dir, "run1", 50)
	if path2 != path {
		t.Fatalf("second session spilled to %s, want %s", path2, path)
	}
	headers := 0
	for _, line := range spillLines(t, path) {
		if strings.Contains(line, `"version"`) {
			headers++
		}
	}
	if headers != 1 {
		t.Errorf("%d headers in the spill file, want 1", headers)
	}

	store := newFakeLogStore()
	rep, err := Sync(context.Background(), store, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings %q, want none", rep.Warnings)
	}
	all := loggerWorkload{
		metrics: append(w1.metrics, w2.metrics...),
		params:  append(w1.params, w2.params...),
		tags:    append(w1.tags, w2.tags...),
	}
	checkDeliveredOnce(t, store, all, true)
}

func TestSyncChecksTheRunAndTheStore(t *testing.T) {
	dir := t.TempDir()
	_, path := spillWorkload(t, dir, "run1", 10)

	missing := newFakeLogStore()
	missing.missing = map[string]bool{"run1": true}
	_, err := Sync(context.Background(), missing, path)
	if err == nil || !strings.Contains(err.Error(), "run run1 does not exist") {
		t.Fatalf("Sync to a store without the run = %v", err)
	}
	if len(missing.params) != 0 || len(missing.metrics) != 0 {
		t.Error("Sync sent records to a store without the run")
	}

	other := newFakeLogStore()
	other.uri = "file:///elsewhere/mlruns"
	rep, err := Sync(context.Background(), other, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "file:///elsewhere/mlruns") || !strings.Contains(rep.Warnings[0], "http://tracking.test") {
		t.Errorf("warnings %q, want one naming both tracking URIs", rep.Warnings)
	}
}

func TestSyncRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := spillRecord{Metrics: []spillMetric{{Key: "loss", Value: 1, Timestamp: 1, Step: 1}}}
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"corrupt middle line", `{"version":1,"run_id":"r","created":1}` + "\n{oops\n" + mustJSON(t, good) + "\n", "record at byte"},
		{"wrong version", `{"version":7,"run_id":"r","created":1}` + "\n", "version 7"},
		{"no run", `{"version":1,"created":1}` + "\n", "names no run"},
		{"bad header", "[]\n", "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".jsonl")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Sync(context.Background(), newFakeLogStore(), path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Sync = %v, want an error with %q", err, tt.want)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("a refused spill file was removed: %v", err)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSyncIgnoresProgressOfAnotherFile(t *testing.T) {
	dir := t.TempDir()
	w, path := spillWorkload(t, dir, "run1", 100)
	// Progress left by a sync of an older spill file of this run.
	stale := syncState{Created: 12345, Offset: 1 << 20}
	if err := saveSyncState(path, stale); err != nil {
		t.Fatal(err)
	}
	store := newFakeLogStore()
	if _, err := Sync(context.Background(), store, path); err != nil {
		t.Fatal(err)
	}
	checkDeliveredOnce(t, store, w, true)
}

func TestSyncSkipsRecordsTheServerRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run1.jsonl")
	bad := spillRecord{Params: []spillKV{{Key: "lr", Value: "0.1"}}}
	good := spillRecord{Metrics: []spillMetric{{Key: "loss", Value: 1, Timestamp: 1, Step: 1}}}
	writeSpillFile(t, path, spillHeader{Version: 1, RunID: "run1", TrackingURI: "http://tracking.test", Created: 1}, bad, good)
	store := newFakeLogStore()
	store.fail = func(_ int, b Batch) error {
		if len(b.Params) > 0 {
			return errBadParam
		}
		return nil
	}
	rep, err := Sync(context.Background(), store, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "param lr") || rep.Metrics != 1 || rep.Records != 2 {
		t.Errorf("report %+v, want the param skipped with a warning naming it and the metric sent", rep)
	}
}

func TestMetricValueJSON(t *testing.T) {
	tests := []struct {
		v    float64
		json string
	}{
		{0.5, `0.5`},
		{-3, `-3`},
		{1e300, `1e+300`},
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(metricValue(tt.v))
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.v, b, err, tt.json)
		}
		var got metricValue
		if err := json.Unmarshal([]byte(tt.json), &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.json, err)
		} else if FormatMetricValue(float64(got)) != FormatMetricValue(tt.v) {
			t.Errorf("Unmarshal(%s) = %v, want %v", tt.json, got, tt.v)
		}
	}
	var v metricValue
	if err := json.Unmarshal([]byte(`"fast"`), &v); err == nil {
		t.Error(`Unmarshal("fast") succeeded`)
	}
}

func TestSpillFilesAndDir(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.jsonl", "a.jsonl", "a.jsonl.sync", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := SpillFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("SpillFiles = %v, want %v", got, want)
	}
	if got, err := SpillFiles(filepath.Join(dir, "none")); err != nil || len(got) != 0 {
		t.Errorf("SpillFiles of a missing dir = %v, %v; want none", got, err)
	}

	t.Setenv("NEBRAS_SPILL_DIR", "/var/spill")
	if d := DefaultSpillDir(); d != "/var/spill" {
		t.Errorf("DefaultSpillDir = %s with NEBRAS_SPILL_DIR set", d)
	}
	t.Setenv("NEBRAS_SPILL_DIR", "")
	if d := DefaultSpillDir(); !strings.HasSuffix(d, filepath.Join(".nebras", "spill")) || !filepath.IsAbs(d) {
		t.Errorf("DefaultSpillDir = %s, want .nebras/spill under the working directory", d)
	}
	if p := SpillPath(dir, "../evil"); filepath.Dir(p) != dir {
		t.Errorf("SpillPath of ../evil = %s, outside %s", p, dir)
	}
}

func TestSpillHeader(t *testing.T) {
	dir := t.TempDir()
	store := newFakeLogStore()
	store.fail = alwaysUnavailable
	opt := testLoggerOptions(dir)
	opt.Now = func() time.Time { return time.UnixMilli(42) }
	l := NewLogger(store, "run1", opt)
	l.LogMetric("loss", 1, 0)
	l.Close(canceledContext())
	lines := spillLines(t, l.Stats().SpillPath)
	var h spillHeader
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatal(err)
	}
	if h != (spillHeader{Version: 1, RunID: "run1", TrackingURI: "http://tracking.test", Created: 42}) {
		t.Errorf("header %+v", h)
	}
}
