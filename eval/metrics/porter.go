package metrics

import (
	"strings"
	"sync"
)

// This file ports NLTK's PorterStemmer in its default NLTK_EXTENSIONS mode
// (nltk/stem/porter.py), which is the stemmer rouge-score builds for
// use_stemmer=True. Martin Porter's reference implementation differs from it
// in several rules (the irregular forms, -ies/-ied on short words, y->i,
// -alli, -fulli, -logi, the two-letter *o condition), so a textbook Porter
// stemmer would not reproduce rouge-score's stemmed scores.

// porterIrregular returns the stem NLTK assigns to one of its irregular
// forms, which bypass the algorithm.
func porterIrregular(word string) (string, bool) {
	switch word {
	case "sky", "skies":
		return "sky", true
	case "dying":
		return "die", true
	case "lying":
		return "lie", true
	case "tying":
		return "tie", true
	case "news":
		return "news", true
	case "innings", "inning":
		return "inning", true
	case "outings", "outing":
		return "outing", true
	case "cannings", "canning":
		return "canning", true
	case "howe", "proceed", "exceed", "succeed":
		return word, true
	}
	return "", false
}

// porterStem returns NLTK's Porter stem of word. word must already be
// lower case (NLTK lowercases first; rouge-score's tokens always are), and
// is treated byte by byte, which matches NLTK for ASCII words, the only
// ones the ROUGE tokenizer produces.
func porterStem(word string) string {
	if s, ok := porterIrregular(word); ok {
		return s
	}
	if len(word) <= 2 {
		return word
	}
	w := porterStep1a(word)
	w = porterStep1b(w)
	w = porterStep1c(w)
	w = porterStep2(w)
	w = porterStep3(w)
	w = porterStep4(w)
	w = porterStep5a(w)
	return porterStep5b(w)
}

// porterConsonant reports whether w[i] is a consonant: a letter other than
// a, e, i, o, u, and other than a y that follows a consonant. It walks from
// the start rather than recursing so that a long run of y stays linear.
func porterConsonant(w string, i int) bool {
	cons := false
	for k := 0; k <= i; k++ {
		cons = porterNextConsonant(w[k], k == 0, cons)
	}
	return cons
}

// porterNextConsonant classifies c given whether the previous letter was a
// consonant.
func porterNextConsonant(c byte, first, prevCons bool) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		return first || !prevCons
	}
	return true
}

// porterMeasure is Porter's m: the number of vowel-consonant transitions
// in the form [C](VC){m}[V].
func porterMeasure(w string) int {
	m := 0
	cons := false
	for i := range len(w) {
		prev := cons
		cons = porterNextConsonant(w[i], i == 0, prev)
		if cons && i > 0 && !prev {
			m++
		}
	}
	return m
}

func porterHasVowel(w string) bool {
	cons := false
	for i := range len(w) {
		if cons = porterNextConsonant(w[i], i == 0, cons); !cons {
			return true
		}
	}
	return false
}

// porterDoubleConsonant is Porter's *d.
func porterDoubleConsonant(w string) bool {
	n := len(w)
	return n >= 2 && w[n-1] == w[n-2] && porterConsonant(w, n-1)
}

// porterCVC is Porter's *o, with NLTK's extension that a two-letter
// vowel-consonant stem also counts.
func porterCVC(w string) bool {
	n := len(w)
	if n >= 3 && porterConsonant(w, n-3) && !porterConsonant(w, n-2) && porterConsonant(w, n-1) {
		switch w[n-1] {
		case 'w', 'x', 'y':
		default:
			return true
		}
	}
	return n == 2 && !porterConsonant(w, 0) && porterConsonant(w, 1)
}

// porterRule replaces suffix by repl when cond holds for the remaining stem;
// a nil cond always holds.
type porterRule struct {
	suffix, repl string
	cond         func(stem string) bool
}

// porterApply applies the first rule whose suffix w ends with. As in NLTK,
// a matching suffix whose condition fails ends the step: later rules are
// not tried.
func porterApply(w string, rules []porterRule) string {
	for _, r := range rules {
		if strings.HasSuffix(w, r.suffix) {
			stem := w[:len(w)-len(r.suffix)]
			if r.cond == nil || r.cond(stem) {
				return stem + r.repl
			}
			return w
		}
	}
	return w
}

func porterPositive(stem string) bool { return porterMeasure(stem) > 0 }

func porterAboveOne(stem string) bool { return porterMeasure(stem) > 1 }

var porterStep1aRules = sync.OnceValue(func() []porterRule {
	return []porterRule{
		{"sses", "ss", nil},
		{"ies", "i", nil},
		{"ss", "ss", nil},
		{"s", "", nil},
	}
})

func porterStep1a(w string) string {
	// NLTK: "dies" -> "die" while "flies" -> "fli".
	if len(w) == 4 && strings.HasSuffix(w, "ies") {
		return w[:1] + "ie"
	}
	return porterApply(w, porterStep1aRules())
}

func porterStep1b(w string) string {
	// NLTK: "died" -> "die" while "spied" -> "spi".
	if strings.HasSuffix(w, "ied") {
		if len(w) == 4 {
			return w[:1] + "ie"
		}
		return w[:len(w)-3] + "i"
	}
	if strings.HasSuffix(w, "eed") {
		if stem := w[:len(w)-3]; porterMeasure(stem) > 0 {
			return stem + "ee"
		}
		return w
	}
	var stem string
	switch {
	case strings.HasSuffix(w, "ed") && porterHasVowel(w[:len(w)-2]):
		stem = w[:len(w)-2]
	case strings.HasSuffix(w, "ing") && porterHasVowel(w[:len(w)-3]):
		stem = w[:len(w)-3]
	default:
		return w
	}
	switch {
	case strings.HasSuffix(stem, "at"), strings.HasSuffix(stem, "bl"), strings.HasSuffix(stem, "iz"):
		return stem + "e"
	case porterDoubleConsonant(stem):
		switch stem[len(stem)-1] {
		case 'l', 's', 'z':
			return stem
		}
		return stem[:len(stem)-1]
	case porterMeasure(stem) == 1 && porterCVC(stem):
		return stem + "e"
	}
	return stem
}

// porterStep1c turns a final y into i after a consonant that is not the
// whole stem (NLTK's rule; the paper asks for a vowel anywhere in the stem).
func porterStep1c(w string) string {
	n := len(w)
	if n > 0 && w[n-1] == 'y' && n-1 > 1 && porterConsonant(w, n-2) {
		return w[:n-1] + "i"
	}
	return w
}

var porterStep2Rules = sync.OnceValue(func() []porterRule {
	return []porterRule{
		{"ational", "ate", porterPositive},
		{"tional", "tion", porterPositive},
		{"enci", "ence", porterPositive},
		{"anci", "ance", porterPositive},
		{"izer", "ize", porterPositive},
		{"bli", "ble", porterPositive},
		{"alli", "al", porterPositive},
		{"entli", "ent", porterPositive},
		{"eli", "e", porterPositive},
		{"ousli", "ous", porterPositive},
		{"ization", "ize", porterPositive},
		{"ation", "ate", porterPositive},
		{"ator", "ate", porterPositive},
		{"alism", "al", porterPositive},
		{"iveness", "ive", porterPositive},
		{"fulness", "ful", porterPositive},
		{"ousness", "ous", porterPositive},
		{"aliti", "al", porterPositive},
		{"iviti", "ive", porterPositive},
		{"biliti", "ble", porterPositive},
		{"fulli", "ful", porterPositive},
		// The l of -logi stays with the stem so that short stems such as
		// "geo" and "theo" qualify.
		{"logi", "log", func(stem string) bool { return porterPositive(stem + "l") }},
	}
})

func porterStep2(w string) string {
	// NLTK applies -alli -> -al first and then the whole step again.
	if strings.HasSuffix(w, "alli") && porterPositive(w[:len(w)-4]) {
		return porterStep2(w[:len(w)-4] + "al")
	}
	return porterApply(w, porterStep2Rules())
}

var porterStep3Rules = sync.OnceValue(func() []porterRule {
	return []porterRule{
		{"icate", "ic", porterPositive},
		{"ative", "", porterPositive},
		{"alize", "al", porterPositive},
		{"iciti", "ic", porterPositive},
		{"ical", "ic", porterPositive},
		{"ful", "", porterPositive},
		{"ness", "", porterPositive},
	}
})

func porterStep3(w string) string { return porterApply(w, porterStep3Rules()) }

var porterStep4Rules = sync.OnceValue(func() []porterRule {
	return []porterRule{
		{"al", "", porterAboveOne},
		{"ance", "", porterAboveOne},
		{"ence", "", porterAboveOne},
		{"er", "", porterAboveOne},
		{"ic", "", porterAboveOne},
		{"able", "", porterAboveOne},
		{"ible", "", porterAboveOne},
		{"ant", "", porterAboveOne},
		{"ement", "", porterAboveOne},
		{"ment", "", porterAboveOne},
		{"ent", "", porterAboveOne},
		{"ion", "", func(stem string) bool {
			return porterAboveOne(stem) && (stem[len(stem)-1] == 's' || stem[len(stem)-1] == 't')
		}},
		{"ou", "", porterAboveOne},
		{"ism", "", porterAboveOne},
		{"ate", "", porterAboveOne},
		{"iti", "", porterAboveOne},
		{"ous", "", porterAboveOne},
		{"ive", "", porterAboveOne},
		{"ize", "", porterAboveOne},
	}
})

func porterStep4(w string) string { return porterApply(w, porterStep4Rules()) }

// porterStep5a drops a final e when m > 1, or when m = 1 and the stem does
// not end cvc. Both conditions are tried, unlike the first-match rule lists.
func porterStep5a(w string) string {
	if !strings.HasSuffix(w, "e") {
		return w
	}
	stem := w[:len(w)-1]
	if m := porterMeasure(stem); m > 1 || m == 1 && !porterCVC(stem) {
		return stem
	}
	return w
}

// porterStep5b reduces a final ll to l when m > 1, measured on the word
// less one l.
func porterStep5b(w string) string {
	if strings.HasSuffix(w, "ll") && porterAboveOne(w[:len(w)-1]) {
		return w[:len(w)-1]
	}
	return w
}
