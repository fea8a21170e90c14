package tracking

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RESTConfig configures a RESTStore. Only URI is required.
type RESTConfig struct {
	// URI is the tracking server's base URL, http(s)://host[:port][/prefix].
	URI string
	// Token is sent as a bearer token (MLFLOW_TRACKING_TOKEN).
	Token string
	// Username and Password are sent with HTTP basic auth
	// (MLFLOW_TRACKING_USERNAME/PASSWORD); they win over Token, as in
	// MLflow's client.
	Username, Password string
	// InsecureTLS skips certificate verification
	// (MLFLOW_TRACKING_INSECURE_TLS). For testing setups only.
	InsecureTLS bool
	// Timeout bounds one HTTP request (default 120 s, MLflow's
	// MLFLOW_HTTP_REQUEST_TIMEOUT).
	Timeout time.Duration
	// MaxRetries is how often a request failing with 429, 5xx or a
	// connection error is retried (default 3; negative: never).
	MaxRetries int
	// Backoff is the first retry's delay, doubled each time with jitter
	// (default 500 ms). A Retry-After header wins when it asks for longer,
	// up to 30 s.
	Backoff time.Duration
	// MultipartMinSize is the file size from which artifacts are uploaded
	// in parts through the proxy's mpu endpoints (default 500 MiB, as
	// MLflow's MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE); servers whose
	// artifact store cannot do multipart get one PUT instead.
	MultipartMinSize int64
	// MultipartChunkSize is the size of one part (default 10 MiB).
	MultipartChunkSize int64
	// HTTPClient replaces the default client (its Transport is used as is).
	HTTPClient *http.Client
}

// RESTStore is a Store backed by an MLflow tracking server's REST API.
type RESTStore struct {
	cfg  RESTConfig
	base *url.URL
	hc   *http.Client
}

var _ Store = (*RESTStore)(nil)

// NewRESTStore returns a store talking to the tracking server at cfg.URI.
// It does not contact the server.
func NewRESTStore(cfg RESTConfig) (*RESTStore, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URI, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracking URI %q: want http(s)://host[:port]", cfg.URI)
	}
	if u.User != nil {
		return nil, fmt.Errorf("tracking URI %q: put credentials in MLFLOW_TRACKING_USERNAME/PASSWORD, not the URI", u.Redacted())
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("tracking auth: username and password go together (MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 120 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MultipartMinSize <= 0 {
		cfg.MultipartMinSize = 500 << 20
	}
	if cfg.MultipartChunkSize <= 0 {
		cfg.MultipartChunkSize = 10 << 20
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.InsecureTLS {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by MLFLOW_TRACKING_INSECURE_TLS
		}
		hc = &http.Client{Transport: tr}
	}
	return &RESTStore{cfg: cfg, base: u, hc: hc}, nil
}

// URI returns the tracking server's URL.
func (s *RESTStore) URI() string { return s.base.String() }

// Close releases idle connections.
func (s *RESTStore) Close() error {
	s.hc.CloseIdleConnections()
	return nil
}

// Retryable reports whether err is worth retrying later: the server said
// 429 or 5xx, or could not be reached, or a request timed out. A caller's
// own cancellation is not retryable.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var me *Error
	if errors.As(err, &me) {
		switch me.Code {
		case CodeTemporarilyUnavailable, CodeRequestLimitExceeded:
			return true
		}
		return me.HTTPStatus == http.StatusTooManyRequests || me.HTTPStatus >= 500
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// timeoutError is one request running past RESTConfig.Timeout while the
// caller still waited: retryable, unlike the caller's own deadline.
type timeoutError struct {
	url     string
	timeout time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%s: no answer within %s", e.url, e.timeout)
}

// call sends one API request with retries and decodes the JSON answer
// into out (nil: discard). GET requests carry q as query parameters;
// others carry body as JSON.
func (s *RESTStore) call(ctx context.Context, method, endpoint string, q url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", endpoint, err)
		}
		payload = b
	}
	u := s.endpoint("/api/2.0/mlflow/" + endpoint)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := s.send(ctx, method, u, func() (io.Reader, int64, error) {
		if payload == nil {
			return nil, 0, nil
		}
		return bytes.NewReader(payload), int64(len(payload)), nil
	}, "application/json")
	if err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", endpoint, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", endpoint, err)
	}
	return nil
}

func (s *RESTStore) endpoint(path string) string {
	return s.base.String() + path
}

// send performs a request, retrying transient failures. body returns a
// fresh reader for each attempt. A non-2xx answer becomes an *Error.
func (s *RESTStore) send(ctx context.Context, method, u string, body func() (io.Reader, int64, error), contentType string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := s.sendOnce(ctx, method, u, body, contentType)
		if err == nil {
			return resp, nil
		}
		if attempt >= s.cfg.MaxRetries || !Retryable(err) || ctx.Err() != nil {
			return nil, err
		}
		delay := s.cfg.Backoff << attempt
		delay = delay/2 + rand.N(delay/2+1)
		var me *Error
		if errors.As(err, &me) && me.retryAfter > delay {
			delay = min(me.retryAfter, 30*time.Second)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

func (s *RESTStore) sendOnce(ctx context.Context, method, u string, body func() (io.Reader, int64, error), contentType string) (*http.Response, error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	var r io.Reader
	var n int64
	if body != nil {
		var err error
		if r, n, err = body(); err != nil {
			cancel()
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(rctx, method, u, r)
	if err != nil {
		cancel()
		return nil, err
	}
	if r != nil {
		req.ContentLength = n
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "nebras-tracking")
	s.authorize(req)
	resp, err := s.hc.Do(req)
	if err != nil {
		cancel()
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, &timeoutError{url: redactURL(u), timeout: s.cfg.Timeout}
		}
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer cancel()
		defer resp.Body.Close()
		return nil, errorFromResponse(resp)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

func (s *RESTStore) authorize(req *http.Request) {
	switch {
	case s.cfg.Username != "":
		req.SetBasicAuth(s.cfg.Username, s.cfg.Password)
	case s.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		p.RawQuery = ""
		return p.Redacted()
	}
	return u
}

// errorFromResponse turns a non-2xx answer into an *Error, from MLflow's
// JSON error body when there is one.
func errorFromResponse(resp *http.Response) *Error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{HTTPStatus: resp.StatusCode}
	var body struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && (body.ErrorCode != "" || body.Message != "") {
		e.Code, e.Message = body.ErrorCode, body.Message
	}
	if e.Code == "" {
		e.Code = codeForStatus(resp.StatusCode)
	}
	if e.Message == "" {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		e.Message = fmt.Sprintf("%s %s: %s", resp.Request.Method, redactURL(resp.Request.URL.String()), msg)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			e.retryAfter = time.Duration(secs) * time.Second
		}
	}
	return e
}

// codeForStatus is the MLflow error code a bare HTTP status stands for.
func codeForStatus(status int) string {
	switch {
	case status == http.StatusNotFound:
		return CodeEndpointNotFound
	case status == http.StatusUnauthorized:
		return CodeUnauthenticated
	case status == http.StatusForbidden:
		return CodePermissionDenied
	case status == http.StatusTooManyRequests:
		return CodeRequestLimitExceeded
	case status == http.StatusNotImplemented:
		return CodeNotImplemented
	case status == http.StatusServiceUnavailable:
		return CodeTemporarilyUnavailable
	case status >= 500:
		return CodeInternalError
	}
	return CodeBadRequest
}

// The proto3 JSON mapping writes int64 as a string; MLflow's own server
// writes a number. jint reads both and writes a number.
type jint int64

func (v *jint) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		uq, err := strconv.Unquote(s)
		if err != nil {
			return fmt.Errorf("int64 field %s: %w", s, err)
		}
		s = uq
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 1.7e12 style numbers from lenient encoders.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("int64 field %s: not an integer", b)
		}
		n = int64(f)
	}
	*v = jint(n)
	return nil
}

// jfloat is a double in proto3 JSON: a number, or "NaN", "Infinity",
// "-Infinity" (which plain JSON numbers cannot say).
type jfloat float64

func (v jfloat) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(`"` + FormatMetricValue(f) + `"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (v *jfloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		uq, err := strconv.Unquote(s)
		if err != nil {
			return fmt.Errorf("double field %s: %w", s, err)
		}
		s = uq
	}
	f, err := ParseMetricValue(s)
	if err != nil {
		return err
	}
	*v = jfloat(f)
	return nil
}
