package mlflowtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/tracking"
)

// newServer starts a server on a fresh FileStore and closes both at the
// end of the test.
func newServer(t *testing.T, opt Options) *Server {
	t.Helper()
	st, err := tracking.NewFileStore(t.TempDir(), tracking.WithArtifactRoot("mlflow-artifacts:"))
	if err != nil {
		t.Fatalf("NewFileStore: %v", err)
	}
	s := New(st, opt)
	t.Cleanup(func() {
		s.Close()
		st.Close()
	})
	return s
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// send makes a request with a raw body; a non-empty body is sent as
// JSON.
func send(t *testing.T, method, url, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, url, err, raw)
		}
	}
	return r
}

// api calls an endpoint under /api/2.0/mlflow/; GET and DELETE take the
// query in endpoint, the others a JSON body.
func api(t *testing.T, s *Server, method, endpoint, body string, hdr ...string) response {
	t.Helper()
	return send(t, method, s.URL()+apiPrefix+endpoint, body, hdr...)
}

// ok fails the test unless r is a 200.
func (r response) ok(t *testing.T) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.raw)
	}
	return r.body
}

// failed fails the test unless r is an MLflow error with status and code.
func (r response) failed(t *testing.T, status int, code string) string {
	t.Helper()
	if r.status != status || r.body["error_code"] != code {
		t.Fatalf("got %d %v, want %d %s: %s", r.status, r.body["error_code"], status, code, r.raw)
	}
	msg, _ := r.body["message"].(string)
	if msg == "" {
		t.Fatalf("error without a message: %s", r.raw)
	}
	return msg
}

// get walks a decoded JSON value along keys and indexes.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object: %v", k, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at [%d]: not an array this long: %v", k, v)
			}
			v = a[k]
		}
	}
	return v
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		hdr  []string
		want int
	}{
		{"token missing", Options{Token: "s3cret"}, nil, 401},
		{"token wrong", Options{Token: "s3cret"}, []string{"Authorization", "Bearer nope"}, 401},
		{"token right", Options{Token: "s3cret"}, []string{"Authorization", "Bearer s3cret"}, 200},
		{"basic missing", Options{Username: "u", Password: "p"}, nil, 401},
		{"basic wrong", Options{Username: "u", Password: "p"}, []string{"Authorization", "Basic dTp4"}, 401}, // u:x
		{"basic right", Options{Username: "u", Password: "p"}, []string{"Authorization", "Basic dTpw"}, 200}, // u:p
		{"both, basic", Options{Token: "t", Username: "u", Password: "p"}, []string{"Authorization", "Basic dTpw"}, 200},
		{"none needed", Options{}, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opt)
			r := api(t, s, "GET", "experiments/get?experiment_id=0", "", tt.hdr...)
			if tt.want == 401 {
				r.failed(t, 401, tracking.CodeUnauthenticated)
				if tt.opt.Username != "" && r.header.Get("WWW-Authenticate") == "" {
					t.Error("basic auth 401 without WWW-Authenticate")
				}
				return
			}
			r.ok(t)
		})
	}
}

func TestFailNext(t *testing.T) {
	s := newServer(t, Options{})
	s.SetRetryAfter(0)
	s.FailNext(2, http.StatusTooManyRequests)
	for i := 0; i < 2; i++ {
		r := api(t, s, "GET", "experiments/get?experiment_id=0", "")
		r.failed(t, 429, tracking.CodeRequestLimitExceeded)
		if got := r.header.Get("Retry-After"); got != "0" {
			t.Errorf("Retry-After = %q, want 0", got)
		}
	}
	api(t, s, "GET", "experiments/get?experiment_id=0", "").ok(t)

	s.FailNext(1, http.StatusServiceUnavailable)
	api(t, s, "GET", "experiments/get?experiment_id=0", "").failed(t, 503, tracking.CodeTemporarilyUnavailable)
	s.FailNext(1, http.StatusInternalServerError)
	api(t, s, "GET", "experiments/get?experiment_id=0", "").failed(t, 500, tracking.CodeInternalError)

	var statuses []int
	for _, r := range s.Requests() {
		if r.Method != "GET" || r.Path != apiPrefix+"experiments/get" {
			t.Errorf("logged %s %s", r.Method, r.Path)
		}
		statuses = append(statuses, r.Status)
	}
	want := []int{429, 429, 200, 503, 500}
	if !equalInts(statuses, want) {
		t.Errorf("logged statuses %v, want %v", statuses, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSetFault(t *testing.T) {
	s := newServer(t, Options{})
	s.SetFault(func(r *http.Request) (int, time.Duration, bool) {
		switch r.URL.Path {
		case apiPrefix + "runs/get":
			return http.StatusBadGateway, 0, true
		case apiPrefix + "experiments/get-by-name":
			// Far longer than the client waits: the client must time out.
			return 0, time.Minute, true
		}
		return 0, 0, false
	})
	api(t, s, "GET", "runs/get?run_id=abc", "").failed(t, 502, tracking.CodeInternalError)
	api(t, s, "GET", "experiments/get?experiment_id=0", "").ok(t)

	client := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := client.Get(s.URL() + apiPrefix + "experiments/get-by-name?experiment_name=Default")
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("delayed request: got %v, want a client timeout", err)
	}

	s.SetFault(nil)
	api(t, s, "GET", "experiments/get-by-name?experiment_name=Default", "").ok(t)
}

func TestCloseRestart(t *testing.T) {
	s := newServer(t, Options{})
	id := get(t, api(t, s, "POST", "experiments/create", `{"name":"survivor"}`).ok(t), "experiment_id")
	url := s.URL()

	s.Close()
	_, err := http.Get(url + apiPrefix + "experiments/get?experiment_id=0")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("request to a closed server: got %v, want connection refused", err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.URL() != url {
		t.Fatalf("URL changed across Restart: %s, was %s", s.URL(), url)
	}
	if err := s.Restart(); err == nil {
		t.Error("Restart of a running server succeeded")
	}
	got := api(t, s, "GET", "experiments/get?experiment_id="+id.(string), "").ok(t)
	if name := get(t, got, "experiment", "name"); name != "survivor" {
		t.Errorf("experiment after restart: name %v", name)
	}
}

func TestInt64Encoding(t *testing.T) {
	for _, asString := range []bool{false, true} {
		s := newServer(t, Options{Int64AsString: asString})
		run := api(t, s, "POST", "runs/create", `{"experiment_id":"0","start_time":"1700000000123"}`).ok(t)
		id := get(t, run, "run", "info", "run_id").(string)
		api(t, s, "POST", "runs/log-batch",
			`{"run_id":"`+id+`","metrics":[{"key":"loss","value":0.5,"timestamp":1700000000200,"step":"7"}]}`).ok(t)
		got := api(t, s, "GET", "runs/get?run_id="+id, "").ok(t)
		start := get(t, got, "run", "info", "start_time")
		step := get(t, got, "run", "data", "metrics", 0, "step")
		ts := get(t, got, "run", "data", "metrics", 0, "timestamp")
		if asString {
			if start != "1700000000123" || step != "7" || ts != "1700000000200" {
				t.Errorf("Int64AsString: start_time %#v, step %#v, timestamp %#v; want strings", start, step, ts)
			}
		} else {
			if start != float64(1700000000123) || step != float64(7) || ts != float64(1700000000200) {
				t.Errorf("default: start_time %#v, step %#v, timestamp %#v; want numbers", start, step, ts)
			}
		}
	}
}

func TestExtraResponseFields(t *testing.T) {
	s := newServer(t, Options{ExtraResponseFields: true})
	run := api(t, s, "POST", "runs/create", `{"experiment_id":"0","tags":[{"key":"k","value":"v"}]}`).ok(t)
	for _, p := range [][]any{{}, {"run"}, {"run", "info"}, {"run", "data"}, {"run", "data", "tags", 0}, {"run", "inputs"}} {
		if get(t, run, append(p, "_extra")...) == nil {
			t.Errorf("no _extra at %v: %v", p, run)
		}
	}
	e := api(t, s, "GET", "runs/get?run_id=missing", "")
	e.failed(t, 404, tracking.CodeResourceDoesNotExist)
	if e.body["_extra"] == nil {
		t.Errorf("error body without _extra: %s", e.raw)
	}
}

func TestRouting(t *testing.T) {
	s := newServer(t, Options{})
	api(t, s, "GET", "no/such/endpoint", "").failed(t, 404, tracking.CodeEndpointNotFound)
	send(t, "GET", s.URL()+"/elsewhere", "").failed(t, 404, tracking.CodeEndpointNotFound)
	r := api(t, s, "GET", "runs/create", "")
	r.failed(t, 405, tracking.CodeBadRequest)
	if r.header.Get("Allow") != "POST" {
		t.Errorf("Allow = %q, want POST", r.header.Get("Allow"))
	}
	api(t, s, "PUT", "registered-models/alias", `{}`).failed(t, 405, tracking.CodeBadRequest)
}

func TestRequestsLogCountsBatches(t *testing.T) {
	s := newServer(t, Options{})
	id := get(t, api(t, s, "POST", "runs/create", `{"experiment_id":"0"}`).ok(t), "run", "info", "run_id").(string)
	for i := 0; i < 3; i++ {
		api(t, s, "POST", "runs/log-batch", `{"run_id":"`+id+`","params":[{"key":"p`+string(rune('a'+i))+`","value":"1"}]}`).ok(t)
	}
	n := 0
	for _, r := range s.Requests() {
		if r.Path == apiPrefix+"runs/log-batch" && r.Status == 200 {
			n++
		}
	}
	if n != 3 {
		t.Errorf("log-batch requests logged: %d, want 3", n)
	}
}

// bigJSON is a log-batch body with n params of the given value size.
func bigJSON(runID string, n, valueLen int) string {
	var b bytes.Buffer
	b.WriteString(`{"run_id":"` + runID + `","params":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"key":"p` + strconv.Itoa(i) + `","value":"` + strings.Repeat("x", valueLen) + `"}`)
	}
	b.WriteString("]}")
	return b.String()
}
