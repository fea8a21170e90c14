package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// tensorSpec places one named tensor inside a Params buffer.
type tensorSpec struct {
	name   string // Hugging Face name without the "transformer." prefix
	shape  []int
	offset int
	decay  bool // weight decay applies (matrices and embeddings, as in nanoGPT)
}

func (t tensorSpec) numel() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// layout lists GPT-2's tensors in the order they sit in memory. Linear
// weights are in Hugging Face's Conv1D orientation, [in, out].
func (c Config) layout() []tensorSpec {
	C, V, P, F := c.NEmbd, c.VocabSize, c.NPositions, c.Inner()
	specs := []tensorSpec{
		{name: "wte.weight", shape: []int{V, C}, decay: true},
		{name: "wpe.weight", shape: []int{P, C}, decay: true},
	}
	for l := 0; l < c.NLayer; l++ {
		p := fmt.Sprintf("h.%d.", l)
		specs = append(specs,
			tensorSpec{name: p + "ln_1.weight", shape: []int{C}},
			tensorSpec{name: p + "ln_1.bias", shape: []int{C}},
			tensorSpec{name: p + "attn.c_attn.weight", shape: []int{C, 3 * C}, decay: true},
			tensorSpec{name: p + "attn.c_attn.bias", shape: []int{3 * C}},
			tensorSpec{name: p + "attn.c_proj.weight", shape: []int{C, C}, decay: true},
			tensorSpec{name: p + "attn.c_proj.bias", shape: []int{C}},
			tensorSpec{name: p + "ln_2.weight", shape: []int{C}},
			tensorSpec{name: p + "ln_2.bias", shape: []int{C}},
			tensorSpec{name: p + "mlp.c_fc.weight", shape: []int{C, F}, decay: true},
			tensorSpec{name: p + "mlp.c_fc.bias", shape: []int{F}},
			tensorSpec{name: p + "mlp.c_proj.weight", shape: []int{F, C}, decay: true},
			tensorSpec{name: p + "mlp.c_proj.bias", shape: []int{C}},
		)
	}
	specs = append(specs,
		tensorSpec{name: "ln_f.weight", shape: []int{C}},
		tensorSpec{name: "ln_f.bias", shape: []int{C}},
	)
	off := 0
	for i := range specs {
		specs[i].offset = off
		off += specs[i].numel()
	}
	return specs
}

// Block holds the views of one transformer block's parameters (or of their
// gradients: a gradient buffer has the same layout).
type Block struct {
	LN1W, LN1B []float32 // [C]
	QKVW       []float32 // [C, 3C]
	QKVB       []float32 // [3C]
	AttnProjW  []float32 // [C, C]
	AttnProjB  []float32 // [C]
	LN2W, LN2B []float32 // [C]
	FCW        []float32 // [C, F]
	FCB        []float32 // [F]
	FCProjW    []float32 // [F, C]
	FCProjB    []float32 // [C]
}

// Params is every GPT-2 parameter in one contiguous buffer, with named
// views into it. One buffer makes the optimizer, gradient clipping and
// checkpointing single loops, and a gradient is just another Params.
type Params struct {
	Config Config
	Data   []float32

	WTE    []float32 // [V, C], also the LM head
	WPE    []float32 // [P, C]
	Blocks []Block
	LNFW   []float32 // [C]
	LNFB   []float32 // [C]

	specs []tensorSpec
}

// NewParams allocates zeroed parameters for cfg.
func NewParams(cfg Config) *Params {
	specs := cfg.layout()
	last := specs[len(specs)-1]
	p := &Params{Config: cfg, Data: make([]float32, last.offset+last.numel()), specs: specs}
	view := func(i int) []float32 {
		s := specs[i]
		return p.Data[s.offset : s.offset+s.numel() : s.offset+s.numel()]
	}
	p.WTE, p.WPE = view(0), view(1)
	p.Blocks = make([]Block, cfg.NLayer)
	for l := range p.Blocks {
		i := 2 + 12*l
		p.Blocks[l] = Block{
			LN1W: view(i), LN1B: view(i + 1),
			QKVW: view(i + 2), QKVB: view(i + 3),
			AttnProjW: view(i + 4), AttnProjB: view(i + 5),
			LN2W: view(i + 6), LN2B: view(i + 7),
			FCW: view(i + 8), FCB: view(i + 9),
			FCProjW: view(i + 10), FCProjB: view(i + 11),
		}
	}
	n := len(specs)
	p.LNFW, p.LNFB = view(n-2), view(n-1)
	return p
}

// Tensor is a named view into a Params buffer.
type Tensor struct {
	Name  string // Hugging Face name without the "transformer." prefix
	Shape []int
	Data  []float32
	Decay bool // AdamW applies weight decay to it
}

// Tensors lists the parameters in memory order.
func (p *Params) Tensors() []Tensor {
	out := make([]Tensor, len(p.specs))
	for i, s := range p.specs {
		out[i] = Tensor{Name: s.name, Shape: s.shape, Data: p.Data[s.offset : s.offset+s.numel()], Decay: s.decay}
	}
	return out
}

// Tensor returns the parameter called name (without the "transformer."
// prefix).
func (p *Params) Tensor(name string) (Tensor, bool) {
	for i, s := range p.specs {
		if s.name == name {
			return p.Tensors()[i], true
		}
	}
	return Tensor{}, false
}

// DecayMask reports, per element of Data, whether weight decay applies, as
// runs of [start, end) offsets.
func (p *Params) DecayMask() [][2]int {
	var runs [][2]int
	for _, s := range p.specs {
		if !s.decay {
			continue
		}
		lo, hi := s.offset, s.offset+s.numel()
		if n := len(runs); n > 0 && runs[n-1][1] == lo {
			runs[n-1][1] = hi
			continue
		}
		runs = append(runs, [2]int{lo, hi})
	}
	return runs
}

// Zero sets every value to zero.
func (p *Params) Zero() { clear(p.Data) }

// InitGPT2 fills the parameters the way Hugging Face initialises GPT-2:
// weights and embeddings from N(0, initializer_range), the residual
// projections (c_proj) scaled down by sqrt(2·n_layer) so the residual stream
// does not grow with depth, biases zero and LayerNorms the identity.
func (p *Params) InitGPT2(seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6e65627261732d67)) // "nebras-g"
	std := p.Config.InitializerRange
	projStd := std / math.Sqrt(2*float64(p.Config.NLayer))
	for _, t := range p.Tensors() {
		switch {
		case len(t.Shape) == 2:
			s := std
			if hasSuffix(t.Name, "c_proj.weight") {
				s = projStd
			}
			for i := range t.Data {
				t.Data[i] = float32(rng.NormFloat64() * s)
			}
		case hasSuffix(t.Name, ".weight"): // LayerNorm gain
			for i := range t.Data {
				t.Data[i] = 1
			}
		default:
			clear(t.Data)
		}
	}
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}
