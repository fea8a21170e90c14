package tracking

import (
	"context"
	"net/url"
	"strconv"
)

// Wire shapes of model_registry.proto.

type wireAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type wireModelVersion struct {
	Name                 string    `json:"name"`
	Version              string    `json:"version"`
	CreationTimestamp    jint      `json:"creation_timestamp"`
	LastUpdatedTimestamp jint      `json:"last_updated_timestamp"`
	UserID               string    `json:"user_id"`
	CurrentStage         string    `json:"current_stage"`
	Description          string    `json:"description"`
	Source               string    `json:"source"`
	RunID                string    `json:"run_id"`
	Status               string    `json:"status"`
	StatusMessage        string    `json:"status_message"`
	RunLink              string    `json:"run_link"`
	Tags                 []wireTag `json:"tags"`
	Aliases              []string  `json:"aliases"`
}

type wireRegisteredModel struct {
	Name                 string             `json:"name"`
	CreationTimestamp    jint               `json:"creation_timestamp"`
	LastUpdatedTimestamp jint               `json:"last_updated_timestamp"`
	Description          string             `json:"description"`
	LatestVersions       []wireModelVersion `json:"latest_versions"`
	Tags                 []wireTag          `json:"tags"`
	Aliases              []wireAlias        `json:"aliases"`
}

func (w *wireModelVersion) modelVersion() *ModelVersion {
	return &ModelVersion{
		Name: w.Name, Version: w.Version,
		CreationTimestamp: int64(w.CreationTimestamp), LastUpdatedTimestamp: int64(w.LastUpdatedTimestamp),
		UserID: w.UserID, CurrentStage: w.CurrentStage, Description: w.Description,
		Source: w.Source, RunID: w.RunID, Status: w.Status, StatusMessage: w.StatusMessage,
		RunLink: w.RunLink, Tags: tagsOf(w.Tags), Aliases: w.Aliases,
	}
}

func (w *wireRegisteredModel) registeredModel() *RegisteredModel {
	rm := &RegisteredModel{
		Name: w.Name, Description: w.Description,
		CreationTimestamp: int64(w.CreationTimestamp), LastUpdatedTimestamp: int64(w.LastUpdatedTimestamp),
		Tags: tagsOf(w.Tags),
	}
	for i := range w.LatestVersions {
		rm.LatestVersions = append(rm.LatestVersions, *w.LatestVersions[i].modelVersion())
	}
	for _, a := range w.Aliases {
		rm.Aliases = append(rm.Aliases, Alias(a))
	}
	return rm
}

// CreateRegisteredModel creates a registered model.
func (s *RESTStore) CreateRegisteredModel(ctx context.Context, name, description string, tags []Tag) (*RegisteredModel, error) {
	req := struct {
		Name        string    `json:"name"`
		Description string    `json:"description,omitempty"`
		Tags        []wireTag `json:"tags,omitempty"`
	}{name, description, wireTags(tags)}
	var out struct {
		RegisteredModel wireRegisteredModel `json:"registered_model"`
	}
	if err := s.call(ctx, "POST", "registered-models/create", nil, req, &out); err != nil {
		return nil, err
	}
	return out.RegisteredModel.registeredModel(), nil
}

// GetRegisteredModel fetches a registered model with its latest versions
// and aliases.
func (s *RESTStore) GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error) {
	var out struct {
		RegisteredModel wireRegisteredModel `json:"registered_model"`
	}
	if err := s.call(ctx, "GET", "registered-models/get", url.Values{"name": {name}}, nil, &out); err != nil {
		return nil, err
	}
	return out.RegisteredModel.registeredModel(), nil
}

// CreateModelVersion registers a new version of a registered model.
func (s *RESTStore) CreateModelVersion(ctx context.Context, r CreateModelVersionRequest) (*ModelVersion, error) {
	req := struct {
		Name        string    `json:"name"`
		Source      string    `json:"source"`
		RunID       string    `json:"run_id,omitempty"`
		RunLink     string    `json:"run_link,omitempty"`
		Description string    `json:"description,omitempty"`
		Tags        []wireTag `json:"tags,omitempty"`
	}{r.Name, r.Source, r.RunID, r.RunLink, r.Description, wireTags(r.Tags)}
	var out struct {
		ModelVersion wireModelVersion `json:"model_version"`
	}
	if err := s.call(ctx, "POST", "model-versions/create", nil, req, &out); err != nil {
		return nil, err
	}
	return out.ModelVersion.modelVersion(), nil
}

// GetModelVersion fetches one version of a registered model.
func (s *RESTStore) GetModelVersion(ctx context.Context, name, version string) (*ModelVersion, error) {
	var out struct {
		ModelVersion wireModelVersion `json:"model_version"`
	}
	if err := s.call(ctx, "GET", "model-versions/get", url.Values{"name": {name}, "version": {version}}, nil, &out); err != nil {
		return nil, err
	}
	return out.ModelVersion.modelVersion(), nil
}

// GetModelVersionDownloadURI returns where a version's files are.
func (s *RESTStore) GetModelVersionDownloadURI(ctx context.Context, name, version string) (string, error) {
	var out struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	if err := s.call(ctx, "GET", "model-versions/get-download-uri", url.Values{"name": {name}, "version": {version}}, nil, &out); err != nil {
		return "", err
	}
	return out.ArtifactURI, nil
}

// TransitionModelVersionStage moves a version to another stage.
func (s *RESTStore) TransitionModelVersionStage(ctx context.Context, name, version, stage string, archiveExisting bool) (*ModelVersion, error) {
	req := struct {
		Name                    string `json:"name"`
		Version                 string `json:"version"`
		Stage                   string `json:"stage"`
		ArchiveExistingVersions bool   `json:"archive_existing_versions"`
	}{name, version, stage, archiveExisting}
	var out struct {
		ModelVersion wireModelVersion `json:"model_version"`
	}
	if err := s.call(ctx, "POST", "model-versions/transition-stage", nil, req, &out); err != nil {
		return nil, err
	}
	return out.ModelVersion.modelVersion(), nil
}

// SearchModelVersions passes the filter and order through to the server.
func (s *RESTStore) SearchModelVersions(ctx context.Context, r SearchModelVersionsRequest) (*ModelVersionsPage, error) {
	q := url.Values{}
	if r.Filter != "" {
		q.Set("filter", r.Filter)
	}
	if r.MaxResults > 0 {
		q.Set("max_results", strconv.Itoa(r.MaxResults))
	}
	for _, o := range r.OrderBy {
		q.Add("order_by", o)
	}
	if r.PageToken != "" {
		q.Set("page_token", r.PageToken)
	}
	var out struct {
		ModelVersions []wireModelVersion `json:"model_versions"`
		NextPageToken string             `json:"next_page_token"`
	}
	if err := s.call(ctx, "GET", "model-versions/search", q, nil, &out); err != nil {
		return nil, err
	}
	page := &ModelVersionsPage{NextPageToken: out.NextPageToken}
	for i := range out.ModelVersions {
		page.ModelVersions = append(page.ModelVersions, *out.ModelVersions[i].modelVersion())
	}
	return page, nil
}

type aliasRequest struct {
	Name    string `json:"name"`
	Alias   string `json:"alias"`
	Version string `json:"version,omitempty"`
}

// SetRegisteredModelAlias points alias at version.
func (s *RESTStore) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	return s.call(ctx, "POST", "registered-models/alias", nil, aliasRequest{name, alias, version}, nil)
}

// GetModelVersionByAlias fetches the version an alias points at.
func (s *RESTStore) GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error) {
	var out struct {
		ModelVersion wireModelVersion `json:"model_version"`
	}
	if err := s.call(ctx, "GET", "registered-models/alias", url.Values{"name": {name}, "alias": {alias}}, nil, &out); err != nil {
		return nil, err
	}
	return out.ModelVersion.modelVersion(), nil
}

// DeleteRegisteredModelAlias removes an alias. Like MLflow's Python
// client, it sends the DELETE's fields as a JSON body.
func (s *RESTStore) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	return s.call(ctx, "DELETE", "registered-models/alias", nil, aliasRequest{Name: name, Alias: alias}, nil)
}

// SetModelVersionTag sets a tag on a model version.
func (s *RESTStore) SetModelVersionTag(ctx context.Context, name, version, key, value string) error {
	req := struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}{name, version, key, value}
	return s.call(ctx, "POST", "model-versions/set-tag", nil, req, nil)
}
