package pipelines

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/transforms"
)

// Generator is recorded in every manifest.
const Generator = "nebras prepare"

// bytesPerShard sizes automatic sharding: one shard per 64 MiB of input
// keeps a shard writer's working set to a few hundred MB whatever the
// input size, and gives every worker something to do on large inputs.
const bytesPerShard = 64 << 20

// Result is what a prepare run produced.
type Result struct {
	Dir      string
	Manifest dataset.Manifest
	Elapsed  time.Duration
}

// Run prepares a dataset: it validates everything it can up front, runs the
// pipeline on the chosen runner, checks that the counts conserve, and writes
// manifest.json last and atomically. On failure it removes what it wrote, so
// Output never holds a half-written dataset that looks complete.
func Run(ctx context.Context, o Options, log *slog.Logger) (*Result, error) {
	start := time.Now()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	tok, err := tokenizer.Open(o.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("--tokenizer %s: %w", o.Tokenizer, err)
	}
	files, total, err := planInputs(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := prepareOutput(ctx, o); err != nil {
		return nil, err
	}
	shards := o.Shards
	if shards == 0 {
		shards = int(min(max(1, (total+bytesPerShard-1)/bytesPerShard), 1024))
	}
	runID := fmt.Sprintf("%d", time.Now().UnixNano())
	pl := plan{
		opts:   o,
		files:  files,
		shards: shards,
		tmp:    joinPath(o.Output, ".tmp-"+runID),
	}
	pl.statsPath = joinPath(pl.tmp, "stats.json")
	log.Info("prepare", "inputs", len(files), "input_bytes", total, "shards", shards, "runner", o.Runner, "output", o.Output)

	st, err := execute(ctx, pl, tok, log)
	if err != nil {
		cleanupFailed(ctx, o.Output, pl.tmp, log)
		return nil, err
	}
	m, err := finish(ctx, pl, tok, st, start)
	if err != nil {
		cleanupFailed(ctx, o.Output, pl.tmp, log)
		return nil, err
	}
	return &Result{Dir: o.Output, Manifest: m, Elapsed: time.Since(start)}, nil
}

// execute writes the tokenizer copy and runs the pipeline, returning the
// merged Stats.
func execute(ctx context.Context, pl plan, tok *tokenizer.Tokenizer, log *slog.Logger) (Stats, error) {
	tokDir := joinPath(pl.opts.Output, dataset.TokenizerDir)
	if err := saveTokenizer(ctx, tok, tokDir, pl.tmp); err != nil {
		return Stats{}, fmt.Errorf("write tokenizer: %w", err)
	}
	pl.tokenizerPath = tokDir
	if pl.opts.Tokenizer == "gpt2" {
		pl.tokenizerPath = "gpt2"
	}
	if pl.opts.Runner == RunnerLoop {
		return runLoop(ctx, pl, tok)
	}
	if err := runBeam(ctx, pl, log); err != nil {
		return Stats{}, fmt.Errorf("pipeline failed on %s: %w", pl.opts.Runner, err)
	}
	raw, err := readFile(ctx, pl.statsPath)
	if err != nil {
		return Stats{}, fmt.Errorf("pipeline finished without its stats file: %w", err)
	}
	return decodeStats(raw)
}

// finish checks the counts and writes the manifest, the dataset's commit
// point.
func finish(ctx context.Context, pl plan, tok *tokenizer.Tokenizer, st Stats, start time.Time) (dataset.Manifest, error) {
	o := pl.opts
	counts := st.counts()
	if err := counts.Conserved(); err != nil {
		return dataset.Manifest{}, fmt.Errorf("internal error, refusing to publish: %w", err)
	}
	if len(st.Inputs) != len(pl.files) {
		return dataset.Manifest{}, fmt.Errorf("internal error, refusing to publish: %d of %d inputs reported", len(st.Inputs), len(pl.files))
	}
	slices.SortFunc(st.Inputs, func(a, b dataset.Input) int { return strings.Compare(a.Path, b.Path) })
	splits := make(map[string]dataset.SplitInfo)
	for _, s := range transforms.Splits {
		info := st.Splits[string(s)]
		if info.Files == nil {
			info.Files = []dataset.File{}
		}
		dataset.SortFiles(info.Files)
		splits[string(s)] = info
	}
	dataset.SortFiles(st.RejectedFiles)
	if st.RejectedFiles == nil {
		st.RejectedFiles = []dataset.File{}
	}
	opts, err := json.Marshal(o)
	if err != nil {
		return dataset.Manifest{}, fmt.Errorf("options: %w", err)
	}
	m := dataset.Manifest{
		SchemaVersion: dataset.SchemaVersion,
		CreatedAt:     start.UTC().Truncate(time.Second),
		Generator:     Generator,
		Tokenizer: dataset.TokenizerInfo{
			Spec: o.Tokenizer, Hash: tok.Hash(), VocabSize: tok.VocabSize(), EOT: tok.EOT(),
		},
		ChatTemplate: transforms.ChatTemplateName,
		Options:      opts,
		Inputs:       st.Inputs,
		Counts:       counts,
		Splits:       splits,
		Rejected:     st.RejectedFiles,
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := removeTree(ctx, pl.tmp); err != nil {
		return m, fmt.Errorf("remove %s: %w", pl.tmp, err)
	}
	_, _, err = writeAtomic(ctx, o.Output, joinPath(o.Output, dataset.ManifestName), func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
	if err != nil {
		return m, fmt.Errorf("write manifest: %w", err)
	}
	return m, nil
}

// layout lists what a dataset directory may hold besides the manifest.
var layout = []string{"train", "val", "test", dataset.RejectedDir, dataset.TokenizerDir}

// cleanupFailed removes everything a failed run wrote. The manifest was
// never written, so nothing it removes was ever a complete dataset.
func cleanupFailed(ctx context.Context, output, tmp string, log *slog.Logger) {
	paths := []string{tmp}
	for _, d := range layout {
		paths = append(paths, joinPath(output, d))
	}
	for _, p := range paths {
		if err := removeTree(ctx, p); err != nil {
			log.Warn("cleanup after failure", "path", p, "err", err)
		}
	}
}

// planInputs expands the input patterns through Beam's filesystem, refuses
// patterns that match nothing, and validates CSV headers, all before any
// work starts. It returns the sorted, de-duplicated files and their total
// size.
func planInputs(ctx context.Context, o Options) ([]inputFile, int64, error) {
	seen := map[string]bool{}
	var paths []string
	for _, pattern := range o.Inputs {
		fs, err := filesystem.New(ctx, pattern)
		if err != nil {
			return nil, 0, fmt.Errorf("input %s: %w", pattern, err)
		}
		var matches []string
		if strings.ContainsAny(pattern, "*?[") {
			matches, err = fs.List(ctx, pattern)
			if err != nil {
				fs.Close()
				return nil, 0, fmt.Errorf("input %s: %w", pattern, err)
			}
		} else {
			matches = []string{pattern} // its Size, below, proves it exists
		}
		fs.Close()
		if len(matches) == 0 {
			return nil, 0, fmt.Errorf("input %s matches no files", pattern)
		}
		for _, m := range matches {
			if isLocal(m) {
				if st, err := os.Stat(m); err == nil && st.IsDir() {
					return nil, 0, fmt.Errorf("input %s is a directory: give a file or a glob like %s", m, filepath.Join(m, "*.jsonl"))
				}
			}
			if !seen[m] {
				seen[m] = true
				paths = append(paths, m)
			}
		}
	}
	slices.Sort(paths)
	var total int64
	files := make([]inputFile, len(paths))
	for i, p := range paths {
		fs, err := filesystem.New(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		size, err := fs.Size(ctx, p)
		fs.Close()
		if err != nil {
			// A PathError repeats the path the message already names.
			var pe *iofs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, 0, fmt.Errorf("input %s: %w", p, err)
		}
		total += size
		format, err := FormatOf(p, o.Format)
		if err != nil {
			return nil, 0, err
		}
		if format == FormatCSV {
			if err := checkCSVHeader(ctx, p); err != nil {
				return nil, 0, err
			}
		}
		files[i] = inputFile{Path: p, Format: format, Index: i}
	}
	return files, total, nil
}

func checkCSVHeader(ctx context.Context, p string) error {
	in, err := openInput(ctx, p)
	if err != nil {
		return fmt.Errorf("input %s: %w", p, err)
	}
	defer in.raw.Close()
	header, err := csv.NewReader(in.r).Read()
	if err != nil {
		return fmt.Errorf("input %s: CSV header: %w", p, err)
	}
	if _, err := transforms.NewCSVSchema(header); err != nil {
		return fmt.Errorf("input %s: %w", p, err)
	}
	return nil
}

// prepareOutput refuses an output that already holds a dataset (unless
// Overwrite), or that is not empty, or not writable; with Overwrite it
// removes the old manifest first, so the old dataset stops being complete
// before any of its files go.
func prepareOutput(ctx context.Context, o Options) error {
	out := o.Output
	if isLocal(out) {
		if st, err := os.Stat(out); err == nil && !st.IsDir() {
			return fmt.Errorf("output %s exists and is not a directory", out)
		}
	}
	manifest := joinPath(out, dataset.ManifestName)
	hasManifest, err := exists(ctx, manifest)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	entries, err := listOutput(ctx, out)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	var ours, foreign []string
	for _, e := range entries {
		if e == dataset.ManifestName || slices.Contains(layout, e) || strings.HasPrefix(e, ".tmp-") {
			ours = append(ours, e)
		} else {
			foreign = append(foreign, e)
		}
	}
	switch {
	case len(foreign) > 0:
		return fmt.Errorf("output %s is not empty and not a dataset (it holds %s): choose a new or empty directory", out, foreign[0])
	case hasManifest && !o.Overwrite:
		return fmt.Errorf("output %s already holds a dataset (manifest.json): pass --overwrite to replace it", out)
	case len(ours) > 0 && !o.Overwrite:
		return fmt.Errorf("output %s holds an unfinished dataset (no manifest.json): pass --overwrite to replace it", out)
	}
	if o.Overwrite {
		if hasManifest {
			if err := removeTree(ctx, manifest); err != nil {
				return fmt.Errorf("output %s: remove old manifest: %w", out, err)
			}
		}
		for _, e := range ours {
			if err := removeTree(ctx, joinPath(out, e)); err != nil {
				return fmt.Errorf("output %s: remove old %s: %w", out, e, err)
			}
		}
	}
	// Prove the output is writable now rather than after an hour of work.
	probe := joinPath(out, ".tmp-write-probe")
	if _, _, err := writeAtomic(ctx, out, probe, func(w io.Writer) error { _, err := w.Write([]byte("ok")); return err }); err != nil {
		return fmt.Errorf("output %s is not writable: %w", out, unwrapAll(err))
	}
	return removeTree(ctx, probe)
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// listOutput returns the names of the entries directly under out.
func listOutput(ctx context.Context, out string) ([]string, error) {
	if isLocal(out) {
		des, err := os.ReadDir(out)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		names := make([]string, len(des))
		for i, d := range des {
			names[i] = d.Name()
		}
		return names, nil
	}
	fs, err := filesystem.New(ctx, out)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	prefix := strings.TrimSuffix(out, "/") + "/"
	var names []string
	for _, pattern := range []string{prefix + "*", prefix + "*/*"} {
		files, err := fs.List(ctx, pattern)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name, _, _ := strings.Cut(strings.TrimPrefix(f, prefix), "/")
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names, nil
}

// saveTokenizer copies the tokenizer's HF files into the dataset.
func saveTokenizer(ctx context.Context, tok *tokenizer.Tokenizer, dir, tmp string) error {
	local, err := os.MkdirTemp("", "nebras-tokenizer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(local)
	if err := tok.Save(local); err != nil {
		return err
	}
	for _, name := range []string{"vocab.json", "merges.txt"} {
		raw, err := os.ReadFile(filepath.Join(local, name))
		if err != nil {
			return err
		}
		if _, _, err := writeAtomic(ctx, tmp, joinPath(dir, name), func(w io.Writer) error {
			_, err := w.Write(raw)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// loadTokenizer loads "gpt2" or a vocab.json + merges.txt directory through
// Beam's filesystem, so workers can read a tokenizer kept on gs://.
func loadTokenizer(ctx context.Context, p string) (*tokenizer.Tokenizer, error) {
	if p == "gpt2" {
		return tokenizer.GPT2()
	}
	vocab, err := readFile(ctx, joinPath(p, "vocab.json"))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", p, err)
	}
	merges, err := readFile(ctx, joinPath(p, "merges.txt"))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", p, err)
	}
	return tokenizer.Load(bytes.NewReader(vocab), bytes.NewReader(merges))
}
