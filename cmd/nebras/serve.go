package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/serving"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/manager"
)

// serveFlags are the flags that build a serving stack; nebras serve and
// nebras bench serve share them.
type serveFlags struct {
	modelDir      string
	registryModel string
	alias         string
	cacheDir      string
	tf            trackingFlags

	poll         time.Duration
	maxBatch     int
	queueSize    int
	threads      int
	drainTimeout time.Duration
	limits       serving.Limits
	apiKeysFile  string
	corsOrigins  []string
	shutdown     time.Duration
}

// register adds the flags; maxBatch is --max-batch's default (a server's
// and a load test's differ).
func (f *serveFlags) register(fs *pflag.FlagSet, maxBatch int) {
	fs.StringVar(&f.modelDir, "model", "", "serve the model in this directory (Hugging Face layout with tokenizer files)")
	fs.StringVar(&f.registryModel, "registry-model", "", "serve the version of this registered model that --alias points at, and follow the alias as it moves")
	fs.StringVar(&f.alias, "alias", "production", "registry alias to serve with --registry-model")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "where registry versions are downloaded (default: the user cache directory)")
	f.tf.register(fs)
	fs.DurationVar(&f.poll, "poll-interval", 30*time.Second, "how often to check the registry (or the --model directory) for a new model")
	fs.IntVar(&f.maxBatch, "max-batch", maxBatch, "most requests decoded together (continuous batching); 1 decodes one at a time")
	fs.IntVar(&f.queueSize, "queue-size", 64, "most requests waiting for a batch slot; more are refused with 429")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads for the model (0: every core)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 5*time.Minute, "how long a replaced model may finish its requests")
	fs.Int64Var(&f.limits.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body")
	fs.IntVar(&f.limits.MaxMessages, "max-messages", 64, "most messages in one conversation")
	fs.IntVar(&f.limits.MaxPromptTokens, "max-prompt-tokens", 0, "keep only the last N prompt tokens (0: what fits the model's context)")
	fs.IntVar(&f.limits.MaxTokens, "max-tokens-limit", 512, "largest max_tokens a client may ask for")
	fs.IntVar(&f.limits.DefaultMaxTokens, "default-max-tokens", 128, "max_tokens when a client gives none")
	fs.DurationVar(&f.limits.RequestTimeout, "request-timeout", 60*time.Second, "bound on one generation, queueing and streaming included")
	fs.StringVar(&f.apiKeysFile, "api-keys-file", "", "require bearer API keys from this file on /v1 (one per line: sha256:HEX or the key, optional rate=N/s|m|h)")
	fs.StringSliceVar(&f.corsOrigins, "cors-origin", nil, "origin allowed to call the API from a browser (repeatable; \"*\" for any); CORS is off without it")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long in-flight requests may finish")
}

// validate checks the flags before anything is loaded.
func (f *serveFlags) validate() error {
	switch {
	case (f.modelDir == "") == (f.registryModel == ""):
		return usageError{errors.New("give exactly one of --model DIR or --registry-model NAME")}
	case f.alias == "":
		return usageError{errors.New("--alias is empty")}
	case f.poll <= 0:
		return usageError{fmt.Errorf("--poll-interval %v: want a positive duration", f.poll)}
	case f.maxBatch < 1:
		return usageError{fmt.Errorf("--max-batch %d: want at least 1", f.maxBatch)}
	case f.queueSize < 1:
		return usageError{fmt.Errorf("--queue-size %d: want at least 1", f.queueSize)}
	case f.threads < 0:
		return usageError{fmt.Errorf("--threads %d: want 0 (every core) or more", f.threads)}
	case f.drainTimeout <= 0 || f.shutdown <= 0:
		return usageError{errors.New("--drain-timeout and --shutdown-timeout must be positive")}
	case f.limits.MaxBodyBytes < 1024:
		return usageError{fmt.Errorf("--max-body-bytes %d: want at least 1024", f.limits.MaxBodyBytes)}
	case f.limits.MaxMessages < 1:
		return usageError{fmt.Errorf("--max-messages %d: want at least 1", f.limits.MaxMessages)}
	case f.limits.MaxPromptTokens < 0:
		return usageError{fmt.Errorf("--max-prompt-tokens %d: want 0 or more", f.limits.MaxPromptTokens)}
	case f.limits.MaxTokens < 1:
		return usageError{fmt.Errorf("--max-tokens-limit %d: want at least 1", f.limits.MaxTokens)}
	case f.limits.DefaultMaxTokens < 1 || f.limits.DefaultMaxTokens > f.limits.MaxTokens:
		return usageError{fmt.Errorf("--default-max-tokens %d: want 1 to --max-tokens-limit (%d)", f.limits.DefaultMaxTokens, f.limits.MaxTokens)}
	case f.limits.RequestTimeout <= 0:
		return usageError{fmt.Errorf("--request-timeout %v: want a positive duration", f.limits.RequestTimeout)}
	}
	return nil
}

// stack is a loaded model manager and the server in front of it.
type stack struct {
	mgr    *manager.Manager
	srv    *serving.Server
	closer io.Closer // the tracking store, when there is one
	source string
}

// build loads the first model and builds the server. The caller runs
// st.mgr.Run for hot swaps and closes the stack.
func (f *serveFlags) build(ctx context.Context, log *slog.Logger) (*stack, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	var keys *serving.APIKeys
	if f.apiKeysFile != "" {
		var err error
		if keys, err = serving.LoadAPIKeys(f.apiKeysFile); err != nil {
			return nil, usageError{err}
		}
	}
	st := &stack{}
	var src manager.Source
	if f.modelDir != "" {
		src, st.source = manager.DirSource{Dir: f.modelDir}, f.modelDir
	} else {
		s, _, err := f.tf.open()
		if err != nil {
			return nil, err
		}
		st.closer = s
		rs := manager.RegistrySource{Store: s, Name: f.registryModel, Alias: f.alias, CacheDir: f.cacheDir}
		src, st.source = rs, rs.URI()
	}
	reg := prometheus.NewRegistry()
	var mgr *manager.Manager
	metrics, err := serving.NewMetrics(reg, func() batcher.Stats { return mgr.Stats() })
	if err != nil {
		st.close()
		return nil, err
	}
	mgr = manager.New(src, kernels.NewCPU(f.threads), manager.Options{
		Scheduler:    batcher.Options{MaxBatch: f.maxBatch, QueueSize: f.queueSize, Observer: metrics, Logger: log},
		PollInterval: f.poll, Observer: metrics, Logger: log, DrainTimeout: f.drainTimeout,
	})
	st.mgr = mgr
	if err := mgr.Load(ctx); err != nil {
		st.close()
		return nil, fmt.Errorf("serve %s: %w", st.source, err)
	}
	st.srv, err = serving.New(mgr, serving.Options{
		Logger: log, Registry: reg, Metrics: metrics, Limits: f.limits,
		APIKeys: keys, CORSOrigins: f.corsOrigins, ShutdownTimeout: f.shutdown,
	})
	if err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

func (st *stack) close() {
	if st.closer != nil {
		_ = st.closer.Close()
	}
}

// serve answers on ln until ctx ends, following the source for new
// models, then drains the model manager.
func (st *stack) serve(ctx context.Context, ln net.Listener, drain time.Duration, log *slog.Logger) error {
	defer st.close()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- st.mgr.Run(runCtx) }()
	err := st.srv.Serve(ctx, ln)
	stopRun()
	if rerr := <-runDone; rerr != nil && !errors.Is(rerr, context.Canceled) {
		log.Warn("model watcher stopped", "err", rerr)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if cerr := st.mgr.Close(dctx); cerr != nil && err == nil {
		err = fmt.Errorf("drain: %w", cerr)
	}
	return err
}

func (a *app) serveCmd() *cobra.Command {
	var (
		f    serveFlags
		addr string
	)
	cmd := &cobra.Command{
		Use:   "serve (--model DIR | --registry-model NAME [--alias production]) [--addr 127.0.0.1:8080]",
		Short: "Serve a model: OpenAI-compatible chat API, chat page, health checks and Prometheus metrics",
		Long: `serve answers chat requests with a model from a directory or, following
an alias in the MLflow registry, with whatever version the alias points at:
a newly promoted version is loaded and checked in the background and swapped
in without failing a request. SIGTERM stops accepting and lets in-flight
requests finish within --shutdown-timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return usageError{fmt.Errorf("--addr %q: want HOST:PORT", addr)}
			}
			ctx := cmd.Context()
			st, err := f.build(ctx, a.log)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				st.close()
				return fmt.Errorf("serve: %w", err)
			}
			info, _ := st.mgr.Model()
			base := "http://" + displayAddr(ln.Addr())
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "serving:   %s from %s\n", strings.TrimSpace(info.ID+" "+versionLabel(info)), st.source)
			fmt.Fprintf(out, "chat page: %s/\n", base)
			fmt.Fprintf(out, "metrics:   %s/metrics\n", base)
			fmt.Fprintf(out, "try:       curl -s %s/v1/chat/completions -H 'Content-Type: application/json' \\\n", base)
			if f.apiKeysFile != "" {
				fmt.Fprintf(out, "             -H \"Authorization: Bearer $NEBRAS_API_KEY\" \\\n")
			}
			fmt.Fprintf(out, "             -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi, my order has not arrived yet.\"}]}'\n")
			a.log.Info("serving", "addr", ln.Addr().String(), "model", info.ID, "version", info.Version, "source", st.source)
			return st.serve(ctx, ln, f.drainTimeout, a.log)
		},
	}
	fs := cmd.Flags()
	f.register(fs, 8)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (HOST:PORT; port 0 picks a free one)")
	return cmd
}

// displayAddr makes a listener's address usable in a URL: a wildcard host
// becomes 127.0.0.1.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// versionLabel names a registry version ("v3"); a directory has none.
func versionLabel(info batcher.ModelInfo) string {
	if info.Version == "" {
		return ""
	}
	return "v" + strings.TrimPrefix(info.Version, "v")
}
