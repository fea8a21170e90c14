package model

import (
	"fmt"
	"math"

	"github.com/nebras-ai/nebras/model/kernels"
)

// AdamWConfig holds AdamW's hyper-parameters, with PyTorch's meanings.
type AdamWConfig struct {
	Beta1, Beta2 float64 // moment decay rates (PyTorch: 0.9, 0.999)
	Eps          float64 // added to the denominator (PyTorch: 1e-8)
	WeightDecay  float64 // decoupled decay, applied where the decay mask says
}

// DefaultAdamW is PyTorch's AdamW default apart from weight decay 0.1, the
// usual value for GPT-2 fine-tuning.
var DefaultAdamW = AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}

// AdamW is PyTorch's torch.optim.AdamW (single-tensor implementation) over
// one flat parameter buffer: decoupled weight decay p ← p·(1 − lr·wd), the
// moments m ← lerp(m, g, 1 − β1) and v ← β2·v + (1 − β2)·g², and
// p ← p − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε).
type AdamW struct {
	Config AdamWConfig
	Step   int       // number of updates done
	M, V   []float32 // first and second moments, same length as the parameters
	decay  [][2]int  // [start, end) runs that get weight decay

	task adamTask
	norm normTask
}

// NewAdamW makes an optimizer for n parameters; decay lists the runs of
// offsets that get weight decay (Params.DecayMask), nil for none.
func NewAdamW(n int, decay [][2]int, cfg AdamWConfig) (*AdamW, error) {
	switch {
	case !(cfg.Beta1 >= 0 && cfg.Beta1 < 1) || !(cfg.Beta2 >= 0 && cfg.Beta2 < 1):
		return nil, fmt.Errorf("adamw: betas (%g, %g) must be in [0, 1)", cfg.Beta1, cfg.Beta2)
	case !(cfg.Eps > 0):
		return nil, fmt.Errorf("adamw: eps %g must be positive", cfg.Eps)
	case !(cfg.WeightDecay >= 0):
		return nil, fmt.Errorf("adamw: weight decay %g must not be negative", cfg.WeightDecay)
	}
	for _, r := range decay {
		if r[0] < 0 || r[1] > n || r[0] > r[1] {
			return nil, fmt.Errorf("adamw: decay run [%d, %d) outside %d parameters", r[0], r[1], n)
		}
	}
	return &AdamW{Config: cfg, M: make([]float32, n), V: make([]float32, n), decay: decay}, nil
}

// Update applies one AdamW step with learning rate lr.
func (o *AdamW) Update(cpu *kernels.CPU, params, grads []float32, lr float64) error {
	if len(params) != len(o.M) || len(grads) != len(o.M) {
		return fmt.Errorf("adamw: %d parameters and %d gradients for an optimizer of %d", len(params), len(grads), len(o.M))
	}
	o.Step++
	c := o.Config
	t := float64(o.Step)
	o.task = adamTask{
		p: params, g: grads, m: o.M, v: o.V,
		beta1: float32(c.Beta1), beta2: float32(c.Beta2), eps: float32(c.Eps),
		stepSize:  float32(lr / (1 - math.Pow(c.Beta1, t))),
		bc2Sqrt:   float32(math.Sqrt(1 - math.Pow(c.Beta2, t))),
		decayRuns: o.decay,
		decayFac:  float32(1 - lr*c.WeightDecay),
	}
	cpu.Parallel(len(params), 1<<14, &o.task)
	return nil
}

type adamTask struct {
	p, g, m, v         []float32
	beta1, beta2, eps  float32
	stepSize, bc2Sqrt  float32
	decayMul, decayFac float32
	decayRuns          [][2]int
}

func (k *adamTask) Run(_, lo, hi int) {
	// Walk [lo, hi) in pieces that are wholly inside or outside a decay run.
	for lo < hi {
		end, decay := hi, false
		for _, r := range k.decayRuns {
			if lo >= r[0] && lo < r[1] {
				end, decay = min(hi, r[1]), true
				break
			}
			if r[0] > lo && r[0] < end {
				end = r[0]
			}
		}
		mul := float32(1)
		if decay {
			mul = k.decayFac
		}
		k.span(lo, end, mul)
		lo = end
	}
}

func (k *adamTask) span(lo, hi int, mul float32) {
	p, g, m, v := k.p[lo:hi], k.g[lo:hi], k.m[lo:hi], k.v[lo:hi]
	b1, b2 := k.beta1, k.beta2
	for i := range p {
		gi := g[i]
		pi := p[i] * mul
		mi := m[i] + (1-b1)*(gi-m[i]) // torch's exp_avg.lerp_(grad, 1-β1)
		vi := b2*v[i] + (1-b2)*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/k.bc2Sqrt + k.eps
		p[i] = pi - k.stepSize*(mi/denom)
	}
}

// normChunks is the fixed number of pieces the gradient norm is summed in.
// It does not depend on the thread count, so neither does the result.
const normChunks = 64

type normTask struct {
	g       []float32
	partial [normChunks]float64
}

func (k *normTask) Run(_, lo, hi int) {
	n := len(k.g)
	for c := lo; c < hi; c++ {
		var s float64
		for _, v := range k.g[c*n/normChunks : (c+1)*n/normChunks] {
			s += float64(v) * float64(v)
		}
		k.partial[c] = s
	}
}

// GradNorm returns the global L2 norm of grads.
func (o *AdamW) GradNorm(cpu *kernels.CPU, grads []float32) float64 {
	o.norm.g = grads
	cpu.Parallel(normChunks, 1, &o.norm)
	var s float64
	for _, v := range o.norm.partial {
		s += v
	}
	o.norm.g = nil
	return math.Sqrt(s)
}

// ClipGradNorm scales grads so their global L2 norm is at most maxNorm, as
// torch.nn.utils.clip_grad_norm_ does (coefficient maxNorm/(norm + 1e-6),
// capped at 1), and returns the norm before clipping. maxNorm ≤ 0 only
// measures.
func (o *AdamW) ClipGradNorm(cpu *kernels.CPU, grads []float32, maxNorm float64) float64 {
	norm := o.GradNorm(cpu, grads)
	if maxNorm <= 0 {
		return norm
	}
	coef := float32(maxNorm / (norm + 1e-6))
	if coef < 1 {
		for i := range grads {
			grads[i] *= coef
		}
	}
	return norm
}
