package tracking_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/mlflowtest"
)

func TestParseModelsURI(t *testing.T) {
	for _, c := range []struct {
		uri                  string
		name, alias, version string
		wantErr              string
	}{
		{uri: "models:/nebras-support-bot@production", name: "nebras-support-bot", alias: "production"},
		{uri: "models:/bot/3", name: "bot", version: "3"},
		{uri: "models:/bot/007", name: "bot", version: "7"},
		{uri: "models:/bot/latest", name: "bot", version: "latest"},
		{uri: "models:/bot/Latest", name: "bot", version: "latest"},
		{uri: "models:/a@b@champion", name: "a@b", alias: "champion"},
		{uri: "models:/bot/Production", wantErr: "stages are not supported"},
		{uri: "models:/bot/0", wantErr: "not a version number"},
		{uri: "models:/bot/-1", wantErr: "not a version number"},
		{uri: "models:/bot", wantErr: "want models:/"},
		{uri: "models:/bot/", wantErr: "want models:/"},
		{uri: "models:/bot/1/extra", wantErr: "want models:/"},
		{uri: "models:/@prod", wantErr: "NAME@ALIAS"},
		{uri: "models:/bot@", wantErr: "NAME@ALIAS"},
		{uri: "models:/bot@prod/1", wantErr: "NAME@ALIAS"},
		{uri: "models://bot/1", wantErr: "want models:/"},
		{uri: "runs:/abc/model", wantErr: "want models:/"},
		{uri: "", wantErr: "want models:/"},
	} {
		name, alias, version, err := tracking.ParseModelsURI(c.uri)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseModelsURI(%q) error %v, want %q", c.uri, err, c.wantErr)
			}
			continue
		}
		if err != nil || name != c.name || alias != c.alias || version != c.version {
			t.Errorf("ParseModelsURI(%q) = %q, %q, %q, %v; want %q, %q, %q", c.uri, name, alias, version, err, c.name, c.alias, c.version)
		}
	}
}

// writeModel makes a small model directory named model under a fresh
// temporary directory.
func writeModel(t *testing.T, weights string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	for name, content := range map[string]string{
		"config.json":          `{"n_layer": 2}`,
		"model.safetensors":    weights,
		"tokenizer/merges.txt": "a b\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// register creates a model version with source; the registered model is
// created on first use.
func register(t *testing.T, s tracking.Store, name, source, runID string) *tracking.ModelVersion {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetRegisteredModel(ctx, name); errors.Is(err, tracking.ErrNotFound) {
		if _, err := s.CreateRegisteredModel(ctx, name, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	mv, err := s.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{Name: name, Source: source, RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	return mv
}

// logModel starts a run and logs dir as its artifact "model".
func logModel(t *testing.T, s tracking.Store, dir string) *tracking.Run {
	t.Helper()
	ctx := context.Background()
	run, err := tracking.StartRun(ctx, s, tracking.RunOptions{Experiment: "support-bot"})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := s.Artifacts(ctx, run.Info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "model" {
		t.Fatalf("logModel wants a directory named model, got %s", dir)
	}
	if err := repo.LogArtifact(ctx, dir, ""); err != nil {
		t.Fatal(err)
	}
	return run
}

func TestDownloadModelFileStore(t *testing.T) {
	ctx := context.Background()
	s, err := tracking.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const name = "nebras-support-bot"
	local := writeModel(t, "weights-v1")
	register(t, s, name, local, "")
	run := logModel(t, s, writeModel(t, "weights-v2"))
	register(t, s, name, "runs:/"+run.Info.RunID+"/model", run.Info.RunID)
	fileURI := writeModel(t, "weights-v3")
	register(t, s, name, "file://"+filepath.ToSlash(fileURI), "")
	if err := s.SetRegisteredModelAlias(ctx, name, "production", "1"); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()

	for _, c := range []struct {
		uri, version, weights string
		inPlace               string // the directory returned without a copy
	}{
		{"models:/" + name + "@production", "1", "weights-v1", local},
		{"models:/" + name + "/2", "2", "weights-v2", ""},
		{"models:/" + name + "/latest", "3", "weights-v3", fileURI},
	} {
		dir, mv, err := tracking.DownloadModel(ctx, s, c.uri, cache)
		if err != nil {
			t.Fatalf("%s: %v", c.uri, err)
		}
		if mv.Version != c.version || mv.Name != name {
			t.Errorf("%s resolved to %s/%s, want version %s", c.uri, mv.Name, mv.Version, c.version)
		}
		if got := readFile(t, filepath.Join(dir, "model.safetensors")); got != c.weights {
			t.Errorf("%s: weights %q, want %q", c.uri, got, c.weights)
		}
		if c.inPlace != "" && dir != c.inPlace {
			t.Errorf("%s: got %s, want the source %s itself", c.uri, dir, c.inPlace)
		}
		if strings.HasPrefix(dir, cache) {
			t.Errorf("%s: a local source was copied into the cache: %s", c.uri, dir)
		}
	}

	// Errors say what is missing.
	for _, c := range []struct {
		uri, want string
		is        func(error) bool
	}{
		{"models:/" + name + "@staging", `has no alias "staging" (it has production→v1)`, tracking.IsAliasNotFound},
		{"models:/no-such-model@production", `no registered model "no-such-model"`, tracking.IsAliasNotFound},
		{"models:/" + name + "/9", "has no version 9", func(err error) bool { return errors.Is(err, tracking.ErrNotFound) }},
		{"models:/no-such-model/latest", "", func(err error) bool { return errors.Is(err, tracking.ErrNotFound) }},
	} {
		_, _, err := tracking.DownloadModel(ctx, s, c.uri, cache)
		if err == nil || !strings.Contains(err.Error(), c.want) || !c.is(err) {
			t.Errorf("%s: error %v, want %q", c.uri, err, c.want)
		}
	}

	// A source that was deleted after registration.
	gone := writeModel(t, "gone")
	register(t, s, name, gone, "")
	os.RemoveAll(gone)
	if _, _, err := tracking.DownloadModel(ctx, s, "models:/"+name+"/4", cache); err == nil || !strings.Contains(err.Error(), "not readable on this machine") {
		t.Errorf("deleted source: %v", err)
	}
}

// artifactGets counts the artifact downloads and listings the server
// answered.
func artifactGets(srv *mlflowtest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "/mlflow-artifacts/artifacts") && r.Method == "GET" {
			n++
		}
	}
	return n
}

func TestDownloadModelREST(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, mlflowtest.Options{})
	c := newClient(t, srv, tracking.RESTConfig{})
	const name = "nebras-support-bot"
	run := logModel(t, c, writeModel(t, "weights-v1"))
	if !strings.HasPrefix(run.Info.ArtifactURI, "mlflow-artifacts:") {
		t.Fatalf("artifact root %s is not served by the proxy", run.Info.ArtifactURI)
	}
	register(t, c, name, run.Info.ArtifactURI+"/model", run.Info.RunID)
	run2 := logModel(t, c, writeModel(t, "weights-v2"))
	register(t, c, name, "runs:/"+run2.Info.RunID+"/model", run2.Info.RunID)
	if err := c.SetRegisteredModelAlias(ctx, name, "production", "2"); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()

	for _, c2 := range []struct{ uri, version, weights string }{
		{"models:/" + name + "/1", "1", "weights-v1"},
		{"models:/" + name + "@production", "2", "weights-v2"},
		{"models:/" + name + "/latest", "2", "weights-v2"},
	} {
		dir, mv, err := tracking.DownloadModel(ctx, c, c2.uri, cache)
		if err != nil {
			t.Fatalf("%s: %v", c2.uri, err)
		}
		if mv.Version != c2.version {
			t.Errorf("%s: version %s, want %s", c2.uri, mv.Version, c2.version)
		}
		if want := filepath.Join(cache, name, c2.version); dir != want {
			t.Errorf("%s: downloaded to %s, want %s", c2.uri, dir, want)
		}
		if got := readFile(t, filepath.Join(dir, "model.safetensors")); got != c2.weights {
			t.Errorf("%s: weights %q, want %q", c2.uri, got, c2.weights)
		}
		if got := readFile(t, filepath.Join(dir, "tokenizer", "merges.txt")); got != "a b\n" {
			t.Errorf("%s: tokenizer/merges.txt %q", c2.uri, got)
		}
	}

	// A complete copy is reused without asking the artifact proxy again.
	before := artifactGets(srv)
	dir, _, err := tracking.DownloadModel(ctx, c, "models:/"+name+"/1", cache)
	if err != nil {
		t.Fatal(err)
	}
	if n := artifactGets(srv) - before; n != 0 {
		t.Errorf("a cached version was downloaded again (%d artifact requests)", n)
	}
	// No temporary directories are left behind.
	entries, _ := os.ReadDir(filepath.Join(cache, name))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("leftover %s in the cache", e.Name())
		}
	}

	// A copy that came from another source (another server's version 1
	// of the same name) is replaced, not served.
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("other server"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+".source", []byte("http://elsewhere\nmlflow-artifacts:/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, _, err = tracking.DownloadModel(ctx, c, "models:/"+name+"/1", cache)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "model.safetensors")); got != "weights-v1" {
		t.Errorf("stale cached copy served: %q", got)
	}

	// A failed download leaves nothing a later call would trust.
	run3, err := tracking.StartRun(ctx, c, tracking.RunOptions{Experiment: "support-bot"})
	if err != nil {
		t.Fatal(err)
	}
	register(t, c, name, run3.Info.ArtifactURI+"/model", run3.Info.RunID) // nothing logged
	if _, _, err := tracking.DownloadModel(ctx, c, "models:/"+name+"/3", cache); err == nil || !strings.Contains(err.Error(), "holds no files") {
		t.Errorf("empty source: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, name, "3")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an empty download was kept in the cache: %v", err)
	}
}

func TestModelPointer(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, mlflowtest.Options{})
	c := newClient(t, srv, tracking.RESTConfig{})
	fs, err := tracking.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	model := writeModel(t, "big weights")
	ptrDir := filepath.Join(t.TempDir(), "model")
	p, err := tracking.WriteModelPointer(ptrDir, model)
	if err != nil {
		t.Fatal(err)
	}
	if p.Path != model || len(p.Files) != 3 || p.Files[0].Path != "config.json" || p.Files[2].Path != "tokenizer/merges.txt" || p.Files[1].Size != int64(len("big weights")) {
		t.Fatalf("pointer %+v", p)
	}
	back, err := tracking.ReadModelPointer(filepath.Join(ptrDir, tracking.ModelPointerFile))
	if err != nil || back.Path != p.Path || len(back.Files) != 3 || back.Files[1] != p.Files[1] {
		t.Fatalf("read back %+v, %v", back, err)
	}

	stores := []struct {
		name string
		s    tracking.Store
	}{{"rest", c}, {"file", fs}}
	for _, st := range stores {
		run := logModel(t, st.s, ptrDir)
		register(t, st.s, "big-bot", "runs:/"+run.Info.RunID+"/model", run.Info.RunID)
		dir, _, err := tracking.DownloadModel(ctx, st.s, "models:/big-bot/1", t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if dir != model {
			t.Errorf("%s: pointer led to %s, want %s", st.name, dir, model)
		}
	}

	weights := filepath.Join(model, "model.safetensors")
	for _, c2 := range []struct {
		name   string
		change func()
		want   string
	}{
		{"same size, other bytes", func() { os.WriteFile(weights, []byte("BIG weights"), 0o644) }, "model.safetensors changed: sha256"},
		{"other size", func() { os.WriteFile(weights, []byte("big weights, retrained"), 0o644) }, "model.safetensors changed: 22 bytes, the pointer says 11"},
		{"missing", func() { os.Remove(weights) }, "model.safetensors is missing"},
	} {
		c2.change()
		for _, st := range stores {
			_, _, err := tracking.DownloadModel(ctx, st.s, "models:/big-bot/1", t.TempDir())
			if err == nil || !strings.Contains(err.Error(), c2.want) {
				t.Errorf("%s, %s: error %v, want %q", st.name, c2.name, err, c2.want)
			}
		}
	}

	if _, err := tracking.WriteModelPointer(t.TempDir(), t.TempDir()); err == nil {
		t.Error("a pointer to an empty directory was written")
	}
	bad := filepath.Join(t.TempDir(), tracking.ModelPointerFile)
	for _, content := range []string{
		`{"path": "relative/model", "files": [{"path": "a", "sha256": "00", "size": 1}]}`,
		`{"path": "/abs/model", "files": []}`,
		`{"path": "/abs/model", "files": [{"path": "../etc/passwd", "sha256": "00", "size": 1}]}`,
		`{"path": "/abs/model", "files": [{"path": "a//b", "sha256": "00", "size": 1}]}`,
		`not json`,
	} {
		os.WriteFile(bad, []byte(content), 0o644)
		if _, err := tracking.ReadModelPointer(bad); err == nil {
			t.Errorf("pointer %s was accepted", content)
		}
	}
}

func TestPinModelURI(t *testing.T) {
	ctx := context.Background()
	s, err := tracking.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRegisteredModel(ctx, "bot", "", nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{Name: "bot", Source: "file:///nowhere"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetRegisteredModelAlias(ctx, "bot", "production", "2"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want, err string }{
		{"models:/bot@production", "models:/bot/2", ""},
		{"models:/bot/1", "models:/bot/1", ""},
		{"hf:openai-community/gpt2", "hf:openai-community/gpt2", ""},
		{"runs/ft/model", "runs/ft/model", ""},
		{"models:/bot@staging", "", "models:/bot@staging"},
		{"models:/", "", "want models:/"},
	} {
		got, err := tracking.PinModelURI(ctx, s, tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("PinModelURI(%q) = %q, %v; want %q, error containing %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
