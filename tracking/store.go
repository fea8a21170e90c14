package tracking

import (
	"context"
	"io"
)

// Store is an MLflow tracking and model-registry backend. RESTStore and
// FileStore implement it with the same semantics; errors for missing or
// duplicate entities satisfy errors.Is(err, ErrNotFound) and
// errors.Is(err, ErrAlreadyExists). Implementations are safe for
// concurrent use.
type Store interface {
	// URI is the tracking URI the store was opened with, as
	// MLFLOW_TRACKING_URI would spell it.
	URI() string

	GetExperiment(ctx context.Context, id string) (*Experiment, error)
	GetExperimentByName(ctx context.Context, name string) (*Experiment, error)
	// CreateExperiment creates an active experiment and returns its ID.
	// An empty artifactLocation lets the store choose one.
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error)

	CreateRun(ctx context.Context, req CreateRunRequest) (*Run, error)
	// UpdateRun sets a run's status, end time (0: leave as is) and name
	// ("": leave as is).
	UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64, runName string) (*RunInfo, error)
	GetRun(ctx context.Context, runID string) (*Run, error)
	SearchRuns(ctx context.Context, req SearchRunsRequest) (*RunsPage, error)
	// LogBatch logs metrics, params and tags in one call. Params are
	// write-once: logging a param again with another value is an
	// ErrInvalid error. Callers with unbounded input use LogBatchSplit,
	// which splits at MLflow's per-request limits.
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error
	SetTag(ctx context.Context, runID, key, value string) error
	LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error
	// GetMetricHistory returns every logged value of a metric in logging
	// order.
	GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error)

	CreateRegisteredModel(ctx context.Context, name, description string, tags []Tag) (*RegisteredModel, error)
	GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error)
	// CreateModelVersion registers the next version of a registered model
	// (which must exist) with status READY and stage None.
	CreateModelVersion(ctx context.Context, req CreateModelVersionRequest) (*ModelVersion, error)
	GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error)
	GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error)
	// TransitionModelVersionStage moves a version to stage; with
	// archiveExisting (allowed for Staging and Production), the other
	// versions already in that stage go to Archived, as in MLflow.
	TransitionModelVersionStage(ctx context.Context, name, version, stage string, archiveExisting bool) (*ModelVersion, error)
	// SearchModelVersions filters with MLflow's model-version filter
	// grammar (name = '...', run_id = '...', run_id IN (...), tags.k = '...').
	SearchModelVersions(ctx context.Context, req SearchModelVersionsRequest) (*ModelVersionsPage, error)
	// SetRegisteredModelAlias points alias at version, moving it if it
	// pointed elsewhere.
	SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error
	// GetModelVersionByAlias resolves an alias; IsAliasNotFound tells a
	// missing alias from other failures.
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error)
	DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error
	// SetModelVersionTag sets a tag on a live model version, replacing
	// its value if the key is already there.
	SetModelVersionTag(ctx context.Context, name, version, key, value string) error

	// Artifacts returns the repository behind an artifact URI (a run's
	// ArtifactURI, or a model version's source): file paths for both
	// stores, mlflow-artifacts: through the server's proxy for RESTStore.
	Artifacts(ctx context.Context, artifactURI string) (ArtifactRepo, error)

	// Close releases what the store holds (idle connections).
	Close() error
}

// CreateRunRequest is what CreateRun needs. StartTime 0 means now.
type CreateRunRequest struct {
	ExperimentID string
	UserID       string
	RunName      string
	StartTime    int64
	Tags         []Tag
}

// SearchRunsRequest selects runs. Filter and OrderBy use MLflow's search
// grammar ("metrics.val_loss < 2 and params.lr = '1e-4'", "metrics.val_loss
// ASC") and are passed through verbatim to a tracking server. MaxResults 0
// means MLflow's default, 1000.
type SearchRunsRequest struct {
	ExperimentIDs []string
	Filter        string
	ViewType      ViewType
	MaxResults    int
	OrderBy       []string
	PageToken     string
}

// RunsPage is one page of SearchRuns; NextPageToken is empty on the last.
type RunsPage struct {
	Runs          []*Run
	NextPageToken string
}

// CreateModelVersionRequest is what CreateModelVersion needs.
type CreateModelVersionRequest struct {
	Name        string
	Source      string
	RunID       string
	RunLink     string
	Description string
	Tags        []Tag
}

// SearchModelVersionsRequest selects model versions. MaxResults 0 means
// MLflow's default, 200000 for model versions.
type SearchModelVersionsRequest struct {
	Filter     string
	MaxResults int
	OrderBy    []string
	PageToken  string
}

// ModelVersionsPage is one page of SearchModelVersions.
type ModelVersionsPage struct {
	ModelVersions []ModelVersion
	NextPageToken string
}

// FileInfo is an entry of an artifact listing. Path is relative to the
// repository root, with forward slashes.
type FileInfo struct {
	Path     string
	IsDir    bool
	FileSize int64
}

// ArtifactRepo stores a run's files. Artifact paths are relative, with
// forward slashes; "" is the root.
type ArtifactRepo interface {
	// URI is the artifact root this repository writes under.
	URI() string
	// LogArtifact copies the local file or directory at localPath under
	// artifactPath (a directory; "" for the root), keeping its base name.
	LogArtifact(ctx context.Context, localPath, artifactPath string) error
	// Put stores the content of r as the file at artifactPath.
	Put(ctx context.Context, artifactPath string, r io.Reader) error
	// List lists the direct children of the directory at artifactPath.
	List(ctx context.Context, artifactPath string) ([]FileInfo, error)
	// Download copies the file or directory at artifactPath into localDir
	// and returns the local path of the copy.
	Download(ctx context.Context, artifactPath, localDir string) (string, error)
}
