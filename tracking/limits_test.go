package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitBatchKeepsEveryRequestInsideMLflowLimits(t *testing.T) {
	var metrics []Metric
	for i := range 2500 {
		metrics = append(metrics, Metric{Key: fmt.Sprintf("m%d", i%7), Value: float64(i), Timestamp: 1700000000000 + int64(i), Step: int64(i)})
	}
	var params []Param
	for i := range 250 {
		params = append(params, Param{Key: fmt.Sprintf("p%03d", i), Value: strings.Repeat("v", 5000)})
	}
	var tags []Tag
	for i := range 130 {
		tags = append(tags, Tag{Key: fmt.Sprintf("t%03d", i), Value: "x"})
	}
	batches, rep := SplitBatch(metrics, params, tags)
	if len(rep.Refused)+len(rep.Truncated) != 0 {
		t.Fatalf("nothing was over a limit, report %+v", rep)
	}
	var gotM, gotP, gotT int
	for i, b := range batches {
		if len(b.Metrics) > MaxMetricsPerBatch || len(b.Params) > MaxParamsPerBatch || len(b.Tags) > MaxTagsPerBatch || b.Len() > MaxEntitiesPerBatch {
			t.Errorf("batch %d: %d metrics, %d params, %d tags", i, len(b.Metrics), len(b.Params), len(b.Tags))
		}
		// The real request body, as RESTStore encodes it.
		body := struct {
			RunID   string       `json:"run_id"`
			Metrics []wireMetric `json:"metrics"`
			Params  []wireTag    `json:"params"`
			Tags    []wireTag    `json:"tags"`
		}{RunID: strings.Repeat("a", 32), Params: wireParams(b.Params), Tags: wireTags(b.Tags)}
		for _, m := range b.Metrics {
			body.Metrics = append(body.Metrics, wireMetricOf(m))
		}
		data, _ := json.Marshal(body)
		if len(data) > MaxBatchBytes {
			t.Errorf("batch %d: %d bytes", i, len(data))
		}
		// Order within each kind is kept across batches.
		for j, m := range b.Metrics {
			if m.Step != int64(gotM+j) {
				t.Fatalf("batch %d metric %d has step %d, want %d", i, j, m.Step, gotM+j)
			}
		}
		gotM, gotP, gotT = gotM+len(b.Metrics), gotP+len(b.Params), gotT+len(b.Tags)
	}
	if gotM != 2500 || gotP != 250 || gotT != 130 {
		t.Errorf("sent %d metrics, %d params, %d tags; want 2500, 250, 130", gotM, gotP, gotT)
	}
	// 250 params of 5000 bytes cannot share one MB: the byte limit, not
	// the count, splits them.
	if len(batches) < 5 {
		t.Errorf("%d batches; want at least 5", len(batches))
	}
}

func TestSplitBatchTruncatesValuesAndRefusesBadKeys(t *testing.T) {
	long := strings.Repeat("é", MaxParamValueLength+10) // two bytes a character: counted in characters
	params := []Param{{"ok", "1"}, {"big", long}, {strings.Repeat("k", MaxKeyLength+1), "x"}, {"", "y"}}
	tags := []Tag{{"note", strings.Repeat("t", MaxTagValueLength+1)}}
	metrics := []Metric{{Key: strings.Repeat("m", MaxKeyLength), Value: 1}, {Key: strings.Repeat("m", MaxKeyLength+1), Value: 2}}
	batches, rep := SplitBatch(metrics, params, tags)
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	b := batches[0]
	if len(b.Params) != 2 || b.Params[1].Key != "big" || utf8.RuneCountInString(b.Params[1].Value) != MaxParamValueLength || !utf8.ValidString(b.Params[1].Value) {
		t.Errorf("params %d, big value %d characters", len(b.Params), utf8.RuneCountInString(b.Params[1].Value))
	}
	if len(b.Tags[0].Value) != MaxTagValueLength {
		t.Errorf("tag value %d, want %d", len(b.Tags[0].Value), MaxTagValueLength)
	}
	if len(b.Metrics) != 1 {
		t.Errorf("%d metrics, want the one with a 250-character key", len(b.Metrics))
	}
	if len(rep.Truncated) != 2 || !strings.Contains(rep.Truncated[0], "param big: value 6010 characters, truncated to 6000") {
		t.Errorf("truncated %q", rep.Truncated)
	}
	if len(rep.Refused) != 3 || !strings.Contains(rep.Refused[1], "empty key") || !strings.Contains(rep.Refused[2], "metric") {
		t.Errorf("refused %q", rep.Refused)
	}
}

// failingStore fails the log-batch call number failAt (1-based).
type failingStore struct {
	Store
	calls, failAt int
	got           []Batch
}

func (s *failingStore) LogBatch(_ context.Context, _ string, m []Metric, p []Param, tg []Tag) error {
	s.calls++
	if s.calls == s.failAt {
		return &Error{Code: CodeTemporarilyUnavailable, HTTPStatus: 503, Message: "down"}
	}
	s.got = append(s.got, Batch{m, p, tg})
	return nil
}

func TestLogBatchSplitReportsWhatWasNotSent(t *testing.T) {
	var metrics []Metric
	for i := range 2500 {
		metrics = append(metrics, Metric{Key: "loss", Value: 1, Step: int64(i)})
	}
	s := &failingStore{failAt: 2}
	rep, err := LogBatchSplit(context.Background(), s, "r", metrics, nil, nil)
	if err == nil || !Retryable(err) || !strings.Contains(err.Error(), "request 2 of 3") {
		t.Fatalf("error %v", err)
	}
	if rep.Requests != 1 || len(rep.Unsent) != 2 {
		t.Fatalf("requests %d, unsent %d", rep.Requests, len(rep.Unsent))
	}
	// Sending the unsent batches delivers everything exactly once.
	for _, b := range rep.Unsent {
		if err := s.LogBatch(context.Background(), "r", b.Metrics, b.Params, b.Tags); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, b := range s.got {
		for _, m := range b.Metrics {
			if m.Step != int64(n) {
				t.Fatalf("step %d arrived as number %d", m.Step, n)
			}
			n++
		}
	}
	if n != 2500 {
		t.Errorf("%d metrics delivered, want 2500", n)
	}
}

func TestWireNumbersAcceptBothProto3Forms(t *testing.T) {
	var m wireMetric
	for _, in := range []string{
		`{"key":"a","value":1.5,"timestamp":1700000000123,"step":7,"extra":{"x":1}}`,
		`{"key":"a","value":"1.5","timestamp":"1700000000123","step":"7"}`,
	} {
		m = wireMetric{}
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := metricOf(m); got != (Metric{Key: "a", Value: 1.5, Timestamp: 1700000000123, Step: 7}) {
			t.Errorf("%s: %+v", in, got)
		}
	}
	if err := json.Unmarshal([]byte(`{"step":"7x"}`), &m); err == nil {
		t.Error("step \"7x\" accepted")
	}
	if err := json.Unmarshal([]byte(`{"value":"NaN"}`), &m); err != nil || m.Value == m.Value {
		t.Errorf("NaN: %v %v", err, m.Value)
	}
	b, _ := json.Marshal(wireMetric{Value: jfloat(math.Inf(-1))})
	if !strings.Contains(string(b), `"value":"-Infinity"`) {
		t.Errorf("-Inf encoded as %s", b)
	}
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&Error{Code: CodeInternalError, HTTPStatus: 500}, true},
		{&Error{Code: CodeRequestLimitExceeded, HTTPStatus: 429}, true},
		{&Error{Code: CodeInvalidParameterValue, HTTPStatus: 400}, false},
		{&Error{Code: CodeResourceDoesNotExist, HTTPStatus: 404}, false},
		{fmt.Errorf("wrapped: %w", &timeoutError{url: "u"}), true},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{errors.New("plain"), false},
	} {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v", c.err, got)
		}
	}
}
