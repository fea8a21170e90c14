package model

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nebras-ai/nebras/model/kernels"
)

// Sampling chooses how the next token is picked from the logits.
type Sampling struct {
	// Temperature divides the logits; 0 picks the most likely token (greedy).
	Temperature float64
	// TopK keeps the K most likely tokens; 0 keeps all.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches P (nucleus sampling); 0 or 1 keeps all.
	TopP float64
	// RepetitionPenalty divides positive logits and multiplies negative
	// ones of tokens already in the context (CTRL's rule, as transformers
	// applies it); 1 or 0 means none.
	RepetitionPenalty float64
	// Seed makes sampling reproducible: the same seed, prompt and options
	// give the same tokens.
	Seed uint64
}

// Validate reports the first out-of-range option.
func (s Sampling) Validate() error {
	switch {
	case !(s.Temperature >= 0) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("temperature %g must be ≥ 0", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("top_k %d must be ≥ 0", s.TopK)
	case !(s.TopP >= 0 && s.TopP <= 1):
		return fmt.Errorf("top_p %g must be in [0, 1]", s.TopP)
	case !(s.RepetitionPenalty >= 0) || math.IsInf(s.RepetitionPenalty, 0):
		return fmt.Errorf("repetition_penalty %g must be ≥ 0", s.RepetitionPenalty)
	}
	return nil
}

// Sampler picks tokens for one sequence. It keeps its own random stream
// and scratch, so sequences decoded together do not disturb each other.
type Sampler struct {
	opt   Sampling
	rng   *rand.Rand
	cand  []candidate
	probs []float32
	seen  map[int32]bool
}

type candidate struct {
	id int32
	p  float32
}

// NewSampler makes a sampler with its random stream seeded from opt.Seed.
func NewSampler(opt Sampling) *Sampler {
	return &Sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x6e65627261732d73)), seen: map[int32]bool{}} // "nebras-s"
}

// Next picks the token that follows context, given its logits [V]. It may
// modify logits.
func (s *Sampler) Next(logits []float32, context []int32) int32 {
	if rp := float32(s.opt.RepetitionPenalty); rp > 0 && rp != 1 {
		clear(s.seen)
		for _, id := range context {
			if s.seen[id] || int(id) >= len(logits) {
				continue
			}
			s.seen[id] = true
			if logits[id] > 0 {
				logits[id] /= rp
			} else {
				logits[id] *= rp
			}
		}
	}
	if s.opt.Temperature == 0 {
		return argmax(logits)
	}
	// The softmax numerators in one vectorised pass: with GPT-2's 50k
	// vocabulary, a scalar exp per logit was most of a serving step.
	best := argmax(logits)
	if inv := float32(1 / s.opt.Temperature); inv != 1 {
		for i := range logits {
			logits[i] *= inv
		}
	}
	s.probs = slices.Grow(s.probs[:0], len(logits))[:len(logits)]
	sum := kernels.ExpShift(s.probs, logits, logits[best], 1)
	k, tp := s.opt.TopK, s.opt.TopP
	topK, topP := k > 0 && k < len(logits), tp > 0 && tp < 1
	if !topK && !topP {
		return s.draw(sum, func(yield func(int32, float32) bool) {
			for i, p := range s.probs {
				if !yield(int32(i), p) {
					return
				}
			}
		})
	}
	// Top-k and top-p need the most likely tokens in order, but only
	// those: every token at or above a threshold t is taken, and once they
	// are k tokens, or hold the top-p mass, the answer lies among them and
	// a sort of that handful gives exactly what sorting all V would. The
	// threshold falls until that holds (t = 0 takes everything).
	for t := s.probs[best] / 16; ; t /= 256 {
		if t < 1e-30 {
			t = 0
		}
		s.cand = s.cand[:0]
		var mass float32
		for i, p := range s.probs {
			if p >= t {
				s.cand = append(s.cand, candidate{int32(i), p})
				mass += p
			}
		}
		if t > 0 && ((topK && len(s.cand) < k) || (!topK && float64(mass) < tp*float64(sum))) {
			continue
		}
		// Most likely first; ties by id so the order is fixed.
		slices.SortFunc(s.cand, func(a, b candidate) int {
			if a.p != b.p {
				if a.p > b.p {
					return -1
				}
				return 1
			}
			return int(a.id - b.id)
		})
		keep := s.cand
		total := sum
		if topK {
			keep = keep[:min(k, len(keep))]
			total = 0
			for _, c := range keep {
				total += c.p
			}
		}
		if topP {
			var cum float32
			found := false
			for i, c := range keep {
				cum += c.p
				if float64(cum) >= tp*float64(total) {
					keep, found = keep[:i+1], true
					break
				}
			}
			if !found && t > 0 {
				continue // rounding left the mass just short: widen
			}
		}
		var kept float32
		for _, c := range keep {
			kept += c.p
		}
		return s.draw(kept, func(yield func(int32, float32) bool) {
			for _, c := range keep {
				if !yield(c.id, c.p) {
					return
				}
			}
		})
	}
}

// draw picks from weighted tokens whose weights add up to sum.
func (s *Sampler) draw(sum float32, tokens iter.Seq2[int32, float32]) int32 {
	u := float32(s.rng.Float64()) * sum
	last := int32(-1)
	for id, p := range tokens {
		if p <= 0 {
			continue
		}
		last = id
		if u -= p; u < 0 {
			return id
		}
	}
	return last
}

// argmax returns the index of the largest value, the first on ties.
func argmax(v []float32) int32 {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return int32(best)
}
