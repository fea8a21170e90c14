// Package model is GPT-2 in pure Go: its configuration, checkpoints in the
// Hugging Face layout, the forward and backward passes used for training,
// AdamW, LoRA adapters, and KV-cache generation.
//
// The numerics follow Hugging Face's GPT2LMHeadModel (pre-LayerNorm blocks,
// gelu_new, learned positions, LM head tied to the token embedding) and are
// checked against a PyTorch reference whose outputs are committed under
// testdata/reference.
package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Config is a GPT-2 architecture as Hugging Face's config.json describes it.
type Config struct {
	VocabSize        int     // vocab_size
	NPositions       int     // n_positions: the longest context
	NEmbd            int     // n_embd: the residual width C
	NLayer           int     // n_layer
	NHead            int     // n_head
	NInner           int     // n_inner: MLP width; 0 means 4·NEmbd
	LayerNormEps     float64 // layer_norm_epsilon
	InitializerRange float64 // initializer_range
	BOSTokenID       int     // bos_token_id
	EOSTokenID       int     // eos_token_id

	// extra keeps every config.json field this package does not interpret,
	// so a checkpoint saved after loading carries them over unchanged.
	extra map[string]json.RawMessage
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.NEmbd / c.NHead }

// Inner is the MLP's hidden width.
func (c Config) Inner() int {
	if c.NInner > 0 {
		return c.NInner
	}
	return 4 * c.NEmbd
}

// NumParams is the number of parameters, counting the tied LM head once.
func (c Config) NumParams() int {
	n := 0
	for _, t := range c.layout() {
		n += t.numel()
	}
	return n
}

// namedConfigs are the sizes `nebras model init --config` knows. The four
// OpenAI sizes are GPT-2's published shapes; tiny and small are for tests,
// demos and training from scratch on one machine.
var namedConfigs = []struct {
	name, alias string
	layers      int
	heads       int
	embd        int
	positions   int
}{
	{"tiny", "", 2, 4, 128, 256},
	{"small", "", 6, 6, 384, 512},
	{"124M", "gpt2", 12, 12, 768, 1024},
	{"355M", "gpt2-medium", 24, 16, 1024, 1024},
	{"774M", "gpt2-large", 36, 20, 1280, 1024},
	{"1.5B", "gpt2-xl", 48, 25, 1600, 1024},
}

// ConfigNames lists the names NamedConfig accepts.
func ConfigNames() []string {
	var names []string
	for _, c := range namedConfigs {
		names = append(names, c.name)
	}
	return names
}

// NamedConfig returns the configuration called name ("tiny", "small",
// "124M", "355M", "774M", "1.5B", or the Hugging Face names "gpt2",
// "gpt2-medium", "gpt2-large", "gpt2-xl"), with GPT-2's vocabulary.
func NamedConfig(name string) (Config, error) {
	for _, c := range namedConfigs {
		if name == c.name || (c.alias != "" && name == c.alias) {
			return Config{
				VocabSize:        50257,
				NPositions:       c.positions,
				NEmbd:            c.embd,
				NLayer:           c.layers,
				NHead:            c.heads,
				LayerNormEps:     1e-5,
				InitializerRange: 0.02,
				BOSTokenID:       50256,
				EOSTokenID:       50256,
			}, nil
		}
	}
	return Config{}, fmt.Errorf("unknown model config %q (known: %s)", name, strings.Join(ConfigNames(), ", "))
}

// Validate reports the first reason the configuration cannot be run.
func (c Config) Validate() error {
	switch {
	case c.VocabSize <= 0:
		return fmt.Errorf("config: vocab_size %d must be positive", c.VocabSize)
	case c.NPositions <= 0:
		return fmt.Errorf("config: n_positions %d must be positive", c.NPositions)
	case c.NEmbd <= 0 || c.NHead <= 0 || c.NLayer <= 0:
		return fmt.Errorf("config: n_embd %d, n_head %d and n_layer %d must be positive", c.NEmbd, c.NHead, c.NLayer)
	case c.NEmbd%c.NHead != 0:
		return fmt.Errorf("config: n_embd %d is not a multiple of n_head %d", c.NEmbd, c.NHead)
	case c.NInner < 0:
		return fmt.Errorf("config: n_inner %d must not be negative", c.NInner)
	case !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 0):
		return fmt.Errorf("config: layer_norm_epsilon %g must be positive", c.LayerNormEps)
	}
	// A parameter count past 2^31 would overflow the int32-indexed tensors
	// some tools use; GPT-2 1.5B is far below that. Estimated in float64
	// first so absurd sizes cannot overflow the integer count.
	C, F := float64(c.NEmbd), float64(c.Inner())
	est := float64(c.VocabSize)*C + float64(c.NPositions)*C + float64(c.NLayer)*(4*C*C+2*C*F)
	if est > math.MaxInt32 {
		return fmt.Errorf("config: about %.3g parameters is more than this engine holds (2^31)", est)
	}
	return nil
}

// fields this package writes itself; everything else in config.json is kept
// in extra. The flags GPT-2 variants use to change the computation are
// checked by ParseConfig instead of being carried silently.
var knownFields = []string{
	"vocab_size", "n_positions", "n_ctx", "n_embd", "n_layer", "n_head", "n_inner",
	"layer_norm_epsilon", "initializer_range", "bos_token_id", "eos_token_id",
	"architectures", "model_type", "activation_function", "tie_word_embeddings",
	"scale_attn_weights", "scale_attn_by_inverse_layer_idx", "add_cross_attention",
}

// ParseConfig reads a Hugging Face GPT-2 config.json. It refuses variants
// this engine would compute differently (another activation, untied LM head,
// attention scaled by layer index, cross-attention) rather than run them
// wrongly.
func ParseConfig(data []byte) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	var c Config
	ints := []struct {
		key      string
		dst      *int
		required bool
	}{
		{"vocab_size", &c.VocabSize, true},
		{"n_positions", &c.NPositions, true},
		{"n_embd", &c.NEmbd, true},
		{"n_layer", &c.NLayer, true},
		{"n_head", &c.NHead, true},
		{"bos_token_id", &c.BOSTokenID, false},
		{"eos_token_id", &c.EOSTokenID, false},
	}
	for _, f := range ints {
		v, ok := raw[f.key]
		if !ok || string(v) == "null" {
			if f.required {
				return Config{}, fmt.Errorf("config.json: missing %s", f.key)
			}
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return Config{}, fmt.Errorf("config.json: %s: want an integer, got %s", f.key, v)
		}
	}
	if v, ok := raw["n_inner"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &c.NInner); err != nil {
			return Config{}, fmt.Errorf("config.json: n_inner: want an integer or null, got %s", v)
		}
	}
	c.LayerNormEps, c.InitializerRange = 1e-5, 0.02
	for _, f := range []struct {
		key string
		dst *float64
	}{{"layer_norm_epsilon", &c.LayerNormEps}, {"initializer_range", &c.InitializerRange}} {
		if v, ok := raw[f.key]; ok {
			if err := json.Unmarshal(v, f.dst); err != nil {
				return Config{}, fmt.Errorf("config.json: %s: want a number, got %s", f.key, v)
			}
		}
	}
	if v, ok := raw["model_type"]; ok {
		var mt string
		if json.Unmarshal(v, &mt) != nil || mt != "gpt2" {
			return Config{}, fmt.Errorf("config.json: model_type %s is not gpt2", v)
		}
	}
	if v, ok := raw["activation_function"]; ok {
		var act string
		if json.Unmarshal(v, &act) != nil || (act != "gelu_new" && act != "gelu_pytorch_tanh") {
			return Config{}, fmt.Errorf("config.json: activation_function %s is not supported (want gelu_new)", v)
		}
	}
	for _, f := range []struct {
		key  string
		want bool
	}{
		{"tie_word_embeddings", true},
		{"scale_attn_weights", true},
		{"scale_attn_by_inverse_layer_idx", false},
		{"add_cross_attention", false},
	} {
		if v, ok := raw[f.key]; ok {
			var b bool
			if json.Unmarshal(v, &b) != nil || b != f.want {
				return Config{}, fmt.Errorf("config.json: %s %s is not supported (want %v)", f.key, v, f.want)
			}
		}
	}
	if v, ok := raw["n_ctx"]; ok {
		var nctx int
		if json.Unmarshal(v, &nctx) != nil || nctx != c.NPositions {
			return Config{}, fmt.Errorf("config.json: n_ctx %s differs from n_positions %d", v, c.NPositions)
		}
	}
	for _, k := range knownFields {
		delete(raw, k)
	}
	if len(raw) > 0 {
		c.extra = raw
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// MarshalJSON writes config.json as transformers expects it: the fields
// GPT2LMHeadModel.from_pretrained needs, every field read from the original
// file carried over, keys sorted, so saving is byte-stable.
func (c Config) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	for k, v := range c.extra {
		out[k] = v
	}
	var inner any // null means 4·n_embd, as in transformers
	if c.NInner > 0 {
		inner = c.NInner
	}
	for k, v := range map[string]any{
		"architectures":       []string{"GPT2LMHeadModel"},
		"model_type":          "gpt2",
		"activation_function": "gelu_new",
		"vocab_size":          c.VocabSize,
		"n_positions":         c.NPositions,
		"n_ctx":               c.NPositions,
		"n_embd":              c.NEmbd,
		"n_layer":             c.NLayer,
		"n_head":              c.NHead,
		"n_inner":             inner,
		"layer_norm_epsilon":  c.LayerNormEps,
		"initializer_range":   c.InitializerRange,
		"bos_token_id":        c.BOSTokenID,
		"eos_token_id":        c.EOSTokenID,
		"tie_word_embeddings": true,
		"scale_attn_weights":  true,
	} {
		out[k] = v
	}
	// Defaults transformers would fill in anyway, written so the file reads
	// as complete to a person; kept only when the source did not say.
	for k, v := range map[string]any{
		"attn_pdrop": 0.1, "embd_pdrop": 0.1, "resid_pdrop": 0.1,
		"torch_dtype": "float32", "use_cache": true,
	} {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, k := range keys {
		v, err := json.Marshal(out[k])
		if err != nil {
			return nil, fmt.Errorf("config.json: %s: %w", k, err)
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, v, "  ", "  "); err != nil {
			return nil, fmt.Errorf("config.json: %s: %w", k, err)
		}
		kj, _ := json.Marshal(k)
		fmt.Fprintf(&buf, "  %s: %s", kj, ind.Bytes())
		if i < len(keys)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// Equal reports whether two configurations describe the same computation.
func (c Config) Equal(o Config) bool {
	return c.VocabSize == o.VocabSize && c.NPositions == o.NPositions && c.NEmbd == o.NEmbd &&
		c.NLayer == o.NLayer && c.NHead == o.NHead && c.Inner() == o.Inner() && c.LayerNormEps == o.LayerNormEps
}

// String is a one-line summary for logs.
func (c Config) String() string {
	return fmt.Sprintf("gpt2 L=%d H=%d C=%d ctx=%d vocab=%d (%s params)",
		c.NLayer, c.NHead, c.NEmbd, c.NPositions, c.VocabSize, humanCount(c.NumParams()))
}

func humanCount(n int) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
