package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nebras-ai/nebras/internal/filehash"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// ModelPointerFile is the name of the file a model pointer is written
// to. A model directory that holds only this file stands for the
// directory the pointer names.
const ModelPointerFile = "MODEL_POINTER.json"

// runsURIScheme prefixes a run-relative artifact URI, runs:/<run_id>/<path>.
const runsURIScheme = "runs:/"

// ParseModelsURI parses models:/NAME@ALIAS, models:/NAME/VERSION and
// models:/NAME/latest. Exactly one of alias and version is set; version
// is a decimal number, or "latest" for the highest version. Stage URIs
// (models:/NAME/Production) are refused: stages are deprecated in MLflow
// in favour of aliases.
func ParseModelsURI(uri string) (name, alias, version string, err error) {
	rest, ok := strings.CutPrefix(uri, modelsURIScheme)
	if !ok || rest == "" || strings.HasPrefix(rest, "/") {
		return "", "", "", fmt.Errorf("model URI %q: want models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME/latest", uri)
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		name, alias = rest[:i], rest[i+1:]
		if name == "" || alias == "" || strings.Contains(name, "/") || strings.Contains(alias, "/") {
			return "", "", "", fmt.Errorf("model URI %q: want models:/NAME@ALIAS with a non-empty name and alias and no slash", uri)
		}
		return name, alias, "", nil
	}
	name, sel, ok := strings.Cut(rest, "/")
	if !ok || name == "" || sel == "" || strings.Contains(sel, "/") {
		return "", "", "", fmt.Errorf("model URI %q: want models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME/latest", uri)
	}
	if strings.EqualFold(sel, "latest") {
		return name, "", "latest", nil
	}
	n, perr := strconv.ParseInt(sel, 10, 64)
	if perr != nil || n < 1 {
		return "", "", "", fmt.Errorf("model URI %q: %q is not a version number or latest (stages are not supported; point an alias at the version and use models:/%s@ALIAS)", uri, sel, name)
	}
	return name, "", strconv.FormatInt(n, 10), nil
}

// PinModelURI returns models:/NAME/VERSION for a models:/NAME@ALIAS URI,
// the version the alias points at now, so that what is keyed, logged and
// loaded is one version even if the alias moves meanwhile. Any other
// reference is returned unchanged.
func PinModelURI(ctx context.Context, s Store, ref string) (string, error) {
	if !strings.HasPrefix(ref, modelsURIScheme) {
		return ref, nil
	}
	name, alias, _, err := ParseModelsURI(ref)
	if err != nil {
		return "", err
	}
	if alias == "" {
		return ref, nil
	}
	mv, err := s.GetModelVersionByAlias(ctx, name, alias)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ref, err)
	}
	return modelsURIScheme + name + "/" + mv.Version, nil
}

// DownloadModel resolves a models:/ URI through the registry and returns
// a local directory holding the version's files, and the version.
//
// A source on the local disk (a path or file: URI that exists) is
// returned as it is, without a copy; a runs:/ source is read from the
// run's artifact root. Any other source is downloaded into
// <cacheDir>/<name>/<version> (a temporary directory renamed when
// complete), which later calls reuse while <version>.source beside it
// names the same store and source; an empty cacheDir means nebras/models
// under the user's cache directory. A
// directory that holds only a model pointer (see WriteModelPointer) is
// followed: the directory it names is returned once its files are
// verified.
func DownloadModel(ctx context.Context, s Store, uri, cacheDir string) (string, *ModelVersion, error) {
	name, alias, version, err := ParseModelsURI(uri)
	if err != nil {
		return "", nil, err
	}
	mv, err := resolveModelVersion(ctx, s, uri, name, alias, version)
	if err != nil {
		return "", nil, err
	}
	src, err := s.GetModelVersionDownloadURI(ctx, mv.Name, mv.Version)
	if err != nil {
		return "", nil, fmt.Errorf("%s: download URI of version %s: %w", uri, mv.Version, err)
	}
	if src == "" {
		return "", nil, fmt.Errorf("%s: version %s has no source", uri, mv.Version)
	}
	if strings.HasPrefix(src, runsURIScheme) {
		if src, err = runArtifactURI(ctx, s, src); err != nil {
			return "", nil, fmt.Errorf("%s: version %s: %w", uri, mv.Version, err)
		}
	}
	dir, err := modelFiles(ctx, s, mv, src, cacheDir)
	if err != nil {
		return "", nil, fmt.Errorf("%s: version %s: %w", uri, mv.Version, err)
	}
	if dir, err = followModelPointer(ctx, dir); err != nil {
		return "", nil, fmt.Errorf("%s: version %s: %w", uri, mv.Version, err)
	}
	return dir, mv, nil
}

// resolveModelVersion finds the version an alias, number or "latest"
// selects.
func resolveModelVersion(ctx context.Context, s Store, uri, name, alias, version string) (*ModelVersion, error) {
	switch {
	case alias != "":
		mv, err := s.GetModelVersionByAlias(ctx, name, alias)
		if err == nil {
			return mv, nil
		}
		if !IsAliasNotFound(err) {
			return nil, fmt.Errorf("%s: %w", uri, err)
		}
		// Say which of the two is missing, and what the aliases are.
		rm, rerr := s.GetRegisteredModel(ctx, name)
		if rerr != nil {
			if errors.Is(rerr, ErrNotFound) {
				return nil, fmt.Errorf("%s: no registered model %q: %w", uri, name, err)
			}
			return nil, fmt.Errorf("%s: registered model %q has no alias %q: %w", uri, name, alias, err)
		}
		have := make([]string, 0, len(rm.Aliases))
		for _, a := range rm.Aliases {
			have = append(have, a.Alias+"→v"+a.Version)
		}
		list := "it has none"
		if len(have) > 0 {
			list = "it has " + strings.Join(have, ", ")
		}
		return nil, fmt.Errorf("%s: registered model %q has no alias %q (%s): %w", uri, name, alias, list, err)
	case version == "latest":
		return latestModelVersion(ctx, s, uri, name)
	default:
		mv, err := s.GetModelVersion(ctx, name, version)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("%s: registered model %q has no version %s: %w", uri, name, version, err)
			}
			return nil, fmt.Errorf("%s: %w", uri, err)
		}
		return mv, nil
	}
}

// latestModelVersion returns the highest READY version of a registered
// model: a version whose registration failed or is pending has no files
// to load.
func latestModelVersion(ctx context.Context, s Store, uri, name string) (*ModelVersion, error) {
	filter, err := nameFilter(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	var best *ModelVersion
	var bestN int64
	req := SearchModelVersionsRequest{Filter: filter}
	for {
		page, err := s.SearchModelVersions(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("%s: search versions: %w", uri, err)
		}
		for i := range page.ModelVersions {
			mv := &page.ModelVersions[i]
			if mv.Name != name || (mv.Status != "" && mv.Status != ModelVersionReady) {
				continue
			}
			n, err := strconv.ParseInt(mv.Version, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: version %q is not a number", uri, mv.Version)
			}
			if best == nil || n > bestN {
				best, bestN = mv, n
			}
		}
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	if best == nil {
		return nil, fmt.Errorf("%s: registered model %q has no ready versions: %w", uri, name, ErrNotFound)
	}
	return best, nil
}

// nameFilter is the model-version filter selecting name. MLflow keeps an
// escaped quote escaped in the value, so a name is quoted with the quote
// it does not contain.
func nameFilter(name string) (string, error) {
	switch {
	case !strings.Contains(name, "'"):
		return "name = '" + name + "'", nil
	case !strings.Contains(name, `"`):
		return `name = "` + name + `"`, nil
	}
	return "", fmt.Errorf("model name %q holds both quote characters and cannot be searched for", name)
}

// runArtifactURI turns runs:/<run_id>/<path> into the run's artifact root
// joined with path.
func runArtifactURI(ctx context.Context, s Store, src string) (string, error) {
	runID, rel, _ := strings.Cut(strings.TrimPrefix(src, runsURIScheme), "/")
	if runID == "" {
		return "", fmt.Errorf("source %q: want runs:/<run_id>/<path>", src)
	}
	rel = strings.Trim(rel, "/")
	if err := checkArtifactPath(rel); err != nil {
		return "", fmt.Errorf("source %q: %w", src, err)
	}
	run, err := s.GetRun(ctx, runID)
	if err != nil {
		return "", fmt.Errorf("source %q: %w", src, err)
	}
	if rel == "" {
		return run.Info.ArtifactURI, nil
	}
	return appendURIPath(run.Info.ArtifactURI, rel), nil
}

// modelFiles returns a local directory with the files at src: src itself
// when it is on the local disk, else the cache's copy, downloaded when
// missing or made from another source.
func modelFiles(ctx context.Context, s Store, mv *ModelVersion, src, cacheDir string) (string, error) {
	if scheme := uriScheme(src); scheme == "" || scheme == "file" {
		p, err := fileURIToPath(src)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("source %s is not readable on this machine (registered on another host, or deleted?): %w", src, err)
		}
		return filepath.Abs(p)
	}
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("model cache: %w (pass a cache directory)", err)
		}
		cacheDir = filepath.Join(base, "nebras", "models")
	}
	parent := filepath.Join(cacheDir, pathSafe(mv.Name))
	final := filepath.Join(parent, pathSafe(mv.Version))
	// The sidecar records where the copy came from, so that a cache shared
	// by two tracking servers never serves one server's files for the
	// other's version of the same name.
	sidecar := final + ".source"
	key := s.URI() + "\n" + src + "\n"
	if cachedFrom(final, sidecar) == key {
		return final, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+pathSafe(mv.Version)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	repo, err := s.Artifacts(ctx, src)
	if err != nil {
		return "", err
	}
	if _, err := repo.Download(ctx, "", tmp); err != nil {
		return "", fmt.Errorf("download %s: %w", src, err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	if len(entries) == 0 {
		return "", fmt.Errorf("source %s holds no files", src)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process finished the same download first, or a copy from
		// another source is in the way.
		if cachedFrom(final, sidecar) == key {
			return final, nil
		}
		// The sidecar goes first: without it no reader trusts final.
		if rerr := os.Remove(sidecar); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return "", fmt.Errorf("model cache: replace %s: %w", final, rerr)
		}
		if rerr := os.RemoveAll(final); rerr != nil {
			return "", fmt.Errorf("model cache: replace %s: %w", final, rerr)
		}
		if err := os.Rename(tmp, final); err != nil {
			return "", fmt.Errorf("model cache: %w", err)
		}
	}
	// Written last, so a copy is trusted only once it is complete.
	if err := atomicfile.WriteFile(sidecar, []byte(key)); err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	return final, nil
}

// cachedFrom returns the source key a complete cached copy was made
// from, "" when there is none.
func cachedFrom(dir, sidecar string) string {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	b, err := os.ReadFile(sidecar)
	if err != nil {
		return ""
	}
	return string(b)
}

// pathSafe makes a model name or version usable as one path element:
// bytes outside [A-Za-z0-9._-] are percent-encoded, and so is a leading
// dot (names "." and ".." and hidden temp names stay out of reach).
func pathSafe(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || (c == '.' && i > 0) {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// PointerFile is one file of a model pointer: its path relative to the
// model directory (forward slashes), SHA-256 (hex) and size in bytes.
type PointerFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// ModelPointer stands in for a model too large to upload as an
// artifact: the absolute path of the model directory on shared storage,
// and its files, so that a reader can tell the files are still the ones
// the run produced.
type ModelPointer struct {
	Path  string        `json:"path"`
	Files []PointerFile `json:"files"`
}

// WriteModelPointer hashes the regular files under modelDir and writes a
// pointer to it as dir/MODEL_POINTER.json. dir is created if needed.
func WriteModelPointer(dir string, modelDir string) (*ModelPointer, error) {
	abs, err := filepath.Abs(modelDir)
	if err != nil {
		return nil, fmt.Errorf("model pointer: %w", err)
	}
	p := &ModelPointer{Path: abs}
	err = filepath.WalkDir(abs, func(fp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || isAtomicTemp(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(abs, fp)
		if err != nil {
			return err
		}
		sum, size, err := filehash.SHA256(fp)
		if err != nil {
			return err
		}
		p.Files = append(p.Files, PointerFile{Path: filepath.ToSlash(rel), SHA256: sum, Size: size})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("model pointer to %s: %w", abs, err)
	}
	if len(p.Files) == 0 {
		return nil, fmt.Errorf("model pointer to %s: no files to point at", abs)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("model pointer to %s: %w", abs, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("model pointer: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ModelPointerFile), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("model pointer: %w", err)
	}
	return p, nil
}

// ReadModelPointer reads and checks a MODEL_POINTER.json file.
func ReadModelPointer(file string) (*ModelPointer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("model pointer: %w", err)
	}
	var p ModelPointer
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("model pointer %s: %w", file, err)
	}
	if !filepath.IsAbs(p.Path) {
		return nil, fmt.Errorf("model pointer %s: path %q is not absolute", file, p.Path)
	}
	if len(p.Files) == 0 {
		return nil, fmt.Errorf("model pointer %s: lists no files", file)
	}
	for _, f := range p.Files {
		if f.Path == "" || path.Clean(f.Path) != f.Path || checkArtifactPath(f.Path) != nil {
			return nil, fmt.Errorf("model pointer %s: file path %q is not a clean relative path", file, f.Path)
		}
	}
	return &p, nil
}

// Verify checks that every file the pointer lists is in place with its
// recorded size and SHA-256. Sizes are checked first, as they cost no
// reading.
func (p *ModelPointer) Verify(ctx context.Context) error {
	for _, f := range p.Files {
		local := filepath.Join(p.Path, filepath.FromSlash(f.Path))
		st, err := os.Stat(local)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("model at %s: %s is missing", p.Path, f.Path)
			}
			return fmt.Errorf("model at %s: %w", p.Path, err)
		}
		if st.Size() != f.Size {
			return fmt.Errorf("model at %s: %s changed: %d bytes, the pointer says %d", p.Path, f.Path, st.Size(), f.Size)
		}
	}
	for _, f := range p.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		sum, _, err := filehash.SHA256(filepath.Join(p.Path, filepath.FromSlash(f.Path)))
		if err != nil {
			return fmt.Errorf("model at %s: %w", p.Path, err)
		}
		if sum != f.SHA256 {
			return fmt.Errorf("model at %s: %s changed: sha256 %s, the pointer says %s", p.Path, f.Path, sum, f.SHA256)
		}
	}
	return nil
}

// followModelPointer returns the directory a pointer-only directory
// points at, verified; any other directory is returned as it is.
func followModelPointer(ctx context.Context, dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		// A file source is not a pointer directory.
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			return dir, nil
		}
		return "", err
	}
	if len(entries) != 1 || entries[0].Name() != ModelPointerFile || !entries[0].Type().IsRegular() {
		return dir, nil
	}
	p, err := ReadModelPointer(filepath.Join(dir, ModelPointerFile))
	if err != nil {
		return "", err
	}
	if err := p.Verify(ctx); err != nil {
		return "", err
	}
	return p.Path, nil
}
