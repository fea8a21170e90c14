// Package mlflowtest runs a strict, in-process MLflow tracking server for
// tests. It speaks MLflow's documented REST API (/api/2.0/mlflow/...) and
// the mlflow-artifacts proxy (/api/2.0/mlflow-artifacts/...) in front of
// any tracking.Store, and is stricter than MLflow's own server where that
// helps a client find its bugs: unknown request fields, wrong JSON types,
// missing required fields and over-limit batches are all 400 errors.
//
// Where MLflow's server is lenient the Server is not, so that a client
// passing here works against any MLflow-compatible server: it refuses
// fields MLflow ignores, numbers where the proto has strings, query
// parameters on POST requests, and a transition-stage request without
// archive_existing_versions, which the proto marks required.
//
// A Server also injects the failures a client meets in production:
// FailNext answers the next requests with an error status, SetFault
// delays or fails chosen requests, and Close and Restart kill and revive
// the server on the same address.
package mlflowtest

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nebras-ai/nebras/tracking"
)

// Options configures a Server. The zero value serves the tracking and
// registry API without authentication, encodes int64 fields as JSON
// numbers (as MLflow's own server does) and has no artifact proxy.
type Options struct {
	// Int64AsString encodes int64 fields (timestamps, steps, file
	// sizes...) as JSON strings, as proto3-JSON servers do.
	Int64AsString bool
	// ExtraResponseFields adds an unknown field, "_extra", to every JSON
	// object the server answers with, so that clients are tested to
	// ignore fields they do not know.
	ExtraResponseFields bool
	// ArtifactDir is the local directory behind the mlflow-artifacts
	// proxy; the artifact endpoints answer 503 without it, as MLflow does
	// when run with --no-serve-artifacts.
	ArtifactDir string
	// Multipart enables mlflow-artifacts multipart uploads. Without it
	// mpu/create answers 501 NOT_IMPLEMENTED, as a server in front of a
	// local artifact store does.
	Multipart bool
	// Token, if set, requires "Authorization: Bearer <Token>".
	Token string
	// Username and Password, if set, require HTTP basic auth. With both a
	// Token and a Username, either credential is accepted.
	Username, Password string
}

// Request is one request the server answered, for assertions.
type Request struct {
	Method string
	Path   string
	// Status is the HTTP status answered; 0 when the client went away
	// before an answer was written.
	Status int
}

// FaultFunc decides the fate of one request: with ok, the server waits
// delay (or until the client gives up) and then, if status is not 0,
// answers status with an MLflow error body instead of serving the
// request.
type FaultFunc func(r *http.Request) (status int, delay time.Duration, ok bool)

// Server is a running test server. Its methods are safe for concurrent
// use.
type Server struct {
	backend tracking.Store
	opt     Options
	routes  map[string]map[string]jsonHandler

	mu         sync.Mutex
	idle       *sync.Cond // signalled when active drops to 0
	active     int
	addr       string
	srv        *http.Server
	failN      int
	failStatus int
	retryAfter int
	fault      FaultFunc
	log        []Request
	uploads    map[string]*upload
}

// New starts a server in front of backend, listening on a free port of
// 127.0.0.1. It panics if it cannot listen, as httptest.NewServer does.
func New(backend tracking.Store, opt Options) *Server {
	s := &Server{
		backend:    backend,
		opt:        opt,
		routes:     jsonRoutes(),
		retryAfter: 1,
		uploads:    make(map[string]*upload),
	}
	s.idle = sync.NewCond(&s.mu)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("mlflowtest: listen on 127.0.0.1: %v", err))
	}
	s.addr = ln.Addr().String()
	s.mu.Lock()
	s.serveLocked(ln)
	s.mu.Unlock()
	return s
}

func (s *Server) serveLocked(ln net.Listener) {
	srv := &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.srv = srv
	go srv.Serve(ln) //nolint:errcheck // Serve always returns ErrServerClosed or a listener error after Close.
}

// URL is the server's base URL, e.g. "http://127.0.0.1:41234", the
// tracking URI a client is given. It does not change across Restart.
func (s *Server) URL() string { return "http://" + s.addr }

// Close stops listening and drops every open connection, as a killed
// server would: clients now get "connection refused". It waits for the
// requests being served to return. Close on a closed server does nothing.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	s.mu.Lock()
	for s.active > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// Restart listens again on the address the server had, after Close. The
// backend's state, the request log and pending multipart uploads are
// kept.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return fmt.Errorf("mlflowtest: restart %s: server is running", s.addr)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("mlflowtest: restart: %w", err)
	}
	s.serveLocked(ln)
	return nil
}

// FailNext makes the next n requests, whatever their path, answer status
// with an MLflow JSON error body. 429 and 503 answers carry a Retry-After
// header (see SetRetryAfter). It panics if status is not an HTTP status.
func (s *Server) FailNext(n, status int) {
	if n > 0 && (status < 100 || status > 599) {
		panic(fmt.Sprintf("mlflowtest: FailNext(%d, %d): not an HTTP status", n, status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus = n, status
}

// SetRetryAfter sets the Retry-After seconds sent with injected 429 and
// 503 answers; the default is 1. Tests set 0 to keep client back-off
// short.
func (s *Server) SetRetryAfter(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = seconds
}

// SetFault installs f to be consulted for every request before it is
// served (nil removes it); f is called from concurrent requests. FailNext
// applies after f.
func (s *Server) SetFault(f FaultFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Requests returns a copy of the log of requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// statusWriter logs the status a handler answers when it is written,
// before the client can see the answer, so that a test reading Requests
// after a response always finds it.
type statusWriter struct {
	http.ResponseWriter
	status int
	record func(status int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.record(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.active++
	fault := s.fault
	s.mu.Unlock()
	record := func(status int) {
		s.mu.Lock()
		s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Status: status})
		s.mu.Unlock()
	}
	w := &statusWriter{ResponseWriter: rw, record: record}
	defer func() {
		if w.status == 0 {
			if r.Context().Err() != nil {
				record(0) // the client went away unanswered
			} else {
				w.WriteHeader(http.StatusOK)
			}
		}
		s.mu.Lock()
		s.active--
		if s.active == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}()

	if fault != nil {
		if status, delay, ok := fault(r); ok {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			if status < 0 || (status > 0 && status < 100) || status > 599 {
				s.writeError(w, &apiError{status: http.StatusInternalServerError, code: tracking.CodeInternalError,
					msg: fmt.Sprintf("mlflowtest: the fault function returned status %d, not an HTTP status", status)})
				return
			}
			if status != 0 {
				s.writeInjected(w, status)
				return
			}
		}
	}
	s.mu.Lock()
	failing := s.failN > 0
	status := s.failStatus
	if failing {
		s.failN--
	}
	s.mu.Unlock()
	if failing {
		s.writeInjected(w, status)
		return
	}
	s.route(w, r)
}

// writeInjected answers an injected failure the way MLflow (or a proxy in
// front of it) would: an error body whose code matches the status.
func (s *Server) writeInjected(w http.ResponseWriter, status int) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		s.mu.Lock()
		ra := s.retryAfter
		s.mu.Unlock()
		w.Header().Set("Retry-After", fmt.Sprint(ra))
	}
	s.writeError(w, &apiError{
		status: status,
		code:   codeForStatus(status),
		msg:    fmt.Sprintf("injected failure: HTTP %d", status),
	})
}

// authorized reports whether r carries the credentials Options require.
func (s *Server) authorized(r *http.Request) bool {
	if s.opt.Token == "" && s.opt.Username == "" {
		return true
	}
	if s.opt.Token != "" && r.Header.Get("Authorization") == "Bearer "+s.opt.Token {
		return true
	}
	if s.opt.Username != "" {
		if u, p, ok := r.BasicAuth(); ok && u == s.opt.Username && p == s.opt.Password {
			return true
		}
	}
	return false
}
