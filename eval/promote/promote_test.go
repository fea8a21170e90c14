package promote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/tracking"
	"github.com/nebras-ai/nebras/tracking/mlflowtest"
)

const model = "nebras-support-bot"

// backends run every scenario on the local store and, through the strict
// test server, on the REST client. Both return the FileStore's root, to
// reach past the API where a scenario needs a state it cannot create.
func backends() []backend {
	return []backend{
		{"file", func(t *testing.T) (tracking.Store, string) {
			root := t.TempDir()
			s, err := tracking.NewFileStore(root)
			if err != nil {
				t.Fatal(err)
			}
			return s, root
		}},
		{"rest", func(t *testing.T) (tracking.Store, string) {
			root := t.TempDir()
			fs, err := tracking.NewFileStore(root, tracking.WithArtifactRoot("mlflow-artifacts:"))
			if err != nil {
				t.Fatal(err)
			}
			srv := mlflowtest.New(fs, mlflowtest.Options{ArtifactDir: t.TempDir()})
			t.Cleanup(srv.Close)
			c, err := tracking.NewRESTStore(tracking.RESTConfig{URI: srv.URL()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c, root
		}},
	}
}

type backend struct {
	name string
	open func(t *testing.T) (tracking.Store, string)
}

// clock is a fixed time in another zone than UTC, so that the tag shows
// the conversion.
func clock() time.Time { return time.Date(2025, 3, 1, 12, 30, 0, 0, time.FixedZone("CET", 3600)) }

const clockTag = "2025-03-01T11:30:00Z"

func options() Options {
	return Options{Model: model, Actor: "alice", Reason: "better rougeL", Now: clock}
}

// registry creates the model with three READY versions.
func registry(t *testing.T, s tracking.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateRegisteredModel(ctx, model, "", nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := s.CreateModelVersion(ctx, tracking.CreateModelVersionRequest{Name: model, Source: fmt.Sprintf("mlflow-artifacts:/0/run%d/artifacts/model", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// aliases returns where production and previous point ("" if unset).
func aliases(t *testing.T, s tracking.Store) (prod, prev string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if prod, err = aliasVersion(ctx, s, model, "production"); err != nil {
		t.Fatal(err)
	}
	if prev, err = aliasVersion(ctx, s, model, "previous"); err != nil {
		t.Fatal(err)
	}
	return prod, prev
}

func tags(t *testing.T, s tracking.Store, version string) map[string]string {
	t.Helper()
	mv, err := s.GetModelVersion(context.Background(), model, version)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tag := range mv.Tags {
		out[tag.Key] = tag.Value
	}
	return out
}

func wantAliases(t *testing.T, s tracking.Store, prod, prev string) {
	t.Helper()
	if gotProd, gotPrev := aliases(t, s); gotProd != prod || gotPrev != prev {
		t.Errorf("production=%q previous=%q, want %q %q", gotProd, gotPrev, prod, prev)
	}
}

func wantTags(t *testing.T, s tracking.Store, version string, want map[string]string) {
	t.Helper()
	got := tags(t, s, version)
	if len(got) != len(want) {
		t.Errorf("version %s tags %v, want %v", version, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("version %s tag %s = %q, want %q", version, k, got[k], v)
		}
	}
}

func promote(t *testing.T, s tracking.Store, version string, blessed bool, opt Options) *Result {
	t.Helper()
	res, err := Promote(context.Background(), s, version, blessed, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPromote(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			// Each group runs its steps in order on one registry.
			t.Run("promotions", func(t *testing.T) {
				t.Parallel()
				s, _ := be.open(t)
				registry(t, s)
				t.Run("first", func(t *testing.T) {
					res := promote(t, s, "1", true, options())
					if *res != (Result{Model: model, Alias: "production", Version: "1"}) {
						t.Errorf("result %+v", res)
					}
					wantAliases(t, s, "1", "")
					wantTags(t, s, "1", map[string]string{TagPromotedAt: clockTag, TagPromotedBy: "alice",
						TagPromotionReason: "better rougeL", TagPromotionForced: "false", TagPromotedFrom: ""})
					if got := res.String(); got != "promoted nebras-support-bot version 1 to production" {
						t.Errorf("String() = %q", got)
					}
				})
				t.Run("second", func(t *testing.T) {
					res := promote(t, s, "2", true, options())
					if *res != (Result{Model: model, Alias: "production", Version: "2", PreviousVersion: "1"}) {
						t.Errorf("result %+v", res)
					}
					wantAliases(t, s, "2", "1")
					if got := tags(t, s, "2")[TagPromotedFrom]; got != "1" {
						t.Errorf("promoted_from = %q", got)
					}
					if got := res.String(); got != "promoted nebras-support-bot version 2 to production (was 1)" {
						t.Errorf("String() = %q", got)
					}
				})
				t.Run("no-op", func(t *testing.T) {
					later := options()
					later.Now = func() time.Time { return clock().Add(time.Hour) }
					later.Actor = "bob"
					res := promote(t, s, "2", true, later)
					if *res != (Result{Model: model, Alias: "production", Version: "2", NoOp: true}) {
						t.Errorf("result %+v", res)
					}
					wantAliases(t, s, "2", "1")
					if got := tags(t, s, "2"); got[TagPromotedAt] != clockTag || got[TagPromotedBy] != "alice" {
						t.Errorf("a no-op rewrote the record: %v", got)
					}
					if got := res.String(); got != "nebras-support-bot version 2 is already production; nothing to do" {
						t.Errorf("String() = %q", got)
					}
				})
			})
			t.Run("gate", func(t *testing.T) {
				t.Parallel()
				s, _ := be.open(t)
				registry(t, s)
				promote(t, s, "1", true, options())
				t.Run("unblessed refused", func(t *testing.T) {
					_, err := Promote(context.Background(), s, "2", false, options())
					if err == nil || err.Error() != "promote nebras-support-bot version 2: not blessed by the gate (force the promotion to override)" {
						t.Errorf("error %v", err)
					}
					wantAliases(t, s, "1", "")
					wantTags(t, s, "2", map[string]string{})
				})
				t.Run("forced", func(t *testing.T) {
					opt := options()
					opt.Force = true
					res := promote(t, s, "2", false, opt)
					if !res.Forced || res.Version != "2" || res.PreviousVersion != "1" {
						t.Errorf("result %+v", res)
					}
					wantAliases(t, s, "2", "1")
					if got := tags(t, s, "2")[TagPromotionForced]; got != "true" {
						t.Errorf("promotion_forced = %q", got)
					}
					if got := res.String(); got != "promoted nebras-support-bot version 2 to production (was 1), forced past the gate" {
						t.Errorf("String() = %q", got)
					}
				})
				t.Run("force on a blessed version", func(t *testing.T) {
					opt := options()
					opt.Force = true
					res := promote(t, s, "3", true, opt)
					if res.Forced || tags(t, s, "3")[TagPromotionForced] != "false" {
						t.Errorf("result %+v, tags %v", res, tags(t, s, "3"))
					}
				})
			})
			t.Run("rollback", func(t *testing.T) {
				t.Parallel()
				s, _ := be.open(t)
				registry(t, s)
				t.Run("without previous", func(t *testing.T) {
					_, err := Rollback(context.Background(), s, options())
					if err == nil || err.Error() != "rollback nebras-support-bot: no previous version to roll back to" {
						t.Errorf("nothing promoted: %v", err)
					}
					promote(t, s, "1", true, options())
					_, err = Rollback(context.Background(), s, options())
					if err == nil || err.Error() != "rollback nebras-support-bot: no previous version to roll back to" {
						t.Errorf("first promotion only: %v", err)
					}
					wantAliases(t, s, "1", "")
				})
				t.Run("twice", func(t *testing.T) {
					promote(t, s, "2", true, options())
					opt := options()
					opt.Actor, opt.Reason = "oncall", "complaints about empty replies"
					res, err := Rollback(context.Background(), s, opt)
					if err != nil {
						t.Fatal(err)
					}
					if *res != (Result{Model: model, Alias: "production", Version: "1", PreviousVersion: "2", RolledBack: true}) {
						t.Errorf("result %+v", res)
					}
					wantAliases(t, s, "1", "2")
					wantTags(t, s, "1", map[string]string{TagPromotedAt: clockTag, TagPromotedBy: "alice",
						TagPromotionReason: "better rougeL", TagPromotionForced: "false", TagPromotedFrom: "",
						TagRolledBackAt: clockTag, TagRolledBackBy: "oncall", TagRollbackReason: "complaints about empty replies", TagRolledBackFrom: "2"})
					if got := res.String(); got != "rolled back nebras-support-bot: production is version 1 again (was 2)" {
						t.Errorf("String() = %q", got)
					}

					res, err = Rollback(context.Background(), s, opt)
					if err != nil {
						t.Fatal(err)
					}
					if res.Version != "2" || res.PreviousVersion != "1" || !res.RolledBack {
						t.Errorf("second rollback %+v", res)
					}
					wantAliases(t, s, "2", "1")
					if got := tags(t, s, "2"); got[TagRolledBackFrom] != "1" || got[TagRolledBackBy] != "oncall" {
						t.Errorf("second rollback tags %v", got)
					}
				})
				t.Run("without production", func(t *testing.T) {
					if err := s.DeleteRegisteredModelAlias(context.Background(), model, "production"); err != nil {
						t.Fatal(err)
					}
					_, err := Rollback(context.Background(), s, options())
					if err == nil || err.Error() != "rollback nebras-support-bot: no production version to roll back from (previous is version 1; promote it instead)" {
						t.Errorf("error %v", err)
					}
					wantAliases(t, s, "", "1")
				})
			})
			t.Run("refusals", func(t *testing.T) {
				t.Parallel()
				s, root := be.open(t)
				registry(t, s)
				promote(t, s, "1", true, options())
				t.Run("unknown version", func(t *testing.T) {
					for _, v := range []string{"9", "0"} {
						if _, err := Promote(context.Background(), s, v, true, options()); !errors.Is(err, tracking.ErrNotFound) {
							t.Errorf("version %s: %v", v, err)
						}
					}
					for _, v := range []string{"", "two", "-1", "1.0"} {
						if _, err := Promote(context.Background(), s, v, true, options()); err == nil || !strings.Contains(err.Error(), "not a version number") {
							t.Errorf("version %q: %v", v, err)
						}
					}
					opt := options()
					opt.Model = "no-such-model"
					if _, err := Promote(context.Background(), s, "1", true, opt); !errors.Is(err, tracking.ErrNotFound) {
						t.Errorf("unknown model: %v", err)
					}
					if _, err := Rollback(context.Background(), s, opt); err == nil {
						t.Error("rollback of an unknown model succeeded")
					}
					wantAliases(t, s, "1", "")
				})
				t.Run("not ready", func(t *testing.T) {
					// The API registers versions READY; a registration still
					// copying files is written as MLflow would have it.
					meta := filepath.Join(root, "models", model, "version-3", "meta.yaml")
					b, err := os.ReadFile(meta)
					if err != nil {
						t.Fatal(err)
					}
					pending := strings.Replace(string(b), "status: READY", "status: PENDING_REGISTRATION", 1)
					if pending == string(b) {
						t.Fatalf("no status in %s:\n%s", meta, b)
					}
					if err := os.WriteFile(meta, []byte(pending), 0o644); err != nil {
						t.Fatal(err)
					}
					_, err = Promote(context.Background(), s, "3", true, options())
					if err == nil || err.Error() != "promote nebras-support-bot version 3: status is PENDING_REGISTRATION, not READY" {
						t.Errorf("error %v", err)
					}
					wantAliases(t, s, "1", "")
				})
				t.Run("failure between the moves", func(t *testing.T) {
					// previous is moved first: when the second write fails,
					// production still serves what it did, and running the
					// promotion again finishes it.
					broken := &failingAlias{Store: s, alias: "production"}
					_, err := Promote(context.Background(), broken, "2", true, options())
					if err == nil || !strings.Contains(err.Error(), "set alias production") {
						t.Errorf("error %v", err)
					}
					wantAliases(t, s, "1", "1")
					res, err := Promote(context.Background(), s, "2", true, options())
					if err != nil || res.NoOp || res.PreviousVersion != "1" {
						t.Fatalf("retry: %+v, %v", res, err)
					}
					wantAliases(t, s, "2", "1")
					if got := tags(t, s, "2")[TagPromotedFrom]; got != "1" {
						t.Errorf("promoted_from = %q", got)
					}
					broken.alias = "previous"
					if _, err := Promote(context.Background(), broken, "1", true, options()); err == nil || !strings.Contains(err.Error(), "set alias previous to 2") {
						t.Errorf("error %v", err)
					}
					wantAliases(t, s, "2", "1")
				})
			})
		})
	}
}

// failingAlias fails every attempt to set one alias.
type failingAlias struct {
	tracking.Store
	alias string
}

func (f *failingAlias) SetRegisteredModelAlias(ctx context.Context, name, alias, version string) error {
	if alias == f.alias {
		return tracking.Errorf(tracking.CodeTemporarilyUnavailable, "injected failure")
	}
	return f.Store.SetRegisteredModelAlias(ctx, name, alias, version)
}

func TestOptions(t *testing.T) {
	s, _ := backends()[0].open(t)
	registry(t, s)
	ctx := context.Background()

	t.Setenv("USER", "carol")
	opt := Options{Model: model, Alias: "champion", PreviousAlias: "runner-up"}
	if _, err := Promote(ctx, s, "1", true, opt); err != nil {
		t.Fatal(err)
	}
	res, err := Promote(ctx, s, "2", true, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Alias != "champion" || res.PreviousVersion != "1" {
		t.Errorf("result %+v", res)
	}
	for alias, want := range map[string]string{"champion": "2", "runner-up": "1", "production": "", "previous": ""} {
		if got, err := aliasVersion(ctx, s, model, alias); err != nil || got != want {
			t.Errorf("alias %s = %q, %v; want %q", alias, got, err, want)
		}
	}
	got := tags(t, s, "2")
	if got[TagPromotedBy] != "carol" {
		t.Errorf("actor from $USER: %q", got[TagPromotedBy])
	}
	if at, err := time.Parse(time.RFC3339, got[TagPromotedAt]); err != nil || !strings.HasSuffix(got[TagPromotedAt], "Z") || at.IsZero() {
		t.Errorf("promoted_at %q: %v", got[TagPromotedAt], err)
	}

	t.Setenv("USER", "")
	if _, err := Promote(ctx, s, "3", true, Options{Model: model}); err != nil {
		t.Fatal(err)
	}
	if got := tags(t, s, "3")[TagPromotedBy]; got != "unknown" {
		t.Errorf("actor without $USER: %q", got)
	}

	for _, bad := range []Options{{}, {Model: model, Alias: "prod", PreviousAlias: "prod"}, {Model: model, PreviousAlias: "production"}} {
		if _, err := Promote(ctx, s, "1", true, bad); err == nil {
			t.Errorf("Promote with %+v succeeded", bad)
		}
		if _, err := Rollback(ctx, s, bad); err == nil {
			t.Errorf("Rollback with %+v succeeded", bad)
		}
	}
}

func TestReadEvalResult(t *testing.T) {
	tests := []struct {
		name, json string
		blessed    bool
		err        string
	}{
		{"blessed", `{"blessed": true, "candidate": {"registered_model": "nebras-support-bot", "version": "3", "run_id": "abc", "metrics": {"rougeL": 0.3}}, "gate": {"summary": "blessed"}}`, true, ""},
		{"not blessed", `{"blessed": false, "candidate": {"registered_model": "nebras-support-bot", "version": "3", "run_id": "abc"}}`, false, ""},
		{"no verdict", `{"candidate": {"registered_model": "nebras-support-bot", "version": "3"}}`, false, `no "blessed" verdict`},
		{"no candidate", `{"blessed": true}`, false, `no "candidate"`},
		{"null candidate", `{"blessed": true, "candidate": null}`, false, `no "candidate"`},
		{"unregistered candidate", `{"blessed": true, "candidate": {"run_id": "abc"}}`, false, `the candidate is not a registered model version (candidate.registered_model "", candidate.version "")`},
		{"verdict not a boolean", `{"blessed": "yes", "candidate": {"registered_model": "m", "version": "1"}}`, false, "cannot unmarshal"},
		{"not JSON", `blessed: true`, false, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "eval.json")
			if err := os.WriteFile(path, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadEvalResult(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %v, want one naming %s with %q", err, path, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Blessed != tt.blessed || got.Candidate.RegisteredModel != model || got.Candidate.Version != "3" || got.Candidate.RunID != "abc" {
				t.Errorf("read %+v", got)
			}
		})
	}
	if _, err := ReadEvalResult(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}
