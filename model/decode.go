package model

import (
	"fmt"
	"math"

	"github.com/nebras-ai/nebras/model/kernels"
)

// Decoder runs GPT-2 incrementally with a key/value cache for up to
// MaxSeqs sequences at once. One Step appends tokens to any subset of the
// sequences (a whole prompt for one just joining, one token each for those
// decoding) and returns the next-token logits of each, so sequences of
// different lengths share every matrix multiply: the basis of continuous
// batching. A Decoder is not safe for concurrent use.
type Decoder struct {
	ops
	cfg    Config
	params *Params
	maxLen int // positions per sequence, ≤ n_positions
	rows   int // the most rows one Step may carry

	lens  []int       // tokens cached per sequence
	cache [][]float32 // [seq] → [layer][2][maxLen, C] keys then values

	// Step scratch, [rows, …].
	x, ln, qkv, atty, fch []float32
	last, lnLast          []float32 // [MaxSeqs, C] the last row of each sequence
	logits                []float32 // [MaxSeqs, V]
	scores                [][]float32
	rowSeq, rowPos        []int // per row: which sequence, which position
	spans                 []decodeSpan

	tAtt decodeAttention
}

// decodeSpan is one sequence's run of rows in a Step.
type decodeSpan struct {
	seq, row0, n int
}

// NewDecoder allocates caches for maxSeqs sequences of up to maxLen
// positions (0 means n_positions) and scratch for Steps of up to maxRows
// rows in all (0 means maxLen).
func NewDecoder(cpu *kernels.CPU, p *Params, maxSeqs, maxLen, maxRows int) (*Decoder, error) {
	cfg := p.Config
	if maxLen <= 0 || maxLen > cfg.NPositions {
		maxLen = cfg.NPositions
	}
	if maxRows <= 0 {
		maxRows = maxLen
	}
	if maxSeqs <= 0 {
		return nil, fmt.Errorf("decoder: %d sequences", maxSeqs)
	}
	maxRows = max(maxRows, maxSeqs)
	C, F, V := cfg.NEmbd, cfg.Inner(), cfg.VocabSize
	d := &Decoder{
		ops: ops{cpu: cpu}, cfg: cfg, params: p, maxLen: maxLen, rows: maxRows,
		lens:   make([]int, maxSeqs),
		cache:  make([][]float32, maxSeqs),
		x:      make([]float32, maxRows*C),
		ln:     make([]float32, maxRows*C),
		qkv:    make([]float32, maxRows*3*C),
		atty:   make([]float32, maxRows*C),
		fch:    make([]float32, maxRows*F),
		last:   make([]float32, maxSeqs*C),
		lnLast: make([]float32, maxSeqs*C),
		logits: make([]float32, maxSeqs*V),
		rowSeq: make([]int, maxRows),
		rowPos: make([]int, maxRows),
		spans:  make([]decodeSpan, 0, maxSeqs),
		scores: make([][]float32, cpu.Threads()),
	}
	for i := range d.cache {
		d.cache[i] = make([]float32, cfg.NLayer*2*maxLen*C)
	}
	for i := range d.scores {
		d.scores[i] = make([]float32, scoreRows*maxLen)
	}
	return d, nil
}

// MaxSeqs is the number of sequences the decoder holds.
func (d *Decoder) MaxSeqs() int { return len(d.lens) }

// MaxLen is the most positions one sequence may hold.
func (d *Decoder) MaxLen() int { return d.maxLen }

// MaxRows is the most tokens one Step may carry in all.
func (d *Decoder) MaxRows() int { return d.rows }

// Len is the number of tokens cached for sequence seq.
func (d *Decoder) Len(seq int) int { return d.lens[seq] }

// Reset empties sequence seq so it can start a new prompt.
func (d *Decoder) Reset(seq int) { d.lens[seq] = 0 }

// kv returns the key and value caches [maxLen, C] of seq at layer l.
func (d *Decoder) kv(seq, l int) (k, v []float32) {
	n := d.maxLen * d.cfg.NEmbd
	c := d.cache[seq][l*2*n:]
	return c[:n], c[n : 2*n]
}

// Step appends tokens[i] to sequence seqs[i] for every i and returns the
// logits [len(seqs), V] that follow each sequence's last token. The slice
// is reused by the next Step.
func (d *Decoder) Step(seqs []int, tokens [][]int32) ([]float32, error) {
	if len(seqs) != len(tokens) || len(seqs) == 0 || len(seqs) > len(d.lens) {
		return nil, fmt.Errorf("decoder: %d sequences and %d token lists", len(seqs), len(tokens))
	}
	cfg, p := d.cfg, d.params
	C, F, V, NH := cfg.NEmbd, cfg.Inner(), cfg.VocabSize, cfg.NHead
	d.spans = d.spans[:0]
	N := 0
	for i, s := range seqs {
		if s < 0 || s >= len(d.lens) {
			return nil, fmt.Errorf("decoder: sequence %d out of range [0, %d)", s, len(d.lens))
		}
		for _, o := range d.spans {
			if o.seq == s {
				return nil, fmt.Errorf("decoder: sequence %d given twice in one step", s)
			}
		}
		n := len(tokens[i])
		if n == 0 {
			return nil, fmt.Errorf("decoder: no tokens for sequence %d", s)
		}
		if d.lens[s]+n > d.maxLen {
			return nil, fmt.Errorf("decoder: sequence %d would hold %d tokens, more than %d", s, d.lens[s]+n, d.maxLen)
		}
		if N+n > d.rows {
			return nil, fmt.Errorf("decoder: step of more than %d tokens", d.rows)
		}
		for _, id := range tokens[i] {
			if id < 0 || int(id) >= V {
				return nil, fmt.Errorf("decoder: token %d outside the vocabulary [0, %d)", id, V)
			}
		}
		d.spans = append(d.spans, decodeSpan{seq: s, row0: N, n: n})
		N += n
	}

	// Embed every new token at its own position.
	for i, sp := range d.spans {
		for j, id := range tokens[i] {
			r, pos := sp.row0+j, d.lens[sp.seq]+j
			x := d.x[r*C : (r+1)*C]
			e, w := p.WTE[int(id)*C:int(id)*C+C], p.WPE[pos*C:pos*C+C]
			for i := range x {
				x[i] = e[i] + w[i]
			}
		}
	}
	eps := float32(cfg.LayerNormEps)
	for l := range p.Blocks {
		w := &p.Blocks[l]
		d.layerNorm(d.ln, nil, nil, d.x, w.LN1W, w.LN1B, N, C, eps)
		d.linear(d.qkv, d.ln, w.QKVW, w.QKVB, nil, N, C, 3*C, nil, nil, nil)
		// Append this step's keys and values to the caches, then attend.
		for _, sp := range d.spans {
			kc, vc := d.kv(sp.seq, l)
			for j := 0; j < sp.n; j++ {
				r, pos := sp.row0+j, d.lens[sp.seq]+j
				copy(kc[pos*C:(pos+1)*C], d.qkv[r*3*C+C:r*3*C+2*C])
				copy(vc[pos*C:(pos+1)*C], d.qkv[r*3*C+2*C:r*3*C+3*C])
			}
		}
		d.tAtt = decodeAttention{d: d, layer: l, NH: NH, C: C}
		d.cpu.Parallel(len(d.spans)*NH, 1, &d.tAtt)
		d.linear(d.x, d.atty, w.AttnProjW, w.AttnProjB, d.x, N, C, C, nil, nil, nil)
		d.layerNorm(d.ln, nil, nil, d.x, w.LN2W, w.LN2B, N, C, eps)
		d.linear(d.fch, d.ln, w.FCW, w.FCB, nil, N, C, F, nil, nil, nil)
		d.gelu(d.fch[:N*F], d.fch[:N*F])
		d.linear(d.x, d.fch, w.FCProjW, w.FCProjB, d.x, N, F, C, nil, nil, nil)
	}
	// Only each sequence's last position needs the final norm and LM head.
	S := len(d.spans)
	for i, sp := range d.spans {
		r := sp.row0 + sp.n - 1
		copy(d.last[i*C:(i+1)*C], d.x[r*C:(r+1)*C])
		d.lens[sp.seq] += sp.n
	}
	d.layerNorm(d.lnLast, nil, nil, d.last, p.LNFW, p.LNFB, S, C, eps)
	d.cpu.Gemm(false, true, S, V, C, 1, d.lnLast, C, p.WTE, C, 0, d.logits, V)
	return d.logits[:S*V], nil
}

// scoreRows is how many rows of attention scores a worker holds at once.
const scoreRows = 64

// decodeAttention attends each new row to its sequence's cache, one
// (sequence, head) pair per unit of work.
type decodeAttention struct {
	d     *Decoder
	layer int
	NH, C int
}

func (k *decodeAttention) Run(worker, lo, hi int) {
	d, C := k.d, k.C
	hs := C / k.NH
	scale := float32(1 / math.Sqrt(float64(hs)))
	ws := d.cpu.Workspace(worker)
	sc := d.scores[worker]
	chunk := len(sc) / d.maxLen
	for u := lo; u < hi; u++ {
		sp, h := d.spans[u/k.NH], u%k.NH
		kc, vc := d.kv(sp.seq, k.layer)
		start := d.lens[sp.seq] // positions before this step
		// Rows go through in chunks: S = Q·Kᵀ over the keys the chunk's
		// last row may see, a causal softmax per row, then P·V.
		for j0 := 0; j0 < sp.n; j0 += chunk {
			nr := min(chunk, sp.n-j0)
			L := start + j0 + nr
			r0 := sp.row0 + j0
			s := sc[:nr*L]
			kernels.GemmSerial(ws, false, true, nr, L, hs, scale, d.qkv[r0*3*C+h*hs:], 3*C, kc[h*hs:], C, 0, s, L)
			for i := 0; i < nr; i++ {
				softmaxCausalRow(s[i*L:(i+1)*L], start+j0+i)
			}
			kernels.GemmSerial(ws, false, false, nr, hs, L, 1, s, L, vc[h*hs:], C, 0, d.atty[r0*C+h*hs:], C)
		}
	}
}
