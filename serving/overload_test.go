package serving

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nebras-ai/nebras/internal/leaktest"
	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/manager"
)

// TestOverload floods the real stack (server, manager, scheduler, over
// TCP) with far more concurrent requests than its batch and queue hold:
// everything that does not fit must be a 429 with Retry-After, nothing a
// 5xx, and once the load stops the goroutines must come back.
func TestOverload(t *testing.T) {
	dir := tinyModelDir(t)
	cpu := kernels.NewCPU(2)
	t.Cleanup(cpu.Close)
	reg := prometheus.NewRegistry()
	var mgr *manager.Manager
	metrics, err := NewMetrics(reg, func() batcher.Stats { return mgr.Stats() })
	if err != nil {
		t.Fatal(err)
	}
	mgr = manager.New(manager.DirSource{Dir: dir}, cpu, manager.Options{
		Scheduler: batcher.Options{MaxBatch: 2, QueueSize: 2, Observer: metrics}, Observer: metrics,
	})
	ctx := context.Background()
	if err := mgr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := New(mgr, Options{Registry: reg, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	base := runtime.NumGoroutine()

	const clients, rounds = 24, 3
	var mu sync.Mutex
	status := map[int]int{}
	for range rounds {
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				body := fmt.Sprintf(`{"max_tokens":24,"stream":%t,"messages":[{"role":"user","content":"parcel %d is late"}]}`, i%2 == 0, i)
				resp, err := client.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
				if resp.StatusCode == http.StatusOK && i%2 == 0 && !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
					t.Errorf("stream did not finish: %q", b)
				}
				mu.Lock()
				status[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	for code := range status {
		if code != http.StatusOK && code != http.StatusTooManyRequests {
			t.Errorf("answered %d: %v", code, status)
		}
	}
	if status[http.StatusOK] < rounds || status[http.StatusTooManyRequests] == 0 {
		t.Errorf("status %v: want both answers and refusals (batch 2 + queue 2 against %d clients)", status, clients)
	}
	if got := testutil.ToFloat64(metrics.rejected.WithLabelValues("queue_full")); int(got) != status[http.StatusTooManyRequests] {
		t.Errorf("queue_full rejections counted %v, 429s sent %d", got, status[http.StatusTooManyRequests])
	}

	// Load is over: connections close, handlers and slots are gone.
	client.CloseIdleConnections()
	hs.Close()
	if st := mgr.Stats(); st.Queued != 0 || st.Active != 0 {
		t.Errorf("after the load: %+v", st)
	}
	leaktest.Wait(t, base, time.Minute)
	if err := mgr.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
