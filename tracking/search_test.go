package tracking

import (
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// searchRuns are hand-built runs covering present, missing and NaN
// values, ties on start_time and runs still going.
func searchRuns() []*Run {
	return []*Run{
		{
			Info: RunInfo{RunID: "a1", RunName: "alpha", UserID: "ann", Status: RunFinished,
				StartTime: 100, EndTime: 200, ArtifactURI: "file:///mlruns/0/a1/artifacts"},
			Data: RunData{
				Metrics: []Metric{{Key: "loss", Value: 0.5}, {Key: "acc", Value: 0.9}},
				Params:  []Param{{Key: "lr", Value: "0.01"}, {Key: "opt", Value: "adam"}},
				Tags:    []Tag{{Key: "mlflow.runName", Value: "alpha"}, {Key: "team", Value: "Vision"}},
			},
			Inputs: []DatasetInput{{
				Tags:    []Tag{{Key: "mlflow.data.context", Value: "training"}},
				Dataset: Dataset{Name: "mnist", Digest: "d1"},
			}},
		},
		{
			Info: RunInfo{RunID: "b2", RunName: "beta", UserID: "bob", Status: RunRunning,
				StartTime: 300, ArtifactURI: "file:///mlruns/0/b2/artifacts"},
			Data: RunData{
				Metrics: []Metric{{Key: "loss", Value: 0.2}, {Key: "acc", Value: math.NaN()}},
				Params:  []Param{{Key: "lr", Value: "0.1"}},
				Tags:    []Tag{{Key: "team", Value: "nlp"}},
			},
			Inputs: []DatasetInput{
				{Dataset: Dataset{Name: "cifar", Digest: "d2"}},
				{
					Tags:    []Tag{{Key: "mlflow.data.context", Value: "validation"}},
					Dataset: Dataset{Name: "cifar", Digest: "d3"},
				},
			},
		},
		{
			Info: RunInfo{RunID: "c3", RunName: "gamma", UserID: "ann", Status: RunFailed,
				StartTime: 200, EndTime: 250},
			Data: RunData{
				Metrics: []Metric{{Key: "loss", Value: 1.5}},
				Tags:    []Tag{{Key: "team", Value: "vision-2"}},
			},
		},
		{
			Info: RunInfo{RunID: "d4", RunName: "delta", UserID: "carl", Status: RunFinished,
				StartTime: 300, EndTime: 400},
			Data: RunData{
				Metrics: []Metric{{Key: "loss", Value: math.NaN()}},
				Params:  []Param{{Key: "opt", Value: "sgd"}},
			},
		},
		{
			Info: RunInfo{RunID: "e5", RunName: "epsilon", UserID: "eve", Status: RunScheduled,
				StartTime: 50},
		},
	}
}

func runIDs(runs []*Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.Info.RunID
	}
	return ids
}

// checkInvalid fails unless err is an INVALID_PARAMETER_VALUE *Error with
// a one-line message containing want.
func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Code != CodeInvalidParameterValue || !errors.Is(err, ErrInvalid) {
		t.Errorf("code = %s, want %s", e.Code, CodeInvalidParameterValue)
	}
	if strings.Contains(e.Message, "\n") {
		t.Errorf("message %q spans lines", e.Message)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not contain %q", e.Message, want)
	}
}

func TestRunFilterMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"a1", "b2", "c3", "d4", "e5"}},
		{"   ", []string{"a1", "b2", "c3", "d4", "e5"}},
		{"metrics.loss < 1", []string{"a1", "b2"}},
		{"metrics.loss<1", []string{"a1", "b2"}},
		{"metrics.loss != 0.5", []string{"b2", "c3", "d4"}}, // NaN != 0.5, as in Python
		{"metrics.loss = 0.5", []string{"a1"}},
		{"metrics.loss <= 0.5", []string{"a1", "b2"}},
		{"metrics.loss > -1e3", []string{"a1", "b2", "c3"}},
		{"metrics.loss >= 1.5", []string{"c3"}},
		{"metrics.loss > .3", []string{"a1", "c3"}},
		{"metric.acc >= 0.9", []string{"a1"}},
		{"metrics.acc != 1", []string{"a1", "b2"}},
		{"metrics.missing < 1e400", nil},
		{"metrics.loss < 1e400", []string{"a1", "b2", "c3"}},
		{"params.lr = '0.01'", []string{"a1"}},
		{`param.lr = "0.1"`, []string{"b2"}},
		{"parameters.lr != '0.01'", []string{"b2"}},
		{"params.opt LIKE '%d%'", []string{"a1", "d4"}},
		{"params.opt LIKE 'a%m'", []string{"a1"}},
		{"tags.team LIKE 'vision%'", []string{"c3"}},
		{"tags.team like 'vision%'", []string{"c3"}},
		{"tags.team ILIKE 'vision%'", []string{"a1", "c3"}},
		{"tags.team LIKE '_lp'", []string{"b2"}},
		{"tags.team LIKE 'n_'", nil},
		{"tag.`mlflow.runName` = 'alpha'", []string{"a1"}},
		{`tags."mlflow.runName" = 'alpha'`, []string{"a1"}},
		{"tags.mlflow.runName = 'alpha'", []string{"a1"}},
		{"tags.team = 'it''s'", nil},
		{"attributes.status = 'FINISHED'", []string{"a1", "d4"}},
		{"status != 'FINISHED'", []string{"b2", "c3", "e5"}},
		{"attr.user_id = 'ann' and metrics.loss > 1", []string{"c3"}},
		{"attributes.run_id IN ('a1', 'c3')", []string{"a1", "c3"}},
		{"run_id in ('b2')", []string{"b2"}},
		{"run_id NOT IN ('a1')", []string{"b2", "c3", "d4", "e5"}},
		{"run_id not  in('a1','b2')", []string{"c3", "d4", "e5"}},
		{"attributes.start_time >= 200", []string{"b2", "c3", "d4"}},
		{"created < 200", []string{"a1", "e5"}},
		{"attributes.Created = 100", []string{"a1"}},
		{"attributes.end_time > 0", []string{"a1", "c3", "d4"}},
		{"attributes.end_time != 250", []string{"a1", "d4"}}, // running runs have no end time
		{"attributes.`Run name` = 'beta'", []string{"b2"}},
		{"`run name` = 'beta'", []string{"b2"}},
		{"run.run_name LIKE '%ta'", []string{"b2", "d4"}},
		{"attributes.artifact_uri LIKE '%/a1/%'", []string{"a1"}},
		{"datasets.name = 'mnist'", []string{"a1"}},
		{"dataset.name ILIKE 'CIFAR'", []string{"b2"}},
		{"datasets.context IN ('validation')", []string{"b2"}},
		{"datasets.context = 'training'", []string{"a1"}},
		{"datasets.digest != 'd1'", []string{"b2"}},
		{"datasets.digest NOT IN ('d2')", []string{"a1", "b2"}},
		{"metrics.loss < 1 AND params.lr = '0.1'", []string{"b2"}},
		{"metrics.loss < 1 And params.lr = '0.1' aNd tags.team = 'nlp'", []string{"b2"}},
		{"\tmetrics.loss < 1\nAND status = 'RUNNING' ", []string{"b2"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseRunFilter(tt.filter)
			if err != nil {
				t.Fatalf("ParseRunFilter: %v", err)
			}
			var got []string
			for _, r := range searchRuns() {
				if f.Match(r) {
					got = append(got, r.Info.RunID)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNilFiltersMatchAll(t *testing.T) {
	var rf *RunFilter
	if !rf.Match(searchRuns()[0]) {
		t.Error("nil RunFilter does not match")
	}
	var mf *ModelVersionFilter
	if !mf.Match(&ModelVersion{Name: "m", Version: "1"}) {
		t.Error("nil ModelVersionFilter does not match")
	}
}

func TestParseRunFilterErrors(t *testing.T) {
	tests := []struct {
		filter string
		want   string
	}{
		{"metrics.loss <> 2", `invalid filter "metrics.loss <> 2": unknown comparator "<>"`},
		{"metrics.loss == 2", `unknown comparator "=="`},
		{"metrics.loss =< 2", `unknown comparator "=<"`},
		{"params.lr = 0.1", "needs a quoted string value, got number 0.1"},
		{"params.lr = abc", "value abc after params.lr = is not quoted"},
		{"params.lr = `abc`", "backquotes"},
		{"metrics.loss = '1'", `needs a number, got string "1"`},
		{"params.lr < '1'", "comparator < is not allowed for params"},
		{"tags.t >= 'a'", "comparator >= is not allowed for tags"},
		{"metrics.loss LIKE '1'", "comparator LIKE is not allowed for metrics"},
		{"attributes.foo = 'x'", `unknown attribute "foo"`},
		{"lifecycle_stage = 'active'", `unknown attribute "lifecycle_stage"`},
		{"foo.bar = 'x'", `unknown entity type "foo"`},
		{"Metrics.loss > 1", `unknown entity type "Metrics"`},
		{"params.lr = 'abc", "unterminated quote '"},
		{`params.lr = "abc`, `unterminated quote "`},
		{"tags.`x = 'a'", "unterminated quote `"},
		{"metrics.loss < 1 OR metrics.loss > 2", "OR is not supported"},
		{"metrics.loss < 1 metrics.acc > 2", `unexpected "metrics.acc > 2" after clause`},
		{"metrics.loss < 1;", `unexpected ";"`},
		{"metrics.loss < 1 AND", "missing clause after AND"},
		{"metrics.loss < 1 AND ", "missing clause after AND"},
		{"AND metrics.loss < 1", "unknown comparator"},
		{"metrics.loss", "missing comparator after metrics.loss"},
		{"metrics.loss <", "missing value after metrics.loss <"},
		{"metrics.loss > 1abc", `malformed number "1abc"`},
		{"metrics.loss > 1.2.3", `malformed number "1.2.3"`},
		{"metrics.loss > -", `malformed number "-"`},
		{"metrics.loss > 1e", `malformed number "1e"`},
		{"(metrics.loss > 1)", "expected an identifier"},
		{"params.lr NOT LIKE 'x'", `unknown comparator "NOT LIKE"`},
		{"params.lr IS 'x'", `unknown comparator "IS"`},
		{"tags.my-tag = 'x'", `expected a comparator after tags.my, found "-tag = 'x'"`},
		{"tags. = 'x'", "malformed key"},
		{"tags.a..b = 'x'", "malformed key"},
		{"tags.`` = 'x'", "empty key"},
		{"tags.`a`b = 'x'", "unexpected 'b'"},
		{`"tags".x = 'x'`, "quote the key, not the entity type"},
		{"status IN ('a')", "cannot be compared with a list"},
		{"params.x IN ('a')", "comparator IN is not allowed for params"},
		{"run_id IN 'a'", `run_id IN needs a parenthesised list of quoted strings, got string "a"`},
		{"run_id = ('a')", "cannot take a list; use IN"},
		{"run_id IN ()", "empty list"},
		{"run_id IN ('a',)", "list items must be single-quoted strings"},
		{"run_id IN ('a' 'b')", "expected ',' or ')' in list"},
		{`run_id IN ("a")`, "list items must be single-quoted strings"},
		{"run_id IN ('a'", "unterminated list"},
		{"run_id IN (1)", "list items must be single-quoted strings"},
		{"start_time > 1.5", "needs an integer, got 1.5"},
		{"start_time > '1'", "needs a number"},
		{"start_time > 99999999999999999999", "needs an integer"},
		{"start_time LIKE '1'", "comparator LIKE is not allowed for start_time"},
		{"end_time IN ('1')", "comparator IN is not allowed for end_time"},
		{"datasets.foo = 'x'", `unknown dataset key "foo"`},
		{"datasets.name > 'x'", "comparator > is not allowed for datasets"},
		{"datasets.name = 1", "needs a quoted string value"},
		{"1 = 1", "expected an identifier"},
		{"`a\nb` 1", "expected a comparator after \"`a\\nb`\", found \"1\""}, // messages stay on one line
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseRunFilter(tt.filter)
			if err == nil {
				t.Fatalf("ParseRunFilter accepted it: %+v", f)
			}
			checkInvalid(t, err, tt.want)
		})
	}
}

func TestRunOrderSort(t *testing.T) {
	tests := []struct {
		orderBy []string
		want    []string
	}{
		{nil, []string{"b2", "d4", "c3", "a1", "e5"}},
		{[]string{}, []string{"b2", "d4", "c3", "a1", "e5"}},
		// NaN comes after values and before missing ones, in both directions.
		{[]string{"metrics.loss"}, []string{"b2", "a1", "c3", "d4", "e5"}},
		{[]string{"metrics.loss ASC"}, []string{"b2", "a1", "c3", "d4", "e5"}},
		{[]string{"metrics.loss DESC"}, []string{"c3", "a1", "b2", "d4", "e5"}},
		{[]string{"metric.`loss` desc"}, []string{"c3", "a1", "b2", "d4", "e5"}},
		// Missing values keep the default order among themselves.
		{[]string{"params.lr DESC"}, []string{"b2", "a1", "d4", "c3", "e5"}},
		{[]string{"params.lr"}, []string{"a1", "b2", "d4", "c3", "e5"}},
		{[]string{"attributes.end_time"}, []string{"a1", "c3", "d4", "b2", "e5"}},
		{[]string{"attributes.end_time DESC"}, []string{"d4", "c3", "a1", "b2", "e5"}},
		{[]string{"attributes.user_id", "metrics.loss DESC"}, []string{"c3", "a1", "b2", "d4", "e5"}},
		{[]string{"created ASC"}, []string{"e5", "a1", "c3", "b2", "d4"}},
		{[]string{"attributes.start_time DESC"}, []string{"b2", "d4", "c3", "a1", "e5"}},
		{[]string{"attributes.run_id DESC"}, []string{"e5", "d4", "c3", "b2", "a1"}},
		{[]string{"status"}, []string{"c3", "d4", "a1", "b2", "e5"}},
		{[]string{"tags.team", "attributes.run_name"}, []string{"a1", "b2", "c3", "d4", "e5"}},
		{[]string{"tags.`team` DESC"}, []string{"c3", "b2", "a1", "d4", "e5"}},
		{[]string{"run_name"}, []string{"a1", "b2", "d4", "e5", "c3"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.orderBy, ","), func(t *testing.T) {
			o, err := ParseRunOrderBy(tt.orderBy)
			if err != nil {
				t.Fatalf("ParseRunOrderBy: %v", err)
			}
			runs := searchRuns()
			o.Sort(runs)
			if got := runIDs(runs); !slices.Equal(got, tt.want) {
				t.Errorf("order %v, want %v", got, tt.want)
			}
			// The order does not depend on the input order.
			slices.Reverse(runs)
			o.Sort(runs)
			if got := runIDs(runs); !slices.Equal(got, tt.want) {
				t.Errorf("from reversed input: order %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRunOrderSortStable(t *testing.T) {
	// Runs equal under every key keep their input order.
	a := &Run{Info: RunInfo{RunID: "x", StartTime: 1}}
	b := &Run{Info: RunInfo{RunID: "x", StartTime: 1}}
	runs := []*Run{a, b}
	var o *RunOrder
	o.Sort(runs)
	if runs[0] != a || runs[1] != b {
		t.Error("equal runs were reordered")
	}
}

func TestParseRunOrderByErrors(t *testing.T) {
	tests := []struct {
		clause string
		want   string
	}{
		{"", `invalid order_by clause "": empty clause`},
		{"  ", "empty clause"},
		{"metrics.loss UP", `expected ASC or DESC after metrics.loss, found "UP"`},
		{"metrics.loss DESC extra", `unexpected "extra" at end`},
		{"metrics.loss, params.lr", `expected ASC or DESC after metrics.loss, found ", params.lr"`},
		{"datasets.name", "cannot be ordered by dataset fields"},
		{"attributes.foo", `unknown attribute "foo"`},
		{"`Run name`", `unknown attribute "Run name"`},
		{"foo.bar", `unknown entity type "foo"`},
		{"metrics.`loss", "unterminated quote `"},
	}
	for _, tt := range tests {
		t.Run(tt.clause, func(t *testing.T) {
			_, err := ParseRunOrderBy([]string{"metrics.loss", tt.clause})
			if err == nil {
				t.Fatal("ParseRunOrderBy accepted it")
			}
			checkInvalid(t, err, tt.want)
		})
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		s, pattern string
		fold, want bool
	}{
		{"abc", "abc", false, true},
		{"abc", "ab", false, false},
		{"abc", "a%", false, true},
		{"abc", "%c", false, true},
		{"abc", "%b%", false, true},
		{"abc", "%", false, true},
		{"", "%", false, true},
		{"", "_", false, false},
		{"", "", false, true},
		{"abc", "a_c", false, true},
		{"ac", "a_c", false, false},
		{"abc", "___", false, true},
		{"abc", "____", false, false},
		{"aXbXc", "a%b%c", false, true},
		{"abcbd", "a%bd", false, true},
		{"abcbe", "a%bd", false, false},
		{"a.c", "a.c", false, true},
		{"abc", "a.c", false, false}, // '.' is literal, unlike MLflow's regex translation
		{"ABC", "abc", false, false},
		{"ABC", "abc", true, true},
		{"ÉTÉ", "été", true, true},
		{"été", "_t_", false, true}, // '_' is one character, not one byte
		{"a%b", "a%b", false, true},
		{strings.Repeat("a", 200), strings.Repeat("%a", 50) + "%b", false, false},
	}
	for _, tt := range tests {
		if got := sqlLike(tt.s, tt.pattern, tt.fold); got != tt.want {
			t.Errorf("like(%q, %q, %v) = %v, want %v", tt.s, tt.pattern, tt.fold, got, tt.want)
		}
	}
}

// searchModelVersions are hand-built model versions; the last one is
// deleted the way MLflow's FileStore marks it.
func searchModelVersions() []ModelVersion {
	return []ModelVersion{
		{Name: "clf", Version: "1", CreationTimestamp: 10, LastUpdatedTimestamp: 50, RunID: "r1",
			Source: "s3://b/clf/1", Tags: []Tag{{Key: "stage", Value: "prod"}}},
		{Name: "clf", Version: "2", CreationTimestamp: 20, LastUpdatedTimestamp: 60, RunID: "r2",
			Source: "s3://b/clf/2"},
		{Name: "clf", Version: "10", CreationTimestamp: 30, LastUpdatedTimestamp: 60,
			Source: "file:///x/10", Tags: []Tag{{Key: "stage", Value: "dev"}}},
		{Name: "reg", Version: "1", CreationTimestamp: 5, LastUpdatedTimestamp: 60, RunID: "r1",
			Source: "s3://b/reg/1"},
		{Name: "clf", Version: "3", CreationTimestamp: 40, LastUpdatedTimestamp: 70, RunID: "r1",
			Source: "s3://b/clf/3", CurrentStage: "Deleted_Internal"},
	}
}

func mvIDs(mvs []ModelVersion) []string {
	ids := make([]string, len(mvs))
	for i, mv := range mvs {
		ids[i] = mv.Name + "/" + mv.Version
	}
	return ids
}

func TestModelVersionFilterMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{"", []string{"clf/1", "clf/2", "clf/10", "reg/1"}},
		{"name = 'clf'", []string{"clf/1", "clf/2", "clf/10"}},
		{`name = "reg"`, []string{"reg/1"}},
		{"name != 'clf'", []string{"reg/1"}},
		{"name LIKE 'c%'", []string{"clf/1", "clf/2", "clf/10"}},
		{"name ILIKE 'CLF'", []string{"clf/1", "clf/2", "clf/10"}},
		{"run_id = 'r1'", []string{"clf/1", "reg/1"}},
		{"run_id != 'r1'", []string{"clf/2"}}, // a version without a run matches no run_id clause
		{"run_id IN ('r1', 'r2')", []string{"clf/1", "clf/2", "reg/1"}},
		{"source_path LIKE 's3://%'", []string{"clf/1", "clf/2", "reg/1"}},
		{"version_number > 2", []string{"clf/10"}},
		{"version_number = '2'", []string{"clf/2"}},
		{"version_number <= 1", []string{"clf/1", "reg/1"}},
		{"attribute.name = 'reg'", []string{"reg/1"}},
		{"tags.stage = 'prod'", []string{"clf/1"}},
		{"tag.stage != 'prod'", []string{"clf/10"}},
		{"tags.`stage` LIKE '%d%'", []string{"clf/1", "clf/10"}},
		{"name = 'clf' AND version_number <= 2", []string{"clf/1", "clf/2"}},
		{"name = 'clf' and run_id = 'r1'", []string{"clf/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := ParseModelVersionFilter(tt.filter)
			if err != nil {
				t.Fatalf("ParseModelVersionFilter: %v", err)
			}
			var got []string
			for _, mv := range searchModelVersions() {
				if f.Match(&mv) {
					got = append(got, mv.Name+"/"+mv.Version)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseModelVersionFilterErrors(t *testing.T) {
	tests := []struct {
		filter string
		want   string
	}{
		{"name IN ('a')", "cannot be compared with a list"},
		{"run_id NOT IN ('a')", "comparator NOT IN is not allowed for run_id"},
		{"version_number > 'x'", "version_number needs an integer"},
		{"version_number > 1.5", "version_number needs an integer"},
		{"version_number IN ('1')", "comparator IN is not allowed for version_number"},
		{"version_number LIKE '1'", "comparator LIKE is not allowed for version_number"},
		{"attributes.name = 'x'", `unknown entity type "attributes"`},
		{"metrics.x > 1", `unknown entity type "metrics"`},
		{"status = 'READY'", `unknown attribute "status"`},
		{"creation_timestamp > 1", `unknown attribute "creation_timestamp"`},
		{"name = clf", "value clf after name = is not quoted"},
		{"name = 1", "needs a quoted string value"},
		{"name > 'a'", "comparator > is not allowed for name"},
		{"tags.x IN ('a')", "comparator IN is not allowed for tags"},
		{"name = 'a' OR name = 'b'", "OR is not supported"},
		{"name <> 'a'", `unknown comparator "<>"`},
		{"name = 'a", "unterminated quote"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			_, err := ParseModelVersionFilter(tt.filter)
			if err == nil {
				t.Fatal("ParseModelVersionFilter accepted it")
			}
			checkInvalid(t, err, tt.want)
		})
	}
}

func TestModelVersionOrderSort(t *testing.T) {
	tests := []struct {
		orderBy []string
		want    []string
	}{
		// last_updated_timestamp DESC, name ASC, version_number DESC.
		{nil, []string{"clf/10", "clf/2", "reg/1", "clf/1"}},
		{[]string{"version_number"}, []string{"clf/1", "reg/1", "clf/2", "clf/10"}},
		{[]string{"version_number DESC"}, []string{"clf/10", "clf/2", "clf/1", "reg/1"}},
		{[]string{"name DESC", "version_number ASC"}, []string{"reg/1", "clf/1", "clf/2", "clf/10"}},
		{[]string{"name"}, []string{"clf/10", "clf/2", "clf/1", "reg/1"}},
		{[]string{"creation_timestamp DESC"}, []string{"clf/10", "clf/2", "clf/1", "reg/1"}},
		{[]string{"attribute.last_updated_timestamp"}, []string{"clf/1", "clf/10", "clf/2", "reg/1"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.orderBy, ","), func(t *testing.T) {
			o, err := ParseModelVersionOrderBy(tt.orderBy)
			if err != nil {
				t.Fatalf("ParseModelVersionOrderBy: %v", err)
			}
			mvs := searchModelVersions()[:4]
			o.Sort(mvs)
			if got := mvIDs(mvs); !slices.Equal(got, tt.want) {
				t.Errorf("order %v, want %v", got, tt.want)
			}
			slices.Reverse(mvs)
			o.Sort(mvs)
			if got := mvIDs(mvs); !slices.Equal(got, tt.want) {
				t.Errorf("from reversed input: order %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseModelVersionOrderByErrors(t *testing.T) {
	tests := []struct {
		clause string
		want   string
	}{
		{"", "empty clause"},
		{"tags.stage", "cannot be ordered by tags"},
		{"run_id", `unknown attribute "run_id"`},
		{"name sideways", `expected ASC or DESC after name, found "sideways"`},
		{"metrics.x", `unknown entity type "metrics"`},
	}
	for _, tt := range tests {
		t.Run(tt.clause, func(t *testing.T) {
			_, err := ParseModelVersionOrderBy([]string{tt.clause})
			if err == nil {
				t.Fatal("ParseModelVersionOrderBy accepted it")
			}
			checkInvalid(t, err, tt.want)
		})
	}
}

func TestPageToken(t *testing.T) {
	// MLflow's Python writes base64(json.dumps({"offset": 100})).
	if got, want := encodePageToken(100), "eyJvZmZzZXQiOiAxMDB9"; got != want {
		t.Errorf("encodePageToken(100) = %q, want %q", got, want)
	}
	for _, offset := range []int{1, 2, 100, 1000, 123456789} {
		got, err := decodePageToken(encodePageToken(offset))
		if err != nil || got != offset {
			t.Errorf("decodePageToken(encodePageToken(%d)) = %d, %v", offset, got, err)
		}
	}
	if got, err := decodePageToken(""); got != 0 || err != nil {
		t.Errorf(`decodePageToken("") = %d, %v; want 0, nil`, got, err)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	if got, err := decodePageToken(b64(`{"offset": "7"}`)); got != 7 || err != nil {
		t.Errorf("string offset: got %d, %v; want 7, nil", got, err)
	}
	bad := []struct {
		token, want string
	}{
		{"!!!", "not base64"},
		{"eyJvZmZzZXQiOiAxMDB", "not base64"}, // padding cut off
		{b64("not json"), "is not a JSON object"},
		{b64("[1]"), "is not a JSON object"},
		{b64(`{"x": 1}`), "no offset"},
		{b64(`{"offset": 0}`), "offset 0 is not a positive integer"},
		{b64(`{"offset": -3}`), "offset -3 is not a positive integer"},
		{b64(`{"offset": 1.5}`), "offset 1.5 is not a positive integer"},
		{b64(`{"offset": "abc"}`), "is not a positive integer"},
		{b64(`{"offset": null}`), "is not a positive integer"},
		{b64(`{"offset": 99999999999999999999999}`), "is not a positive integer"},
	}
	for _, tt := range bad {
		_, err := decodePageToken(tt.token)
		if err == nil {
			t.Errorf("decodePageToken(%q) accepted it", tt.token)
			continue
		}
		checkInvalid(t, err, tt.want)
	}
}
