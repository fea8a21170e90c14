package model

import (
	"strings"
	"testing"
)

func TestNamedConfigs(t *testing.T) {
	// Published GPT-2 parameter counts (tied head counted once).
	for name, want := range map[string]int{"124M": 124439808, "355M": 354823168, "774M": 774030080, "1.5B": 1557611200} {
		c, err := NamedConfig(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.NumParams(); got != want {
			t.Errorf("%s: %d parameters, want %d", name, got, want)
		}
	}
	if c, _ := NamedConfig("gpt2-medium"); c.NLayer != 24 {
		t.Error("gpt2-medium alias")
	}
}

func TestConfigRoundTripKeepsUnknownFields(t *testing.T) {
	in := `{"vocab_size": 100, "n_positions": 32, "n_ctx": 32, "n_embd": 16, "n_layer": 1, "n_head": 2,
	  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}}, "summary_type": "cls_index"}`
	c, err := ParseConfig([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := c.MarshalJSON()
	for _, want := range []string{`"task_specific_params"`, `"max_length": 50`, `"summary_type": "cls_index"`, `"n_inner": null`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("saved config lacks %s:\n%s", want, out)
		}
	}
	c2, err := ParseConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := c2.MarshalJSON()
	if string(out) != string(out2) {
		t.Error("config.json is not stable across a round trip")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"vocab_size": 100, "n_positions": 32, "n_embd": 16, "n_layer": 1, "n_head": 2}`))
	f.Add([]byte(`{"vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": null, "activation_function": "gelu_new"}`))
	f.Add([]byte(`{"vocab_size": -1}`))
	f.Add([]byte(`{"vocab_size": 1e99, "n_positions": 1, "n_embd": 3, "n_layer": 1, "n_head": 3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		// Whatever is accepted can be allocated and saved.
		if c.Validate() != nil {
			t.Fatal("ParseConfig accepted an invalid config")
		}
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConfig(out); err != nil {
			t.Fatalf("saved config does not parse: %v", err)
		}
	})
}
