package dataset

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeDataset writes a minimal, valid dataset and returns its directory.
func writeDataset(t *testing.T, mutate func(*Manifest)) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "train"), 0o755); err != nil {
		t.Fatal(err)
	}
	part := []byte("not really parquet, Open only checks presence and size")
	if err := os.WriteFile(filepath.Join(dir, "train", "part-00000-of-00001.parquet"), part, 0o644); err != nil {
		t.Fatal(err)
	}
	m := Manifest{
		SchemaVersion: SchemaVersion,
		Tokenizer:     TokenizerInfo{Spec: "gpt2", Hash: "sha256:abc", VocabSize: 50257, EOT: 50256},
		Counts:        Counts{Read: 10, Kept: 6, Duplicates: 1, Filtered: map[string]int64{"no_agent_reply": 2}, Rejected: map[string]int64{"bad_json": 1}},
		Splits: map[string]SplitInfo{"train": {Conversations: 6, Rows: 9, Files: []File{
			{Path: "train/part-00000-of-00001.parquet", Rows: 9, Bytes: int64(len(part))},
		}}},
	}
	if mutate != nil {
		mutate(&m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Manifest)
		want   string // "" = opens
	}{
		{"valid", nil, ""},
		{"future schema", func(m *Manifest) { m.SchemaVersion = SchemaVersion + 1 }, "schema_version"},
		{"counts do not conserve", func(m *Manifest) { m.Counts.Kept++ }, "do not conserve"},
		{"no tokenizer hash", func(m *Manifest) { m.Tokenizer.Hash = "" }, "tokenizer.hash"},
		{"missing file", func(m *Manifest) {
			s := m.Splits["train"]
			s.Files = append(s.Files, File{Path: "train/part-00001-of-00001.parquet"})
			m.Splits["train"] = s
		}, "listed file missing"},
		{"truncated file", func(m *Manifest) { m.Splits["train"].Files[0].Bytes += 10 }, "manifest says"},
		{"path escapes", func(m *Manifest) { m.Splits["train"].Files[0].Path = "../../etc/passwd" }, "not inside the dataset"},
		{"absolute path", func(m *Manifest) { m.Rejected = []File{{Path: "/etc/passwd"}} }, "not inside the dataset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Open(writeDataset(t, tt.mutate))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if files, _ := d.SplitFiles("train"); len(files) != 1 {
					t.Errorf("SplitFiles = %v", files)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestOpenRefusesIncomplete(t *testing.T) {
	dir := writeDataset(t, nil)
	if err := os.Remove(filepath.Join(dir, ManifestName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Open without manifest = %v, want ErrIncomplete", err)
	}
	if _, err := Open(filepath.Join(dir, "nope")); err == nil || errors.Is(err, ErrIncomplete) {
		t.Fatalf("Open of a missing directory = %v, want a not-exist error", err)
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	dir := writeDataset(t, func(m *Manifest) {
		m.Splits["train"].Files[0].SHA256 = "0000"
	})
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("Verify = %v, want a sha256 mismatch", err)
	}
}

// FuzzParseManifest: a manifest is untrusted input to every reader.
func FuzzParseManifest(f *testing.F) {
	valid, _ := json.Marshal(Manifest{SchemaVersion: SchemaVersion, Tokenizer: TokenizerInfo{Hash: "x"}})
	f.Add(valid)
	f.Add([]byte(`{"schema_version":1,"tokenizer":{"hash":"h"},"splits":{"train":{"files":[{"path":"../x"}]}}}`))
	f.Add([]byte(`{"schema_version":1,"counts":{"read":-1}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseManifest(raw)
		if err != nil {
			return
		}
		if m.Counts.Conserved() != nil {
			t.Fatal("accepted a manifest whose counts do not conserve")
		}
		for _, s := range m.Splits {
			for _, file := range s.Files {
				if !filepath.IsLocal(filepath.FromSlash(file.Path)) {
					t.Fatalf("accepted path %q", file.Path)
				}
			}
		}
	})
}

func TestManifestDigestFollowsContentNotTime(t *testing.T) {
	m := Manifest{SchemaVersion: 1, Tokenizer: TokenizerInfo{Hash: "sha256:aa"}, Splits: map[string]SplitInfo{
		"train": {Files: []File{{Path: "train/b.parquet", SHA256: "02"}, {Path: "train/a.parquet", SHA256: "01"}}},
		"val":   {Files: []File{{Path: "val/a.parquet", SHA256: "03"}}},
	}}
	d := m.Digest()
	if len(d) != 16 {
		t.Fatalf("digest %q", d)
	}
	m2 := m
	m2.CreatedAt = m.CreatedAt.Add(time.Hour)
	m2.Splits = map[string]SplitInfo{"val": m.Splits["val"], "train": {Files: []File{m.Splits["train"].Files[1], m.Splits["train"].Files[0]}}}
	if m2.Digest() != d {
		t.Error("digest changed with the time or the order files were listed in")
	}
	m2.Splits["val"] = SplitInfo{Files: []File{{Path: "val/a.parquet", SHA256: "04"}}}
	if m2.Digest() == d {
		t.Error("digest did not change with a file's content")
	}
}
