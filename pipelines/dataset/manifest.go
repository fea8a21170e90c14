// Package dataset defines a prepared dataset on disk: the Parquet row schema,
// the manifest.json that makes a dataset complete, and Open, which every
// reader (training, eval, tooling) goes through so that an incomplete or
// foreign dataset is refused with a one-line reason.
//
// Layout of a dataset directory:
//
//	manifest.json                    written last, atomically; absent = incomplete
//	tokenizer/vocab.json, merges.txt the tokenizer the ids were made with
//	train/part-00000-of-00004.parquet
//	val/part-00000-of-00004.parquet
//	test/part-00000-of-00004.parquet
//	rejected/part-00000.jsonl        dead letters: reason, file:line, raw record
package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// SchemaVersion is the version of the manifest and Parquet schema this code
// writes and reads. Bump it on any incompatible change.
const SchemaVersion = 1

// ManifestName is the manifest's file name inside a dataset directory.
const ManifestName = "manifest.json"

// TokenizerDir is where a dataset keeps a copy of its tokenizer, so a model
// trained from scratch on it uses exactly the ids it was made with.
const TokenizerDir = "tokenizer"

// RejectedDir holds the dead-letter files.
const RejectedDir = "rejected"

// Manifest describes a complete dataset.
type Manifest struct {
	SchemaVersion int       `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	// Generator names the program that wrote the dataset.
	Generator    string        `json:"generator"`
	Tokenizer    TokenizerInfo `json:"tokenizer"`
	ChatTemplate string        `json:"chat_template"`
	// Options are the pipeline options the dataset was made with, verbatim.
	Options json.RawMessage `json:"options"`
	Inputs  []Input         `json:"inputs"`
	Counts  Counts          `json:"counts"`
	// Splits are keyed by split name (train, val, test).
	Splits map[string]SplitInfo `json:"splits"`
	// Rejected lists the dead-letter files, relative to the dataset root.
	Rejected []File `json:"rejected_files"`
}

// TokenizerInfo identifies the tokenizer the ids were made with.
type TokenizerInfo struct {
	Spec      string `json:"spec"`
	Hash      string `json:"hash"`
	VocabSize int    `json:"vocab_size"`
	EOT       int    `json:"eot_id"`
}

// Input is one input file, hashed as read.
type Input struct {
	Path    string `json:"path"`
	Format  string `json:"format"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
	Records int64  `json:"records"`
}

// Counts conserve: Read = Kept + sum(Filtered) + Duplicates + sum(Rejected).
// A record is a JSONL line, a CSV ticket (its rows grouped), or a CSV row
// rejected on its own before it could join a ticket.
type Counts struct {
	Read       int64            `json:"read"`
	Kept       int64            `json:"kept"`
	Filtered   map[string]int64 `json:"filtered"`
	Duplicates int64            `json:"duplicates"`
	// IDCollisions counts kept conversations whose id an earlier kept
	// conversation with different content already had; their example ids
	// get a "~2", "~3", ... suffix on the conversation id to stay unique.
	IDCollisions int64            `json:"id_collisions"`
	Rejected     map[string]int64 `json:"rejected"`
	// CSVRows counts CSV data rows read (each row is one message).
	CSVRows int64 `json:"csv_rows"`
	// TurnsDropped counts turns removed inside kept conversations, by
	// reason (e.g. empty after cleaning).
	TurnsDropped map[string]int64 `json:"turns_dropped"`
	// Redactions counts PII placeholders inserted, by type.
	Redactions map[string]int64 `json:"redactions"`
	// ExamplesDropped counts agent turns that produced no example, by reason.
	ExamplesDropped map[string]int64 `json:"examples_dropped"`
}

// Conserved reports whether the counts add up, and if not, how.
func (c Counts) Conserved() error {
	sum := c.Kept + c.Duplicates + total(c.Filtered) + total(c.Rejected)
	if sum != c.Read {
		return fmt.Errorf("counts do not conserve: read %d != kept %d + filtered %d + duplicates %d + rejected %d",
			c.Read, c.Kept, total(c.Filtered), c.Duplicates, total(c.Rejected))
	}
	return nil
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// SplitInfo sums up one split.
type SplitInfo struct {
	Conversations int64 `json:"conversations"`
	Rows          int64 `json:"rows"`
	Tokens        int64 `json:"tokens"`
	// TargetTokens counts the tokens under the loss mask.
	TargetTokens int64  `json:"target_tokens"`
	Files        []File `json:"files"`
}

// File is one output file, relative to the dataset root.
type File struct {
	Path   string `json:"path"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// SortFiles orders files by path so manifests are byte-stable across runs
// whatever order the runner finished the shards in.
func SortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
}

// Digest identifies the dataset's content: a hash over the tokenizer and
// every split file's SHA-256, so two runs of prepare that wrote the same
// data share it whatever their timestamps. It is the digest MLflow records
// for the dataset input (16 hex digits, as short as MLflow's own).
func (m Manifest) Digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "schema %d\ntokenizer %s\n", m.SchemaVersion, m.Tokenizer.Hash)
	names := make([]string, 0, len(m.Splits))
	for name := range m.Splits {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		files := slices.Clone(m.Splits[name].Files)
		SortFiles(files)
		for _, f := range files {
			fmt.Fprintf(h, "%s %s %s\n", name, f.Path, f.SHA256)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
