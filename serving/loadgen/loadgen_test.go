package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:1", true},
		{"http://[::1]:8080/", true},
		{"http://127.0.0.53", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
	} {
		err := CheckLoopback(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(d)
	want := Percentiles{P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond}
	if got != want {
		t.Fatalf("percentiles = %+v, want %+v", got, want)
	}
	if got := percentiles(nil); got != (Percentiles{}) {
		t.Fatalf("percentiles(nil) = %+v", got)
	}
	if got := percentiles([]time.Duration{7}); got.P50 != 7 || got.P99 != 7 {
		t.Fatalf("percentiles of one = %+v", got)
	}
}

func TestReadStream(t *testing.T) {
	good := "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\n" +
		"data: [DONE]\n\n"
	n, first, err := readStream(strings.NewReader(good), time.Now().Add(-time.Second))
	if err != nil || n != 3 || first < time.Second {
		t.Fatalf("readStream = %d, %v, %v", n, first, err)
	}
	for name, body := range map[string]string{
		"no done":  "data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\n",
		"no usage": "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
		"error":    "data: {\"error\":{\"message\":\"boom\"}}\n\n",
		"bad json": "data: {\n\n",
	} {
		if _, _, err := readStream(strings.NewReader(body), time.Now()); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestRunCountsOutcomes runs against a server that answers every third
// request with 429 and streams the rest.
func TestRunCountsOutcomes(t *testing.T) {
	var n, inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		var req chatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !req.Stream || req.MaxTokens != 5 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if n.Add(1)%3 == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{`{"choices":[{"delta":{"content":"a"}}]}`, `{"choices":[],"usage":{"completion_tokens":5}}`, "[DONE]"} {
			fmt.Fprintf(w, "data: %s\n\n", c)
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), Config{URL: srv.URL, Concurrency: 4, Requests: 30, MaxTokens: 5, Prompts: []string{"hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 20 || rep.Status[200] != 20 || rep.Status[429] != 10 || rep.Errors != 0 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.TokensPerSec <= 0 || rep.Latency.P50 <= 0 || rep.FirstToken.P50 <= 0 {
		t.Fatalf("report has no timings: %+v", rep)
	}
	if peak.Load() > 4 {
		t.Fatalf("peak concurrency %d exceeds 4", peak.Load())
	}
}

func TestRunRejectsRemoteAndBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "http://192.0.2.1:80", Concurrency: 1, Requests: 1, MaxTokens: 1, Prompts: []string{"x"}},
		{URL: "http://127.0.0.1:1", Concurrency: 0, Requests: 1, MaxTokens: 1, Prompts: []string{"x"}},
		{URL: "http://127.0.0.1:1", Concurrency: 1, Requests: 1, MaxTokens: 1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("Run(%+v): want an error", cfg)
		}
	}
}
