package tracking

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func newTestFileStore(t *testing.T, opts ...FileStoreOption) (*FileStore, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := NewFileStore(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func TestNewFileStoreCreatesDefaultExperiment(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	if got, want := s.URI(), "file://"+root; got != want {
		t.Errorf("URI() = %q, want %q", got, want)
	}
	if st, err := os.Stat(filepath.Join(root, ".trash")); err != nil || !st.IsDir() {
		t.Errorf(".trash missing: %v", err)
	}
	e, err := s.GetExperiment(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "Default" || e.LifecycleStage != LifecycleActive || e.ArtifactLocation != "file://"+root+"/0" {
		t.Errorf("default experiment = %+v", e)
	}
	want := fmt.Sprintf("artifact_location: file://%s/0\ncreation_time: %d\nexperiment_id: '0'\nlast_update_time: %d\nlifecycle_stage: active\nname: Default\n",
		root, e.CreationTime, e.LastUpdateTime)
	if got := readFile(t, filepath.Join(root, "0", "meta.yaml")); got != want {
		t.Errorf("0/meta.yaml =\n%s\nwant\n%s", got, want)
	}
	// Opening again keeps what is there.
	s2, err := NewFileStore(root)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := s2.GetExperimentByName(ctx, "Default")
	if err != nil || e2.CreationTime != e.CreationTime {
		t.Errorf("reopen: %+v, %v", e2, err)
	}
}

func TestNewFileStoreRelativeRoot(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := NewFileStore("mlruns")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := "file://" + filepath.Join(wd, "mlruns"); s.URI() != want {
		t.Errorf("URI() = %q, want %q", s.URI(), want)
	}
}

func TestFileStoreRunLayout(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	expID, err := s.CreateExperiment(ctx, "iris", "", []Tag{{Key: "team", Value: "ml"}})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[1-9][0-9]{17}$`).MatchString(expID) {
		t.Errorf("experiment ID %q is not 18 random digits", expID)
	}
	if got := readFile(t, filepath.Join(root, expID, "tags", "team")); got != "ml" {
		t.Errorf("experiment tag file = %q", got)
	}
	run, err := s.CreateRun(ctx, CreateRunRequest{
		ExperimentID: expID, UserID: "alice", RunName: "baseline", StartTime: 1700000000000,
		Tags: []Tag{{Key: "mlflow.source.name", Value: "train.go"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) || id[12] != '4' {
		t.Errorf("run ID %q is not a dashless uuid4", id)
	}
	runDir := filepath.Join(root, expID, id)
	artifactURI := fmt.Sprintf("file://%s/%s/%s/artifacts", root, expID, id)
	if run.Info.ArtifactURI != artifactURI || run.Info.Status != RunRunning || run.Info.RunName != "baseline" {
		t.Errorf("created run info = %+v", run.Info)
	}
	wantMeta := fmt.Sprintf(`artifact_uri: %s
deleted_time: null
end_time: null
entry_point_name: ''
experiment_id: '%s'
lifecycle_stage: active
run_id: %s
run_name: baseline
run_uuid: %s
source_name: ''
source_type: 4
source_version: ''
start_time: 1700000000000
status: 1
tags: []
user_id: alice
`, artifactURI, expID, id, id)
	if got := readFile(t, filepath.Join(runDir, "meta.yaml")); got != wantMeta {
		t.Errorf("run meta.yaml =\n%s\nwant\n%s", got, wantMeta)
	}
	for _, sub := range []string{"metrics", "params", "tags", "artifacts"} {
		if st, err := os.Stat(filepath.Join(runDir, sub)); err != nil || !st.IsDir() {
			t.Errorf("run folder %s missing: %v", sub, err)
		}
	}

	metrics := []Metric{
		{Key: "loss", Value: 0.9, Timestamp: 1700000000100, Step: 0},
		{Key: "loss", Value: 0.5, Timestamp: 1700000000200, Step: 1},
		{Key: "loss", Value: 1e-05, Timestamp: 1700000000300, Step: 2},
		{Key: "train/acc", Value: 1, Timestamp: 1700000000100, Step: 0},
		{Key: "nan_metric", Value: math.NaN(), Timestamp: 1700000000100, Step: 0},
	}
	params := []Param{{Key: "lr", Value: "1e-4"}, {Key: "layers", Value: "3"}}
	tags := []Tag{{Key: "stage", Value: "dev\nline two"}}
	if err := s.LogBatch(ctx, id, metrics, params, tags); err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, id, []Metric{{Key: "loss", Value: 0.25, Timestamp: 1700000000400, Step: 3}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"metrics/loss":            "1700000000100 0.9 0\n1700000000200 0.5 1\n1700000000300 1e-05 2\n1700000000400 0.25 3\n",
		"metrics/train/acc":       "1700000000100 1.0 0\n",
		"metrics/nan_metric":      "1700000000100 nan 0\n",
		"params/lr":               "1e-4",
		"params/layers":           "3",
		"tags/stage":              "dev\nline two",
		"tags/mlflow.runName":     "baseline",
		"tags/mlflow.source.name": "train.go",
	} {
		if got := readFile(t, filepath.Join(runDir, filepath.FromSlash(path))); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}

	info, err := s.UpdateRun(ctx, id, RunFinished, 1700000009000, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != RunFinished || info.EndTime != 1700000009000 || info.RunName != "baseline" {
		t.Errorf("UpdateRun = %+v", info)
	}
	// A rewrite leaves deleted_time out, as MLflow's _overwrite_run_info.
	wantMeta = strings.Replace(wantMeta, "deleted_time: null\nend_time: null", "end_time: 1700000009000", 1)
	wantMeta = strings.Replace(wantMeta, "status: 1", "status: 3", 1)
	if got := readFile(t, filepath.Join(runDir, "meta.yaml")); got != wantMeta {
		t.Errorf("run meta.yaml after update =\n%s\nwant\n%s", got, wantMeta)
	}

	got, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Info != *info {
		t.Errorf("GetRun info = %+v, want %+v", got.Info, *info)
	}
	if m, _ := got.Metric("loss"); m.Value != 0.25 || m.Step != 3 {
		t.Errorf("latest loss = %+v", m)
	}
	if m, _ := got.Metric("train/acc"); m.Value != 1 {
		t.Errorf("train/acc = %+v", m)
	}
	if m, ok := got.Metric("nan_metric"); !ok || !math.IsNaN(m.Value) {
		t.Errorf("nan_metric = %+v", m)
	}
	if v, _ := got.Param("lr"); v != "1e-4" {
		t.Errorf("param lr = %q", v)
	}
	if v, _ := got.Tag("stage"); v != "dev\nline two" {
		t.Errorf("tag stage = %q", v)
	}
	if len(got.Data.Params) != 2 || got.Data.Params[0].Key != "layers" {
		t.Errorf("params not sorted by key: %+v", got.Data.Params)
	}

	hist, err := s.GetMetricHistory(ctx, id, "loss")
	if err != nil {
		t.Fatal(err)
	}
	var steps []int64
	for _, m := range hist {
		steps = append(steps, m.Step)
	}
	if fmt.Sprint(steps) != "[0 1 2 3]" || hist[2].Value != 1e-05 {
		t.Errorf("history = %+v", hist)
	}
	for _, key := range []string{"never_logged", "train"} {
		if hist, err := s.GetMetricHistory(ctx, id, key); err != nil || hist == nil || len(hist) != 0 {
			t.Errorf("history of unlogged %q = %v, %v", key, hist, err)
		}
	}
}

func TestFileStoreErrors(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	run, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	if err := s.LogBatch(ctx, id, nil, []Param{{Key: "lr", Value: "0.1"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateExperiment(ctx, "dup", "", nil); err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"unknown run", func() error { _, err := s.GetRun(ctx, "0123456789abcdef0123456789abcdef"); return err }, CodeResourceDoesNotExist, "not found"},
		{"run ID with a path", func() error { _, err := s.GetRun(ctx, "../0"); return err }, CodeInvalidParameterValue, "run_id"},
		{"unknown experiment", func() error { _, err := s.GetExperiment(ctx, "42"); return err }, CodeResourceDoesNotExist, "42"},
		{"experiment ID with a path", func() error { _, err := s.GetExperiment(ctx, "../etc"); return err }, CodeInvalidParameterValue, "experiment ID"},
		{"unknown experiment name", func() error { _, err := s.GetExperimentByName(ctx, "nope"); return err }, CodeResourceDoesNotExist, "nope"},
		{"duplicate experiment", func() error { _, err := s.CreateExperiment(ctx, "dup", "", nil); return err }, CodeResourceAlreadyExists, "'dup' already exists"},
		{"empty experiment name", func() error { _, err := s.CreateExperiment(ctx, "", "", nil); return err }, CodeInvalidParameterValue, "experiment name"},
		{"run in unknown experiment", func() error { _, err := s.CreateRun(ctx, CreateRunRequest{ExperimentID: "77"}); return err }, CodeResourceDoesNotExist, "77"},
		{"changed param", func() error { return s.LogBatch(ctx, id, nil, []Param{{Key: "lr", Value: "0.2"}}, nil) }, CodeInvalidParameterValue, "Changing param values is not allowed. Param with key='lr' was already logged with value='0.1'"},
		{"duplicate param keys", func() error {
			return s.LogBatch(ctx, id, nil, []Param{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}, nil)
		}, CodeInvalidParameterValue, "Duplicate parameter keys"},
		{"metric key ..", func() error { return s.LogBatch(ctx, id, []Metric{{Key: "../../../escape", Value: 1}}, nil, nil) }, CodeInvalidParameterValue, "would resolve to"},
		{"metric key absolute", func() error { return s.LogBatch(ctx, id, []Metric{{Key: "/etc/passwd", Value: 1}}, nil, nil) }, CodeInvalidParameterValue, "would resolve to"},
		{"param key ..", func() error { return s.LogBatch(ctx, id, nil, []Param{{Key: "..", Value: "1"}}, nil) }, CodeInvalidParameterValue, "params[0].key"},
		{"param key a/../b", func() error { return s.LogBatch(ctx, id, nil, []Param{{Key: "a/../b", Value: "1"}}, nil) }, CodeInvalidParameterValue, "would resolve to 'b'"},
		{"tag key .", func() error { return s.SetTag(ctx, id, ".", "v") }, CodeInvalidParameterValue, "key"},
		{"tag key a//b", func() error { return s.SetTag(ctx, id, "a//b", "v") }, CodeInvalidParameterValue, "would resolve to 'a/b'"},
		{"tag key trailing slash", func() error { return s.SetTag(ctx, id, "a/", "v") }, CodeInvalidParameterValue, "would resolve"},
		{"tag key backslash", func() error { return s.SetTag(ctx, id, `a\b`, "v") }, CodeInvalidParameterValue, "Names may only contain"},
		{"tag key NUL", func() error { return s.SetTag(ctx, id, "a\x00b", "v") }, CodeInvalidParameterValue, "Names may only contain"},
		{"empty tag key", func() error { return s.SetTag(ctx, id, "", "v") }, CodeInvalidParameterValue, "key name must be provided"},
		{"metric key too long", func() error { return s.LogBatch(ctx, id, []Metric{{Key: long(251), Value: 1}}, nil, nil) }, CodeInvalidParameterValue, "250"},
		{"param value too long", func() error { return s.LogBatch(ctx, id, nil, []Param{{Key: "big", Value: long(6001)}}, nil) }, CodeInvalidParameterValue, "6000"},
		{"tag value too long", func() error { return s.SetTag(ctx, id, "big", long(8001)) }, CodeInvalidParameterValue, "8000"},
		{"negative timestamp", func() error { return s.LogBatch(ctx, id, []Metric{{Key: "m", Value: 1, Timestamp: -1}}, nil, nil) }, CodeInvalidParameterValue, "Timestamp must be a nonnegative"},
		{"too many params", func() error { return s.LogBatch(ctx, id, nil, make([]Param, 101), nil) }, CodeInvalidParameterValue, ""},
		{"too many metrics", func() error {
			ms := make([]Metric, 1001)
			for i := range ms {
				ms[i] = Metric{Key: "m", Value: 1}
			}
			return s.LogBatch(ctx, id, ms, nil, nil)
		}, CodeInvalidParameterValue, "at most 1000 metrics"},
		{"run name and tag differ", func() error {
			_, err := s.CreateRun(ctx, CreateRunRequest{RunName: "a", Tags: []Tag{{Key: "mlflow.runName", Value: "b"}}})
			return err
		}, CodeInvalidParameterValue, "different values"},
		{"bad status", func() error { _, err := s.UpdateRun(ctx, id, "DONE", 0, ""); return err }, CodeInvalidParameterValue, "status"},
		{"runs: artifact location", func() error { _, err := s.CreateExperiment(ctx, "r", "runs:/x", nil); return err }, CodeInvalidParameterValue, "runs:/"},
		{"search unknown experiment", func() error {
			_, err := s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{"0", "999"}})
			return err
		}, CodeResourceDoesNotExist, "999"},
		{"search too many results", func() error {
			_, err := s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{"0"}, MaxResults: 50001})
			return err
		}, CodeInvalidParameterValue, "50000"},
		{"log inputs without digest", func() error {
			return s.LogInputs(ctx, id, []DatasetInput{{Dataset: Dataset{Name: "d"}}})
		}, CodeInvalidParameterValue, "digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	// Sentinels work through errors.Is.
	if _, err := s.GetRun(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v is not ErrNotFound", err)
	}
	if _, err := s.CreateExperiment(ctx, "dup", "", nil); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate experiment: %v is not ErrAlreadyExists", err)
	}
	// Nothing was written outside the run, and a refused batch wrote nothing.
	if _, err := os.Stat(filepath.Join(root, "escape")); !os.IsNotExist(err) {
		t.Errorf("a path-traversal key wrote outside the run: %v", err)
	}
	r, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Data.Params) != 1 || len(r.Data.Metrics) != 0 {
		t.Errorf("refused batches changed the run: %+v", r.Data)
	}
	// Re-logging the same value is fine.
	if err := s.LogBatch(ctx, id, nil, []Param{{Key: "lr", Value: "0.1"}}, nil); err != nil {
		t.Errorf("re-logging a param with its value: %v", err)
	}
}

func TestFileStoreKeysMLflowAccepts(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFileStore(t)
	run, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "a.b", "a-b_c", "with space", "train/loss", "x:y", "ünï", "v1.2/part-3"}
	for _, k := range keys {
		if err := s.SetTag(ctx, run.Info.RunID, k, "v"); err != nil {
			t.Errorf("SetTag(%q): %v", k, err)
		}
	}
	r, err := s.GetRun(ctx, run.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if v, ok := r.Tag(k); !ok || v != "v" {
			t.Errorf("tag %q read back as %q, %v", k, v, ok)
		}
	}
}

func TestFileStoreRunNames(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	run, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9]{1,4}$`).MatchString(run.Info.RunName) || len(run.Info.RunName) > 20 {
		t.Errorf("generated run name %q", run.Info.RunName)
	}
	if v, _ := run.Tag("mlflow.runName"); v != run.Info.RunName {
		t.Errorf("mlflow.runName tag %q, run name %q", v, run.Info.RunName)
	}

	tagged, err := s.CreateRun(ctx, CreateRunRequest{Tags: []Tag{{Key: "mlflow.runName", Value: "from-tag"}}})
	if err != nil {
		t.Fatal(err)
	}
	if tagged.Info.RunName != "from-tag" {
		t.Errorf("run name from tag = %q", tagged.Info.RunName)
	}

	id := run.Info.RunID
	if _, err := s.UpdateRun(ctx, id, "", 0, "renamed"); err != nil {
		t.Fatal(err)
	}
	r, _ := s.GetRun(ctx, id)
	if v, _ := r.Tag("mlflow.runName"); r.Info.RunName != "renamed" || v != "renamed" || r.Info.Status != RunRunning {
		t.Errorf("after UpdateRun: name %q tag %q status %s", r.Info.RunName, v, r.Info.Status)
	}
	if err := s.SetTag(ctx, id, "mlflow.runName", "via-tag"); err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, tagged.Info.RunID, nil, nil, []Tag{{Key: "mlflow.runName", Value: "via-batch"}}); err != nil {
		t.Fatal(err)
	}
	for runID, want := range map[string]string{id: "via-tag", tagged.Info.RunID: "via-batch"} {
		r, _ := s.GetRun(ctx, runID)
		if v, _ := r.Tag("mlflow.runName"); r.Info.RunName != want || v != want {
			t.Errorf("run name %q tag %q, want %q", r.Info.RunName, v, want)
		}
		meta := readFile(t, filepath.Join(root, "0", runID, "meta.yaml"))
		if !strings.Contains(meta, "run_name: "+want+"\n") {
			t.Errorf("meta.yaml does not carry the new name:\n%s", meta)
		}
	}
}

func TestLatestMetric(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		hist []Metric
		want Metric
	}{
		{"largest step wins over later timestamp", []Metric{{Step: 5, Timestamp: 1, Value: 1}, {Step: 4, Timestamp: 9, Value: 2}}, Metric{Step: 5, Timestamp: 1, Value: 1}},
		{"same step: latest timestamp", []Metric{{Step: 1, Timestamp: 2, Value: 1}, {Step: 1, Timestamp: 3, Value: 0}}, Metric{Step: 1, Timestamp: 3, Value: 0}},
		{"same step and time: largest value", []Metric{{Step: 1, Timestamp: 2, Value: 1}, {Step: 1, Timestamp: 2, Value: 7}, {Step: 1, Timestamp: 2, Value: 3}}, Metric{Step: 1, Timestamp: 2, Value: 7}},
		{"NaN first is kept at a tie", []Metric{{Step: 1, Timestamp: 2, Value: nan}, {Step: 1, Timestamp: 2, Value: 7}}, Metric{Step: 1, Timestamp: 2, Value: nan}},
		{"NaN later does not replace", []Metric{{Step: 1, Timestamp: 2, Value: 7}, {Step: 1, Timestamp: 2, Value: nan}}, Metric{Step: 1, Timestamp: 2, Value: 7}},
		{"NaN at a larger step wins", []Metric{{Step: 1, Timestamp: 2, Value: 7}, {Step: 2, Timestamp: 1, Value: nan}}, Metric{Step: 2, Timestamp: 1, Value: nan}},
		{"negative steps", []Metric{{Step: -3, Value: 1}, {Step: -1, Value: 2}}, Metric{Step: -1, Value: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := latestMetric(tc.hist)
			same := got.Step == tc.want.Step && got.Timestamp == tc.want.Timestamp &&
				(got.Value == tc.want.Value || math.IsNaN(got.Value) && math.IsNaN(tc.want.Value))
			if !same {
				t.Errorf("latestMetric = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPyFloatRepr(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"},
		{1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {123456789, "123456789.0"},
		{1e15, "1000000000000000.0"}, {1e16, "1e+16"}, {1.2345e20, "1.2345e+20"},
		{1.7976931348623157e308, "1.7976931348623157e+308"}, {5e-324, "5e-324"},
		{1.0 / 3, "0.3333333333333333"}, {math.NaN(), "nan"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
	}
	for _, tc := range tests {
		if got := pyFloatRepr(tc.v); got != tc.want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// The expected outputs come from PyYAML 6.0.3 with libyaml:
// yaml.dump({"name": v}, default_flow_style=False, allow_unicode=True,
// sort_keys=True, Dumper=yaml.CSafeDumper).
func TestMarshalPyYAMLMatchesPyYAML(t *testing.T) {
	tests := []struct{ value, want string }{
		{"", "name: ''\n"},
		{"Default", "name: Default\n"},
		{"0", "name: '0'\n"},
		{"123456789012345678", "name: '123456789012345678'\n"},
		{"file:///tmp/ml runs/0", "name: file:///tmp/ml runs/0\n"},
		{"true", "name: 'true'\n"},
		{"null", "name: 'null'\n"},
		{"1.5", "name: '1.5'\n"},
		{"1e5", "name: 1e5\n"},
		{"a: b", "name: 'a: b'\n"},
		{"it's", "name: it's\n"},
		{"#x", "name: '#x'\n"},
		{"x #y", "name: 'x #y'\n"},
		{"- a", "name: '- a'\n"},
		{"@home", "name: '@home'\n"},
		{"a\nb", "name: 'a\n\n  b'\n"},
		{"tab\there", "name: \"tab\\there\"\n"},
		{"é ü 中", "name: é ü 中\n"},
		{"😀", "name: \"\\U0001F600\"\n"},
		{"x\u0085y", "name: \"x\\Ny\"\n"},
		{" lead", "name: ' lead'\n"},
		{"trail ", "name: 'trail '\n"},
		{"word word word word word word word word word word word word word word word word word word word word ", "name: 'word word word word word word word word word word word word word word word\n  word word word word word '\n"},
		{"'q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q '", "name: '''q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q q\n  q q q q q q q q '''\n"},
		{"{\"a\": 1, \"b\": [1, 2, 3], \"c\": \"long long long long long long long long long long long long long long \"}", "name: '{\"a\": 1, \"b\": [1, 2, 3], \"c\": \"long long long long long long long long long\n  long long long long long \"}'\n"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \"b c\" \tx x x x x x x x x x ", "name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \\\"b\n  c\\\" \\tx x x x x x x x x x \"\n"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		got := string(marshalPyYAML(yamlMap{{"name", tc.value}}))
		if got != tc.want {
			t.Errorf("value %q:\n got %q\nwant %q", tc.value, got, tc.want)
		}
		p := filepath.Join(dir, "m.yaml")
		if err := os.WriteFile(p, []byte(tc.want), 0o644); err != nil {
			t.Fatal(err)
		}
		doc, err := readYAMLFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if doc.str("name") != tc.value {
			t.Errorf("PyYAML's %q reads back as %q, want %q", tc.want, doc.str("name"), tc.value)
		}
	}
	long := strings.Repeat("k", 130)
	got := string(marshalPyYAML(yamlMap{
		{"tags", map[string]string{"mlflow.data.context": "training", long: "v"}},
		{"n", nil}, {"x", []string{}}, {"m", map[string]string{}},
		{"aliases", []string{"champion", "prod"}}, {"i", int64(-12)},
	}))
	want := "aliases:\n- champion\n- prod\ni: -12\nm: {}\nn: null\ntags:\n  ? " + long + "\n  : v\n  mlflow.data.context: training\nx: []\n"
	if got != want {
		t.Errorf("mapping:\n got %q\nwant %q", got, want)
	}
}

func TestPathToFileURI(t *testing.T) {
	for p, want := range map[string]string{
		"/tmp/mlruns":      "file:///tmp/mlruns",
		"/tmp/my runs/a#b": "file:///tmp/my%20runs/a%23b",
		"/home/ü/x_y-z.~1": "file:///home/%C3%BC/x_y-z.~1",
	} {
		if got := pathToFileURI(p); got != want {
			t.Errorf("pathToFileURI(%q) = %q, want %q", p, got, want)
		}
		back, err := fileURIToPath(want)
		if err != nil || back != p {
			t.Errorf("fileURIToPath(%q) = %q, %v", want, back, err)
		}
	}
}

func TestMetricFilePartialLine(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	run, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	if err := s.LogBatch(ctx, id, []Metric{{Key: "loss", Value: 0.5, Timestamp: 10, Step: 1}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "0", id, "metrics", "loss")
	// What a writer killed in the middle of a line leaves.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("11 0.2")
	f.Close()
	if err := os.WriteFile(filepath.Join(root, "0", id, "metrics", "fresh"), []byte("12 0.7"), 0o644); err != nil {
		t.Fatal(err)
	}

	r, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatalf("GetRun with a partial metric line: %v", err)
	}
	if m, _ := r.Metric("loss"); m.Value != 0.5 || m.Step != 1 {
		t.Errorf("latest loss = %+v", m)
	}
	if _, ok := r.Metric("fresh"); ok {
		t.Errorf("a metric with only a partial line was reported")
	}
	hist, err := s.GetMetricHistory(ctx, id, "loss")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history = %v, %v", hist, err)
	}
	// The next append drops the fragment instead of gluing onto it.
	if err := s.LogBatch(ctx, id, []Metric{{Key: "loss", Value: 0.1, Timestamp: 13, Step: 2}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, path), "10 0.5 1\n13 0.1 2\n"; got != want {
		t.Errorf("metric file = %q, want %q", got, want)
	}
	// A malformed complete line is an error, as in MLflow.
	if err := os.WriteFile(path, []byte("10 0.5 1\ngarbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetMetricHistory(ctx, id, "loss")
	wantCode(t, err, CodeInternalError)
}

func TestFileStoreConcurrentLogging(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	run, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	const workers, perWorker, perBatch = 8, 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				var ms []Metric
				for j := range perBatch {
					step := int64((w*perWorker+i)*perBatch + j)
					ms = append(ms, Metric{Key: "loss", Value: float64(step) / 10, Timestamp: 1000 + step, Step: step})
				}
				var ps []Param
				var ts []Tag
				if i%5 == 0 {
					ps = []Param{{Key: fmt.Sprintf("p%d_%d", w, i), Value: "v"}}
					ts = []Tag{{Key: "last_worker", Value: fmt.Sprint(w)}}
				}
				if err := s.LogBatch(ctx, id, ms, ps, ts); err != nil {
					errs <- err
				}
				if i%5 == 0 {
					if _, err := s.GetRun(ctx, id); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	hist, err := s.GetMetricHistory(ctx, id, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != workers*perWorker*perBatch {
		t.Fatalf("history has %d values, want %d", len(hist), workers*perWorker*perBatch)
	}
	lines := strings.Split(strings.TrimSuffix(readFile(t, filepath.Join(root, "0", id, "metrics", "loss")), "\n"), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		if !regexp.MustCompile(`^[0-9]+ [0-9.]+ [0-9]+$`).MatchString(l) || seen[l] {
			t.Errorf("bad or repeated line %q", l)
		}
		seen[l] = true
	}
	r, _ := s.GetRun(ctx, id)
	if len(r.Data.Params) != workers*perWorker/5 {
		t.Errorf("%d params, want %d", len(r.Data.Params), workers*perWorker/5)
	}
	if m, _ := r.Metric("loss"); m.Step != workers*perWorker*perBatch-1 {
		t.Errorf("latest loss step %d", m.Step)
	}
}

func TestFileStoreLogInputs(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	run, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	inputs := []DatasetInput{
		{Tags: []Tag{{Key: "mlflow.data.context", Value: "training"}}, Dataset: Dataset{
			Name: "iris", Digest: "abc123", SourceType: "local", Source: `{"uri": "/data/iris.csv"}`,
			Schema: `{"mlflow_colspec": []}`, Profile: `{"num_rows": 150}`}},
		{Dataset: Dataset{Name: "eval", Digest: "ffff", SourceType: "code", Source: "{}"}},
	}
	if err := s.LogInputs(ctx, id, inputs); err != nil {
		t.Fatal(err)
	}
	// Logging the same dataset again changes nothing.
	if err := s.LogInputs(ctx, id, inputs[:1]); err != nil {
		t.Fatal(err)
	}
	const irisID = "65889691a86609276f6fa92515985e9b" // md5("iris" + "abc123")
	inputID := md5Hex(irisID, id)
	wantDataset := "digest: abc123\nname: iris\nprofile: '{\"num_rows\": 150}'\nschema: '{\"mlflow_colspec\": []}'\nsource: '{\"uri\": \"/data/iris.csv\"}'\nsource_type: local\n"
	if got := readFile(t, filepath.Join(root, "0", "datasets", irisID, "meta.yaml")); got != wantDataset {
		t.Errorf("dataset meta.yaml =\n%s\nwant\n%s", got, wantDataset)
	}
	wantInput := fmt.Sprintf("destination_id: %s\ndestination_type: RUN\nsource_id: %s\nsource_type: DATASET\ntags:\n  mlflow.data.context: training\n", id, irisID)
	if got := readFile(t, filepath.Join(root, "0", id, "inputs", inputID, "meta.yaml")); got != wantInput {
		t.Errorf("input meta.yaml =\n%s\nwant\n%s", got, wantInput)
	}
	r, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Inputs) != 2 || r.Inputs[0].Dataset.Name != "eval" || len(r.Inputs[0].Tags) != 0 {
		t.Fatalf("inputs = %+v", r.Inputs)
	}
	if got := r.Inputs[1]; got.Dataset != inputs[0].Dataset || len(got.Tags) != 1 || got.Tags[0] != inputs[0].Tags[0] {
		t.Errorf("iris input = %+v", got)
	}
}

func TestFileStoreWithArtifactRoot(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFileStore(t, WithArtifactRoot("mlflow-artifacts:/"))
	def, err := s.GetExperiment(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	if def.ArtifactLocation != "mlflow-artifacts:/0" {
		t.Errorf("Default artifact location %q", def.ArtifactLocation)
	}
	expID, err := s.CreateExperiment(ctx, "e", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun(ctx, CreateRunRequest{ExperimentID: expID})
	if err != nil {
		t.Fatal(err)
	}
	if want := "mlflow-artifacts:/" + expID + "/" + run.Info.RunID + "/artifacts"; run.Info.ArtifactURI != want {
		t.Errorf("run artifact URI %q, want %q", run.Info.ArtifactURI, want)
	}
	if _, err := s.Artifacts(ctx, run.Info.ArtifactURI); err == nil || !strings.Contains(err.Error(), "mlflow-artifacts") {
		t.Errorf("Artifacts(mlflow-artifacts:) = %v, want an error naming the scheme", err)
	}
	// An explicit location wins; a plain path becomes a file: URI.
	dir := t.TempDir()
	id2, err := s.CreateExperiment(ctx, "explicit", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := s.GetExperiment(ctx, id2)
	if e2.ArtifactLocation != "file://"+dir {
		t.Errorf("explicit artifact location %q", e2.ArtifactLocation)
	}
}

func TestFileStoreArtifactsOfRun(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	run, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := s.Artifacts(ctx, run.Info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Put(ctx, "model/MLmodel", strings.NewReader("flavors: {}\n")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "0", run.Info.RunID, "artifacts", "model", "MLmodel")); got != "flavors: {}\n" {
		t.Errorf("artifact content %q", got)
	}
	// The artifact folder is not mistaken for anything when searching.
	if _, err := s.GetRun(ctx, run.Info.RunID); err != nil {
		t.Error(err)
	}
}

func TestFileStoreSearchRuns(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFileStore(t)
	if _, err := ParseRunFilter(""); err != nil {
		t.Skipf("search.go is not ready: %v", err)
	}
	expID, err := s.CreateExperiment(ctx, "search", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		r, err := s.CreateRun(ctx, CreateRunRequest{ExperimentID: expID, StartTime: int64(1000 + i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.LogBatch(ctx, r.Info.RunID, []Metric{{Key: "acc", Value: float64(i) / 10}}, []Param{{Key: "i", Value: fmt.Sprint(i)}}, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Info.RunID)
	}
	if _, err := s.CreateRun(ctx, CreateRunRequest{}); err != nil { // in Default, not searched
		t.Fatal(err)
	}
	page, err := s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{expID}, MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		for _, r := range page.Runs {
			got = append(got, r.Info.RunID)
		}
		if page.NextPageToken == "" {
			break
		}
		if page, err = s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{expID}, MaxResults: 2, PageToken: page.NextPageToken}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]} // newest start first
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paged search = %v, want %v", got, want)
	}
	page, err = s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{expID}, Filter: "metrics.acc >= 0.3", OrderBy: []string{"metrics.acc ASC"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != 2 || page.Runs[0].Info.RunID != ids[3] || page.Runs[1].Info.RunID != ids[4] {
		t.Errorf("filtered search returned %d runs", len(page.Runs))
	}
}

// copyFixture copies testdata/mlruns, a store as Python MLflow writes it,
// so that opening it does not touch the checked-in files.
func copyFixture(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "mlruns")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", "mlruns"))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestFileStoreReadsPythonMLflowStore(t *testing.T) {
	ctx := context.Background()
	root := copyFixture(t)
	s, err := NewFileStore(root)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.GetExperiment(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "0" || e.Name != "Default" || e.CreationTime != 1700000000000 {
		t.Errorf("experiment with an integer experiment_id = %+v", e)
	}
	const id = "5f1c3d0e8a9b4c7d9e0f1a2b3c4d5e6f"
	r, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantInfo := RunInfo{
		RunID: id, RunName: "python-run", ExperimentID: "0", UserID: "alice", Status: RunFinished,
		StartTime: 1700000000000, EndTime: 1700000009000,
		ArtifactURI:    "file:///home/alice/project/mlruns/0/" + id + "/artifacts",
		LifecycleStage: LifecycleActive,
	}
	if r.Info != wantInfo {
		t.Errorf("run info = %+v\nwant %+v", r.Info, wantInfo)
	}
	if m, _ := r.Metric("loss"); m.Value != 0.25 || m.Step != 2 || m.Timestamp != 1700000003000 {
		t.Errorf("latest loss = %+v", m)
	}
	if m, _ := r.Metric("grad_norm"); !math.IsInf(m.Value, 1) {
		t.Errorf("grad_norm = %+v", m)
	}
	hist, err := s.GetMetricHistory(ctx, id, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 4 || hist[0].Step != 0 || hist[0].Value != 0.9 || !math.IsNaN(hist[2].Value) {
		t.Errorf("history with a two-field line and nan = %+v", hist)
	}
	if v, _ := r.Param("lr"); v != "0.001" {
		t.Errorf("param lr = %q", v)
	}
	if len(r.Inputs) != 1 || r.Inputs[0].Dataset.Name != "iris" || r.Inputs[0].Dataset.Schema != "" ||
		r.Inputs[0].Dataset.Profile != `{"num_rows": 150}` || r.Inputs[0].Tags[0].Value != "training" {
		t.Errorf("inputs = %+v", r.Inputs)
	}
	// The folder without meta.yaml is not a run; the run is found.
	if _, err := ParseRunFilter(""); err == nil {
		page, err := s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{"0"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != 1 || page.Runs[0].Info.RunID != id {
			t.Errorf("search over the Python store found %d runs", len(page.Runs))
		}
	}
	// Logging to a Python-written run appends in MLflow's format.
	if err := s.LogBatch(ctx, id, []Metric{{Key: "loss", Value: 0.125, Timestamp: 1700000005000, Step: 3}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "0", id, "metrics", "loss")); !strings.HasSuffix(got, "1700000003000 0.25 2\n1700000005000 0.125 3\n") {
		t.Errorf("metric file after append = %q", got)
	}
	if err := s.LogBatch(ctx, id, nil, []Param{{Key: "lr", Value: "0.01"}}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("changing a Python-logged param: %v", err)
	}
}

// Deleting is done by MLflow's own tools (mlflow gc, the UI); the store
// must honour what they leave: lifecycle_stage deleted, experiments in
// .trash.
func TestFileStoreDeletedByMLflow(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	expID, err := s.CreateExperiment(ctx, "old", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.CreateRun(ctx, CreateRunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	inOld, err := s.CreateRun(ctx, CreateRunRequest{ExperimentID: expID})
	if err != nil {
		t.Fatal(err)
	}
	markDeleted := func(path string) {
		t.Helper()
		meta := readFile(t, path)
		meta = strings.Replace(meta, "lifecycle_stage: active", "lifecycle_stage: deleted", 1)
		if err := os.WriteFile(path, []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	markDeleted(filepath.Join(root, "0", gone.Info.RunID, "meta.yaml"))
	markDeleted(filepath.Join(root, expID, "meta.yaml"))
	if err := os.Rename(filepath.Join(root, expID), filepath.Join(root, ".trash", expID)); err != nil {
		t.Fatal(err)
	}

	if err := s.SetTag(ctx, gone.Info.RunID, "k", "v"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "must be in 'active' lifecycle_stage") {
		t.Errorf("SetTag on a deleted run: %v", err)
	}
	if r, err := s.GetRun(ctx, gone.Info.RunID); err != nil || r.Info.LifecycleStage != LifecycleDeleted {
		t.Errorf("GetRun of a deleted run: %+v, %v", r, err)
	}
	if r, err := s.GetRun(ctx, inOld.Info.RunID); err != nil || r.Info.ExperimentID != expID {
		t.Errorf("GetRun of a run in a trashed experiment: %+v, %v", r, err)
	}
	e, err := s.GetExperimentByName(ctx, "old")
	if err != nil || e.LifecycleStage != LifecycleDeleted {
		t.Errorf("GetExperimentByName of a deleted experiment: %+v, %v", e, err)
	}
	_, err = s.CreateExperiment(ctx, "old", "", nil)
	wantCode(t, err, CodeResourceAlreadyExists)
	if !strings.Contains(err.Error(), "deleted state") {
		t.Errorf("duplicate of a deleted experiment: %v", err)
	}
	if _, err := s.CreateRun(ctx, CreateRunRequest{ExperimentID: expID}); !errors.Is(err, ErrInvalid) {
		t.Errorf("CreateRun in a deleted experiment: %v", err)
	}

	for view, want := range map[ViewType]string{
		"":          live.Info.RunID,
		ActiveOnly:  live.Info.RunID,
		DeletedOnly: gone.Info.RunID,
	} {
		page, err := s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{"0"}, ViewType: view})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != 1 || page.Runs[0].Info.RunID != want {
			t.Errorf("view %q found %d runs", view, len(page.Runs))
		}
	}
	page, err := s.SearchRuns(ctx, SearchRunsRequest{ExperimentIDs: []string{"0"}, ViewType: AllRuns})
	if err != nil || len(page.Runs) != 2 {
		t.Errorf("view ALL: %d runs, %v", len(page.Runs), err)
	}
}
