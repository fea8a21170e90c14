package model

import "github.com/nebras-ai/nebras/model/kernels"

// ops are the forward layers shared by the training engine and the
// decoder, with the task values they hand to the workers kept in place so
// a call allocates nothing.
type ops struct {
	cpu   *kernels.CPU
	tLN   layerNormForward
	tBias addBias
	tGelu geluForward
}

// layerNorm runs LayerNorm over rows of inp [N, C]; mean and rstd may be
// nil when nothing will be differentiated.
func (o *ops) layerNorm(out, mean, rstd, inp, w, b []float32, N, C int, eps float32) {
	o.tLN = layerNormForward{out: out, mean: mean, rstd: rstd, inp: inp, w: w, b: b, C: C, eps: eps}
	o.cpu.Parallel(N, rowGrain, &o.tLN)
}

// gelu applies gelu_new elementwise.
func (o *ops) gelu(out, inp []float32) {
	o.tGelu = geluForward{out: out, inp: inp}
	o.cpu.Parallel(len(inp), 4096, &o.tGelu)
}

// linear computes out [N, Out] = resid + inp [N, In] · w [In, Out] + b, plus
// the adapter's scale·(inp·Aᵀ)·Bᵀ when ad is not nil (keeping inp·Aᵀ in h).
// resid may be nil.
func (o *ops) linear(out, inp, w, b, resid []float32, N, In, Out int, lora *LoRA, ad *Adapter, h []float32) {
	out = out[:N*Out]
	if resid != nil {
		copy(out, resid[:N*Out])
	} else {
		clear(out)
	}
	o.tBias = addBias{out: out, b: b, C: Out}
	o.cpu.Parallel(N, rowGrain, &o.tBias)
	o.cpu.Gemm(false, false, N, Out, In, 1, inp, In, w, Out, 1, out, Out)
	if ad != nil {
		r := lora.Config.Rank
		o.cpu.Gemm(false, true, N, r, In, 1, inp, In, ad.A, In, 0, h, r)
		o.cpu.Gemm(false, true, N, Out, r, lora.Config.Scale(), h, r, ad.B, r, 1, out, Out)
	}
}
