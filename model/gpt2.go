package model

import (
	"errors"
	"fmt"

	"github.com/nebras-ai/nebras/model/kernels"
)

// Batch is B sequences of T tokens for a training or scoring pass.
type Batch struct {
	B, T    int
	Inputs  []int32   // [B·T] token ids
	Targets []int32   // [B·T] the next token at each position; negative means no target
	Weights []float32 // [B·T] loss weight per position (the loss mask); nil means 1 wherever there is a target
}

// Loss is the summed negative log-likelihood of a batch and the total
// weight it rests on, kept apart so gradient accumulation over several
// micro-batches can divide once by the whole.
type Loss struct {
	Sum    float64 // Σ weight·nll
	Weight float64 // Σ weight
}

// Mean is Sum/Weight, or 0 for an empty batch.
func (l Loss) Mean() float64 {
	if l.Weight == 0 {
		return 0
	}
	return l.Sum / l.Weight
}

// blockActs are what one block's forward pass keeps for its backward pass.
type blockActs struct {
	ln1, ln1Mean, ln1Rstd []float32 // [BT, C], [BT], [BT]
	qkv                   []float32 // [BT, 3C]
	att                   []float32 // [B, NH, T, T] softmax probabilities
	atty                  []float32 // [BT, C] attention output before c_proj
	res2                  []float32 // [BT, C] residual after attention
	ln2, ln2Mean, ln2Rstd []float32 // [BT, C], [BT], [BT]
	fch, fchGelu          []float32 // [BT, F] before and after gelu
	res3                  []float32 // [BT, C] residual after the MLP

	// LoRA's rank-r hidden states x·Aᵀ [BT, r], nil when not adapted.
	hQKV, hAttnProj, hFC, hFCProj []float32
}

// Engine runs GPT-2's forward and backward passes for batches up to B×T.
// It owns every buffer a step needs, allocated once, so a training step
// allocates nothing. An Engine is not safe for concurrent use.
type Engine struct {
	cfg    Config
	params *Params
	grads  *Params // nil when the base is frozen
	lora   *LoRA
	dlora  *LoRA
	maxB   int
	maxT   int

	cur     Batch // the last Forward's batch, for Backward
	encoded []float32
	blocks  []blockActs
	lnf     []float32
	lnfMean []float32
	lnfRstd []float32
	logits  []float32 // [BT, V]; Backward turns it into dlogits
	lse     []float32 // [BT] log-sum-exp per row
	nll     []float32 // [BT]
	backed  bool      // logits hold gradients now

	// Backward scratch.
	dres, dln, dqkv, datty, dfch, dh []float32
	attScratch                       [][]float32

	ops
	tLNBI  layerNormBackwardInput
	tLNBP  layerNormBackwardParams
	tBiasB biasBackward
	tGeluB geluBackward
	tAtt   attentionForward
	tAttB  attentionBackward
	tCE    crossEntropyForward
	tCEB   crossEntropyBackward
	tEnc   encoderBackward
}

// EngineOptions chooses what the engine trains.
type EngineOptions struct {
	B, T int // the largest batch it will see
	// Grads receives the base model's gradients; nil freezes the base.
	Grads *Params
	// LoRA adds adapters to the forward pass; LoRAGrads receives their
	// gradients.
	LoRA, LoRAGrads *LoRA
}

// NewEngine allocates the buffers for batches up to opt.B × opt.T.
func NewEngine(cpu *kernels.CPU, p *Params, opt EngineOptions) (*Engine, error) {
	cfg := p.Config
	if opt.B <= 0 || opt.T <= 0 {
		return nil, fmt.Errorf("engine: batch %d×%d must be positive", opt.B, opt.T)
	}
	if opt.T > cfg.NPositions {
		return nil, fmt.Errorf("engine: sequence length %d exceeds n_positions %d", opt.T, cfg.NPositions)
	}
	if opt.Grads != nil && len(opt.Grads.Data) != len(p.Data) {
		return nil, errors.New("engine: gradient buffer does not match the parameters")
	}
	if (opt.LoRAGrads != nil) && (opt.LoRA == nil || len(opt.LoRAGrads.Data) != len(opt.LoRA.Data)) {
		return nil, errors.New("engine: LoRA gradient buffer does not match the adapters")
	}
	B, T, C, V, F, NH := opt.B, opt.T, cfg.NEmbd, cfg.VocabSize, cfg.Inner(), cfg.NHead
	BT := B * T
	e := &Engine{
		ops: ops{cpu: cpu}, cfg: cfg, params: p, grads: opt.Grads, lora: opt.LoRA, dlora: opt.LoRAGrads,
		maxB: B, maxT: T,
		encoded: make([]float32, BT*C),
		blocks:  make([]blockActs, cfg.NLayer),
		lnf:     make([]float32, BT*C),
		lnfMean: make([]float32, BT),
		lnfRstd: make([]float32, BT),
		logits:  make([]float32, BT*V),
		lse:     make([]float32, BT),
		nll:     make([]float32, BT),
		dres:    make([]float32, BT*C),
		dln:     make([]float32, BT*C),
		dqkv:    make([]float32, BT*3*C),
		datty:   make([]float32, BT*C),
		dfch:    make([]float32, BT*F),
	}
	r := 0
	if opt.LoRA != nil {
		r = opt.LoRA.Config.Rank
		e.dh = make([]float32, BT*r)
	}
	hidden := func(ad *Adapter) []float32 {
		if ad == nil {
			return nil
		}
		return make([]float32, BT*r)
	}
	for l := range e.blocks {
		e.blocks[l] = blockActs{
			ln1: make([]float32, BT*C), ln1Mean: make([]float32, BT), ln1Rstd: make([]float32, BT),
			qkv:  make([]float32, BT*3*C),
			att:  make([]float32, B*NH*T*T),
			atty: make([]float32, BT*C),
			res2: make([]float32, BT*C),
			ln2:  make([]float32, BT*C), ln2Mean: make([]float32, BT), ln2Rstd: make([]float32, BT),
			fch: make([]float32, BT*F), fchGelu: make([]float32, BT*F),
			res3: make([]float32, BT*C),
		}
		if opt.LoRA != nil {
			ad := opt.LoRA.Blocks[l]
			b := &e.blocks[l]
			b.hQKV, b.hAttnProj, b.hFC, b.hFCProj = hidden(ad.QKV), hidden(ad.AttnProj), hidden(ad.FC), hidden(ad.FCProj)
		}
	}
	e.attScratch = make([][]float32, cpu.Threads())
	for i := range e.attScratch {
		e.attScratch[i] = make([]float32, T*T)
	}
	return e, nil
}

// Config is the model configuration the engine runs.
func (e *Engine) Config() Config { return e.cfg }

// validate checks a batch before any work, so a bad token id is a clear
// error rather than an index panic deep in a kernel.
func (e *Engine) validate(b Batch) error {
	if b.B <= 0 || b.T <= 0 || b.B > e.maxB || b.T > e.maxT {
		return fmt.Errorf("batch %d×%d does not fit the engine's %d×%d", b.B, b.T, e.maxB, e.maxT)
	}
	n := b.B * b.T
	if len(b.Inputs) != n || len(b.Targets) != n || (b.Weights != nil && len(b.Weights) != n) {
		return fmt.Errorf("batch %d×%d: inputs %d, targets %d, weights %d; want %d each",
			b.B, b.T, len(b.Inputs), len(b.Targets), len(b.Weights), n)
	}
	V := int32(e.cfg.VocabSize)
	for i, id := range b.Inputs {
		if id < 0 || id >= V {
			return fmt.Errorf("batch: input token %d at position %d is outside the vocabulary [0, %d)", id, i, V)
		}
	}
	for i, id := range b.Targets {
		if id >= V {
			return fmt.Errorf("batch: target token %d at position %d is outside the vocabulary [0, %d)", id, i, V)
		}
		if b.Weights != nil && b.Weights[i] != 0 && id < 0 {
			return fmt.Errorf("batch: position %d has weight %g but no target", i, b.Weights[i])
		}
	}
	return nil
}

// Forward runs the model over the batch, keeping what Backward needs, and
// returns the weighted loss.
func (e *Engine) Forward(b Batch) (Loss, error) {
	if err := e.validate(b); err != nil {
		return Loss{}, fmt.Errorf("forward: %w", err)
	}
	e.cur, e.backed = b, false
	cfg, p := e.cfg, e.params
	B, T, C, V, F, NH := b.B, b.T, cfg.NEmbd, cfg.VocabSize, cfg.Inner(), cfg.NHead
	BT := B * T
	eps := float32(cfg.LayerNormEps)

	encoderForward(e.encoded[:BT*C], b.Inputs, p.WTE, p.WPE, T, C)
	in := e.encoded
	for l := range e.blocks {
		a, w := &e.blocks[l], &p.Blocks[l]
		var ad BlockAdapters
		if e.lora != nil {
			ad = e.lora.Blocks[l]
		}
		e.layerNorm(a.ln1, a.ln1Mean, a.ln1Rstd, in, w.LN1W, w.LN1B, BT, C, eps)
		e.linear(a.qkv, a.ln1, w.QKVW, w.QKVB, nil, BT, C, 3*C, e.lora, ad.QKV, a.hQKV)
		e.tAtt = attentionForward{cpu: e.cpu, out: a.atty, att: a.att, qkv: a.qkv, B: B, T: T, C: C, NH: NH}
		e.cpu.Parallel(B*NH, 1, &e.tAtt)
		e.linear(a.res2, a.atty, w.AttnProjW, w.AttnProjB, in, BT, C, C, e.lora, ad.AttnProj, a.hAttnProj)
		e.layerNorm(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, w.LN2W, w.LN2B, BT, C, eps)
		e.linear(a.fch, a.ln2, w.FCW, w.FCB, nil, BT, C, F, e.lora, ad.FC, a.hFC)
		e.gelu(a.fchGelu[:BT*F], a.fch[:BT*F])
		e.linear(a.res3, a.fchGelu, w.FCProjW, w.FCProjB, a.res2, BT, F, C, e.lora, ad.FCProj, a.hFCProj)
		in = a.res3
	}
	e.layerNorm(e.lnf, e.lnfMean, e.lnfRstd, in, p.LNFW, p.LNFB, BT, C, eps)
	// The LM head is tied to the token embedding: logits = lnf · wteᵀ.
	e.cpu.Gemm(false, true, BT, V, C, 1, e.lnf, C, p.WTE, C, 0, e.logits, V)
	e.tCE = crossEntropyForward{logits: e.logits, lse: e.lse, nll: e.nll, targets: b.Targets, V: V}
	e.cpu.Parallel(BT, 1, &e.tCE)

	var loss Loss
	for i, t := range b.Targets {
		if t < 0 {
			continue
		}
		w := float64(1)
		if b.Weights != nil {
			w = float64(b.Weights[i])
		}
		loss.Sum += w * float64(e.nll[i])
		loss.Weight += w
	}
	return loss, nil
}

// Logits returns the last Forward's logits [B·T, V]. They are valid until
// Backward, which reuses the buffer for their gradient.
func (e *Engine) Logits() []float32 {
	if e.backed {
		return nil
	}
	return e.logits[:e.cur.B*e.cur.T*e.cfg.VocabSize]
}

// NLL returns the last Forward's per-position negative log-likelihood of
// the target [B·T] (0 where there is no target).
func (e *Engine) NLL() []float32 { return e.nll[:e.cur.B*e.cur.T] }

// Backward adds the gradients of scale·Σ weight·nll for the last Forward's
// batch into the gradient buffers. Pass scale = 1/Loss.Weight for the mean
// loss, or 1/(total weight) across micro-batches when accumulating.
func (e *Engine) Backward(scale float32) error {
	if e.backed || e.cur.B == 0 {
		return errors.New("backward: no forward pass to differentiate")
	}
	e.backed = true
	cfg, p, g := e.cfg, e.params, e.grads
	b := e.cur
	B, T, C, V, F, NH := b.B, b.T, cfg.NEmbd, cfg.VocabSize, cfg.Inner(), cfg.NHead
	BT := B * T

	e.tCEB = crossEntropyBackward{logits: e.logits, lse: e.lse, weight: b.Weights, targets: b.Targets, V: V, scale: scale}
	e.cpu.Parallel(BT, 1, &e.tCEB)
	dlogits := e.logits[:BT*V]
	e.cpu.Gemm(false, false, BT, C, V, 1, dlogits, V, p.WTE, C, 0, e.dln, C)
	if g != nil {
		e.cpu.Gemm(true, false, V, C, BT, 1, dlogits, V, e.lnf, C, 1, g.WTE, C)
	}
	last := e.encoded
	if n := len(e.blocks); n > 0 {
		last = e.blocks[n-1].res3
	}
	clear(e.dres[:BT*C])
	var gLNFW, gLNFB []float32
	if g != nil {
		gLNFW, gLNFB = g.LNFW, g.LNFB
	}
	e.layerNormBackward(e.dres, e.dln, last, e.lnfMean, e.lnfRstd, p.LNFW, gLNFW, gLNFB, BT, C)

	for l := len(e.blocks) - 1; l >= 0; l-- {
		a, w := &e.blocks[l], &p.Blocks[l]
		in := e.encoded
		if l > 0 {
			in = e.blocks[l-1].res3
		}
		var gw Block
		if g != nil {
			gw = g.Blocks[l]
		}
		var ad, dad BlockAdapters
		if e.lora != nil {
			ad = e.lora.Blocks[l]
			if e.dlora != nil {
				dad = e.dlora.Blocks[l]
			}
		}
		// res3 = res2 + c_proj(gelu(fch)): dres flows on to res2 unchanged.
		e.linearBackward(e.dfch, e.dres, a.fchGelu, w.FCProjW, gw.FCProjW, gw.FCProjB, BT, F, C, ad.FCProj, dad.FCProj, a.hFCProj)
		e.tGeluB = geluBackward{dinp: e.dfch[:BT*F], inp: a.fch[:BT*F], dout: e.dfch[:BT*F]}
		e.cpu.Parallel(BT*F, 4096, &e.tGeluB)
		e.linearBackward(e.dln, e.dfch, a.ln2, w.FCW, gw.FCW, gw.FCB, BT, C, F, ad.FC, dad.FC, a.hFC)
		e.layerNormBackward(e.dres, e.dln, a.res2, a.ln2Mean, a.ln2Rstd, w.LN2W, gw.LN2W, gw.LN2B, BT, C)
		// res2 = in + c_proj(attention(ln1)).
		e.linearBackward(e.datty, e.dres, a.atty, w.AttnProjW, gw.AttnProjW, gw.AttnProjB, BT, C, C, ad.AttnProj, dad.AttnProj, a.hAttnProj)
		e.tAttB = attentionBackward{cpu: e.cpu, dqkv: e.dqkv, dout: e.datty, qkv: a.qkv, att: a.att, scratch: e.attScratch, B: B, T: T, C: C, NH: NH}
		e.cpu.Parallel(B*NH, 1, &e.tAttB)
		e.linearBackward(e.dln, e.dqkv, a.ln1, w.QKVW, gw.QKVW, gw.QKVB, BT, C, 3*C, ad.QKV, dad.QKV, a.hQKV)
		e.layerNormBackward(e.dres, e.dln, in, a.ln1Mean, a.ln1Rstd, w.LN1W, gw.LN1W, gw.LN1B, BT, C)
	}
	if g != nil {
		e.tEnc = encoderBackward{dwte: g.WTE, dwpe: g.WPE, dout: e.dres[:BT*C], ids: b.Inputs, T: T, C: C}
		e.cpu.Parallel(C, colGrain, &e.tEnc)
	}
	return nil
}

// layerNormBackward adds LayerNorm's input gradient into dinp and, when
// dw is not nil, its parameter gradients into dw and db.
func (e *Engine) layerNormBackward(dinp, dout, inp, mean, rstd, w, dw, db []float32, N, C int) {
	e.tLNBI = layerNormBackwardInput{dinp: dinp, dout: dout, inp: inp, mean: mean, rstd: rstd, w: w, C: C}
	e.cpu.Parallel(N, rowGrain, &e.tLNBI)
	if dw != nil {
		e.tLNBP = layerNormBackwardParams{dw: dw, db: db, dout: dout, inp: inp, mean: mean, rstd: rstd, N: N, C: C}
		e.cpu.Parallel(C, colGrain, &e.tLNBP)
	}
}

// linearBackward is linear's backward pass: dinp [N, In] = dout·wᵀ
// (overwritten), dw += inpᵀ·dout and db += Σ dout when dw is not nil, and
// the adapter's gradients when dad is not nil.
func (e *Engine) linearBackward(dinp, dout, inp, w, dw, db []float32, N, In, Out int, ad, dad *Adapter, h []float32) {
	e.cpu.Gemm(false, true, N, In, Out, 1, dout, Out, w, Out, 0, dinp, In)
	if dw != nil {
		e.cpu.Gemm(true, false, In, Out, N, 1, inp, In, dout, Out, 1, dw, Out)
		e.tBiasB = biasBackward{db: db, dout: dout, N: N, C: Out}
		e.cpu.Parallel(Out, colGrain, &e.tBiasB)
	}
	if ad != nil {
		r := e.lora.Config.Rank
		s := e.lora.Config.Scale()
		dh := e.dh[:N*r]
		if dad != nil {
			// dB [Out, r] += s·doutᵀ·h
			e.cpu.Gemm(true, false, Out, r, N, s, dout, Out, h, r, 1, dad.B, r)
		}
		// dh [N, r] = s·dout·B
		e.cpu.Gemm(false, false, N, r, Out, s, dout, Out, ad.B, r, 0, dh, r)
		if dad != nil {
			// dA [r, In] += dhᵀ·inp
			e.cpu.Gemm(true, false, r, In, N, 1, dh, r, inp, In, 1, dad.A, In)
		}
		// dinp += dh·A
		e.cpu.Gemm(false, false, N, In, r, 1, dh, r, ad.A, In, 1, dinp, In)
	}
}
