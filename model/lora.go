package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nebras-ai/nebras/internal/atomicfile"
	"github.com/nebras-ai/nebras/model/safetensors"
)

// LoRAConfig describes low-rank adapters as PEFT's LoraConfig does.
type LoRAConfig struct {
	Rank  int     // r
	Alpha float64 // lora_alpha; the update is scaled by Alpha/Rank
	// Targets are module names as PEFT matches them: "c_attn", "c_proj"
	// (both the attention and the MLP output projections), "c_fc", or the
	// qualified "attn.c_proj" / "mlp.c_proj" for just one of them.
	Targets []string
}

// DefaultLoRATargets adapts every projection in the block.
var DefaultLoRATargets = []string{"c_attn", "c_proj", "c_fc"}

// Scale is the factor applied to B·A.
func (c LoRAConfig) Scale() float32 { return float32(c.Alpha / float64(c.Rank)) }

// Validate reports the first problem with the configuration.
func (c LoRAConfig) Validate() error {
	if c.Rank <= 0 {
		return fmt.Errorf("lora: rank %d must be positive", c.Rank)
	}
	if !(c.Alpha > 0) || math.IsInf(c.Alpha, 0) {
		return fmt.Errorf("lora: alpha %g must be positive", c.Alpha)
	}
	if len(c.Targets) == 0 {
		return fmt.Errorf("lora: no target modules")
	}
	for _, t := range c.Targets {
		if !slices.Contains([]string{"c_attn", "c_proj", "c_fc", "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"}, t) {
			return fmt.Errorf("lora: target module %q is not one of c_attn, c_proj, c_fc, attn.c_proj, mlp.c_proj", t)
		}
	}
	return nil
}

// targets reports whether the module (e.g. "attn.c_proj") is adapted.
func (c LoRAConfig) targets(module string) bool {
	for _, t := range c.Targets {
		if t == module || strings.HasSuffix(module, "."+t) {
			return true
		}
	}
	return false
}

// Adapter is one low-rank update of a Conv1D weight W [In, Out]:
// W' = W + scale·(B·A)ᵀ, with A [Rank, In] and B [Out, Rank] stored in
// PEFT's (nn.Linear) orientation.
type Adapter struct {
	A, B    []float32
	In, Out int
}

// BlockAdapters are the adapters of one transformer block; nil where a
// projection is not adapted.
type BlockAdapters struct {
	QKV, AttnProj, FC, FCProj *Adapter
}

// LoRA holds every adapter in one contiguous buffer, like Params, so the
// optimizer and checkpoints treat it the same way.
type LoRA struct {
	Config LoRAConfig
	Data   []float32
	Blocks []BlockAdapters

	specs []tensorSpec // names are PEFT's module paths without the prefix
}

// loraModules lists the adaptable projections of a block with their
// shapes, in memory order.
func loraModules(cfg Config) []struct {
	module  string
	in, out int
} {
	C, F := cfg.NEmbd, cfg.Inner()
	return []struct {
		module  string
		in, out int
	}{
		{"attn.c_attn", C, 3 * C},
		{"attn.c_proj", C, C},
		{"mlp.c_fc", C, F},
		{"mlp.c_proj", F, C},
	}
}

// NewLoRA allocates zeroed adapters for the model configuration.
func NewLoRA(cfg Config, lc LoRAConfig) (*LoRA, error) {
	if err := lc.Validate(); err != nil {
		return nil, err
	}
	l := &LoRA{Config: lc, Blocks: make([]BlockAdapters, cfg.NLayer)}
	off := 0
	for b := 0; b < cfg.NLayer; b++ {
		for _, m := range loraModules(cfg) {
			if !lc.targets(m.module) {
				continue
			}
			p := fmt.Sprintf("h.%d.%s.", b, m.module)
			l.specs = append(l.specs,
				tensorSpec{name: p + "lora_A.weight", shape: []int{lc.Rank, m.in}, offset: off},
				tensorSpec{name: p + "lora_B.weight", shape: []int{m.out, lc.Rank}, offset: off + lc.Rank*m.in})
			off += lc.Rank * (m.in + m.out)
		}
	}
	if len(l.specs) == 0 {
		return nil, fmt.Errorf("lora: targets %v match no module", lc.Targets)
	}
	l.Data = make([]float32, off)
	i := 0
	for b := 0; b < cfg.NLayer; b++ {
		for _, m := range loraModules(cfg) {
			if !lc.targets(m.module) {
				continue
			}
			a, bs := l.specs[i], l.specs[i+1]
			ad := &Adapter{
				A:  l.Data[a.offset : a.offset+a.numel() : a.offset+a.numel()],
				B:  l.Data[bs.offset : bs.offset+bs.numel() : bs.offset+bs.numel()],
				In: m.in, Out: m.out,
			}
			i += 2
			switch m.module {
			case "attn.c_attn":
				l.Blocks[b].QKV = ad
			case "attn.c_proj":
				l.Blocks[b].AttnProj = ad
			case "mlp.c_fc":
				l.Blocks[b].FC = ad
			case "mlp.c_proj":
				l.Blocks[b].FCProj = ad
			}
		}
	}
	return l, nil
}

// Init sets A the way PEFT does (Kaiming-uniform, bound 1/√in) and B to
// zero, so training starts exactly at the base model.
func (l *LoRA) Init(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6e65627261732d6c)) // "nebras-l"
	for _, bl := range l.Blocks {
		for _, ad := range []*Adapter{bl.QKV, bl.AttnProj, bl.FC, bl.FCProj} {
			if ad == nil {
				continue
			}
			bound := 1 / math.Sqrt(float64(ad.In))
			for i := range ad.A {
				ad.A[i] = float32((2*rng.Float64() - 1) * bound)
			}
			clear(ad.B)
		}
	}
}

// Tensors lists the adapters with their PEFT names (without the
// "base_model.model.transformer." prefix), in memory order.
func (l *LoRA) Tensors() []Tensor {
	out := make([]Tensor, len(l.specs))
	for i, s := range l.specs {
		out[i] = Tensor{Name: s.name, Shape: s.shape, Data: l.Data[s.offset : s.offset+s.numel()]}
	}
	return out
}

// Merge adds every adapter into the base weights: W += scale·(B·A)ᵀ, which
// in W's [In, Out] layout is W[i,o] += scale·Σ_r A[r,i]·B[o,r].
func (l *LoRA) Merge(p *Params) {
	s := l.Config.Scale()
	for b, bl := range l.Blocks {
		pb := p.Blocks[b]
		for _, x := range []struct {
			ad *Adapter
			w  []float32
		}{{bl.QKV, pb.QKVW}, {bl.AttnProj, pb.AttnProjW}, {bl.FC, pb.FCW}, {bl.FCProj, pb.FCProjW}} {
			ad := x.ad
			if ad == nil {
				continue
			}
			r := l.Config.Rank
			for i := 0; i < ad.In; i++ {
				row := x.w[i*ad.Out : (i+1)*ad.Out]
				for o := range row {
					var d float32
					for k := 0; k < r; k++ {
						d += ad.A[k*ad.In+i] * ad.B[o*r+k]
					}
					row[o] += s * d
				}
			}
		}
	}
}

// The files of a PEFT LoRA adapter.
const (
	AdapterConfigFile  = "adapter_config.json"
	AdapterWeightsFile = "adapter_model.safetensors"
)

// peftPrefix is what PEFT puts before a module path in adapter files.
const peftPrefix = "base_model.model.transformer."

// adapterConfig is the part of PEFT's adapter_config.json this engine
// reads and writes.
type adapterConfig struct {
	PeftType            string          `json:"peft_type"`
	TaskType            string          `json:"task_type"`
	BaseModelNameOrPath string          `json:"base_model_name_or_path"`
	R                   int             `json:"r"`
	LoraAlpha           float64         `json:"lora_alpha"`
	LoraDropout         float64         `json:"lora_dropout"`
	FanInFanOut         bool            `json:"fan_in_fan_out"`
	Bias                string          `json:"bias"`
	TargetModules       []string        `json:"target_modules"`
	InferenceMode       bool            `json:"inference_mode"`
	InitLoraWeights     bool            `json:"init_lora_weights"`
	UseRSLoRA           bool            `json:"use_rslora"`
	UseDoRA             bool            `json:"use_dora"`
	ModulesToSave       []string        `json:"modules_to_save"`
	RankPattern         map[string]any  `json:"rank_pattern"`
	AlphaPattern        map[string]any  `json:"alpha_pattern"`
	LayersToTransform   json.RawMessage `json:"layers_to_transform"`
}

// Save writes the adapters as PEFT does: adapter_config.json and
// adapter_model.safetensors, loadable with peft.PeftModel.from_pretrained
// on top of the base model named base.
func (l *LoRA) Save(dir, base string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save adapter %s: %w", dir, err)
	}
	ac := adapterConfig{
		PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModelNameOrPath: base,
		R: l.Config.Rank, LoraAlpha: l.Config.Alpha, FanInFanOut: true, Bias: "none",
		TargetModules: l.Config.Targets, InferenceMode: true, InitLoraWeights: true,
		RankPattern: map[string]any{}, AlphaPattern: map[string]any{},
		LayersToTransform: json.RawMessage("null"),
	}
	cfg, err := json.MarshalIndent(ac, "", "  ")
	if err != nil {
		return fmt.Errorf("save adapter %s: %w", dir, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, AdapterConfigFile), append(cfg, '\n')); err != nil {
		return fmt.Errorf("save adapter %s: %w", dir, err)
	}
	var ts []safetensors.Tensor
	for _, t := range l.Tensors() {
		ts = append(ts, safetensors.Float32Tensor(peftPrefix+t.Name, t.Shape, t.Data))
	}
	if err := safetensors.WriteFile(filepath.Join(dir, AdapterWeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save adapter %s: %w", dir, err)
	}
	return nil
}

// LoadLoRA reads a PEFT LoRA adapter for a model of configuration cfg. It
// refuses the PEFT variants this engine does not compute (rsLoRA, DoRA,
// per-module ranks, trained biases) rather than apply them wrongly.
func LoadLoRA(dir string, cfg Config) (*LoRA, error) {
	b, err := os.ReadFile(filepath.Join(dir, AdapterConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load adapter %s: %w", dir, err)
	}
	var ac adapterConfig
	if err := json.Unmarshal(b, &ac); err != nil {
		return nil, fmt.Errorf("load adapter %s: %s: %w", dir, AdapterConfigFile, err)
	}
	switch {
	case ac.PeftType != "LORA":
		return nil, fmt.Errorf("load adapter %s: peft_type %q is not LORA", dir, ac.PeftType)
	case ac.UseRSLoRA || ac.UseDoRA:
		return nil, fmt.Errorf("load adapter %s: rsLoRA and DoRA adapters are not supported", dir)
	case len(ac.RankPattern) > 0 || len(ac.AlphaPattern) > 0:
		return nil, fmt.Errorf("load adapter %s: per-module rank_pattern/alpha_pattern is not supported", dir)
	case ac.Bias != "" && ac.Bias != "none":
		return nil, fmt.Errorf("load adapter %s: bias %q is not supported (want none)", dir, ac.Bias)
	case len(ac.ModulesToSave) > 0:
		return nil, fmt.Errorf("load adapter %s: modules_to_save is not supported", dir)
	case len(ac.LayersToTransform) > 0 && string(ac.LayersToTransform) != "null":
		return nil, fmt.Errorf("load adapter %s: layers_to_transform is not supported", dir)
	}
	l, err := NewLoRA(cfg, LoRAConfig{Rank: ac.R, Alpha: ac.LoraAlpha, Targets: ac.TargetModules})
	if err != nil {
		return nil, fmt.Errorf("load adapter %s: %w", dir, err)
	}
	f, err := safetensors.Open(filepath.Join(dir, AdapterWeightsFile))
	if err != nil {
		return nil, fmt.Errorf("load adapter %s: %w", dir, err)
	}
	defer f.Close()
	want := map[string]Tensor{}
	for _, t := range l.Tensors() {
		want[t.Name] = t
	}
	got := map[string]bool{}
	for _, info := range f.Tensors() {
		name := strings.TrimPrefix(strings.TrimPrefix(info.Name, "base_model.model."), "transformer.")
		name = strings.Replace(strings.Replace(name, ".lora_A.default.", ".lora_A.", 1), ".lora_B.default.", ".lora_B.", 1)
		t, ok := want[name]
		if !ok {
			return nil, fmt.Errorf("load adapter %s: tensor %q is not an adapter of targets %v", dir, info.Name, ac.TargetModules)
		}
		if got[name] {
			return nil, fmt.Errorf("load adapter %s: tensor %q appears twice", dir, info.Name)
		}
		if !sameShape(info.Shape, t.Shape) {
			return nil, fmt.Errorf("load adapter %s: tensor %q: shape %v, want %v", dir, info.Name, info.Shape, t.Shape)
		}
		if err := f.Float32(info.Name, t.Data); err != nil {
			return nil, fmt.Errorf("load adapter %s: %w", dir, err)
		}
		got[name] = true
	}
	for _, t := range l.Tensors() {
		if !got[t.Name] {
			return nil, fmt.Errorf("load adapter %s: tensor %q is missing", dir, peftPrefix+t.Name)
		}
	}
	return l, nil
}
