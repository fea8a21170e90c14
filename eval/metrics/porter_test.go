package metrics

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestPorterStemNLTK checks every pair NLTK's PorterStemmer produced for
// testdata/porter/nltk_porter.tsv (see its header for how it was made).
func TestPorterStemNLTK(t *testing.T) {
	f, err := os.Open("testdata/porter/nltk_porter.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, bad := 0, 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		word, want, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("malformed fixture line %q", line)
		}
		n++
		if got := porterStem(word); got != want {
			bad++
			if bad <= 20 {
				t.Errorf("porterStem(%q) = %q, NLTK says %q", word, got, want)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 10000 {
		t.Fatalf("fixture has %d words, want the full list", n)
	}
	if bad > 0 {
		t.Errorf("%d of %d stems differ from NLTK", bad, n)
	}
}

// TestPorterStemCases pins the rules where NLTK departs from the paper, so
// a failure names the rule rather than a fixture line.
func TestPorterStemCases(t *testing.T) {
	for _, c := range []struct{ word, want string }{
		{"caresses", "caress"}, // 1a sses
		{"ponies", "poni"},     // 1a ies
		{"dies", "die"},        // NLTK: four-letter -ies
		{"died", "die"},        // NLTK: four-letter -ied
		{"spied", "spi"},       // NLTK: -ied
		{"agreed", "agre"},     // 1b eed, then 5a
		{"feed", "feed"},       // 1b eed with m = 0
		{"hopping", "hop"},     // 1b double consonant
		{"filing", "file"},     // 1b m = 1 and *o
		{"happy", "happi"},     // 1c
		{"enjoy", "enjoy"},     // NLTK 1c: y after a vowel stays
		{"generalli", "gener"}, // NLTK 2: alli first, step 2 again
		{"geology", "geolog"},  // NLTK 2: logi keeps the l in the stem
		{"adoption", "adopt"},  // 4 ion after t
		{"controll", "control"},
		{"skies", "sky"}, // irregular form
		{"dying", "die"}, // irregular form
		{"is", "is"},     // two letters are left alone
		{"yyyy", "yyyi"},
		{"1990s", "1990"},
	} {
		if got := porterStem(c.word); got != c.want {
			t.Errorf("porterStem(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}
