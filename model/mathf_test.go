package model

import (
	"math"
	"testing"
)

func TestExpfAccuracy(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.7; x += 0.00137 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		if r := math.Abs(got-want) / want; r > worst {
			worst = r
		}
	}
	if worst > 3e-7 { // about 2.5 ulp
		t.Errorf("expf relative error %.3g", worst)
	}
	if expf(-200) != 0 || !math.IsInf(float64(expf(100)), 1) || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Error("expf out-of-range values")
	}
	worst = 0
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

func BenchmarkExpf(b *testing.B) {
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = float32(i%200)*0.1 - 15
	}
	var s float32
	for i := 0; i < b.N; i++ {
		for _, x := range xs {
			s += expf(x)
		}
	}
	b.SetBytes(4 * int64(len(xs)))
	_ = s
}
