package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrIncomplete is wrapped by Open when a directory has no manifest: a
// prepare run that is still going, was interrupted, or failed.
var ErrIncomplete = errors.New("dataset is incomplete (no manifest.json): the prepare run that wrote it did not finish")

// Dataset is an opened, validated dataset directory.
type Dataset struct {
	Dir      string
	Manifest Manifest
}

// Open reads and validates dir's manifest: schema version, count
// conservation, and that every listed file exists with its recorded size.
// Every reader of prepared data goes through Open, so an incomplete or
// foreign dataset is refused with a one-line reason.
func Open(dir string) (*Dataset, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, fmt.Errorf("dataset %s: %w", dir, serr)
		}
		return nil, fmt.Errorf("dataset %s: %w", dir, ErrIncomplete)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	d := &Dataset{Dir: dir, Manifest: m}
	for _, f := range d.allFiles() {
		st, err := os.Stat(d.Path(f.Path))
		if err != nil {
			return nil, fmt.Errorf("dataset %s: listed file missing: %w", dir, err)
		}
		if st.Size() != f.Bytes {
			return nil, fmt.Errorf("dataset %s: %s is %d bytes, manifest says %d", dir, f.Path, st.Size(), f.Bytes)
		}
	}
	return d, nil
}

// ParseManifest decodes and validates a manifest.
func ParseManifest(raw []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest.json: %w", err)
	}
	if m.SchemaVersion != SchemaVersion {
		return m, fmt.Errorf("manifest.json: schema_version %d, this build reads %d", m.SchemaVersion, SchemaVersion)
	}
	if m.Tokenizer.Hash == "" {
		return m, errors.New("manifest.json: tokenizer.hash is empty")
	}
	if err := m.Counts.Conserved(); err != nil {
		return m, fmt.Errorf("manifest.json: %w", err)
	}
	for name, s := range m.Splits {
		for _, f := range s.Files {
			if err := checkRelPath(f.Path); err != nil {
				return m, fmt.Errorf("manifest.json: split %s: %w", name, err)
			}
		}
	}
	for _, f := range m.Rejected {
		if err := checkRelPath(f.Path); err != nil {
			return m, fmt.Errorf("manifest.json: rejected: %w", err)
		}
	}
	return m, nil
}

// checkRelPath refuses paths that would let a hostile manifest point a
// reader outside the dataset directory.
func checkRelPath(p string) error {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "/") || !filepath.IsLocal(filepath.FromSlash(p)) {
		return fmt.Errorf("file path %q is not inside the dataset", p)
	}
	return nil
}

// Path returns the absolute location of a manifest-relative path.
func (d *Dataset) Path(rel string) string { return filepath.Join(d.Dir, filepath.FromSlash(rel)) }

// SplitFiles returns the Parquet files of a split, in manifest order.
func (d *Dataset) SplitFiles(split string) ([]string, error) {
	s, ok := d.Manifest.Splits[split]
	if !ok {
		return nil, fmt.Errorf("dataset %s: no split %q", d.Dir, split)
	}
	out := make([]string, len(s.Files))
	for i, f := range s.Files {
		out[i] = d.Path(f.Path)
	}
	return out, nil
}

// TokenizerPath is the directory holding the dataset's tokenizer files.
func (d *Dataset) TokenizerPath() string { return filepath.Join(d.Dir, TokenizerDir) }

func (d *Dataset) allFiles() []File {
	var all []File
	for _, s := range d.Manifest.Splits {
		all = append(all, s.Files...)
	}
	return append(all, d.Manifest.Rejected...)
}

// Verify re-hashes every listed file and compares it with the manifest, for
// callers that want to detect corruption, not just truncation.
func (d *Dataset) Verify() error {
	for _, f := range d.allFiles() {
		fh, err := os.Open(d.Path(f.Path))
		if err != nil {
			return fmt.Errorf("dataset %s: %w", d.Dir, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("dataset %s: %s: %w", d.Dir, f.Path, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
			return fmt.Errorf("dataset %s: %s has sha256 %s, manifest says %s", d.Dir, f.Path, got, f.SHA256)
		}
	}
	return nil
}
