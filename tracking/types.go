// Package tracking records training runs and model versions in MLflow.
//
// One interface, Store, is served by two implementations that callers
// never need to tell apart: RESTStore talks to an MLflow tracking server
// over its documented REST API (/api/2.0/mlflow/...), and FileStore
// writes MLflow's own on-disk layout (./mlruns) so that `mlflow ui
// --backend-store-uri ./mlruns` can open what a laptop run produced.
// Open picks one from a tracking URI the way MLflow's clients do.
//
// Times are Unix milliseconds, as everywhere in MLflow.
package tracking

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// RunStatus is the lifecycle state of a run, spelled as MLflow's
// RunStatus enum.
type RunStatus string

// The run states MLflow defines.
const (
	RunRunning   RunStatus = "RUNNING"
	RunScheduled RunStatus = "SCHEDULED"
	RunFinished  RunStatus = "FINISHED"
	RunFailed    RunStatus = "FAILED"
	RunKilled    RunStatus = "KILLED"
)

// Valid reports whether s is one of MLflow's run states.
func (s RunStatus) Valid() bool {
	switch s {
	case RunRunning, RunScheduled, RunFinished, RunFailed, RunKilled:
		return true
	}
	return false
}

// Terminal reports whether a run in state s has ended.
func (s RunStatus) Terminal() bool {
	return s == RunFinished || s == RunFailed || s == RunKilled
}

// Lifecycle stages of experiments and runs.
const (
	LifecycleActive  = "active"
	LifecycleDeleted = "deleted"
)

// ViewType selects runs by lifecycle stage in SearchRuns.
type ViewType string

// The view types MLflow defines; the zero value means ActiveOnly.
const (
	ActiveOnly  ViewType = "ACTIVE_ONLY"
	DeletedOnly ViewType = "DELETED_ONLY"
	AllRuns     ViewType = "ALL"
)

// DefaultExperimentID is the experiment MLflow creates in every store and
// uses when none is named.
const DefaultExperimentID = "0"

// Tag is a key/value string attached to an experiment, run, registered
// model or model version.
type Tag struct {
	Key   string
	Value string
}

// Param is a run's hyper-parameter. Once logged, a param cannot change.
type Param struct {
	Key   string
	Value string
}

// Metric is one value of a metric series. Step orders values within a
// series; Timestamp is when the value was recorded.
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64
	Step      int64
}

// Experiment groups runs.
type Experiment struct {
	ID               string
	Name             string
	ArtifactLocation string
	LifecycleStage   string
	CreationTime     int64
	LastUpdateTime   int64
	Tags             []Tag
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string
	RunName        string
	ExperimentID   string
	UserID         string
	Status         RunStatus
	StartTime      int64
	EndTime        int64 // 0 while the run is going
	ArtifactURI    string
	LifecycleStage string
}

// RunData is what was logged to a run. Metrics holds the latest value of
// each metric (largest step, then latest timestamp, then largest value,
// as MLflow orders them); GetMetricHistory has the whole series.
type RunData struct {
	Metrics []Metric
	Params  []Param
	Tags    []Tag
}

// Dataset describes a dataset a run used, as MLflow's Dataset message.
// Schema and Profile are JSON strings.
type Dataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string
	Schema     string
	Profile    string
}

// DatasetInput is a Dataset with the tags of its use by one run
// (mlflow.data.context = training, validation, ...).
type DatasetInput struct {
	Tags    []Tag
	Dataset Dataset
}

// Run is a run with everything logged to it.
type Run struct {
	Info   RunInfo
	Data   RunData
	Inputs []DatasetInput
}

// Param returns the value of the run's param key.
func (r *Run) Param(key string) (string, bool) {
	for _, p := range r.Data.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Tag returns the value of the run's tag key.
func (r *Run) Tag(key string) (string, bool) {
	for _, t := range r.Data.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Metric returns the latest value of the run's metric key.
func (r *Run) Metric(key string) (Metric, bool) {
	for _, m := range r.Data.Metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Name                 string
	Description          string
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	LatestVersions       []ModelVersion // latest version per stage
	Tags                 []Tag
	Aliases              []Alias
}

// Alias points a name such as "production" at one version of a
// registered model.
type Alias struct {
	Alias   string
	Version string
}

// Model version stages (deprecated in MLflow in favour of aliases, still
// served by its API).
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// ModelVersionReady is the status of a model version whose files are in
// place. MLflow also defines PENDING_REGISTRATION and FAILED_REGISTRATION.
const ModelVersionReady = "READY"

// ModelVersion is one version of a registered model. Version is a decimal
// string ("1", "2", ...) as in MLflow's API.
type ModelVersion struct {
	Name                 string
	Version              string
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	UserID               string
	CurrentStage         string
	Description          string
	Source               string
	RunID                string
	Status               string
	StatusMessage        string
	RunLink              string
	Tags                 []Tag
	Aliases              []string
}

// Error codes MLflow returns in error bodies, the ones callers act on.
const (
	CodeInvalidParameterValue  = "INVALID_PARAMETER_VALUE"
	CodeResourceDoesNotExist   = "RESOURCE_DOES_NOT_EXIST"
	CodeResourceAlreadyExists  = "RESOURCE_ALREADY_EXISTS"
	CodeInternalError          = "INTERNAL_ERROR"
	CodeEndpointNotFound       = "ENDPOINT_NOT_FOUND"
	CodeRequestLimitExceeded   = "REQUEST_LIMIT_EXCEEDED"
	CodeTemporarilyUnavailable = "TEMPORARILY_UNAVAILABLE"
	CodeUnauthenticated        = "UNAUTHENTICATED"
	CodePermissionDenied       = "PERMISSION_DENIED"
	CodeBadRequest             = "BAD_REQUEST"
	CodeNotImplemented         = "NOT_IMPLEMENTED"
)

// Sentinel errors for errors.Is; an *Error with the matching code is one
// of them.
var (
	ErrNotFound      = errors.New("does not exist")
	ErrAlreadyExists = errors.New("already exists")
	ErrInvalid       = errors.New("invalid parameter")
)

// Error is an MLflow error: the error_code and message of an error body,
// and the HTTP status it came with (0 from FileStore).
type Error struct {
	Code       string
	Message    string
	HTTPStatus int

	retryAfter time.Duration // from a Retry-After header
}

func (e *Error) Error() string {
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.HTTPStatus, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrNotFound) and friends true for the matching
// codes.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == CodeResourceDoesNotExist
	case ErrAlreadyExists:
		return e.Code == CodeResourceAlreadyExists
	case ErrInvalid:
		return e.Code == CodeInvalidParameterValue
	}
	return false
}

// IsAliasNotFound reports whether err says a registered model has no such
// alias, or no such model. MLflow answers a missing alias with
// INVALID_PARAMETER_VALUE ("Registered model alias X not found."), not
// RESOURCE_DOES_NOT_EXIST, so errors.Is(err, ErrNotFound) alone misses it.
func IsAliasNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Code == CodeInvalidParameterValue &&
		strings.Contains(e.Message, "alias") && strings.Contains(e.Message, "not found")
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FormatMetricValue writes v the way MLflow's FileStore and proto JSON
// write floats: shortest round-trip decimal, NaN and ±Infinity by name.
func FormatMetricValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ParseMetricValue reads what FormatMetricValue writes, and Python's
// spellings (nan, inf, -inf) as well.
func ParseMetricValue(s string) (float64, error) {
	switch s {
	case "NaN", "nan":
		return math.NaN(), nil
	case "Infinity", "inf":
		return math.Inf(1), nil
	case "-Infinity", "-inf":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("metric value %q: %w", s, err)
	}
	return v, nil
}
