package tracking

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// The directory layout is MLflow's FileStore as written by
// mlflow/store/tracking/file_store.py and
// mlflow/store/model_registry/file_store.py of MLflow 2.16-2.19 (the
// layout MLflow 3.x's FileStore still reads), with the validation rules
// of mlflow/utils/validation.py from MLflow 2.20 on (param values up to
// 6000 characters, tag values up to 8000, colons allowed in keys):
//
//	<root>/<experiment_id>/meta.yaml
//	<root>/<experiment_id>/tags/<key>
//	<root>/<experiment_id>/datasets/<md5(name+digest)>/meta.yaml
//	<root>/<experiment_id>/<run_id>/meta.yaml
//	<root>/<experiment_id>/<run_id>/metrics/<key>    lines "<timestamp> <value> <step>"
//	<root>/<experiment_id>/<run_id>/params/<key>     the raw value
//	<root>/<experiment_id>/<run_id>/tags/<key>       the raw value
//	<root>/<experiment_id>/<run_id>/inputs/<md5(dataset_id+run_id)>/meta.yaml
//	<root>/<experiment_id>/<run_id>/artifacts/
//	<root>/.trash/<experiment_id>/...                deleted experiments
//	<root>/models/<name>/...                         the model registry
const (
	fsTrashDir     = ".trash"
	fsModelsDir    = "models"
	fsMetaFile     = "meta.yaml"
	fsMetricsDir   = "metrics"
	fsParamsDir    = "params"
	fsTagsDir      = "tags"
	fsArtifactsDir = "artifacts"
	fsDatasetsDir  = "datasets"
	fsInputsDir    = "inputs"
	fsTracesDir    = "traces"

	defaultExperimentName = "Default"
	runNameTag            = "mlflow.runName"
)

// MLflow's integer encodings in a run's meta.yaml (RunStatus and
// SourceType in mlflow/protos/service.proto).
var runStatusCodes = map[RunStatus]int64{
	RunRunning: 1, RunScheduled: 2, RunFinished: 3, RunFailed: 4, RunKilled: 5,
}

const sourceTypeLocal = 4

// Result limits of MLflow's search endpoints.
const (
	searchRunsDefault          = 1000
	searchRunsMax              = 50000
	searchModelVersionsDefault = 200000
	searchModelVersionsMax     = 200000
)

// FileStore is a Store over MLflow's FileStore directory layout, what
// `mlflow ui --backend-store-uri <root>` reads. It is safe for concurrent
// use by goroutines of one process; meta.yaml, param and tag files are
// replaced atomically and metric lines are appended with one write each,
// so a crash leaves at most a partial last metric line, which readers
// skip.
type FileStore struct {
	root         string // absolute
	artifactRoot string // URI under which experiments get their artifact location

	mu     sync.Mutex
	runDir map[string]string // run ID -> run directory, found by scanning
}

var _ Store = (*FileStore)(nil)

// FileStoreOption configures NewFileStore.
type FileStoreOption func(*FileStore)

// WithArtifactRoot makes experiments created by the store (including
// Default) store artifacts under uri + "/" + experiment ID instead of
// under the store's root, as `mlflow server --default-artifact-root`
// does; "mlflow-artifacts:/" gives what a server with --serve-artifacts
// hands out.
func WithArtifactRoot(uri string) FileStoreOption {
	return func(s *FileStore) { s.artifactRoot = uri }
}

// NewFileStore opens the FileStore at root, creating root, its .trash
// folder and the Default experiment "0" when they are missing. A
// relative root is made absolute against the working directory.
func NewFileStore(root string, opts ...FileStoreOption) (*FileStore, error) {
	if root == "" {
		return nil, errors.New("file store: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("file store %s: %w", root, err)
	}
	s := &FileStore{root: abs, runDir: map[string]string{}}
	s.artifactRoot = pathToFileURI(abs)
	for _, o := range opts {
		o(s)
	}
	if err := os.MkdirAll(filepath.Join(abs, fsTrashDir), 0o755); err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir, _ := s.experimentDir(DefaultExperimentID); dir == "" {
		if err := s.createExperiment(DefaultExperimentID, defaultExperimentName, "", nil); err != nil {
			return nil, fmt.Errorf("file store: default experiment: %w", err)
		}
	}
	return s, nil
}

// URI returns the file: URI of the store's root.
func (s *FileStore) URI() string { return pathToFileURI(s.root) }

// Close does nothing: a FileStore holds no open files between calls.
func (s *FileStore) Close() error { return nil }

// Artifacts returns the local repository of a file: URI or plain path.
func (s *FileStore) Artifacts(ctx context.Context, artifactURI string) (ArtifactRepo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return NewLocalArtifactRepo(artifactURI)
}

// ---- experiments ----

// experimentDir finds an experiment's directory among the active ones,
// then in .trash. It returns "" when there is none.
func (s *FileStore) experimentDir(id string) (string, error) {
	if err := validateExperimentID(id); err != nil {
		return "", err
	}
	for _, parent := range []string{s.root, filepath.Join(s.root, fsTrashDir)} {
		dir := filepath.Join(parent, id)
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, nil
		}
	}
	return "", nil
}

// experimentDirs lists the directories of all experiments, active first.
func (s *FileStore) experimentDirs() ([]string, error) {
	var dirs []string
	for _, parent := range []string{s.root, filepath.Join(s.root, fsTrashDir)} {
		entries, err := os.ReadDir(parent)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("list experiments: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() || (parent == s.root && (e.Name() == fsTrashDir || e.Name() == fsModelsDir)) {
				continue
			}
			dirs = append(dirs, filepath.Join(parent, e.Name()))
		}
	}
	return dirs, nil
}

func (s *FileStore) createExperiment(id, name, artifactLocation string, tags []Tag) error {
	if artifactLocation == "" {
		artifactLocation = appendURIPath(s.artifactRoot, id)
	} else {
		artifactLocation = resolveLocalURI(artifactLocation)
	}
	dir := filepath.Join(s.root, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create experiment %s: %w", id, err)
	}
	now := time.Now().UnixMilli()
	meta := yamlMap{
		{"artifact_location", artifactLocation},
		{"creation_time", now},
		{"experiment_id", id},
		{"last_update_time", now},
		{"lifecycle_stage", LifecycleActive},
		{"name", name},
	}
	if err := writeYAMLFile(filepath.Join(dir, fsMetaFile), meta); err != nil {
		return fmt.Errorf("create experiment %s: %w", id, err)
	}
	for _, t := range tags {
		if err := writeValueFile(filepath.Join(dir, fsTagsDir, filepath.FromSlash(t.Key)), t.Value); err != nil {
			return fmt.Errorf("create experiment %s: tag %s: %w", id, t.Key, err)
		}
	}
	return nil
}

// readExperiment reads the experiment in dir with its tags.
func readExperiment(dir string) (*Experiment, error) {
	doc, err := readYAMLFile(filepath.Join(dir, fsMetaFile))
	if err != nil {
		return nil, err
	}
	e := &Experiment{
		ID:               doc.str("experiment_id"),
		Name:             doc.str("name"),
		ArtifactLocation: doc.str("artifact_location"),
		LifecycleStage:   doc.str("lifecycle_stage"),
		CreationTime:     doc.int("creation_time"),
		LastUpdateTime:   doc.int("last_update_time"),
	}
	if e.LifecycleStage == "" {
		e.LifecycleStage = LifecycleActive
	}
	if e.Tags, err = readValueDir(filepath.Join(dir, fsTagsDir)); err != nil {
		return nil, fmt.Errorf("experiment %s tags: %w", e.ID, err)
	}
	return e, nil
}

func (s *FileStore) getExperiment(id string) (*Experiment, string, error) {
	dir, err := s.experimentDir(id)
	if err != nil {
		return nil, "", err
	}
	if dir == "" {
		return nil, "", Errorf(CodeResourceDoesNotExist, "Could not find experiment with ID %s", id)
	}
	e, err := readExperiment(dir)
	if err != nil {
		return nil, "", Errorf(CodeInternalError, "Experiment %s is malformed: %v", id, err)
	}
	if e.ID != id {
		return nil, "", Errorf(CodeInternalError, "Experiment %s records ID '%s' in its meta.yaml", id, e.ID)
	}
	return e, dir, nil
}

// GetExperiment returns the experiment with id, active or deleted.
func (s *FileStore) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, _, err := s.getExperiment(id)
	return e, err
}

// findExperimentByName returns the experiment called name, active ones
// first, or nil.
func (s *FileStore) findExperimentByName(name string) (*Experiment, error) {
	dirs, err := s.experimentDirs()
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		e, err := readExperiment(dir)
		if err != nil {
			// A folder without a readable meta.yaml is not an
			// experiment (MLflow skips such folders too).
			continue
		}
		if e.Name == name && e.ID == filepath.Base(dir) {
			return e, nil
		}
	}
	return nil, nil
}

// GetExperimentByName returns the experiment called name, active or
// deleted.
func (s *FileStore) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.findExperimentByName(name)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, Errorf(CodeResourceDoesNotExist, "Could not find experiment with name '%s'", name)
	}
	return e, nil
}

// CreateExperiment creates an experiment with a random 18-digit ID, as
// MLflow's FileStore does. Names are unique among active and deleted
// experiments.
func (s *FileStore) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := validateExperimentName(name); err != nil {
		return "", err
	}
	if strings.HasPrefix(artifactLocation, "runs:") {
		return "", Errorf(CodeInvalidParameterValue, "Artifact location cannot be a runs:/ URI. Given: '%s'", artifactLocation)
	}
	for _, t := range tags {
		if err := validateExperimentTag(t); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, err := s.findExperimentByName(name)
	if err != nil {
		return "", err
	}
	if existing != nil {
		if existing.LifecycleStage == LifecycleDeleted {
			return "", Errorf(CodeResourceAlreadyExists, "Experiment '%s' already exists in deleted state. You can restore the experiment, or permanently delete the experiment from the .trash folder (under tracking server's root folder) in order to use this experiment name again.", name)
		}
		return "", Errorf(CodeResourceAlreadyExists, "Experiment '%s' already exists.", name)
	}
	var id string
	for {
		id = newExperimentID()
		if dir, err := s.experimentDir(id); err != nil {
			return "", err
		} else if dir == "" {
			break
		}
	}
	if err := s.createExperiment(id, name, artifactLocation, tags); err != nil {
		return "", err
	}
	return id, nil
}

// ---- runs ----

// runMeta is a run's meta.yaml.
type runMeta struct {
	info RunInfo
}

// yaml is the run's meta.yaml document. MLflow writes deleted_time: null
// when it creates a run and leaves the key out when it rewrites the run
// (for a run that is not being deleted), so newRun says which it is.
func (m *runMeta) yaml(newRun bool) yamlMap {
	info := m.info
	doc := yamlMap{
		{"artifact_uri", info.ArtifactURI},
		{"end_time", nullIfZero(info.EndTime)},
		{"entry_point_name", ""},
		{"experiment_id", info.ExperimentID},
		{"lifecycle_stage", info.LifecycleStage},
		{"run_id", info.RunID},
		{"run_name", info.RunName},
		{"run_uuid", info.RunID},
		{"source_name", ""},
		{"source_type", int64(sourceTypeLocal)},
		{"source_version", ""},
		{"start_time", info.StartTime},
		{"status", runStatusCodes[info.Status]},
		{"tags", []string{}},
		{"user_id", info.UserID},
	}
	if newRun {
		doc = append(doc, yamlField{"deleted_time", nil})
	}
	return doc
}

func readRunMeta(dir string) (*runMeta, error) {
	doc, err := readYAMLFile(filepath.Join(dir, fsMetaFile))
	if err != nil {
		return nil, err
	}
	m := &runMeta{info: RunInfo{
		RunID:          doc.str("run_id"),
		RunName:        doc.str("run_name"),
		ExperimentID:   doc.str("experiment_id"),
		UserID:         doc.str("user_id"),
		StartTime:      doc.int("start_time"),
		EndTime:        doc.int("end_time"),
		ArtifactURI:    doc.str("artifact_uri"),
		LifecycleStage: doc.str("lifecycle_stage"),
	}}
	if m.info.RunID == "" {
		m.info.RunID = doc.str("run_uuid")
	}
	if m.info.LifecycleStage == "" {
		m.info.LifecycleStage = LifecycleActive
	}
	status, err := parseRunStatus(doc.str("status"))
	if err != nil {
		return nil, err
	}
	m.info.Status = status
	return m, nil
}

// parseRunStatus reads a status as MLflow stores it (an integer enum) or
// by name; a missing status means RUNNING, as in MLflow.
func parseRunStatus(v string) (RunStatus, error) {
	if v == "" {
		return RunRunning, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		for st, code := range runStatusCodes {
			if code == n {
				return st, nil
			}
		}
		return "", fmt.Errorf("unknown run status %d", n)
	}
	if st := RunStatus(strings.ToUpper(v)); st.Valid() {
		return st, nil
	}
	return "", fmt.Errorf("unknown run status %q", v)
}

// findRunDir returns the directory of runID, scanning experiments when
// the cached location is gone.
func (s *FileStore) findRunDir(runID string) (string, error) {
	if err := validateRunID(runID); err != nil {
		return "", err
	}
	if dir, ok := s.runDir[runID]; ok {
		if _, err := os.Stat(filepath.Join(dir, fsMetaFile)); err == nil {
			return dir, nil
		}
		delete(s.runDir, runID)
	}
	expDirs, err := s.experimentDirs()
	if err != nil {
		return "", err
	}
	for _, e := range expDirs {
		dir := filepath.Join(e, runID)
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			s.runDir[runID] = dir
			return dir, nil
		}
	}
	return "", Errorf(CodeResourceDoesNotExist, "Run '%s' not found", runID)
}

// loadRunMeta finds a run and reads its meta.yaml.
func (s *FileStore) loadRunMeta(runID string) (*runMeta, string, error) {
	dir, err := s.findRunDir(runID)
	if err != nil {
		return nil, "", err
	}
	m, err := readRunMeta(dir)
	if err != nil {
		return nil, "", Errorf(CodeInternalError, "Run '%s' metadata is in invalid state: %v", runID, err)
	}
	if m.info.ExperimentID != experimentOfRunDir(dir) {
		return nil, "", Errorf(CodeInternalError, "Run '%s' metadata is in invalid state: it records experiment '%s' but lies in '%s'", runID, m.info.ExperimentID, experimentOfRunDir(dir))
	}
	return m, dir, nil
}

func experimentOfRunDir(dir string) string { return filepath.Base(filepath.Dir(dir)) }

// activeRun loads a run that may be written to: MLflow refuses writes to
// deleted runs (check_run_is_active) but not to finished ones.
func (s *FileStore) activeRun(runID string) (*runMeta, string, error) {
	m, dir, err := s.loadRunMeta(runID)
	if err != nil {
		return nil, "", err
	}
	if m.info.LifecycleStage != LifecycleActive {
		return nil, "", Errorf(CodeInvalidParameterValue, "The run %s must be in 'active' lifecycle_stage.", runID)
	}
	return m, dir, nil
}

func (s *FileStore) writeRunMeta(dir string, m *runMeta, newRun bool) error {
	if err := writeYAMLFile(filepath.Join(dir, fsMetaFile), m.yaml(newRun)); err != nil {
		return fmt.Errorf("run %s: %w", m.info.RunID, err)
	}
	return nil
}

// CreateRun creates a RUNNING run. Without a RunName or mlflow.runName
// tag it gets a generated name; the tag is always set to the name.
func (s *FileStore) CreateRun(ctx context.Context, req CreateRunRequest) (*Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	expID := req.ExperimentID
	if expID == "" {
		expID = DefaultExperimentID
	}
	tags := slices.Clone(req.Tags)
	for i, t := range tags {
		if err := validateRunTag(fmt.Sprintf("tags[%d]", i), t); err != nil {
			return nil, err
		}
	}
	tagName := ""
	for _, t := range tags {
		if t.Key == runNameTag {
			tagName = t.Value
		}
	}
	if req.RunName != "" && tagName != "" && req.RunName != tagName {
		return nil, Errorf(CodeInvalidParameterValue, "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", req.RunName, tagName)
	}
	name := req.RunName
	if name == "" {
		name = tagName
	}
	if name == "" {
		name = generateRunName()
	}
	if tagName == "" {
		tags = append(tags, Tag{Key: runNameTag, Value: name})
	}
	start := req.StartTime
	if start == 0 {
		start = time.Now().UnixMilli()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	exp, expDir, err := s.getExperiment(expID)
	if err != nil {
		return nil, err
	}
	if exp.LifecycleStage != LifecycleActive {
		return nil, Errorf(CodeInvalidParameterValue, "Could not create run under non-active experiment with ID %s.", expID)
	}
	runID := newRunID()
	m := &runMeta{info: RunInfo{
		RunID:          runID,
		RunName:        name,
		ExperimentID:   expID,
		UserID:         req.UserID,
		Status:         RunRunning,
		StartTime:      start,
		ArtifactURI:    appendURIPath(exp.ArtifactLocation, runID, fsArtifactsDir),
		LifecycleStage: LifecycleActive,
	}}
	dir := filepath.Join(expDir, runID)
	for _, sub := range []string{fsMetricsDir, fsParamsDir, fsArtifactsDir, fsTagsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create run: %w", err)
		}
	}
	if err := s.writeRunMeta(dir, m, true); err != nil {
		return nil, err
	}
	s.runDir[runID] = dir
	for _, t := range tags {
		if err := writeValueFile(filepath.Join(dir, fsTagsDir, filepath.FromSlash(t.Key)), t.Value); err != nil {
			return nil, fmt.Errorf("create run: tag %s: %w", t.Key, err)
		}
	}
	return s.readRun(m, dir)
}

// UpdateRun sets a run's status, end time and name. The run must not be
// deleted; a new name is mirrored into the mlflow.runName tag.
func (s *FileStore) UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64, runName string) (*RunInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if status != "" && !status.Valid() {
		return nil, invalidValue("status", string(status), "")
	}
	if runName != "" {
		if err := validateRunTag("", Tag{Key: runNameTag, Value: runName}); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, dir, err := s.activeRun(runID)
	if err != nil {
		return nil, err
	}
	if err := s.updateRunInfo(m, dir, status, endTime, runName); err != nil {
		return nil, err
	}
	info := m.info
	return &info, nil
}

func (s *FileStore) updateRunInfo(m *runMeta, dir string, status RunStatus, endTime int64, runName string) error {
	if status != "" {
		m.info.Status = status
	}
	if endTime != 0 {
		m.info.EndTime = endTime
	}
	if runName != "" {
		m.info.RunName = runName
		if err := writeValueFile(filepath.Join(dir, fsTagsDir, runNameTag), runName); err != nil {
			return fmt.Errorf("run %s: %w", m.info.RunID, err)
		}
	}
	return s.writeRunMeta(dir, m, false)
}

// GetRun returns a run, active or deleted, with everything logged to it.
func (s *FileStore) GetRun(ctx context.Context, runID string) (*Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, dir, err := s.loadRunMeta(runID)
	if err != nil {
		return nil, err
	}
	return s.readRun(m, dir)
}

// readRun reads what was logged to the run in dir.
func (s *FileStore) readRun(m *runMeta, dir string) (*Run, error) {
	r := &Run{Info: m.info}
	var err error
	if r.Data.Params, err = readParams(filepath.Join(dir, fsParamsDir)); err != nil {
		return nil, fmt.Errorf("run %s params: %w", m.info.RunID, err)
	}
	tags, err := readValueDir(filepath.Join(dir, fsTagsDir))
	if err != nil {
		return nil, fmt.Errorf("run %s tags: %w", m.info.RunID, err)
	}
	r.Data.Tags = tags
	if r.Data.Metrics, err = readLatestMetrics(filepath.Join(dir, fsMetricsDir)); err != nil {
		return nil, fmt.Errorf("run %s: %w", m.info.RunID, err)
	}
	if r.Inputs, err = readInputs(dir); err != nil {
		return nil, fmt.Errorf("run %s inputs: %w", m.info.RunID, err)
	}
	if r.Info.RunName == "" {
		r.Info.RunName, _ = r.Tag(runNameTag)
	}
	return r, nil
}

func readParams(dir string) ([]Param, error) {
	kv, err := readValueDir(dir)
	if err != nil {
		return nil, err
	}
	params := make([]Param, len(kv))
	for i, t := range kv {
		params[i] = Param(t)
	}
	return params, nil
}

// SearchRuns returns the runs of the experiments that match the filter,
// in the requested order, one page at a time.
func (s *FileStore) SearchRuns(ctx context.Context, req SearchRunsRequest) (*RunsPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	max := req.MaxResults
	switch {
	case max == 0:
		max = searchRunsDefault
	case max < 0:
		return nil, Errorf(CodeInvalidParameterValue, "Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", max)
	case max > searchRunsMax:
		return nil, Errorf(CodeInvalidParameterValue, "Invalid value for request parameter max_results. It must be at most %d, but got value %d", searchRunsMax, max)
	}
	view := req.ViewType
	if view == "" {
		view = ActiveOnly
	}
	if view != ActiveOnly && view != DeletedOnly && view != AllRuns {
		return nil, invalidValue("run_view_type", string(view), "")
	}
	filter, err := ParseRunFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	order, err := ParseRunOrderBy(req.OrderBy)
	if err != nil {
		return nil, err
	}
	offset, err := decodePageToken(req.PageToken) // "" is the first page
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	var runs []*Run
	for _, expID := range req.ExperimentIDs {
		found, err := s.experimentRuns(ctx, expID, view)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		for _, r := range found {
			if filter.Match(r) {
				runs = append(runs, r)
			}
		}
	}
	s.mu.Unlock()

	// RunOrder breaks ties as MLflow does (start time newest first, then
	// run ID), and with no clauses that is the whole order.
	order.Sort(runs)
	page := &RunsPage{}
	page.Runs, page.NextPageToken = pageOf(runs, offset, max)
	return page, nil
}

// experimentRuns reads the runs of an experiment whose lifecycle stage
// matches view.
func (s *FileStore) experimentRuns(ctx context.Context, expID string, view ViewType) ([]*Run, error) {
	_, expDir, err := s.getExperiment(expID)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(expDir)
	if err != nil {
		return nil, fmt.Errorf("experiment %s: %w", expID, err)
	}
	var runs []*Run
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := e.Name()
		if !e.IsDir() || name == fsTagsDir || name == fsDatasetsDir || name == fsTracesDir {
			continue
		}
		dir := filepath.Join(expDir, name)
		m, err := readRunMeta(dir)
		if err != nil || m.info.ExperimentID != expID {
			// Not a run: MLflow skips such folders as well (an
			// artifact root inside the store has them).
			continue
		}
		deleted := m.info.LifecycleStage == LifecycleDeleted
		if (view == ActiveOnly && deleted) || (view == DeletedOnly && !deleted) {
			continue
		}
		s.runDir[m.info.RunID] = dir
		r, err := s.readRun(m, dir)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// LogBatch logs metrics, params and tags. Everything is validated before
// anything is written, so a refused batch leaves the run unchanged.
func (s *FileStore) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateBatch(metrics, params, tags); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, dir, err := s.activeRun(runID)
	if err != nil {
		return err
	}
	// Params are write-once: check them all before writing any.
	var newParams []Param
	for _, p := range params {
		cur, err := os.ReadFile(filepath.Join(dir, fsParamsDir, filepath.FromSlash(p.Key)))
		switch {
		case err == nil:
			if string(cur) != p.Value {
				return Errorf(CodeInvalidParameterValue, "Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.", p.Key, cur, runID, p.Value)
			}
		case errors.Is(err, fs.ErrNotExist):
			newParams = append(newParams, p)
		default:
			return fmt.Errorf("log batch: param %s: %w", p.Key, err)
		}
	}
	for _, p := range newParams {
		if err := writeValueFile(filepath.Join(dir, fsParamsDir, filepath.FromSlash(p.Key)), p.Value); err != nil {
			return fmt.Errorf("log batch: param %s: %w", p.Key, err)
		}
	}
	if err := appendMetrics(filepath.Join(dir, fsMetricsDir), metrics); err != nil {
		return fmt.Errorf("log batch: %w", err)
	}
	for _, t := range tags {
		if err := s.setRunTag(m, dir, t); err != nil {
			return fmt.Errorf("log batch: %w", err)
		}
	}
	return nil
}

// setRunTag writes a run tag. A non-empty mlflow.runName also renames
// the run in its meta.yaml, as MLflow keeps the two equal.
func (s *FileStore) setRunTag(m *runMeta, dir string, t Tag) error {
	if t.Key == runNameTag && t.Value != "" {
		return s.updateRunInfo(m, dir, "", 0, t.Value)
	}
	if err := writeValueFile(filepath.Join(dir, fsTagsDir, filepath.FromSlash(t.Key)), t.Value); err != nil {
		return fmt.Errorf("tag %s: %w", t.Key, err)
	}
	return nil
}

func validateBatch(metrics []Metric, params []Param, tags []Tag) error {
	for i, m := range metrics {
		if err := validateMetric(fmt.Sprintf("metrics[%d]", i), m); err != nil {
			return err
		}
	}
	for i, p := range params {
		if err := validateParam(fmt.Sprintf("params[%d]", i), p); err != nil {
			return err
		}
	}
	for i, t := range tags {
		if err := validateRunTag(fmt.Sprintf("tags[%d]", i), t); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		what  string
		limit int
		n     int
	}{
		{"metrics", maxMetricsPerBatch, len(metrics)},
		{"params", maxParamsTagsPerBatch, len(params)},
		{"tags", maxParamsTagsPerBatch, len(tags)},
		{"metrics, params, and tags", maxEntitiesPerBatch, len(metrics) + len(params) + len(tags)},
	} {
		if l.n > l.limit {
			return Errorf(CodeInvalidParameterValue, "A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.", l.limit, l.what, l.n, l.what, l.what)
		}
	}
	seen := make(map[string]bool, len(params))
	var dupes []string
	for _, p := range params {
		if seen[p.Key] {
			dupes = append(dupes, "'"+p.Key+"'")
		}
		seen[p.Key] = true
	}
	if len(dupes) > 0 {
		return Errorf(CodeInvalidParameterValue, "Duplicate parameter keys have been submitted: [%s]. Please ensure the request contains only one param value per param key.", strings.Join(dupes, ", "))
	}
	return nil
}

// SetTag sets a run tag; mlflow.runName also renames the run.
func (s *FileStore) SetTag(ctx context.Context, runID, key, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateRunTag("", Tag{Key: key, Value: value}); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, dir, err := s.activeRun(runID)
	if err != nil {
		return err
	}
	if err := s.setRunTag(m, dir, Tag{Key: key, Value: value}); err != nil {
		return fmt.Errorf("set tag: %w", err)
	}
	return nil
}

// GetMetricHistory returns every value of a metric in the order logged;
// a metric never logged has an empty history.
func (s *FileStore) GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validateEntityName("name", key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, dir, err := s.loadRunMeta(runID)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, fsMetricsDir, filepath.FromSlash(key))
	if st, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) || (err == nil && st.IsDir()) {
		// Never logged ("train" when only "train/loss" was).
		return []Metric{}, nil
	}
	hist, err := readMetricFile(path, key)
	if err != nil {
		return nil, err
	}
	if hist == nil {
		hist = []Metric{}
	}
	return hist, nil
}

// ---- metrics ----

// pyFloatRepr formats v as Python's repr(float), which is what MLflow
// writes into metric files: shortest round-trip digits, ".0" on whole
// numbers, exponents outside [1e-4, 1e16), nan and inf by those names.
func pyFloatRepr(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // "-d.ddde±XX"
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es = "-"
			exp = -exp
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
	}
	var out string
	switch point := exp + 1; {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits)) + ".0"
	default:
		out = digits[:point] + "." + digits[point:]
	}
	return sign + out
}

// metricLine is one line of a metric file, as MLflow writes it.
func metricLine(m Metric) string {
	return strconv.FormatInt(m.Timestamp, 10) + " " + pyFloatRepr(m.Value) + " " + strconv.FormatInt(m.Step, 10) + "\n"
}

// appendMetrics appends each metric as one line to its file, one
// write(2) per line on an O_APPEND descriptor.
func appendMetrics(dir string, metrics []Metric) error {
	byKey := map[string][]Metric{}
	var keys []string
	for _, m := range metrics {
		if _, ok := byKey[m.Key]; !ok {
			keys = append(keys, m.Key)
		}
		byKey[m.Key] = append(byKey[m.Key], m)
	}
	for _, k := range keys {
		if err := appendMetricFile(filepath.Join(dir, filepath.FromSlash(k)), byKey[k]); err != nil {
			return fmt.Errorf("metric %s: %w", k, err)
		}
	}
	return nil
}

func appendMetricFile(path string, metrics []Metric) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := dropPartialLine(f); err != nil {
		return err
	}
	for _, m := range metrics {
		if _, err := f.WriteString(metricLine(m)); err != nil {
			return err
		}
	}
	return nil
}

// dropPartialLine truncates f after its last newline. Every line is
// written by one write(2), so text after the last newline is what a
// crashed writer left; appending after it would merge two lines into
// one that neither MLflow nor this store can read.
func dropPartialLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], size-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	keep := int64(0)
	buf := make([]byte, 4096)
	for end := size; end > 0 && keep == 0; {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			keep = start + int64(i) + 1
		}
		end = start
	}
	return f.Truncate(keep)
}

// readMetricFile reads a metric's values in file order. A last line
// without its newline is a write cut short by a crash and is skipped.
func readMetricFile(path, key string) ([]Metric, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		data = data[:i+1]
	}
	var out []Metric
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m, err := parseMetricLine(key, line)
		if err != nil {
			return nil, Errorf(CodeInternalError, "Metric '%s' is malformed: %v", key, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMetricLine reads "<timestamp> <value> [<step>]"; lines without a
// step come from old MLflow versions and mean step 0.
func parseMetricLine(key, line string) (Metric, error) {
	parts := strings.Split(line, " ")
	if len(parts) != 2 && len(parts) != 3 {
		return Metric{}, fmt.Errorf("line %q has %d fields, want 2 or 3", line, len(parts))
	}
	ts, err := parsePyInt(parts[0])
	if err != nil {
		return Metric{}, fmt.Errorf("timestamp %q: %w", parts[0], err)
	}
	v, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return Metric{}, fmt.Errorf("value %q: %w", parts[1], err)
	}
	var step int64
	if len(parts) == 3 {
		if step, err = parsePyInt(parts[2]); err != nil {
			return Metric{}, fmt.Errorf("step %q: %w", parts[2], err)
		}
	}
	return Metric{Key: key, Value: v, Timestamp: ts, Step: step}, nil
}

// parsePyInt reads an integer as Python's int() does for what MLflow
// writes, allowing digit-group underscores.
func parsePyInt(s string) (int64, error) {
	return strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
}

// latestMetric picks the value MLflow shows for a metric: the largest
// step, then the latest timestamp, then the largest value. Like Python's
// max over (step, timestamp, value) tuples it keeps the first of equals,
// and a NaN value neither replaces nor is replaced at the same step and
// timestamp.
func latestMetric(hist []Metric) Metric {
	best := hist[0]
	for _, m := range hist[1:] {
		switch {
		case m.Step != best.Step:
			if m.Step > best.Step {
				best = m
			}
		case m.Timestamp != best.Timestamp:
			if m.Timestamp > best.Timestamp {
				best = m
			}
		case m.Value > best.Value:
			best = m
		}
	}
	return best
}

func readLatestMetrics(dir string) ([]Metric, error) {
	keys, err := listValueFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := make([]Metric, 0, len(keys))
	for _, k := range keys {
		hist, err := readMetricFile(filepath.Join(dir, filepath.FromSlash(k)), k)
		if err != nil {
			return nil, err
		}
		if len(hist) == 0 {
			// Only a partial line so far: nothing was logged for sure.
			continue
		}
		out = append(out, latestMetric(hist))
	}
	return out, nil
}

// ---- key/value files ----

// writeValueFile replaces the file at path with value, creating parents:
// a key with slashes names a file in subdirectories, as in MLflow.
func writeValueFile(path, value string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, []byte(value))
}

// listValueFiles lists the keys under dir: the slash paths of its files,
// walked recursively, sorted. A missing dir has none. Temporary files
// of atomic writes in progress are not keys.
func listValueFiles(dir string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || isAtomicTemp(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	return keys, nil
}

// isAtomicTemp reports whether name is an atomicfile temporary
// (".<name>.tmp-<random>"), which a crash can leave behind.
func isAtomicTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// readValueDir reads the key/value files under dir, sorted by key.
func readValueDir(dir string) ([]Tag, error) {
	keys, err := listValueFiles(dir)
	if err != nil {
		return nil, err
	}
	out := make([]Tag, 0, len(keys))
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k)))
		if err != nil {
			return nil, err
		}
		out = append(out, Tag{Key: k, Value: string(b)})
	}
	return out, nil
}

// ---- inputs ----

func md5Hex(parts ...string) string {
	h := md5.New()
	for _, p := range parts {
		io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LogInputs records datasets a run used: each dataset once per
// experiment under datasets/<md5(name+digest)>, each use once per run
// under inputs/<md5(dataset_id+run_id)>, as MLflow's FileStore does.
// Logging the same dataset to a run again keeps the first tags.
func (s *FileStore) LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateDatasetInputs(inputs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, dir, err := s.activeRun(runID)
	if err != nil {
		return err
	}
	expDir := filepath.Dir(dir)
	for _, in := range inputs {
		d := in.Dataset
		datasetID := md5Hex(d.Name, d.Digest)
		dsMeta := filepath.Join(expDir, fsDatasetsDir, datasetID, fsMetaFile)
		if _, err := os.Stat(dsMeta); errors.Is(err, fs.ErrNotExist) {
			doc := yamlMap{
				{"digest", d.Digest},
				{"name", d.Name},
				{"profile", nullIfEmpty(d.Profile)},
				{"schema", nullIfEmpty(d.Schema)},
				{"source", d.Source},
				{"source_type", d.SourceType},
			}
			if err := os.MkdirAll(filepath.Dir(dsMeta), 0o755); err != nil {
				return fmt.Errorf("log inputs: %w", err)
			}
			if err := writeYAMLFile(dsMeta, doc); err != nil {
				return fmt.Errorf("log inputs: dataset %s: %w", d.Name, err)
			}
		}
		inMeta := filepath.Join(dir, fsInputsDir, md5Hex(datasetID, runID), fsMetaFile)
		if _, err := os.Stat(inMeta); errors.Is(err, fs.ErrNotExist) {
			tags := map[string]string{}
			for _, t := range in.Tags {
				tags[t.Key] = t.Value
			}
			// MLflow's own writer puts the dataset ID into destination_id
			// too; readers ignore the field, so the run ID, which the
			// field is meant to hold, goes there.
			doc := yamlMap{
				{"destination_id", m.info.RunID},
				{"destination_type", "RUN"},
				{"source_id", datasetID},
				{"source_type", "DATASET"},
				{"tags", tags},
			}
			if err := os.MkdirAll(filepath.Dir(inMeta), 0o755); err != nil {
				return fmt.Errorf("log inputs: %w", err)
			}
			if err := writeYAMLFile(inMeta, doc); err != nil {
				return fmt.Errorf("log inputs: dataset %s: %w", d.Name, err)
			}
		}
	}
	return nil
}

func validateDatasetInputs(inputs []DatasetInput) error {
	if len(inputs) > maxDatasetsPerBatch {
		return Errorf(CodeInvalidParameterValue, "A batch logging request can contain at most %d datasets. Got %d datasets. Please split up datasets across multiple requests and try again.", maxDatasetsPerBatch, len(inputs))
	}
	for i, in := range inputs {
		d := in.Dataset
		field := func(f string) string { return fmt.Sprintf("datasets[%d].dataset.%s", i, f) }
		if d.Name == "" {
			return Errorf(CodeInvalidParameterValue, "Missing value for required parameter '%s'.", field("name"))
		}
		if d.Digest == "" {
			return Errorf(CodeInvalidParameterValue, "Missing value for required parameter '%s'.", field("digest"))
		}
		for _, l := range []struct {
			name, value string
			limit       int
		}{
			{"name", d.Name, maxDatasetNameSize},
			{"digest", d.Digest, maxDatasetDigestSize},
			{"schema", d.Schema, maxDatasetSchemaSize},
			{"source", d.Source, maxDatasetSourceSize},
			{"profile", d.Profile, maxDatasetProfileSize},
		} {
			if err := validateLength(field(l.name), l.limit, l.value); err != nil {
				return err
			}
		}
		for j, t := range in.Tags {
			if t.Key == "" {
				return Errorf(CodeInvalidParameterValue, "Missing value for required parameter 'datasets[%d].tags[%d].key'.", i, j)
			}
			if err := validateLength(fmt.Sprintf("datasets[%d].tags[%d].key", i, j), maxInputTagKeySize, t.Key); err != nil {
				return err
			}
			if err := validateLength(fmt.Sprintf("datasets[%d].tags[%d].value", i, j), maxInputTagValueSize, t.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// readInputs reads a run's dataset inputs, ordered by dataset name and
// digest. Inputs whose dataset is missing are skipped, as in MLflow.
func readInputs(runDir string) ([]DatasetInput, error) {
	entries, err := os.ReadDir(filepath.Join(runDir, fsInputsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	datasets := filepath.Join(filepath.Dir(runDir), fsDatasetsDir)
	var out []DatasetInput
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		doc, err := readYAMLFile(filepath.Join(runDir, fsInputsDir, e.Name(), fsMetaFile))
		if err != nil {
			return nil, err
		}
		if doc.str("source_type") != "DATASET" {
			continue
		}
		srcID := doc.str("source_id")
		if !experimentIDPattern.MatchString(srcID) {
			continue
		}
		ds, err := readYAMLFile(filepath.Join(datasets, srcID, fsMetaFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		in := DatasetInput{Dataset: Dataset{
			Name:       ds.str("name"),
			Digest:     ds.str("digest"),
			SourceType: ds.str("source_type"),
			Source:     ds.str("source"),
			Schema:     ds.str("schema"),
			Profile:    ds.str("profile"),
		}}
		tags := doc.strMap("tags")
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			in.Tags = append(in.Tags, Tag{Key: k, Value: tags[k]})
		}
		out = append(out, in)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Dataset, out[j].Dataset
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Digest < b.Digest
	})
	return out, nil
}

// ---- URIs ----

// pathToFileURI is Python's pathlib.Path(p).as_uri() for an absolute
// path: "file://" and the path percent-encoded except for letters,
// digits, "_.-~" and "/".
func pathToFileURI(p string) string {
	p = filepath.ToSlash(p)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive path: file:///C:/...
	}
	var sb strings.Builder
	sb.WriteString("file://")
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	return sb.String()
}

// uriScheme returns the scheme of a URI, "" for a plain path (a one
// letter scheme is a Windows drive).
var uriSchemePattern = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.\-]*):`)

func uriScheme(uri string) string {
	m := uriSchemePattern.FindStringSubmatch(uri)
	if m == nil || len(m[1]) == 1 {
		return ""
	}
	return strings.ToLower(m[1])
}

// fileURIToPath is the local path of a file: URI or a plain path.
func fileURIToPath(uri string) (string, error) {
	switch uriScheme(uri) {
	case "":
		return uri, nil
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("file URI %q: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("file URI %q names host %q; only local paths are supported", uri, u.Host)
		}
		p := u.Path
		if p == "" {
			p, err = url.PathUnescape(u.Opaque)
			if err != nil {
				return "", fmt.Errorf("file URI %q: %w", uri, err)
			}
		}
		if p == "" {
			return "", fmt.Errorf("file URI %q has no path", uri)
		}
		return filepath.FromSlash(p), nil
	default:
		return "", fmt.Errorf("artifact URI %q: scheme %q is not a local file", uri, uriScheme(uri))
	}
}

// resolveLocalURI makes a plain or relative file: location an absolute
// file: URI, as MLflow's resolve_uri_if_local; other URIs are kept.
func resolveLocalURI(loc string) string {
	switch uriScheme(loc) {
	case "":
		if abs, err := filepath.Abs(loc); err == nil {
			return pathToFileURI(abs)
		}
	case "file":
		if p, err := fileURIToPath(loc); err == nil && !filepath.IsAbs(p) {
			if abs, err := filepath.Abs(p); err == nil {
				return pathToFileURI(abs)
			}
		}
	}
	return loc
}

// appendURIPath joins path segments onto a URI with single slashes, as
// MLflow's append_to_uri_path ("mlflow-artifacts:/" + "0" is
// "mlflow-artifacts:/0").
func appendURIPath(uri string, parts ...string) string {
	for _, p := range parts {
		uri = strings.TrimRight(uri, "/") + "/" + strings.TrimLeft(p, "/")
	}
	return uri
}

func nullIfZero(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// ---- YAML ----

// yamlField is one key of a YAML mapping. Values are nil (null), string,
// int64, []string or map[string]string: what MLflow's meta.yaml files
// hold.
type yamlField struct {
	key   string
	value any
}

// yamlMap is a YAML mapping; it is written with sorted keys, as MLflow
// (PyYAML, sort_keys=True) writes it.
type yamlMap []yamlField

func writeYAMLFile(path string, doc yamlMap) error {
	return atomicfile.WriteFile(path, marshalPyYAML(doc))
}

// yamlDoc is a parsed meta.yaml: the top-level mapping's values by key.
type yamlDoc map[string]*yaml.Node

func readYAMLFile(path string) (yamlDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty document", path)
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a mapping", path)
	}
	doc := yamlDoc{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		doc[m.Content[i].Value] = m.Content[i+1]
	}
	return doc, nil
}

func (d yamlDoc) node(key string) *yaml.Node {
	n := d[key]
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// str returns a scalar as text whatever its YAML type (MLflow has
// written experiment_id both as 0 and as '0'); null and missing are "".
func (d yamlDoc) str(key string) string {
	n := d.node(key)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// int returns an integer scalar; null, missing and unreadable are 0.
func (d yamlDoc) int(key string) int64 {
	s := d.str(key)
	if s == "" {
		return 0
	}
	if v, err := parsePyInt(s); err == nil {
		return v
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return int64(f)
	}
	return 0
}

// strMap returns a mapping of scalars.
func (d yamlDoc) strMap(key string) map[string]string {
	out := map[string]string{}
	n := d.node(key)
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
			out[k.Value] = v.Value
		} else {
			out[k.Value] = ""
		}
	}
	return out
}

// marshalPyYAML writes doc byte for byte as MLflow writes meta.yaml:
// PyYAML's safe_dump(doc, default_flow_style=False, allow_unicode=True,
// sort_keys=True) with the libyaml emitter (CSafeDumper, which MLflow
// prefers and PyYAML's wheels ship). Block style; strings plain when
// PyYAML would read them back as strings, quoted otherwise; long lines
// folded at single spaces past column 80.
func marshalPyYAML(doc yamlMap) []byte {
	fields := slices.Clone(doc)
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].key < fields[j].key })
	e := &pyEmitter{}
	for _, f := range fields {
		e.mappingKey(f.key, 0)
		switch v := f.value.(type) {
		case nil:
			e.write(" null")
		case int64:
			e.write(" " + strconv.FormatInt(v, 10))
		case string:
			e.scalar(v, 2, false)
		case []string:
			if len(v) == 0 {
				e.write(" []")
				continue
			}
			for _, item := range v {
				e.startLine(0)
				e.write("-")
				e.scalar(item, 2, false)
			}
		case map[string]string:
			if len(v) == 0 {
				e.write(" {}")
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				e.mappingKey(k, 2)
				e.scalar(v[k], 4, false)
			}
		default:
			panic(fmt.Sprintf("marshalPyYAML: unsupported value %T", v))
		}
	}
	e.write("\n")
	return e.buf.Bytes()
}

// pyEmitter is the part of libyaml's emitter that writes block mappings
// of scalars. It tracks the column in characters, for folding.
type pyEmitter struct {
	buf        bytes.Buffer
	column     int
	whitespace bool // the last character written was whitespace
	indention  bool // only indentation since the last line break
}

const pyYAMLWidth = 80

// maxSimpleKeyBytes is libyaml's limit for a key written as "key:";
// longer keys (and multi-line ones) are written as "? key" / ": value".
const maxSimpleKeyBytes = 128

func (e *pyEmitter) write(s string) {
	e.buf.WriteString(s)
	e.column += utf8.RuneCountInString(s)
	e.whitespace = false
	e.indention = false
}

// startLine starts a line indented by indent, except at the very start.
func (e *pyEmitter) startLine(indent int) {
	if e.buf.Len() > 0 {
		e.buf.WriteByte('\n')
	}
	e.buf.WriteString(strings.Repeat(" ", indent))
	e.column = indent
	e.whitespace = true
	e.indention = true
}

// mappingKey writes a key of a block mapping indented by indent and the
// ':' after it.
func (e *pyEmitter) mappingKey(key string, indent int) {
	e.startLine(indent)
	if len(key) <= maxSimpleKeyBytes && !analyzeScalar([]rune(key)).multiline {
		e.scalar(key, indent+2, true)
		e.write(":")
		return
	}
	e.write("?")
	e.scalar(key, indent+2, false)
	e.writeIndent(indent)
	e.write(":")
}

// writeIndent is libyaml's yaml_emitter_write_indent: a line break
// unless the line holds only indentation, then spaces up to indent.
func (e *pyEmitter) writeIndent(indent int) {
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.buf.WriteByte('\n')
		e.column = 0
	}
	if e.column < indent {
		e.buf.WriteString(strings.Repeat(" ", indent-e.column))
		e.column = indent
	}
	e.whitespace = true
	e.indention = true
}

// scalar writes a string in the style the emitter would choose; indent is
// where folded continuation lines start; a simple key is never folded.
func (e *pyEmitter) scalar(s string, indent int, simpleKey bool) {
	text := []rune(s)
	a := analyzeScalar(text)
	switch {
	case a.plain && !(simpleKey && a.multiline) && !pyImplicitlyTyped(s):
		e.writePlain(text, indent, !simpleKey)
	case a.singleQuoted && !(simpleKey && a.multiline):
		e.writeSingleQuoted(text, indent, !simpleKey)
	default:
		e.writeDoubleQuoted(text, indent, !simpleKey)
	}
}

type scalarAnalysis struct {
	multiline    bool
	plain        bool // block_plain_allowed
	singleQuoted bool
}

// isYAMLBreak is libyaml's IS_BREAK.
func isYAMLBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// isYAMLBlankZ is libyaml's IS_BLANKZ: space, tab, break or NUL (what
// follows the last character).
func isYAMLBlankZ(r rune) bool { return r == 0 || r == ' ' || r == '\t' || isYAMLBreak(r) }

// isYAMLPrintable is libyaml's IS_PRINTABLE for a whole character:
// unlike PyYAML's own emitter it takes neither NEL nor characters beyond
// the Basic Multilingual Plane, which are escaped instead.
func isYAMLPrintable(r rune) bool {
	return r == '\n' || 0x20 <= r && r <= 0x7E || 0xA0 <= r && r <= 0xD7FF ||
		0xE000 <= r && r <= 0xFFFD && r != 0xFEFF
}

// analyzeScalar is libyaml's yaml_emitter_analyze_scalar for block
// context with unicode output.
func analyzeScalar(s []rune) scalarAnalysis {
	if len(s) == 0 {
		return scalarAnalysis{plain: true, singleQuoted: true}
	}
	var blockIndicators, lineBreaks, special bool
	var leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	str := string(s)
	if strings.HasPrefix(str, "---") || strings.HasPrefix(str, "...") {
		blockIndicators = true
	}
	at := func(i int) rune {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	precededByWS := true
	followedByWS := isYAMLBlankZ(at(1))
	prevSpace, prevBreak := false, false
	for i, ch := range s {
		if i == 0 {
			if strings.ContainsRune("#,[]{}&*!|>'\"%@`", ch) {
				blockIndicators = true
			}
			if (ch == '?' || ch == ':' || ch == '-') && followedByWS {
				blockIndicators = true
			}
		} else {
			if ch == ':' && followedByWS {
				blockIndicators = true
			}
			if ch == '#' && precededByWS {
				blockIndicators = true
			}
		}
		if !isYAMLPrintable(ch) {
			special = true
		}
		if isYAMLBreak(ch) {
			lineBreaks = true
		}
		switch {
		case ch == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i == len(s)-1 {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		case isYAMLBreak(ch):
			if i == 0 {
				leadingBreak = true
			}
			if i == len(s)-1 {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		precededByWS = isYAMLBlankZ(ch)
		followedByWS = isYAMLBlankZ(at(i + 2))
	}
	a := scalarAnalysis{multiline: lineBreaks, plain: true, singleQuoted: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.plain = false
	}
	if breakSpace || spaceBreak || special {
		a.plain, a.singleQuoted = false, false
	}
	if lineBreaks || blockIndicators {
		a.plain = false
	}
	return a
}

// PyYAML's implicit resolvers (yaml/resolver.py): a plain scalar matching
// one of these would read back as a bool, number, null, timestamp, merge
// or value key, so a string like that is quoted.
var pyImplicitPatterns = []*regexp.Regexp{
	regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`),
	regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`),
	regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`),
	regexp.MustCompile(`^(?:<<)$`),
	regexp.MustCompile(`^(?:~|null|Null|NULL|)$`),
	regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`),
	regexp.MustCompile(`^(?:=)$`),
	regexp.MustCompile(`^(?:!|&|\*)$`),
}

func pyImplicitlyTyped(s string) bool {
	for _, re := range pyImplicitPatterns {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// writePlain is libyaml's yaml_emitter_write_plain_scalar for one line:
// a lone space past the width becomes a line break.
func (e *pyEmitter) writePlain(text []rune, indent int, split bool) {
	if !e.whitespace {
		e.write(" ")
	}
	spaces := false
	for i, ch := range text {
		if ch == ' ' {
			if split && !spaces && e.column > pyYAMLWidth && (i+1 >= len(text) || text[i+1] != ' ') {
				e.writeIndent(indent)
			} else {
				e.write(" ")
			}
			spaces = true
			continue
		}
		e.write(string(ch))
		spaces = false
	}
}

// writeSingleQuoted is libyaml's yaml_emitter_write_single_quoted.
func (e *pyEmitter) writeSingleQuoted(text []rune, indent int, split bool) {
	if e.whitespace {
		e.write("'")
	} else {
		e.write(" '")
	}
	spaces, breaks := false, false
	for i, ch := range text {
		switch {
		case ch == ' ':
			if split && !spaces && e.column > pyYAMLWidth && i != 0 && i != len(text)-1 && text[i+1] != ' ' {
				e.writeIndent(indent)
			} else {
				e.write(" ")
			}
			spaces = true
		case isYAMLBreak(ch):
			if !breaks && ch == '\n' {
				e.lineBreak("\n")
			}
			e.lineBreak(string(ch))
			breaks = true
		default:
			if breaks {
				e.writeIndent(indent)
			}
			if ch == '\'' {
				e.write("'")
			}
			e.write(string(ch))
			spaces, breaks = false, false
		}
	}
	if breaks {
		e.writeIndent(indent)
	}
	e.write("'")
}

// lineBreak writes a line break character as libyaml's WRITE_BREAK.
func (e *pyEmitter) lineBreak(br string) {
	e.buf.WriteString(br)
	e.column = 0
	e.whitespace = true
	e.indention = true
}

var yamlEscapes = map[rune]byte{
	0: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0A: 'n', 0x0B: 'v', 0x0C: 'f',
	0x0D: 'r', 0x1B: 'e', '"': '"', '\\': '\\', 0x85: 'N', 0xA0: '_',
	0x2028: 'L', 0x2029: 'P',
}

// writeDoubleQuoted is libyaml's yaml_emitter_write_double_quoted_scalar.
func (e *pyEmitter) writeDoubleQuoted(text []rune, indent int, split bool) {
	if e.whitespace {
		e.write("\"")
	} else {
		e.write(" \"")
	}
	spaces := false
	for i, ch := range text {
		switch {
		case !isYAMLPrintable(ch) || ch == 0xFEFF || isYAMLBreak(ch) || ch == '"' || ch == '\\':
			if c, ok := yamlEscapes[ch]; ok {
				e.write("\\" + string(c))
			} else if ch <= 0xFF {
				e.write(fmt.Sprintf("\\x%02X", ch))
			} else if ch <= 0xFFFF {
				e.write(fmt.Sprintf("\\u%04X", ch))
			} else {
				e.write(fmt.Sprintf("\\U%08X", ch))
			}
			spaces = false
		case ch == ' ':
			if split && !spaces && e.column > pyYAMLWidth && i != 0 && i != len(text)-1 {
				e.writeIndent(indent)
				if text[i+1] == ' ' {
					e.write("\\")
				}
			} else {
				e.write(" ")
			}
			spaces = true
		default:
			e.write(string(ch))
			spaces = false
		}
	}
	e.write("\"")
}
