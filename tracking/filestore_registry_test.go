package tracking

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryLayout(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	rm, err := s.CreateRegisteredModel(ctx, "iris", "", []Tag{{Key: "task", Value: "classification"}})
	if err != nil {
		t.Fatal(err)
	}
	if rm.Name != "iris" || len(rm.Tags) != 1 || len(rm.LatestVersions) != 0 {
		t.Errorf("created model = %+v", rm)
	}
	mdir := filepath.Join(root, "models", "iris")
	wantModel := fmt.Sprintf("aliases: {}\ncreation_timestamp: %d\ndescription: null\nlast_updated_timestamp: %d\nname: iris\n", rm.CreationTimestamp, rm.LastUpdatedTimestamp)
	if got := readFile(t, filepath.Join(mdir, "meta.yaml")); got != wantModel {
		t.Errorf("model meta.yaml =\n%s\nwant\n%s", got, wantModel)
	}
	if got := readFile(t, filepath.Join(mdir, "tags", "task")); got != "classification" {
		t.Errorf("model tag file = %q", got)
	}

	v1, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{
		Name: "iris", Source: "file:///runs/abc/artifacts/model", RunID: "abc",
		Tags: []Tag{{Key: "validated", Value: "yes"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "1" || v1.Status != ModelVersionReady || v1.CurrentStage != StageNone || v1.RunID != "abc" {
		t.Errorf("version 1 = %+v", v1)
	}
	wantVersion := fmt.Sprintf(`aliases: []
creation_timestamp: %d
current_stage: None
description: null
last_updated_timestamp: %d
name: iris
run_id: abc
run_link: null
source: file:///runs/abc/artifacts/model
status: READY
status_message: null
storage_location: file:///runs/abc/artifacts/model
user_id: null
version: 1
`, v1.CreationTimestamp, v1.LastUpdatedTimestamp)
	if got := readFile(t, filepath.Join(mdir, "version-1", "meta.yaml")); got != wantVersion {
		t.Errorf("version meta.yaml =\n%s\nwant\n%s", got, wantVersion)
	}
	if got := readFile(t, filepath.Join(mdir, "version-1", "tags", "validated")); got != "yes" {
		t.Errorf("version tag file = %q", got)
	}
	v2, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "iris", Source: "file:///runs/def/artifacts/model"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != "2" {
		t.Errorf("second version is %q", v2.Version)
	}

	if err := s.SetRegisteredModelAlias(ctx, "iris", "champion", "1"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(mdir, "aliases", "champion")); got != "1" {
		t.Errorf("alias file = %q", got)
	}
	if meta := readFile(t, filepath.Join(mdir, "meta.yaml")); !strings.HasPrefix(meta, "aliases:\n  champion: '1'\n") {
		t.Errorf("model meta.yaml does not mirror the aliases as MLflow does:\n%s", meta)
	}
	got, err := s.GetModelVersionByAlias(ctx, "iris", "champion")
	if err != nil || got.Version != "1" || fmt.Sprint(got.Aliases) != "[champion]" {
		t.Errorf("by alias = %+v, %v", got, err)
	}
	// Setting the alias again moves it.
	if err := s.SetRegisteredModelAlias(ctx, "iris", "champion", "2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetModelVersionByAlias(ctx, "iris", "champion"); got.Version != "2" {
		t.Errorf("moved alias points at %q", got.Version)
	}
	if got, _ := s.GetModelVersion(ctx, "iris", "1"); len(got.Aliases) != 0 {
		t.Errorf("version 1 still has aliases %v", got.Aliases)
	}
	rm, err = s.GetRegisteredModel(ctx, "iris")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rm.Aliases) != "[{champion 2}]" {
		t.Errorf("model aliases = %v", rm.Aliases)
	}
	if err := s.DeleteRegisteredModelAlias(ctx, "iris", "champion"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mdir, "aliases", "champion")); !os.IsNotExist(err) {
		t.Errorf("alias file still there: %v", err)
	}
	_, err = s.GetModelVersionByAlias(ctx, "iris", "champion")
	wantCode(t, err, CodeInvalidParameterValue) // MLflow's code for a missing alias
	if err := s.DeleteRegisteredModelAlias(ctx, "iris", "champion"); err != nil {
		t.Errorf("deleting a missing alias: %v", err)
	}

	if err := s.SetModelVersionTag(ctx, "iris", "2", "ops/owner", "ml-team"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(mdir, "version-2", "tags", "ops", "owner")); got != "ml-team" {
		t.Errorf("set-tag file = %q", got)
	}
	wantCode(t, s.SetModelVersionTag(ctx, "iris", "7", "k", "v"), CodeResourceDoesNotExist)
	wantCode(t, s.SetModelVersionTag(ctx, "iris", "2", "", "v"), CodeInvalidParameterValue)

	uri, err := s.GetModelVersionDownloadURI(ctx, "iris", "2")
	if err != nil || uri != "file:///runs/def/artifacts/model" {
		t.Errorf("download URI = %q, %v", uri, err)
	}
}

func TestRegistryStages(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	if _, err := s.CreateRegisteredModel(ctx, "m", "a model", nil); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "m", Source: "file:///x"}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		version, stage, canonical string
		archive                   bool
	}{
		{"1", "production", StageProduction, false},
		{"2", "Staging", StageStaging, false},
		{"3", "Production", StageProduction, true}, // archives 1, not 2
		{"4", "staging", StageStaging, false},      // 2 stays in Staging beside 4
	}
	for _, st := range steps {
		mv, err := s.TransitionModelVersionStage(ctx, "m", st.version, st.stage, st.archive)
		if err != nil {
			t.Fatal(err)
		}
		if mv.CurrentStage != st.canonical {
			t.Errorf("version %s stage %q", st.version, mv.CurrentStage)
		}
	}
	want := map[string]string{"1": StageArchived, "2": StageStaging, "3": StageProduction, "4": StageStaging}
	for v, stage := range want {
		mv, err := s.GetModelVersion(ctx, "m", v)
		if err != nil {
			t.Fatal(err)
		}
		if mv.CurrentStage != stage {
			t.Errorf("version %s in %q, want %q", v, mv.CurrentStage, stage)
		}
	}
	if meta := readFile(t, filepath.Join(root, "models", "m", "version-1", "meta.yaml")); !strings.Contains(meta, "current_stage: Archived\n") {
		t.Errorf("archived version's meta.yaml:\n%s", meta)
	}
	rm, err := s.GetRegisteredModel(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	var latest []string
	for _, v := range rm.LatestVersions {
		latest = append(latest, v.CurrentStage+"="+v.Version)
	}
	if got := strings.Join(latest, " "); got != "Staging=4 Production=3 Archived=1" {
		t.Errorf("latest versions %q", got)
	}
	if rm.Description != "a model" {
		t.Errorf("description %q", rm.Description)
	}
	_, err = s.TransitionModelVersionStage(ctx, "m", "1", "None", true)
	wantCode(t, err, CodeInvalidParameterValue)
	_, err = s.TransitionModelVersionStage(ctx, "m", "1", "Shipping", false)
	wantCode(t, err, CodeInvalidParameterValue)
}

func TestRegistryErrors(t *testing.T) {
	ctx := context.Background()
	s, root := newTestFileStore(t)
	if _, err := s.CreateRegisteredModel(ctx, "m", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "m", Source: "s"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"duplicate model", func() error { _, err := s.CreateRegisteredModel(ctx, "m", "", nil); return err }, CodeResourceAlreadyExists},
		{"unknown model", func() error { _, err := s.GetRegisteredModel(ctx, "nope"); return err }, CodeResourceDoesNotExist},
		{"version of unknown model", func() error {
			_, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "nope", Source: "s"})
			return err
		}, CodeResourceDoesNotExist},
		{"unknown version", func() error { _, err := s.GetModelVersion(ctx, "m", "7"); return err }, CodeResourceDoesNotExist},
		{"non-numeric version", func() error { _, err := s.GetModelVersion(ctx, "m", "one"); return err }, CodeInvalidParameterValue},
		{"empty model name", func() error { _, err := s.CreateRegisteredModel(ctx, "", "", nil); return err }, CodeInvalidParameterValue},
		{"model name with a slash", func() error { _, err := s.CreateRegisteredModel(ctx, "../x", "", nil); return err }, CodeInvalidParameterValue},
		{"model name ..", func() error { _, err := s.GetRegisteredModel(ctx, ".."); return err }, CodeInvalidParameterValue},
		{"model name with %", func() error { _, err := s.CreateRegisteredModel(ctx, "a%2e", "", nil); return err }, CodeInvalidParameterValue},
		{"bad model tag key", func() error {
			_, err := s.CreateRegisteredModel(ctx, "t", "", []Tag{{Key: "../x", Value: "v"}})
			return err
		}, CodeInvalidParameterValue},
		{"alias latest", func() error { return s.SetRegisteredModelAlias(ctx, "m", "Latest", "1") }, CodeInvalidParameterValue},
		{"alias v1", func() error { return s.SetRegisteredModelAlias(ctx, "m", "v1", "1") }, CodeInvalidParameterValue},
		{"alias with a slash", func() error { return s.SetRegisteredModelAlias(ctx, "m", "a/b", "1") }, CodeInvalidParameterValue},
		{"alias to unknown version", func() error { return s.SetRegisteredModelAlias(ctx, "m", "prod", "9") }, CodeResourceDoesNotExist},
		{"alias of unknown model", func() error { _, err := s.GetModelVersionByAlias(ctx, "nope", "prod"); return err }, CodeResourceDoesNotExist},
		{"search too many", func() error {
			_, err := s.SearchModelVersions(ctx, SearchModelVersionsRequest{MaxResults: 200001})
			return err
		}, CodeInvalidParameterValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code) })
	}
	if _, err := s.GetRegisteredModel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("%v is not ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(root, "x")); !os.IsNotExist(err) {
		t.Errorf("a model name escaped models/: %v", err)
	}
}

func TestRegistryModelsURISource(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFileStore(t)
	for _, name := range []string{"a", "b"} {
		if _, err := s.CreateRegisteredModel(ctx, name, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "a", Source: "file:///store/a1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRegisteredModelAlias(ctx, "a", "prod", "1"); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"models:/a/1", "models:/a@prod", "models:/a/latest", "models:/a/None"} {
		mv, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "b", Source: src})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		uri, err := s.GetModelVersionDownloadURI(ctx, "b", mv.Version)
		if err != nil || uri != "file:///store/a1" || mv.Source != src {
			t.Errorf("%s: source %q, download URI %q, %v", src, mv.Source, uri, err)
		}
	}
	if _, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "b", Source: "models:/a/7"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("models:/ of a missing version: %v", err)
	}
}

func TestRegistrySearchModelVersions(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestFileStore(t)
	if _, err := ParseModelVersionFilter(""); err != nil {
		t.Skipf("search.go is not ready: %v", err)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := s.CreateRegisteredModel(ctx, name, "", nil); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: name, Source: "s", RunID: fmt.Sprintf("run%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	page, err := s.SearchModelVersions(ctx, SearchModelVersionsRequest{Filter: "name = 'a'"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.ModelVersions) != 3 {
		t.Fatalf("name = 'a' matched %d versions", len(page.ModelVersions))
	}
	for _, mv := range page.ModelVersions {
		if mv.Name != "a" {
			t.Errorf("matched %s/%s", mv.Name, mv.Version)
		}
	}
	page, err = s.SearchModelVersions(ctx, SearchModelVersionsRequest{Filter: "run_id = 'run1'"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.ModelVersions) != 2 {
		t.Errorf("run_id = 'run1' matched %d versions", len(page.ModelVersions))
	}
	var all []string
	req := SearchModelVersionsRequest{MaxResults: 4}
	for {
		page, err := s.SearchModelVersions(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, mv := range page.ModelVersions {
			all = append(all, mv.Name+mv.Version)
		}
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	if len(all) != 6 {
		t.Errorf("paging returned %v", all)
	}
}

func TestRegistryReadsPythonMLflowStore(t *testing.T) {
	ctx := context.Background()
	s, err := NewFileStore(copyFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := s.GetRegisteredModel(ctx, "iris")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rm.Aliases) != "[{champion 1}]" || len(rm.Tags) != 1 || rm.Description != "" {
		t.Errorf("model = %+v", rm)
	}
	var latest []string
	for _, v := range rm.LatestVersions {
		latest = append(latest, v.CurrentStage+"="+v.Version)
	}
	if got := strings.Join(latest, " "); got != "None=2 Production=1" {
		t.Errorf("latest versions %q", got)
	}
	v1, err := s.GetModelVersionByAlias(ctx, "iris", "champion")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "1" || v1.CurrentStage != StageProduction || len(v1.Tags) != 1 || fmt.Sprint(v1.Aliases) != "[champion]" {
		t.Errorf("version 1 = %+v", v1)
	}
	// version: '2' (a string) reads like version: 1; no storage location
	// means the source is where the files are.
	uri, err := s.GetModelVersionDownloadURI(ctx, "iris", "2")
	if err != nil || uri != "runs:/5f1c3d0e8a9b4c7d9e0f1a2b3c4d5e6f/model" {
		t.Errorf("download URI %q, %v", uri, err)
	}
	v3, err := s.CreateModelVersion(ctx, CreateModelVersionRequest{Name: "iris", Source: "file:///m"})
	if err != nil || v3.Version != "3" {
		t.Errorf("next version after Python's = %+v, %v", v3, err)
	}
}
