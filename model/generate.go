package model

import (
	"bytes"
	"context"
	"fmt"

	"github.com/nebras-ai/nebras/model/kernels"
	"github.com/nebras-ai/nebras/model/tokenizer"
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
		seq     *Continuation
		sampler *Sampler
	}
	out := make([]Generation, len(prompts))
	slots := make([]*active, batch)
	next := 0
	var seqs []int
	var toks [][]int32
	V := m.Config.VocabSize
	// done records a finished sequence's result and frees its slot.
	done := func(s int) {
		a := slots[s]
		g := &out[a.idx]
		g.Tokens, g.FinishReason = a.seq.Tokens(), a.seq.FinishReason()
		if m.Tokenizer != nil {
			g.Text = string(bytes.ToValidUTF8(a.seq.Text(), []byte("\uFFFD")))
		}
		slots[s] = nil
	}
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
			a := &active{idx: next, seq: m.NewContinuation(p, maxNew, stops, opt.Stop), sampler: NewSampler(opt.Sampling)}
			next++
			dec.Reset(s)
			logits, err := dec.Step([]int{s}, [][]int32{p})
			if err != nil {
				return nil, fmt.Errorf("generate: prompt %d: %w", a.idx, err)
			}
			slots[s] = a
			if a.seq.Accept(a.sampler.Next(logits, a.seq.Context())) {
				done(s)
			}
		}
		seqs, toks = seqs[:0], toks[:0]
		for s, a := range slots {
			if a != nil {
				seqs = append(seqs, s)
				toks = append(toks, a.seq.Last())
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
			if a.seq.Accept(a.sampler.Next(logits[i*V:(i+1)*V], a.seq.Context())) {
				done(s)
			}
		}
	}
}

// Continuation follows one sequence as it is generated: it keeps the
// context the sampler sees (prompt and accepted tokens), decodes the text,
// and decides when the sequence ends: a stop token, a stop string (the
// text is cut before it) or the token budget. Generate and the serving
// scheduler share it so that both end sequences by the same rules.
type Continuation struct {
	tok        *tokenizer.Tokenizer
	maxNew     int
	stopTokens []int32
	stops      []string
	context    []int32
	prompt     int
	text       []byte
	finish     string
}

// NewContinuation starts following a sequence whose prompt is prompt (as
// the model sees it, already fitted to the context), allowed maxNew
// tokens. stopTokens nil means the model's end-of-text token. Stop strings
// are matched in the decoded text and need the model's tokenizer; without
// one they are ignored and the text stays empty.
func (m *Model) NewContinuation(prompt []int32, maxNew int, stopTokens []int32, stops []string) *Continuation {
	if stopTokens == nil {
		stopTokens = []int32{int32(m.Config.EOSTokenID)}
	}
	ctx := make([]int32, len(prompt), len(prompt)+max(maxNew, 0))
	copy(ctx, prompt)
	return &Continuation{tok: m.Tokenizer, maxNew: maxNew, stopTokens: stopTokens, stops: stops, context: ctx, prompt: len(prompt)}
}

// Accept records the sampled token id and reports whether the sequence
// has ended. A stop token ends it without being recorded.
func (c *Continuation) Accept(id int32) (done bool) {
	if c.finish != "" {
		return true
	}
	for _, s := range c.stopTokens {
		if id == s {
			c.finish = FinishStop
			return true
		}
	}
	c.context = append(c.context, id)
	if c.tok != nil {
		old := len(c.text)
		if b, err := c.tok.DecodeBytes([]int{int(id)}); err == nil {
			c.text = append(c.text, b...)
		}
		// The text before this token held no stop string, so only a match
		// that ends in the new bytes can be new; the earliest one wins.
		cut := -1
		for _, s := range c.stops {
			from := max(0, old-len(s)+1)
			if i := bytes.Index(c.text[from:], []byte(s)); i >= 0 && (cut < 0 || from+i < cut) {
				cut = from + i
			}
		}
		if cut >= 0 {
			c.text = c.text[:cut]
			c.finish = FinishStop
			return true
		}
	}
	if len(c.context)-c.prompt >= c.maxNew {
		c.finish = FinishLength
		return true
	}
	return false
}

// Context is the prompt followed by the accepted tokens: what the sampler
// conditions on. It is valid until the next Accept.
func (c *Continuation) Context() []int32 { return c.context }

// Last is the most recent token of the context, the one the next decode
// step feeds the model.
func (c *Continuation) Last() []int32 { return c.context[len(c.context)-1:] }

// Tokens are the generated tokens, without a stop token.
func (c *Continuation) Tokens() []int32 { return c.context[c.prompt:] }

// Text is the decoded bytes of Tokens, cut before a stop string once one
// has appeared. It need not be valid UTF-8 where a token cuts a character.
func (c *Continuation) Text() []byte { return c.text }

// FinishReason is FinishStop or FinishLength once the sequence has ended,
// "" before.
func (c *Continuation) FinishReason() string { return c.finish }
