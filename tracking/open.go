package tracking

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// DefaultLocalRoot is where runs go when no tracking URI is set, as in
// MLflow's clients.
const DefaultLocalRoot = "mlruns"

// DefaultExperimentName is the experiment Nebras' stages log to when
// neither --experiment nor MLFLOW_EXPERIMENT_NAME names one.
const DefaultExperimentName = "nebras"

// Config selects a tracking store and how to authenticate to it, with the
// meaning of MLflow's environment variables.
type Config struct {
	TrackingURI string // MLFLOW_TRACKING_URI; "" means ./mlruns
	Token       string // MLFLOW_TRACKING_TOKEN
	Username    string // MLFLOW_TRACKING_USERNAME
	Password    string // MLFLOW_TRACKING_PASSWORD
	InsecureTLS bool   // MLFLOW_TRACKING_INSECURE_TLS
	Experiment  string // MLFLOW_EXPERIMENT_NAME
}

// ConfigFromEnv reads MLflow's environment variables. A malformed
// MLFLOW_TRACKING_INSECURE_TLS is an error rather than a silent false.
func ConfigFromEnv() (Config, error) {
	c := Config{
		TrackingURI: os.Getenv("MLFLOW_TRACKING_URI"),
		Token:       os.Getenv("MLFLOW_TRACKING_TOKEN"),
		Username:    os.Getenv("MLFLOW_TRACKING_USERNAME"),
		Password:    os.Getenv("MLFLOW_TRACKING_PASSWORD"),
		Experiment:  os.Getenv("MLFLOW_EXPERIMENT_NAME"),
	}
	if v := os.Getenv("MLFLOW_TRACKING_INSECURE_TLS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("MLFLOW_TRACKING_INSECURE_TLS=%q: want true or false", v)
		}
		c.InsecureTLS = b
	}
	return c, nil
}

// Open returns the store for cfg.TrackingURI: a RESTStore for http(s)
// URIs, a FileStore for file: URIs and paths, and ./mlruns when empty.
// Database URIs are refused: Nebras reaches such stores through an MLflow
// tracking server.
func Open(cfg Config) (Store, error) {
	uri := strings.TrimSpace(cfg.TrackingURI)
	if uri == "" {
		return NewFileStore(DefaultLocalRoot)
	}
	if uri == "databricks" {
		return nil, fmt.Errorf("tracking URI %q is not supported; use the workspace's https:// URL with MLFLOW_TRACKING_TOKEN", uri)
	}
	u, err := url.Parse(uri)
	if err == nil && len(u.Scheme) > 1 { // one letter is a Windows drive
		switch u.Scheme {
		case "http", "https":
			return NewRESTStore(RESTConfig{
				URI: uri, Token: cfg.Token, Username: cfg.Username, Password: cfg.Password,
				InsecureTLS: cfg.InsecureTLS,
			})
		case "file":
			p, err := fileURIPath(u)
			if err != nil {
				return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
			}
			return NewFileStore(p)
		default:
			return nil, fmt.Errorf("tracking URI %q: scheme %q is not supported; run `mlflow server --backend-store-uri %s` and set MLFLOW_TRACKING_URI to its http address", uri, u.Scheme, uri)
		}
	}
	return NewFileStore(uri)
}

// fileURIPath is the local path of a file: URI (file:///abs, file:rel).
func fileURIPath(u *url.URL) (string, error) {
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("file URI names host %q; only local paths are supported", u.Host)
	}
	p := u.Path
	if p == "" {
		p = u.Opaque
	}
	if p == "" {
		return "", errors.New("file URI has no path")
	}
	return filepath.FromSlash(p), nil
}

// RunOptions describes a run for StartRun.
type RunOptions struct {
	// Experiment is the experiment's name; created when missing.
	// "" means DefaultExperimentName.
	Experiment string
	// RunName names the run; "" lets the store pick one.
	RunName string
	// ParentRunID nests the run under another (mlflow.parentRunId), as a
	// pipeline run holds its train and eval runs.
	ParentRunID string
	// Source names what ran, e.g. "nebras train" (mlflow.source.name).
	Source string
	// Tags are added to the standard tags.
	Tags []Tag
}

// StartRun creates a run with MLflow's standard tags: mlflow.runName,
// mlflow.user, mlflow.source.name, mlflow.source.type (LOCAL),
// mlflow.source.git.commit when known, and mlflow.parentRunId for nested
// runs.
func StartRun(ctx context.Context, s Store, opt RunOptions) (*Run, error) {
	name := opt.Experiment
	if name == "" {
		name = DefaultExperimentName
	}
	expID, err := GetOrCreateExperiment(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if opt.ParentRunID != "" {
		if _, err := s.GetRun(ctx, opt.ParentRunID); err != nil {
			return nil, fmt.Errorf("parent run %s: %w", opt.ParentRunID, err)
		}
	}
	userName := currentUser()
	tags := []Tag{
		{"mlflow.user", userName},
		{"mlflow.source.type", "LOCAL"},
	}
	if opt.Source != "" {
		tags = append(tags, Tag{"mlflow.source.name", opt.Source})
	}
	if opt.RunName != "" {
		tags = append(tags, Tag{"mlflow.runName", opt.RunName})
	}
	if commit := gitCommit(ctx); commit != "" {
		tags = append(tags, Tag{"mlflow.source.git.commit", commit})
	}
	if opt.ParentRunID != "" {
		tags = append(tags, Tag{"mlflow.parentRunId", opt.ParentRunID})
	}
	tags = append(tags, opt.Tags...)
	run, err := s.CreateRun(ctx, CreateRunRequest{
		ExperimentID: expID, UserID: userName, RunName: opt.RunName,
		StartTime: nowMillis(), Tags: tags,
	})
	if err != nil {
		return nil, fmt.Errorf("start run in experiment %q: %w", name, err)
	}
	return run, nil
}

// GetOrCreateExperiment returns the ID of the active experiment called
// name, creating it when it does not exist.
func GetOrCreateExperiment(ctx context.Context, s Store, name string) (string, error) {
	exp, err := s.GetExperimentByName(ctx, name)
	if err == nil {
		if exp.LifecycleStage == LifecycleDeleted {
			return "", fmt.Errorf("experiment %q is deleted; restore it in MLflow or use another name", name)
		}
		return exp.ID, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("experiment %q: %w", name, err)
	}
	id, err := s.CreateExperiment(ctx, name, "", nil)
	if errors.Is(err, ErrAlreadyExists) { // created meanwhile by another process
		exp, err := s.GetExperimentByName(ctx, name)
		if err != nil {
			return "", fmt.Errorf("experiment %q: %w", name, err)
		}
		return exp.ID, nil
	}
	if err != nil {
		return "", fmt.Errorf("create experiment %q: %w", name, err)
	}
	return id, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// gitCommit is the commit the running binary was built from (Go stamps
// it), or failing that the HEAD of the repository in the working
// directory, or "".
func gitCommit(ctx context.Context) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if len(c) != 40 {
		return ""
	}
	return c
}

func nowMillis() int64 { return time.Now().UnixMilli() }
