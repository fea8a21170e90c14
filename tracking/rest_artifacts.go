package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

const artifactsAPI = "/api/2.0/mlflow-artifacts/"

// Artifacts returns the repository behind artifactURI: the server's
// artifact proxy for mlflow-artifacts: URIs (what `mlflow server
// --serve-artifacts` hands out), the local disk for file: URIs and paths.
func (s *RESTStore) Artifacts(ctx context.Context, artifactURI string) (ArtifactRepo, error) {
	u, err := url.Parse(artifactURI)
	if err != nil {
		return nil, fmt.Errorf("artifact URI %q: %w", artifactURI, err)
	}
	switch u.Scheme {
	case "mlflow-artifacts":
		base := *s.base
		if u.Host != "" {
			base.Host = u.Host
			base.Path = ""
		}
		root := strings.Trim(u.Path, "/")
		if err := checkArtifactPath(root); err != nil {
			return nil, fmt.Errorf("artifact URI %q: %w", artifactURI, err)
		}
		return &proxyRepo{s: s, base: base.String(), root: root, uri: artifactURI}, nil
	case "http", "https":
		base, root, ok := strings.Cut(artifactURI, strings.TrimSuffix(artifactsAPI, "/")+"/artifacts")
		if !ok {
			return nil, fmt.Errorf("artifact URI %q: an http(s) artifact root must point at %sartifacts", artifactURI, artifactsAPI)
		}
		root = strings.Trim(root, "/")
		return &proxyRepo{s: s, base: base, root: root, uri: artifactURI}, nil
	case "file", "":
		return NewLocalArtifactRepo(artifactURI)
	}
	return nil, fmt.Errorf("artifact URI %q: scheme %q is not supported (nebras reads mlflow-artifacts:, http(s) proxy and file: roots; run the tracking server with --serve-artifacts)", artifactURI, u.Scheme)
}

// proxyRepo stores artifacts through a tracking server's
// /api/2.0/mlflow-artifacts/ proxy.
type proxyRepo struct {
	s    *RESTStore
	base string // tracking server URL
	root string // artifact root below the proxy, no leading or trailing slash
	uri  string
}

func (r *proxyRepo) URI() string { return r.uri }

// full is the proxy path of an artifact path below the root.
func (r *proxyRepo) full(p string) string {
	return strings.Trim(path.Join(r.root, p), "/")
}

func (r *proxyRepo) url(kind, p string) string {
	return r.base + artifactsAPI + kind + "/" + escapePath(r.full(p))
}

// escapePath escapes each segment of a slash path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// checkArtifactPath refuses paths that could leave the artifact root.
func checkArtifactPath(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return fmt.Errorf("artifact path %q must be relative, with forward slashes", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return fmt.Errorf("artifact path %q leaves the artifact root", p)
		}
	}
	return nil
}

func (r *proxyRepo) Put(ctx context.Context, artifactPath string, body io.Reader) error {
	if err := checkArtifactPath(artifactPath); err != nil {
		return err
	}
	if artifactPath == "" {
		return errors.New("put artifact: empty path")
	}
	u := r.url("artifacts", artifactPath)
	// Retries need the body again: keep it when it cannot be re-read.
	var open func() (io.Reader, int64, error)
	if rs, ok := body.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return fmt.Errorf("put artifact %s: %w", artifactPath, err)
		}
		end, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("put artifact %s: %w", artifactPath, err)
		}
		open = func() (io.Reader, int64, error) {
			_, err := rs.Seek(start, io.SeekStart)
			return io.LimitReader(rs, end-start), end - start, err
		}
	} else {
		data, err := io.ReadAll(body)
		if err != nil {
			return fmt.Errorf("put artifact %s: %w", artifactPath, err)
		}
		open = func() (io.Reader, int64, error) { return bytes.NewReader(data), int64(len(data)), nil }
	}
	resp, err := r.s.send(ctx, http.MethodPut, u, open, "application/octet-stream")
	if err != nil {
		return fmt.Errorf("put artifact %s: %w", artifactPath, err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func (r *proxyRepo) LogArtifact(ctx context.Context, localPath, artifactPath string) error {
	if err := checkArtifactPath(artifactPath); err != nil {
		return err
	}
	st, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	dest := path.Join(artifactPath, filepath.Base(localPath))
	if !st.IsDir() {
		return r.putFile(ctx, localPath, dest, st.Size())
	}
	return filepath.WalkDir(localPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(localPath, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return r.putFile(ctx, p, path.Join(dest, filepath.ToSlash(rel)), info.Size())
	})
}

func (r *proxyRepo) putFile(ctx context.Context, local, artifactPath string, size int64) error {
	if size >= r.s.cfg.MultipartMinSize {
		err := r.multipart(ctx, local, artifactPath, size)
		var me *Error
		if !errors.As(err, &me) || (me.Code != CodeNotImplemented && me.Code != CodeEndpointNotFound) {
			return err
		}
		// The server's artifact store cannot do multipart (501), or the
		// server predates the mpu endpoints (404): one PUT, as MLflow's
		// client falls back.
	}
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	defer f.Close()
	return r.Put(ctx, artifactPath, f)
}

type mpuCredential struct {
	URL        string            `json:"url"`
	PartNumber jint              `json:"part_number"`
	Headers    map[string]string `json:"headers"`
}

type mpuPart struct {
	PartNumber int64  `json:"part_number"`
	ETag       string `json:"etag"`
	URL        string `json:"url,omitempty"`
}

// multipart uploads a large file in parts: mpu/create hands out one
// presigned URL per part, each part is PUT there, and mpu/complete joins
// them with the ETags the parts were answered with.
func (r *proxyRepo) multipart(ctx context.Context, local, artifactPath string, size int64) (err error) {
	dir, name := path.Split(artifactPath)
	chunk := r.s.cfg.MultipartChunkSize
	numParts := (size + chunk - 1) / chunk
	mpuURL := func(op string) string { return r.url("mpu/"+op, dir) }
	var created struct {
		UploadID    string          `json:"upload_id"`
		Credentials []mpuCredential `json:"credentials"`
	}
	if err := r.postJSON(ctx, mpuURL("create"), map[string]any{"path": name, "num_parts": numParts}, &created); err != nil {
		return fmt.Errorf("multipart upload %s: %w", artifactPath, err)
	}
	if int64(len(created.Credentials)) != numParts {
		return fmt.Errorf("multipart upload %s: asked for %d part URLs, got %d", artifactPath, numParts, len(created.Credentials))
	}
	defer func() {
		if err != nil {
			// Best effort: the server frees the parts; the upload failed either way.
			r.postJSON(context.WithoutCancel(ctx), mpuURL("abort"), map[string]any{"path": name, "upload_id": created.UploadID}, nil)
		}
	}()
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("multipart upload %s: %w", artifactPath, err)
	}
	defer f.Close()
	parts := make([]mpuPart, 0, numParts)
	for _, c := range created.Credentials {
		n := int64(c.PartNumber)
		if n < 1 || n > numParts {
			return fmt.Errorf("multipart upload %s: server gave part number %d of %d", artifactPath, n, numParts)
		}
		off := (n - 1) * chunk
		sec := io.NewSectionReader(f, off, min(chunk, size-off))
		etag, err := r.putPart(ctx, c, sec)
		if err != nil {
			return fmt.Errorf("multipart upload %s part %d: %w", artifactPath, n, err)
		}
		parts = append(parts, mpuPart{PartNumber: n, ETag: etag, URL: c.URL})
	}
	req := map[string]any{"path": name, "upload_id": created.UploadID, "parts": parts}
	if err := r.postJSON(ctx, mpuURL("complete"), req, nil); err != nil {
		return fmt.Errorf("multipart upload %s: complete: %w", artifactPath, err)
	}
	return nil
}

// putPart uploads one part to its presigned URL. The tracking server's
// credentials are not sent there: the URL carries its own authorisation.
func (r *proxyRepo) putPart(ctx context.Context, c mpuCredential, sec *io.SectionReader) (string, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.URL, io.NewSectionReader(sec, 0, sec.Size()))
		if err != nil {
			return "", err
		}
		req.ContentLength = sec.Size()
		for k, v := range c.Headers {
			req.Header.Set(k, v)
		}
		resp, err := r.s.hc.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return resp.Header.Get("ETag"), nil
			}
			err = errorFromResponse(resp)
		}
		if attempt >= r.s.cfg.MaxRetries || !Retryable(err) || ctx.Err() != nil {
			return "", err
		}
	}
}

func (r *proxyRepo) postJSON(ctx context.Context, u string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := r.s.send(ctx, http.MethodPost, u, func() (io.Reader, int64, error) {
		return bytes.NewReader(data), int64(len(data)), nil
	}, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
}

func (r *proxyRepo) List(ctx context.Context, artifactPath string) ([]FileInfo, error) {
	if err := checkArtifactPath(artifactPath); err != nil {
		return nil, err
	}
	u := r.base + artifactsAPI + "artifacts?" + url.Values{"path": {r.full(artifactPath)}}.Encode()
	resp, err := r.s.send(ctx, http.MethodGet, u, nil, "")
	if err != nil {
		return nil, fmt.Errorf("list artifacts %q: %w", artifactPath, err)
	}
	defer resp.Body.Close()
	var out struct {
		Files []struct {
			Path     string `json:"path"`
			IsDir    bool   `json:"is_dir"`
			FileSize jint   `json:"file_size"`
		} `json:"files"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("list artifacts %q: decode: %w", artifactPath, err)
	}
	infos := make([]FileInfo, 0, len(out.Files))
	for _, f := range out.Files {
		// The proxy names entries relative to the listed directory.
		p := path.Join(artifactPath, f.Path)
		if err := checkArtifactPath(p); err != nil {
			return nil, fmt.Errorf("list artifacts %q: server listed %w", artifactPath, err)
		}
		infos = append(infos, FileInfo{Path: p, IsDir: f.IsDir, FileSize: int64(f.FileSize)})
	}
	return infos, nil
}

func (r *proxyRepo) Download(ctx context.Context, artifactPath, localDir string) (string, error) {
	if err := checkArtifactPath(artifactPath); err != nil {
		return "", err
	}
	// A directory lists its children; a file lists nothing. This is how
	// MLflow's own client tells them apart through the proxy.
	children, err := r.List(ctx, artifactPath)
	if err != nil {
		return "", err
	}
	dest := filepath.Join(localDir, filepath.FromSlash(artifactPath))
	if artifactPath == "" {
		dest = localDir
	}
	if len(children) == 0 && artifactPath != "" {
		return dest, r.downloadFile(ctx, artifactPath, dest)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return "", err
	}
	for _, c := range children {
		if c.IsDir {
			if _, err := r.Download(ctx, c.Path, localDir); err != nil {
				return "", err
			}
			continue
		}
		if err := r.downloadFile(ctx, c.Path, filepath.Join(localDir, filepath.FromSlash(c.Path))); err != nil {
			return "", err
		}
	}
	return dest, nil
}

func (r *proxyRepo) downloadFile(ctx context.Context, artifactPath, dest string) error {
	resp, err := r.s.send(ctx, http.MethodGet, r.url("artifacts", artifactPath), nil, "")
	if err != nil {
		return fmt.Errorf("download artifact %s: %w", artifactPath, err)
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(dest, func(w io.Writer) error {
		_, err := io.Copy(w, resp.Body)
		return err
	}); err != nil {
		return fmt.Errorf("download artifact %s: %w", artifactPath, err)
	}
	return nil
}
