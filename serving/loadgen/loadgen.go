// Package loadgen drives a Nebras server (or any OpenAI-compatible chat
// endpoint on this machine) with concurrent streaming chat requests and
// measures throughput, latency and time to first token. It refuses any
// address that is not a loopback address: it is a benchmark, not a tool for
// loading other people's servers.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config is one load level.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// Concurrency is how many requests are in flight at once.
	Concurrency int
	// Requests is how many requests to send in all.
	Requests int
	// MaxTokens is each request's max_tokens.
	MaxTokens int
	// Prompts are customer messages, used round-robin, one per request.
	Prompts []string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Client sends the requests; nil means a client sized for Concurrency.
	Client *http.Client
}

// Sample is one request's outcome.
type Sample struct {
	Status           int // HTTP status; 0 when the request never got one
	Latency          time.Duration
	FirstToken       time.Duration // 0 when no content arrived
	CompletionTokens int
	Err              error // transport or protocol error
}

// Percentiles summarises a distribution of durations.
type Percentiles struct {
	P50, P95, P99 time.Duration
}

// Report is the result of one load level.
type Report struct {
	Concurrency    int
	Requests       int
	OK             int         // 200 responses that finished their stream
	Status         map[int]int // responses by HTTP status
	Errors         int         // requests that got no usable response
	Elapsed        time.Duration
	RequestsPerSec float64 // OK responses per second of wall time
	TokensPerSec   float64 // completion tokens of OK responses per second
	Latency        Percentiles
	FirstToken     Percentiles
	FirstError     string // the first error seen, for the operator
}

// CheckLoopback returns an error unless rawURL is an http URL whose host is
// a loopback IP or "localhost".
func CheckLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("url %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: want http:// or https://", rawURL)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("url %q: the load generator only sends to loopback addresses (127.0.0.1, ::1, localhost)", rawURL)
	}
	return nil
}

func (c *Config) validate() error {
	if err := CheckLoopback(c.URL); err != nil {
		return err
	}
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: want at least 1", c.Concurrency)
	case c.Requests < 1:
		return fmt.Errorf("requests %d: want at least 1", c.Requests)
	case c.MaxTokens < 1:
		return fmt.Errorf("max tokens %d: want at least 1", c.MaxTokens)
	case len(c.Prompts) == 0:
		return errors.New("no prompts")
	}
	return nil
}

// Run sends cfg.Requests requests, cfg.Concurrency at a time, and reports.
// It returns an error only for a bad configuration or a cancelled ctx;
// failed requests are counted in the report.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.validate(); err != nil {
		return Report{}, err
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency,
		}}
		defer client.CloseIdleConnections()
	}
	endpoint := strings.TrimRight(cfg.URL, "/") + "/v1/chat/completions"
	samples := make([]Sample, cfg.Requests)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.Concurrency {
		wg.Go(func() {
			for i := range next {
				samples[i] = one(ctx, client, endpoint, cfg, cfg.Prompts[i%len(cfg.Prompts)])
			}
		})
	}
feed:
	for i := range cfg.Requests {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Report{}, fmt.Errorf("load: %w", err)
	}
	return summarise(cfg.Concurrency, samples, time.Since(start)), nil
}

// summarise turns samples into a report.
func summarise(concurrency int, samples []Sample, elapsed time.Duration) Report {
	r := Report{Concurrency: concurrency, Requests: len(samples), Status: map[int]int{}, Elapsed: elapsed}
	var lat, ttft []time.Duration
	tokens := 0
	for _, s := range samples {
		if s.Status != 0 {
			r.Status[s.Status]++
		}
		if s.Err != nil {
			r.Errors++
			if r.FirstError == "" {
				r.FirstError = s.Err.Error()
			}
			continue
		}
		if s.Status != http.StatusOK {
			continue
		}
		r.OK++
		tokens += s.CompletionTokens
		lat = append(lat, s.Latency)
		if s.FirstToken > 0 {
			ttft = append(ttft, s.FirstToken)
		}
	}
	if sec := elapsed.Seconds(); sec > 0 {
		r.RequestsPerSec = float64(r.OK) / sec
		r.TokensPerSec = float64(tokens) / sec
	}
	r.Latency, r.FirstToken = percentiles(lat), percentiles(ttft)
	return r
}

// percentiles uses the nearest-rank method.
func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return Percentiles{P50: rank(0.50), P95: rank(0.95), P99: rank(0.99)}
}

type chatRequest struct {
	Messages      []message      `json:"messages"`
	MaxTokens     int            `json:"max_tokens"`
	Stream        bool           `json:"stream"`
	StreamOptions map[string]any `json:"stream_options"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Usage *struct {
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// one sends a streaming request and reads the stream to its end.
func one(ctx context.Context, client *http.Client, endpoint string, cfg Config, prompt string) Sample {
	body, _ := json.Marshal(chatRequest{
		Messages: []message{{Role: "user", Content: prompt}}, MaxTokens: cfg.MaxTokens,
		Stream: true, StreamOptions: map[string]any{"include_usage": true},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Sample{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Sample{Err: err}
	}
	defer resp.Body.Close()
	s := Sample{Status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		s.Latency = time.Since(start)
		return s
	}
	s.CompletionTokens, s.FirstToken, s.Err = readStream(resp.Body, start)
	s.Latency = time.Since(start)
	return s
}

// readStream reads an OpenAI chat completion event stream up to [DONE] and
// returns the completion tokens from its usage chunk and the time its first
// content arrived.
func readStream(r io.Reader, start time.Time) (tokens int, first time.Duration, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	usage := false
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			if !usage {
				return 0, first, errors.New("stream ended without a usage chunk")
			}
			return tokens, first, nil
		}
		var c chunk
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return 0, first, fmt.Errorf("bad chunk %.80q: %w", line, err)
		}
		if c.Error != nil {
			return 0, first, fmt.Errorf("stream error: %s", c.Error.Message)
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" && first == 0 {
				first = time.Since(start)
			}
		}
		if c.Usage != nil {
			tokens, usage = c.Usage.CompletionTokens, true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, first, err
	}
	return 0, first, errors.New("stream ended without [DONE]")
}
