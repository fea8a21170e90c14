package serving

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nebras-ai/nebras/serving/batcher"
)

// Label values of nebras_generation_finished_total{reason}.
const (
	finishStop      = "stop"
	finishLength    = "length"
	finishCancelled = "cancelled"
	finishTimeout   = "timeout"
	finishError     = "error"
)

// Label values of nebras_requests_rejected_total{reason}.
const (
	rejectQueueFull    = "queue_full"
	rejectRateLimited  = "rate_limited"
	rejectUnauthorized = "unauthorized"
	rejectInvalid      = "invalid"
	rejectTooLarge     = "too_large"
)

// Metrics are the server's Prometheus metrics. One Metrics is registered
// once on the server's registry; it is also the scheduler's
// batcher.Observer and the model manager's reload observer, so the CLI
// builds it first and hands it to all three.
type Metrics struct {
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	ttft             prometheus.Histogram
	queueWait        prometheus.Histogram
	promptTokens     prometheus.Counter
	completionTokens prometheus.Counter
	tokensPerSecond  prometheus.Histogram
	finished         *prometheus.CounterVec
	rejected         *prometheus.CounterVec

	batchSize    prometheus.Histogram
	stepDuration prometheus.Histogram

	modelInfo  *prometheus.GaugeVec
	reloads    *prometheus.CounterVec
	lastReload prometheus.Gauge
}

// NewMetrics creates the server's metrics and registers them, with the Go
// runtime and process collectors, on reg. stats reports the scheduler's
// load when Prometheus scrapes (nebras_scheduler_queue_depth and
// nebras_scheduler_active_sequences); it may refer to a backend built
// after NewMetrics returns, as long as it is built before the first scrape.
func NewMetrics(reg prometheus.Registerer, stats func() batcher.Stats) (*Metrics, error) {
	if reg == nil || stats == nil {
		return nil, errors.New("serving metrics: a registerer and a stats function are required")
	}
	latency := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	m := &Metrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nebras_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nebras_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, streamed replies until their last event.",
			Buckets: latency,
		}, []string{"route", "method"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nebras_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nebras_generation_time_to_first_token_seconds",
			Help:    "Time from submitting a generation to its first token, queueing included.",
			Buckets: latency,
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nebras_generation_queue_wait_seconds",
			Help:    "Time a generation waited in the queue for a decoding slot.",
			Buckets: latency,
		}),
		promptTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nebras_generation_prompt_tokens_total",
			Help: "Prompt tokens the model read, after truncation.",
		}),
		completionTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nebras_generation_completion_tokens_total",
			Help: "Tokens the model generated.",
		}),
		tokensPerSecond: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nebras_generation_tokens_per_second",
			Help: "Per request decoding speed: tokens generated after the first, divided by the time after the first token.",
			// Spans a CPU model decoding alone to a large batch on a GPU.
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000},
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nebras_generation_finished_total",
			Help: "Generations ended, by reason: stop, length, cancelled (the client left), timeout or error.",
		}, []string{"reason"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nebras_requests_rejected_total",
			Help: "Requests refused before generating, by reason.",
		}, []string{"reason"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nebras_scheduler_batch_size",
			Help:    "Sequences advanced by one batched decode step.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		stepDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nebras_scheduler_step_duration_seconds",
			Help:    "Duration of one batched decode step.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}),
		modelInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nebras_model_info",
			Help: "The model being served: 1 for its model, version and run_id labels.",
		}, []string{"model", "version", "run_id"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nebras_model_reloads_total",
			Help: "Model loads attempted, by result: success, or failure (the old model kept serving).",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nebras_model_last_reload_timestamp_seconds",
			Help: "Unix time of the last successful model load.",
		}),
	}
	// Every label value appears from the start, at zero, so that rate()
	// and alerts see a series before the first event of its kind.
	for _, r := range []string{finishStop, finishLength, finishCancelled, finishTimeout, finishError} {
		m.finished.WithLabelValues(r)
	}
	for _, r := range []string{rejectQueueFull, rejectRateLimited, rejectUnauthorized, rejectInvalid, rejectTooLarge} {
		m.rejected.WithLabelValues(r)
	}
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r)
	}
	cs := []prometheus.Collector{
		m.httpRequests, m.httpDuration, m.httpInFlight,
		m.ttft, m.queueWait, m.promptTokens, m.completionTokens, m.tokensPerSecond, m.finished, m.rejected,
		m.batchSize, m.stepDuration, m.modelInfo, m.reloads, m.lastReload,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nebras_scheduler_queue_depth",
			Help: "Generations waiting for a decoding slot.",
		}, func() float64 { return float64(stats().Queued) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nebras_scheduler_active_sequences",
			Help: "Sequences being decoded.",
		}, func() float64 { return float64(stats().Active) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("serving metrics: %w", err)
		}
	}
	return m, nil
}

// ObserveStep records one batched decode step; it implements
// batcher.Observer.
func (m *Metrics) ObserveStep(seqs, tokens int, d time.Duration) {
	m.batchSize.Observe(float64(seqs))
	m.stepDuration.Observe(d.Seconds())
}

// ObserveReload records an attempt to load a model: on success info becomes
// the one series of nebras_model_info and the reload time is set; on
// failure only the failure is counted, since the old model keeps serving.
func (m *Metrics) ObserveReload(info batcher.ModelInfo, err error) {
	if err != nil {
		m.reloads.WithLabelValues("failure").Inc()
		return
	}
	m.modelInfo.Reset()
	m.modelInfo.WithLabelValues(info.ID, info.Version, info.RunID).Set(1)
	m.reloads.WithLabelValues("success").Inc()
	m.lastReload.Set(float64(time.Now().UnixNano()) / 1e9)
}

func (m *Metrics) observeHTTP(route, method, code string, d time.Duration) {
	m.httpRequests.WithLabelValues(route, method, code).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

func (m *Metrics) reject(reason string) { m.rejected.WithLabelValues(reason).Inc() }

func (m *Metrics) finish(reason string) { m.finished.WithLabelValues(reason).Inc() }

// observeGeneration records a generation that ended normally; total is the
// time from Submit until its result.
func (m *Metrics) observeGeneration(res batcher.Result, total time.Duration) {
	reason := res.FinishReason
	if reason != finishStop && reason != finishLength {
		reason = finishStop // the scheduler ends a generation only these two ways
	}
	m.finish(reason)
	m.promptTokens.Add(float64(res.PromptTokens))
	m.completionTokens.Add(float64(res.CompletionTokens))
	m.queueWait.Observe(res.Queued.Seconds())
	if res.CompletionTokens > 0 {
		m.ttft.Observe(res.FirstToken.Seconds())
	}
	// The first token's time is prompt processing; the rate after it is
	// what a reader sees while the reply streams.
	if after := total - res.FirstToken; res.CompletionTokens > 1 && after > 0 {
		m.tokensPerSecond.Observe(float64(res.CompletionTokens-1) / after.Seconds())
	}
}
