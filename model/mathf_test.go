package model

import (
	"math"
	"testing"
)

func TestTanhfAccuracy(t *testing.T) {
	worst := 0.0
	for x := float32(-10); x < 10; x += 0.000731 {
		got, want := float64(tanhf(x)), math.Tanh(float64(x))
		if d := math.Abs(got - want); d > worst {
			worst = d
		}
	}
	if worst > 2e-7 {
		t.Errorf("tanhf absolute error %.3g", worst)
	}
}
