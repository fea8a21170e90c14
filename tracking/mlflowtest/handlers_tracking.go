package mlflowtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/tracking"
)

// MLflow's limits on one log-batch request (mlflow/utils/validation.py).
const (
	maxBatchRequestBytes = 1_000_000
	maxMetricsPerBatch   = 1000
	maxParamsTagsPerBat  = 100
	maxEntitiesPerBatch  = 1000
	maxEntityKeyLength   = 250
	maxParamValueLength  = 6000
	maxTagValueLength    = 8000
)

// runStatusNames are the names of MLflow's RunStatus enum, in number
// order.
func runStatusNames() []string {
	return []string{"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}
}

// viewTypeNames are the names of MLflow's ViewType enum, in number order.
func viewTypeNames() []string { return []string{"ACTIVE_ONLY", "DELETED_ONLY", "ALL"} }

// keyValue is the request form of RunTag, ExperimentTag, InputTag and the
// registry's tags.
type keyValue struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

func (s *Server) getExperiment(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		ExperimentID *string `json:"experiment_id"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	id, err := required("experiment_id", in.ExperimentID)
	if err != nil {
		return nil, err
	}
	exp, err := s.backend.GetExperiment(ctx, id)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["experiment"] = e.experiment(exp)
	return o, nil
}

func (s *Server) getExperimentByName(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		ExperimentName *string `json:"experiment_name"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, err := required("experiment_name", in.ExperimentName)
	if err != nil {
		return nil, err
	}
	exp, err := s.backend.GetExperimentByName(ctx, name)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["experiment"] = e.experiment(exp)
	return o, nil
}

func (s *Server) createExperiment(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		Name             *string    `json:"name"`
		ArtifactLocation *string    `json:"artifact_location"`
		Tags             []keyValue `json:"tags"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, err := required("name", in.Name)
	if err != nil {
		return nil, err
	}
	tags, err := tagsIn("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	id, err := s.backend.CreateExperiment(ctx, name, optional(in.ArtifactLocation), tags)
	if err != nil {
		return nil, err
	}
	o := s.enc().obj()
	o["experiment_id"] = id
	return o, nil
}

func (s *Server) createRun(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		ExperimentID *string    `json:"experiment_id"`
		UserID       *string    `json:"user_id"`
		RunName      *string    `json:"run_name"`
		StartTime    i64        `json:"start_time"`
		Tags         []keyValue `json:"tags"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	tags, err := tagsIn("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	run, err := s.backend.CreateRun(ctx, tracking.CreateRunRequest{
		ExperimentID: optional(in.ExperimentID),
		UserID:       optional(in.UserID),
		RunName:      optional(in.RunName),
		StartTime:    in.StartTime.V,
		Tags:         tags,
	})
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["run"] = e.run(run)
	return o, nil
}

func (s *Server) updateRun(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		RunID   *string `json:"run_id"`
		RunUUID *string `json:"run_uuid"`
		Status  enum    `json:"status"`
		EndTime i64     `json:"end_time"`
		RunName *string `json:"run_name"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return nil, err
	}
	var status tracking.RunStatus
	if in.Status.Set {
		name, err := in.Status.resolve("status", runStatusNames())
		if err != nil {
			return nil, err
		}
		status = tracking.RunStatus(name)
	} else {
		// MLflow leaves the status alone when the request has none; the
		// Store always sets one, so it is given the current one.
		run, err := s.backend.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		status = run.Info.Status
	}
	info, err := s.backend.UpdateRun(ctx, id, status, in.EndTime.V, optional(in.RunName))
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["run_info"] = e.runInfo(info)
	return o, nil
}

func (s *Server) getRun(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		RunID   *string `json:"run_id"`
		RunUUID *string `json:"run_uuid"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return nil, err
	}
	run, err := s.backend.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["run"] = e.run(run)
	return o, nil
}

func (s *Server) searchRuns(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        *string  `json:"filter"`
		RunViewType   enum     `json:"run_view_type"`
		MaxResults    i64      `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     *string  `json:"page_token"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	view := tracking.ActiveOnly
	if in.RunViewType.Set {
		name, err := in.RunViewType.resolve("run_view_type", viewTypeNames())
		if err != nil {
			return nil, err
		}
		view = tracking.ViewType(name)
	}
	if in.MaxResults.Set && (in.MaxResults.V < 1 || in.MaxResults.V > 50000) {
		return nil, invalidParam("Invalid value %d for parameter 'max_results' supplied. It must be at most 50000 and positive.", in.MaxResults.V)
	}
	page, err := s.backend.SearchRuns(ctx, tracking.SearchRunsRequest{
		ExperimentIDs: in.ExperimentIDs,
		Filter:        optional(in.Filter),
		ViewType:      view,
		MaxResults:    int(in.MaxResults.V),
		OrderBy:       in.OrderBy,
		PageToken:     optional(in.PageToken),
	})
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	if len(page.Runs) > 0 {
		runs := make([]jobj, len(page.Runs))
		for i, r := range page.Runs {
			runs[i] = e.run(r)
		}
		o["runs"] = runs
	}
	setStr(o, "next_page_token", page.NextPageToken)
	return o, nil
}

func (s *Server) logBatch(ctx context.Context, req *apiRequest) (jobj, error) {
	if len(req.body) > maxBatchRequestBytes {
		return nil, invalidParam("Batched logging API requests must be at most %d bytes, got a request of size %d.", maxBatchRequestBytes, len(req.body))
	}
	type metricIn struct {
		Key           *string `json:"key"`
		Value         f64     `json:"value"`
		Timestamp     i64     `json:"timestamp"`
		Step          i64     `json:"step"`
		DatasetName   *string `json:"dataset_name"`
		DatasetDigest *string `json:"dataset_digest"`
		ModelID       *string `json:"model_id"`
		RunID         *string `json:"run_id"`
	}
	var in struct {
		RunID   *string    `json:"run_id"`
		Metrics []metricIn `json:"metrics"`
		Params  []keyValue `json:"params"`
		Tags    []keyValue `json:"tags"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	id, err := required("run_id", in.RunID)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name  string
		limit int
		n     int
	}{
		{"metrics", maxMetricsPerBatch, len(in.Metrics)},
		{"params", maxParamsTagsPerBat, len(in.Params)},
		{"tags", maxParamsTagsPerBat, len(in.Tags)},
		{"metrics, params, and tags", maxEntitiesPerBatch, len(in.Metrics) + len(in.Params) + len(in.Tags)},
	} {
		if c.n > c.limit {
			return nil, invalidParam("A batch logging request can contain at most %d %s. Got %d %s. Please split up %s across multiple requests and try again.",
				c.limit, c.name, c.n, c.name, c.name)
		}
	}
	metrics := make([]tracking.Metric, len(in.Metrics))
	for i, m := range in.Metrics {
		path := fmt.Sprintf("metrics[%d]", i)
		key, err := required(path+".key", m.Key)
		if err != nil {
			return nil, err
		}
		if !m.Value.Set {
			return nil, missing(path + ".value")
		}
		if !m.Timestamp.Set {
			return nil, missing(path + ".timestamp")
		}
		if m.Timestamp.V < 0 {
			return nil, invalidParam("Invalid value %d for parameter '%s.timestamp' supplied: Timestamp must be a nonnegative long (64-bit integer)", m.Timestamp.V, path)
		}
		if err := maxLength(path+".key", key, maxEntityKeyLength); err != nil {
			return nil, err
		}
		for _, f := range []struct {
			name string
			v    *string
		}{{"dataset_name", m.DatasetName}, {"dataset_digest", m.DatasetDigest}, {"model_id", m.ModelID}} {
			if err := unsupported(path+"."+f.name, f.v); err != nil {
				return nil, err
			}
		}
		if m.RunID != nil && *m.RunID != "" && *m.RunID != id {
			return nil, invalidParam("Invalid value %q for parameter '%s.run_id' supplied: it differs from the request's run_id %q", *m.RunID, path, id)
		}
		metrics[i] = tracking.Metric{Key: key, Value: m.Value.V, Timestamp: m.Timestamp.V, Step: m.Step.V}
	}
	params := make([]tracking.Param, len(in.Params))
	seen := make(map[string]bool, len(in.Params))
	for i, p := range in.Params {
		path := fmt.Sprintf("params[%d]", i)
		key, err := required(path+".key", p.Key)
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, invalidParam("Duplicate parameter keys have been submitted: [%q]. Please ensure the request contains only one param value per param key.", key)
		}
		seen[key] = true
		if err := maxLength(path+".key", key, maxEntityKeyLength); err != nil {
			return nil, err
		}
		if err := maxLength(path+".value", optional(p.Value), maxParamValueLength); err != nil {
			return nil, err
		}
		params[i] = tracking.Param{Key: key, Value: optional(p.Value)}
	}
	tags := make([]tracking.Tag, len(in.Tags))
	for i, t := range in.Tags {
		path := fmt.Sprintf("tags[%d]", i)
		key, err := required(path+".key", t.Key)
		if err != nil {
			return nil, err
		}
		if err := maxLength(path+".key", key, maxEntityKeyLength); err != nil {
			return nil, err
		}
		if err := maxLength(path+".value", optional(t.Value), maxTagValueLength); err != nil {
			return nil, err
		}
		tags[i] = tracking.Tag{Key: key, Value: optional(t.Value)}
	}
	if err := s.backend.LogBatch(ctx, id, metrics, params, tags); err != nil {
		return nil, err
	}
	return s.enc().obj(), nil
}

// maxLength is MLflow's length check; lengths are in characters, as
// Python counts them.
func maxLength(field, v string, limit int) error {
	if utf8.RuneCountInString(v) > limit {
		return invalidParam("'%s' exceeds the maximum length of %d characters", field, limit)
	}
	return nil
}

func (s *Server) setTag(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		RunID   *string `json:"run_id"`
		RunUUID *string `json:"run_uuid"`
		Key     *string `json:"key"`
		Value   *string `json:"value"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return nil, err
	}
	key, err := required("key", in.Key)
	if err != nil {
		return nil, err
	}
	if err := maxLength("key", key, maxEntityKeyLength); err != nil {
		return nil, err
	}
	if err := maxLength("value", optional(in.Value), maxTagValueLength); err != nil {
		return nil, err
	}
	if err := s.backend.SetTag(ctx, id, key, optional(in.Value)); err != nil {
		return nil, err
	}
	return s.enc().obj(), nil
}

func (s *Server) logInputs(ctx context.Context, req *apiRequest) (jobj, error) {
	type datasetIn struct {
		Name       *string `json:"name"`
		Digest     *string `json:"digest"`
		SourceType *string `json:"source_type"`
		Source     *string `json:"source"`
		Schema     *string `json:"schema"`
		Profile    *string `json:"profile"`
	}
	type datasetInputIn struct {
		Tags    []keyValue `json:"tags"`
		Dataset *datasetIn `json:"dataset"`
	}
	type modelInputIn struct {
		ModelID *string `json:"model_id"`
	}
	var in struct {
		RunID    *string          `json:"run_id"`
		Datasets []datasetInputIn `json:"datasets"`
		Models   []modelInputIn   `json:"models"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	id, err := required("run_id", in.RunID)
	if err != nil {
		return nil, err
	}
	if len(in.Models) > 0 {
		return nil, notImplemented("Field 'models' (logged-model inputs) is not supported by this server")
	}
	inputs := make([]tracking.DatasetInput, len(in.Datasets))
	for i, d := range in.Datasets {
		path := fmt.Sprintf("datasets[%d]", i)
		if d.Dataset == nil {
			return nil, missing(path + ".dataset")
		}
		var ds tracking.Dataset
		for _, f := range []struct {
			name string
			v    *string
			dst  *string
		}{
			{"name", d.Dataset.Name, &ds.Name},
			{"digest", d.Dataset.Digest, &ds.Digest},
			{"source_type", d.Dataset.SourceType, &ds.SourceType},
			{"source", d.Dataset.Source, &ds.Source},
		} {
			if *f.dst, err = required(path+".dataset."+f.name, f.v); err != nil {
				return nil, err
			}
		}
		ds.Schema = optional(d.Dataset.Schema)
		ds.Profile = optional(d.Dataset.Profile)
		tags := make([]tracking.Tag, len(d.Tags))
		for j, t := range d.Tags {
			tp := fmt.Sprintf("%s.tags[%d]", path, j)
			key, err := required(tp+".key", t.Key)
			if err != nil {
				return nil, err
			}
			value, err := required(tp+".value", t.Value)
			if err != nil {
				return nil, err
			}
			tags[j] = tracking.Tag{Key: key, Value: value}
		}
		inputs[i] = tracking.DatasetInput{Tags: tags, Dataset: ds}
	}
	if err := s.backend.LogInputs(ctx, id, inputs); err != nil {
		return nil, err
	}
	return s.enc().obj(), nil
}

func (s *Server) getMetricHistory(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		RunID      *string `json:"run_id"`
		RunUUID    *string `json:"run_uuid"`
		MetricKey  *string `json:"metric_key"`
		PageToken  *string `json:"page_token"`
		MaxResults i64     `json:"max_results"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return nil, err
	}
	key, err := required("metric_key", in.MetricKey)
	if err != nil {
		return nil, err
	}
	if in.MaxResults.Set && (in.MaxResults.V < 1 || in.MaxResults.V > 1<<31-1) {
		return nil, invalidParam("Invalid value %d for parameter 'max_results' supplied: it must be a positive int32", in.MaxResults.V)
	}
	start := 0
	if t := optional(in.PageToken); t != "" {
		if start, err = decodePageToken(t); err != nil {
			return nil, err
		}
	}
	hist, err := s.backend.GetMetricHistory(ctx, id, key)
	if err != nil {
		return nil, err
	}
	if start > len(hist) {
		return nil, invalidParam("Invalid page token %q: it is past the end of the history", optional(in.PageToken))
	}
	hist = hist[start:]
	next := ""
	if in.MaxResults.Set && int64(len(hist)) > in.MaxResults.V {
		hist = hist[:in.MaxResults.V]
		next = encodePageToken(start + len(hist))
	}
	e := s.enc()
	o := e.obj()
	if len(hist) > 0 {
		ms := make([]jobj, len(hist))
		for i, m := range hist {
			ms[i] = e.metric(m)
		}
		o["metrics"] = ms
	}
	setStr(o, "next_page_token", next)
	return o, nil
}

// Page tokens are opaque to clients, as MLflow's are: an offset, base64
// encoded so that clients are not tempted to build them.
func encodePageToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"offset": ` + strconv.Itoa(offset) + `}`))
}

func decodePageToken(t string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(t)
	var off int
	if err == nil {
		_, err = fmt.Sscanf(string(b), `{"offset": %d}`, &off)
	}
	if err != nil || off < 0 {
		return 0, invalidParam("Invalid page token %q", t)
	}
	return off, nil
}

// tagsIn converts request tags, whose keys are required.
func tagsIn(field string, in []keyValue) ([]tracking.Tag, error) {
	if len(in) == 0 {
		return nil, nil
	}
	tags := make([]tracking.Tag, len(in))
	for i, t := range in {
		key, err := required(fmt.Sprintf("%s[%d].key", field, i), t.Key)
		if err != nil {
			return nil, err
		}
		tags[i] = tracking.Tag{Key: key, Value: optional(t.Value)}
	}
	return tags, nil
}

func (e encoder) experiment(x *tracking.Experiment) jobj {
	o := e.obj()
	o["experiment_id"] = x.ID
	o["name"] = x.Name
	setStr(o, "artifact_location", x.ArtifactLocation)
	setStr(o, "lifecycle_stage", x.LifecycleStage)
	if x.LastUpdateTime != 0 {
		o["last_update_time"] = e.i64(x.LastUpdateTime)
	}
	if x.CreationTime != 0 {
		o["creation_time"] = e.i64(x.CreationTime)
	}
	if len(x.Tags) > 0 {
		o["tags"] = e.tags(x.Tags)
	}
	return o
}

// runInfo writes the fields MLflow's RunInfo.to_proto sets: run_uuid
// always mirrors run_id, user_id and start_time are always present,
// end_time and artifact_uri only when set.
func (e encoder) runInfo(x *tracking.RunInfo) jobj {
	o := e.obj()
	o["run_id"] = x.RunID
	o["run_uuid"] = x.RunID
	o["run_name"] = x.RunName
	o["experiment_id"] = x.ExperimentID
	o["user_id"] = x.UserID
	setStr(o, "status", string(x.Status))
	o["start_time"] = e.i64(x.StartTime)
	if x.EndTime != 0 {
		o["end_time"] = e.i64(x.EndTime)
	}
	setStr(o, "artifact_uri", x.ArtifactURI)
	setStr(o, "lifecycle_stage", x.LifecycleStage)
	return o
}

func (e encoder) metric(m tracking.Metric) jobj {
	o := e.obj()
	o["key"] = m.Key
	o["value"] = f64JSON(m.Value)
	o["timestamp"] = e.i64(m.Timestamp)
	o["step"] = e.i64(m.Step)
	return o
}

// run writes a Run as MLflow's Run.to_proto: info, data and inputs are
// always present, their lists only when not empty.
func (e encoder) run(r *tracking.Run) jobj {
	data := e.obj()
	if len(r.Data.Metrics) > 0 {
		ms := make([]jobj, len(r.Data.Metrics))
		for i, m := range r.Data.Metrics {
			ms[i] = e.metric(m)
		}
		data["metrics"] = ms
	}
	if len(r.Data.Params) > 0 {
		ps := make([]jobj, len(r.Data.Params))
		for i, p := range r.Data.Params {
			po := e.obj()
			po["key"] = p.Key
			po["value"] = p.Value
			ps[i] = po
		}
		data["params"] = ps
	}
	if len(r.Data.Tags) > 0 {
		data["tags"] = e.tags(r.Data.Tags)
	}
	inputs := e.obj()
	if len(r.Inputs) > 0 {
		ds := make([]jobj, len(r.Inputs))
		for i, in := range r.Inputs {
			d := e.obj()
			d["name"] = in.Dataset.Name
			d["digest"] = in.Dataset.Digest
			d["source_type"] = in.Dataset.SourceType
			d["source"] = in.Dataset.Source
			setStr(d, "schema", in.Dataset.Schema)
			setStr(d, "profile", in.Dataset.Profile)
			di := e.obj()
			if len(in.Tags) > 0 {
				di["tags"] = e.tags(in.Tags)
			}
			di["dataset"] = d
			ds[i] = di
		}
		inputs["dataset_inputs"] = ds
	}
	o := e.obj()
	o["info"] = e.runInfo(&r.Info)
	o["data"] = data
	o["inputs"] = inputs
	return o
}
