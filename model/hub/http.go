package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// metadataTimeout bounds each HEAD request, like huggingface_hub's 10 s,
	// so that a network that drops packets counts as down and the cache is
	// used rather than hanging.
	metadataTimeout = 10 * time.Second
	// maxRedirects bounds the redirects followed: relative ones on HEAD
	// (renamed repositories), any on GET.
	maxRedirects = 10
	userAgent    = "nebras-hub (Go)"
)

// fileMeta is what a HEAD request tells about a file.
type fileMeta struct {
	commit   string
	etag     string // blob name: LFS sha256 or git blob id
	size     int64  // -1 when unknown
	location string // where to GET the content
}

// unreachableError is a failure to talk to the hub: a network error, a
// timeout, or an answer that says the hub is down. Snapshot falls back to the
// cache on it.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// statusError is an HTTP error answer from the hub.
type statusError struct {
	code    int
	status  string
	errCode string // X-Error-Code
	message string // X-Error-Message
	commit  string // X-Repo-Commit
}

func newStatusError(resp *http.Response) *statusError {
	return &statusError{
		code:    resp.StatusCode,
		status:  resp.Status,
		errCode: resp.Header.Get("X-Error-Code"),
		message: resp.Header.Get("X-Error-Message"),
		commit:  resp.Header.Get("X-Repo-Commit"),
	}
}

func (e *statusError) Error() string { return "hub answered " + e.status }

// fileMissing reports whether the answer says that the file, rather than
// the repository or revision, does not exist.
func (e *statusError) fileMissing() bool {
	return e.code == http.StatusNotFound && e.errCode != "RepoNotFound" && e.errCode != "RevisionNotFound"
}

// explain says what the answer means and what to do about it, in one line.
func (e *statusError) explain(ref Ref, hasToken bool) string {
	var s string
	switch {
	case e.errCode == "GatedRepo":
		s = fmt.Sprintf("gated repository (%d): accept its conditions on the hub, then set HF_TOKEN to a token of that account", e.code)
	case e.code == http.StatusUnauthorized && hasToken:
		s = "unauthorized (401): the token was refused, or it cannot read this repository (private, gated or missing)"
	case e.code == http.StatusUnauthorized:
		s = "unauthorized (401): the repository is private, gated or does not exist; set HF_TOKEN to a token that can read it"
	case e.code == http.StatusForbidden:
		s = "forbidden (403): the token cannot read this repository; check its permissions or set HF_TOKEN"
	case e.code == http.StatusNotFound && e.errCode == "RepoNotFound":
		s = "repository not found (404)"
		if !hasToken {
			s += "; if it is private, set HF_TOKEN"
		}
	case e.code == http.StatusNotFound && e.errCode == "RevisionNotFound":
		s = fmt.Sprintf("revision %q not found (404)", ref.revision())
	case e.code == http.StatusNotFound:
		s = "file not found in the repository (404)"
	default:
		s = e.Error()
	}
	if e.message != "" {
		msg := e.message
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		s += fmt.Sprintf("; hub says %q", msg)
	}
	return s
}

// fileURL returns huggingface_hub's hf_hub_url for a file.
func (c *Client) fileURL(repo, rev, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.TrimRight(c.Endpoint, "/") + "/" + repo + "/resolve/" + url.PathEscape(rev) + "/" + strings.Join(parts, "/")
}

// isHub reports whether u is on the hub itself, the only place the token
// may go: never to a CDN, nor over a downgraded scheme.
func (c *Client) isHub(u *url.URL) bool {
	e, err := url.Parse(c.Endpoint)
	return err == nil && e.Scheme == u.Scheme && strings.EqualFold(e.Host, u.Host)
}

// client returns the HTTP client to use, with a redirect policy that
// follows no redirect, or follows them and drops the token on leaving the
// hub. Go itself keeps the Authorization header on a redirect to another
// port of the same host, which is not enough.
func (c *Client) client(follow bool) *http.Client {
	hc := http.DefaultClient
	if c.HTTP != nil {
		hc = c.HTTP
	}
	cp := *hc
	if !follow {
		cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &cp
	}
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if !c.isHub(req.URL) {
			req.Header.Del("Authorization")
		}
		return nil
	}
	return &cp
}

func (c *Client) newRequest(ctx context.Context, method string, u *url.URL) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	// Identity encoding keeps Content-Length the size of the file, and the
	// bytes those the etag hashes.
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token != "" && c.isHub(u) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// send sends req, classifying failures: the caller's cancellation is
// returned as is, and network errors and 5xx and 429 answers as
// unreachableError.
func send(ctx context.Context, hc *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &unreachableError{err}
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		resp.Body.Close()
		return nil, &unreachableError{fmt.Errorf("%s %s: hub answered %s", req.Method, req.URL.Redacted(), resp.Status)}
	}
	return resp, nil
}

// head asks the hub about file name at revision rev, following relative
// redirects (a renamed repository) but not those to another host (a CDN),
// whose answer carries the metadata, as huggingface_hub's
// get_hf_file_metadata does.
func (c *Client) head(ctx context.Context, repo, rev, name string) (*fileMeta, error) {
	u, err := url.Parse(c.fileURL(repo, rev, name))
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", c.Endpoint, err)
	}
	hc := c.client(false)
	for hops := 0; ; hops++ {
		resp, err := c.headOnce(ctx, hc, u)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 400 {
			return nil, newStatusError(resp)
		}
		if resp.StatusCode < 300 {
			return c.metadata(resp, u, false)
		}
		loc := resp.Header.Get("Location")
		target, err := u.Parse(loc)
		if loc == "" || err != nil {
			return nil, fmt.Errorf("hub answered %s without a usable Location", resp.Status)
		}
		// A redirect that stays on the hub without naming a commit is a
		// renamed repository, whatever form its Location takes.
		if isAbsolute(loc) && (!c.isHub(target) || resp.Header.Get("X-Repo-Commit") != "") {
			return c.metadata(resp, target, true)
		}
		if hops == maxRedirects {
			return nil, fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		u = target
	}
}

func isAbsolute(loc string) bool {
	l, err := url.Parse(loc)
	return err == nil && l.Host != ""
}

func (c *Client) headOnce(ctx context.Context, hc *http.Client, u *url.URL) (*http.Response, error) {
	hctx, cancel := context.WithTimeout(ctx, metadataTimeout)
	defer cancel()
	req, err := c.newRequest(hctx, http.MethodHead, u)
	if err != nil {
		return nil, err
	}
	resp, err := send(ctx, hc, req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// metadata reads a HEAD answer. Every value ends up in a path in the cache,
// so each is checked against what the hub sends.
func (c *Client) metadata(resp *http.Response, location *url.URL, redirected bool) (*fileMeta, error) {
	commit := resp.Header.Get("X-Repo-Commit")
	if commit == "" {
		return nil, fmt.Errorf("the answer has no X-Repo-Commit header; is %s a Hugging Face hub?", c.Endpoint)
	}
	if !isCommit(commit) {
		return nil, fmt.Errorf("the hub's X-Repo-Commit %q is not a commit hash", commit)
	}
	raw := resp.Header.Get("X-Linked-Etag")
	if raw == "" {
		raw = resp.Header.Get("ETag")
	}
	etag := strings.Trim(strings.TrimPrefix(raw, "W/"), `"`)
	if etag == "" {
		return nil, errors.New("the answer has no ETag: cannot tell which blob the file is")
	}
	if !validETag(etag) {
		return nil, fmt.Errorf("the hub's ETag %q is not a blob name", raw)
	}
	size := int64(-1)
	if s := resp.Header.Get("X-Linked-Size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("the hub's X-Linked-Size %q is not a size", s)
		}
		size = n
	} else if !redirected && resp.ContentLength >= 0 {
		// A redirect's Content-Length is that of the redirect's own body.
		size = resp.ContentLength
	}
	return &fileMeta{commit: commit, etag: etag, size: size, location: location.String()}, nil
}

// validETag reports whether etag can name a blob file: the hub's are hex,
// and anything with a path separator or a dot could escape or collide with
// the .incomplete files.
func validETag(etag string) bool {
	if len(etag) > 128 {
		return false
	}
	for _, c := range []byte(etag) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// fetch makes sure the blob of meta is in the cache, downloading it under a
// lock shared with other processes (and huggingface_hub, which locks the
// same file).
func (c *Client) fetch(ctx context.Context, repoDir, name string, meta *fileMeta) error {
	blobs := filepath.Join(repoDir, "blobs")
	blob := filepath.Join(blobs, meta.etag)
	if isFile(blob) {
		return nil
	}
	if err := os.MkdirAll(blobs, 0o777); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(c.CacheDir, ".locks", filepath.Base(repoDir), meta.etag+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if isFile(blob) { // another process finished it while we waited
		return nil
	}
	return c.downloadBlob(ctx, name, meta, blob)
}

// downloadBlob downloads the content of meta into blob: into
// blob.incomplete first, resuming what an earlier attempt left there, then
// renamed into place once whole and, for an LFS file, once its sha256 matches
// the etag.
func (c *Client) downloadBlob(ctx context.Context, name string, meta *fileMeta, blob string) (err error) {
	inc := blob + ".incomplete"
	f, err := os.OpenFile(inc, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	have := fi.Size()
	if have > 0 && (meta.size < 0 || have >= meta.size) {
		// Nothing to resume from: the size is unknown, or the partial file is
		// as long as the whole, and so suspect.
		if err := f.Truncate(0); err != nil {
			return err
		}
		have = 0
	}

	u, err := url.Parse(meta.location)
	if err != nil {
		return fmt.Errorf("download location %q: %w", meta.location, err)
	}
	req, err := c.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := send(ctx, c.client(true), req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	var h hash.Hash
	if len(meta.etag) == 64 && isLowerHex(meta.etag) {
		h = sha256.New()
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			return fmt.Errorf("resumed download: Content-Range %q does not start at byte %d", resp.Header.Get("Content-Range"), have)
		}
		if h != nil {
			if _, err := io.Copy(h, io.NewSectionReader(f, 0, have)); err != nil {
				return err
			}
		}
	case resp.StatusCode == http.StatusOK:
		// A server that ignores Range sends everything again.
		if have > 0 {
			if err := f.Truncate(0); err != nil {
				return err
			}
			have = 0
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The partial file does not fit what the server has: start over
		// rather than fail the same way on every attempt.
		resp.Body.Close()
		if err := f.Truncate(0); err != nil {
			return err
		}
		f.Close()
		f = nil
		return c.downloadBlob(ctx, name, meta, blob)
	case resp.StatusCode >= 400:
		return newStatusError(resp)
	default:
		return fmt.Errorf("hub answered %s to GET", resp.Status)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return err
	}

	done, total := have, meta.size
	c.progress(name, done, total)
	buf := make([]byte, 1<<20)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
			if h != nil {
				h.Write(buf[:n])
			}
			done += int64(n)
			if total >= 0 && done > total {
				f.Close()
				f = nil
				os.Remove(inc)
				return fmt.Errorf("download sent more than the %d bytes announced", total)
			}
			c.progress(name, done, total)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// The partial file stays for the next attempt to resume.
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &unreachableError{fmt.Errorf("download interrupted after %d bytes: %w", done, rerr)}
		}
	}
	if total >= 0 && done != total {
		return &unreachableError{fmt.Errorf("download ended after %d of %d bytes", done, total)}
	}
	if h != nil {
		if sum := hex.EncodeToString(h.Sum(nil)); sum != meta.etag {
			f.Close()
			f = nil
			os.Remove(inc)
			return fmt.Errorf("downloaded bytes have sha256 %s, want %s: refused", sum, meta.etag)
		}
	}
	// Sync before the rename so that a crash cannot leave a blob that
	// exists but whose data never reached the disk.
	if err := f.Sync(); err != nil {
		return err
	}
	err = f.Close()
	f = nil
	if err != nil {
		return err
	}
	return os.Rename(inc, blob)
}

func (c *Client) progress(name string, done, total int64) {
	if c.Progress != nil {
		c.Progress(name, done, total)
	}
}

// rangeStart returns the first byte of a Content-Range "bytes a-b/n".
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}
