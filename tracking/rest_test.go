package tracking_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/mlflowtest"
)

// newServer starts the strict test server over a fresh FileStore, handing
// out mlflow-artifacts: roots as `mlflow server --serve-artifacts` does.
func newServer(t *testing.T, opt mlflowtest.Options) *mlflowtest.Server {
	t.Helper()
	backend, err := tracking.NewFileStore(t.TempDir(), tracking.WithArtifactRoot("mlflow-artifacts:"))
	if err != nil {
		t.Fatal(err)
	}
	if opt.ArtifactDir == "" {
		opt.ArtifactDir = t.TempDir()
	}
	s := mlflowtest.New(backend, opt)
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, srv *mlflowtest.Server, cfg tracking.RESTConfig) *tracking.RESTStore {
	t.Helper()
	cfg.URI = srv.URL()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	c, err := tracking.NewRESTStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRESTRoundTrip drives every endpoint through the strict server in
// both int64 encodings, with unknown fields added to every response.
func TestRESTRoundTrip(t *testing.T) {
	for _, asString := range []bool{false, true} {
		t.Run(fmt.Sprintf("int64AsString=%v", asString), func(t *testing.T) {
			srv := newServer(t, mlflowtest.Options{Int64AsString: asString, ExtraResponseFields: true})
			exerciseStore(t, newClient(t, srv, tracking.RESTConfig{}))
		})
	}
}

// TestFileStoreRoundTrip runs the same script on the local store: callers
// must not be able to tell the two apart.
func TestFileStoreRoundTrip(t *testing.T) {
	s, err := tracking.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	exerciseStore(t, s)
}

func exerciseStore(t *testing.T, s tracking.Store) {
	ctx := context.Background()
	run, err := tracking.StartRun(ctx, s, tracking.RunOptions{Experiment: "support-bot", RunName: "lr-3e-4", Source: "nebras train"})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Info.RunID
	if run.Info.RunName != "lr-3e-4" || run.Info.Status != tracking.RunRunning || run.Info.StartTime == 0 {
		t.Fatalf("created run %+v", run.Info)
	}
	if v, _ := run.Tag("mlflow.source.type"); v != "LOCAL" {
		t.Errorf("mlflow.source.type %q", v)
	}
	exp, err := s.GetExperimentByName(ctx, "support-bot")
	if err != nil || exp.ID != run.Info.ExperimentID {
		t.Fatalf("experiment %+v, %v", exp, err)
	}
	if _, err := s.CreateExperiment(ctx, "support-bot", "", nil); !errors.Is(err, tracking.ErrAlreadyExists) {
		t.Errorf("duplicate experiment: %v", err)
	}
	if _, err := s.GetExperimentByName(ctx, "nope"); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("missing experiment: %v", err)
	}

	var metrics []tracking.Metric
	for step := range 5 {
		metrics = append(metrics, tracking.Metric{Key: "train_loss", Value: 3 - float64(step)*0.5, Timestamp: 1700000000000 + int64(step), Step: int64(step)})
	}
	metrics = append(metrics, tracking.Metric{Key: "grad_norm", Value: math.NaN(), Timestamp: 1700000000000, Step: 0})
	params := []tracking.Param{{Key: "lr", Value: "3e-4"}, {Key: "batch_size", Value: "8"}}
	if err := s.LogBatch(ctx, id, metrics, params, []tracking.Tag{{Key: "stage", Value: "train"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, id, nil, []tracking.Param{{Key: "lr", Value: "1e-3"}}, nil); !errors.Is(err, tracking.ErrInvalid) {
		t.Errorf("changing a param: %v", err)
	}
	if err := s.SetTag(ctx, id, "note", "first try"); err != nil {
		t.Fatal(err)
	}
	ds := tracking.DatasetInput{
		Tags:    []tracking.Tag{{Key: "mlflow.data.context", Value: "training"}},
		Dataset: tracking.Dataset{Name: "tickets", Digest: "1a2b3c4d", SourceType: "local", Source: `{"uri": "/data/tickets"}`, Schema: `{"columns": []}`},
	}
	if err := s.LogInputs(ctx, id, []tracking.DatasetInput{ds}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.GetMetricHistory(ctx, id, "train_loss")
	if err != nil || len(hist) != 5 || hist[4].Value != 1 || hist[4].Step != 4 || hist[4].Timestamp != 1700000000004 {
		t.Fatalf("history %+v, %v", hist, err)
	}
	info, err := s.UpdateRun(ctx, id, tracking.RunFinished, 1700000009999, "")
	if err != nil || info.Status != tracking.RunFinished || info.EndTime != 1700000009999 {
		t.Fatalf("update %+v, %v", info, err)
	}

	got, err := s.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := got.Metric("train_loss"); m.Value != 1 || m.Step != 4 {
		t.Errorf("latest train_loss %+v", m)
	}
	if m, ok := got.Metric("grad_norm"); !ok || !math.IsNaN(m.Value) {
		t.Errorf("NaN metric came back as %+v", m)
	}
	if v, _ := got.Param("batch_size"); v != "8" {
		t.Errorf("param batch_size %q", v)
	}
	if v, _ := got.Tag("note"); v != "first try" {
		t.Errorf("tag note %q", v)
	}
	if len(got.Inputs) != 1 || got.Inputs[0].Dataset != ds.Dataset {
		t.Errorf("inputs %+v", got.Inputs)
	}

	// A second run to search and order.
	run2, err := tracking.StartRun(ctx, s, tracking.RunOptions{Experiment: "support-bot", RunName: "lr-1e-3", ParentRunID: id})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := run2.Tag("mlflow.parentRunId"); v != id {
		t.Errorf("parent tag %q", v)
	}
	if err := s.LogBatch(ctx, run2.Info.RunID, []tracking.Metric{{Key: "train_loss", Value: 0.5, Timestamp: 1700000000000}}, []tracking.Param{{Key: "lr", Value: "1e-3"}}, nil); err != nil {
		t.Fatal(err)
	}
	page, err := s.SearchRuns(ctx, tracking.SearchRunsRequest{ExperimentIDs: []string{exp.ID}, Filter: "metrics.train_loss < 2", OrderBy: []string{"metrics.train_loss DESC"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range page.Runs {
		names = append(names, r.Info.RunName)
	}
	if !slices.Equal(names, []string{"lr-3e-4", "lr-1e-3"}) {
		t.Errorf("search order %v", names)
	}
	page, err = s.SearchRuns(ctx, tracking.SearchRunsRequest{ExperimentIDs: []string{exp.ID}, Filter: "params.lr = '1e-3'"})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].Info.RunID != run2.Info.RunID {
		t.Errorf("search by param: %v", err)
	}
	if _, err := s.SearchRuns(ctx, tracking.SearchRunsRequest{ExperimentIDs: []string{exp.ID}, Filter: "metrics.x <> 1"}); !errors.Is(err, tracking.ErrInvalid) {
		t.Errorf("bad filter: %v", err)
	}

	// Registry.
	const model = "nebras-support-bot"
	if _, err := s.CreateRegisteredModel(ctx, model, "support replies", nil); err != nil {
		t.Fatal(err)
	}
	for i, r := range []string{id, run2.Info.RunID} {
		mv, err := s.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{Name: model, Source: got.Info.ArtifactURI + "/model", RunID: r})
		if err != nil || mv.Version != fmt.Sprint(i+1) || mv.Status != tracking.ModelVersionReady {
			t.Fatalf("version %d: %+v, %v", i+1, mv, err)
		}
	}
	if err := s.SetRegisteredModelAlias(ctx, model, "production", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRegisteredModelAlias(ctx, model, "production", "2"); err != nil {
		t.Fatal(err)
	}
	mv, err := s.GetModelVersionByAlias(ctx, model, "production")
	if err != nil || mv.Version != "2" || !slices.Contains(mv.Aliases, "production") {
		t.Fatalf("alias moved to %+v, %v", mv, err)
	}
	for _, value := range []string{"first", "second"} {
		if err := s.SetModelVersionTag(ctx, model, "2", "nebras.promoted_by", value); err != nil {
			t.Fatal(err)
		}
	}
	if mv, err := s.GetModelVersion(ctx, model, "2"); err != nil || !slices.Contains(mv.Tags, tracking.Tag{Key: "nebras.promoted_by", Value: "second"}) || len(mv.Tags) != 1 {
		t.Errorf("version tags after set-tag twice: %+v, %v", mv, err)
	}
	if err := s.SetModelVersionTag(ctx, model, "9", "k", "v"); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("tag on a missing version: %v", err)
	}
	if err := s.SetModelVersionTag(ctx, model, "2", "../k", "v"); !errors.Is(err, tracking.ErrInvalid) {
		t.Errorf("tag key leaving the tags folder: %v", err)
	}
	uri, err := s.GetModelVersionDownloadURI(ctx, model, "1")
	if err != nil || uri != got.Info.ArtifactURI+"/model" {
		t.Errorf("download URI %q, %v", uri, err)
	}
	if mv, err := s.TransitionModelVersionStage(ctx, model, "2", tracking.StageProduction, true); err != nil || mv.CurrentStage != tracking.StageProduction {
		t.Errorf("transition: %+v, %v", mv, err)
	}
	rm, err := s.GetRegisteredModel(ctx, model)
	if err != nil || len(rm.Aliases) != 1 || rm.Aliases[0] != (tracking.Alias{Alias: "production", Version: "2"}) {
		t.Errorf("registered model %+v, %v", rm, err)
	}
	vp, err := s.SearchModelVersions(ctx, tracking.SearchModelVersionsRequest{Filter: fmt.Sprintf("run_id = '%s'", run2.Info.RunID)})
	if err != nil || len(vp.ModelVersions) != 1 || vp.ModelVersions[0].Version != "2" {
		t.Errorf("search versions: %+v, %v", vp, err)
	}
	if err := s.DeleteRegisteredModelAlias(ctx, model, "production"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetModelVersionByAlias(ctx, model, "production"); !tracking.IsAliasNotFound(err) {
		t.Errorf("deleted alias: %v", err)
	}
	if _, err := s.GetModelVersionByAlias(ctx, "no-such-model", "production"); !tracking.IsAliasNotFound(err) {
		t.Errorf("alias of a missing model: %v", err)
	}
	if _, err := s.GetModelVersion(ctx, model, "1"); tracking.IsAliasNotFound(err) {
		t.Errorf("an existing version reads as a missing alias: %v", err)
	}
	if _, err := s.GetModelVersion(ctx, model, "9"); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("missing version: %v", err)
	}

	// Artifacts, wherever the store keeps them.
	repo, err := s.Artifacts(ctx, got.Info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	model1 := filepath.Join(dir, "model")
	os.MkdirAll(filepath.Join(model1, "sub"), 0o755)
	os.WriteFile(filepath.Join(model1, "config.json"), []byte(`{"n_layer": 2}`), 0o644)
	os.WriteFile(filepath.Join(model1, "sub", "w.bin"), []byte{1, 2, 3}, 0o644)
	if err := repo.LogArtifact(ctx, model1, ""); err != nil {
		t.Fatal(err)
	}
	if err := repo.Put(ctx, "notes/card.md", strings.NewReader("# card")); err != nil {
		t.Fatal(err)
	}
	list, err := repo.List(ctx, "model")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0] != (tracking.FileInfo{Path: "model/config.json", FileSize: 14}) || list[1].Path != "model/sub" || !list[1].IsDir {
		t.Errorf("list %+v", list)
	}
	out := t.TempDir()
	p, err := repo.Download(ctx, "model", out)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(p, "sub", "w.bin")); !bytes.Equal(b, []byte{1, 2, 3}) {
		t.Errorf("downloaded w.bin %v", b)
	}
	p, err = repo.Download(ctx, "notes/card.md", out)
	if b, _ := os.ReadFile(p); err != nil || string(b) != "# card" {
		t.Errorf("downloaded card %q, %v", b, err)
	}
	if err := repo.Put(ctx, "../escape", strings.NewReader("x")); err == nil {
		t.Error("an artifact path leaving the root was accepted")
	}
}

func TestRESTLogBatchSplitPassesStrictLimits(t *testing.T) {
	srv := newServer(t, mlflowtest.Options{})
	c := newClient(t, srv, tracking.RESTConfig{})
	ctx := context.Background()
	run, err := tracking.StartRun(ctx, c, tracking.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var metrics []tracking.Metric
	for i := range 2600 {
		metrics = append(metrics, tracking.Metric{Key: "loss", Value: float64(i), Timestamp: 1, Step: int64(i)})
	}
	var params []tracking.Param
	for i := range 230 {
		params = append(params, tracking.Param{Key: fmt.Sprintf("p%03d", i), Value: strings.Repeat("x", 5990)})
	}
	params = append(params, tracking.Param{Key: "huge", Value: strings.Repeat("y", 9000)})
	// Unsplit, the strict server refuses the request, as MLflow does.
	if err := c.LogBatch(ctx, run.Info.RunID, metrics, nil, nil); !errors.Is(err, tracking.ErrInvalid) {
		t.Fatalf("2600 metrics in one request: %v", err)
	}
	rep, err := tracking.LogBatchSplit(ctx, c, run.Info.RunID, metrics, params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Truncated) != 1 || !strings.Contains(rep.Truncated[0], "huge") {
		t.Errorf("truncated %q", rep.Truncated)
	}
	hist, err := c.GetMetricHistory(ctx, run.Info.RunID, "loss")
	if err != nil || len(hist) != 2600 {
		t.Fatalf("history %d, %v", len(hist), err)
	}
	got, err := c.GetRun(ctx, run.Info.RunID)
	if err != nil || len(got.Data.Params) != 231 {
		t.Fatalf("%d params, %v", len(got.Data.Params), err)
	}
	if v, _ := got.Param("huge"); len(v) != tracking.MaxParamValueLength {
		t.Errorf("huge param %d characters", len(v))
	}
	n := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "runs/log-batch") && r.Status == http.StatusOK {
			n++
		}
	}
	if n != rep.Requests || n < 4 {
		t.Errorf("%d log-batch requests accepted, report says %d", n, rep.Requests)
	}
}

func TestRESTRetriesTransientFailures(t *testing.T) {
	srv := newServer(t, mlflowtest.Options{})
	srv.SetRetryAfter(0)
	c := newClient(t, srv, tracking.RESTConfig{MaxRetries: 3})
	ctx := context.Background()
	for _, status := range []int{429, 500, 503} {
		srv.FailNext(2, status)
		if _, err := tracking.GetOrCreateExperiment(ctx, c, "retry"); err != nil {
			t.Fatalf("after two %d answers: %v", status, err)
		}
	}
	srv.FailNext(10, 503)
	_, err := c.GetExperimentByName(ctx, "retry")
	var me *tracking.Error
	if !errors.As(err, &me) || me.HTTPStatus != 503 || !tracking.Retryable(err) {
		t.Fatalf("persistent 503: %v", err)
	}
	srv.FailNext(0, 0)
	// 4xx is the caller's mistake: not retried.
	before := len(srv.Requests())
	if _, err := c.GetRun(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err, tracking.ErrNotFound) || tracking.Retryable(err) {
		t.Fatalf("missing run: %v", err)
	}
	if n := len(srv.Requests()) - before; n != 1 {
		t.Errorf("a 404 was sent %d times", n)
	}
}

func TestRESTTimeoutIsRetryable(t *testing.T) {
	srv := newServer(t, mlflowtest.Options{})
	srv.SetFault(func(r *http.Request) (int, time.Duration, bool) {
		return 0, time.Minute, strings.HasSuffix(r.URL.Path, "get-by-name")
	})
	c := newClient(t, srv, tracking.RESTConfig{Timeout: 50 * time.Millisecond, MaxRetries: -1})
	_, err := c.GetExperimentByName(context.Background(), "x")
	if err == nil || !tracking.Retryable(err) || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("timeout: %v", err)
	}
	// The caller's own deadline is not the server's fault.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	c2 := newClient(t, srv, tracking.RESTConfig{MaxRetries: -1})
	if _, err := c2.GetExperimentByName(ctx, "x"); err == nil || tracking.Retryable(err) {
		t.Fatalf("caller deadline: %v", err)
	}
}

func TestRESTAuth(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, mlflowtest.Options{Token: "s3cret"})
	if _, err := newClient(t, srv, tracking.RESTConfig{Token: "s3cret"}).GetExperiment(ctx, "0"); err != nil {
		t.Fatalf("right token: %v", err)
	}
	_, err := newClient(t, srv, tracking.RESTConfig{Token: "wrong"}).GetExperiment(ctx, "0")
	var me *tracking.Error
	if !errors.As(err, &me) || me.HTTPStatus != 401 || tracking.Retryable(err) {
		t.Fatalf("wrong token: %v", err)
	}
	basic := newServer(t, mlflowtest.Options{Username: "ml", Password: "pw"})
	if _, err := newClient(t, basic, tracking.RESTConfig{Username: "ml", Password: "pw"}).GetExperiment(ctx, "0"); err != nil {
		t.Fatalf("basic auth: %v", err)
	}
	if _, err := tracking.NewRESTStore(tracking.RESTConfig{URI: basic.URL(), Username: "ml"}); err == nil {
		t.Error("a username without a password was accepted")
	}
}

func TestRESTMultipartUpload(t *testing.T) {
	ctx := context.Background()
	data := make([]byte, 2500)
	rand.Read(data)
	local := filepath.Join(t.TempDir(), "model.safetensors")
	os.WriteFile(local, data, 0o644)
	for _, multipart := range []bool{true, false} {
		t.Run(fmt.Sprintf("server multipart=%v", multipart), func(t *testing.T) {
			srv := newServer(t, mlflowtest.Options{Multipart: multipart})
			c := newClient(t, srv, tracking.RESTConfig{MultipartMinSize: 1000, MultipartChunkSize: 1000})
			run, err := tracking.StartRun(ctx, c, tracking.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			repo, err := c.Artifacts(ctx, run.Info.ArtifactURI)
			if err != nil {
				t.Fatal(err)
			}
			if err := repo.LogArtifact(ctx, local, "model"); err != nil {
				t.Fatal(err)
			}
			p, err := repo.Download(ctx, "model/model.safetensors", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
				t.Fatalf("downloaded %d bytes, differ from the %d uploaded", len(b), len(data))
			}
			parts := 0
			for _, r := range srv.Requests() {
				if strings.Contains(r.Path, "/_presigned/") {
					parts++
				}
			}
			if want := map[bool]int{true: 3, false: 0}[multipart]; parts != want {
				t.Errorf("%d part uploads, want %d", parts, want)
			}
		})
	}
}

func TestOpenPicksTheStore(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(t.TempDir()) // "" and bare words are relative to the working directory
	for _, c := range []struct {
		uri  string
		want string // type name, or an error fragment
	}{
		{"", "*tracking.FileStore"},
		{dir, "*tracking.FileStore"},
		{"file://" + filepath.ToSlash(dir), "*tracking.FileStore"},
		{"http://127.0.0.1:5000", "*tracking.RESTStore"},
		{"https://mlflow.example.com/prefix", "*tracking.RESTStore"},
		{"postgresql://db/mlflow", "not supported"},
		{"databricks", "not supported"},
		{"runs-here", "*tracking.FileStore"}, // any other bare word is a relative path, as in MLflow
		{"http://user:pw@host", "credentials"},
	} {
		s, err := tracking.Open(tracking.Config{TrackingURI: c.uri})
		got := fmt.Sprintf("%T", s)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("Open(%q) = %s, want %s", c.uri, got, c.want)
		}
	}
}
