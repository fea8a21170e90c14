package orchestrate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nebras-ai/nebras/internal/filehash"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// keyVersion changes every key when what a stage does changes in a way
// its settings do not show.
const keyVersion = "nebras-run-v1"

// RecordFile is the file in a stage's directory that marks it complete.
const RecordFile = "record.json"

// keyDirLen is how many hex digits of a key name its directory.
const keyDirLen = 16

// Record is what a completed stage produced: written last into the
// stage's directory, it is what makes the stage's key a cache hit. Paths
// are relative to the work directory.
type Record struct {
	Stage   string    `json:"stage"`
	Key     string    `json:"key"`
	Inputs  any       `json:"inputs"` // what the key hashes
	Created time.Time `json:"created"`
	Seconds float64   `json:"seconds"`
	// RunID is the stage's MLflow run.
	RunID string `json:"run_id,omitempty"`

	// tickets
	Tickets       string `json:"tickets,omitempty"`
	TicketsSHA256 string `json:"tickets_sha256,omitempty"`
	Conversations int    `json:"conversations,omitempty"`
	// prepare
	Dataset       string           `json:"dataset,omitempty"`
	DatasetDigest string           `json:"dataset_digest,omitempty"`
	Examples      map[string]int64 `json:"examples,omitempty"`
	// train
	RegisteredModel string  `json:"registered_model,omitempty"`
	Version         string  `json:"version,omitempty"`
	ModelDir        string  `json:"model_dir,omitempty"`
	Steps           int     `json:"steps,omitempty"`
	ValPerplexity   float64 `json:"val_perplexity,omitempty"`
	// eval
	EvalJSON    string   `json:"eval_json,omitempty"`
	Report      string   `json:"report,omitempty"`
	Blessed     *bool    `json:"blessed,omitempty"`
	Gate        string   `json:"gate,omitempty"`
	GateReasons []string `json:"gate_reasons,omitempty"`
	Baseline    string   `json:"baseline,omitempty"`
	// promote
	Promotion         string `json:"promotion,omitempty"` // promoted, already in production, not blessed, disabled
	ProductionVersion string `json:"production_version,omitempty"`
	PreviousVersion   string `json:"previous_version,omitempty"`
}

// stageKey hashes a stage's name and inputs (JSON: map keys sorted).
func stageKey(stage string, inputs any) (string, error) {
	b, err := json.Marshal(inputs)
	if err != nil {
		return "", fmt.Errorf("key: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", keyVersion, stage)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readRecord reads a stage directory's record; ok is false when there is
// none or it is not for key.
func readRecord(dir, key string) (rec *Record, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read record: %w", err)
	}
	rec = &Record{}
	if err := json.Unmarshal(b, rec); err != nil || rec.Key != key {
		return nil, false, nil // damaged or foreign: redo the stage
	}
	return rec, true, nil
}

// writeRecord commits a stage: atomically, and last.
func writeRecord(dir string, rec *Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, RecordFile), append(b, '\n'))
}

// hashDir hashes the regular files of a directory tree, names and
// contents, in name order.
func hashDir(dir string) (string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		sum, err := hashFile(n)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(dir, n)
		fmt.Fprintf(h, "%s %s\n", filepath.ToSlash(rel), sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile returns the SHA-256 of a file's content.
func hashFile(path string) (string, error) {
	sum, _, err := filehash.SHA256(path)
	return sum, err
}
