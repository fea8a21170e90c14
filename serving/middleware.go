package serving

import (
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/nebras-ai/nebras/serving/openai"
)

// Keys of values handlers leave in the gin.Context for the request log.
const (
	ctxRequestID        = "nebras.request_id"
	ctxAPIKey           = "nebras.api_key"
	ctxPromptTokens     = "nebras.prompt_tokens"
	ctxCompletionTokens = "nebras.completion_tokens"
	// ctxClientGone marks a request whose client left before the answer;
	// nothing was written, and logs and metrics say 499 as nginx does.
	ctxClientGone = "nebras.client_gone"
)

// statusClientClosed is nginx's 499: the client closed the connection.
const statusClientClosed = 499

const requestIDHeader = "X-Request-ID"

// validRequestID reports whether a client's X-Request-ID can be reused: 1
// to 64 characters of [A-Za-z0-9._-], so it is safe in logs and headers.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// requestID gives every request an id, the client's when valid, and
// returns it in X-Request-ID.
func requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID(id) {
		id = rand.Text()
	}
	c.Set(ctxRequestID, id)
	c.Header(requestIDHeader, id)
	c.Next()
}

// knownMethods bounds the method label: anything else is "other".
var knownMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

func methodLabel(m string) string {
	if slices.Contains(knownMethods, m) {
		return m
	}
	return "other"
}

// observe logs one line per request and records the HTTP metrics. The
// route label is the route template, or "unmatched", so that the label
// set stays bounded whatever paths clients try.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	s.metrics.httpInFlight.Inc()
	defer s.metrics.httpInFlight.Dec()

	c.Next()

	d := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	if c.GetBool(ctxClientGone) {
		status = statusClientClosed
	}
	method := methodLabel(c.Request.Method)
	s.metrics.observeHTTP(route, method, strconv.Itoa(status), d)

	attrs := []slog.Attr{
		slog.String("request_id", c.GetString(ctxRequestID)),
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	if v, ok := c.Get(ctxAPIKey); ok {
		attrs = append(attrs, slog.Any("api_key", v))
	}
	if v, ok := c.Get(ctxPromptTokens); ok {
		attrs = append(attrs, slog.Any("prompt_tokens", v), slog.Any("completion_tokens", c.GetInt(ctxCompletionTokens)))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// recoverPanic turns a handler's panic into a JSON 500 that reveals
// nothing, and logs the panic, with its stack, under the request id.
func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			panic(v) // net/http's way to abort a response on purpose
		}
		s.log.Error("panic", "request_id", c.GetString(ctxRequestID), "panic", v, "stack", string(debug.Stack()))
		if c.Writer.Written() {
			// A stream had begun: the client sees the connection end early.
			c.Abort()
			return
		}
		abortWith(c, internalError())
	}()
	c.Next()
}

// cors answers CORS for the configured origins only; with none configured
// it is not installed and no CORS header is ever sent.
func (s *Server) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" {
		c.Next()
		return
	}
	c.Header("Vary", "Origin")
	allowed := slices.Contains(s.opt.CORSOrigins, origin)
	wildcard := slices.Contains(s.opt.CORSOrigins, "*")
	if !allowed && !wildcard {
		c.Next()
		return
	}
	if allowed {
		c.Header("Access-Control-Allow-Origin", origin)
	} else {
		c.Header("Access-Control-Allow-Origin", "*")
	}
	c.Header("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		c.Header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		c.Header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID")
		c.Header("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

// notFound and methodNotAllowed answer unknown routes in the API's error
// format rather than Gin's plain text.
func notFound(c *gin.Context) {
	abortWith(c, newAPIError(http.StatusNotFound, openai.TypeNotFound, codeNotFound,
		"Unknown route "+methodLabel(c.Request.Method)+" "+stripControl(truncate(c.Request.URL.Path, 100))+"."))
}

func methodNotAllowed(c *gin.Context) {
	abortWith(c, newAPIError(http.StatusMethodNotAllowed, openai.TypeInvalidRequest, codeMethodNotAllowed,
		"Method "+methodLabel(c.Request.Method)+" is not allowed here; allowed: "+c.Writer.Header().Get("Allow")+"."))
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// securityHeaders are sent with every answer; the API and the page need
// nothing the browser would otherwise allow.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.Next()
}

// stripControl drops characters that would let a client forge log lines
// or headers when quoting a path back; the path in an error message is
// already percent-decoded by net/http.
func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
