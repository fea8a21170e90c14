package tracking

import (
	"context"
	"errors"
	"net/url"
	"strconv"
)

// Wire shapes of MLflow's service.proto messages in proto3 JSON. Unknown
// response fields are ignored (encoding/json's default); int64 fields
// accept numbers and strings.

type wireTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireMetric struct {
	Key       string `json:"key"`
	Value     jfloat `json:"value"`
	Timestamp jint   `json:"timestamp"`
	Step      jint   `json:"step"`
}

type wireExperiment struct {
	ExperimentID     string    `json:"experiment_id"`
	Name             string    `json:"name"`
	ArtifactLocation string    `json:"artifact_location"`
	LifecycleStage   string    `json:"lifecycle_stage"`
	LastUpdateTime   jint      `json:"last_update_time"`
	CreationTime     jint      `json:"creation_time"`
	Tags             []wireTag `json:"tags"`
}

type wireRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      jint   `json:"start_time"`
	EndTime        jint   `json:"end_time"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type wireDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type wireDatasetInput struct {
	Tags    []wireTag   `json:"tags,omitempty"`
	Dataset wireDataset `json:"dataset"`
}

type wireRun struct {
	Info wireRunInfo `json:"info"`
	Data struct {
		Metrics []wireMetric `json:"metrics"`
		Params  []wireTag    `json:"params"`
		Tags    []wireTag    `json:"tags"`
	} `json:"data"`
	Inputs struct {
		DatasetInputs []wireDatasetInput `json:"dataset_inputs"`
	} `json:"inputs"`
}

func wireTags(tags []Tag) []wireTag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]wireTag, len(tags))
	for i, t := range tags {
		out[i] = wireTag(t)
	}
	return out
}

func wireParams(params []Param) []wireTag {
	if len(params) == 0 {
		return nil
	}
	out := make([]wireTag, len(params))
	for i, p := range params {
		out[i] = wireTag(p)
	}
	return out
}

func tagsOf(w []wireTag) []Tag {
	if len(w) == 0 {
		return nil
	}
	out := make([]Tag, len(w))
	for i, t := range w {
		out[i] = Tag(t)
	}
	return out
}

func wireMetricOf(m Metric) wireMetric {
	return wireMetric{Key: m.Key, Value: jfloat(m.Value), Timestamp: jint(m.Timestamp), Step: jint(m.Step)}
}

func metricOf(w wireMetric) Metric {
	return Metric{Key: w.Key, Value: float64(w.Value), Timestamp: int64(w.Timestamp), Step: int64(w.Step)}
}

func (w *wireExperiment) experiment() *Experiment {
	return &Experiment{
		ID: w.ExperimentID, Name: w.Name, ArtifactLocation: w.ArtifactLocation,
		LifecycleStage: w.LifecycleStage, CreationTime: int64(w.CreationTime),
		LastUpdateTime: int64(w.LastUpdateTime), Tags: tagsOf(w.Tags),
	}
}

func (w *wireRunInfo) info() RunInfo {
	id := w.RunID
	if id == "" {
		id = w.RunUUID // servers before MLflow 1.x's run_id field
	}
	return RunInfo{
		RunID: id, RunName: w.RunName, ExperimentID: w.ExperimentID, UserID: w.UserID,
		Status: RunStatus(w.Status), StartTime: int64(w.StartTime), EndTime: int64(w.EndTime),
		ArtifactURI: w.ArtifactURI, LifecycleStage: w.LifecycleStage,
	}
}

func (w *wireRun) run() *Run {
	r := &Run{Info: w.Info.info()}
	for _, m := range w.Data.Metrics {
		r.Data.Metrics = append(r.Data.Metrics, metricOf(m))
	}
	for _, p := range w.Data.Params {
		r.Data.Params = append(r.Data.Params, Param(p))
	}
	r.Data.Tags = tagsOf(w.Data.Tags)
	for _, in := range w.Inputs.DatasetInputs {
		r.Inputs = append(r.Inputs, DatasetInput{Tags: tagsOf(in.Tags), Dataset: Dataset(in.Dataset)})
	}
	return r
}

// GetExperiment fetches an experiment by ID.
func (s *RESTStore) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	var out struct {
		Experiment wireExperiment `json:"experiment"`
	}
	if err := s.call(ctx, "GET", "experiments/get", url.Values{"experiment_id": {id}}, nil, &out); err != nil {
		return nil, err
	}
	return out.Experiment.experiment(), nil
}

// GetExperimentByName fetches an experiment by name.
func (s *RESTStore) GetExperimentByName(ctx context.Context, name string) (*Experiment, error) {
	var out struct {
		Experiment wireExperiment `json:"experiment"`
	}
	if err := s.call(ctx, "GET", "experiments/get-by-name", url.Values{"experiment_name": {name}}, nil, &out); err != nil {
		return nil, err
	}
	return out.Experiment.experiment(), nil
}

// CreateExperiment creates an experiment and returns its ID.
func (s *RESTStore) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []Tag) (string, error) {
	req := struct {
		Name             string    `json:"name"`
		ArtifactLocation string    `json:"artifact_location,omitempty"`
		Tags             []wireTag `json:"tags,omitempty"`
	}{name, artifactLocation, wireTags(tags)}
	var out struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := s.call(ctx, "POST", "experiments/create", nil, req, &out); err != nil {
		return "", err
	}
	if out.ExperimentID == "" {
		return "", errors.New("experiments/create: the server answered without an experiment_id")
	}
	return out.ExperimentID, nil
}

// CreateRun starts a run.
func (s *RESTStore) CreateRun(ctx context.Context, r CreateRunRequest) (*Run, error) {
	req := struct {
		ExperimentID string    `json:"experiment_id"`
		UserID       string    `json:"user_id,omitempty"`
		RunName      string    `json:"run_name,omitempty"`
		StartTime    jint      `json:"start_time"`
		Tags         []wireTag `json:"tags,omitempty"`
	}{r.ExperimentID, r.UserID, r.RunName, jint(r.StartTime), wireTags(r.Tags)}
	if req.StartTime == 0 {
		req.StartTime = jint(nowMillis())
	}
	var out struct {
		Run wireRun `json:"run"`
	}
	if err := s.call(ctx, "POST", "runs/create", nil, req, &out); err != nil {
		return nil, err
	}
	return out.Run.run(), nil
}

// UpdateRun changes a run's status, end time and name.
func (s *RESTStore) UpdateRun(ctx context.Context, runID string, status RunStatus, endTime int64, runName string) (*RunInfo, error) {
	req := struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"` // servers older than run_id still read this
		Status  string `json:"status,omitempty"`
		EndTime *jint  `json:"end_time,omitempty"`
		RunName string `json:"run_name,omitempty"`
	}{RunID: runID, RunUUID: runID, Status: string(status), RunName: runName}
	if endTime != 0 {
		e := jint(endTime)
		req.EndTime = &e
	}
	var out struct {
		RunInfo wireRunInfo `json:"run_info"`
	}
	if err := s.call(ctx, "POST", "runs/update", nil, req, &out); err != nil {
		return nil, err
	}
	info := out.RunInfo.info()
	return &info, nil
}

// GetRun fetches a run with its data and inputs.
func (s *RESTStore) GetRun(ctx context.Context, runID string) (*Run, error) {
	var out struct {
		Run wireRun `json:"run"`
	}
	if err := s.call(ctx, "GET", "runs/get", url.Values{"run_id": {runID}}, nil, &out); err != nil {
		return nil, err
	}
	return out.Run.run(), nil
}

// SearchRuns passes the filter and order through to the server.
func (s *RESTStore) SearchRuns(ctx context.Context, r SearchRunsRequest) (*RunsPage, error) {
	req := struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter,omitempty"`
		RunViewType   string   `json:"run_view_type,omitempty"`
		MaxResults    int      `json:"max_results,omitempty"`
		OrderBy       []string `json:"order_by,omitempty"`
		PageToken     string   `json:"page_token,omitempty"`
	}{r.ExperimentIDs, r.Filter, string(r.ViewType), r.MaxResults, r.OrderBy, r.PageToken}
	var out struct {
		Runs          []wireRun `json:"runs"`
		NextPageToken string    `json:"next_page_token"`
	}
	if err := s.call(ctx, "POST", "runs/search", nil, req, &out); err != nil {
		return nil, err
	}
	page := &RunsPage{NextPageToken: out.NextPageToken}
	for i := range out.Runs {
		page.Runs = append(page.Runs, out.Runs[i].run())
	}
	return page, nil
}

// LogBatch sends one log-batch request; it must be inside MLflow's
// limits (see LogBatchSplit).
func (s *RESTStore) LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error {
	req := struct {
		RunID   string       `json:"run_id"`
		Metrics []wireMetric `json:"metrics,omitempty"`
		Params  []wireTag    `json:"params,omitempty"`
		Tags    []wireTag    `json:"tags,omitempty"`
	}{RunID: runID, Params: wireParams(params), Tags: wireTags(tags)}
	for _, m := range metrics {
		req.Metrics = append(req.Metrics, wireMetricOf(m))
	}
	return s.call(ctx, "POST", "runs/log-batch", nil, req, nil)
}

// SetTag sets one tag on a run.
func (s *RESTStore) SetTag(ctx context.Context, runID, key, value string) error {
	req := struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}{runID, runID, key, value}
	return s.call(ctx, "POST", "runs/set-tag", nil, req, nil)
}

// LogInputs records the datasets a run used.
func (s *RESTStore) LogInputs(ctx context.Context, runID string, inputs []DatasetInput) error {
	req := struct {
		RunID    string             `json:"run_id"`
		Datasets []wireDatasetInput `json:"datasets"`
	}{RunID: runID}
	for _, in := range inputs {
		req.Datasets = append(req.Datasets, wireDatasetInput{Tags: wireTags(in.Tags), Dataset: wireDataset(in.Dataset)})
	}
	return s.call(ctx, "POST", "runs/log-inputs", nil, req, nil)
}

// GetMetricHistory fetches a metric's whole series, page by page.
func (s *RESTStore) GetMetricHistory(ctx context.Context, runID, key string) ([]Metric, error) {
	var all []Metric
	token := ""
	for {
		q := url.Values{"run_id": {runID}, "run_uuid": {runID}, "metric_key": {key}}
		if token != "" {
			q.Set("page_token", token)
			q.Set("max_results", strconv.Itoa(25000))
		}
		var out struct {
			Metrics       []wireMetric `json:"metrics"`
			NextPageToken string       `json:"next_page_token"`
		}
		if err := s.call(ctx, "GET", "metrics/get-history", q, nil, &out); err != nil {
			return nil, err
		}
		for _, m := range out.Metrics {
			all = append(all, metricOf(m))
		}
		if out.NextPageToken == "" || out.NextPageToken == token {
			return all, nil
		}
		token = out.NextPageToken
	}
}
