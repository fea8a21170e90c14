package orchestrate

import (
	_ "embed"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nebras-ai/nebras/internal/yamlnode"

	"github.com/nebras-ai/nebras/eval"
	"github.com/nebras-ai/nebras/eval/gate"
	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/pipelines"
	"github.com/nebras-ai/nebras/training"
	"github.com/nebras-ai/nebras/transforms"
)

//go:embed defaults.yaml
var defaultsYAML []byte

// DefaultsName is how errors in the embedded defaults name the file.
const DefaultsName = "defaults.yaml"

// Defaults returns the embedded default config, comments included: what
// `nebras run --print-defaults` prints.
func Defaults() []byte { return slices.Clone(defaultsYAML) }

// Config is the whole pipeline's configuration (see defaults.yaml for
// every field and its default).
type Config struct {
	// WorkDir holds every stage's outputs and last-run.json.
	WorkDir  string         `yaml:"work_dir"`
	Tracking TrackingConfig `yaml:"tracking"`
	Data     DataConfig     `yaml:"data"`
	Prepare  PrepareConfig  `yaml:"prepare"`
	// Train is training's own config; Data, Out, TrackingURI,
	// Experiment, ParentRunID, Register and RegisterAs are set by the
	// pipeline.
	Train   training.Config `yaml:"train"`
	Eval    EvalConfig      `yaml:"eval"`
	Promote PromoteConfig   `yaml:"promote"`

	// Source names where the config came from: a file, or DefaultsName.
	Source string `yaml:"-"`
}

// TrackingConfig selects the MLflow store and experiment.
type TrackingConfig struct {
	URI        string `yaml:"uri"`        // "": $MLFLOW_TRACKING_URI, else ./mlruns
	Experiment string `yaml:"experiment"` // "": $MLFLOW_EXPERIMENT_NAME, else nebras
}

// DataConfig says where tickets come from: Inputs or Synthetic.
type DataConfig struct {
	Inputs    []string         `yaml:"inputs"`
	Format    string           `yaml:"format"`
	Synthetic *SyntheticConfig `yaml:"synthetic"`
}

// SyntheticConfig generates tickets with transforms/synth.
type SyntheticConfig struct {
	N    int   `yaml:"n"`
	Seed int64 `yaml:"seed"`
}

// PrepareConfig holds the data pipeline's options that shape the dataset.
type PrepareConfig struct {
	Tokenizer    string    `yaml:"tokenizer"`
	MaxSeqLen    int       `yaml:"max_seq_len"`
	MaxTurnChars int       `yaml:"max_turn_chars"`
	Split        []float64 `yaml:"split"`
	SplitSalt    string    `yaml:"split_salt"`
	Shards       int       `yaml:"shards"`
	Runner       string    `yaml:"runner"`
}

// EvalConfig holds the evaluation's settings; the candidate, dataset and
// output directory come from the earlier stages.
type EvalConfig struct {
	Split             string  `yaml:"split"`
	Baseline          string  `yaml:"baseline"`
	Gate              Gate    `yaml:"gate"`
	MaxExamples       int     `yaml:"max_examples"`
	MaxNewTokens      int     `yaml:"max_new_tokens"`
	MaxPromptTokens   int     `yaml:"max_prompt_tokens"`
	Batch             int     `yaml:"batch"`
	Threads           int     `yaml:"threads"`
	PPLSeqLen         int     `yaml:"ppl_seq_len"`
	PPLBatches        int     `yaml:"ppl_batches"`
	Temperature       float64 `yaml:"temperature"`
	TopK              int     `yaml:"top_k"`
	TopP              float64 `yaml:"top_p"`
	RepetitionPenalty float64 `yaml:"repetition_penalty"`
	Seed              uint64  `yaml:"seed"`
}

// Gate is the promotion gate: a gate.yaml path, rules written inline, or
// neither (gate.Default).
type Gate struct {
	File  string      // a gate.yaml path
	Rules *gate.Rules // inline rules, checked
	// YAML is the inline rules as YAML, written beside the evaluation.
	YAML []byte
}

// PromoteConfig says whether and where a blessed version is promoted.
type PromoteConfig struct {
	Enabled bool   `yaml:"enabled"`
	Model   string `yaml:"model"`
	Alias   string `yaml:"alias"`
}

// pipelineOwned are train keys the pipeline sets, with what sets them.
var pipelineOwned = map[string]string{
	"data":          "the prepare stage's dataset",
	"out":           "WORK/train/KEY",
	"tracking_uri":  "tracking.uri",
	"experiment":    "tracking.experiment",
	"parent_run_id": "the pipeline's MLflow run",
	"register":      "always true",
	"register_as":   "promote.model",
}

// DefaultConfig returns the embedded defaults.
func DefaultConfig() (*Config, error) {
	c := &Config{Train: training.DefaultConfig(), Source: DefaultsName}
	if err := c.decode(defaultsYAML, DefaultsName); err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	return c, c.validate(nil, DefaultsName)
}

// LoadConfig reads a pipeline config file over the defaults and checks
// it whole.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig reads a pipeline config over the defaults; name is the
// file name errors start with (FILE:LINE: field.path: what is allowed).
func ParseConfig(data []byte, name string) (*Config, error) {
	c, err := DefaultConfig()
	if err != nil {
		return nil, err
	}
	c.Source = name
	d, err := c.decodeTracked(data, name)
	if err != nil {
		return nil, err
	}
	if err := c.validate(d, name); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) decode(data []byte, name string) error {
	_, err := c.decodeTracked(data, name)
	return err
}

// decodeTracked decodes data over c and returns the decoder, which knows
// the line of every field it set.
func (c *Config) decodeTracked(data []byte, name string) (*decoder, error) {
	d := &decoder{file: name, lines: map[string]int{}}
	doc, err := yamlnode.Decode(data, name, "the config")
	if err != nil {
		return nil, err
	}
	if doc == nil || len(doc.Content) == 0 { // an empty file changes nothing
		return d, nil
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return d, nil
	}
	if err := d.value(root, "", reflect.ValueOf(c).Elem()); err != nil {
		return nil, err
	}
	return d, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// decoder sets struct fields from YAML nodes strictly: every key must be
// a field, every value of the field's type; it records each field's line.
type decoder struct {
	file  string
	lines map[string]int // field path → line of its key
}

func (d *decoder) errorf(line int, path, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", d.file, line, path, fmt.Sprintf(format, args...))
}

// line returns where path (or, failing that, its closest parent) was set.
func (d *decoder) line(path string) int {
	if d == nil {
		return 0
	}
	for p := path; p != ""; {
		if l, ok := d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields lists a struct type's YAML keys and their field indexes.
func fields(t reflect.Type) ([]string, map[string]int) {
	var names []string
	idx := map[string]int{}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		names = append(names, tag)
		idx[tag] = i
	}
	return names, idx
}

var gateType = reflect.TypeOf(Gate{})

// value decodes n into v, a field at path.
func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) error {
	n = deref(n)
	if v.Type() == gateType {
		return d.gate(n, path, v.Addr().Interface().(*Gate))
	}
	what := func() string { return yamlnode.Describe(n) }
	scalar := func(tags ...string) bool {
		return n.Kind == yaml.ScalarNode && slices.Contains(tags, n.ShortTag())
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return d.errorf(n.Line, path, "want a mapping, got %s", what())
		}
		return d.mapping(n, path, v)
	case reflect.Pointer:
		if scalar("!!null") {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.value(n, path, v.Elem())
	case reflect.String:
		if !scalar("!!str") {
			return d.errorf(n.Line, path, "want a string, got %s", what())
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if !scalar("!!bool") || n.Decode(&b) != nil {
			return d.errorf(n.Line, path, "want true or false, got %s", what())
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if !scalar("!!int") || n.Decode(&i) != nil || v.OverflowInt(i) {
			return d.errorf(n.Line, path, "want a whole number, got %s", what())
		}
		v.SetInt(i)
	case reflect.Uint64:
		var u uint64
		if !scalar("!!int") || n.Decode(&u) != nil {
			return d.errorf(n.Line, path, "want a whole number of 0 or more, got %s", what())
		}
		v.SetUint(u)
	case reflect.Float64:
		var f float64
		if !scalar("!!int", "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return d.errorf(n.Line, path, "want a finite number, got %s", what())
		}
		v.SetFloat(f)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errorf(n.Line, path, "want a list, got %s", what())
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.value(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	default:
		return d.errorf(n.Line, path, "internal error: cannot decode into %s", v.Type())
	}
	return nil
}

func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) error {
	names, idx := fields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if seen[k.Value] {
			return d.errorf(k.Line, p, "given twice")
		}
		seen[k.Value] = true
		if path == "train" {
			if by, ok := pipelineOwned[k.Value]; ok {
				return d.errorf(k.Line, p, "set by the pipeline (%s); remove it", by)
			}
		}
		fi, ok := idx[k.Value]
		if !ok {
			known := slices.DeleteFunc(slices.Clone(names), func(s string) bool {
				_, owned := pipelineOwned[s]
				return path == "train" && owned
			})
			return d.errorf(k.Line, p, "unknown field (known: %s)", strings.Join(known, ", "))
		}
		d.lines[p] = k.Line
		field := v.Field(fi)
		if p == "data" {
			// data is one of inputs and synthetic: a data section
			// replaces the defaults' source.
			c := field.Addr().Interface().(*DataConfig)
			c.Inputs, c.Synthetic = nil, nil
		}
		if err := d.value(val, p, field); err != nil {
			return err
		}
	}
	return nil
}

// gate decodes eval.gate: "" or a path, or a mapping with a rules list.
func (d *decoder) gate(n *yaml.Node, path string, g *Gate) error {
	*g = Gate{}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		g.File = n.Value
		if g.File == "" {
			return nil
		}
		if _, err := gate.Load(g.File); err != nil {
			return d.errorf(n.Line, path, "%v", err)
		}
		return nil
	case n.Kind == yaml.MappingNode:
		rules, err := gate.ParseNode(n, d.file)
		if err != nil {
			return err
		}
		b, err := yaml.Marshal(n)
		if err != nil {
			return d.errorf(n.Line, path, "%v", err)
		}
		g.Rules, g.YAML = rules, b
		return nil
	}
	return d.errorf(n.Line, path, "want a gate.yaml path or a mapping with a rules list, got %s", yamlnode.Describe(n))
}

// validate checks values the types let through, each error at the line
// of the field (or, for a value from the defaults, its section).
func (c *Config) validate(d *decoder, name string) error {
	fail := func(path, format string, args ...any) error {
		l := d.line(path)
		if l == 0 {
			return fmt.Errorf("%s: %s: %s", name, path, fmt.Sprintf(format, args...))
		}
		return fmt.Errorf("%s:%d: %s: %s", name, l, path, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(c.WorkDir) == "" {
		return fail("work_dir", "want a directory, got nothing")
	}
	// data
	switch {
	case len(c.Data.Inputs) > 0 && c.Data.Synthetic != nil:
		return fail("data", "give inputs or synthetic, not both")
	case len(c.Data.Inputs) == 0 && c.Data.Synthetic == nil:
		return fail("data", "give inputs (files or globs) or synthetic {n, seed}")
	}
	for i, in := range c.Data.Inputs {
		if strings.TrimSpace(in) == "" {
			return fail(fmt.Sprintf("data.inputs[%d]", i), "want a file or glob, got an empty string")
		}
	}
	switch c.Data.Format {
	case pipelines.FormatAuto, pipelines.FormatJSONL, pipelines.FormatCSV:
	default:
		return fail("data.format", "want auto, jsonl or csv, got %q", c.Data.Format)
	}
	if s := c.Data.Synthetic; s != nil && (s.N < 1 || s.N > 10_000_000) {
		return fail("data.synthetic.n", "want 1 to 10000000 conversations, got %d", s.N)
	}
	// prepare
	if len(c.Prepare.Split) != 3 {
		return fail("prepare.split", "want three shares [train, val, test], got %d", len(c.Prepare.Split))
	}
	po := c.prepareOptions([]string{"in"}, "out")
	if err := po.Validate(); err != nil {
		return fieldError(fail, "prepare", err)
	}
	// train
	t := c.Train
	if !(t.LR > 0) {
		return fail("train.lr", "want a positive number, got %g", t.LR)
	}
	t.Data, t.Out, t.Register, t.RegisterAs = "data", "out", true, c.Promote.Model
	if err := t.Validate(); err != nil {
		return fieldError(fail, "train", err)
	}
	// eval
	switch b := c.Eval.Baseline; {
	case b == eval.BaselineAuto, b == eval.BaselineNone, b == eval.BaselineRetrieval,
		strings.HasPrefix(b, "models:/"), strings.HasPrefix(b, "hf:"):
	default:
		if _, err := os.Stat(b); err != nil {
			return fail("eval.baseline", `want "" (production), none, retrieval, models:/NAME@ALIAS, models:/NAME/VERSION, hf:org/name or a model directory, got %q`, b)
		}
	}
	if c.Eval.Split == "" {
		return fail("eval.split", "want train, val or test, got nothing")
	}
	ec := c.evalConfig("models:/m/1", "data", "out")
	if err := ec.Validate(); err != nil {
		return fieldError(fail, "eval", err)
	}
	// promote
	if c.Promote.Model == "" {
		return fail("promote.model", "want a registered model name, got nothing")
	}
	if c.Promote.Alias == "" {
		return fail("promote.alias", "want an alias (production), got nothing")
	}
	if c.Promote.Alias == "previous" {
		return fail("promote.alias", `want an alias other than "previous", which keeps the replaced version`)
	}
	return nil
}

// fieldError places a package's validation error at the field it names:
// the message's first word, as a YAML key or a --flag.
func fieldError(fail func(path, format string, args ...any) error, section string, err error) error {
	msg := err.Error()
	first, rest, ok := strings.Cut(msg, " ")
	key := strings.ReplaceAll(strings.TrimRight(strings.TrimPrefix(first, "--"), ",:"), "-", "_")
	if !ok || !validKey(section, key) {
		return fail(section, "%s", msg)
	}
	// "batch_size 0: want at least 1" reads "train.batch_size: 0: want
	// at least 1"; a message that goes on otherwise is kept whole.
	if v, _, _ := strings.Cut(strings.TrimSpace(rest), " "); strings.HasSuffix(v, ":") || strings.HasSuffix(first, ":") {
		return fail(section+"."+key, "%s", strings.TrimSpace(rest))
	}
	return fail(section+"."+key, "%s", msg)
}

// validKey reports whether key is a field of section.
func validKey(section, key string) bool {
	var t reflect.Type
	switch section {
	case "prepare":
		t = reflect.TypeOf(PrepareConfig{})
	case "train":
		t = reflect.TypeOf(training.Config{})
	case "eval":
		t = reflect.TypeOf(EvalConfig{})
	default:
		return false
	}
	_, idx := fields(t)
	_, ok := idx[key]
	return ok
}

// prepareOptions maps the prepare section onto the pipeline's options.
func (c *Config) prepareOptions(inputs []string, out string) pipelines.Options {
	o := pipelines.DefaultOptions()
	o.Inputs, o.Output, o.Format = inputs, out, c.Data.Format
	o.Tokenizer, o.MaxSeqLen, o.MaxTurnChars = c.Prepare.Tokenizer, c.Prepare.MaxSeqLen, c.Prepare.MaxTurnChars
	if len(c.Prepare.Split) == 3 {
		o.Split = transforms.SplitRatios{Train: c.Prepare.Split[0], Val: c.Prepare.Split[1], Test: c.Prepare.Split[2]}
	}
	o.SplitSalt, o.Shards, o.Runner = c.Prepare.SplitSalt, c.Prepare.Shards, c.Prepare.Runner
	return o
}

// evalConfig maps the eval section onto eval's config.
func (c *Config) evalConfig(candidate, data, out string) eval.Config {
	e := c.Eval
	return eval.Config{
		Model: candidate, Data: data, Split: e.Split, Baseline: e.Baseline, Gate: e.Gate.File, Out: out,
		MaxExamples: e.MaxExamples, MaxNewTokens: e.MaxNewTokens, MaxPromptTokens: e.MaxPromptTokens,
		Sampling: model.Sampling{Temperature: e.Temperature, TopK: e.TopK, TopP: e.TopP,
			RepetitionPenalty: e.RepetitionPenalty, Seed: e.Seed},
		Batch: e.Batch, Threads: e.Threads, PPLSeqLen: e.PPLSeqLen, PPLBatches: e.PPLBatches,
		RegisteredModel: c.Promote.Model, BaselineAlias: c.Promote.Alias, Experiment: c.Tracking.Experiment, TrackingURI: c.Tracking.URI,
	}
}

// YAML renders the resolved config (inline gate rules included), for the
// record and MLflow.
func (c *Config) YAML() []byte {
	// Round trips through maps drop what a config may not say: the
	// pipeline's own train keys, the gate's internals.
	asMap := func(v any) map[string]any {
		m := map[string]any{}
		b, _ := yaml.Marshal(v)
		_ = yaml.Unmarshal(b, &m)
		return m
	}
	train := asMap(c.Train)
	for k := range pipelineOwned {
		delete(train, k)
	}
	out := map[string]any{
		"work_dir": c.WorkDir, "tracking": c.Tracking, "data": c.Data, "prepare": c.Prepare,
		"train": train, "promote": c.Promote,
	}
	ev := asMap(c.Eval)
	switch {
	case c.Eval.Gate.Rules != nil:
		var n yaml.Node
		if yaml.Unmarshal(c.Eval.Gate.YAML, &n) == nil && len(n.Content) > 0 {
			ev["gate"] = n.Content[0]
		}
	default:
		ev["gate"] = c.Eval.Gate.File
	}
	out["eval"] = ev
	b, err := yaml.Marshal(out)
	if err != nil { // plain values only
		panic(err)
	}
	return b
}
