package training

import (
	"fmt"
	"math"
)

// Schedule is the learning rate over optimizer steps: a linear warm-up from
// 0 to Peak over Warmup steps, then a decay to Peak·MinRatio at step Total,
// cosine, linear, or none.
type Schedule struct {
	Kind     string // "cosine", "linear" or "constant"
	Peak     float64
	MinRatio float64
	Warmup   int
	Total    int
}

// Validate reports a schedule that cannot be followed.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "cosine", "linear", "constant":
	default:
		return fmt.Errorf("schedule %q: want cosine, linear or constant", s.Kind)
	}
	switch {
	case !(s.Peak > 0) || math.IsInf(s.Peak, 0):
		return fmt.Errorf("learning rate %g: want a positive number", s.Peak)
	case !(s.MinRatio >= 0 && s.MinRatio <= 1):
		return fmt.Errorf("min_lr_ratio %g: want a number in [0, 1]", s.MinRatio)
	case s.Warmup < 0:
		return fmt.Errorf("warmup_steps %d: want 0 or more", s.Warmup)
	case s.Total < 1:
		return fmt.Errorf("total steps %d: want at least 1", s.Total)
	}
	return nil
}

// LR is the learning rate of step (0-based): the step's update uses it.
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		// (step+1)/Warmup so the first update is not wasted at lr 0.
		return s.Peak * float64(step+1) / float64(s.Warmup)
	}
	min := s.Peak * s.MinRatio
	span := s.Total - s.Warmup
	if s.Kind == "constant" || span <= 0 {
		return s.Peak
	}
	frac := math.Min(1, float64(step-s.Warmup)/float64(span))
	switch s.Kind {
	case "linear":
		return s.Peak - (s.Peak-min)*frac
	default: // cosine
		return min + (s.Peak-min)*0.5*(1+math.Cos(math.Pi*frac))
	}
}
