package tracking

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// A spill file holds what a Logger could not deliver, for Sync to replay
// later. It is JSON Lines: a header, then one record a line, each a
// log-batch already inside MLflow's per-request limits or the end of the
// run:
//
//	{"version":1,"run_id":"…","tracking_uri":"http://…","created":1700000000000}
//	{"metrics":[{"key":"loss","value":0.5,"timestamp":1700000000000,"step":3}],"params":[…],"tags":[…]}
//	{"end":{"status":"FINISHED","end_time":1700000000000}}
//
// Metric values that JSON cannot spell are strings: "NaN", "Infinity",
// "-Infinity". Sync keeps its progress in a sidecar file next to the spill
// file (<file>.sync) so that an interrupted replay resumes where it
// stopped.

// spillVersion is the format version in spill file headers.
const spillVersion = 1

// spillExt is the extension of spill files; SpillFiles lists these.
const spillExt = ".jsonl"

// DefaultSpillDir is where loggers spill when no directory is configured:
// $NEBRAS_SPILL_DIR, else .nebras/spill under the working directory.
func DefaultSpillDir() string {
	if d := os.Getenv("NEBRAS_SPILL_DIR"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		return filepath.Join(wd, ".nebras", "spill")
	}
	return filepath.Join(".nebras", "spill")
}

// SpillPath is the spill file of run runID in dir.
func SpillPath(dir, runID string) string {
	// Run IDs are hex in practice; escaping keeps any other ID inside dir.
	return filepath.Join(dir, url.PathEscape(runID)+spillExt)
}

// SpillFiles lists the spill files waiting in dir, sorted by name. A
// missing dir has none.
func SpillFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list spill files: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && filepath.Ext(e.Name()) == spillExt {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// spillHeader is the first line of a spill file.
type spillHeader struct {
	Version     int    `json:"version"`
	RunID       string `json:"run_id"`
	TrackingURI string `json:"tracking_uri"`
	Created     int64  `json:"created"`
}

// spillRecord is one line after the header: a batch, or the end of the
// run.
type spillRecord struct {
	Metrics []spillMetric `json:"metrics,omitempty"`
	Params  []spillKV     `json:"params,omitempty"`
	Tags    []spillKV     `json:"tags,omitempty"`
	End     *spillEnd     `json:"end,omitempty"`
}

type spillMetric struct {
	Key       string      `json:"key"`
	Value     metricValue `json:"value"`
	Timestamp int64       `json:"timestamp"`
	Step      int64       `json:"step"`
}

type spillKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type spillEnd struct {
	Status  RunStatus `json:"status"`
	EndTime int64     `json:"end_time"`
}

// metricValue is a float64 that survives JSON when it is NaN or infinite.
type metricValue float64

func (v metricValue) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendQuote(nil, FormatMetricValue(f)), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (v *metricValue) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		u, err := strconv.Unquote(s)
		if err != nil {
			return fmt.Errorf("metric value %s: %w", s, err)
		}
		s = u
	}
	f, err := ParseMetricValue(s)
	if err != nil {
		return err
	}
	*v = metricValue(f)
	return nil
}

// batchRecord is the spill record of a batch.
func batchRecord(b Batch) spillRecord {
	var r spillRecord
	for _, m := range b.Metrics {
		r.Metrics = append(r.Metrics, spillMetric{Key: m.Key, Value: metricValue(m.Value), Timestamp: m.Timestamp, Step: m.Step})
	}
	for _, p := range b.Params {
		r.Params = append(r.Params, spillKV(p))
	}
	for _, t := range b.Tags {
		r.Tags = append(r.Tags, spillKV(t))
	}
	return r
}

// batch is the batch a spill record holds.
func (r spillRecord) batch() Batch {
	var b Batch
	for _, m := range r.Metrics {
		b.Metrics = append(b.Metrics, Metric{Key: m.Key, Value: float64(m.Value), Timestamp: m.Timestamp, Step: m.Step})
	}
	for _, p := range r.Params {
		b.Params = append(b.Params, Param(p))
	}
	for _, t := range r.Tags {
		b.Tags = append(b.Tags, Tag(t))
	}
	return b
}

// spillWriter appends records to one run's spill file. The file is
// opened for each append and closed after it: spills are rare, and a
// file that Sync removed meanwhile is then created afresh rather than
// written to after its removal.
type spillWriter struct {
	path  string
	runID string
	uri   string
	now   func() int64 // Unix ms

	mu sync.Mutex
	// checked: the tail of an existing file was checked for a partial
	// line already. Only an earlier session can have left one.
	checked bool
}

// append writes records to the end of the file, one line each, and syncs
// it so that spilled data survives a crash of the process. repaired says
// what was wrong with the file, if anything was.
func (w *spillWriter) append(recs []spillRecord) (repaired string, err error) {
	var buf bytes.Buffer
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return "", fmt.Errorf("spill to %s: %w", w.path, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, repaired, err := w.open()
	if err != nil {
		return "", fmt.Errorf("spill to %s: %w", w.path, err)
	}
	// One write call: with O_APPEND, lines of two loggers of the same
	// run do not interleave.
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return repaired, fmt.Errorf("spill to %s: %w", w.path, err)
	}
	return repaired, nil
}

// open opens the spill file for appending, writing the header into a new
// one and cutting a partial last line (a crash while appending) off an
// old one, since a record appended after it would merge into it.
func (w *spillWriter) open() (f *os.File, repaired string, err error) {
	if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
		return nil, "", err
	}
	f, err = os.OpenFile(w.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	keep, size, err := completeLength(f)
	if err != nil {
		return nil, "", err
	}
	if keep < size && !w.checked {
		repaired = fmt.Sprintf("cut a partial last line of %d bytes", size-keep)
		if err := f.Truncate(keep); err != nil {
			return nil, "", err
		}
		size = keep
	}
	w.checked = true
	if size == 0 {
		// A new file: progress a sync kept for an older file of this
		// run does not apply to it.
		if err := os.Remove(syncStatePath(w.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		b, err := json.Marshal(spillHeader{Version: spillVersion, RunID: w.runID, TrackingURI: w.uri, Created: w.now()})
		if err != nil {
			return nil, "", err
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			return nil, "", err
		}
	}
	return f, repaired, nil
}

// completeLength returns the length of f up to and including its last
// newline, and its size.
func completeLength(f *os.File) (keep, size int64, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = fi.Size()
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, size, nil
		}
		end = start
	}
	return 0, size, nil
}

// SyncReport says what Sync replayed. Records counts the lines of the
// spill file replayed by this call; Metrics, Params and Tags the entities
// they held; Ended whether the run's end was among them.
type SyncReport struct {
	RunID    string
	Records  int
	Metrics  int
	Params   int
	Tags     int
	Ended    bool
	Warnings []string
}

// syncState is the progress of a sync of one spill file: Offset is the
// byte offset of the first line not fully replayed, and Requests how many
// of that line's log-batch requests were accepted already. Created ties
// it to one spill file (the header's created).
type syncState struct {
	Created  int64 `json:"created"`
	Offset   int64 `json:"offset"`
	Requests int   `json:"requests"`
}

func syncStatePath(spillPath string) string { return spillPath + ".sync" }

// Sync replays the spill file at path into store, in order, with
// LogBatchSplit and UpdateRun, and removes it once everything is in.
// After each accepted request the progress is saved durably beside the
// file, so a sync that fails or is interrupted can be run again and
// resumes without sending anything twice. A record the server refuses as
// invalid is skipped with a warning, since sending it again would fail
// again; any other error stops the sync.
//
// The run must exist in store. A file logged against another tracking URI
// is replayed with a warning in the report. A partial last line (the
// logging process died while writing it) is skipped with a warning.
// Sync must not run while a logger is still appending to the same file.
func Sync(ctx context.Context, store Store, path string) (SyncReport, error) {
	var rep SyncReport
	f, err := os.Open(path)
	if err != nil {
		return rep, fmt.Errorf("sync: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)

	line, err := br.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return rep, fmt.Errorf("sync %s: %w", path, err)
	}
	var h spillHeader
	if jerr := json.Unmarshal(line, &h); jerr != nil {
		if errors.Is(err, io.EOF) {
			// The process died while writing the header: nothing was
			// spilled after it.
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: partial header and no records, removed", path))
			return rep, removeSpill(path)
		}
		return rep, fmt.Errorf("sync %s: header: %w", path, jerr)
	}
	if h.Version != spillVersion {
		return rep, fmt.Errorf("sync %s: spill format version %d, want %d", path, h.Version, spillVersion)
	}
	if h.RunID == "" {
		return rep, fmt.Errorf("sync %s: header names no run", path)
	}
	rep.RunID = h.RunID
	if h.TrackingURI != store.URI() {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("run %s was logged to %s, replaying into %s", h.RunID, h.TrackingURI, store.URI()))
	}
	if _, err := store.GetRun(ctx, h.RunID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return rep, fmt.Errorf("sync %s: run %s does not exist in %s", path, h.RunID, store.URI())
		}
		return rep, fmt.Errorf("sync %s: get run %s: %w", path, h.RunID, err)
	}

	state := syncState{Created: h.Created, Offset: int64(len(line))}
	if saved, ok, err := loadSyncState(path); err != nil {
		return rep, fmt.Errorf("sync %s: %w", path, err)
	} else if ok && saved.Created == h.Created && saved.Offset >= state.Offset {
		fi, err := f.Stat()
		if err != nil {
			return rep, fmt.Errorf("sync %s: %w", path, err)
		}
		if saved.Offset > fi.Size() {
			// Removing the file as replayed could lose records.
			return rep, fmt.Errorf("sync %s: progress in %s is at byte %d, past the end of the file (%d bytes)",
				path, syncStatePath(path), saved.Offset, fi.Size())
		}
		state = saved
		if _, err := f.Seek(state.Offset, io.SeekStart); err != nil {
			return rep, fmt.Errorf("sync %s: %w", path, err)
		}
		br.Reset(f)
	}

	for {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return rep, fmt.Errorf("sync %s: %w", path, err)
		}
		if len(line) == 0 {
			break
		}
		last := errors.Is(err, io.EOF)
		var r spillRecord
		if jerr := json.Unmarshal(line, &r); jerr != nil {
			if last {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("skipped a partial last line of %d bytes at byte %d", len(line), state.Offset))
				break
			}
			return rep, fmt.Errorf("sync %s: record at byte %d: %w", path, state.Offset, jerr)
		}
		next := state.Offset + int64(len(line))
		if err := replay(ctx, store, path, h.RunID, r, &state, next, &rep); err != nil {
			return rep, err
		}
		rep.Records++
		if last {
			break
		}
	}
	return rep, removeSpill(path)
}

// replay sends one record, saving progress after each accepted request;
// on return without error state points at next.
func replay(ctx context.Context, store Store, path, runID string, r spillRecord, state *syncState, next int64, rep *SyncReport) error {
	advance := func(requests int, done bool) error {
		s := syncState{Created: state.Created, Offset: state.Offset, Requests: requests}
		if done {
			s.Offset, s.Requests = next, 0
		}
		if err := saveSyncState(path, s); err != nil {
			return fmt.Errorf("sync %s: save progress: %w", path, err)
		}
		*state = s
		return nil
	}
	if r.End != nil {
		if _, err := store.UpdateRun(ctx, runID, r.End.Status, r.End.EndTime, ""); err != nil {
			if !errors.Is(err, ErrInvalid) {
				return fmt.Errorf("sync %s: end run %s: %w", path, runID, err)
			}
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("end of run %s (%s) refused, skipped: %v", runID, r.End.Status, err))
		} else {
			rep.Ended = true
		}
		return advance(0, true)
	}
	b := r.batch()
	// The logger spills batches already inside the limits, so this is one
	// request; a hand-made or older file may need more, and Requests
	// remembers how many of them are in.
	batches, split := SplitBatch(b.Metrics, b.Params, b.Tags)
	for _, s := range split.Truncated {
		rep.Warnings = append(rep.Warnings, "truncated "+s)
	}
	for _, s := range split.Refused {
		rep.Warnings = append(rep.Warnings, "refused "+s)
	}
	if len(batches) == 0 {
		return advance(0, true)
	}
	for i := state.Requests; i < len(batches); i++ {
		sb := batches[i]
		if _, err := LogBatchSplit(ctx, store, runID, sb.Metrics, sb.Params, sb.Tags); err != nil {
			if !errors.Is(err, ErrInvalid) {
				return fmt.Errorf("sync %s: record at byte %d: %w", path, state.Offset, err)
			}
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("record at byte %d: %d entities (%s) refused, skipped: %v", state.Offset, sb.Len(), keysOf(sb), err))
		} else {
			rep.Metrics += len(sb.Metrics)
			rep.Params += len(sb.Params)
			rep.Tags += len(sb.Tags)
		}
		if err := advance(i+1, i == len(batches)-1); err != nil {
			return err
		}
	}
	return nil
}

func loadSyncState(spillPath string) (syncState, bool, error) {
	var s syncState
	b, err := os.ReadFile(syncStatePath(spillPath))
	if errors.Is(err, fs.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("read sync progress: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, false, fmt.Errorf("read sync progress %s: %w", syncStatePath(spillPath), err)
	}
	return s, true, nil
}

func saveSyncState(spillPath string, s syncState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(syncStatePath(spillPath), append(b, '\n'))
}

// removeSpill removes a fully replayed spill file and then its progress;
// in that order, a crash in between leaves progress that no new file of
// the run will match (see spillWriter.open).
func removeSpill(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sync: remove replayed spill file: %w", err)
	}
	if err := os.Remove(syncStatePath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sync: remove progress of %s: %w", path, err)
	}
	return nil
}
