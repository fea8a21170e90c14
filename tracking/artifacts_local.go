package tracking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// localArtifactRepo stores artifacts in a local directory.
type localArtifactRepo struct {
	root string // absolute directory
	uri  string
}

// NewLocalArtifactRepo returns the artifact repository at root, a file:
// URI or a local path. The directory is created when something is
// written to it.
func NewLocalArtifactRepo(root string) (ArtifactRepo, error) {
	p, err := fileURIToPath(root)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("artifact root %q: %w", root, err)
	}
	uri := root
	if uriScheme(root) == "" {
		uri = pathToFileURI(abs)
	}
	return &localArtifactRepo{root: abs, uri: uri}, nil
}

// URI returns the artifact root's URI.
func (r *localArtifactRepo) URI() string { return r.uri }

// cleanArtifactPath checks a relative slash path and returns it cleaned
// ("" for the root). Paths that are absolute or climb out of the root
// with ".." are refused: artifact paths come from callers and servers.
func cleanArtifactPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" || strings.ContainsRune(p, 0) {
		return "", Errorf(CodeInvalidParameterValue, "artifact path %q must be relative, with forward slashes", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return "", Errorf(CodeInvalidParameterValue, "artifact path %q leaves the artifact root", p)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// local returns the filesystem path of a cleaned artifact path.
func (r *localArtifactRepo) local(clean string) string {
	if clean == "" {
		return r.root
	}
	return filepath.Join(r.root, filepath.FromSlash(clean))
}

// LogArtifact copies the file or directory at localPath into the
// directory artifactPath, keeping its base name. Each file is written
// atomically; symbolic links to files are copied as files, other
// non-regular files are skipped.
func (r *localArtifactRepo) LogArtifact(ctx context.Context, localPath, artifactPath string) error {
	clean, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	st, err := os.Stat(localPath)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	dest := filepath.Join(r.local(clean), filepath.Base(localPath))
	if !st.IsDir() {
		return copyFileAtomic(ctx, localPath, dest)
	}
	return filepath.WalkDir(localPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(localPath, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dest, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		return copyFileAtomic(ctx, p, target)
	})
}

// copyFileAtomic copies src to dst through a temporary file and a
// rename, creating dst's directory.
func copyFileAtomic(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy artifact: %w", err)
	}
	if err := atomicfile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return fmt.Errorf("copy artifact %s: %w", filepath.Base(src), err)
	}
	return nil
}

// Put stores the content of body as the file at artifactPath, atomically.
func (r *localArtifactRepo) Put(ctx context.Context, artifactPath string, body io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	clean, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return err
	}
	if clean == "" {
		return Errorf(CodeInvalidParameterValue, "put artifact: empty path")
	}
	dst := r.local(clean)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("put artifact %s: %w", clean, err)
	}
	if err := atomicfile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(w, body)
		return err
	}); err != nil {
		return fmt.Errorf("put artifact %s: %w", clean, err)
	}
	return nil
}

// List lists the direct children of the directory at artifactPath,
// sorted by path. A missing path or a file lists nothing, as in MLflow's
// local repository.
func (r *localArtifactRepo) List(ctx context.Context, artifactPath string) ([]FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	clean, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(r.local(clean))
	if err != nil {
		var pe *fs.PathError
		if errors.Is(err, fs.ErrNotExist) || (errors.As(err, &pe) && isNotDir(r.local(clean))) {
			return []FileInfo{}, nil
		}
		return nil, fmt.Errorf("list artifacts %q: %w", clean, err)
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		if isAtomicTemp(e.Name()) {
			continue
		}
		fi := FileInfo{Path: path.Join(clean, e.Name()), IsDir: e.IsDir()}
		if !e.IsDir() {
			info, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return nil, fmt.Errorf("list artifacts %q: %w", clean, err)
			}
			fi.FileSize = info.Size()
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func isNotDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Download copies the file or directory at artifactPath to the same
// relative path under localDir and returns that path (localDir itself
// for the root).
func (r *localArtifactRepo) Download(ctx context.Context, artifactPath, localDir string) (string, error) {
	clean, err := cleanArtifactPath(artifactPath)
	if err != nil {
		return "", err
	}
	src := r.local(clean)
	dest := localDir
	if clean != "" {
		dest = filepath.Join(localDir, filepath.FromSlash(clean))
	}
	st, err := os.Stat(src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", Errorf(CodeResourceDoesNotExist, "artifact %q does not exist under %s", clean, r.uri)
		}
		return "", fmt.Errorf("download artifact %q: %w", clean, err)
	}
	if !st.IsDir() {
		return dest, copyFileAtomic(ctx, src, dest)
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dest, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular() && !isAtomicTemp(d.Name()):
			return copyFileAtomic(ctx, p, target)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("download artifact %q: %w", clean, err)
	}
	return dest, nil
}
