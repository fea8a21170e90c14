package model

import (
	"fmt"
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
	opt  Sampling
	rng  *rand.Rand
	cand []candidate
	seen map[int32]bool
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
	inv := float32(1 / s.opt.Temperature)
	mx := logits[argmax(logits)]
	s.cand = s.cand[:0]
	var sum float32
	for i, v := range logits {
		p := kernels.Exp((v - mx) * inv)
		if p > 0 {
			s.cand = append(s.cand, candidate{int32(i), p})
			sum += p
		}
	}
	keep := s.cand
	if k := s.opt.TopK; (k > 0 && k < len(keep)) || (s.opt.TopP > 0 && s.opt.TopP < 1) {
		// Most likely first; ties by id so the order is fixed.
		slices.SortFunc(keep, func(a, b candidate) int {
			if a.p != b.p {
				if a.p > b.p {
					return -1
				}
				return 1
			}
			return int(a.id - b.id)
		})
		if k > 0 && k < len(keep) {
			keep = keep[:k]
		}
		if tp := s.opt.TopP; tp > 0 && tp < 1 {
			var total float32
			for _, c := range keep {
				total += c.p
			}
			var cum float32
			for i, c := range keep {
				cum += c.p
				if float64(cum) >= tp*float64(total) {
					keep = keep[:i+1]
					break
				}
			}
		}
		sum = 0
		for _, c := range keep {
			sum += c.p
		}
	}
	u := float32(s.rng.Float64()) * sum
	for _, c := range keep {
		u -= c.p
		if u < 0 {
			return c.id
		}
	}
	return keep[len(keep)-1].id
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
