package pipelines

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// joinPath joins a dataset-relative path onto a root that may be a local
// path or a URL-style path (gs://bucket/dir).
func joinPath(root string, elem ...string) string {
	if strings.Contains(root, "://") {
		return strings.TrimSuffix(root, "/") + "/" + path.Join(elem...)
	}
	return filepath.Join(append([]string{root}, elem...)...)
}

func isLocal(p string) bool { return !strings.Contains(p, "://") }

// tmpName returns a unique temp file name in dir, so two attempts of the same
// bundle never write the same temp file.
func tmpName(dir, base string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("pipelines: crypto/rand: %v", err))
	}
	return joinPath(dir, base+"."+hex.EncodeToString(b[:])+".tmp")
}

// hashingWriter counts and hashes what is written through it.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashingWriter(w io.Writer) *hashingWriter { return &hashingWriter{w: w, h: sha256.New()} }

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

func (hw *hashingWriter) sum() string { return hex.EncodeToString(hw.h.Sum(nil)) }

// writeAtomic writes a file through Beam's filesystem under a temp name in
// tmpDir and renames it to dst once it is complete, so a reader (or a
// retried bundle) never sees a partial file at dst. It returns the file's
// size and sha256.
func writeAtomic(ctx context.Context, tmpDir, dst string, write func(io.Writer) error) (int64, string, error) {
	fs, err := filesystem.New(ctx, dst)
	if err != nil {
		return 0, "", err
	}
	defer fs.Close()
	tmp := tmpName(tmpDir, path.Base(filepath.ToSlash(dst)))
	wc, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return 0, "", fmt.Errorf("create %s: %w", tmp, err)
	}
	hw := newHashingWriter(wc)
	if err := write(hw); err != nil {
		wc.Close()
		removeQuiet(ctx, fs, tmp)
		return 0, "", fmt.Errorf("write %s: %w", dst, err)
	}
	if err := wc.Close(); err != nil {
		removeQuiet(ctx, fs, tmp)
		return 0, "", fmt.Errorf("write %s: %w", dst, err)
	}
	if isLocal(dst) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return 0, "", err
		}
	}
	if err := filesystem.Rename(ctx, fs, tmp, dst); err != nil {
		removeQuiet(ctx, fs, tmp)
		return 0, "", fmt.Errorf("rename %s to %s: %w", tmp, dst, err)
	}
	return hw.n, hw.sum(), nil
}

func removeQuiet(ctx context.Context, fs filesystem.Interface, p string) {
	if rm, ok := fs.(filesystem.Remover); ok {
		_ = rm.Remove(ctx, p)
	}
}

// removeTree removes the files under dir (dir/*, dir/*/*), and on local
// disks the emptied directories too. Only the dataset's own layout is ever
// passed here, never a user directory as a whole.
func removeTree(ctx context.Context, dir string) error {
	fs, err := filesystem.New(ctx, dir)
	if err != nil {
		return err
	}
	defer fs.Close()
	if isLocal(dir) {
		return os.RemoveAll(dir)
	}
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("%T cannot remove files", fs)
	}
	var errs []error
	for _, pattern := range []string{joinPath(dir, "*"), joinPath(dir, "*", "*")} {
		files, err := fs.List(ctx, pattern)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := rm.Remove(ctx, f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// readFile reads a whole (small) file through Beam's filesystem.
func readFile(ctx context.Context, p string) ([]byte, error) {
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	return filesystem.Read(ctx, fs, p)
}

// exists reports whether p names an existing file.
func exists(ctx context.Context, p string) (bool, error) {
	if isLocal(p) {
		_, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return false, err
	}
	defer fs.Close()
	files, err := fs.List(ctx, p)
	if err != nil {
		return false, err
	}
	return len(files) > 0, nil
}
