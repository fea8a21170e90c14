// Package gate decides whether a candidate model may be promoted, in
// the spirit of TFX's model validation: value thresholds on the
// candidate's metrics and change thresholds against a baseline (the
// model in production).
//
// The rules are written in YAML (see testdata/gate.yaml):
//
//	rules:
//	  - name: perplexity ceiling   # optional; names the rule in reports
//	    metric: perplexity
//	    max: 40                    # value threshold: candidate <= 40
//	  - metric: rougeL
//	    min: 0.20                  # value threshold: candidate >= 0.20
//	  - metric: rougeL
//	    higher_is_better: true     # change threshold against the baseline
//	    min_change: -0.01          # candidate - baseline >= -0.01
//	  - metric: perplexity
//	    higher_is_better: false
//	    min_relative_change: -0.05 # (baseline - candidate)/baseline >= -0.05
//
// A rule checks one metric (see KnownMetrics) in one of two ways:
//
//   - A value threshold gives min, max or both; bounds are inclusive.
//   - A change threshold gives higher_is_better and exactly one of
//     min_change (absolute) or min_relative_change (relative to the
//     baseline's value). Both measure the improvement, the change in
//     the better direction: the candidate's value minus the baseline's
//     when higher is better, the reverse when lower is better. The
//     threshold is the least improvement accepted, inclusive: 0 means
//     "not worse", -0.01 tolerates a regression of 0.01, 0.01 demands
//     a gain. The relative improvement is divided by |baseline|; a
//     baseline of 0 makes it 0 when the candidate equals the baseline
//     and ±Inf otherwise, so a relative rule tolerates no regression
//     from 0: gate such metrics with min_change.
//
// A rule does one of the two; unknown keys, a rule that checks nothing
// or mixes both kinds, a change threshold without higher_is_better and
// an unknown metric are errors reported with the file and line.
//
// Evaluate applies the rules. Without a baseline the change rules are
// skipped and the value rules still apply, as in TFX, so the first model
// of a registered model is blessed when it passes the value rules. A
// change rule whose metric the baseline lacks (a retrieval baseline has
// no perplexity) is skipped too. A metric missing from the candidate, or
// NaN on either side, fails its rule. The candidate is blessed when no
// rule failed.
package gate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nebras-ai/nebras/internal/yamlnode"
)

// KnownMetrics returns the metric names a rule may check, as `nebras
// eval` writes them: corpus BLEU (0-100), the ROUGE F-measures (0-1),
// perplexity and the tokens it was measured on, distinct-n, the shares
// of empty replies and of replies cut at the token limit, and the mean
// reply length in tokens.
func KnownMetrics() []string {
	return []string{
		"bleu", "rouge1", "rouge2", "rougeL", "rougeLsum",
		"perplexity", "perplexity_tokens", "distinct1", "distinct2",
		"empty_share", "max_tokens_share", "avg_reply_tokens",
	}
}

// Rules is a gate: the rules a candidate must pass to be blessed.
type Rules struct {
	Rules []Rule `json:"rules"`
}

// Rule is one check of one metric: a value threshold (Min, Max) or a
// change threshold (HigherIsBetter with MinChange or MinRelativeChange).
// Thresholds are finite; nil means not given.
type Rule struct {
	// Name labels the rule in reports; optional.
	Name   string `json:"name,omitempty"`
	Metric string `json:"metric"`
	// Min and Max bound the candidate's value, inclusive.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// HigherIsBetter gives a change threshold its direction.
	HigherIsBetter *bool `json:"higher_is_better,omitempty"`
	// MinChange is the least absolute improvement over the baseline.
	MinChange *float64 `json:"min_change,omitempty"`
	// MinRelativeChange is the least improvement over the baseline as a
	// fraction of |baseline|.
	MinRelativeChange *float64 `json:"min_relative_change,omitempty"`
	// Line is where the rule starts in its file; 0 for rules built in
	// code.
	Line int `json:"line,omitempty"`
}

// Decision is the gate's verdict on a candidate.
type Decision struct {
	// Blessed is true when no rule failed.
	Blessed bool `json:"blessed"`
	// HasBaseline is false when there was nothing to compare with, and
	// the change rules were skipped.
	HasBaseline bool     `json:"has_baseline"`
	Results     []Result `json:"results"`
	// Summary is one line for logs and banners.
	Summary string `json:"summary"`
}

// Result is one rule's outcome. Candidate is NaN when the candidate
// lacks the metric; Baseline is nil when a change rule had no baseline
// value, and for value rules.
type Result struct {
	Rule      Rule
	Metric    string
	Candidate float64
	Baseline  *float64
	// Passed and Skipped are both false for a failed rule.
	Passed, Skipped bool
	// Reason is one line, e.g. "perplexity 41.3 > 40 (max)".
	Reason string
}

// Default returns the gate used when none is given: the candidate must
// not be worse than the baseline on rougeL (absolute, tolerance 0) nor
// on perplexity (relative, tolerance 0). These are the two metrics that
// measure reply quality and language modelling directly; evaluation is
// deterministic on a fixed test split, so any regression is real and
// the gate refuses it. Having no value rules, it blesses the first
// model of a registered model, which has nothing to be compared with.
func Default() *Rules {
	zero := func() *float64 { v := 0.0; return &v }
	flag := func(b bool) *bool { return &b }
	return &Rules{Rules: []Rule{
		{Name: "rougeL not worse", Metric: "rougeL", HigherIsBetter: flag(true), MinChange: zero()},
		{Name: "perplexity not worse", Metric: "perplexity", HigherIsBetter: flag(false), MinRelativeChange: zero()},
	}}
}

// Load reads and checks the rules in a gate.yaml file.
func Load(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gate rules: %w", err)
	}
	return Parse(data, path)
}

// Parse reads and checks rules written in YAML; name is the file name
// that error messages start with.
func Parse(data []byte, name string) (*Rules, error) {
	doc, err := yamlnode.Decode(data, name, "the rules")
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, fmt.Errorf("%s: empty file: want a rules list", name)
	}
	p := parser{file: name}
	rules, err := p.document(doc)
	if err != nil {
		return nil, err
	}
	return rules, nil
}

// ParseNode checks rules already parsed as YAML inside a larger file
// (a pipeline config): n is the mapping that holds the rules key, and
// errors start with name and the line in that file.
func ParseNode(n *yaml.Node, name string) (*Rules, error) {
	return parser{file: name}.document(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}})
}

// parser walks the YAML node tree, so that every error can name a line.
type parser struct {
	file string
}

func (p parser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (p parser) document(doc *yaml.Node) (*Rules, error) {
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file: want a rules list", p.file)
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, p.errorf(root.Line, "want a mapping with a rules key, got %s", yamlnode.Describe(root))
	}
	var key, list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		switch {
		case k.Value != "rules":
			return nil, p.errorf(k.Line, "unknown key %q (known: rules)", k.Value)
		case list != nil:
			return nil, p.errorf(k.Line, "rules given twice")
		}
		key, list = k, v
	}
	if list == nil {
		return nil, p.errorf(root.Line, "no rules key")
	}
	if list.Kind != yaml.SequenceNode {
		return nil, p.errorf(key.Line, "rules: want a list of rules, got %s", yamlnode.Describe(list))
	}
	if len(list.Content) == 0 {
		return nil, p.errorf(key.Line, "rules is empty: a gate must check something")
	}
	out := &Rules{}
	names := map[string]int{}
	for i, item := range list.Content {
		r, err := p.rule(deref(item), i+1)
		if err != nil {
			return nil, err
		}
		if r.Name != "" {
			if first, dup := names[r.Name]; dup {
				return nil, p.errorf(r.Line, "rule %d: name %q is already used by the rule on line %d", i+1, r.Name, first)
			}
			names[r.Name] = r.Line
		}
		out.Rules = append(out.Rules, r)
	}
	return out, nil
}

// ruleKeys are the keys a rule may have, as errors list them.
const ruleKeys = "name, metric, min, max, higher_is_better, min_change, min_relative_change"

func (p parser) rule(n *yaml.Node, idx int) (Rule, error) {
	r := Rule{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return r, p.errorf(n.Line, "rule %d: want a mapping of %s, got %s", idx, ruleKeys, yamlnode.Describe(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if seen[k.Value] {
			return r, p.errorf(k.Line, "rule %d: %s given twice", idx, k.Value)
		}
		seen[k.Value] = true
		var err error
		switch k.Value {
		case "name":
			r.Name, err = p.str(v)
		case "metric":
			r.Metric, err = p.str(v)
		case "min":
			r.Min, err = p.number(v)
		case "max":
			r.Max, err = p.number(v)
		case "min_change":
			r.MinChange, err = p.number(v)
		case "min_relative_change":
			r.MinRelativeChange, err = p.number(v)
		case "higher_is_better":
			r.HigherIsBetter, err = p.boolean(v)
		default:
			return r, p.errorf(k.Line, "rule %d: unknown key %q (known: %s)", idx, k.Value, ruleKeys)
		}
		if err != nil {
			return r, p.errorf(v.Line, "rule %d: %s: %v", idx, k.Value, err)
		}
	}
	if err := r.Validate(); err != nil {
		return r, p.errorf(r.Line, "rule %d: %v", idx, err)
	}
	return r, nil
}

func (p parser) str(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", fmt.Errorf("want a string, got %s", yamlnode.Describe(n))
	}
	return n.Value, nil
}

func (p parser) number(n *yaml.Node) (*float64, error) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		return nil, fmt.Errorf("want a number, got %s", yamlnode.Describe(n))
	}
	var v float64
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("want a number: %w", err)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("want a finite number, got %s", n.Value)
	}
	return &v, nil
}

func (p parser) boolean(n *yaml.Node) (*bool, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return nil, fmt.Errorf("want true or false, got %s", yamlnode.Describe(n))
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("want true or false: %w", err)
	}
	return &v, nil
}

// isChange tells a change threshold from a value threshold.
func (r Rule) isChange() bool { return r.MinChange != nil || r.MinRelativeChange != nil }

// Validate reports what makes a rule unusable: an unknown metric,
// nothing to check, both kinds of threshold, both absolute and relative
// change, a change threshold without a direction, a direction without
// one, a non-finite threshold, or min above max.
func (r Rule) Validate() error {
	if r.Metric == "" {
		return errors.New("no metric")
	}
	if known := KnownMetrics(); !slices.Contains(known, r.Metric) {
		for _, m := range known {
			if strings.EqualFold(m, r.Metric) {
				return fmt.Errorf("unknown metric %q (did you mean %q?)", r.Metric, m)
			}
		}
		return fmt.Errorf("unknown metric %q (known: %s)", r.Metric, strings.Join(known, ", "))
	}
	value := r.Min != nil || r.Max != nil
	switch {
	case !value && !r.isChange():
		return fmt.Errorf("%s: nothing to check: give min/max (value threshold) or min_change/min_relative_change (change threshold)", r.Metric)
	case value && r.isChange():
		return fmt.Errorf("%s: mixes a value threshold (min/max) with a change threshold (min_change/min_relative_change); write them as two rules", r.Metric)
	case r.MinChange != nil && r.MinRelativeChange != nil:
		return fmt.Errorf("%s: both min_change and min_relative_change; a change threshold is absolute or relative, not both", r.Metric)
	case r.isChange() && r.HigherIsBetter == nil:
		return fmt.Errorf("%s: a change threshold needs higher_is_better: true or false", r.Metric)
	case !r.isChange() && r.HigherIsBetter != nil:
		return fmt.Errorf("%s: higher_is_better applies only to change thresholds (min_change/min_relative_change)", r.Metric)
	}
	for _, t := range []struct {
		key string
		v   *float64
	}{{"min", r.Min}, {"max", r.Max}, {"min_change", r.MinChange}, {"min_relative_change", r.MinRelativeChange}} {
		if t.v != nil && (math.IsNaN(*t.v) || math.IsInf(*t.v, 0)) {
			return fmt.Errorf("%s: %s is %v, want a finite number", r.Metric, t.key, *t.v)
		}
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		return fmt.Errorf("%s: min %s > max %s: no value can pass", r.Metric, num(*r.Min), num(*r.Max))
	}
	return nil
}

// String describes the rule in one line, e.g. "rougeL >= 0.2" or
// "perplexity: relative improvement >= -5% vs baseline (lower is
// better)", after its name if it has one.
func (r Rule) String() string {
	var s string
	switch {
	case r.Min != nil && r.Max != nil:
		s = fmt.Sprintf("%s <= %s <= %s", num(*r.Min), r.Metric, num(*r.Max))
	case r.Min != nil:
		s = fmt.Sprintf("%s >= %s", r.Metric, num(*r.Min))
	case r.Max != nil:
		s = fmt.Sprintf("%s <= %s", r.Metric, num(*r.Max))
	case r.MinChange != nil:
		s = fmt.Sprintf("%s: improvement >= %s vs baseline (%s)", r.Metric, num(*r.MinChange), direction(r.HigherIsBetter))
	case r.MinRelativeChange != nil:
		s = fmt.Sprintf("%s: relative improvement >= %s%% vs baseline (%s)", r.Metric, num(100**r.MinRelativeChange), direction(r.HigherIsBetter))
	default:
		s = r.Metric + ": nothing to check"
	}
	if r.Name != "" {
		return r.Name + ": " + s
	}
	return s
}

func direction(higher *bool) string {
	switch {
	case higher == nil:
		return "no direction"
	case *higher:
		return "higher is better"
	}
	return "lower is better"
}

// roundingSlack is the relative error a computed change may carry. The
// change is a difference of binary floats, so a candidate exactly at the
// tolerance in decimal can land an ulp beyond it (0.30 - 0.31 is
// -0.010000000000000009); thresholds are inclusive as written.
const roundingSlack = 1e-9

// Evaluate applies the rules to the candidate's metrics, against the
// baseline's when baseline is not nil.
func (r *Rules) Evaluate(candidate, baseline map[string]float64) Decision {
	d := Decision{HasBaseline: baseline != nil}
	if r == nil || len(r.Rules) == 0 {
		d.Summary = "not blessed: the gate has no rules"
		return d
	}
	var failed []string
	passed, skipped := 0, 0
	for _, rule := range r.Rules {
		res := rule.evaluate(candidate, baseline)
		switch {
		case res.Passed:
			passed++
		case res.Skipped:
			skipped++
		default:
			failed = append(failed, res.Reason)
		}
		d.Results = append(d.Results, res)
	}
	n := len(r.Rules)
	if len(failed) > 0 {
		d.Summary = fmt.Sprintf("not blessed: %d of %d rules failed: %s", len(failed), n, strings.Join(failed, "; "))
		return d
	}
	d.Blessed = true
	d.Summary = fmt.Sprintf("blessed: %d of %d rules passed", passed, n)
	switch {
	case skipped > 0 && baseline == nil:
		d.Summary += fmt.Sprintf(", %d change rules skipped (no baseline)", skipped)
	case skipped > 0:
		d.Summary += fmt.Sprintf(", %d change rules skipped (metric missing from the baseline)", skipped)
	}
	return d
}

func (r Rule) evaluate(candidate, baseline map[string]float64) Result {
	res := Result{Rule: r, Metric: r.Metric, Candidate: math.NaN()}
	if err := r.Validate(); err != nil {
		res.Reason = "invalid rule: " + err.Error()
		return res
	}
	c, ok := candidate[r.Metric]
	if !ok {
		res.Reason = fmt.Sprintf("%s missing from the candidate's metrics", r.Metric)
		return res
	}
	res.Candidate = c
	if math.IsNaN(c) {
		res.Reason = fmt.Sprintf("%s is NaN", r.Metric)
		return res
	}
	if !r.isChange() {
		return r.checkValue(res)
	}
	if baseline == nil {
		res.Skipped = true
		res.Reason = "skipped: no baseline"
		return res
	}
	b, ok := baseline[r.Metric]
	if !ok {
		res.Skipped = true
		res.Reason = fmt.Sprintf("skipped: the baseline has no %s", r.Metric)
		return res
	}
	res.Baseline = &b
	if math.IsNaN(b) || math.IsInf(b, 0) {
		res.Reason = fmt.Sprintf("%s of the baseline is %v: no change can be measured against it", r.Metric, b)
		return res
	}
	return r.checkChange(res, c, b)
}

func (r Rule) checkValue(res Result) Result {
	c := res.Candidate
	switch {
	case r.Min != nil && c < *r.Min:
		cs, ts := pair(c, *r.Min)
		res.Reason = fmt.Sprintf("%s %s < %s (min)", r.Metric, cs, ts)
	case r.Max != nil && c > *r.Max:
		cs, ts := pair(c, *r.Max)
		res.Reason = fmt.Sprintf("%s %s > %s (max)", r.Metric, cs, ts)
	default:
		res.Passed = true
		switch {
		case r.Min != nil && r.Max != nil:
			cs, lo := pair(c, *r.Min)
			_, hi := pair(c, *r.Max)
			res.Reason = fmt.Sprintf("%s %s in [%s, %s]", r.Metric, cs, lo, hi)
		case r.Min != nil:
			cs, ts := pair(c, *r.Min)
			res.Reason = fmt.Sprintf("%s %s >= %s (min)", r.Metric, cs, ts)
		default:
			cs, ts := pair(c, *r.Max)
			res.Reason = fmt.Sprintf("%s %s <= %s (max)", r.Metric, cs, ts)
		}
	}
	return res
}

func (r Rule) checkChange(res Result, c, b float64) Result {
	sign := 1.0
	if !*r.HigherIsBetter {
		sign = -1
	}
	gain := sign * (c - b)
	var change, threshold, slack float64
	finite := !math.IsInf(c, 0)
	key, unit, scale := "min_change", "", 1.0
	if r.MinRelativeChange != nil {
		key, unit, scale = "min_relative_change", "%", 100
		threshold = *r.MinRelativeChange
		switch {
		case c == b:
			change = 0
		case b == 0:
			change = math.Inf(int(math.Copysign(1, gain)))
		default:
			change = gain / math.Abs(b)
			if finite {
				slack = roundingSlack * math.Max(math.Abs(c), math.Abs(b)) / math.Abs(b)
			}
		}
	} else {
		threshold = *r.MinChange
		change = gain
		if finite {
			slack = roundingSlack * math.Max(math.Abs(c), math.Abs(b))
		}
	}
	res.Passed = change >= threshold-slack
	op := ">="
	if !res.Passed {
		op = "<"
	}
	shown := change
	if math.Abs(change-threshold) <= slack {
		// Within rounding of the threshold is at it, and reads so.
		shown = threshold
	}
	cs, bs := pair(c, b)
	chs, ts := pair(scale*shown, scale*threshold)
	what := "improvement"
	if unit != "" {
		what = "relative improvement"
	}
	res.Reason = fmt.Sprintf("%s %s vs baseline %s: %s %s%s %s %s%s (%s, %s)",
		r.Metric, cs, bs, what, chs, unit, op, ts, unit, key, direction(r.HigherIsBetter))
	return res
}

// num formats a value with four significant digits.
func num(x float64) string { return sig(x, 4) }

// pair formats a and b with four significant digits, or as many more as
// it takes to show that they differ: "0.2 < 0.2" would explain nothing.
func pair(a, b float64) (string, string) {
	for d := 4; d < 17; d++ {
		as, bs := sig(a, d), sig(b, d)
		if a == b || as != bs {
			return as, bs
		}
	}
	return sig(a, -1), sig(b, -1)
}

// sig formats x rounded to d significant digits (-1: as many as it
// takes to round-trip), in plain decimal notation unless x is tiny or
// huge.
func sig(x float64, d int) string {
	if x == 0 {
		return "0" // and not "-0", which a negated zero change would print
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', d, 64), 64)
	if a := math.Abs(r); a < 1e-6 || a >= 1e15 {
		return strconv.FormatFloat(r, 'g', -1, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// jsonFloat writes non-finite values as MLflow's JSON does ("NaN",
// "Infinity", "-Infinity"), which encoding/json refuses as numbers.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "Infinity":
			*f = jsonFloat(math.Inf(1))
		case "-Infinity":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("gate: %q is not a number", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("gate: %s is not a number: %w", b, err)
	}
	*f = jsonFloat(v)
	return nil
}

// resultJSON is Result on the wire.
type resultJSON struct {
	Rule      Rule       `json:"rule"`
	Metric    string     `json:"metric"`
	Candidate jsonFloat  `json:"candidate"`
	Baseline  *jsonFloat `json:"baseline,omitempty"`
	Passed    bool       `json:"passed"`
	Skipped   bool       `json:"skipped,omitempty"`
	Reason    string     `json:"reason"`
}

// MarshalJSON writes a result with snake_case keys; a NaN or infinite
// value is a string, as in MLflow's JSON, so that a failed rule does not
// make eval.json unwritable.
func (r Result) MarshalJSON() ([]byte, error) {
	w := resultJSON{Rule: r.Rule, Metric: r.Metric, Candidate: jsonFloat(r.Candidate),
		Passed: r.Passed, Skipped: r.Skipped, Reason: r.Reason}
	if r.Baseline != nil {
		b := jsonFloat(*r.Baseline)
		w.Baseline = &b
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Result) UnmarshalJSON(data []byte) error {
	var w resultJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Result{Rule: w.Rule, Metric: w.Metric, Candidate: float64(w.Candidate),
		Passed: w.Passed, Skipped: w.Skipped, Reason: w.Reason}
	if w.Baseline != nil {
		b := float64(*w.Baseline)
		r.Baseline = &b
	}
	return nil
}
