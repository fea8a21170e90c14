package mlflowtest

import (
	"context"

	"github.com/nebras-ai/nebras/tracking"
)

// nameVersion is the request of the endpoints that address one model
// version.
type nameVersion struct {
	Name    *string `json:"name"`
	Version *string `json:"version"`
}

func (nv nameVersion) values() (name, version string, err error) {
	if name, err = required("name", nv.Name); err != nil {
		return "", "", err
	}
	if version, err = required("version", nv.Version); err != nil {
		return "", "", err
	}
	return name, version, nil
}

func (s *Server) createRegisteredModel(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		Name        *string    `json:"name"`
		Tags        []keyValue `json:"tags"`
		Description *string    `json:"description"`
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
	rm, err := s.backend.CreateRegisteredModel(ctx, name, optional(in.Description), tags)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["registered_model"] = e.registeredModel(rm)
	return o, nil
}

func (s *Server) getRegisteredModel(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, err := required("name", in.Name)
	if err != nil {
		return nil, err
	}
	rm, err := s.backend.GetRegisteredModel(ctx, name)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["registered_model"] = e.registeredModel(rm)
	return o, nil
}

func (s *Server) createModelVersion(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		Name        *string    `json:"name"`
		Source      *string    `json:"source"`
		RunID       *string    `json:"run_id"`
		Tags        []keyValue `json:"tags"`
		RunLink     *string    `json:"run_link"`
		Description *string    `json:"description"`
		ModelID     *string    `json:"model_id"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, err := required("name", in.Name)
	if err != nil {
		return nil, err
	}
	source, err := required("source", in.Source)
	if err != nil {
		return nil, err
	}
	if err := unsupported("model_id", in.ModelID); err != nil {
		return nil, err
	}
	tags, err := tagsIn("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	mv, err := s.backend.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{
		Name:        name,
		Source:      source,
		RunID:       optional(in.RunID),
		RunLink:     optional(in.RunLink),
		Description: optional(in.Description),
		Tags:        tags,
	})
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["model_version"] = e.modelVersion(mv)
	return o, nil
}

func (s *Server) getModelVersion(ctx context.Context, req *apiRequest) (jobj, error) {
	var in nameVersion
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, version, err := in.values()
	if err != nil {
		return nil, err
	}
	mv, err := s.backend.GetModelVersion(ctx, name, version)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["model_version"] = e.modelVersion(mv)
	return o, nil
}

func (s *Server) getModelVersionDownloadURI(ctx context.Context, req *apiRequest) (jobj, error) {
	var in nameVersion
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, version, err := in.values()
	if err != nil {
		return nil, err
	}
	uri, err := s.backend.GetModelVersionDownloadURI(ctx, name, version)
	if err != nil {
		return nil, err
	}
	o := s.enc().obj()
	o["artifact_uri"] = uri
	return o, nil
}

func (s *Server) transitionStage(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		Name                    *string `json:"name"`
		Version                 *string `json:"version"`
		Stage                   *string `json:"stage"`
		ArchiveExistingVersions *bool   `json:"archive_existing_versions"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, version, err := nameVersion{in.Name, in.Version}.values()
	if err != nil {
		return nil, err
	}
	stage, err := required("stage", in.Stage)
	if err != nil {
		return nil, err
	}
	// The proto marks the flag required; MLflow's own server defaults it
	// to false, other servers refuse a request without it.
	if in.ArchiveExistingVersions == nil {
		return nil, missing("archive_existing_versions")
	}
	mv, err := s.backend.TransitionModelVersionStage(ctx, name, version, stage, *in.ArchiveExistingVersions)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["model_version"] = e.modelVersion(mv)
	return o, nil
}

func (s *Server) searchModelVersions(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		Filter     *string  `json:"filter"`
		MaxResults i64      `json:"max_results"`
		OrderBy    []string `json:"order_by"`
		PageToken  *string  `json:"page_token"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	if in.MaxResults.Set && (in.MaxResults.V < 1 || in.MaxResults.V > 200_000) {
		return nil, invalidParam("Invalid value %d for parameter 'max_results' supplied. It must be at most 200000 and positive.", in.MaxResults.V)
	}
	page, err := s.backend.SearchModelVersions(ctx, tracking.SearchModelVersionsRequest{
		Filter:     optional(in.Filter),
		MaxResults: int(in.MaxResults.V),
		OrderBy:    in.OrderBy,
		PageToken:  optional(in.PageToken),
	})
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	if len(page.ModelVersions) > 0 {
		mvs := make([]jobj, len(page.ModelVersions))
		for i := range page.ModelVersions {
			mvs[i] = e.modelVersion(&page.ModelVersions[i])
		}
		o["model_versions"] = mvs
	}
	setStr(o, "next_page_token", page.NextPageToken)
	return o, nil
}

func (s *Server) setModelVersionTag(ctx context.Context, req *apiRequest) (jobj, error) {
	var in struct {
		Name    *string `json:"name"`
		Version *string `json:"version"`
		Key     *string `json:"key"`
		Value   *string `json:"value"`
	}
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, version, err := nameVersion{in.Name, in.Version}.values()
	if err != nil {
		return nil, err
	}
	key, err := required("key", in.Key)
	if err != nil {
		return nil, err
	}
	// The backend checks the key's spelling and both lengths against the
	// registry's limits, which differ from the tracking ones.
	if err := s.backend.SetModelVersionTag(ctx, name, version, key, optional(in.Value)); err != nil {
		return nil, err
	}
	return s.enc().obj(), nil
}

// nameAlias is the request of the alias endpoints.
type nameAlias struct {
	Name    *string `json:"name"`
	Alias   *string `json:"alias"`
	Version *string `json:"version"`
}

func (na nameAlias) values(withVersion bool) (name, alias, version string, err error) {
	if name, err = required("name", na.Name); err != nil {
		return "", "", "", err
	}
	if alias, err = required("alias", na.Alias); err != nil {
		return "", "", "", err
	}
	if !withVersion {
		if na.Version != nil {
			// Version is not a field of the get and delete messages.
			return "", "", "", invalidParam("Invalid request: unknown field \"version\". See the API docs for more information about request parameters.")
		}
		return name, alias, "", nil
	}
	if version, err = required("version", na.Version); err != nil {
		return "", "", "", err
	}
	return name, alias, version, nil
}

func (s *Server) setAlias(ctx context.Context, req *apiRequest) (jobj, error) {
	var in nameAlias
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, alias, version, err := in.values(true)
	if err != nil {
		return nil, err
	}
	if err := s.backend.SetRegisteredModelAlias(ctx, name, alias, version); err != nil {
		return nil, err
	}
	return s.enc().obj(), nil
}

func (s *Server) getAlias(ctx context.Context, req *apiRequest) (jobj, error) {
	var in nameAlias
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, alias, _, err := in.values(false)
	if err != nil {
		return nil, err
	}
	mv, err := s.backend.GetModelVersionByAlias(ctx, name, alias)
	if err != nil {
		return nil, err
	}
	e := s.enc()
	o := e.obj()
	o["model_version"] = e.modelVersion(mv)
	return o, nil
}

func (s *Server) deleteAlias(ctx context.Context, req *apiRequest) (jobj, error) {
	var in nameAlias
	if err := req.decode(&in); err != nil {
		return nil, err
	}
	name, alias, _, err := in.values(false)
	if err != nil {
		return nil, err
	}
	if err := s.backend.DeleteRegisteredModelAlias(ctx, name, alias); err != nil {
		return nil, err
	}
	return s.enc().obj(), nil
}

func (e encoder) registeredModel(rm *tracking.RegisteredModel) jobj {
	o := e.obj()
	o["name"] = rm.Name
	o["creation_timestamp"] = e.i64(rm.CreationTimestamp)
	o["last_updated_timestamp"] = e.i64(rm.LastUpdatedTimestamp)
	setStr(o, "description", rm.Description)
	if len(rm.LatestVersions) > 0 {
		lv := make([]jobj, len(rm.LatestVersions))
		for i := range rm.LatestVersions {
			lv[i] = e.modelVersion(&rm.LatestVersions[i])
		}
		o["latest_versions"] = lv
	}
	if len(rm.Tags) > 0 {
		o["tags"] = e.tags(rm.Tags)
	}
	if len(rm.Aliases) > 0 {
		as := make([]jobj, len(rm.Aliases))
		for i, a := range rm.Aliases {
			ao := e.obj()
			ao["alias"] = a.Alias
			ao["version"] = a.Version
			as[i] = ao
		}
		o["aliases"] = as
	}
	return o
}

func (e encoder) modelVersion(mv *tracking.ModelVersion) jobj {
	o := e.obj()
	o["name"] = mv.Name
	o["version"] = mv.Version
	o["creation_timestamp"] = e.i64(mv.CreationTimestamp)
	if mv.LastUpdatedTimestamp != 0 {
		o["last_updated_timestamp"] = e.i64(mv.LastUpdatedTimestamp)
	}
	setStr(o, "user_id", mv.UserID)
	setStr(o, "current_stage", mv.CurrentStage)
	setStr(o, "description", mv.Description)
	setStr(o, "source", mv.Source)
	setStr(o, "run_id", mv.RunID)
	setStr(o, "status", mv.Status)
	setStr(o, "status_message", mv.StatusMessage)
	if len(mv.Tags) > 0 {
		o["tags"] = e.tags(mv.Tags)
	}
	setStr(o, "run_link", mv.RunLink)
	if len(mv.Aliases) > 0 {
		o["aliases"] = append([]string(nil), mv.Aliases...)
	}
	return o
}
