package manager

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/serving/batcher"
	"github.com/nebras-ai/nebras/tracking"
)

// Candidate is the model a Source says should be serving.
type Candidate struct {
	// Key identifies the candidate's files: the manager loads a candidate
	// only when its Key differs from the one serving, and does not retry
	// a refused Key until it changes or a backoff has passed.
	Key string
	// Info describes the candidate; the manager fills in Dir and
	// LoadedAt.
	Info batcher.ModelInfo
}

// Source tells the manager which model to serve and provides its files.
type Source interface {
	// Resolve returns the model that should be serving now. It is called
	// every poll, so it should be cheap.
	Resolve(ctx context.Context) (Candidate, error)
	// Fetch makes the candidate's files available and returns the local
	// directory holding them.
	Fetch(ctx context.Context, c Candidate) (dir string, err error)
}

// DirSource serves the checkpoint in a local directory, reloading it when
// its files change.
type DirSource struct {
	Dir string
}

// Resolve keys the directory by the size and modification time of its
// checkpoint files: config.json, the safetensors files and the tokenizer.
// A checkpoint replaced file by file may be seen half written; it then
// fails to load, and its Key changes again once the writing is done.
func (s DirSource) Resolve(ctx context.Context) (Candidate, error) {
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return Candidate{}, fmt.Errorf("model directory %s: %w", s.Dir, err)
	}
	names := []string{model.ConfigFile, model.WeightsIndexFile, tokenizer.VocabFile, tokenizer.MergesFile}
	shards, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil {
		return Candidate{}, fmt.Errorf("model directory %s: %w", dir, err)
	}
	for _, p := range shards {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	var key strings.Builder
	for _, name := range names {
		st, err := os.Stat(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist) && name != model.ConfigFile:
			fmt.Fprintf(&key, "%s -\n", name)
		case err != nil:
			return Candidate{}, fmt.Errorf("model directory %s: %w", dir, err)
		default:
			fmt.Fprintf(&key, "%s %d %d\n", name, st.Size(), st.ModTime().UnixNano())
		}
	}
	return Candidate{
		Key:  key.String(),
		Info: batcher.ModelInfo{ID: filepath.Base(dir), Source: dir},
	}, nil
}

// Fetch returns the directory itself.
func (s DirSource) Fetch(ctx context.Context, c Candidate) (string, error) {
	return c.Info.Source, nil
}

// RegistrySource serves the version a registered model's alias points at
// (models:/NAME@ALIAS), following the alias as it moves.
type RegistrySource struct {
	Store tracking.Store
	Name  string
	// Alias defaults to "production".
	Alias string
	// CacheDir is where remote versions are downloaded; "" means
	// tracking.DownloadModel's default.
	CacheDir string
}

func (s RegistrySource) alias() string {
	if s.Alias == "" {
		return "production"
	}
	return s.Alias
}

// URI is the models:/ URI the source follows.
func (s RegistrySource) URI() string { return "models:/" + s.Name + "@" + s.alias() }

// Resolve looks the alias up: one registry call.
func (s RegistrySource) Resolve(ctx context.Context) (Candidate, error) {
	mv, err := s.Store.GetModelVersionByAlias(ctx, s.Name, s.alias())
	if err != nil {
		return Candidate{}, fmt.Errorf("%s: %w", s.URI(), err)
	}
	return Candidate{
		// The source is part of the key in case a registry is rebuilt and
		// reuses version numbers.
		Key: mv.Name + "/" + mv.Version + " " + mv.Source,
		Info: batcher.ModelInfo{
			ID: s.Name, Name: s.Name, Version: mv.Version, RunID: mv.RunID, Source: s.URI(),
		},
	}, nil
}

// Fetch downloads the resolved version by number, not through the alias,
// so that an alias moving meanwhile cannot mix two versions.
func (s RegistrySource) Fetch(ctx context.Context, c Candidate) (string, error) {
	uri := "models:/" + s.Name + "/" + c.Info.Version
	dir, mv, err := tracking.DownloadModel(ctx, s.Store, uri, s.CacheDir)
	if err != nil {
		return "", err
	}
	if mv.Version != c.Info.Version {
		return "", fmt.Errorf("%s resolved to version %s", uri, mv.Version)
	}
	return dir, nil
}
