// Package hub downloads model repositories from the Hugging Face Hub into the
// Hugging Face cache, and finds them there again without a network.
//
// The cache is the one huggingface_hub (and so transformers) uses, so a model
// downloaded by either is found by the other:
//
//	$HF_HUB_CACHE/models--openai-community--gpt2/
//	    blobs/<etag>                  file contents, named by sha256 (LFS) or git blob id
//	    snapshots/<commit>/<file>     relative symlinks to ../../blobs/<etag>
//	    refs/main                     the commit that main resolved to
//	    .no_exist/<commit>/<file>     files known not to exist at that commit
//
// A Client resolves each file with a HEAD request to
// {endpoint}/{repo}/resolve/{revision}/{file}, which names the commit
// (X-Repo-Commit), the blob (X-Linked-Etag or ETag) and, for large files, a
// redirect to a CDN; it then downloads what the cache lacks.
package hub

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

const (
	defaultEndpoint = "https://huggingface.co"
	defaultRevision = "main"
	refPrefix       = "hf:"
)

// Ref names a repository on the hub and a revision of it.
type Ref struct {
	// Repo is "org/name", or "name" for a legacy repository without an
	// organisation, such as gpt2.
	Repo string
	// Revision is a branch, a tag or a 40-hex commit; "" means main.
	Revision string
}

// ParseRef parses "hf:org/name", "hf:name" or either with "@revision".
func ParseRef(s string) (Ref, error) {
	rest, ok := strings.CutPrefix(s, refPrefix)
	if !ok {
		return Ref{}, fmt.Errorf("hub: %q is not a hub reference: want hf:org/name[@revision]", s)
	}
	repo, rev, hasRev := strings.Cut(rest, "@")
	if hasRev && rev == "" {
		return Ref{}, fmt.Errorf("hub: %q: empty revision after '@'", s)
	}
	if !hasRev {
		rev = defaultRevision
	}
	r := Ref{Repo: repo, Revision: rev}
	if err := r.validate(); err != nil {
		return Ref{}, fmt.Errorf("hub: %q: %w", s, err)
	}
	return r, nil
}

// String returns the reference in the form ParseRef reads, without the
// revision when it is main.
func (r Ref) String() string {
	if r.Revision == "" || r.Revision == defaultRevision {
		return refPrefix + r.Repo
	}
	return refPrefix + r.Repo + "@" + r.Revision
}

func (r Ref) revision() string {
	if r.Revision == "" {
		return defaultRevision
	}
	return r.Revision
}

func (r Ref) validate() error {
	if err := validateRepo(r.Repo); err != nil {
		return err
	}
	return validateRevision(r.revision())
}

// validateRepo applies huggingface_hub's rules for repository ids: one or two
// names of ASCII letters, digits, '-', '_' and '.', not starting or ending
// with '-' or '.', without "--" or "..", at most 96 characters.
func validateRepo(repo string) error {
	if repo == "" {
		return fmt.Errorf("empty repository id")
	}
	if len(repo) > 96 {
		return fmt.Errorf("repository id %q is longer than 96 characters", repo)
	}
	if strings.Contains(repo, "--") || strings.Contains(repo, "..") {
		return fmt.Errorf("repository id %q contains \"--\" or \"..\"", repo)
	}
	parts := strings.Split(repo, "/")
	if len(parts) > 2 {
		return fmt.Errorf("repository id %q has more than one '/': want org/name", repo)
	}
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("repository id %q has an empty name: want org/name", repo)
		}
		for _, c := range []byte(p) {
			if !isIDChar(c) {
				return fmt.Errorf("repository id %q has %q: want letters, digits, '-', '_' and '.'", repo, rune(c))
			}
		}
		if strings.ContainsAny(p[:1], "-.") || strings.ContainsAny(p[len(p)-1:], "-.") {
			return fmt.Errorf("repository id %q: a name cannot start or end with '-' or '.'", repo)
		}
	}
	return nil
}

func isIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// validateRevision accepts what git accepts as a branch or tag name, roughly,
// and refuses anything that could escape the cache's refs directory, where
// the revision becomes a path.
func validateRevision(rev string) error {
	if len(rev) > 255 {
		return fmt.Errorf("revision %.20q... is longer than 255 characters", rev)
	}
	for _, c := range []byte(rev) {
		if c <= ' ' || c == 0x7f || strings.IndexByte(`\~^:?*[`, c) >= 0 {
			return fmt.Errorf("revision %q has %q, which git does not allow", rev, rune(c))
		}
	}
	if strings.Contains(rev, "@{") {
		return fmt.Errorf("revision %q has \"@{\", which git does not allow", rev)
	}
	for _, p := range strings.Split(rev, "/") {
		if p == "" || p == "." || p == ".." || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".lock") {
			return fmt.Errorf("revision %q is not a valid branch, tag or commit", rev)
		}
	}
	return nil
}

// validateFile refuses repository file names that are not clean relative
// slash-separated paths, since they become paths in the cache.
func validateFile(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, '\\') {
		return fmt.Errorf("file name %q is not a relative path in the repository", name)
	}
	for _, p := range strings.Split(name, "/") {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("file name %q is not a clean relative path in the repository", name)
		}
	}
	for _, c := range []byte(name) {
		if c < ' ' || c == 0x7f {
			return fmt.Errorf("file name %q has a control character", name)
		}
	}
	return nil
}

// Client downloads from a hub into a cache. Its zero value is not usable:
// NewClient fills it in from the environment.
type Client struct {
	// Endpoint is the hub's base URL, such as https://huggingface.co.
	Endpoint string
	// Token, if not empty, is sent as a bearer token, to Endpoint's host only.
	Token string
	// CacheDir is the hub cache directory, which holds the models--* folders.
	CacheDir string
	// Offline, if set, keeps the client off the network: everything comes
	// from the cache.
	Offline bool
	// HTTP is the client that makes requests; nil means
	// http.DefaultClient. Its redirect policy is replaced.
	HTTP *http.Client
	// Progress, if not nil, is called as each file downloads, with the bytes
	// done so far and the total, -1 when unknown.
	Progress func(file string, done, total int64)
}

// NewClient returns a Client configured as huggingface_hub configures itself
// from the environment, read at the time of the call:
//
//   - HF_ENDPOINT: the hub (default https://huggingface.co);
//   - HF_TOKEN, else the file at HF_TOKEN_PATH, else $HF_HOME/token: the token;
//   - HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, where
//     HF_HOME defaults to $XDG_CACHE_HOME/huggingface, else
//     ~/.cache/huggingface: the cache;
//   - HF_HUB_OFFLINE=1 (or ON, YES, TRUE): offline.
func NewClient() *Client {
	home := expandHome(os.Getenv("HF_HOME"))
	if home == "" {
		cache := expandHome(os.Getenv("XDG_CACHE_HOME"))
		if cache == "" {
			if h, err := os.UserHomeDir(); err == nil {
				cache = filepath.Join(h, ".cache")
			}
		}
		if cache != "" {
			home = filepath.Join(cache, "huggingface")
		}
	}
	cacheDir := expandHome(os.Getenv("HF_HUB_CACHE"))
	if cacheDir == "" {
		cacheDir = expandHome(os.Getenv("HUGGINGFACE_HUB_CACHE"))
	}
	if cacheDir == "" && home != "" {
		cacheDir = filepath.Join(home, "hub")
	}
	endpoint := strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/")
	if endpoint == "" {
		endpoint = defaultEndpoint
	}
	return &Client{
		Endpoint: endpoint,
		Token:    token(home),
		CacheDir: cacheDir,
		Offline:  isTrue(os.Getenv("HF_HUB_OFFLINE")),
	}
}

// token returns the token from HF_TOKEN or the token file, "" if neither
// holds one.
func token(home string) string {
	if t := strings.TrimSpace(os.Getenv("HF_TOKEN")); t != "" {
		return t
	}
	path := expandHome(os.Getenv("HF_TOKEN_PATH"))
	if path == "" {
		if home == "" {
			return ""
		}
		path = filepath.Join(home, "token")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		// No token file is the common case: anonymous access.
		return ""
	}
	return strings.TrimSpace(string(b))
}

// expandHome expands a leading "~", as Python's os.path.expanduser does for
// the same variables.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(h, p[1:])
}

func isTrue(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}
