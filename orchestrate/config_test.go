package orchestrate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/training"
)

func TestDefaultConfigIsTheDemo(t *testing.T) {
	c, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	// make demo's sequence: 2000 synthetic tickets (seed 1), prepare's
	// defaults, scratch:tiny for 150 steps, eval on 50 examples, promote
	// if blessed.
	checks := []struct {
		name      string
		got, want any
	}{
		{"synthetic", *c.Data.Synthetic, SyntheticConfig{N: 2000, Seed: 1}},
		{"inputs", len(c.Data.Inputs), 0},
		{"runner", c.Prepare.Runner, "prism"},
		{"max_seq_len", c.Prepare.MaxSeqLen, 1024},
		{"base", c.Train.Base, "scratch:tiny"},
		{"steps", c.Train.MaxSteps, 150},
		{"batch", c.Train.BatchSize, 8},
		{"seq_len", c.Train.SeqLen, 128},
		{"lr", c.Train.LR, 2e-3},
		{"max_minutes", c.Train.MaxMinutes, 5.0},
		{"eval_every", c.Train.EvalEvery, 50},
		{"eval_batches", c.Train.EvalBatches, 10},
		{"max_examples", c.Eval.MaxExamples, 50},
		{"promote", c.Promote, PromoteConfig{Enabled: true, Model: "nebras-support-bot", Alias: "production"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	// The defaults file restates training's own defaults where it does
	// not change them.
	td := training.DefaultConfig()
	if c.Train.Beta2 != td.Beta2 || c.Train.WeightDecay != td.WeightDecay || c.Train.AdamEps != td.AdamEps ||
		c.Train.Patience != td.Patience || c.Train.LoRAAlpha != td.LoRAAlpha {
		t.Errorf("defaults.yaml disagrees with training.DefaultConfig: %+v", c.Train)
	}
}

// TestDefaultsDocumentEveryField checks defaults.yaml sets every field a
// config may hold, so --print-defaults shows them all.
func TestDefaultsDocumentEveryField(t *testing.T) {
	c := &Config{Train: training.DefaultConfig()}
	d, err := c.decodeTracked(defaultsYAML, DefaultsName)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(tp reflect.Type, path string)
	walk = func(tp reflect.Type, path string) {
		names, idx := fields(tp)
		for _, n := range names {
			p := join(path, n)
			if _, owned := pipelineOwned[n]; owned && path == "train" {
				continue
			}
			if p == "data.inputs" { // commented out: the defaults use synthetic
				continue
			}
			if _, ok := d.lines[p]; !ok {
				t.Errorf("defaults.yaml does not set %s", p)
			}
			ft := tp.Field(idx[n]).Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != gateType {
				walk(ft, p)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func TestConfigOverridesAndRoundTrip(t *testing.T) {
	c, err := ParseConfig([]byte(`
work_dir: w
data:
  inputs: ["a/*.jsonl"]
train:
  max_steps: 7
  lora_targets: [c_attn]
eval:
  gate:
    rules:
      - metric: perplexity
        max: 100
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Synthetic != nil || c.Data.Format != "auto" || c.Data.Inputs[0] != "a/*.jsonl" {
		t.Errorf("data = %+v: a data section replaces the synthetic source and keeps the format", c.Data)
	}
	if c.Train.MaxSteps != 7 || c.Train.SeqLen != 128 || !reflect.DeepEqual(c.Train.LoRATargets, []string{"c_attn"}) {
		t.Errorf("train = %+v", c.Train)
	}
	if c.Eval.Gate.Rules == nil || len(c.Eval.Gate.Rules.Rules) != 1 {
		t.Fatalf("gate = %+v", c.Eval.Gate)
	}
	back, err := ParseConfig(c.YAML(), "resolved.yaml")
	if err != nil {
		t.Fatalf("the resolved config does not read back: %v\n%s", err, c.YAML())
	}
	back.Source = c.Source
	back.Eval.Gate.Rules, c.Eval.Gate.Rules = nil, nil // lines differ
	back.Eval.Gate.YAML, c.Eval.Gate.YAML = nil, nil
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, c)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "wrok_dir: x\n",
			"p.yaml:1: wrok_dir: unknown field (known: work_dir, tracking, data, prepare, train, eval, promote)"},
		{"unknown nested key", "tracking:\n  url: http://x\n",
			"p.yaml:2: tracking.url: unknown field (known: uri, experiment)"},
		{"string for an int", "train:\n  max_steps: many\n",
			`p.yaml:2: train.max_steps: want a whole number, got "many"`},
		{"string for a number", "\n\ntrain:\n  lr: fast\n",
			`p.yaml:4: train.lr: want a finite number, got "fast"`},
		{"not a bool", "promote:\n  enabled: yes please\n",
			`p.yaml:2: promote.enabled: want true or false, got "yes please"`},
		{"list for a string", "prepare:\n  tokenizer: [gpt2]\n",
			`p.yaml:2: prepare.tokenizer: want a string, got a list`},
		{"section not a mapping", "eval: 3\n",
			`p.yaml:1: eval: want a mapping, got "3"`},
		{"key given twice", "train:\n  seed: 1\n  seed: 2\n",
			"p.yaml:3: train.seed: given twice"},
		{"pipeline-owned train key", "train:\n  data: mydata\n",
			"p.yaml:2: train.data: set by the pipeline (the prepare stage's dataset); remove it"},
		{"bad value from training", "train:\n  batch_size: 0\n",
			"p.yaml:2: train.batch_size: 0: want at least 1"},
		{"bad lr", "train:\n  lr: 0\n",
			"p.yaml:2: train.lr: want a positive number, got 0"},
		{"bad schedule", "train:\n  schedule: step\n",
			`p.yaml:2: train.schedule: "step": want cosine, linear or constant`},
		{"both data sources", "data:\n  inputs: [a.jsonl]\n  synthetic: {n: 5}\n",
			"p.yaml:1: data: give inputs or synthetic, not both"},
		{"no data source", "data:\n  format: csv\n",
			"p.yaml:1: data: give inputs (files or globs) or synthetic {n, seed}"},
		{"synthetic n", "data:\n  synthetic:\n    n: 0\n",
			"p.yaml:3: data.synthetic.n: want 1 to 10000000 conversations, got 0"},
		{"bad runner", "prepare:\n  runner: hadoop\n",
			`p.yaml:2: prepare.runner: "hadoop": want one of prism, dataflow, flink, spark, universal, loop`},
		{"split count", "prepare:\n  split: [0.5, 0.5]\n",
			"p.yaml:2: prepare.split: want three shares [train, val, test], got 2"},
		{"split sum", "prepare:\n  split: [0.5, 0.25, 0.125]\n",
			"p.yaml:2: prepare.split: split ratios 0.5/0.25/0.125: must sum to 1, got 0.875"},
		{"max_seq_len", "prepare:\n  max_seq_len: 8\n",
			"p.yaml:2: prepare.max_seq_len: 8: want 16..1048576"},
		{"eval value", "eval:\n  max_new_tokens: 0\n",
			"p.yaml:2: eval.max_new_tokens: 0: want at least 1"},
		{"eval baseline", "eval:\n  baseline: /no/such/model\n",
			`p.yaml:2: eval.baseline: want "" (production), none, retrieval, models:/NAME@ALIAS, models:/NAME/VERSION, hf:org/name or a model directory, got "/no/such/model"`},
		{"inline gate rule", "eval:\n  gate:\n    rules:\n      - metric: rougel\n        min: 0.1\n",
			`p.yaml:4: rule 1: unknown metric "rougel" (did you mean "rougeL"?)`},
		{"gate type", "eval:\n  gate: [a]\n",
			"p.yaml:2: eval.gate: want a gate.yaml path or a mapping with a rules list, got a list"},
		{"missing gate file", "eval:\n  gate: /no/gate.yaml\n",
			"p.yaml:2: eval.gate: gate rules: open /no/gate.yaml: no such file or directory"},
		{"promote alias", "promote:\n  alias: previous\n",
			`p.yaml:2: promote.alias: want an alias other than "previous", which keeps the replaced version`},
		{"YAML syntax", "train:\n  seed: [1\n",
			"p.yaml:1: did not find expected ',' or ']'"},
		{"two documents", "work_dir: a\n---\nwork_dir: b\n",
			"p.yaml:2: a second YAML document; the config must be one document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "p.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %q\nwant %q", err, tc.want)
			}
		})
	}
}

func TestEmptyConfigIsTheDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "~\n"} {
		c, err := ParseConfig([]byte(src), "p.yaml")
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		d, _ := DefaultConfig()
		c.Source = d.Source
		if !reflect.DeepEqual(c, d) {
			t.Errorf("%q changed the defaults", src)
		}
	}
}

func TestCheckForce(t *testing.T) {
	for _, tc := range []struct {
		force []string
		ok    bool
	}{
		{nil, true}, {[]string{"train", "eval"}, true}, {[]string{"all"}, true},
		{[]string{"training"}, false}, {[]string{"train", ""}, false},
	} {
		err := CheckForce(tc.force)
		if (err == nil) != tc.ok {
			t.Errorf("CheckForce(%q) = %v, want ok=%v", tc.force, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "tickets, prepare, train, eval, promote or all") {
			t.Errorf("CheckForce error %q does not list the stages", err)
		}
	}
}
