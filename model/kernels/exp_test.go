package kernels

import (
	"math"
	"testing"
)

func TestExpShift(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 100, 3001} {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(i%400)*0.45 - 95 // covers both clamps
		}
		dst := make([]float32, n)
		sum := ExpShift(dst, src, 1.5, 0.5)
		nosum := ExpShift(nil, src, 1.5, 0.5)
		var want float64
		for i, v := range src {
			x := math.Min(math.Max(float64(v-1.5), -86.9), 88.72283) // the kernel subtracts in float32
			e := math.Exp(x)
			want += e
			if e > 1e-30 && math.Abs(float64(dst[i])-0.5*e) > 3e-7*0.5*e {
				t.Fatalf("n=%d i=%d x=%g: %g, want %g", n, i, x, dst[i], 0.5*e)
			}
		}
		if math.Abs(float64(sum)-want) > 1e-5*want || sum != nosum {
			t.Errorf("n=%d: sum %g (without store %g), want %g", n, sum, nosum, want)
		}
		g := expShiftGeneric(nil, src, 1.5, 0.5)
		if math.Abs(float64(g)-want) > 1e-5*want {
			t.Errorf("n=%d: generic sum %g, want %g", n, g, want)
		}
	}
	// In place.
	x := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ExpShift(x, x, 0, 1)
	if math.Abs(float64(x[16])-math.Exp(16)) > 1e-6*math.Exp(16) {
		t.Errorf("in place: %g", x[16])
	}
}

func TestExp(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.7; x += 0.00137 {
		got, want := float64(Exp(x)), math.Exp(float64(x))
		if r := math.Abs(got-want) / want; r > worst {
			worst = r
		}
	}
	if worst > 3e-7 { // about 2.5 ulp
		t.Errorf("Exp relative error %.3g", worst)
	}
	if Exp(-200) != 0 || !math.IsInf(float64(Exp(100)), 1) || !math.IsNaN(float64(Exp(float32(math.NaN())))) {
		t.Error("Exp out-of-range values")
	}
	if v := Exp(expHi); math.IsInf(float64(v), 0) {
		t.Error("Exp overflows at the top of ExpShift's range")
	}
}

func BenchmarkExpShift(b *testing.B) {
	xs := make([]float32, 50257)
	for i := range xs {
		xs[i] = float32(i%200)*0.1 - 15
	}
	dst := make([]float32, len(xs))
	for _, impl := range []struct {
		name string
		f    func(dst, src []float32, shift, scale float32) float32
	}{{"dispatch", expShift}, {"generic", expShiftGeneric}} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(4 * int64(len(xs)))
			for i := 0; i < b.N; i++ {
				impl.f(dst, xs, 0, 1)
			}
		})
	}
}
