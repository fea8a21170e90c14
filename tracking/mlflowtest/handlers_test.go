package mlflowtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/tracking"
)

func TestTrackingEndpoints(t *testing.T) {
	s := newServer(t, Options{})

	expID := get(t, api(t, s, "POST", "experiments/create",
		`{"name":"exp","tags":[{"key":"team","value":"ml"}]}`).ok(t), "experiment_id").(string)
	exp := api(t, s, "GET", "experiments/get?experiment_id="+expID, "").ok(t)
	if get(t, exp, "experiment", "name") != "exp" || get(t, exp, "experiment", "lifecycle_stage") != "active" ||
		get(t, exp, "experiment", "tags", 0, "value") != "ml" {
		t.Errorf("experiments/get: %v", exp)
	}
	byName := api(t, s, "GET", "experiments/get-by-name?experiment_name=exp", "").ok(t)
	if get(t, byName, "experiment", "experiment_id") != expID {
		t.Errorf("experiments/get-by-name: %v", byName)
	}

	run := api(t, s, "POST", "runs/create", `{"experiment_id":"`+expID+`","run_name":"r1","user_id":"ann",`+
		`"start_time":1700000000000,"tags":[{"key":"mlflow.source.name","value":"train.go"}]}`).ok(t)
	info := get(t, run, "run", "info").(map[string]any)
	id := info["run_id"].(string)
	if info["status"] != "RUNNING" || info["run_uuid"] != id || info["run_name"] != "r1" ||
		info["experiment_id"] != expID || info["start_time"] != float64(1700000000000) {
		t.Errorf("runs/create info: %v", info)
	}
	if _, ok := info["end_time"]; ok {
		t.Errorf("runs/create: end_time of a running run is present: %v", info)
	}

	api(t, s, "POST", "runs/log-batch", `{"run_id":"`+id+`",`+
		`"metrics":[{"key":"loss","value":1.5,"timestamp":1,"step":0},{"key":"loss","value":"NaN","timestamp":"2","step":"1"},`+
		`{"key":"acc","value":"-Infinity","timestamp":3}],`+
		`"params":[{"key":"lr","value":"0.1"}],"tags":[{"key":"phase","value":"train"}]}`).ok(t)
	api(t, s, "POST", "runs/set-tag", `{"run_id":"`+id+`","key":"note","value":"hi"}`).ok(t)
	api(t, s, "POST", "runs/log-inputs", `{"run_id":"`+id+`","datasets":[{"tags":[{"key":"mlflow.data.context","value":"training"}],`+
		`"dataset":{"name":"d","digest":"abc","source_type":"local","source":"{}"}}]}`).ok(t)

	got := api(t, s, "GET", "runs/get?run_id="+id, "").ok(t)
	metrics := map[string]any{}
	for _, m := range get(t, got, "run", "data", "metrics").([]any) {
		metrics[m.(map[string]any)["key"].(string)] = m.(map[string]any)["value"]
	}
	if metrics["loss"] != "NaN" || metrics["acc"] != "-Infinity" {
		t.Errorf("latest metrics %v, want loss NaN (step 1) and acc -Infinity", metrics)
	}
	if get(t, got, "run", "data", "params", 0, "value") != "0.1" {
		t.Errorf("params: %v", get(t, got, "run", "data"))
	}
	tags := map[string]any{}
	for _, tg := range get(t, got, "run", "data", "tags").([]any) {
		tags[tg.(map[string]any)["key"].(string)] = tg.(map[string]any)["value"]
	}
	if tags["phase"] != "train" || tags["note"] != "hi" {
		t.Errorf("tags: %v", tags)
	}
	if get(t, got, "run", "inputs", "dataset_inputs", 0, "dataset", "digest") != "abc" {
		t.Errorf("inputs: %v", get(t, got, "run", "inputs"))
	}

	hist := api(t, s, "GET", "metrics/get-history?run_id="+id+"&metric_key=loss", "").ok(t)
	ms := get(t, hist, "metrics").([]any)
	if len(ms) != 2 || get(t, ms, 0, "value") != 1.5 || get(t, ms, 1, "value") != "NaN" {
		t.Errorf("metrics/get-history: %v", hist)
	}
	if _, ok := hist["next_page_token"]; ok {
		t.Errorf("unpaged history has a next_page_token: %v", hist)
	}
	page1 := api(t, s, "GET", "metrics/get-history?run_id="+id+"&metric_key=loss&max_results=1", "").ok(t)
	tok, _ := page1["next_page_token"].(string)
	if len(get(t, page1, "metrics").([]any)) != 1 || tok == "" {
		t.Fatalf("first page of 1: %v", page1)
	}
	page2 := api(t, s, "GET", "metrics/get-history?run_id="+id+"&metric_key=loss&max_results=1&page_token="+url.QueryEscape(tok), "").ok(t)
	if get(t, page2, "metrics", 0, "value") != "NaN" || page2["next_page_token"] != nil {
		t.Errorf("second page: %v", page2)
	}

	upd := api(t, s, "POST", "runs/update", `{"run_id":"`+id+`","status":"FINISHED","end_time":1700000009000}`).ok(t)
	if get(t, upd, "run_info", "status") != "FINISHED" || get(t, upd, "run_info", "end_time") != float64(1700000009000) {
		t.Errorf("runs/update: %v", upd)
	}
	// Without a status the run keeps its own; run_uuid is the deprecated
	// spelling of run_id.
	upd = api(t, s, "POST", "runs/update", `{"run_uuid":"`+id+`","run_name":"renamed"}`).ok(t)
	if get(t, upd, "run_info", "status") != "FINISHED" || get(t, upd, "run_info", "run_name") != "renamed" {
		t.Errorf("runs/update without status: %v", upd)
	}

	found := api(t, s, "POST", "runs/search", `{"experiment_ids":["`+expID+`"],"filter":"params.lr = '0.1'","max_results":10}`).ok(t)
	if get(t, found, "runs", 0, "info", "run_id") != id {
		t.Errorf("runs/search: %v", found)
	}
	none := api(t, s, "POST", "runs/search", `{"experiment_ids":["`+expID+`"],"filter":"params.lr = '9'"}`).ok(t)
	if _, ok := none["runs"]; ok {
		t.Errorf("empty runs/search has a runs field: %v", none)
	}
}

func TestRegistryEndpoints(t *testing.T) {
	s := newServer(t, Options{})
	runID := get(t, api(t, s, "POST", "runs/create", `{"experiment_id":"0"}`).ok(t), "run", "info", "run_id").(string)

	rm := api(t, s, "POST", "registered-models/create", `{"name":"m","description":"the model","tags":[{"key":"k","value":"v"}]}`).ok(t)
	if get(t, rm, "registered_model", "name") != "m" || get(t, rm, "registered_model", "description") != "the model" {
		t.Errorf("registered-models/create: %v", rm)
	}
	api(t, s, "POST", "registered-models/create", `{"name":"m"}`).failed(t, 400, tracking.CodeResourceAlreadyExists)

	source := "mlflow-artifacts:/0/" + runID + "/artifacts/model"
	for want := 1; want <= 2; want++ {
		mv := api(t, s, "POST", "model-versions/create", `{"name":"m","source":"`+source+`","run_id":"`+runID+`"}`).ok(t)
		if get(t, mv, "model_version", "version") != fmt.Sprint(want) || get(t, mv, "model_version", "status") != "READY" ||
			get(t, mv, "model_version", "current_stage") != "None" {
			t.Errorf("model-versions/create #%d: %v", want, mv)
		}
	}
	mv := api(t, s, "GET", "model-versions/get?name=m&version=1", "").ok(t)
	if get(t, mv, "model_version", "run_id") != runID || get(t, mv, "model_version", "source") != source {
		t.Errorf("model-versions/get: %v", mv)
	}
	uri := api(t, s, "GET", "model-versions/get-download-uri?name=m&version=1", "").ok(t)
	if uri["artifact_uri"] == nil || uri["artifact_uri"] == "" {
		t.Errorf("get-download-uri: %v", uri)
	}

	tr := api(t, s, "POST", "model-versions/transition-stage", `{"name":"m","version":"2","stage":"Production","archive_existing_versions":true}`).ok(t)
	if get(t, tr, "model_version", "current_stage") != "Production" {
		t.Errorf("transition-stage: %v", tr)
	}
	api(t, s, "POST", "model-versions/transition-stage", `{"name":"m","version":"2","stage":"Production"}`).failed(t, 400, tracking.CodeInvalidParameterValue)

	found := api(t, s, "GET", "model-versions/search?filter="+url.QueryEscape("name = 'm'")+"&max_results=10", "").ok(t)
	if n := len(get(t, found, "model_versions").([]any)); n != 2 {
		t.Errorf("model-versions/search: %d versions, want 2: %v", n, found)
	}

	api(t, s, "POST", "model-versions/set-tag", `{"name":"m","version":"1","key":"nebras.promoted_by","value":"ci"}`).ok(t)
	tagged := api(t, s, "GET", "model-versions/get?name=m&version=1", "").ok(t)
	if get(t, tagged, "model_version", "tags", 0, "key") != "nebras.promoted_by" || get(t, tagged, "model_version", "tags", 0, "value") != "ci" {
		t.Errorf("model-versions/set-tag did not tag: %v", tagged)
	}
	api(t, s, "POST", "model-versions/set-tag", `{"name":"m","version":"1","value":"ci"}`).failed(t, 400, tracking.CodeInvalidParameterValue)
	api(t, s, "POST", "model-versions/set-tag", `{"name":"m","version":"1","key":"k","value":"v","stage":"x"}`).failed(t, 400, tracking.CodeInvalidParameterValue)
	api(t, s, "POST", "model-versions/set-tag", `{"name":"m","version":"7","key":"k","value":"v"}`).failed(t, 404, tracking.CodeResourceDoesNotExist)
	api(t, s, "GET", "model-versions/set-tag?name=m&version=1&key=k", "").failed(t, 405, tracking.CodeBadRequest)

	api(t, s, "POST", "registered-models/alias", `{"name":"m","alias":"champion","version":"1"}`).ok(t)
	byAlias := api(t, s, "GET", "registered-models/alias?name=m&alias=champion", "").ok(t)
	if get(t, byAlias, "model_version", "version") != "1" {
		t.Errorf("alias get: %v", byAlias)
	}
	got := api(t, s, "GET", "registered-models/get?name=m", "").ok(t)
	if get(t, got, "registered_model", "aliases", 0, "alias") != "champion" {
		t.Errorf("registered-models/get aliases: %v", got)
	}
	// DELETE takes a JSON body, as MLflow's Python client sends it...
	api(t, s, "DELETE", "registered-models/alias", `{"name":"m","alias":"champion"}`).ok(t)
	// MLflow's stores answer a missing alias with INVALID_PARAMETER_VALUE.
	api(t, s, "GET", "registered-models/alias?name=m&alias=champion", "").failed(t, 400, tracking.CodeInvalidParameterValue)
	// ...or query parameters.
	api(t, s, "POST", "registered-models/alias", `{"name":"m","alias":"prod","version":"2"}`).ok(t)
	api(t, s, "DELETE", "registered-models/alias?name=m&alias=prod", "").ok(t)
	api(t, s, "GET", "registered-models/alias?name=m&alias=prod", "").failed(t, 400, tracking.CodeInvalidParameterValue)
	// Version is a field of SetRegisteredModelAlias only.
	api(t, s, "POST", "registered-models/alias", `{"name":"m","alias":"prod","version":"2"}`).ok(t)
	if msg := api(t, s, "GET", "registered-models/alias?name=m&alias=prod&version=2", "").failed(t, 400, tracking.CodeInvalidParameterValue); !strings.Contains(msg, "version") {
		t.Errorf("alias get with a version: %q", msg)
	}
}

func TestStrictRequests(t *testing.T) {
	s := newServer(t, Options{})
	run := get(t, api(t, s, "POST", "runs/create", `{"experiment_id":"0"}`).ok(t), "run", "info", "run_id").(string)
	long := func(n int) string { return strings.Repeat("k", n) }
	metrics := func(n int) string {
		ms := make([]string, n)
		for i := range ms {
			ms[i] = fmt.Sprintf(`{"key":"m","value":%d,"timestamp":1,"step":%d}`, i, i)
		}
		return `[` + strings.Join(ms, ",") + `]`
	}
	kvs := func(n int) string {
		kv := make([]string, n)
		for i := range kv {
			kv[i] = fmt.Sprintf(`{"key":"k%d","value":"v"}`, i)
		}
		return `[` + strings.Join(kv, ",") + `]`
	}
	tests := []struct {
		name, method, endpoint, body string
		header                       []string
		status                       int
		code                         string
		msgHas                       string
	}{
		{"unknown field", "POST", "runs/create", `{"experiment_id":"0","colour":"red"}`, nil, 400, tracking.CodeInvalidParameterValue, `"colour"`},
		{"unknown nested field", "POST", "runs/log-batch", `{"run_id":"` + run + `","params":[{"key":"a","value":"b","x":1}]}`, nil, 400, tracking.CodeInvalidParameterValue, `"x"`},
		{"unknown query parameter", "GET", "runs/get?run_id=" + run + "&verbose=1", "", nil, 400, tracking.CodeInvalidParameterValue, "verbose"},
		{"repeated scalar query parameter", "GET", "runs/get?run_id=a&run_id=b", "", nil, 400, tracking.CodeInvalidParameterValue, "run_id"},
		{"missing run_id, GET", "GET", "runs/get", "", nil, 400, tracking.CodeInvalidParameterValue, "'run_id'"},
		{"missing run_id, log-batch", "POST", "runs/log-batch", `{"params":[{"key":"a","value":"b"}]}`, nil, 400, tracking.CodeInvalidParameterValue, "'run_id'"},
		{"empty run_id", "POST", "runs/set-tag", `{"run_id":"","key":"a","value":"b"}`, nil, 400, tracking.CodeInvalidParameterValue, "'run_id'"},
		{"missing metric timestamp", "POST", "runs/log-batch", `{"run_id":"` + run + `","metrics":[{"key":"m","value":1}]}`, nil, 400, tracking.CodeInvalidParameterValue, "metrics[0].timestamp"},
		{"missing experiment name", "POST", "experiments/create", `{}`, nil, 400, tracking.CodeInvalidParameterValue, "'name'"},
		{"string as number", "POST", "experiments/create", `{"name":5}`, nil, 400, tracking.CodeInvalidParameterValue, "'name'"},
		{"object as string", "POST", "runs/set-tag", `{"run_id":"` + run + `","key":{"a":1},"value":"b"}`, nil, 400, tracking.CodeInvalidParameterValue, "'key'"},
		{"fractional int64", "POST", "runs/create", `{"start_time":1.5}`, nil, 400, tracking.CodeInvalidParameterValue, "start_time"},
		{"non-numeric int64 string", "POST", "runs/create", `{"start_time":"soon"}`, nil, 400, tracking.CodeInvalidParameterValue, "start_time"},
		{"boolean as double", "POST", "runs/log-batch", `{"run_id":"` + run + `","metrics":[{"key":"m","value":true,"timestamp":1}]}`, nil, 400, tracking.CodeInvalidParameterValue, "value"},
		{"array as object", "POST", "runs/log-batch", `{"run_id":"` + run + `","params":{"key":"a"}}`, nil, 400, tracking.CodeInvalidParameterValue, "params"},
		{"unknown enum", "POST", "runs/update", `{"run_id":"` + run + `","status":"DONE"}`, nil, 400, tracking.CodeInvalidParameterValue, "status"},
		{"malformed JSON", "POST", "runs/create", `{"experiment_id":`, nil, 400, tracking.CodeInvalidParameterValue, "Malformed"},
		{"trailing data", "POST", "runs/create", `{} {}`, nil, 400, tracking.CodeInvalidParameterValue, "Malformed"},
		{"not an object", "POST", "runs/create", `["0"]`, nil, 400, tracking.CodeInvalidParameterValue, "JSON object"},
		{"wrong content type", "POST", "runs/create", `{}`, []string{"Content-Type", "text/plain"}, 400, tracking.CodeInvalidParameterValue, "Content-Type"},
		{"query on POST", "POST", "runs/create?experiment_id=0", `{}`, nil, 400, tracking.CodeInvalidParameterValue, "query"},
		{"max_results too large", "POST", "runs/search", `{"max_results":50001}`, nil, 400, tracking.CodeInvalidParameterValue, "max_results"},
		{"too many metrics", "POST", "runs/log-batch", `{"run_id":"` + run + `","metrics":` + metrics(1001) + `}`, nil, 400, tracking.CodeInvalidParameterValue, "at most 1000 metrics"},
		{"too many params", "POST", "runs/log-batch", `{"run_id":"` + run + `","params":` + kvs(101) + `}`, nil, 400, tracking.CodeInvalidParameterValue, "at most 100 params"},
		{"too many tags", "POST", "runs/log-batch", `{"run_id":"` + run + `","tags":` + kvs(101) + `}`, nil, 400, tracking.CodeInvalidParameterValue, "at most 100 tags"},
		{"too many in total", "POST", "runs/log-batch", `{"run_id":"` + run + `","metrics":` + metrics(1000) + `,"tags":` + kvs(1) + `}`, nil, 400, tracking.CodeInvalidParameterValue, "at most 1000 metrics, params, and tags"},
		{"key too long", "POST", "runs/log-batch", `{"run_id":"` + run + `","params":[{"key":"` + long(251) + `","value":"v"}]}`, nil, 400, tracking.CodeInvalidParameterValue, "250"},
		{"param value too long", "POST", "runs/log-batch", `{"run_id":"` + run + `","params":[{"key":"k","value":"` + long(6001) + `"}]}`, nil, 400, tracking.CodeInvalidParameterValue, "6000"},
		{"tag value too long", "POST", "runs/log-batch", `{"run_id":"` + run + `","tags":[{"key":"k","value":"` + long(8001) + `"}]}`, nil, 400, tracking.CodeInvalidParameterValue, "8000"},
		{"duplicate param keys", "POST", "runs/log-batch", `{"run_id":"` + run + `","params":[{"key":"k","value":"1"},{"key":"k","value":"2"}]}`, nil, 400, tracking.CodeInvalidParameterValue, "Duplicate"},
		{"body over 1 MB", "POST", "runs/log-batch", bigJSON(run, 100, 10_100), nil, 400, tracking.CodeInvalidParameterValue, "1000000 bytes"},
		{"dataset without digest", "POST", "runs/log-inputs", `{"run_id":"` + run + `","datasets":[{"dataset":{"name":"d","source_type":"s","source":"x"}}]}`, nil, 400, tracking.CodeInvalidParameterValue, "datasets[0].dataset.digest"},
		{"run not found", "GET", "runs/get?run_id=0123456789abcdef0123456789abcdef", "", nil, 404, tracking.CodeResourceDoesNotExist, ""},
		{"model not found", "GET", "registered-models/get?name=nope", "", nil, 404, tracking.CodeResourceDoesNotExist, ""},
		{"experiment exists", "POST", "experiments/create", `{"name":"Default"}`, nil, 400, tracking.CodeResourceAlreadyExists, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api(t, s, tt.method, tt.endpoint, tt.body, tt.header...)
			msg := r.failed(t, tt.status, tt.code)
			if !strings.Contains(msg, tt.msgHas) {
				t.Errorf("message %q does not name %q", msg, tt.msgHas)
			}
		})
	}

	// The run is untouched by the refused batches.
	got := api(t, s, "GET", "runs/get?run_id="+run, "").ok(t)
	if d := get(t, got, "run", "data").(map[string]any); d["metrics"] != nil || d["params"] != nil {
		t.Errorf("refused batches logged data: %v", d)
	}
	// At the limits, the same batches pass.
	api(t, s, "POST", "runs/log-batch", `{"run_id":"`+run+`","metrics":`+metrics(900)+`,"params":`+kvs(100)+`}`).ok(t)
	api(t, s, "POST", "runs/log-batch", `{"run_id":"`+run+`","metrics":[{"key":"`+long(250)+`","value":1,"timestamp":1}],`+
		`"params":[{"key":"p","value":"`+long(6000)+`"}],"tags":[{"key":"t","value":"`+long(8000)+`"}]}`).ok(t)
}

func TestMetricValueForms(t *testing.T) {
	s := newServer(t, Options{})
	run := get(t, api(t, s, "POST", "runs/create", `{"experiment_id":"0"}`).ok(t), "run", "info", "run_id").(string)
	api(t, s, "POST", "runs/log-batch", `{"run_id":"`+run+`","metrics":[`+
		`{"key":"a","value":"Infinity","timestamp":1},{"key":"b","value":"2.5","timestamp":1},{"key":"c","value":-3e2,"timestamp":1e3}]}`).ok(t)
	st := s.backend
	got, err := st.GetRun(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"a": math.Inf(1), "b": 2.5, "c": -300}
	for k, v := range want {
		m, ok := got.Metric(k)
		if !ok || m.Value != v {
			t.Errorf("metric %s = %v (%v), want %v", k, m.Value, ok, v)
		}
	}
	if m, _ := got.Metric("c"); m.Timestamp != 1000 {
		t.Errorf("timestamp 1e3 stored as %d", m.Timestamp)
	}
}

func TestArtifacts(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{ArtifactDir: dir})
	base := s.URL() + artifactsPrefix + "artifacts"

	content := "hello, artifacts\n"
	send(t, "PUT", base+"/1/run/artifacts/notes/a.txt", content).ok(t)
	send(t, "PUT", base+"/1/run/artifacts/empty.bin", "").ok(t)

	r := send(t, "GET", base+"/1/run/artifacts/notes/a.txt", "")
	if r.status != 200 || string(r.raw) != content {
		t.Fatalf("download: %d %q", r.status, r.raw)
	}
	if cd := r.header.Get("Content-Disposition"); cd != "attachment; filename=a.txt" {
		t.Errorf("Content-Disposition = %q", cd)
	}
	send(t, "GET", base+"/1/run/artifacts/nope.txt", "").failed(t, 404, tracking.CodeResourceDoesNotExist)

	list := send(t, "GET", base+"?path="+url.QueryEscape("1/run/artifacts"), "").ok(t)
	files := get(t, list, "files").([]any)
	if len(files) != 2 {
		t.Fatalf("list: %v", list)
	}
	if f := files[0].(map[string]any); f["path"] != "empty.bin" || f["is_dir"] != false || f["file_size"] != nil {
		t.Errorf("empty file entry: %v", f)
	}
	if f := files[1].(map[string]any); f["path"] != "notes" || f["is_dir"] != true || f["file_size"] != nil {
		t.Errorf("directory entry: %v", f)
	}
	sub := send(t, "GET", base+"?path="+url.QueryEscape("1/run/artifacts/notes"), "").ok(t)
	if f := get(t, sub, "files", 0).(map[string]any); f["path"] != "a.txt" || f["file_size"] != float64(len(content)) {
		t.Errorf("file entry: %v", f)
	}
	if missing := send(t, "GET", base+"?path=no/such/dir", "").ok(t); len(missing) != 0 {
		t.Errorf("listing a missing directory: %v", missing)
	}
	send(t, "GET", base+"?path=x&depth=2", "").failed(t, 400, tracking.CodeInvalidParameterValue)
	send(t, "DELETE", base+"/1/run/artifacts/notes/a.txt", "").failed(t, 405, tracking.CodeBadRequest)

	// Nothing escapes the artifact directory.
	outside := filepath.Join(filepath.Dir(dir), "escaped.txt")
	for _, p := range []string{"/../escaped.txt", "/a/../../escaped.txt", "/%2e%2e/escaped.txt", "/a/..%2f..%2fescaped.txt", "//" + outside, "/a%5c..%5cescaped.txt", "/C:/escaped.txt"} {
		send(t, "PUT", base+p, "x").failed(t, 400, tracking.CodeInvalidParameterValue)
		send(t, "GET", base+p, "").failed(t, 400, tracking.CodeInvalidParameterValue)
	}
	send(t, "GET", base+"?path=..", "").failed(t, 400, tracking.CodeInvalidParameterValue)
	send(t, "GET", base+"?path="+url.QueryEscape("/etc"), "").failed(t, 400, tracking.CodeInvalidParameterValue)
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("%s was written", outside)
	}
}

func TestArtifactsDisabled(t *testing.T) {
	s := newServer(t, Options{})
	r := send(t, "GET", s.URL()+artifactsPrefix+"artifacts?path=x", "")
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("artifact endpoint without ArtifactDir: %d, want 503", r.status)
	}
}

func TestMultipartUpload(t *testing.T) {
	dir := t.TempDir()
	s := newServer(t, Options{ArtifactDir: dir, Multipart: true, Token: "tok"})
	auth := []string{"Authorization", "Bearer tok"}
	mpu := s.URL() + artifactsPrefix + "mpu/"

	create := send(t, "POST", mpu+"create/1/run/artifacts/model", `{"path":"/home/me/out/weights.bin","num_parts":3}`, auth...).ok(t)
	uploadID := create["upload_id"].(string)
	creds := get(t, create, "credentials").([]any)
	if len(creds) != 3 {
		t.Fatalf("credentials: %v", create)
	}
	chunks := []string{strings.Repeat("a", 100), strings.Repeat("b", 50), "c"}
	var parts []map[string]any
	for i, c := range creds {
		cred := c.(map[string]any)
		if cred["part_number"] != float64(i+1) || !strings.HasPrefix(cred["url"].(string), s.URL()+"/") {
			t.Fatalf("credential %d: %v", i, cred)
		}
		// A presigned URL refuses the tracking credentials.
		if r := send(t, "PUT", cred["url"].(string), chunks[i], auth...); r.status != http.StatusBadRequest {
			t.Errorf("part upload with Authorization: status %d, want 400", r.status)
		}
		r := send(t, "PUT", cred["url"].(string), chunks[i])
		etag := r.header.Get("ETag")
		if r.status != 200 || etag == "" {
			t.Fatalf("part %d: %d, ETag %q", i+1, r.status, etag)
		}
		parts = append(parts, map[string]any{"part_number": i + 1, "etag": etag, "url": cred["url"]})
	}
	complete := func(ps []map[string]any) response {
		body, err := json.Marshal(map[string]any{"path": "/home/me/out/weights.bin", "upload_id": uploadID, "parts": ps})
		if err != nil {
			t.Fatal(err)
		}
		return send(t, "POST", mpu+"complete/1/run/artifacts/model", string(body), auth...)
	}
	complete([]map[string]any{parts[1], parts[0], parts[2]}).failed(t, 400, tracking.CodeInvalidParameterValue)
	complete(parts[:2]).failed(t, 400, tracking.CodeInvalidParameterValue)
	bad := []map[string]any{parts[0], {"part_number": 2, "etag": `"0000"`}, parts[2]}
	complete(bad).failed(t, 400, tracking.CodeInvalidParameterValue)
	complete(parts).ok(t)

	got, err := os.ReadFile(filepath.Join(dir, "1", "run", "artifacts", "model", "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != strings.Join(chunks, "") {
		t.Errorf("assembled %d bytes, want the 151 bytes of the three parts in order", len(got))
	}
	complete(parts).failed(t, 404, tracking.CodeResourceDoesNotExist)

	// Abort forgets the upload.
	create = send(t, "POST", mpu+"create/x", `{"path":"f.bin","num_parts":1}`, auth...).ok(t)
	send(t, "POST", mpu+"abort/x", `{"path":"f.bin","upload_id":"`+create["upload_id"].(string)+`"}`, auth...).ok(t)
	send(t, "POST", mpu+"abort/x", `{"path":"f.bin","upload_id":"`+create["upload_id"].(string)+`"}`, auth...).failed(t, 404, tracking.CodeResourceDoesNotExist)

	send(t, "POST", mpu+"create/x", `{"path":"f.bin","num_parts":0}`, auth...).failed(t, 400, tracking.CodeInvalidParameterValue)
	send(t, "POST", mpu+"create/x", `{"num_parts":1}`, auth...).failed(t, 400, tracking.CodeInvalidParameterValue)
	send(t, "POST", mpu+"create/../x", `{"path":"f.bin","num_parts":1}`, auth...).failed(t, 400, tracking.CodeInvalidParameterValue)
	send(t, "POST", mpu+"create/x", `{"path":"f.bin","num_parts":1}`).failed(t, 401, tracking.CodeUnauthenticated)
}

func TestMultipartDisabled(t *testing.T) {
	s := newServer(t, Options{ArtifactDir: t.TempDir()})
	msg := send(t, "POST", s.URL()+artifactsPrefix+"mpu/create/x", `{"path":"f.bin","num_parts":2}`).failed(t, 501, tracking.CodeNotImplemented)
	if msg != "Multipart upload is not supported for the current artifact repository" {
		t.Errorf("message %q is not MLflow's", msg)
	}
}
