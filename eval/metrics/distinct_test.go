package metrics

import (
	"math"
	"testing"
)

func TestDistinct(t *testing.T) {
	for _, c := range []struct {
		name    string
		replies []string
		n       int
		want    float64
	}{
		{"repeats", []string{"a b a b"}, 1, 2.0 / 4},
		{"bigram repeats", []string{"a b a b"}, 2, 2.0 / 3},
		{"lowercased", []string{"The cat", "the CAT"}, 1, 2.0 / 4},
		{"across replies", []string{"a b", "a b"}, 2, 1.0 / 2},
		{"no n-gram spans two replies", []string{"a", "b"}, 2, 0},
		{"punctuation stays attached", []string{"hi, hi"}, 1, 1},
		{"white space of any kind", []string{"a\tb\n a"}, 1, 2.0 / 3},
		{"no replies", nil, 1, 0},
		{"n below 1", []string{"a b"}, 0, 0},
	} {
		if got := Distinct(c.replies, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Distinct(%q, %d) = %v, want %v", c.name, c.replies, c.n, got, c.want)
		}
	}
}

func TestComputeReplyStats(t *testing.T) {
	replies := []string{"Hello there", "", "  ", "ok ok ok"}
	got, err := ComputeReplyStats(replies, nil, []bool{false, false, false, true})
	if err != nil {
		t.Fatal(err)
	}
	want := ReplyStats{Distinct1: 3.0 / 5, Distinct2: 2.0 / 3, AvgTokens: 5.0 / 4, EmptyShare: 0.5, MaxTokensShare: 0.25}
	if got != want {
		t.Errorf("white-space tokens: got %+v, want %+v", got, want)
	}
	got, err = ComputeReplyStats(replies, []int{5, 0, 1, 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.AvgTokens != 13.0/4 || got.MaxTokensShare != 0 {
		t.Errorf("model tokens, no limit: got %+v, want AvgTokens 3.25 and MaxTokensShare 0", got)
	}
	for _, c := range []struct {
		name      string
		replies   []string
		tokens    []int
		truncated []bool
	}{
		{"no replies", nil, nil, nil},
		{"token counts", []string{"a", "b"}, []int{1}, nil},
		{"truncation flags", []string{"a", "b"}, nil, []bool{true}},
	} {
		if _, err := ComputeReplyStats(c.replies, c.tokens, c.truncated); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
