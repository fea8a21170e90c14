// Package serving is Nebras' HTTP server: an OpenAI-compatible chat
// completion API over a Backend (the model manager and its continuous
// batching scheduler), health checks, Prometheus metrics and the support
// agents' chat page.
//
// Routes:
//
//	POST /v1/chat/completions  OpenAI's chat completion, streamed or not
//	GET  /v1/models            the served model, with its registry version
//	GET  /v1/models/:model     one model
//	GET  /healthz              200 while the process runs
//	GET  /readyz               200 once a model is loaded, 503 before
//	GET  /metrics              Prometheus metrics of the server's registry
//	GET  /                     the chat page and its assets (serving/web)
//
// Every error is JSON like OpenAI's: {"error": {"message", "type", "code"}}.
// When API keys are configured, the /v1 routes need one; the rest never do.
package serving

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/serving/openai"
	"github.com/nebras-ai/nebras/serving/web"
)

// Backend generates replies; *manager.Manager implements it.
type Backend interface {
	// Submit queues a generation; the stream ends early when ctx does.
	Submit(ctx context.Context, r batcher.Request) (*batcher.Stream, error)
	// Model describes the model serving now; false before the first one is
	// loaded.
	Model() (batcher.ModelInfo, bool)
	// Stats reports the scheduler's load.
	Stats() batcher.Stats
}

// Limits bound what one request may ask. Zero fields take the defaults
// named beside them.
type Limits struct {
	// MaxBodyBytes is the largest request body (1 MiB); larger is a 413.
	MaxBodyBytes int64
	// MaxMessages is the most messages a conversation may hold (64).
	MaxMessages int
	// MaxPromptTokens keeps only the last N prompt tokens, cut from the
	// left as training did; 0 keeps what fits the model's context.
	MaxPromptTokens int
	// MaxTokens is the largest max_tokens a client may ask for (512).
	MaxTokens int
	// DefaultMaxTokens is max_tokens when a client gives none (128, and
	// never above MaxTokens).
	DefaultMaxTokens int
	// RequestTimeout bounds a generation, queueing and streaming
	// included (60 s); past it the answer is a 504, or an error event when
	// streaming had begun.
	RequestTimeout time.Duration
}

// Options configure a Server. The zero value is usable.
type Options struct {
	// Logger receives one line per request and the server's errors; nil
	// discards them.
	Logger *slog.Logger
	// Registry is what GET /metrics serves; nil makes a new one. It is
	// never the global default registry, so servers in one process (tests)
	// do not collide.
	Registry *prometheus.Registry
	// Metrics, when set, must be registered on Registry (the CLI builds it
	// first to share it with the manager); nil makes one on Registry over
	// the backend's Stats.
	Metrics *Metrics
	// Limits bound requests.
	Limits Limits
	// APIKeys, when set, are required on the /v1 routes.
	APIKeys *APIKeys
	// CORSOrigins are the origins browsers may call the API from ("*" for
	// any); empty turns CORS off, and no CORS header is sent.
	CORSOrigins []string
	// ShutdownTimeout is how long Serve lets in-flight requests finish
	// once its context ends (30 s).
	ShutdownTimeout time.Duration
}

// Server is the HTTP server. Its handler is safe for concurrent use.
type Server struct {
	backend Backend
	opt     Options
	lim     Limits
	log     *slog.Logger
	metrics *Metrics
	keys    *APIKeys
	engine  *gin.Engine
}

// New builds a server over b.
//
// It puts Gin in release mode unless GIN_MODE says otherwise: Gin's mode
// is process-wide (an atomic), and debug mode prints every route to
// standard output, which would corrupt the JSON logs.
func New(b Backend, opt Options) (*Server, error) {
	if b == nil {
		return nil, errors.New("serving: a backend is required")
	}
	lim, err := withDefaults(opt.Limits)
	if err != nil {
		return nil, fmt.Errorf("serving: %w", err)
	}
	if opt.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("serving: negative shutdown timeout %v", opt.ShutdownTimeout)
	}
	if opt.ShutdownTimeout == 0 {
		opt.ShutdownTimeout = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Metrics != nil && opt.Registry == nil {
		return nil, errors.New("serving: Options.Metrics needs the Options.Registry it is registered on")
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	if opt.Metrics == nil {
		if opt.Metrics, err = NewMetrics(opt.Registry, b.Stats); err != nil {
			return nil, fmt.Errorf("serving: %w", err)
		}
	}
	s := &Server{backend: b, opt: opt, lim: lim, log: opt.Logger, metrics: opt.Metrics, keys: opt.APIKeys}

	if os.Getenv(gin.EnvGinMode) == "" && gin.Mode() != gin.ReleaseMode {
		gin.SetMode(gin.ReleaseMode)
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	// The server answers behind proxies it does not know; client IPs are
	// not used, so no header is trusted for them.
	if err := e.SetTrustedProxies(nil); err != nil {
		return nil, fmt.Errorf("serving: %w", err)
	}
	e.Use(requestID, s.observe, s.recoverPanic, securityHeaders)
	if len(opt.CORSOrigins) > 0 {
		e.Use(s.cors)
	}
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(opt.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(opt.Logger.Handler(), slog.LevelError),
	})))
	v1 := e.Group("/v1")
	if s.keys != nil {
		v1.Use(s.authenticate)
	}
	v1.POST("/chat/completions", s.chat)
	v1.GET("/models", s.models)
	v1.GET("/models/:model", s.model)
	if err := routePage(e, web.FS()); err != nil {
		return nil, fmt.Errorf("serving: %w", err)
	}
	s.engine = e
	return s, nil
}

func withDefaults(l Limits) (Limits, error) {
	if l.MaxBodyBytes < 0 || l.MaxMessages < 0 || l.MaxPromptTokens < 0 || l.MaxTokens < 0 ||
		l.DefaultMaxTokens < 0 || l.RequestTimeout < 0 {
		return l, fmt.Errorf("negative limit in %+v", l)
	}
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = 1 << 20
	}
	if l.MaxMessages == 0 {
		l.MaxMessages = 64
	}
	if l.MaxTokens == 0 {
		l.MaxTokens = 512
	}
	if l.DefaultMaxTokens == 0 {
		l.DefaultMaxTokens = 128
	}
	l.DefaultMaxTokens = min(l.DefaultMaxTokens, l.MaxTokens)
	if l.RequestTimeout == 0 {
		l.RequestTimeout = 60 * time.Second
	}
	return l, nil
}

// routePage serves the chat page's files: index.html at / and every other
// file at its path. Each file gets its own route, rather than a wildcard,
// so the page cannot shadow the API and unknown paths stay JSON 404s.
func routePage(e *gin.Engine, page fs.FS) error {
	return fs.WalkDir(page, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("page files: %w", err)
		}
		if d.IsDir() {
			return nil
		}
		path := "/" + name
		if name == "index.html" {
			path = "/"
		}
		e.GET(path, func(c *gin.Context) { http.ServeFileFS(c.Writer, c.Request, page, name) })
		return nil
	})
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully: it
// stops accepting, lets in-flight requests (streams included) finish
// within Options.ShutdownTimeout, and returns. Past the deadline it closes
// the remaining connections, which cancels their generations, and returns
// an error saying so.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		// No ReadTimeout or WriteTimeout: both would cut long streams. The
		// chat handler bounds its own body read and generation instead.
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.opt.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opt.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		<-errc
		return fmt.Errorf("shutdown: requests still running after %v were cut: %w", s.opt.ShutdownTimeout, err)
	}
	<-errc // http.ErrServerClosed, as Shutdown promises
	return nil
}

func (s *Server) ready(c *gin.Context) {
	info, ok := s.backend.Model()
	if !ok {
		abortWith(c, newAPIError(http.StatusServiceUnavailable, openai.TypeServer, codeNoModel, "No model is loaded yet."))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "model": info.ID, "version": info.Version})
}

func modelObject(info batcher.ModelInfo) openai.Model {
	m := openai.Model{
		ID:      info.ID,
		Object:  openai.ObjectModel,
		Created: info.LoadedAt.Unix(),
		OwnedBy: "nebras",
		Nebras:  &openai.ModelMeta{Version: info.Version, RunID: info.RunID},
	}
	// A registry URI says where the model came from; a directory's path
	// is the server's business, not the client's.
	if strings.HasPrefix(info.Source, "models:/") {
		m.Nebras.Source = info.Source
	}
	if !info.LoadedAt.IsZero() {
		m.Nebras.LoadedAt = info.LoadedAt.UTC().Format(time.RFC3339)
	} else {
		m.Created = 0
	}
	return m
}

func (s *Server) models(c *gin.Context) {
	list := openai.ModelList{Object: openai.ObjectList, Data: []openai.Model{}}
	if info, ok := s.backend.Model(); ok {
		list.Data = append(list.Data, modelObject(info))
	}
	c.JSON(http.StatusOK, list)
}

func (s *Server) model(c *gin.Context) {
	info, ok := s.backend.Model()
	if !ok || c.Param("model") != info.ID {
		abortWith(c, modelNotFound(c.Param("model"), info.ID))
		return
	}
	c.JSON(http.StatusOK, modelObject(info))
}

func modelNotFound(asked, served string) *apiError {
	msg := fmt.Sprintf("The model %s does not exist", openaiQuote(asked))
	if served != "" {
		msg += fmt.Sprintf("; this server serves %s", openaiQuote(served))
	}
	return newAPIError(http.StatusNotFound, openai.TypeNotFound, codeModelNotFound, msg+".")
}

func openaiQuote(s string) string { return "'" + stripControl(truncate(s, 64)) + "'" }
