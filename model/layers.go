package model

import (
	"math"

	"github.com/nebras-ai/nebras/model/kernels"
)

// This file holds GPT-2's layers, each forward beside its backward, written
// as loops over rows so they can be split across cores. Every reduction that
// crosses rows (bias and LayerNorm gradients, embedding scatter) is split by
// columns instead, so each output is summed in the same order whatever the
// number of threads: training is bit-identical on 1 or 16 cores.
//
// The Task types exist because a closure handed to a worker escapes and
// allocates; a pointer to a struct kept in the engine does not.

// rowGrain is the fewest rows a worker takes, so small batches do not pay
// more in hand-off than they gain.
const rowGrain = 4

// colGrain is the fewest columns a worker takes in column-split reductions.
const colGrain = 64

// ---------------------------------------------------------------- encoder

// encoderForward: out[b,t,:] = wte[ids[b,t],:] + wpe[pos0+t,:].
// out [B·T, C], ids [B·T].
func encoderForward(out []float32, ids []int32, wte, wpe []float32, T, C int) {
	for r, id := range ids {
		t := r % T
		o := out[r*C : (r+1)*C]
		e := wte[int(id)*C : int(id)*C+C]
		p := wpe[t*C : t*C+C]
		for i := range o {
			o[i] = e[i] + p[i]
		}
	}
}

// encoderBackward scatters dout rows into the embedding gradients. Columns
// are split across workers; rows are visited in order, so tokens that repeat
// accumulate in a fixed order.
type encoderBackward struct {
	dwte, dwpe, dout []float32 // dwte [V,C] (nil when frozen), dwpe [P,C], dout [B·T, C]
	ids              []int32
	T, C             int
}

func (k *encoderBackward) Run(_, lo, hi int) {
	for r, id := range k.ids {
		t := r % k.T
		d := k.dout[r*k.C+lo : r*k.C+hi]
		if k.dwte != nil {
			e := k.dwte[int(id)*k.C+lo : int(id)*k.C+hi]
			for i, v := range d {
				e[i] += v
			}
		}
		if k.dwpe != nil {
			p := k.dwpe[t*k.C+lo : t*k.C+hi]
			for i, v := range d {
				p[i] += v
			}
		}
	}
}

// -------------------------------------------------------------- layernorm

// layerNormForward normalises each row of inp [N, C] and keeps mean and
// 1/std [N] for the backward pass (nil when not training).
type layerNormForward struct {
	out, mean, rstd, inp, w, b []float32
	C                          int
	eps                        float32
}

func (k *layerNormForward) Run(_, lo, hi int) {
	C := k.C
	for r := lo; r < hi; r++ {
		x := k.inp[r*C : (r+1)*C]
		var m float32
		for _, v := range x {
			m += v
		}
		m /= float32(C)
		var v2 float32
		for _, v := range x {
			d := v - m
			v2 += d * d
		}
		v2 /= float32(C)
		s := 1 / float32(math.Sqrt(float64(v2+k.eps)))
		o := k.out[r*C : (r+1)*C]
		w, b := k.w[:C], k.b[:C]
		for i, v := range x {
			o[i] = (v-m)*s*w[i] + b[i]
		}
		if k.mean != nil {
			k.mean[r], k.rstd[r] = m, s
		}
	}
}

// layerNormBackwardInput adds the input gradient of each row into dinp.
type layerNormBackwardInput struct {
	dinp, dout, inp, mean, rstd, w []float32
	C                              int
}

func (k *layerNormBackwardInput) Run(_, lo, hi int) {
	C := k.C
	w := k.w[:C]
	for r := lo; r < hi; r++ {
		x, d := k.inp[r*C:(r+1)*C], k.dout[r*C:(r+1)*C]
		m, s := k.mean[r], k.rstd[r]
		// dx = s·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = dout·w.
		var sumD, sumDX float32
		for i, v := range x {
			dn := d[i] * w[i]
			sumD += dn
			sumDX += dn * (v - m) * s
		}
		sumD /= float32(C)
		sumDX /= float32(C)
		di := k.dinp[r*C : (r+1)*C]
		for i, v := range x {
			xh := (v - m) * s
			di[i] += s * (d[i]*w[i] - sumD - xh*sumDX)
		}
	}
}

// layerNormBackwardParams accumulates dw and db over all N rows, split by
// columns.
type layerNormBackwardParams struct {
	dw, db, dout, inp, mean, rstd []float32
	N, C                          int
}

func (k *layerNormBackwardParams) Run(_, lo, hi int) {
	C := k.C
	dw, db := k.dw[lo:hi], k.db[lo:hi]
	for r := 0; r < k.N; r++ {
		x, d := k.inp[r*C+lo:r*C+hi], k.dout[r*C+lo:r*C+hi]
		m, s := k.mean[r], k.rstd[r]
		for i, v := range x {
			dw[i] += d[i] * (v - m) * s
			db[i] += d[i]
		}
	}
}

// ------------------------------------------------------------------- bias

// addBias adds b [C] to every row of out [N, C].
type addBias struct {
	out, b []float32
	C      int
}

func (k *addBias) Run(_, lo, hi int) {
	b := k.b[:k.C]
	for r := lo; r < hi; r++ {
		o := k.out[r*k.C : (r+1)*k.C]
		for i, v := range b {
			o[i] += v
		}
	}
}

// biasBackward accumulates db [C] += Σ_rows dout [N, C], split by columns.
type biasBackward struct {
	db, dout []float32
	N, C     int
}

func (k *biasBackward) Run(_, lo, hi int) {
	db := k.db[lo:hi]
	for r := 0; r < k.N; r++ {
		d := k.dout[r*k.C+lo : r*k.C+hi]
		for i, v := range d {
			db[i] += v
		}
	}
}

// ------------------------------------------------------------------- gelu

// gelu_new, the tanh approximation GPT-2 was trained with:
// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
const (
	geluScale = 0.7978845608028654 // √(2/π)
	geluCubic = 0.044715
)

// geluForward: out = gelu(inp), elementwise over [lo, hi).
type geluForward struct{ out, inp []float32 }

func (k *geluForward) Run(_, lo, hi int) {
	for i, x := range k.inp[lo:hi] {
		k.out[lo+i] = 0.5 * x * (1 + tanhf(geluScale*(x+geluCubic*x*x*x)))
	}
}

// geluBackward: dinp = dout·gelu'(inp), elementwise.
type geluBackward struct{ dinp, inp, dout []float32 }

func (k *geluBackward) Run(_, lo, hi int) {
	for i, x := range k.inp[lo:hi] {
		u := geluScale * (x + geluCubic*x*x*x)
		t := tanhf(u)
		sech2 := 1 - t*t
		g := 0.5*(1+t) + 0.5*x*sech2*geluScale*(1+3*geluCubic*x*x)
		k.dinp[lo+i] = g * k.dout[lo+i]
	}
}

// -------------------------------------------------------------- attention

// attentionForward computes causal self-attention per (batch, head) pair:
// S = Q·Kᵀ/√hs, P = softmax(S) over positions ≤ t, out = P·V.
// qkv [B·T, 3C] holds q, k and v side by side, heads contiguous in each;
// att [B, NH, T, T] keeps P for the backward pass; out [B·T, C].
type attentionForward struct {
	cpu         *kernels.CPU
	out, att    []float32
	qkv         []float32
	B, T, C, NH int
}

func (k *attentionForward) Run(worker, lo, hi int) {
	T, C, NH := k.T, k.C, k.NH
	hs := C / NH
	scale := float32(1 / math.Sqrt(float64(hs)))
	ws := k.cpu.Workspace(worker)
	for bh := lo; bh < hi; bh++ {
		b, h := bh/NH, bh%NH
		base := b * T * 3 * C
		q := k.qkv[base+h*hs:]
		kk := k.qkv[base+C+h*hs:]
		v := k.qkv[base+2*C+h*hs:]
		p := k.att[bh*T*T : (bh+1)*T*T]
		kernels.GemmSerial(ws, false, true, T, T, hs, scale, q, 3*C, kk, 3*C, 0, p, T)
		for t := 0; t < T; t++ {
			softmaxCausalRow(p[t*T:(t+1)*T], t)
		}
		kernels.GemmSerial(ws, false, false, T, hs, T, 1, p, T, v, 3*C, 0, k.out[b*T*C+h*hs:], C)
	}
}

// softmaxCausalRow turns row t of the scores into probabilities over
// positions 0..t and zeroes the future.
func softmaxCausalRow(row []float32, t int) {
	mx := row[0]
	for _, v := range row[1 : t+1] {
		if v > mx {
			mx = v
		}
	}
	live := row[:t+1]
	inv := 1 / kernels.ExpShift(live, live, mx, 1)
	for i := range live {
		live[i] *= inv
	}
	clear(row[t+1:])
}

// attentionBackward writes dqkv [B·T, 3C] from dout [B·T, C], using the
// probabilities kept by the forward pass. Each (batch, head) pair owns its
// own columns of dqkv, so pairs run in parallel without sharing.
type attentionBackward struct {
	cpu         *kernels.CPU
	dqkv, dout  []float32
	qkv, att    []float32
	scratch     [][]float32 // per worker, [T, T]
	B, T, C, NH int
}

func (k *attentionBackward) Run(worker, lo, hi int) {
	T, C, NH := k.T, k.C, k.NH
	hs := C / NH
	scale := float32(1 / math.Sqrt(float64(hs)))
	ws := k.cpu.Workspace(worker)
	dp := k.scratch[worker][:T*T]
	for bh := lo; bh < hi; bh++ {
		b, h := bh/NH, bh%NH
		base := b * T * 3 * C
		q, kk, v := k.qkv[base+h*hs:], k.qkv[base+C+h*hs:], k.qkv[base+2*C+h*hs:]
		dq, dk, dv := k.dqkv[base+h*hs:], k.dqkv[base+C+h*hs:], k.dqkv[base+2*C+h*hs:]
		do := k.dout[b*T*C+h*hs:]
		p := k.att[bh*T*T : (bh+1)*T*T]
		// dP = dO·Vᵀ, dV = Pᵀ·dO.
		kernels.GemmSerial(ws, false, true, T, T, hs, 1, do, C, v, 3*C, 0, dp, T)
		kernels.GemmSerial(ws, true, false, T, hs, T, 1, p, T, do, C, 0, dv, 3*C)
		// Softmax backward: dS = P⊙(dP − Σ_j P·dP), then the 1/√hs scale.
		for t := 0; t < T; t++ {
			pr, dr := p[t*T:t*T+t+1], dp[t*T:(t+1)*T]
			var dot float32
			for j, pv := range pr {
				dot += pv * dr[j]
			}
			for j, pv := range pr {
				dr[j] = pv * (dr[j] - dot) * scale
			}
			clear(dr[t+1:])
		}
		// dQ = dS·K, dK = dSᵀ·Q.
		kernels.GemmSerial(ws, false, false, T, hs, T, 1, dp, T, kk, 3*C, 0, dq, 3*C)
		kernels.GemmSerial(ws, true, false, T, hs, T, 1, dp, T, q, 3*C, 0, dk, 3*C)
	}
}

// ---------------------------------------------------------- cross-entropy

// crossEntropyForward computes, per row of logits [N, V], the log of the
// softmax normaliser (kept for backward) and the negative log-likelihood of
// the target. Rows with a negative target get no loss.
type crossEntropyForward struct {
	logits, lse, nll []float32
	targets          []int32
	V                int
}

func (k *crossEntropyForward) Run(_, lo, hi int) {
	V := k.V
	for r := lo; r < hi; r++ {
		row := k.logits[r*V : (r+1)*V]
		mx := row[0]
		for _, v := range row {
			if v > mx {
				mx = v
			}
		}
		lse := mx + float32(math.Log(float64(kernels.ExpShift(nil, row, mx, 1))))
		k.lse[r] = lse
		if t := k.targets[r]; t >= 0 {
			k.nll[r] = lse - row[t]
		} else {
			k.nll[r] = 0
		}
	}
}

// crossEntropyBackward overwrites logits with dloss/dlogits:
// (softmax − onehot(target))·weight[r]·scale. Rows of weight 0, or with no
// target, become 0.
type crossEntropyBackward struct {
	logits, lse, weight []float32
	targets             []int32
	V                   int
	scale               float32
}

func (k *crossEntropyBackward) Run(_, lo, hi int) {
	V := k.V
	for r := lo; r < hi; r++ {
		row := k.logits[r*V : (r+1)*V]
		w := k.scale
		if k.weight != nil {
			w *= k.weight[r]
		}
		if w == 0 || k.targets[r] < 0 {
			clear(row)
			continue
		}
		kernels.ExpShift(row, row, k.lse[r], w)
		row[k.targets[r]] -= w
	}
}
