package tracking

import (
	"errors"
	"strings"
	"testing"
)

// checkFuzzError fails unless err is the *Error the parsers promise.
func checkFuzzError(t *testing.T, input string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidParameterValue {
		t.Fatalf("parsing %q: error %v is not an INVALID_PARAMETER_VALUE *Error", input, err)
	}
	if strings.Contains(e.Message, "\n") {
		t.Fatalf("parsing %q: message %q spans lines", input, e.Message)
	}
}

func FuzzParseRunFilter(f *testing.F) {
	for _, seed := range []string{
		"",
		"metrics.loss < 0.5 and params.lr = '0.01'",
		"tags.`mlflow.runName` ILIKE '%a_' AND attributes.status != 'FAILED'",
		`tags."k" LIKE "x%"`,
		"run_id NOT IN ('a1', 'b2') and created >= 100",
		"attributes.`Run name` = 'beta' and end_time < -1e3",
		"datasets.context IN ('training') and dataset.digest = 'd1'",
		"metrics.loss <> 2",
		"params.lr = 'it''s' OR x",
		"metrics.loss DESC",
		"run_id IN ('a',",
	} {
		f.Add(seed)
	}
	runs := searchRuns()
	f.Fuzz(func(t *testing.T, filter string) {
		flt, err := ParseRunFilter(filter)
		if err != nil {
			checkFuzzError(t, filter, err)
		} else {
			for _, r := range runs {
				flt.Match(r)
			}
			flt.Match(&Run{})
		}
		// The same text as an order_by clause exercises the shared scanner.
		o, err := ParseRunOrderBy([]string{filter})
		if err != nil {
			checkFuzzError(t, filter, err)
			return
		}
		sorted := searchRuns()
		o.Sort(sorted)
		if len(sorted) != len(runs) {
			t.Fatalf("Sort changed the number of runs to %d", len(sorted))
		}
	})
}

func FuzzParseModelVersionFilter(f *testing.F) {
	for _, seed := range []string{
		"",
		"name = 'clf' AND version_number > 2",
		"run_id IN ('r1', 'r2') and tags.stage LIKE 'pro%'",
		"source_path ILIKE 'S3://%' and attribute.name != \"x\"",
		"version_number = '10'",
		"name IN ('a')",
		"version_number DESC",
	} {
		f.Add(seed)
	}
	mvs := searchModelVersions()
	f.Fuzz(func(t *testing.T, filter string) {
		flt, err := ParseModelVersionFilter(filter)
		if err != nil {
			checkFuzzError(t, filter, err)
		} else {
			for i := range mvs {
				flt.Match(&mvs[i])
			}
			flt.Match(&ModelVersion{})
		}
		o, err := ParseModelVersionOrderBy([]string{filter})
		if err != nil {
			checkFuzzError(t, filter, err)
			return
		}
		sorted := searchModelVersions()
		o.Sort(sorted)
		if len(sorted) != len(mvs) {
			t.Fatalf("Sort changed the number of model versions to %d", len(sorted))
		}
	})
}
