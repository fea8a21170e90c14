package tracking

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocalArtifactRepo(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "my artifacts")
	repo, err := NewLocalArtifactRepo("file://" + strings.ReplaceAll(root, " ", "%20"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"model/MLmodel":          "flavors: {}\n",
		"model/data/weights.bin": "0123456789",
		"notes.txt":              "hello",
	})
	if err := repo.LogArtifact(ctx, filepath.Join(src, "model"), ""); err != nil {
		t.Fatal(err)
	}
	if err := repo.LogArtifact(ctx, filepath.Join(src, "notes.txt"), "docs/v1"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Put(ctx, "metrics/summary.json", strings.NewReader(`{"acc": 1}`)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "model", "data", "weights.bin")); got != "0123456789" {
		t.Errorf("copied file = %q", got)
	}

	list := func(p string) string {
		t.Helper()
		infos, err := repo.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, fi := range infos {
			if fi.IsDir {
				parts = append(parts, fi.Path+"/")
			} else {
				parts = append(parts, fmt.Sprintf("%s:%d", fi.Path, fi.FileSize))
			}
		}
		return strings.Join(parts, " ")
	}
	for p, want := range map[string]string{
		"":              "docs/ metrics/ model/",
		"model":         "model/MLmodel:12 model/data/",
		"model/data":    "model/data/weights.bin:10",
		"model/data/":   "model/data/weights.bin:10",
		"docs/v1":       "docs/v1/notes.txt:5",
		"missing":       "",
		"model/MLmodel": "",
	} {
		if got := list(p); got != want {
			t.Errorf("List(%q) = %q, want %q", p, got, want)
		}
	}

	dst := t.TempDir()
	got, err := repo.Download(ctx, "model", dst)
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(dst, "model") || readFile(t, filepath.Join(dst, "model", "data", "weights.bin")) != "0123456789" {
		t.Errorf("Download(model) = %q", got)
	}
	got, err = repo.Download(ctx, "docs/v1/notes.txt", dst)
	if err != nil || got != filepath.Join(dst, "docs", "v1", "notes.txt") || readFile(t, got) != "hello" {
		t.Errorf("Download(file) = %q, %v", got, err)
	}
	all := t.TempDir()
	if got, err := repo.Download(ctx, "", all); err != nil || got != all || readFile(t, filepath.Join(all, "metrics", "summary.json")) != `{"acc": 1}` {
		t.Errorf("Download(root) = %q, %v", got, err)
	}
	if _, err := repo.Download(ctx, "nope", dst); !errors.Is(err, ErrNotFound) {
		t.Errorf("Download(missing) = %v", err)
	}
}

func TestLocalArtifactRepoRefusesEscapes(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	repo, err := NewLocalArtifactRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	if repo.URI() != "file://"+root {
		t.Errorf("URI() = %q", repo.URI())
	}
	src := filepath.Join(base, "f.txt")
	writeTree(t, base, map[string]string{"f.txt": "x"})
	for _, p := range []string{"../escape", "a/../../escape", "/etc/passwd", `a\..\..\escape`, ".."} {
		t.Run(p, func(t *testing.T) {
			if err := repo.Put(ctx, p, strings.NewReader("x")); !errors.Is(err, ErrInvalid) {
				t.Errorf("Put(%q) = %v", p, err)
			}
			if err := repo.LogArtifact(ctx, src, p); !errors.Is(err, ErrInvalid) {
				t.Errorf("LogArtifact(_, %q) = %v", p, err)
			}
			if _, err := repo.List(ctx, p); !errors.Is(err, ErrInvalid) {
				t.Errorf("List(%q) = %v", p, err)
			}
			if _, err := repo.Download(ctx, p, t.TempDir()); !errors.Is(err, ErrInvalid) {
				t.Errorf("Download(%q) = %v", p, err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(base, "escape")); !os.IsNotExist(err) {
		t.Errorf("something was written outside the root: %v", err)
	}
	// The root itself is a directory, not a file to put.
	if err := repo.Put(ctx, "", strings.NewReader("x")); err == nil {
		t.Error("Put to the root itself succeeded")
	}
	if _, err := NewLocalArtifactRepo("s3://bucket/x"); err == nil || !strings.Contains(err.Error(), "s3") {
		t.Errorf("s3 root: %v", err)
	}
}
