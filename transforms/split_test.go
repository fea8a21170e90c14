package transforms

import (
	"fmt"
	"math"
	"testing"
)

func TestAssignSplitDeterministicAndProportional(t *testing.T) {
	r := DefaultSplitRatios()
	const n = 200000
	counts := map[Split]int{}
	for i := range n {
		id := fmt.Sprintf("TCK-%07d", i)
		s := AssignSplit(id, "", r)
		if again := AssignSplit(id, "", r); again != s {
			t.Fatalf("AssignSplit(%q) not deterministic: %s then %s", id, s, again)
		}
		counts[s]++
	}
	// Binomial standard deviation at p=0.05, n=200k is ~97; allow 5 sigma.
	for s, want := range map[Split]float64{SplitTrain: r.Train, SplitVal: r.Val, SplitTest: r.Test} {
		got := float64(counts[s])
		sigma := math.Sqrt(n * want * (1 - want))
		if math.Abs(got-n*want) > 5*sigma {
			t.Errorf("split %s: %v of %d, want %v ± %v", s, got, n, n*want, 5*sigma)
		}
	}
}

func TestAssignSplitSaltChangesAssignment(t *testing.T) {
	r := DefaultSplitRatios()
	moved := 0
	for i := range 10000 {
		id := fmt.Sprintf("c%d", i)
		if AssignSplit(id, "", r) != AssignSplit(id, "other", r) {
			moved++
		}
	}
	// With 90/5/5 shares about 18.5% of ids land elsewhere under a new salt.
	if moved < 1500 || moved > 2200 {
		t.Errorf("salt moved %d of 10000 conversations, want about 1850", moved)
	}
}

func TestAssignSplitZeroShares(t *testing.T) {
	tests := []struct {
		r    SplitRatios
		only Split
	}{
		{SplitRatios{Train: 1}, SplitTrain},
		{SplitRatios{Val: 1}, SplitVal},
		{SplitRatios{Test: 1}, SplitTest},
	}
	for _, tt := range tests {
		for i := range 2000 {
			if got := AssignSplit(fmt.Sprint(i), "", tt.r); got != tt.only {
				t.Fatalf("ratios %+v: id %d went to %s, want %s", tt.r, i, got, tt.only)
			}
		}
	}
}

func TestSplitRatiosValidate(t *testing.T) {
	tests := []struct {
		r  SplitRatios
		ok bool
	}{
		{DefaultSplitRatios(), true},
		{SplitRatios{Train: 0.8, Val: 0.1, Test: 0.1}, true},
		{SplitRatios{Train: 1}, true},
		{SplitRatios{Train: 0.8, Val: 0.1, Test: 0.2}, false},
		{SplitRatios{Train: 1.1, Val: -0.1}, false},
		{SplitRatios{Train: math.NaN(), Val: 0.5, Test: 0.5}, false},
	}
	for _, tt := range tests {
		if err := tt.r.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.r, err, tt.ok)
		}
	}
}
