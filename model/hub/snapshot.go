package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Snapshot makes sure that the files of ref are in the cache and returns the
// snapshot directory that holds them, …/snapshots/{commit}. Each required
// file must exist in the repository; an optional file that does not is
// skipped. File names are slash-separated paths in the repository.
//
// When the client is offline, or the hub cannot be reached (a network error
// or a 5xx answer), Snapshot serves ref from the cache if the cache holds
// every required file. A revision that is a commit already in the cache is
// served without touching the network; a branch or tag is checked with the
// hub each time, as huggingface_hub does, though files already in the cache
// are not downloaded again.
func (c *Client) Snapshot(ctx context.Context, ref Ref, required, optional []string) (string, error) {
	if err := ref.validate(); err != nil {
		return "", fmt.Errorf("hub: %s: %w", ref, err)
	}
	for _, name := range append(append([]string(nil), required...), optional...) {
		if err := validateFile(name); err != nil {
			return "", fmt.Errorf("hub: %s: %w", ref, err)
		}
	}
	if len(required)+len(optional) == 0 {
		return "", fmt.Errorf("hub: %s: no files requested", ref)
	}
	if c.CacheDir == "" {
		return "", fmt.Errorf("hub: %s: no cache directory: set HF_HUB_CACHE or HF_HOME", ref)
	}
	repoDir := c.repoDir(ref.Repo)
	if c.Offline {
		dir, err := fromCache(repoDir, ref, required)
		if err != nil {
			return "", fmt.Errorf("hub: %s: offline (HF_HUB_OFFLINE) and %w", ref, err)
		}
		return dir, nil
	}
	// A commit never changes, so a complete snapshot of one needs no check.
	if rev := ref.revision(); isCommit(rev) && complete(repoDir, rev, required, optional) {
		return filepath.Join(repoDir, "snapshots", rev), nil
	}
	dir, err := c.download(ctx, repoDir, ref, required, optional)
	var down *unreachableError
	if !errors.As(err, &down) {
		return dir, err
	}
	dir, cerr := fromCache(repoDir, ref, required)
	if cerr != nil {
		return "", fmt.Errorf("hub: %s: hub unreachable (%v) and %w", ref, down.err, cerr)
	}
	return dir, nil
}

// repoDir returns the cache folder of a model repository.
func (c *Client) repoDir(repo string) string {
	return filepath.Join(c.CacheDir, repoFolder(repo))
}

func repoFolder(repo string) string {
	return "models--" + strings.ReplaceAll(repo, "/", "--")
}

// download fetches the files of ref into the cache and returns the snapshot
// directory.
func (c *Client) download(ctx context.Context, repoDir string, ref Ref, required, optional []string) (string, error) {
	var (
		rev     = ref.revision()
		commit  string
		missing []string // optional files that do not exist
	)
	files := make([]string, 0, len(required)+len(optional))
	files = append(append(files, required...), optional...)
	for i, name := range files {
		isOptional := i >= len(required)
		// Once the first file has named the commit, ask for that commit, so
		// that a push during the download cannot mix two revisions.
		at := rev
		if commit != "" {
			at = commit
		}
		meta, err := c.head(ctx, ref.Repo, at, name)
		var se *statusError
		if isOptional && errors.As(err, &se) && se.fileMissing() {
			if commit == "" && isCommit(se.commit) {
				commit = se.commit
			}
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return "", c.describe(ref, name, err)
		}
		if commit == "" {
			commit = meta.commit
		} else if meta.commit != commit {
			return "", fmt.Errorf("hub: %s: %s: hub answered for commit %s, want %s", ref, name, meta.commit, commit)
		}
		if err := c.fetch(ctx, repoDir, name, meta); err != nil {
			return "", c.describe(ref, name, err)
		}
		if err := link(repoDir, commit, name, meta.etag); err != nil {
			return "", fmt.Errorf("hub: %s: %s: %w", ref, name, err)
		}
	}
	if commit == "" {
		return "", fmt.Errorf("hub: %s: none of the files exist and the hub did not name the commit", ref)
	}
	for _, name := range missing {
		// huggingface_hub records files known to be absent so that it need
		// not ask again; recording them keeps the cache as it would be.
		if err := touch(filepath.Join(repoDir, ".no_exist", commit, filepath.FromSlash(name))); err != nil {
			return "", fmt.Errorf("hub: %s: %s: %w", ref, name, err)
		}
	}
	if rev != commit {
		if err := writeRef(repoDir, rev, commit); err != nil {
			return "", fmt.Errorf("hub: %s: %w", ref, err)
		}
	}
	return filepath.Join(repoDir, "snapshots", commit), nil
}

// describe turns an error about one file into the error Snapshot returns.
// An unreachable hub keeps its type so that Snapshot can fall back to the
// cache.
func (c *Client) describe(ref Ref, name string, err error) error {
	var down *unreachableError
	var se *statusError
	switch {
	case errors.As(err, &down):
		return err
	case errors.As(err, &se):
		return fmt.Errorf("hub: %s: %s: %s", ref, name, se.explain(ref, c.Token != ""))
	}
	return fmt.Errorf("hub: %s: %s: %w", ref, name, err)
}

// fromCache returns the cached snapshot of ref if it holds every required
// file.
func fromCache(repoDir string, ref Ref, required []string) (string, error) {
	rev := ref.revision()
	commit := rev
	if !isCommit(rev) {
		b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev)))
		if err != nil {
			return "", fmt.Errorf("the cache %s has no record of revision %q", repoDir, rev)
		}
		commit = strings.TrimSpace(string(b))
		if !isCommit(commit) {
			return "", fmt.Errorf("the cache file %s holds %q, not a commit", filepath.Join(repoDir, "refs", rev), commit)
		}
	}
	dir := filepath.Join(repoDir, "snapshots", commit)
	var lacks []string
	for _, name := range required {
		if !isFile(filepath.Join(dir, filepath.FromSlash(name))) {
			lacks = append(lacks, name)
		}
	}
	if len(lacks) > 0 {
		return "", fmt.Errorf("the cached snapshot %s lacks %s", dir, strings.Join(lacks, ", "))
	}
	return dir, nil
}

// complete reports whether the cached snapshot of commit has every required
// file and every optional one, or a record that it does not exist.
func complete(repoDir, commit string, required, optional []string) bool {
	dir := filepath.Join(repoDir, "snapshots", commit)
	for _, name := range required {
		if !isFile(filepath.Join(dir, filepath.FromSlash(name))) {
			return false
		}
	}
	for _, name := range optional {
		rel := filepath.FromSlash(name)
		if !isFile(filepath.Join(dir, rel)) && !isFile(filepath.Join(repoDir, ".no_exist", commit, rel)) {
			return false
		}
	}
	return true
}

// isFile reports whether path is a regular file, following symlinks, so a
// snapshot link whose blob is gone does not count.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// link points the snapshot entry of name at commit to the blob etag: a
// relative symlink as huggingface_hub makes, or a copy where the file system
// has no symlinks.
func link(repoDir, commit, name, etag string) error {
	ptr := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(name))
	if isFile(ptr) {
		// The same commit and name always hold the same content.
		return nil
	}
	blob := filepath.Join(repoDir, "blobs", etag)
	if err := os.MkdirAll(filepath.Dir(ptr), 0o777); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(ptr), blob)
	if err != nil {
		return err
	}
	// Build the entry under a temporary name and rename it into place, so
	// that a dangling link is replaced and a concurrent process sees either
	// no entry or a whole one.
	tmp := tempName(ptr)
	if err := os.Symlink(rel, tmp); err != nil {
		if err := copyFile(blob, tmp); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("link snapshot: %w", err)
		}
	}
	if err := os.Rename(tmp, ptr); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link snapshot: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o666)
}

// writeRef records that revision rev is at commit, replacing the file
// atomically so that a reader never sees it half written. Like
// huggingface_hub, it writes the bare commit without a newline.
func writeRef(repoDir, rev, commit string) error {
	path := filepath.Join(repoDir, "refs", filepath.FromSlash(rev))
	if b, err := os.ReadFile(path); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return fmt.Errorf("record revision %s: %w", rev, err)
	}
	tmp := tempName(path)
	if err := os.WriteFile(tmp, []byte(commit), 0o666); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record revision %s: %w", rev, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record revision %s: %w", rev, err)
	}
	return nil
}

func touch(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	return f.Close()
}

// tempName returns an unused-looking name next to path for a file that is
// renamed onto path.
func tempName(path string) string {
	return path + ".tmp" + strconv.FormatUint(rand.Uint64(), 36)
}

// isCommit reports whether rev is a full commit hash, as huggingface_hub
// decides it.
func isCommit(rev string) bool {
	if len(rev) != 40 {
		return false
	}
	return isLowerHex(rev)
}

func isLowerHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
