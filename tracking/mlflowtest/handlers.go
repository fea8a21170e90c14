package mlflowtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/nebras-ai/nebras/tracking"
)

// Path prefixes of the APIs served.
const (
	apiPrefix       = "/api/2.0/mlflow/"
	artifactsPrefix = "/api/2.0/mlflow-artifacts/"
	presignedPrefix = "/_presigned/"
)

// maxBodyBytes bounds what a JSON request body may be; log-batch has its
// own, smaller, MLflow limit.
const maxBodyBytes = 16 << 20

// apiError is an error answer: an HTTP status and MLflow's error body.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d): %s", e.code, e.status, e.msg) }

func invalidParam(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: tracking.CodeInvalidParameterValue, msg: fmt.Sprintf(format, args...)}
}

// missing is MLflow's message for an absent required field.
func missing(field string) *apiError {
	return invalidParam("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", field)
}

func notImplemented(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotImplemented, code: tracking.CodeNotImplemented, msg: fmt.Sprintf(format, args...)}
}

// statusForCode is MLflow's ERROR_CODE_TO_HTTP_STATUS; other codes are
// 500, as there.
func statusForCode(code string) int {
	switch code {
	case "NOT_IMPLEMENTED":
		return 501
	case "TEMPORARILY_UNAVAILABLE":
		return 503
	case "DEADLINE_EXCEEDED":
		return 504
	case "REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED":
		return 429
	case "CANCELLED":
		return 499
	case "ABORTED", "RESOURCE_CONFLICT", "ALREADY_EXISTS":
		return 409
	case "NOT_FOUND", "ENDPOINT_NOT_FOUND", "RESOURCE_DOES_NOT_EXIST":
		return 404
	case "PERMISSION_DENIED":
		return 403
	case "CUSTOMER_UNAUTHORIZED", "UNAUTHENTICATED":
		return 401
	case "BAD_REQUEST", "RESOURCE_ALREADY_EXISTS", "INVALID_PARAMETER_VALUE":
		return 400
	}
	return 500 // INTERNAL_ERROR, INVALID_STATE, DATA_LOSS and unknown codes
}

// codeForStatus names the error code an injected failure carries.
func codeForStatus(status int) string {
	switch status {
	case 400:
		return tracking.CodeBadRequest
	case 401:
		return tracking.CodeUnauthenticated
	case 403:
		return tracking.CodePermissionDenied
	case 404:
		return tracking.CodeEndpointNotFound
	case 409:
		return "RESOURCE_CONFLICT"
	case 429:
		return tracking.CodeRequestLimitExceeded
	case 501:
		return tracking.CodeNotImplemented
	case 503:
		return tracking.CodeTemporarilyUnavailable
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return tracking.CodeInternalError
}

// backendError turns an error of the Store into the answer MLflow's
// server gives for it.
func backendError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var te *tracking.Error
	if errors.As(err, &te) {
		return &apiError{status: statusForCode(te.Code), code: te.Code, msg: te.Message}
	}
	switch {
	case errors.Is(err, tracking.ErrNotFound):
		return &apiError{status: 404, code: tracking.CodeResourceDoesNotExist, msg: err.Error()}
	case errors.Is(err, tracking.ErrAlreadyExists):
		return &apiError{status: 400, code: tracking.CodeResourceAlreadyExists, msg: err.Error()}
	case errors.Is(err, tracking.ErrInvalid):
		return invalidParam("%s", err.Error())
	}
	return &apiError{status: 500, code: tracking.CodeInternalError, msg: err.Error()}
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	body := s.enc().obj()
	body["error_code"] = e.code
	body["message"] = e.msg
	s.writeJSON(w, e.status, body)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug in this package can get here: every value written is
		// built from strings, numbers and maps.
		b = []byte(`{"error_code":"INTERNAL_ERROR","message":"mlflowtest: encoding the response failed"}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client going away is not the server's error.
}

// jsonHandler serves one JSON endpoint from its decoded request.
type jsonHandler func(s *Server, ctx context.Context, req *apiRequest) (jobj, error)

// apiRequest is a JSON endpoint's request, body or query, read in full.
type apiRequest struct {
	method string
	query  url.Values
	body   []byte
}

// jsonRoutes maps a path under apiPrefix and a method to its handler.
func jsonRoutes() map[string]map[string]jsonHandler {
	return map[string]map[string]jsonHandler{
		"experiments/get":                 {http.MethodGet: (*Server).getExperiment},
		"experiments/get-by-name":         {http.MethodGet: (*Server).getExperimentByName},
		"experiments/create":              {http.MethodPost: (*Server).createExperiment},
		"runs/create":                     {http.MethodPost: (*Server).createRun},
		"runs/update":                     {http.MethodPost: (*Server).updateRun},
		"runs/get":                        {http.MethodGet: (*Server).getRun},
		"runs/search":                     {http.MethodPost: (*Server).searchRuns},
		"runs/log-batch":                  {http.MethodPost: (*Server).logBatch},
		"runs/set-tag":                    {http.MethodPost: (*Server).setTag},
		"runs/log-inputs":                 {http.MethodPost: (*Server).logInputs},
		"metrics/get-history":             {http.MethodGet: (*Server).getMetricHistory},
		"registered-models/create":        {http.MethodPost: (*Server).createRegisteredModel},
		"registered-models/get":           {http.MethodGet: (*Server).getRegisteredModel},
		"model-versions/create":           {http.MethodPost: (*Server).createModelVersion},
		"model-versions/get":              {http.MethodGet: (*Server).getModelVersion},
		"model-versions/get-download-uri": {http.MethodGet: (*Server).getModelVersionDownloadURI},
		"model-versions/transition-stage": {http.MethodPost: (*Server).transitionStage},
		"model-versions/search":           {http.MethodGet: (*Server).searchModelVersions},
		"model-versions/set-tag":          {http.MethodPost: (*Server).setModelVersionTag},
		"registered-models/alias":         {http.MethodPost: (*Server).setAlias, http.MethodGet: (*Server).getAlias, http.MethodDelete: (*Server).deleteAlias},
	}
}

// route dispatches r after faults were applied.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, presignedPrefix) {
		// Presigned URLs authenticate by their secret path, as S3's do.
		s.servePresigned(w, r, strings.TrimPrefix(p, presignedPrefix))
		return
	}
	if !s.authorized(r) {
		if s.opt.Username != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
		}
		s.writeError(w, &apiError{status: http.StatusUnauthorized, code: tracking.CodeUnauthenticated,
			msg: "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate."})
		return
	}
	switch {
	case strings.HasPrefix(p, apiPrefix):
		s.serveJSON(w, r, strings.TrimPrefix(p, apiPrefix))
	case strings.HasPrefix(p, artifactsPrefix):
		s.serveArtifacts(w, r, strings.TrimPrefix(p, artifactsPrefix))
	default:
		s.writeError(w, endpointNotFound(r))
	}
}

func endpointNotFound(r *http.Request) *apiError {
	return &apiError{status: http.StatusNotFound, code: tracking.CodeEndpointNotFound,
		msg: fmt.Sprintf("No API endpoint %s %s", r.Method, r.URL.Path)}
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) *apiError {
	sort.Strings(allowed)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return &apiError{status: http.StatusMethodNotAllowed, code: tracking.CodeBadRequest,
		msg: fmt.Sprintf("Method %s is not allowed for %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allowed, ", "))}
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, endpoint string) {
	methods, ok := s.routes[endpoint]
	if !ok {
		s.writeError(w, endpointNotFound(r))
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		allowed := make([]string, 0, len(methods))
		for m := range methods {
			allowed = append(allowed, m)
		}
		s.writeError(w, methodNotAllowed(w, r, allowed...))
		return
	}
	req, aerr := readAPIRequest(r)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	resp, err := h(s, r.Context(), req)
	if err != nil {
		s.writeError(w, backendError(err))
		return
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// readAPIRequest reads what a JSON endpoint decodes: the query of a GET,
// the body of anything else. A DELETE without a body is read from its
// query, as MLflow's Python client puts it in the body and curl users
// in the query.
func readAPIRequest(r *http.Request) (*apiRequest, *apiError) {
	req := &apiRequest{method: r.Method, query: r.URL.Query()}
	if r.Method == http.MethodGet {
		return req, nil
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if aerr := checkJSONContentType(r); aerr != nil {
			return nil, aerr
		}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, invalidParam("Reading the request body: %v", err)
	}
	if len(b) > maxBodyBytes {
		return nil, invalidParam("Request body exceeds %d bytes", maxBodyBytes)
	}
	req.body = b
	return req, nil
}

// checkJSONContentType is MLflow's _validate_content_type for JSON
// endpoints.
func checkJSONContentType(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		msg := "Bad Request. Content-Type must be one of [application/json]."
		if ct != "" {
			msg += fmt.Sprintf(" Got %q.", ct)
		}
		return invalidParam("%s", msg)
	}
	return nil
}

// decode fills dst, a pointer to a request struct, strictly: unknown
// fields, wrong JSON types and malformed JSON are INVALID_PARAMETER_VALUE
// errors. A GET (and a DELETE without a body) is decoded from its query
// parameters, converted to the JSON the same message would have.
func (req *apiRequest) decode(dst any) error {
	data := req.body
	if req.method == http.MethodGet || (req.method == http.MethodDelete && len(bytes.TrimSpace(data)) == 0) {
		var err error
		if data, err = queryToJSON(req.query, reflect.TypeOf(dst).Elem()); err != nil {
			return err
		}
	} else if len(req.query) > 0 {
		return invalidParam("Unexpected query parameters for a %s request; send the request in a JSON body", req.method)
	}
	return decodeJSON(data, dst)
}

func decodeJSON(data []byte, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		// MLflow reads an absent body as an empty message.
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidParam("Malformed JSON request body: data after the top-level object")
	}
	return nil
}

// jsonError explains a decoding error the way a client author needs it.
func jsonError(err error) *apiError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return invalidParam("Malformed JSON request body: %v", err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidParam("Invalid request: the body must be a JSON object, got %s", typ.Value)
		}
		return invalidParam("Invalid value for parameter '%s' supplied: got %s, want %s. See the API docs for more information about request parameters.",
			typ.Field, typ.Value, protoTypeName(typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalidParam("Invalid request: unknown field %s. See the API docs for more information about request parameters.",
			strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return invalidParam("Invalid request body: %v", err)
}

// protoTypeName names a Go request type in the words of MLflow's proto
// definitions.
func protoTypeName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[int64](), reflect.TypeFor[i64]():
		return "an int64 (a JSON number or a decimal string)"
	case reflect.TypeFor[float64](), reflect.TypeFor[f64]():
		return `a double (a JSON number, "NaN", "Infinity" or "-Infinity")`
	case reflect.TypeFor[enum]():
		return "an enum name"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// queryToJSON turns query parameters into the JSON object of the request
// message t, as MLflow's server does for GET requests: a repeated field
// takes every value, any other field exactly one.
func queryToJSON(q url.Values, t reflect.Type) ([]byte, error) {
	fields := make(map[string]reflect.Type)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	obj := make(map[string]any, len(q))
	for k, vs := range q {
		ft, ok := fields[k]
		if !ok {
			return nil, invalidParam("Invalid request: unknown query parameter %q. See the API docs for more information about request parameters.", k)
		}
		if ft.Kind() == reflect.Slice {
			obj[k] = vs
			continue
		}
		if len(vs) != 1 {
			return nil, invalidParam("Invalid request: query parameter %q given %d times, want once", k, len(vs))
		}
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool {
			switch strings.ToLower(vs[0]) {
			case "true":
				obj[k] = true
			case "false":
				obj[k] = false
			default:
				return nil, invalidParam("Invalid boolean value: %s, must be 'true' or 'false'.", vs[0])
			}
			continue
		}
		obj[k] = vs[0]
	}
	return json.Marshal(obj)
}

// i64 is a proto int64 field of a request: a JSON number or a decimal
// string, as proto3 JSON allows.
type i64 struct {
	V   int64
	Set bool
}

func (x *i64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	bad := &json.UnmarshalTypeError{Value: describeJSON(b), Type: reflect.TypeFor[i64]()}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad
		}
		x.V, x.Set = v, true
		return nil
	}
	if v, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		x.V, x.Set = v, true
		return nil
	}
	// Like protobuf's JSON parser, take a number in any notation as long
	// as it is integral: 1e3, 5.0.
	var f float64
	if err := json.Unmarshal(b, &f); err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return bad
	}
	x.V, x.Set = int64(f), true
	return nil
}

// f64 is a proto double field of a request: a JSON number, or a string
// holding a number, "NaN", "Infinity" or "-Infinity", as proto3 JSON
// allows.
type f64 struct {
	V   float64
	Set bool
}

func (x *f64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	bad := &json.UnmarshalTypeError{Value: describeJSON(b), Type: reflect.TypeFor[f64]()}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			x.V, x.Set = math.NaN(), true
			return nil
		case "Infinity":
			x.V, x.Set = math.Inf(1), true
			return nil
		case "-Infinity":
			x.V, x.Set = math.Inf(-1), true
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return bad
		}
		x.V, x.Set = v, true
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return bad
	}
	x.V, x.Set = v, true
	return nil
}

// enum is a proto enum field of a request: its value's name, or its
// number, as proto3 JSON allows. Names are checked by the handler.
type enum struct {
	Name string
	Num  int64
	// IsNum is set when the number was sent rather than the name.
	IsNum bool
	Set   bool
}

func (x *enum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &x.Name); err != nil {
			return err
		}
		x.Set = true
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil {
		return &json.UnmarshalTypeError{Value: describeJSON(b), Type: reflect.TypeFor[enum]()}
	}
	x.Num, x.IsNum, x.Set = v, true, true
	return nil
}

// resolve returns the name of the enum value among names, whose numbers
// are their index plus one as in MLflow's protos.
func (x enum) resolve(field string, names []string) (string, error) {
	if x.IsNum {
		if x.Num >= 1 && int(x.Num) <= len(names) {
			return names[x.Num-1], nil
		}
		return "", invalidParam("Invalid value %d for enum parameter '%s'; want one of %s", x.Num, field, strings.Join(names, ", "))
	}
	for _, n := range names {
		if n == x.Name {
			return n, nil
		}
	}
	return "", invalidParam("Invalid value %q for enum parameter '%s'; want one of %s", x.Name, field, strings.Join(names, ", "))
}

// describeJSON names a JSON value for an error message.
func describeJSON(b []byte) string {
	s := string(b)
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string " + s
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "boolean " + s
	}
	return "number " + s
}

// required returns the value of a required string field; MLflow counts ""
// as absent.
func required(field string, v *string) (string, error) {
	if v == nil || *v == "" {
		return "", missing(field)
	}
	return *v, nil
}

// optional returns the value of an optional string field.
func optional(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

// runID returns the run_id of a request, falling back to its deprecated
// run_uuid as MLflow does.
func runID(id, uuid *string) (string, error) {
	if id != nil && *id != "" {
		return *id, nil
	}
	if uuid != nil && *uuid != "" {
		return *uuid, nil
	}
	return "", missing("run_id")
}

// unsupported rejects a field MLflow defines that the Store interface
// cannot carry, rather than dropping what the client sent.
func unsupported(field string, v *string) error {
	if v != nil && *v != "" {
		return notImplemented("Field '%s' is not supported by this server", field)
	}
	return nil
}

// jobj is a JSON object of a response.
type jobj = map[string]any

// encoder writes response objects as MLflow's message_to_json does, with
// the server's Options.
type encoder struct {
	int64AsString bool
	extra         bool
}

func (s *Server) enc() encoder {
	return encoder{int64AsString: s.opt.Int64AsString, extra: s.opt.ExtraResponseFields}
}

// obj starts a response object.
func (e encoder) obj() jobj {
	o := jobj{}
	if e.extra {
		o["_extra"] = 1
	}
	return o
}

// i64 is an int64 field's JSON value.
func (e encoder) i64(v int64) any {
	if e.int64AsString {
		return strconv.FormatInt(v, 10)
	}
	return v
}

// f64 is a double field's JSON value: NaN and the infinities by name, as
// proto3 JSON writes them.
func f64JSON(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return v
}

// setStr sets o[k] to v unless v is empty, as message_to_json omits unset
// optional fields.
func setStr(o jobj, k, v string) {
	if v != "" {
		o[k] = v
	}
}

func (e encoder) tags(tags []tracking.Tag) []jobj {
	out := make([]jobj, len(tags))
	for i, t := range tags {
		o := e.obj()
		o["key"] = t.Key
		o["value"] = t.Value
		out[i] = o
	}
	return out
}
