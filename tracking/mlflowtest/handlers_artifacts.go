package mlflowtest

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/nebras-ai/nebras/tracking"
)

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// partialPrefix marks files being written, hidden from listings until
// renamed into place, so that a cut upload never shows as an artifact.
const partialPrefix = ".mlflowtest-partial-"

// upload is a pending multipart upload.
type upload struct {
	dir      string // artifact directory, from the request path
	name     string // file name, the base name of the request's "path"
	numParts int
	parts    map[int][]byte
	etags    map[int]string
}

// invalidPath is MLflow's answer to an unsafe artifact path.
func invalidPath(p string) *apiError {
	return invalidParam("Invalid path: %q", p)
}

// safePath checks an artifact path as MLflow's validate_path_is_safe:
// relative, no "..", no backslashes or fragments, also once
// percent-decoded. It returns the path cleaned of "." and doubled
// slashes; "" is the root.
func safePath(p string) (string, error) {
	decoded := p
	for range 3 {
		u, err := url.PathUnescape(decoded)
		if err != nil || u == decoded {
			break
		}
		decoded = u
	}
	for _, q := range []string{p, decoded} {
		if strings.ContainsAny(q, "#\\\x00") || strings.HasPrefix(q, "/") || (len(q) >= 2 && q[1] == ':') {
			return "", invalidPath(p)
		}
		for _, seg := range strings.Split(q, "/") {
			if seg == ".." {
				return "", invalidPath(p)
			}
		}
	}
	c := path.Clean(p)
	if c == "." {
		c = ""
	}
	return c, nil
}

// artifactRoot opens the artifact directory; os.Root keeps every file
// operation inside it whatever the path.
func (s *Server) artifactRoot() (*os.Root, error) {
	if err := os.MkdirAll(s.opt.ArtifactDir, 0o755); err != nil {
		return nil, fmt.Errorf("mlflowtest: artifact directory: %w", err)
	}
	return os.OpenRoot(s.opt.ArtifactDir)
}

func (s *Server) serveArtifacts(w http.ResponseWriter, r *http.Request, rest string) {
	if s.opt.ArtifactDir == "" {
		// As MLflow run with --no-serve-artifacts.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "Endpoint: %s disabled due to the mlflow server running with `--no-serve-artifacts`.", r.URL.Path)
		return
	}
	var err error
	switch {
	case rest == "artifacts":
		if r.Method != http.MethodGet {
			err = methodNotAllowed(w, r, http.MethodGet)
			break
		}
		err = s.listArtifacts(w, r)
	case strings.HasPrefix(rest, "artifacts/") && rest != "artifacts/":
		p := strings.TrimPrefix(rest, "artifacts/")
		switch r.Method {
		case http.MethodGet:
			err = s.downloadArtifact(w, r, p)
		case http.MethodPut:
			err = s.uploadArtifact(w, r, p)
		default:
			err = methodNotAllowed(w, r, http.MethodGet, http.MethodPut)
		}
	default:
		op, p, ok := strings.Cut(strings.TrimPrefix(rest, "mpu/"), "/")
		if !strings.HasPrefix(rest, "mpu/") || !ok || p == "" || (op != "create" && op != "complete" && op != "abort") {
			err = endpointNotFound(r)
			break
		}
		if r.Method != http.MethodPost {
			err = methodNotAllowed(w, r, http.MethodPost)
			break
		}
		err = s.multipart(w, r, op, p)
	}
	if err != nil {
		s.writeError(w, backendError(err))
	}
}

func (s *Server) uploadArtifact(w http.ResponseWriter, r *http.Request, raw string) error {
	p, err := safePath(raw)
	if err != nil {
		return err
	}
	if p == "" {
		return invalidPath(raw)
	}
	root, err := s.artifactRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := writeFile(root, p, r.Body); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, s.enc().obj())
	return nil
}

// writeFile writes the file p under root from src, through a hidden
// temporary file renamed into place.
func writeFile(root *os.Root, p string, src io.Reader) error {
	dir, name := path.Split(p)
	if dir != "" {
		if err := root.MkdirAll(strings.TrimSuffix(dir, "/"), 0o755); err != nil {
			return invalidParam("Cannot create artifact directory %q: %v", dir, err)
		}
	}
	if fi, err := root.Stat(p); err == nil && fi.IsDir() {
		return invalidParam("Cannot write artifact %q: it is a directory", p)
	}
	var rnd [8]byte
	rand.Read(rnd[:]) //nolint:errcheck // crypto/rand.Read never fails.
	tmp := dir + partialPrefix + hex.EncodeToString(rnd[:]) + "-" + name
	f, err := root.Create(tmp)
	if err != nil {
		return fmt.Errorf("mlflowtest: write artifact %q: %w", p, err)
	}
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, p)
	}
	if err != nil {
		root.Remove(tmp) //nolint:errcheck // best effort; the write error is what matters.
		return fmt.Errorf("mlflowtest: write artifact %q: %w", p, err)
	}
	return nil
}

func (s *Server) downloadArtifact(w http.ResponseWriter, r *http.Request, raw string) error {
	p, err := safePath(raw)
	if err != nil {
		return err
	}
	if p == "" {
		return invalidPath(raw)
	}
	root, err := s.artifactRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := root.Open(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return &apiError{status: http.StatusNotFound, code: tracking.CodeResourceDoesNotExist,
			msg: fmt.Sprintf("No such file or directory: '%s'", p)}
	}
	if err != nil {
		return fmt.Errorf("mlflowtest: open artifact %q: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("mlflowtest: stat artifact %q: %w", p, err)
	}
	if fi.IsDir() {
		return invalidParam("Artifact %q is a directory; list it with GET %sartifacts?path=...", p, artifactsPrefix)
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", "attachment; filename="+path.Base(p))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.WriteHeader(http.StatusOK)
	io.Copy(w, f) //nolint:errcheck // the client going away is not the server's error.
	return nil
}

func (s *Server) listArtifacts(w http.ResponseWriter, r *http.Request) error {
	req := &apiRequest{method: http.MethodGet, query: r.URL.Query()}
	var in struct {
		Path *string `json:"path"`
	}
	if err := req.decode(&in); err != nil {
		return err
	}
	dir := ""
	if in.Path != nil {
		var err error
		if dir, err = safePath(*in.Path); err != nil {
			return err
		}
	}
	root, err := s.artifactRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	e := s.enc()
	o := e.obj()
	open := dir
	if open == "" {
		open = "."
	}
	f, err := root.Open(open)
	if err != nil {
		// MLflow lists a missing directory as empty.
		s.writeJSON(w, http.StatusOK, o)
		return nil
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		// A file, not a directory: also an empty listing, as MLflow's.
		s.writeJSON(w, http.StatusOK, o)
		return nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var files []jobj
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), partialPrefix) {
			continue
		}
		fo := e.obj()
		// MLflow's proxy lists base names, not paths from the root.
		fo["path"] = de.Name()
		fo["is_dir"] = de.IsDir()
		if !de.IsDir() {
			fi, err := de.Info()
			if err != nil {
				return fmt.Errorf("mlflowtest: list artifacts %q: %w", dir, err)
			}
			if fi.Size() != 0 {
				fo["file_size"] = e.i64(fi.Size())
			}
		}
		files = append(files, fo)
	}
	if len(files) > 0 {
		o["files"] = files
	}
	s.writeJSON(w, http.StatusOK, o)
	return nil
}

// multipart serves mpu/create, mpu/complete and mpu/abort for the
// artifact directory raw.
func (s *Server) multipart(w http.ResponseWriter, r *http.Request, op, raw string) error {
	dir, err := safePath(raw)
	if err != nil {
		return err
	}
	req, aerr := readAPIRequest(r)
	if aerr != nil {
		return aerr
	}
	var in struct {
		Path     *string   `json:"path"`
		NumParts *i64      `json:"num_parts"`
		UploadID *string   `json:"upload_id"`
		Parts    []mpuPart `json:"parts"`
	}
	if err := req.decode(&in); err != nil {
		return err
	}
	// Each message has only some of these fields.
	switch {
	case op == "create" && (in.UploadID != nil || in.Parts != nil):
		return invalidParam("Invalid request: CreateMultipartUpload has no fields upload_id or parts")
	case op != "create" && in.NumParts != nil:
		return invalidParam("Invalid request: unknown field \"num_parts\"")
	case op == "abort" && in.Parts != nil:
		return invalidParam("Invalid request: unknown field \"parts\"")
	}
	local, err := required("path", in.Path)
	if err != nil {
		return err
	}
	if !s.opt.Multipart {
		return notImplemented("Multipart upload is not supported for the current artifact repository")
	}
	// As MLflow's artifact repositories, the file is named after the
	// base name of the client's local file, in the directory of the URL.
	name := local[strings.LastIndex(local, "/")+1:]
	if name == "" || name == "." || name == ".." {
		return invalidParam("Invalid value %q for parameter 'path' supplied: it has no file name", local)
	}
	e := s.enc()
	switch op {
	case "create":
		n := int64(0)
		if in.NumParts != nil {
			n = in.NumParts.V
		}
		if n < 1 || n > maxParts {
			return invalidParam("Invalid value %d for parameter 'num_parts' supplied: it must be between 1 and %d", n, maxParts)
		}
		var rnd [16]byte
		rand.Read(rnd[:]) //nolint:errcheck // crypto/rand.Read never fails.
		id := hex.EncodeToString(rnd[:])
		s.mu.Lock()
		s.uploads[id] = &upload{dir: dir, name: name, numParts: int(n), parts: map[int][]byte{}, etags: map[int]string{}}
		s.mu.Unlock()
		creds := make([]jobj, n)
		for i := range creds {
			c := e.obj()
			c["url"] = s.URL() + presignedPrefix + id + "/" + strconv.Itoa(i+1)
			c["part_number"] = e.i64(int64(i + 1))
			creds[i] = c
		}
		o := e.obj()
		o["upload_id"] = id
		o["credentials"] = creds
		s.writeJSON(w, http.StatusOK, o)
		return nil
	case "abort":
		id, err := required("upload_id", in.UploadID)
		if err != nil {
			return err
		}
		if _, err := s.takeUpload(id, dir, name); err != nil {
			return err
		}
		s.writeJSON(w, http.StatusOK, e.obj())
		return nil
	}
	id, err := required("upload_id", in.UploadID)
	if err != nil {
		return err
	}
	if len(in.Parts) == 0 {
		return missing("parts")
	}
	s.mu.Lock()
	u, ok := s.uploads[id]
	var data [][]byte
	if ok {
		data, err = u.assemble(in.Parts)
	}
	s.mu.Unlock()
	if !ok {
		return noSuchUpload(id)
	}
	if err != nil {
		return err
	}
	if u.dir != dir || u.name != name {
		return invalidParam("Upload %s was created for %q, not %q", id, path.Join(u.dir, u.name), path.Join(dir, name))
	}
	root, err := s.artifactRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	bufs := make([]io.Reader, len(data))
	for i, d := range data {
		bufs[i] = bytes.NewReader(d)
	}
	if err := writeFile(root, path.Join(dir, name), io.MultiReader(bufs...)); err != nil {
		return err
	}
	if _, err := s.takeUpload(id, dir, name); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, e.obj())
	return nil
}

// mpuPart is MLflow's MultipartUploadPart in a complete request.
type mpuPart struct {
	PartNumber i64     `json:"part_number"`
	ETag       *string `json:"etag"`
	URL        *string `json:"url"`
}

// assemble checks the parts a complete request lists, which must be every
// part, in order, with the ETags their uploads were answered, and returns
// their data. It is called with the server's lock held.
func (u *upload) assemble(parts []mpuPart) ([][]byte, error) {
	if len(parts) != u.numParts {
		return nil, invalidParam("Invalid value for parameter 'parts' supplied: the upload has %d parts, the request lists %d", u.numParts, len(parts))
	}
	data := make([][]byte, len(parts))
	for i, p := range parts {
		want := i + 1
		if !p.PartNumber.Set || p.PartNumber.V != int64(want) {
			return nil, invalidParam("Invalid value for parameter 'parts[%d].part_number' supplied: got %d, want %d (parts are listed in ascending order)", i, p.PartNumber.V, want)
		}
		stored, ok := u.etags[want]
		if !ok {
			return nil, invalidParam("Invalid value for parameter 'parts[%d]' supplied: part %d was never uploaded", i, want)
		}
		// Object stores compare ETags with or without their quotes.
		if got := optional(p.ETag); strings.Trim(got, `"`) != strings.Trim(stored, `"`) {
			return nil, invalidParam("Invalid value %q for parameter 'parts[%d].etag' supplied: part %d was uploaded with ETag %s", got, i, want, stored)
		}
		data[i] = u.parts[want]
	}
	return data, nil
}

func noSuchUpload(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: tracking.CodeResourceDoesNotExist,
		msg: fmt.Sprintf("No multipart upload with upload_id %q", id)}
}

// takeUpload removes the pending upload id of the file dir/name.
func (s *Server) takeUpload(id, dir, name string) (*upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok {
		return nil, noSuchUpload(id)
	}
	if u.dir != dir || u.name != name {
		return nil, invalidParam("Upload %s was created for %q, not %q", id, path.Join(u.dir, u.name), path.Join(dir, name))
	}
	delete(s.uploads, id)
	return u, nil
}

// servePresigned serves the part URLs mpu/create hands out, as an object
// store's presigned URLs: PUT the part, get its ETag.
func (s *Server) servePresigned(w http.ResponseWriter, r *http.Request, rest string) {
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, msg) //nolint:errcheck // the client going away is not the server's error.
	}
	id, partStr, ok := strings.Cut(rest, "/")
	part, err := strconv.Atoi(partStr)
	if !ok || err != nil {
		fail(http.StatusNotFound, "NoSuchKey: no presigned URL "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		fail(http.StatusMethodNotAllowed, "MethodNotAllowed: presigned part URLs take PUT")
		return
	}
	// A presigned URL carries its own authorization; an object store
	// refuses a second one, and a client must not leak its tracking
	// credentials to the storage host.
	if r.Header.Get("Authorization") != "" {
		fail(http.StatusBadRequest, "InvalidArgument: Only one auth mechanism allowed; the request has both a presigned URL and an Authorization header")
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		fail(http.StatusBadRequest, "IncompleteBody: "+err.Error())
		return
	}
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	s.mu.Lock()
	u, ok := s.uploads[id]
	if ok && part >= 1 && part <= u.numParts {
		u.parts[part] = data
		u.etags[part] = etag
	}
	s.mu.Unlock()
	switch {
	case !ok:
		fail(http.StatusNotFound, "NoSuchUpload: the upload does not exist, or was completed or aborted")
	case part < 1 || part > u.numParts:
		fail(http.StatusBadRequest, fmt.Sprintf("InvalidArgument: part number %d is not in [1, %d]", part, u.numParts))
	default:
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusOK)
	}
}
