package tracking

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// MLflow's limits on one log-batch request and on entity sizes
// (mlflow/utils/validation.py). A tracking server refuses a request that
// breaks any of them, so LogBatchSplit keeps every request inside.
const (
	MaxMetricsPerBatch  = 1000
	MaxParamsPerBatch   = 100
	MaxTagsPerBatch     = 100
	MaxEntitiesPerBatch = 1000
	MaxBatchBytes       = 1_000_000
	MaxKeyLength        = 250
	MaxParamValueLength = 6000
	MaxTagValueLength   = 8000
)

// batchEnvelope is room left in each request for what is not an entity:
// the run ID, field names, brackets.
const batchEnvelope = 512

// Batch is what one log-batch request carries.
type Batch struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// Len is the number of entities in b.
func (b Batch) Len() int { return len(b.Metrics) + len(b.Params) + len(b.Tags) }

// BatchReport says what LogBatchSplit did to fit MLflow's limits.
// Truncated and Refused describe each affected entity in words
// ("param optimizer_config: value 7012 characters, truncated to 6000").
type BatchReport struct {
	Requests  int
	Truncated []string
	Refused   []string
	// Unsent holds what was not delivered when LogBatchSplit returns an
	// error: the failed request and everything after it, already split
	// and truncated, so a retry sends exactly these and nothing twice.
	Unsent []Batch
}

// SplitBatch fits metrics, params and tags into requests inside MLflow's
// limits. Values over the length limits are truncated (MLflow's own
// clients do the same); entities that cannot be sent at all (an empty or
// over-long key) are refused. Order is kept within each kind; params go
// first, then tags, then metrics, as MLflow's Python client sends them.
func SplitBatch(metrics []Metric, params []Param, tags []Tag) ([]Batch, BatchReport) {
	var rep BatchReport
	var out []Batch
	var cur Batch
	size := batchEnvelope
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur)
		}
		cur = Batch{}
		size = batchEnvelope
	}
	fits := func(n int, kindLen, kindMax int) bool {
		return kindLen < kindMax && cur.Len() < MaxEntitiesPerBatch && size+n <= MaxBatchBytes
	}
	// Params and tags differ only in their value limit and where they go.
	addKeyValue := func(kind, key, value string, maxValue, perBatch int, inBatch func() int, add func(k, v string)) {
		if why := checkKey(key); why != "" {
			rep.Refused = append(rep.Refused, fmt.Sprintf("%s %s: %s", kind, quoteKey(key), why))
			return
		}
		if v, n, ok := truncate(value, maxValue); ok {
			rep.Truncated = append(rep.Truncated, fmt.Sprintf("%s %s: value %d characters, truncated to %d", kind, key, n, maxValue))
			value = v
		}
		n := entitySize(wireTag{key, value})
		if !fits(n, inBatch(), perBatch) {
			flush()
		}
		add(key, value)
		size += n
	}
	for _, p := range params {
		addKeyValue("param", p.Key, p.Value, MaxParamValueLength, MaxParamsPerBatch,
			func() int { return len(cur.Params) },
			func(k, v string) { cur.Params = append(cur.Params, Param{k, v}) })
	}
	for _, t := range tags {
		addKeyValue("tag", t.Key, t.Value, MaxTagValueLength, MaxTagsPerBatch,
			func() int { return len(cur.Tags) },
			func(k, v string) { cur.Tags = append(cur.Tags, Tag{k, v}) })
	}
	for _, m := range metrics {
		if why := checkKey(m.Key); why != "" {
			rep.Refused = append(rep.Refused, fmt.Sprintf("metric %s: %s", quoteKey(m.Key), why))
			continue
		}
		n := entitySize(wireMetricOf(m))
		if !fits(n, len(cur.Metrics), MaxMetricsPerBatch) {
			flush()
		}
		cur.Metrics = append(cur.Metrics, m)
		size += n
	}
	flush()
	return out, rep
}

// LogBatchSplit logs metrics, params and tags to a run in as many
// log-batch requests as MLflow's limits need, in order. On error the
// report's Unsent holds the requests not delivered.
func LogBatchSplit(ctx context.Context, s Store, runID string, metrics []Metric, params []Param, tags []Tag) (BatchReport, error) {
	batches, rep := SplitBatch(metrics, params, tags)
	for i, b := range batches {
		if err := s.LogBatch(ctx, runID, b.Metrics, b.Params, b.Tags); err != nil {
			rep.Unsent = batches[i:]
			if len(batches) > 1 {
				return rep, fmt.Errorf("log-batch request %d of %d: %w", i+1, len(batches), err)
			}
			return rep, err
		}
		rep.Requests++
	}
	return rep, nil
}

// checkKey returns why key cannot be logged, or "".
func checkKey(key string) string {
	if key == "" {
		return "empty key"
	}
	if n := utf8.RuneCountInString(key); n > MaxKeyLength {
		return fmt.Sprintf("key %d characters, longer than MLflow's limit of %d", n, MaxKeyLength)
	}
	return ""
}

func quoteKey(key string) string {
	if utf8.RuneCountInString(key) > 40 {
		r := []rune(key)
		return fmt.Sprintf("%q…", string(r[:40]))
	}
	return fmt.Sprintf("%q", key)
}

// truncate cuts s to max characters (code points, as MLflow counts them).
// It returns the cut string, the original length, and whether it cut.
func truncate(s string, max int) (string, int, bool) {
	if len(s) <= max { // bytes ≥ runes, so no rune count needed
		return s, 0, false
	}
	n := utf8.RuneCountInString(s)
	if n <= max {
		return s, 0, false
	}
	i, k := 0, 0
	for i = range s {
		if k == max {
			break
		}
		k++
	}
	return s[:i], n, true
}

// entitySize is the JSON size of one entity in a request, with a comma.
func entitySize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return MaxBatchBytes // cannot happen for these types; never fits with others
	}
	return len(b) + 1
}
