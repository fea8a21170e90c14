// Package sgd locates the shared Schema-Guided Dialogue corpus
// (../shared/data/sgd/sgd_train_dev.jsonl beside the repository) for tests
// and benchmarks. The corpus is never committed; callers skip cleanly when
// it is absent so the suite passes on a fresh clone.
package sgd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvVar overrides where the corpus is looked for.
const EnvVar = "NEBRAS_SGD"

// relPath is the corpus location relative to the repository root.
const relPath = "../shared/data/sgd/sgd_train_dev.jsonl"

// Find returns the path of the SGD corpus: $NEBRAS_SGD when set, otherwise
// ../shared/data/sgd/sgd_train_dev.jsonl relative to the module root found
// by walking up from the working directory.
func Find() (string, error) {
	if p := os.Getenv(EnvVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("sgd: %s=%s: %w", EnvVar, p, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("sgd: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, relPath)
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("sgd: corpus not found at %s: %w", p, err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("sgd: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Path returns the corpus path or skips the test or benchmark with a message
// saying where the corpus was looked for.
func Path(tb testing.TB) string {
	tb.Helper()
	p, err := Find()
	if err != nil {
		tb.Skipf("skipping: SGD corpus unavailable (%v); set %s or place it at %s beside the repo", err, EnvVar, relPath)
	}
	return p
}
