// Package atomicfile writes files so that readers see the old content or
// the new, never a part: the data goes to a temporary file in the same
// directory, is synced, and is renamed over the destination.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write streams the output of write to path atomically, with mode 0644.
// On any error the temporary file is removed and path is left as it was.
func Write(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), tempPattern(filepath.Base(path)))
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", filepath.Base(path), err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteFile writes data to path atomically, with mode 0644.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// tempPattern names the temporary file after the destination, so a
// leftover is recognisable, but keeps the name inside the 255 bytes file
// systems allow: a destination may use nearly all of them itself (MLflow
// keys of 250 characters become file names).
func tempPattern(base string) string {
	const keep = 64
	if len(base) > keep {
		base = base[:keep]
	}
	return "." + base + ".tmp-*"
}
