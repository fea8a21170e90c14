package gate

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

func TestLoadExample(t *testing.T) {
	rules, err := Load(filepath.Join("testdata", "gate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Name: "perplexity ceiling", Metric: "perplexity", Max: f(40), Line: 29},
		{Name: "rougeL floor", Metric: "rougeL", Min: f(0.20), Line: 32},
		{Name: "few empty replies", Metric: "empty_share", Max: f(0.02), Line: 35},
		{Name: "rougeL regression", Metric: "rougeL", HigherIsBetter: b(true), MinChange: f(-0.01), Line: 40},
		{Name: "perplexity regression", Metric: "perplexity", HigherIsBetter: b(false), MinRelativeChange: f(-0.05), Line: 44},
	}
	if !reflect.DeepEqual(rules.Rules, want) {
		t.Fatalf("rules =\n%+v\nwant\n%+v", rules.Rules, want)
	}

	prod := map[string]float64{"perplexity": 30, "rougeL": 0.25, "empty_share": 0}
	tests := []struct {
		name      string
		candidate map[string]float64
		baseline  map[string]float64
		blessed   bool
		summary   string
	}{
		{"better on everything", map[string]float64{"perplexity": 29, "rougeL": 0.26, "empty_share": 0.01}, prod, true,
			"blessed: 5 of 5 rules passed"},
		{"within the tolerances", map[string]float64{"perplexity": 31.5, "rougeL": 0.24, "empty_share": 0.02}, prod, true,
			"blessed: 5 of 5 rules passed"},
		{"perplexity 6% worse", map[string]float64{"perplexity": 31.8, "rougeL": 0.25, "empty_share": 0}, prod, false,
			"not blessed: 1 of 5 rules failed: perplexity 31.8 vs baseline 30: relative improvement -6% < -5% (min_relative_change, lower is better)"},
		{"first model", map[string]float64{"perplexity": 41.3, "rougeL": 0.19, "empty_share": 0}, nil, false,
			"not blessed: 2 of 5 rules failed: perplexity 41.3 > 40 (max); rougeL 0.19 < 0.2 (min)"},
		{"first model, good enough", map[string]float64{"perplexity": 35, "rougeL": 0.21, "empty_share": 0}, nil, true,
			"blessed: 3 of 5 rules passed, 2 change rules skipped (no baseline)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rules.Evaluate(tt.candidate, tt.baseline)
			if d.Blessed != tt.blessed || d.Summary != tt.summary || d.HasBaseline != (tt.baseline != nil) || len(d.Results) != 5 {
				t.Errorf("decision = %v %q (has baseline %v, %d results), want %v %q", d.Blessed, d.Summary, d.HasBaseline, len(d.Results), tt.blessed, tt.summary)
			}
		})
	}
}

// TestInvalid loads every file under testdata/invalid; each says on its
// first line, "# want: <error after the file name>", how it must fail.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil || len(files) < 20 {
		t.Fatalf("invalid fixtures: %v, %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("first line %q is not a # want: line", first)
			}
			rules, err := Load(path)
			if err == nil {
				t.Fatalf("loaded %+v, want error %q", rules, path+want)
			}
			if err.Error() != path+want {
				t.Errorf("error\n%s\nwant\n%s", err, path+want)
			}
		})
	}
}

func TestParseNamesTheFile(t *testing.T) {
	_, err := Parse([]byte("rules:\n  - metric: bleu\n"), "inline.yaml")
	if err == nil || err.Error() != "inline.yaml:2: rule 1: bleu: nothing to check: give min/max (value threshold) or min_change/min_relative_change (change threshold)" {
		t.Errorf("error = %v", err)
	}
	if _, err := Load(filepath.Join("testdata", "no-such-gate.yaml")); err == nil || !strings.Contains(err.Error(), "no-such-gate.yaml") {
		t.Errorf("missing file: %v", err)
	}
	// Anchors and aliases are YAML; the rules behind them are checked.
	rules, err := Parse([]byte("rules:\n  - &floor {metric: rougeL, min: 0.2}\n  - *floor\n"), "anchors.yaml")
	if err != nil || len(rules.Rules) != 2 || *rules.Rules[1].Min != 0.2 {
		t.Errorf("anchors: %+v, %v", rules, err)
	}
}

func TestEvaluateRule(t *testing.T) {
	higher, lower := b(true), b(false)
	tests := []struct {
		name      string
		rule      Rule
		candidate map[string]float64
		baseline  map[string]float64
		passed    bool
		skipped   bool
		reason    string
	}{
		// Value thresholds, inclusive.
		{"min above", Rule{Metric: "rougeL", Min: f(0.2)}, m("rougeL", 0.214), nil, true, false, "rougeL 0.214 >= 0.2 (min)"},
		{"min at", Rule{Metric: "rougeL", Min: f(0.2)}, m("rougeL", 0.2), nil, true, false, "rougeL 0.2 >= 0.2 (min)"},
		{"min just below", Rule{Metric: "rougeL", Min: f(0.2)}, m("rougeL", 0.19999), nil, false, false, "rougeL 0.19999 < 0.2 (min)"},
		{"max below", Rule{Metric: "perplexity", Max: f(40)}, m("perplexity", 39.2), nil, true, false, "perplexity 39.2 <= 40 (max)"},
		{"max at", Rule{Metric: "perplexity", Max: f(40)}, m("perplexity", 40), nil, true, false, "perplexity 40 <= 40 (max)"},
		{"max above", Rule{Metric: "perplexity", Max: f(40)}, m("perplexity", 41.3), nil, false, false, "perplexity 41.3 > 40 (max)"},
		{"max, infinite", Rule{Metric: "perplexity", Max: f(40)}, m("perplexity", math.Inf(1)), nil, false, false, "perplexity +Inf > 40 (max)"},
		{"range inside", Rule{Metric: "avg_reply_tokens", Min: f(5), Max: f(60)}, m("avg_reply_tokens", 23.456), nil, true, false, "avg_reply_tokens 23.46 in [5, 60]"},
		{"range at the top", Rule{Metric: "avg_reply_tokens", Min: f(5), Max: f(60)}, m("avg_reply_tokens", 60), nil, true, false, "avg_reply_tokens 60 in [5, 60]"},
		{"range below", Rule{Metric: "avg_reply_tokens", Min: f(5), Max: f(60)}, m("avg_reply_tokens", 4), nil, false, false, "avg_reply_tokens 4 < 5 (min)"},
		{"range above", Rule{Metric: "avg_reply_tokens", Min: f(5), Max: f(60)}, m("avg_reply_tokens", 61), nil, false, false, "avg_reply_tokens 61 > 60 (max)"},
		{"value rule ignores the baseline", Rule{Metric: "bleu", Min: f(10)}, m("bleu", 12), m("bleu", 30), true, false, "bleu 12 >= 10 (min)"},

		// Absolute change, higher is better.
		{"abs higher, gain", Rule{Metric: "rougeL", HigherIsBetter: higher, MinChange: f(-0.01)}, m("rougeL", 0.25), m("rougeL", 0.24), true, false,
			"rougeL 0.25 vs baseline 0.24: improvement 0.01 >= -0.01 (min_change, higher is better)"},
		// 0.30 - 0.31 is -0.010000000000000009 in binary: still at the threshold.
		{"abs higher, at tolerance", Rule{Metric: "rougeL", HigherIsBetter: higher, MinChange: f(-0.01)}, m("rougeL", 0.30), m("rougeL", 0.31), true, false,
			"rougeL 0.3 vs baseline 0.31: improvement -0.01 >= -0.01 (min_change, higher is better)"},
		{"abs higher, beyond tolerance", Rule{Metric: "rougeL", HigherIsBetter: higher, MinChange: f(-0.01)}, m("rougeL", 0.2999), m("rougeL", 0.31), false, false,
			"rougeL 0.2999 vs baseline 0.31: improvement -0.0101 < -0.01 (min_change, higher is better)"},
		{"abs higher, demands a gain", Rule{Metric: "bleu", HigherIsBetter: higher, MinChange: f(0.5)}, m("bleu", 20.4), m("bleu", 20), false, false,
			"bleu 20.4 vs baseline 20: improvement 0.4 < 0.5 (min_change, higher is better)"},
		// Absolute change, lower is better: the improvement is baseline - candidate.
		{"abs lower, gain", Rule{Metric: "perplexity", HigherIsBetter: lower, MinChange: f(0)}, m("perplexity", 29), m("perplexity", 30), true, false,
			"perplexity 29 vs baseline 30: improvement 1 >= 0 (min_change, lower is better)"},
		{"abs lower, at tolerance", Rule{Metric: "perplexity", HigherIsBetter: lower, MinChange: f(-1)}, m("perplexity", 31), m("perplexity", 30), true, false,
			"perplexity 31 vs baseline 30: improvement -1 >= -1 (min_change, lower is better)"},
		{"abs lower, beyond tolerance", Rule{Metric: "perplexity", HigherIsBetter: lower, MinChange: f(-1)}, m("perplexity", 31.01), m("perplexity", 30), false, false,
			"perplexity 31.01 vs baseline 30: improvement -1.01 < -1 (min_change, lower is better)"},
		{"abs lower, not worse, equal", Rule{Metric: "empty_share", HigherIsBetter: lower, MinChange: f(0)}, m("empty_share", 0.1), m("empty_share", 0.1), true, false,
			"empty_share 0.1 vs baseline 0.1: improvement 0 >= 0 (min_change, lower is better)"},

		// Relative change, higher is better.
		{"rel higher, at tolerance", Rule{Metric: "bleu", HigherIsBetter: higher, MinRelativeChange: f(-0.05)}, m("bleu", 19), m("bleu", 20), true, false,
			"bleu 19 vs baseline 20: relative improvement -5% >= -5% (min_relative_change, higher is better)"},
		{"rel higher, beyond tolerance", Rule{Metric: "bleu", HigherIsBetter: higher, MinRelativeChange: f(-0.05)}, m("bleu", 18.9), m("bleu", 20), false, false,
			"bleu 18.9 vs baseline 20: relative improvement -5.5% < -5% (min_relative_change, higher is better)"},
		{"rel higher, demands a gain", Rule{Metric: "rougeL", HigherIsBetter: higher, MinRelativeChange: f(0.1)}, m("rougeL", 0.33), m("rougeL", 0.3), true, false,
			"rougeL 0.33 vs baseline 0.3: relative improvement 10% >= 10% (min_relative_change, higher is better)"},
		// Relative change, lower is better.
		{"rel lower, at tolerance", Rule{Metric: "perplexity", HigherIsBetter: lower, MinRelativeChange: f(-0.05)}, m("perplexity", 31.5), m("perplexity", 30), true, false,
			"perplexity 31.5 vs baseline 30: relative improvement -5% >= -5% (min_relative_change, lower is better)"},
		{"rel lower, beyond tolerance", Rule{Metric: "perplexity", HigherIsBetter: lower, MinRelativeChange: f(-0.05)}, m("perplexity", 31.51), m("perplexity", 30), false, false,
			"perplexity 31.51 vs baseline 30: relative improvement -5.033% < -5% (min_relative_change, lower is better)"},
		{"rel lower, gain", Rule{Metric: "perplexity", HigherIsBetter: lower, MinRelativeChange: f(0)}, m("perplexity", 27), m("perplexity", 30), true, false,
			"perplexity 27 vs baseline 30: relative improvement 10% >= 0% (min_relative_change, lower is better)"},
		{"rel lower, infinite candidate", Rule{Metric: "perplexity", HigherIsBetter: lower, MinRelativeChange: f(-0.05)}, m("perplexity", math.Inf(1)), m("perplexity", 30), false, false,
			"perplexity +Inf vs baseline 30: relative improvement -Inf% < -5% (min_relative_change, lower is better)"},

		// A baseline of 0: no change is 0%, any change is ±Inf%.
		{"rel, zero baseline, equal", Rule{Metric: "empty_share", HigherIsBetter: lower, MinRelativeChange: f(0)}, m("empty_share", 0), m("empty_share", 0), true, false,
			"empty_share 0 vs baseline 0: relative improvement 0% >= 0% (min_relative_change, lower is better)"},
		{"rel, zero baseline, equal but a gain demanded", Rule{Metric: "empty_share", HigherIsBetter: lower, MinRelativeChange: f(0.01)}, m("empty_share", 0), m("empty_share", 0), false, false,
			"empty_share 0 vs baseline 0: relative improvement 0% < 1% (min_relative_change, lower is better)"},
		{"rel, zero baseline, worse", Rule{Metric: "empty_share", HigherIsBetter: lower, MinRelativeChange: f(-0.5)}, m("empty_share", 0.001), m("empty_share", 0), false, false,
			"empty_share 0.001 vs baseline 0: relative improvement -Inf% < -50% (min_relative_change, lower is better)"},
		{"rel, zero baseline, better", Rule{Metric: "bleu", HigherIsBetter: higher, MinRelativeChange: f(0.5)}, m("bleu", 0.1), m("bleu", 0), true, false,
			"bleu 0.1 vs baseline 0: relative improvement +Inf% >= 50% (min_relative_change, higher is better)"},

		// No baseline, or none for this metric: change rules are skipped.
		{"no baseline", Rule{Metric: "rougeL", HigherIsBetter: higher, MinChange: f(0)}, m("rougeL", 0.2), nil, false, true, "skipped: no baseline"},
		{"baseline lacks the metric", Rule{Metric: "perplexity", HigherIsBetter: lower, MinChange: f(0)}, m("perplexity", 30), m("rougeL", 0.2), false, true,
			"skipped: the baseline has no perplexity"},

		// What cannot be measured fails.
		{"candidate lacks the metric", Rule{Metric: "perplexity", Max: f(40)}, m("rougeL", 0.2), nil, false, false, "perplexity missing from the candidate's metrics"},
		{"candidate lacks it, no baseline", Rule{Metric: "perplexity", HigherIsBetter: lower, MinChange: f(0)}, m("rougeL", 0.2), nil, false, false,
			"perplexity missing from the candidate's metrics"},
		{"NaN candidate, value", Rule{Metric: "perplexity", Max: f(40)}, m("perplexity", math.NaN()), nil, false, false, "perplexity is NaN"},
		{"NaN candidate, change", Rule{Metric: "perplexity", HigherIsBetter: lower, MinChange: f(0)}, m("perplexity", math.NaN()), m("perplexity", 30), false, false, "perplexity is NaN"},
		{"NaN baseline", Rule{Metric: "perplexity", HigherIsBetter: lower, MinChange: f(0)}, m("perplexity", 30), m("perplexity", math.NaN()), false, false,
			"perplexity of the baseline is NaN: no change can be measured against it"},
		{"infinite baseline", Rule{Metric: "perplexity", HigherIsBetter: lower, MinRelativeChange: f(0)}, m("perplexity", 30), m("perplexity", math.Inf(1)), false, false,
			"perplexity of the baseline is +Inf: no change can be measured against it"},
		{"invalid rule", Rule{Metric: "rougeL", MinChange: f(0)}, m("rougeL", 0.3), m("rougeL", 0.2), false, false,
			"invalid rule: rougeL: a change threshold needs higher_is_better: true or false"},
		{"NaN threshold", Rule{Metric: "rougeL", Min: f(math.NaN())}, m("rougeL", 0.3), nil, false, false,
			"invalid rule: rougeL: min is NaN, want a finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := &Rules{Rules: []Rule{tt.rule}}
			d := rules.Evaluate(tt.candidate, tt.baseline)
			if len(d.Results) != 1 {
				t.Fatalf("%d results", len(d.Results))
			}
			r := d.Results[0]
			if r.Passed != tt.passed || r.Skipped != tt.skipped || r.Reason != tt.reason {
				t.Errorf("passed %v skipped %v %q\nwant   %v skipped %v %q", r.Passed, r.Skipped, r.Reason, tt.passed, tt.skipped, tt.reason)
			}
			if d.Blessed != (tt.passed || tt.skipped) {
				t.Errorf("blessed %v with one rule passed %v, skipped %v", d.Blessed, tt.passed, tt.skipped)
			}
			if v, ok := tt.baseline[tt.rule.Metric]; ok && tt.rule.isChange() && !math.IsNaN(r.Candidate) {
				if r.Baseline == nil || !(*r.Baseline == v || math.IsNaN(v) && math.IsNaN(*r.Baseline)) {
					t.Errorf("result baseline %v, want %v", r.Baseline, v)
				}
			} else if r.Baseline != nil {
				t.Errorf("result baseline %v, want none", *r.Baseline)
			}
		})
	}
}

func m(metric string, v float64) map[string]float64 { return map[string]float64{metric: v} }

func TestDefault(t *testing.T) {
	def := Default()
	for _, r := range def.Rules {
		if err := r.Validate(); err != nil {
			t.Errorf("default rule %v: %v", r, err)
		}
	}
	prod := map[string]float64{"rougeL": 0.25, "perplexity": 30}
	tests := []struct {
		name      string
		candidate map[string]float64
		baseline  map[string]float64
		blessed   bool
	}{
		{"same as production", map[string]float64{"rougeL": 0.25, "perplexity": 30}, prod, true},
		{"better", map[string]float64{"rougeL": 0.26, "perplexity": 29}, prod, true},
		{"rougeL slightly worse", map[string]float64{"rougeL": 0.2499, "perplexity": 29}, prod, false},
		{"perplexity slightly worse", map[string]float64{"rougeL": 0.3, "perplexity": 30.01}, prod, false},
		{"first model", map[string]float64{"rougeL": 0.01, "perplexity": 900}, nil, true},
		{"retrieval baseline: no perplexity", map[string]float64{"rougeL": 0.26, "perplexity": 30}, map[string]float64{"rougeL": 0.2}, true},
		{"candidate without perplexity", map[string]float64{"rougeL": 0.26}, prod, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := def.Evaluate(tt.candidate, tt.baseline); d.Blessed != tt.blessed {
				t.Errorf("blessed %v, want %v: %s", d.Blessed, tt.blessed, d.Summary)
			}
		})
	}
	if d := def.Evaluate(map[string]float64{"rougeL": 0.3, "perplexity": 20}, nil); d.Summary != "blessed: 0 of 2 rules passed, 2 change rules skipped (no baseline)" {
		t.Errorf("summary without baseline: %q", d.Summary)
	}
}

func TestNoRulesNeverBless(t *testing.T) {
	for _, r := range []*Rules{nil, {}} {
		if d := r.Evaluate(m("rougeL", 1), nil); d.Blessed || d.Summary != "not blessed: the gate has no rules" {
			t.Errorf("%+v: %+v", r, d)
		}
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		rule Rule
		want string
	}{
		{Rule{Metric: "rougeL", Min: f(0.2)}, "rougeL >= 0.2"},
		{Rule{Name: "ceiling", Metric: "perplexity", Max: f(40)}, "ceiling: perplexity <= 40"},
		{Rule{Metric: "avg_reply_tokens", Min: f(5), Max: f(60)}, "5 <= avg_reply_tokens <= 60"},
		{Rule{Metric: "rougeL", HigherIsBetter: b(true), MinChange: f(-0.01)}, "rougeL: improvement >= -0.01 vs baseline (higher is better)"},
		{Rule{Metric: "perplexity", HigherIsBetter: b(false), MinRelativeChange: f(-0.05)}, "perplexity: relative improvement >= -5% vs baseline (lower is better)"},
	}
	for _, tt := range tests {
		if got := tt.rule.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.rule, got, tt.want)
		}
	}
}

// TestDecisionJSON checks that a decision with NaN and infinite values,
// which encoding/json refuses as numbers, still writes and reads back.
func TestDecisionJSON(t *testing.T) {
	rules, err := Load(filepath.Join("testdata", "gate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	d := rules.Evaluate(map[string]float64{"perplexity": math.Inf(1), "rougeL": math.NaN()}, map[string]float64{"perplexity": 30, "rougeL": 0.2})
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"candidate":"Infinity"`, `"candidate":"NaN"`, `"baseline":30`, `"higher_is_better":false`, `"has_baseline":true`, `"candidate":"NaN","passed":false,"reason":"empty_share missing from the candidate's metrics"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s:\n%s", want, data)
		}
	}
	var back Decision
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Blessed || back.Summary != d.Summary || len(back.Results) != len(d.Results) {
		t.Fatalf("read back %+v", back)
	}
	for i, r := range back.Results {
		w := d.Results[i]
		if r.Reason != w.Reason || !reflect.DeepEqual(r.Rule, w.Rule) || !sameFloat(r.Candidate, w.Candidate) ||
			(r.Baseline == nil) != (w.Baseline == nil) || (r.Baseline != nil && !sameFloat(*r.Baseline, *w.Baseline)) {
			t.Errorf("result %d read back as %+v, want %+v", i, r, w)
		}
	}
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
