package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/serving/loadgen"
)

func (a *app) benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a stage under load",
	}
	cmd.AddCommand(a.benchServeCmd())
	return cmd
}

// benchPrompts are customer messages of the kind the synthetic tickets and
// SGD hold; --prompts replaces them.
var benchPrompts = []string{
	"Hi, my order has not arrived yet and the tracking page shows nothing.",
	"I was charged twice for my subscription this month.",
	"How do I reset my password? The reset email never comes.",
	"Can I change the delivery address on an order I placed yesterday?",
	"The app crashes every time I open the settings page.",
	"I want to cancel my plan and get a refund for the unused days.",
	"My discount code says it is invalid but it should still be valid.",
	"Where can I download the invoice for my last payment?",
}

// benchLevel is one row of the report.
type benchLevel struct {
	Mode     string `json:"mode"` // "batching" or "sequential"
	MaxBatch int    `json:"max_batch"`
	loadgen.Report
}

// benchOverload is the overload phase's outcome.
type benchOverload struct {
	Concurrency      int         `json:"concurrency"`
	QueueSize        int         `json:"queue_size"`
	MaxBatch         int         `json:"max_batch"`
	Status           map[int]int `json:"status"`
	Errors           int         `json:"errors"`
	GoroutinesBefore int         `json:"goroutines_before"`
	GoroutinesAfter  int         `json:"goroutines_after"`
	HeapBeforeMiB    float64     `json:"heap_before_mib"`
	HeapAfterMiB     float64     `json:"heap_after_mib"`
}

type benchReport struct {
	Model     string         `json:"model"`
	MaxTokens int            `json:"max_tokens"`
	Levels    []benchLevel   `json:"levels"`
	Ratios    map[string]any `json:"tokens_per_sec_ratio_max_over_1"`
	Overload  *benchOverload `json:"overload,omitempty"`
}

func (a *app) benchServeCmd() *cobra.Command {
	var (
		f           serveFlags
		url         string
		levels      string
		perLevel    int
		maxTokens   int
		promptsFile string
		sequential  bool
		overload    bool
		out         string
		cpuProfile  string
	)
	cmd := &cobra.Command{
		Use:   "serve (--model DIR | --registry-model NAME | --url http://127.0.0.1:PORT) [--concurrency 1,8,32]",
		Short: "Load-test the chat API: throughput, latency and time to first token per concurrency, batching on and off",
		Long: `bench serve starts the server in this process (or targets one already
running on this machine with --url; only loopback addresses are accepted),
sends streaming chat requests at each concurrency level and prints requests/s,
tokens/s and p50/p95/p99 latency and time to first token. With --sequential
(the default) every level runs again with batching off (--max-batch 1) so the
gain of continuous batching is measured side by side. --overload then floods a
server whose queue is small and reports the status codes, goroutines and heap
before and after.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conc, err := parseLevels(levels)
			if err != nil {
				return usageError{err}
			}
			if maxTokens < 1 || perLevel < 0 {
				return usageError{errors.New("--max-tokens must be at least 1 and --requests at least 0")}
			}
			prompts := benchPrompts
			if promptsFile != "" {
				lines, err := readLines(promptsFile)
				if err != nil {
					return usageError{err}
				}
				prompts = nil
				for _, l := range lines {
					if l = strings.TrimSpace(l); l != "" {
						prompts = append(prompts, l)
					}
				}
				if len(prompts) == 0 {
					return usageError{fmt.Errorf("--prompts %s: no prompts", promptsFile)}
				}
			}
			if cpuProfile != "" {
				fh, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer fh.Close()
				if err := pprof.StartCPUProfile(fh); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			ctx := cmd.Context()
			rep := benchReport{MaxTokens: maxTokens, Ratios: map[string]any{}}
			run := func(mode, base string, maxBatch int) error {
				// Warm up: the first requests pay for page faults and pools.
				if _, err := loadgen.Run(ctx, loadgen.Config{URL: base, Concurrency: 1, Requests: 2, MaxTokens: maxTokens, Prompts: prompts}); err != nil {
					return err
				}
				for _, c := range conc {
					n := perLevel
					if n == 0 {
						n = max(4*c, 16)
					}
					r, err := loadgen.Run(ctx, loadgen.Config{URL: base, Concurrency: c, Requests: n, MaxTokens: maxTokens, Prompts: prompts})
					if err != nil {
						return err
					}
					rep.Levels = append(rep.Levels, benchLevel{Mode: mode, MaxBatch: maxBatch, Report: r})
					fmt.Fprintf(cmd.ErrOrStderr(), "%s c=%d: %.1f req/s, %.1f tok/s\n", mode, c, r.RequestsPerSec, r.TokensPerSec)
				}
				return nil
			}
			if url != "" {
				if err := loadgen.CheckLoopback(url); err != nil {
					return usageError{err}
				}
				rep.Model = url
				if err := run("remote", url, 0); err != nil {
					return err
				}
			} else {
				modes := []int{f.maxBatch}
				if sequential && f.maxBatch > 1 {
					modes = append(modes, 1)
				}
				for _, mb := range modes {
					g := f
					g.maxBatch = mb
					g.queueSize = max(f.queueSize, conc[len(conc)-1])
					mode := "batching"
					if mb == 1 {
						mode = "sequential"
					}
					err := withServer(ctx, a, g, func(base, id string) error {
						rep.Model = id
						return run(mode, base, mb)
					})
					if err != nil {
						return err
					}
				}
				if overload {
					o, err := benchOverloadPhase(ctx, a, f, maxTokens, prompts)
					if err != nil {
						return err
					}
					rep.Overload = o
				}
			}
			for _, mode := range []string{"batching", "sequential", "remote"} {
				var lo, hi *benchLevel
				for i := range rep.Levels {
					l := &rep.Levels[i]
					if l.Mode != mode {
						continue
					}
					if lo == nil || l.Concurrency < lo.Concurrency {
						lo = l
					}
					if hi == nil || l.Concurrency > hi.Concurrency {
						hi = l
					}
				}
				if lo != nil && hi != lo && lo.TokensPerSec > 0 {
					rep.Ratios[mode] = hi.TokensPerSec / lo.TokensPerSec
				}
			}
			printBench(cmd.OutOrStdout(), rep)
			if out != "" {
				b, _ := json.MarshalIndent(rep, "", "  ")
				if err := atomicfile.WriteFile(out, append(b, '\n')); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	f.register(fs, 32)
	fs.StringVar(&url, "url", "", "bench a server already running on this machine (loopback only) instead of starting one")
	fs.StringVar(&levels, "concurrency", "1,8,32", "comma-separated concurrency levels")
	fs.IntVar(&perLevel, "requests", 0, "requests per level (0: 4 × concurrency, at least 16)")
	fs.IntVar(&maxTokens, "max-tokens", 32, "max_tokens of each request")
	fs.StringVar(&promptsFile, "prompts", "", "file of customer messages, one per line (default: a built-in set)")
	fs.BoolVar(&sequential, "sequential", true, "also run every level with batching off (--max-batch 1)")
	fs.BoolVar(&overload, "overload", true, "finish with an overload phase against a small queue")
	fs.StringVar(&out, "out", "", "also write the report as JSON to this file")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (server and load) to this file")
	_ = fs.MarkHidden("alias")
	return cmd
}

// withServer runs fn against an in-process server on a free loopback port.
func withServer(ctx context.Context, a *app, f serveFlags, fn func(base, id string) error) error {
	st, err := f.build(ctx, a.log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.close()
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- st.serve(sctx, ln, f.drainTimeout, a.log) }()
	info, _ := st.mgr.Model()
	err = fn("http://"+ln.Addr().String(), info.ID)
	stop()
	if serr := <-done; err == nil {
		err = serr
	}
	return err
}

// benchOverloadPhase floods a server with a small queue: everything that
// does not fit must be a 429, nothing a 5xx, and once the load stops the
// goroutines and heap must come back.
func benchOverloadPhase(ctx context.Context, a *app, f serveFlags, maxTokens int, prompts []string) (*benchOverload, error) {
	g := f
	g.queueSize = 4
	o := &benchOverload{QueueSize: g.queueSize, MaxBatch: g.maxBatch, Concurrency: 4 * (g.maxBatch + g.queueSize)}
	err := withServer(ctx, a, g, func(base, _ string) error {
		o.GoroutinesBefore, o.HeapBeforeMiB = settle()
		for range 3 {
			r, err := loadgen.Run(ctx, loadgen.Config{URL: base, Concurrency: o.Concurrency, Requests: 2 * o.Concurrency, MaxTokens: maxTokens, Prompts: prompts})
			if err != nil {
				return err
			}
			if o.Status == nil {
				o.Status = map[int]int{}
			}
			for k, v := range r.Status {
				o.Status[k] += v
			}
			o.Errors += r.Errors
		}
		o.GoroutinesAfter, o.HeapAfterMiB = settle()
		return nil
	})
	return o, err
}

// settle lets finished work wind down and reports goroutines and live heap.
func settle() (int, float64) {
	var ms runtime.MemStats
	n := runtime.NumGoroutine()
	for range 20 {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			break
		} else {
			n = m
		}
	}
	runtime.ReadMemStats(&ms)
	return n, float64(ms.HeapAlloc) / (1 << 20)
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--concurrency %q: want positive integers separated by commas", s)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("--concurrency %q: want increasing levels", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 0, 64) }

func printBench(w io.Writer, rep benchReport) {
	fmt.Fprintf(w, "model %s, max_tokens %d\n\n", rep.Model, rep.MaxTokens)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tconc\treqs\tok\t429\t5xx\terr\treq/s\ttok/s\tp50 ms\tp95 ms\tp99 ms\tttft p50\tttft p95\tttft p99\t")
	for _, l := range rep.Levels {
		fivexx := 0
		for code, n := range l.Status {
			if code >= 500 {
				fivexx += n
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			l.Mode, l.Concurrency, l.Requests, l.OK, l.Status[429], fivexx, l.Errors, l.RequestsPerSec, l.TokensPerSec,
			ms(l.Latency.P50), ms(l.Latency.P95), ms(l.Latency.P99), ms(l.FirstToken.P50), ms(l.FirstToken.P95), ms(l.FirstToken.P99))
	}
	_ = tw.Flush()
	for mode, r := range rep.Ratios {
		fmt.Fprintf(w, "\n%s: tokens/s at the highest concurrency = %.2f × the lowest", mode, r)
	}
	fmt.Fprintln(w)
	if o := rep.Overload; o != nil {
		fmt.Fprintf(w, "\noverload (concurrency %d, max batch %d, queue %d): status %v, transport errors %d; goroutines %d → %d, heap %.1f → %.1f MiB\n",
			o.Concurrency, o.MaxBatch, o.QueueSize, o.Status, o.Errors, o.GoroutinesBefore, o.GoroutinesAfter, o.HeapBeforeMiB, o.HeapAfterMiB)
	}
}
