package model

import (
	"bytes"
	"context"
	"fmt"

	"github.com/nebras-ai/nebras/model/kernels"
)

// GenerateOptions controls Generate.
type GenerateOptions struct {
	MaxNewTokens int // default 64
	Sampling
	// StopTokens end a sequence when produced (not included in the
	// output); nil means the model's end-of-text token.
	StopTokens []int32
	// Stop are strings that end a sequence when they appear in its text;
	// the text is cut before them. They need the model's tokenizer.
	Stop []string
	// MaxBatch is how many sequences decode together (default 8); more
	// prompts wait and join as others finish.
	MaxBatch int
}

// Finish reasons, as OpenAI's API names them.
const (
	FinishStop   = "stop"   // a stop token or stop string
	FinishLength = "length" // max new tokens or the context was full
)

// Generation is one prompt's result.
type Generation struct {
	Tokens       []int32 // generated tokens, without the stop token
	Text         string  // their text when the model has a tokenizer, cut at a stop string
	FinishReason string
	PromptTokens int // prompt tokens the model saw
	Truncated    int // prompt tokens dropped from the left to fit the context
}

// FitPrompt keeps the right end of a prompt so it and maxNew generated
// tokens fit in maxLen positions, and caps maxNew to leave at least one
// prompt token. It returns the prompt to use, the new cap, and how many
// tokens were dropped.
func FitPrompt(prompt []int32, maxNew, maxLen int) ([]int32, int, int) {
	if maxNew > maxLen-1 {
		maxNew = maxLen - 1
	}
	keep := maxLen - maxNew
	if len(prompt) <= keep {
		return prompt, maxNew, 0
	}
	return prompt[len(prompt)-keep:], maxNew, len(prompt) - keep
}

// Generate continues each prompt. Prompts longer than the context are cut
// from the left. With the same options and seed the result is the same on
// every call.
func (m *Model) Generate(ctx context.Context, cpu *kernels.CPU, prompts [][]int32, opt GenerateOptions) ([]Generation, error) {
	if err := opt.Sampling.Validate(); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if opt.MaxNewTokens == 0 {
		opt.MaxNewTokens = 64
	}
	if opt.MaxNewTokens < 0 {
		return nil, fmt.Errorf("generate: max new tokens %d must be positive", opt.MaxNewTokens)
	}
	if len(opt.Stop) > 0 && m.Tokenizer == nil {
		return nil, fmt.Errorf("generate: stop strings need a tokenizer and the model has none")
	}
	stops := opt.StopTokens
	if stops == nil {
		stops = []int32{int32(m.Config.EOSTokenID)}
	}
	batch := opt.MaxBatch
	if batch <= 0 {
		batch = 8
	}
	batch = min(batch, len(prompts))
	if batch == 0 {
		return nil, nil
	}
	dec, err := NewDecoder(cpu, m.Params, batch, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	type active struct {
		idx     int // prompt index
		ctx     []int32
		maxNew  int
		sampler *Sampler
		text    []byte
	}
	out := make([]Generation, len(prompts))
	slots := make([]*active, batch)
	next := 0
	var seqs []int
	var toks [][]int32
	V := m.Config.VocabSize
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		// Admit waiting prompts into free slots, one prefill each.
		for s := range slots {
			if slots[s] != nil || next >= len(prompts) {
				continue
			}
			p := prompts[next]
			if len(p) == 0 {
				p = []int32{int32(m.Config.BOSTokenID)}
			}
			p, maxNew, cut := FitPrompt(p, opt.MaxNewTokens, dec.MaxLen())
			out[next] = Generation{PromptTokens: len(p), Truncated: cut}
			a := &active{idx: next, ctx: append([]int32(nil), p...), maxNew: maxNew, sampler: NewSampler(opt.Sampling)}
			next++
			dec.Reset(s)
			logits, err := dec.Step([]int{s}, [][]int32{p})
			if err != nil {
				return nil, fmt.Errorf("generate: prompt %d: %w", a.idx, err)
			}
			slots[s] = a
			m.accept(a.sampler.Next(logits, a.ctx), &out[a.idx], &a.ctx, &a.text, a.maxNew, stops, opt.Stop)
			if out[a.idx].FinishReason != "" {
				slots[s] = nil
			}
		}
		seqs, toks = seqs[:0], toks[:0]
		for s, a := range slots {
			if a != nil {
				seqs = append(seqs, s)
				toks = append(toks, a.ctx[len(a.ctx)-1:])
			}
		}
		if len(seqs) == 0 {
			if next >= len(prompts) {
				return out, nil
			}
			continue
		}
		logits, err := dec.Step(seqs, toks)
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		for i, s := range seqs {
			a := slots[s]
			id := a.sampler.Next(logits[i*V:(i+1)*V], a.ctx)
			m.accept(id, &out[a.idx], &a.ctx, &a.text, a.maxNew, stops, opt.Stop)
			if out[a.idx].FinishReason != "" {
				slots[s] = nil
			}
		}
	}
}

// accept records a sampled token and decides whether the sequence is done.
func (m *Model) accept(id int32, g *Generation, ctx *[]int32, text *[]byte, maxNew int, stopTokens []int32, stops []string) {
	for _, s := range stopTokens {
		if id == s {
			g.FinishReason = FinishStop
			m.finishText(g, *text)
			return
		}
	}
	g.Tokens = append(g.Tokens, id)
	*ctx = append(*ctx, id)
	if m.Tokenizer != nil {
		b, err := m.Tokenizer.DecodeBytes([]int{int(id)})
		if err == nil {
			*text = append(*text, b...)
		}
		for _, s := range stops {
			if i := bytes.Index(*text, []byte(s)); i >= 0 {
				*text = (*text)[:i]
				g.FinishReason = FinishStop
				m.finishText(g, *text)
				return
			}
		}
	}
	if len(g.Tokens) >= maxNew {
		g.FinishReason = FinishLength
		m.finishText(g, *text)
	}
}

func (m *Model) finishText(g *Generation, text []byte) {
	if m.Tokenizer != nil {
		g.Text = string(bytes.ToValidUTF8(text, []byte("\uFFFD")))
	}
}
