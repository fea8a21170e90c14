package tracking

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The model registry lives under <root>/models, as MLflow's registry
// FileStore lays it out:
//
//	models/<name>/meta.yaml
//	models/<name>/tags/<key>
//	models/<name>/aliases/<alias>          the version number as text
//	models/<name>/version-<n>/meta.yaml
//	models/<name>/version-<n>/tags/<key>
const (
	fsAliasesDir    = "aliases"
	fsVersionDir    = "version-"
	stageDeleted    = "Deleted_Internal" // MLflow's mark for a deleted version
	modelsURIScheme = "models:/"
)

// modelStages are MLflow's stages in the order LatestVersions lists them.
var modelStages = []string{StageNone, StageStaging, StageProduction, StageArchived}

// canonicalStage returns MLflow's spelling of a stage given in any case.
func canonicalStage(stage string) (string, error) {
	for _, s := range modelStages {
		if strings.EqualFold(s, stage) {
			return s, nil
		}
	}
	return "", Errorf(CodeInvalidParameterValue, "Invalid Model Version stage: %s. Value must be one of %s.", stage, strings.Join(modelStages, ", "))
}

// parseVersion reads a model version number.
func parseVersion(version string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(version), 10, 64)
	if err != nil {
		return 0, Errorf(CodeInvalidParameterValue, "Parameter 'version' must be an integer, got '%s'.", version)
	}
	return n, nil
}

// modelDir returns the directory of a registered model, which may not
// exist.
func (s *FileStore) modelDir(name string) (string, error) {
	if err := validateModelName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.root, fsModelsDir, name), nil
}

// existingModelDir returns the directory of a registered model that
// must exist.
func (s *FileStore) existingModelDir(name string) (string, error) {
	dir, err := s.modelDir(name)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, fsMetaFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", Errorf(CodeResourceDoesNotExist, "Registered Model with name=%s not found", name)
		}
		return "", fmt.Errorf("registered model %s: %w", name, err)
	}
	return dir, nil
}

// fileModelVersion is a version's meta.yaml: the version and where its
// files are (storage_location, the resolved source).
type fileModelVersion struct {
	ModelVersion
	number          int64
	storageLocation string
}

func (v *fileModelVersion) yaml() yamlMap {
	aliases := v.Aliases
	if aliases == nil {
		aliases = []string{}
	}
	return yamlMap{
		{"aliases", aliases},
		{"creation_timestamp", v.CreationTimestamp},
		{"current_stage", v.CurrentStage},
		{"description", nullIfEmpty(v.Description)},
		{"last_updated_timestamp", v.LastUpdatedTimestamp},
		{"name", v.Name},
		{"run_id", nullIfEmpty(v.RunID)},
		{"run_link", nullIfEmpty(v.RunLink)},
		{"source", v.Source},
		{"status", v.Status},
		{"status_message", nullIfEmpty(v.StatusMessage)},
		{"storage_location", nullIfEmpty(v.storageLocation)},
		{"user_id", nullIfEmpty(v.UserID)},
		{"version", v.number},
	}
}

// readModelVersion reads the version in dir with its tags and the
// aliases pointing at it (aliases maps alias to version).
func readModelVersion(dir string, aliases map[string]string) (*fileModelVersion, error) {
	doc, err := readYAMLFile(filepath.Join(dir, fsMetaFile))
	if err != nil {
		return nil, err
	}
	num, err := parseVersion(doc.str("version"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	v := &fileModelVersion{
		ModelVersion: ModelVersion{
			Name:                 doc.str("name"),
			Version:              strconv.FormatInt(num, 10),
			CreationTimestamp:    doc.int("creation_timestamp"),
			LastUpdatedTimestamp: doc.int("last_updated_timestamp"),
			UserID:               doc.str("user_id"),
			CurrentStage:         doc.str("current_stage"),
			Description:          doc.str("description"),
			Source:               doc.str("source"),
			RunID:                doc.str("run_id"),
			Status:               doc.str("status"),
			StatusMessage:        doc.str("status_message"),
			RunLink:              doc.str("run_link"),
		},
		number:          num,
		storageLocation: doc.str("storage_location"),
	}
	if v.Status == "" {
		v.Status = ModelVersionReady
	}
	if v.CurrentStage == "" {
		v.CurrentStage = StageNone
	}
	if v.Tags, err = readValueDir(filepath.Join(dir, fsTagsDir)); err != nil {
		return nil, fmt.Errorf("model version %s/%d tags: %w", v.Name, num, err)
	}
	for alias, ver := range aliases {
		if n, err := strconv.ParseInt(strings.TrimSpace(ver), 10, 64); err == nil && n == num {
			v.Aliases = append(v.Aliases, alias)
		}
	}
	sort.Strings(v.Aliases)
	return v, nil
}

// readAliases reads a registered model's aliases: alias -> version.
func readAliases(modelDir string) (map[string]string, error) {
	kv, err := readValueDir(filepath.Join(modelDir, fsAliasesDir))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(kv))
	for _, t := range kv {
		out[t.Key] = strings.TrimSpace(t.Value)
	}
	return out, nil
}

// listModelVersions reads every version of the model in modelDir, deleted
// ones included, ordered by number.
func listModelVersions(modelDir string) ([]*fileModelVersion, error) {
	entries, err := os.ReadDir(modelDir)
	if err != nil {
		return nil, err
	}
	aliases, err := readAliases(modelDir)
	if err != nil {
		return nil, err
	}
	var out []*fileModelVersion
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), fsVersionDir) {
			continue
		}
		v, err := readModelVersion(filepath.Join(modelDir, e.Name()), aliases)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].number < out[j].number })
	return out, nil
}

// getModelVersion reads one live version of a registered model.
func (s *FileStore) getModelVersion(name, version string) (*fileModelVersion, string, error) {
	num, err := parseVersion(version)
	if err != nil {
		return nil, "", err
	}
	mdir, err := s.existingModelDir(name)
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(mdir, fsVersionDir+strconv.FormatInt(num, 10))
	aliases, err := readAliases(mdir)
	if err != nil {
		return nil, "", fmt.Errorf("registered model %s: %w", name, err)
	}
	v, err := readModelVersion(dir, aliases)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && v.CurrentStage == stageDeleted) {
		return nil, "", Errorf(CodeResourceDoesNotExist, "Model Version (name=%s, version=%s) not found", name, version)
	}
	if err != nil {
		return nil, "", err
	}
	return v, dir, nil
}

// registeredModelMeta is the registered model's meta.yaml without what
// lives in folders.
func (s *FileStore) writeRegisteredModelMeta(dir string, rm *RegisteredModel) error {
	aliases := map[string]string{}
	for _, a := range rm.Aliases {
		aliases[a.Alias] = a.Version
	}
	return writeYAMLFile(filepath.Join(dir, fsMetaFile), yamlMap{
		{"aliases", aliases},
		{"creation_timestamp", rm.CreationTimestamp},
		{"description", nullIfEmpty(rm.Description)},
		{"last_updated_timestamp", rm.LastUpdatedTimestamp},
		{"name", rm.Name},
	})
}

// readRegisteredModel reads a registered model with its tags, aliases
// and latest version per stage.
func readRegisteredModel(dir string) (*RegisteredModel, error) {
	doc, err := readYAMLFile(filepath.Join(dir, fsMetaFile))
	if err != nil {
		return nil, err
	}
	rm := &RegisteredModel{
		Name:                 doc.str("name"),
		Description:          doc.str("description"),
		CreationTimestamp:    doc.int("creation_timestamp"),
		LastUpdatedTimestamp: doc.int("last_updated_timestamp"),
	}
	if rm.Tags, err = readValueDir(filepath.Join(dir, fsTagsDir)); err != nil {
		return nil, fmt.Errorf("registered model %s tags: %w", rm.Name, err)
	}
	aliases, err := readAliases(dir)
	if err != nil {
		return nil, fmt.Errorf("registered model %s aliases: %w", rm.Name, err)
	}
	for _, t := range slices.Sorted(maps.Keys(aliases)) {
		rm.Aliases = append(rm.Aliases, Alias{Alias: t, Version: aliases[t]})
	}
	versions, err := listModelVersions(dir)
	if err != nil {
		return nil, fmt.Errorf("registered model %s: %w", rm.Name, err)
	}
	latest := map[string]*fileModelVersion{}
	for _, v := range versions {
		if cur, ok := latest[v.CurrentStage]; !ok || v.number > cur.number {
			latest[v.CurrentStage] = v
		}
	}
	for _, st := range modelStages {
		if v, ok := latest[st]; ok {
			rm.LatestVersions = append(rm.LatestVersions, v.ModelVersion)
		}
	}
	return rm, nil
}

// touchRegisteredModel sets a model's last_updated_timestamp, rewriting
// its meta.yaml with the current aliases as MLflow does.
func (s *FileStore) touchRegisteredModel(dir string, now int64) error {
	rm, err := readRegisteredModel(dir)
	if err != nil {
		return err
	}
	rm.LastUpdatedTimestamp = now
	return s.writeRegisteredModelMeta(dir, rm)
}

// CreateRegisteredModel creates a registered model without versions.
func (s *FileStore) CreateRegisteredModel(ctx context.Context, name, description string, tags []Tag) (*RegisteredModel, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := s.modelDir(name)
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		if err := validateRegistryTag(t); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return nil, Errorf(CodeResourceAlreadyExists, "Registered Model (name=%s) already exists.", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create registered model %s: %w", name, err)
	}
	now := time.Now().UnixMilli()
	rm := &RegisteredModel{Name: name, Description: description, CreationTimestamp: now, LastUpdatedTimestamp: now}
	for _, t := range tags {
		if err := writeValueFile(filepath.Join(dir, fsTagsDir, filepath.FromSlash(t.Key)), t.Value); err != nil {
			return nil, fmt.Errorf("create registered model %s: tag %s: %w", name, t.Key, err)
		}
	}
	// meta.yaml goes last: a model without it is not there yet.
	if err := s.writeRegisteredModelMeta(dir, rm); err != nil {
		return nil, fmt.Errorf("create registered model %s: %w", name, err)
	}
	return readRegisteredModel(dir)
}

// GetRegisteredModel returns a registered model with its latest versions
// per stage, tags and aliases.
func (s *FileStore) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir, err := s.existingModelDir(name)
	if err != nil {
		return nil, err
	}
	return readRegisteredModel(dir)
}

// CreateModelVersion registers the next version of a registered model.
// A models:/ source is resolved to the storage location of the version
// it names, as MLflow does.
func (s *FileStore) CreateModelVersion(ctx context.Context, req CreateModelVersionRequest) (*ModelVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := s.modelDir(req.Name); err != nil {
		return nil, err
	}
	for _, t := range req.Tags {
		if err := validateRegistryTag(t); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mdir, err := s.existingModelDir(req.Name)
	if err != nil {
		return nil, err
	}
	storage := req.Source
	if strings.HasPrefix(req.Source, modelsURIScheme) {
		if storage, err = s.resolveModelsURI(req.Source); err != nil {
			return nil, err
		}
	}
	versions, err := listModelVersions(mdir)
	if err != nil {
		return nil, fmt.Errorf("create model version of %s: %w", req.Name, err)
	}
	num := int64(1)
	if len(versions) > 0 {
		num = versions[len(versions)-1].number + 1
	}
	now := time.Now().UnixMilli()
	v := &fileModelVersion{
		ModelVersion: ModelVersion{
			Name:                 req.Name,
			Version:              strconv.FormatInt(num, 10),
			CreationTimestamp:    now,
			LastUpdatedTimestamp: now,
			CurrentStage:         StageNone,
			Description:          req.Description,
			Source:               req.Source,
			RunID:                req.RunID,
			Status:               ModelVersionReady,
			RunLink:              req.RunLink,
		},
		number:          num,
		storageLocation: storage,
	}
	dir := filepath.Join(mdir, fsVersionDir+v.Version)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create model version %s/%d: %w", req.Name, num, err)
	}
	if err := writeYAMLFile(filepath.Join(dir, fsMetaFile), v.yaml()); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create model version %s/%d: %w", req.Name, num, err)
	}
	for _, t := range req.Tags {
		if err := writeValueFile(filepath.Join(dir, fsTagsDir, filepath.FromSlash(t.Key)), t.Value); err != nil {
			return nil, fmt.Errorf("create model version %s/%d: tag %s: %w", req.Name, num, t.Key, err)
		}
	}
	if err := s.touchRegisteredModel(mdir, now); err != nil {
		return nil, fmt.Errorf("create model version %s/%d: %w", req.Name, num, err)
	}
	out, _, err := s.getModelVersion(req.Name, v.Version)
	if err != nil {
		return nil, err
	}
	return &out.ModelVersion, nil
}

// resolveModelsURI returns the storage location behind
// models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest
// or models:/<name>@<alias>.
func (s *FileStore) resolveModelsURI(uri string) (string, error) {
	rest := strings.TrimPrefix(uri, modelsURIScheme)
	bad := Errorf(CodeInvalidParameterValue, "Unable to fetch model from model URI source artifact location '%s': not models:/<name>/<version|stage|latest> or models:/<name>@<alias>", uri)
	var v *fileModelVersion
	var err error
	if name, alias, ok := strings.Cut(rest, "@"); ok && !strings.Contains(alias, "/") {
		v, err = s.versionByAlias(name, alias)
	} else {
		name, sel, ok := strings.Cut(rest, "/")
		if !ok || name == "" || sel == "" || strings.Contains(sel, "/") {
			return "", bad
		}
		if _, perr := strconv.ParseInt(sel, 10, 64); perr == nil {
			v, _, err = s.getModelVersion(name, sel)
		} else {
			v, err = s.latestVersion(name, sel)
		}
	}
	if err != nil {
		return "", err
	}
	if v.storageLocation != "" {
		return v.storageLocation, nil
	}
	return v.Source, nil
}

// latestVersion returns the newest live version of a model, in a stage
// unless sel is "latest".
func (s *FileStore) latestVersion(name, sel string) (*fileModelVersion, error) {
	stage := ""
	if !strings.EqualFold(sel, "latest") {
		var err error
		if stage, err = canonicalStage(sel); err != nil {
			return nil, err
		}
	}
	mdir, err := s.existingModelDir(name)
	if err != nil {
		return nil, err
	}
	versions, err := listModelVersions(mdir)
	if err != nil {
		return nil, err
	}
	for i := len(versions) - 1; i >= 0; i-- {
		v := versions[i]
		if v.CurrentStage != stageDeleted && (stage == "" || v.CurrentStage == stage) {
			return v, nil
		}
	}
	return nil, Errorf(CodeResourceDoesNotExist, "No versions of registered model %s in stage '%s'", name, sel)
}

// GetModelVersion returns one version of a registered model.
func (s *FileStore) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, _, err := s.getModelVersion(name, version)
	if err != nil {
		return nil, err
	}
	return &v.ModelVersion, nil
}

// GetModelVersionDownloadURI returns where a version's files are: its
// storage location, else its source (MLflow's FileStore rule).
func (s *FileStore) GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, _, err := s.getModelVersion(name, version)
	if err != nil {
		return "", err
	}
	if v.storageLocation != "" {
		return v.storageLocation, nil
	}
	return v.Source, nil
}

// TransitionModelVersionStage moves a version to stage. With
// archiveExisting (only for Staging and Production), the other versions
// already in that stage move to Archived, as in MLflow.
func (s *FileStore) TransitionModelVersionStage(ctx context.Context, name, version, stage string, archiveExisting bool) (*ModelVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	canon, err := canonicalStage(stage)
	if err != nil {
		return nil, err
	}
	if archiveExisting && canon != StageStaging && canon != StageProduction {
		return nil, Errorf(CodeInvalidParameterValue, "Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are %s, %s", stage, StageStaging, StageProduction)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, dir, err := s.getModelVersion(name, version)
	if err != nil {
		return nil, err
	}
	mdir := filepath.Dir(dir)
	now := time.Now().UnixMilli()
	if archiveExisting {
		versions, err := listModelVersions(mdir)
		if err != nil {
			return nil, err
		}
		for _, o := range versions {
			if o.number == v.number || o.CurrentStage != canon {
				continue
			}
			o.CurrentStage = StageArchived
			o.LastUpdatedTimestamp = now
			if err := writeYAMLFile(filepath.Join(mdir, fsVersionDir+o.Version, fsMetaFile), o.yaml()); err != nil {
				return nil, fmt.Errorf("archive model version %s/%s: %w", name, o.Version, err)
			}
		}
	}
	v.CurrentStage = canon
	v.LastUpdatedTimestamp = now
	if err := writeYAMLFile(filepath.Join(dir, fsMetaFile), v.yaml()); err != nil {
		return nil, fmt.Errorf("transition model version %s/%s: %w", name, version, err)
	}
	if err := s.touchRegisteredModel(mdir, now); err != nil {
		return nil, err
	}
	return &v.ModelVersion, nil
}

// SearchModelVersions returns the versions of all registered models that
// match the filter, newest update first unless ordered otherwise.
func (s *FileStore) SearchModelVersions(ctx context.Context, req SearchModelVersionsRequest) (*ModelVersionsPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	max := req.MaxResults
	switch {
	case max == 0:
		max = searchModelVersionsDefault
	case max < 0:
		return nil, Errorf(CodeInvalidParameterValue, "Invalid value for max_results. It must be a positive integer, but got %d", max)
	case max > searchModelVersionsMax:
		return nil, Errorf(CodeInvalidParameterValue, "Invalid value for request parameter max_results. It must be at most %d, but got value %d", searchModelVersionsMax, max)
	}
	filter, err := ParseModelVersionFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	order, err := ParseModelVersionOrderBy(req.OrderBy)
	if err != nil {
		return nil, err
	}
	offset, err := decodePageToken(req.PageToken) // "" is the first page
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	var mvs []ModelVersion
	entries, err := os.ReadDir(filepath.Join(s.root, fsModelsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.mu.Unlock()
		return nil, fmt.Errorf("search model versions: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		versions, err := listModelVersions(filepath.Join(s.root, fsModelsDir, e.Name()))
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("search model versions: %w", err)
		}
		for _, v := range versions {
			if v.CurrentStage != stageDeleted && filter.Match(&v.ModelVersion) {
				mvs = append(mvs, v.ModelVersion)
			}
		}
	}
	s.mu.Unlock()

	// ModelVersionOrder falls back to MLflow's default order (last update
	// newest first, then name, then version number descending).
	order.Sort(mvs)
	page := &ModelVersionsPage{}
	page.ModelVersions, page.NextPageToken = pageOf(mvs, offset, max)
	return page, nil
}

// SetRegisteredModelAlias points alias at version, moving it if it
// pointed at another version.
func (s *FileStore) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateAliasName(alias); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, dir, err := s.getModelVersion(name, version)
	if err != nil {
		return err
	}
	mdir := filepath.Dir(dir)
	if err := writeValueFile(filepath.Join(mdir, fsAliasesDir, alias), v.Version); err != nil {
		return fmt.Errorf("set alias %s of %s: %w", alias, name, err)
	}
	return s.touchRegisteredModel(mdir, time.Now().UnixMilli())
}

// versionByAlias returns the version an alias points at. A missing alias
// is CodeInvalidParameterValue, as MLflow reports it.
func (s *FileStore) versionByAlias(name, alias string) (*fileModelVersion, error) {
	if err := validateAliasName(alias); err != nil {
		return nil, err
	}
	mdir, err := s.existingModelDir(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(mdir, fsAliasesDir, alias))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Errorf(CodeInvalidParameterValue, "Registered model alias %s not found.", alias)
	}
	if err != nil {
		return nil, fmt.Errorf("alias %s of %s: %w", alias, name, err)
	}
	v, _, err := s.getModelVersion(name, strings.TrimSpace(string(b)))
	return v, err
}

// GetModelVersionByAlias returns the version alias points at.
func (s *FileStore) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.versionByAlias(name, alias)
	if err != nil {
		return nil, err
	}
	return &v.ModelVersion, nil
}

// DeleteRegisteredModelAlias removes an alias; removing one that does
// not exist is not an error, as in MLflow.
func (s *FileStore) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateAliasName(alias); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mdir, err := s.existingModelDir(name)
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(mdir, fsAliasesDir, alias))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete alias %s of %s: %w", alias, name, err)
	}
	return s.touchRegisteredModel(mdir, time.Now().UnixMilli())
}

// SetModelVersionTag writes a tag of a live model version to
// version-<n>/tags/<key> and touches the registered model, as MLflow's
// FileStore does; the version's own last_updated_timestamp stays, as
// there.
func (s *FileStore) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateRegistryTag(Tag{Key: key, Value: value}); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, dir, err := s.getModelVersion(name, version)
	if err != nil {
		return err
	}
	if err := writeValueFile(filepath.Join(dir, fsTagsDir, filepath.FromSlash(key)), value); err != nil {
		return fmt.Errorf("set tag %s of model version %s/%s: %w", key, name, version, err)
	}
	return s.touchRegisteredModel(filepath.Dir(dir), time.Now().UnixMilli())
}
