package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	commit1 = "1111111111111111111111111111111111111111"
	commit2 = "2222222222222222222222222222222222222222"
	token1  = "hf_secret"
)

type fakeFile struct {
	content []byte
	lfs     bool
}

// gitBlobID is the id git gives content, which the hub sends as the ETag of
// a file stored in git.
func gitBlobID(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func sha256Hex(content []byte) string {
	s := sha256.Sum256(content)
	return hex.EncodeToString(s[:])
}

// etag is the name of the blob that holds f in the cache.
func (f fakeFile) etag() string {
	if f.lfs {
		return sha256Hex(f.content)
	}
	return gitBlobID(f.content)
}

type request struct {
	server, method, path, auth, rng string
}

// fakeHub serves the hub's resolve URLs and, for LFS files, redirects to a
// second server standing for the CDN, as huggingface.co does.
type fakeHub struct {
	hub, cdn *httptest.Server
	branches map[string]string              // branch or tag → commit
	commits  map[string]map[string]fakeFile // commit → file name → file
	renamed  map[string]string              // old repo id → new
	repo     string                         // the one repository
	token    string                         // required, if not empty
	gated    bool

	mu      sync.Mutex
	log     []request
	status  int  // if not 0, every hub answer
	corrupt bool // the CDN flips a byte
	noRange bool // the CDN ignores Range
	refuse  bool // the CDN refuses any Range with 416
	// lateRedirect makes the hub answer HEAD for an LFS file itself and
	// redirect only the GET, as some mirrors do.
	lateRedirect bool
	evil         http.Header
	stall        bool // the CDN sends half the file, then waits for the client to leave
}

func newFakeHub(t *testing.T) *fakeHub {
	model := make([]byte, 3000)
	for i := range model {
		model[i] = byte(i * 7)
	}
	h := &fakeHub{
		repo:     "acme/tiny",
		branches: map[string]string{"main": commit1, "refs/pr/1": commit2},
		commits: map[string]map[string]fakeFile{
			commit1: {
				"config.json":          {content: []byte(`{"n_layer": 2}`)},
				"model.safetensors":    {content: model, lfs: true},
				"tokenizer/vocab.json": {content: []byte(`{"a": 0}`)},
			},
			commit2: {
				"config.json": {content: []byte(`{"n_layer": 3}`)},
			},
		},
		renamed: map[string]string{"tiny-old": "acme/tiny"},
	}
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.hub.Close)
	t.Cleanup(h.cdn.Close)
	return h
}

func (h *fakeHub) file(commit, name string) fakeFile { return h.commits[commit][name] }

func (h *fakeHub) record(server string, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, request{server, r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Range")})
}

func (h *fakeHub) requests() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

func (h *fakeHub) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = nil
}

func (h *fakeHub) count(server, method string) int {
	n := 0
	for _, r := range h.requests() {
		if r.server == server && r.method == method {
			n++
		}
	}
	return n
}

func hubError(w http.ResponseWriter, code int, errCode string) {
	if errCode != "" {
		w.Header().Set("X-Error-Code", errCode)
	}
	w.Header().Set("X-Error-Message", errCode+" from the fake hub")
	w.WriteHeader(code)
}

func (h *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.record("hub", r)
	h.mu.Lock()
	status, evil := h.status, h.evil
	h.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	repo, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/resolve/")
	if !ok {
		hubError(w, http.StatusNotFound, "")
		return
	}
	escRev, escName, _ := strings.Cut(rest, "/")
	rev, err1 := url.PathUnescape(escRev)
	name, err2 := url.PathUnescape(escName)
	if err1 != nil || err2 != nil {
		hubError(w, http.StatusBadRequest, "")
		return
	}
	if to, ok := h.renamed[repo]; ok {
		w.Header().Set("Location", "/"+to+"/resolve/"+escRev+"/"+escName)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	authorized := h.token == "" || r.Header.Get("Authorization") == "Bearer "+h.token
	switch {
	case repo != h.repo && !authorized:
		// The hub does not tell a missing repository from a private one.
		hubError(w, http.StatusUnauthorized, "RepoNotFound")
		return
	case repo != h.repo:
		hubError(w, http.StatusNotFound, "RepoNotFound")
		return
	case !authorized:
		hubError(w, http.StatusUnauthorized, "")
		return
	case h.gated:
		hubError(w, http.StatusForbidden, "GatedRepo")
		return
	}
	commit, ok := h.branches[rev]
	if _, isCommit := h.commits[rev]; isCommit {
		commit, ok = rev, true
	}
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	f, ok := h.commits[commit][name]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound")
		return
	}
	if f.lfs && h.lateRedirect && r.Method == http.MethodHead {
		w.Header().Set("ETag", `"`+f.etag()+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
		return
	}
	if f.lfs {
		pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", f.etag(), len(f.content))
		w.Header().Set("ETag", `"`+gitBlobID([]byte(pointer))+`"`)
		w.Header().Set("X-Linked-Etag", `"`+f.etag()+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.content)))
		w.Header().Set("Location", h.cdn.URL+"/blobs/"+f.etag())
		for k, v := range evil {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+f.etag()+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
	for k, v := range evil {
		w.Header()[k] = v
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(f.content)
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record("cdn", r)
	sha := strings.TrimPrefix(r.URL.Path, "/blobs/")
	var content []byte
	for _, files := range h.commits {
		for _, f := range files {
			if f.lfs && f.etag() == sha {
				content = f.content
			}
		}
	}
	if content == nil {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	corrupt, noRange, refuse, stall := h.corrupt, h.noRange, h.refuse, h.stall
	h.mu.Unlock()
	if refuse && r.Header.Get("Range") != "" {
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	if corrupt {
		content = slices.Clone(content)
		content[len(content)/2] ^= 1
	}
	start := 0
	if rng := r.Header.Get("Range"); rng != "" && !noRange {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rng, "bytes="), "-"))
		if err != nil || n >= len(content) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(content)-1, len(content)))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(content)-start))
	if start > 0 {
		w.WriteHeader(http.StatusPartialContent)
	}
	if r.Method == http.MethodHead {
		return
	}
	if stall {
		w.Write(content[start : start+(len(content)-start)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	w.Write(content[start:])
}

func (h *fakeHub) client(t *testing.T) *Client {
	return &Client{Endpoint: h.hub.URL, Token: token1, CacheDir: t.TempDir()}
}

var (
	tinyRequired = []string{"config.json", "model.safetensors", "tokenizer/vocab.json"}
	tinyOptional = []string{"generation_config.json"}
)

func TestSnapshotLayout(t *testing.T) {
	h := newFakeHub(t)
	h.token = token1
	c := h.client(t)
	dir, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, tinyRequired, tinyOptional)
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(c.CacheDir, "models--acme--tiny")
	if want := filepath.Join(repoDir, "snapshots", commit1); dir != want {
		t.Errorf("Snapshot = %s, want %s", dir, want)
	}
	var wantBlobs []string
	for _, name := range tinyRequired {
		f := h.file(commit1, name)
		wantBlobs = append(wantBlobs, f.etag())
		ptr := filepath.Join(dir, filepath.FromSlash(name))
		target, err := os.Readlink(ptr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		up := strings.Repeat("../", strings.Count(name, "/")+2)
		if want := filepath.FromSlash(up + "blobs/" + f.etag()); target != want {
			t.Errorf("%s links to %s, want %s", name, target, want)
		}
		got, err := os.ReadFile(ptr)
		if err != nil || string(got) != string(f.content) {
			t.Errorf("%s holds %d bytes (err %v), want the file's %d", name, len(got), err, len(f.content))
		}
	}
	slices.Sort(wantBlobs)
	if got := dirNames(t, filepath.Join(repoDir, "blobs")); !slices.Equal(got, wantBlobs) {
		t.Errorf("blobs = %q, want %q", got, wantBlobs)
	}
	if got := dirNames(t, repoDir); !slices.Equal(got, []string{".no_exist", "blobs", "refs", "snapshots"}) {
		t.Errorf("repository folder holds %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(b) != commit1 {
		t.Errorf("refs/main = %q (err %v), want %q", b, err, commit1)
	}
	if !isFile(filepath.Join(repoDir, ".no_exist", commit1, "generation_config.json")) {
		t.Error("missing optional file not recorded in .no_exist")
	}
	for _, r := range h.requests() {
		if want := map[string]string{"hub": "Bearer " + token1, "cdn": ""}[r.server]; r.auth != want {
			t.Errorf("%s %s %s: Authorization %q, want %q", r.server, r.method, r.path, r.auth, want)
		}
	}
	if n := h.count("cdn", http.MethodGet); n != 1 {
		t.Errorf("CDN served %d GETs, want 1", n)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSnapshotSecondCallDownloadsNothing(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	ref := Ref{Repo: "acme/tiny", Revision: "main"}
	first, err := c.Snapshot(context.Background(), ref, tinyRequired, tinyOptional)
	if err != nil {
		t.Fatal(err)
	}
	h.reset()
	second, err := c.Snapshot(context.Background(), ref, tinyRequired, tinyOptional)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("second Snapshot = %s, want %s", second, first)
	}
	if n := h.count("hub", http.MethodGet) + h.count("cdn", http.MethodGet); n != 0 {
		t.Errorf("second Snapshot made %d GETs, want 0", n)
	}
	// A branch may have moved, so it is checked each time.
	if n := h.count("hub", http.MethodHead); n != len(tinyRequired)+len(tinyOptional) {
		t.Errorf("second Snapshot made %d HEADs, want %d", n, len(tinyRequired)+len(tinyOptional))
	}
}

func TestSnapshotBranchMoves(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	ref := Ref{Repo: "acme/tiny"}
	if _, err := c.Snapshot(context.Background(), ref, []string{"config.json"}, nil); err != nil {
		t.Fatal(err)
	}
	h.branches["main"] = commit2
	dir, err := c.Snapshot(context.Background(), ref, []string{"config.json"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != commit2 {
		t.Errorf("Snapshot after main moved = %s, want commit %s", dir, commit2)
	}
	if b, _ := os.ReadFile(filepath.Join(c.CacheDir, "models--acme--tiny", "refs", "main")); string(b) != commit2 {
		t.Errorf("refs/main = %q, want %q", b, commit2)
	}
}

func TestSnapshotPinnedCommit(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	ref := Ref{Repo: "acme/tiny", Revision: commit1}
	dir, err := c.Snapshot(context.Background(), ref, tinyRequired, tinyOptional)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != commit1 {
		t.Errorf("Snapshot = %s, want commit %s", dir, commit1)
	}
	if _, err := os.Stat(filepath.Join(c.CacheDir, "models--acme--tiny", "refs")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refs written for a commit revision (stat: %v)", err)
	}
	h.reset()
	if _, err := c.Snapshot(context.Background(), ref, tinyRequired, tinyOptional); err != nil {
		t.Fatal(err)
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("second Snapshot of a cached commit made %d requests, want 0", n)
	}
}

func TestSnapshotEscapedRevision(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	dir, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny", Revision: "refs/pr/1"}, []string{"config.json"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != commit2 {
		t.Errorf("Snapshot = %s, want commit %s", dir, commit2)
	}
	if r := h.requests()[0]; r.path != "/acme/tiny/resolve/refs%2Fpr%2F1/config.json" {
		t.Errorf("first request for %s, want the revision escaped", r.path)
	}
	if b, _ := os.ReadFile(filepath.Join(c.CacheDir, "models--acme--tiny", "refs", "refs", "pr", "1")); string(b) != commit2 {
		t.Errorf("refs/refs/pr/1 = %q, want %q", b, commit2)
	}
}

func TestSnapshotRenamedRepo(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	dir, err := c.Snapshot(context.Background(), Ref{Repo: "tiny-old"}, tinyRequired, nil)
	if err != nil {
		t.Fatal(err)
	}
	// huggingface_hub files a repository under the id it was asked for.
	if want := filepath.Join(c.CacheDir, "models--tiny-old", "snapshots", commit1); dir != want {
		t.Errorf("Snapshot = %s, want %s", dir, want)
	}
}

func TestSnapshotOffline(t *testing.T) {
	h := newFakeHub(t)
	online := h.client(t)
	ref := Ref{Repo: "acme/tiny"}
	want, err := online.Snapshot(context.Background(), ref, tinyRequired, tinyOptional)
	if err != nil {
		t.Fatal(err)
	}
	h.reset()
	offline := *online
	offline.Offline = true
	got, err := offline.Snapshot(context.Background(), ref, tinyRequired, tinyOptional)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("offline Snapshot = %s, want %s", got, want)
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("offline Snapshot made %d requests, want 0", n)
	}

	empty := t.TempDir()
	tests := []struct {
		name     string
		cacheDir string
		ref      Ref
		required []string
		want     string
	}{
		{"empty cache", empty, ref, tinyRequired, "hub: hf:acme/tiny: offline (HF_HUB_OFFLINE) and the cache " + filepath.Join(empty, "models--acme--tiny") + ` has no record of revision "main"`},
		{"file not cached", online.CacheDir, ref, []string{"config.json", "other.bin"}, "lacks other.bin"},
		{"commit not cached", online.CacheDir, Ref{Repo: "acme/tiny", Revision: commit2}, []string{"config.json"}, "lacks config.json"},
	}
	for _, tt := range tests {
		c := offline
		c.CacheDir = tt.cacheDir
		_, err := c.Snapshot(context.Background(), tt.ref, tt.required, nil)
		checkErr(t, tt.name, err, tt.want)
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("offline Snapshot made %d requests, want 0", n)
	}
}

func TestSnapshotHubDown(t *testing.T) {
	h := newFakeHub(t)
	online := h.client(t)
	ref := Ref{Repo: "acme/tiny"}
	want, err := online.Snapshot(context.Background(), ref, tinyRequired, tinyOptional)
	if err != nil {
		t.Fatal(err)
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	tests := []struct {
		name     string
		endpoint string
		status   int
		cacheDir string
		want     string // "" for success
	}{
		{"connection refused, cached", gone.URL, 0, online.CacheDir, ""},
		{"connection refused, not cached", gone.URL, 0, t.TempDir(), `hub unreachable (Head "` + gone.URL},
		{"503, cached", h.hub.URL, http.StatusServiceUnavailable, online.CacheDir, ""},
		{"503, not cached", h.hub.URL, http.StatusServiceUnavailable, t.TempDir(), "hub answered 503 Service Unavailable) and the cache"},
	}
	for _, tt := range tests {
		h.mu.Lock()
		h.status = tt.status
		h.mu.Unlock()
		c := *online
		c.Endpoint, c.CacheDir = tt.endpoint, tt.cacheDir
		got, err := c.Snapshot(context.Background(), ref, tinyRequired, tinyOptional)
		if tt.want != "" {
			checkErr(t, tt.name, err, tt.want)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
		} else if got != want {
			t.Errorf("%s: Snapshot = %s, want %s", tt.name, got, want)
		}
	}
}

func TestSnapshotSHA256Mismatch(t *testing.T) {
	h := newFakeHub(t)
	h.corrupt = true
	c := h.client(t)
	_, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, tinyRequired, nil)
	checkErr(t, "corrupt download", err, "model.safetensors: downloaded bytes have sha256")
	sha := h.file(commit1, "model.safetensors").etag()
	blobs := filepath.Join(c.CacheDir, "models--acme--tiny", "blobs")
	for _, name := range []string{sha, sha + ".incomplete"} {
		if _, err := os.Stat(filepath.Join(blobs, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("blobs/%s exists after a refused download (stat: %v)", name, err)
		}
	}
	// The next attempt, with the CDN fixed, succeeds.
	h.mu.Lock()
	h.corrupt = false
	h.mu.Unlock()
	if _, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, tinyRequired, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotHTTPErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*fakeHub, *Client)
		ref      Ref
		required []string
		want     string
	}{
		{"401 without token", func(h *fakeHub, c *Client) { h.token = token1; c.Token = "" }, Ref{Repo: "acme/tiny"}, tinyRequired,
			"hub: hf:acme/tiny: config.json: unauthorized (401): the repository is private, gated or does not exist; set HF_TOKEN"},
		{"401 with wrong token", func(h *fakeHub, c *Client) { h.token = "other" }, Ref{Repo: "acme/tiny"}, tinyRequired,
			"unauthorized (401): the token was refused"},
		{"private or missing repo", func(h *fakeHub, c *Client) { h.token = token1; c.Token = "" }, Ref{Repo: "acme/nope"}, tinyRequired,
			"hub: hf:acme/nope: config.json: unauthorized (401)"},
		{"missing repo", nil, Ref{Repo: "acme/nope"}, tinyRequired,
			"hub: hf:acme/nope: config.json: repository not found (404)"},
		{"gated", func(h *fakeHub, c *Client) { h.gated = true }, Ref{Repo: "acme/tiny"}, tinyRequired,
			"gated repository (403): accept its conditions on the hub, then set HF_TOKEN"},
		{"missing revision", nil, Ref{Repo: "acme/tiny", Revision: "v9"}, tinyRequired,
			`hub: hf:acme/tiny@v9: config.json: revision "v9" not found (404); hub says "RevisionNotFound from the fake hub"`},
		{"missing required file", nil, Ref{Repo: "acme/tiny"}, []string{"config.json", "missing.bin"},
			"hub: hf:acme/tiny: missing.bin: file not found in the repository (404)"},
		{"bad file name", nil, Ref{Repo: "acme/tiny"}, []string{"../config.json"},
			`hub: hf:acme/tiny: file name "../config.json" is not a clean relative path`},
		{"bad ref", nil, Ref{Repo: "acme/tiny/x"}, tinyRequired,
			`has more than one '/'`},
	}
	for _, tt := range tests {
		h := newFakeHub(t)
		c := h.client(t)
		if tt.setup != nil {
			tt.setup(h, c)
		}
		_, err := c.Snapshot(context.Background(), tt.ref, tt.required, nil)
		checkErr(t, tt.name, err, tt.want)
	}
}

// TestSnapshotHostileHub checks that answers which would put files outside
// the cache are refused.
func TestSnapshotHostileHub(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"commit escapes", http.Header{"X-Repo-Commit": {"../../../etc"}}, `X-Repo-Commit "../../../etc" is not a commit hash`},
		{"no commit", http.Header{"X-Repo-Commit": {""}}, "no X-Repo-Commit header"},
		{"etag escapes", http.Header{"Etag": {`"../../x"`}}, `ETag "\"../../x\"" is not a blob name`},
		{"etag dotted", http.Header{"Etag": {`"abc.incomplete"`}}, `is not a blob name`},
		{"no etag", http.Header{"Etag": {""}}, "no ETag"},
	}
	for _, tt := range tests {
		h := newFakeHub(t)
		h.evil = tt.header
		c := h.client(t)
		_, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, []string{"config.json"}, nil)
		checkErr(t, tt.name, err, tt.want)
	}
}

func TestSnapshotResume(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*fakeHub)
		wantRanges []string
	}{
		{"range", func(*fakeHub) {}, []string{"bytes=1000-"}},
		{"range ignored", func(h *fakeHub) { h.noRange = true }, []string{"bytes=1000-"}},
		{"range refused", func(h *fakeHub) { h.refuse = true }, []string{"bytes=1000-", ""}},
	}
	for _, tt := range tests {
		h := newFakeHub(t)
		tt.setup(h)
		c := h.client(t)
		model := h.file(commit1, "model.safetensors")
		blobs := filepath.Join(c.CacheDir, "models--acme--tiny", "blobs")
		if err := os.MkdirAll(blobs, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(blobs, model.etag()+".incomplete"), model.content[:1000], 0o666); err != nil {
			t.Fatal(err)
		}
		var last int64
		c.Progress = func(file string, done, total int64) {
			if file == "model.safetensors" && total == int64(len(model.content)) {
				last = done
			}
		}
		dir, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, []string{"model.safetensors"}, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil || string(got) != string(model.content) {
			t.Errorf("%s: resumed file holds %d bytes (err %v), want the model", tt.name, len(got), err)
		}
		if last != int64(len(model.content)) {
			t.Errorf("%s: last progress %d, want %d", tt.name, last, len(model.content))
		}
		var ranges []string
		for _, r := range h.requests() {
			if r.server == "cdn" {
				ranges = append(ranges, r.rng)
			}
		}
		if !slices.Equal(ranges, tt.wantRanges) {
			t.Errorf("%s: CDN Range headers %q, want %q", tt.name, ranges, tt.wantRanges)
		}
	}
}

// TestSnapshotRedirectDropsToken checks that a redirect on GET does not carry
// the token to another host, which Go's client would do for another port of
// the same host.
func TestSnapshotRedirectDropsToken(t *testing.T) {
	h := newFakeHub(t)
	h.lateRedirect = true
	c := h.client(t)
	if _, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, tinyRequired, nil); err != nil {
		t.Fatal(err)
	}
	if n := h.count("hub", http.MethodGet); n != len(tinyRequired) {
		t.Errorf("hub served %d GETs, want %d", n, len(tinyRequired))
	}
	for _, r := range h.requests() {
		if want := map[string]string{"hub": "Bearer " + token1, "cdn": ""}[r.server]; r.auth != want {
			t.Errorf("%s %s %s: Authorization %q, want %q", r.server, r.method, r.path, r.auth, want)
		}
	}
	if n := h.count("cdn", http.MethodGet); n != 1 {
		t.Errorf("CDN served %d GETs, want 1", n)
	}
}

func TestSnapshotCancel(t *testing.T) {
	h := newFakeHub(t)
	h.stall = true
	c := h.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Progress = func(file string, done, total int64) {
		if done > 0 {
			cancel()
		}
	}
	_, err := c.Snapshot(ctx, Ref{Repo: "acme/tiny"}, []string{"model.safetensors"}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Snapshot = %v, want context.Canceled", err)
	}
	// What arrived stays for the next attempt to resume.
	inc := filepath.Join(c.CacheDir, "models--acme--tiny", "blobs", h.file(commit1, "model.safetensors").etag()+".incomplete")
	if fi, err := os.Stat(inc); err != nil || fi.Size() == 0 {
		t.Errorf("partial download not kept: %v", err)
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	h.reset()
	_, err = c.Snapshot(done, Ref{Repo: "acme/tiny"}, []string{"config.json"}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestSnapshotConcurrent(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, tinyRequired, tinyOptional)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := h.count("cdn", http.MethodGet); n != 1 {
		t.Errorf("CDN served %d GETs for concurrent Snapshots, want 1", n)
	}
}

func TestNewClientTokenSentToHubOnly(t *testing.T) {
	h := newFakeHub(t)
	h.token = "hf_from_env"
	t.Setenv("HF_TOKEN", "hf_from_env")
	t.Setenv("HF_ENDPOINT", h.hub.URL+"/")
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	c := NewClient()
	if _, err := c.Snapshot(context.Background(), Ref{Repo: "acme/tiny"}, tinyRequired, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range h.requests() {
		if want := map[string]string{"hub": "Bearer hf_from_env", "cdn": ""}[r.server]; r.auth != want {
			t.Errorf("%s %s %s: Authorization %q, want %q", r.server, r.method, r.path, r.auth, want)
		}
	}
	if h.count("cdn", http.MethodGet) != 1 {
		t.Error("the LFS file did not come from the CDN")
	}
}

func TestNewClientEnvironment(t *testing.T) {
	home := t.TempDir()
	hfHome := filepath.Join(home, "hf")
	if err := os.MkdirAll(hfHome, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hfHome, "token"), []byte("hf_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenPath := filepath.Join(home, "tok")
	if err := os.WriteFile(tokenPath, []byte(" hf_path "), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want Client
	}{
		{"defaults", nil, Client{Endpoint: "https://huggingface.co", CacheDir: filepath.Join(home, ".cache", "huggingface", "hub")}},
		{"XDG_CACHE_HOME", map[string]string{"XDG_CACHE_HOME": filepath.Join(home, "xdg")}, Client{Endpoint: "https://huggingface.co", CacheDir: filepath.Join(home, "xdg", "huggingface", "hub")}},
		{"HF_HOME", map[string]string{"HF_HOME": hfHome, "XDG_CACHE_HOME": "/elsewhere"}, Client{Endpoint: "https://huggingface.co", Token: "hf_file", CacheDir: filepath.Join(hfHome, "hub")}},
		{"HF_HOME with ~", map[string]string{"HF_HOME": "~/hf"}, Client{Endpoint: "https://huggingface.co", Token: "hf_file", CacheDir: filepath.Join(hfHome, "hub")}},
		{"HF_HUB_CACHE", map[string]string{"HF_HOME": hfHome, "HF_HUB_CACHE": "/cache", "HUGGINGFACE_HUB_CACHE": "/legacy"}, Client{Endpoint: "https://huggingface.co", Token: "hf_file", CacheDir: "/cache"}},
		{"HUGGINGFACE_HUB_CACHE", map[string]string{"HUGGINGFACE_HUB_CACHE": "/legacy"}, Client{Endpoint: "https://huggingface.co", CacheDir: "/legacy"}},
		{"HF_TOKEN wins", map[string]string{"HF_HOME": hfHome, "HF_TOKEN": "hf_env", "HF_TOKEN_PATH": tokenPath}, Client{Endpoint: "https://huggingface.co", Token: "hf_env", CacheDir: filepath.Join(hfHome, "hub")}},
		{"HF_TOKEN_PATH", map[string]string{"HF_HOME": hfHome, "HF_TOKEN_PATH": tokenPath}, Client{Endpoint: "https://huggingface.co", Token: "hf_path", CacheDir: filepath.Join(hfHome, "hub")}},
		{"endpoint and offline", map[string]string{"HF_ENDPOINT": "https://mirror.example/", "HF_HUB_OFFLINE": "1"}, Client{Endpoint: "https://mirror.example", CacheDir: filepath.Join(home, ".cache", "huggingface", "hub"), Offline: true}},
		{"offline words", map[string]string{"HF_HUB_OFFLINE": "true"}, Client{Endpoint: "https://huggingface.co", CacheDir: filepath.Join(home, ".cache", "huggingface", "hub"), Offline: true}},
		{"offline 0", map[string]string{"HF_HUB_OFFLINE": "0"}, Client{Endpoint: "https://huggingface.co", CacheDir: filepath.Join(home, ".cache", "huggingface", "hub")}},
	}
	vars := []string{"HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_OFFLINE"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			for _, v := range vars {
				t.Setenv(v, tt.env[v])
			}
			got := NewClient()
			if got.Endpoint != tt.want.Endpoint || got.Token != tt.want.Token || got.CacheDir != tt.want.CacheDir || got.Offline != tt.want.Offline {
				t.Errorf("NewClient() = {%q %q %q %v}, want {%q %q %q %v}", got.Endpoint, got.Token, got.CacheDir, got.Offline,
					tt.want.Endpoint, tt.want.Token, tt.want.CacheDir, tt.want.Offline)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in     string
		want   Ref
		str    string
		errStr string
	}{
		{in: "hf:gpt2", want: Ref{"gpt2", "main"}, str: "hf:gpt2"},
		{in: "hf:openai-community/gpt2", want: Ref{"openai-community/gpt2", "main"}, str: "hf:openai-community/gpt2"},
		{in: "hf:org/name@v1.0", want: Ref{"org/name", "v1.0"}, str: "hf:org/name@v1.0"},
		{in: "hf:org/name@main", want: Ref{"org/name", "main"}, str: "hf:org/name"},
		{in: "hf:org/name@" + commit1, want: Ref{"org/name", commit1}, str: "hf:org/name@" + commit1},
		{in: "hf:org/name@refs/pr/1", want: Ref{"org/name", "refs/pr/1"}, str: "hf:org/name@refs/pr/1"},
		{in: "hf:Org_1/Name.v2", want: Ref{"Org_1/Name.v2", "main"}, str: "hf:Org_1/Name.v2"},
		{in: "org/name", errStr: `hub: "org/name" is not a hub reference: want hf:org/name[@revision]`},
		{in: "hf:", errStr: "empty repository id"},
		{in: "hf:org/", errStr: "has an empty name"},
		{in: "hf:/name", errStr: "has an empty name"},
		{in: "hf:a/b/c", errStr: "has more than one '/'"},
		{in: "hf:org/na me", errStr: `has ' '`},
		{in: "hf:org/-name", errStr: "cannot start or end with '-' or '.'"},
		{in: "hf:org/name.", errStr: "cannot start or end"},
		{in: "hf:org--x/name", errStr: `contains "--" or ".."`},
		{in: "hf:org/na..me", errStr: `contains "--" or ".."`},
		{in: "hf:" + strings.Repeat("a", 97), errStr: "longer than 96"},
		{in: "hf:org/name@", errStr: "empty revision after '@'"},
		{in: "hf:org/name@../../x", errStr: "is not a valid branch, tag or commit"},
		{in: "hf:org/name@a//b", errStr: "is not a valid branch, tag or commit"},
		{in: "hf:org/name@a b", errStr: "which git does not allow"},
		{in: "hf:org/name@a\\b", errStr: "which git does not allow"},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if tt.errStr != "" {
			checkErr(t, tt.in, err, tt.errStr)
			continue
		}
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseRef(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		if again, err := ParseRef(got.String()); err != nil || again != got {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
	if s := (Ref{Repo: "gpt2"}).String(); s != "hf:gpt2" {
		t.Errorf("Ref{Repo: gpt2}.String() = %q", s)
	}
}

// checkErr checks that err is a one-line error containing want.
func checkErr(t *testing.T, name string, err error, want string) {
	t.Helper()
	t.Logf("%s: %v", name, err)
	switch {
	case err == nil:
		t.Errorf("%s: no error, want one containing %q", name, want)
	case !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q, want it to contain %q", name, err, want)
	case !strings.HasPrefix(err.Error(), "hub: ") || strings.ContainsAny(err.Error(), "\n\r"):
		t.Errorf("%s: error %q is not one line starting with \"hub: \"", name, err)
	}
}

// FuzzParseRef checks that ParseRef never panics and that what it accepts
// prints back as itself and is safe to use as cache paths.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"hf:gpt2", "hf:org/name@v1", "hf:org/name@refs/pr/1", "hf:a/b/c", "hf:org/name@../x", "hf:@", "gpt2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		if again, err := ParseRef(r.String()); err != nil || again != r {
			t.Fatalf("ParseRef(%q) = %+v, but ParseRef(%q) = %+v, %v", s, r, r.String(), again, err)
		}
		for _, p := range []string{repoFolder(r.Repo), filepath.Join("refs", filepath.FromSlash(r.revision()))} {
			if !filepath.IsLocal(p) {
				t.Fatalf("ParseRef(%q) gives cache path %q outside the cache", s, p)
			}
		}
	})
}
