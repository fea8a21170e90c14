package tokenizer

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Pattern is the GPT-2 pre-tokenization regular expression, in the syntax of
// github.com/dlclark/regexp2 as tiktoken-go's r50k_base uses it. The package
// never runs it, because a regexp engine costs more than all of BPE on
// ordinary text; a hand-written splitter does the same job and is tested
// against regexp2, by a fuzz target among others.
//
// The splitter works on runes with regexp2's classes: \s is unicode.IsSpace
// (so U+0085, U+00A0 and U+3000 are spaces but U+001C..U+001F and U+200B are
// not), \p{L} is unicode.L and \p{N} is unicode.N. The contractions are
// lower-case only, so "'S" splits as "'" and "S". U+007F is a symbol, as in
// regexp2's interpreter, though not in the matcher that regexp2cg generated
// for tiktoken-go v0.10.0 (see Tokenizer.EncodeOrdinary).
const Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// runeClass is the class of a rune as far as Pattern can tell runes apart.
type runeClass uint8

const (
	classOther  runeClass = iota // [^\s\p{L}\p{N}]
	classLetter                  // \p{L}
	classNumber                  // \p{N}
	classSpace                   // \s
)

// classify returns the class of r by regexp2's definitions. No rune is in
// two classes: unicode.IsSpace holds only for Z, Cc and Cf runes.
func classify(r rune) runeClass {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.In(r, unicode.L):
		return classLetter
	case unicode.In(r, unicode.N):
		return classNumber
	}
	return classOther
}

// bmpClasses is classify over the Basic Multilingual Plane, where nearly all
// text lives; a table lookup is an order of magnitude cheaper than the
// binary searches in package unicode. It is built on first use.
var bmpClasses = sync.OnceValue(func() *[0x10000]runeClass {
	t := new([0x10000]runeClass)
	for r := range rune(len(t)) {
		t[r] = classify(r)
	}
	return t
})

// splitter cuts text into the pieces Pattern matches. It holds only a
// pointer to the shared class table and is safe for concurrent use.
type splitter struct {
	classes *[0x10000]runeClass
}

func newSplitter() splitter { return splitter{classes: bmpClasses()} }

// classAt returns the class and width of the rune at s[i]. An invalid byte
// reads as U+FFFD of width 1, as in a range loop; U+FFFD is classOther.
func (p splitter) classAt(s string, i int) (runeClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return p.classes[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r < 0x10000 {
		return p.classes[r], w
	}
	return classify(r), w
}

// runEnd returns the end of the run of runes of class cls that starts at i.
func (p splitter) runEnd(s string, i int, cls runeClass) int {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if p.classes[c] != cls {
				return i
			}
			i++
			continue
		}
		k, w := p.classAt(s, i)
		if k != cls {
			return i
		}
		i += w
	}
	return i
}

// next returns the end of the piece that starts at s[i], i < len(s). It
// follows Pattern's alternatives in order; the first that matches wins.
//
// On invalid UTF-8 each bad byte acts as U+FFFD, which is what regexp2 sees
// after converting the string to runes, so the boundaries agree with it; the
// caller decides what bytes a piece stands for.
func (p splitter) next(s string, i int) int {
	c := s[i]
	// 's|'t|'re|'ve|'m|'ll|'d
	if c == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	cls, w := p.classAt(s, i)
	if c == ' ' && i+1 < len(s) {
		// " ?X+": the space belongs to a following run of letters, digits
		// or other characters, but not to a following space.
		if next, _ := p.classAt(s, i+1); next != classSpace {
			return p.runEnd(s, i+1, next)
		}
	}
	if cls != classSpace {
		return p.runEnd(s, i+w, cls)
	}
	// \s+(?!\S)|\s+: a run of spaces followed by a non-space gives up its
	// last rune, which then leads the next piece, unless the run is a single
	// rune.
	last, j := i, i+w
	for j < len(s) {
		k, w := p.classAt(s, j)
		if k != classSpace {
			if last == i {
				return j
			}
			return last
		}
		last = j
		j += w
	}
	return j
}

// pieces returns the pieces of s. It is the slow, allocating form of next
// for tests and training.
func (p splitter) pieces(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := p.next(s, i)
		out = append(out, s[i:j])
		i = j
	}
	return out
}

// Pretokenize splits text into the pieces that GPT-2's pattern (see Pattern)
// matches; BPE runs on each piece on its own. Concatenated, the pieces give
// back text, byte for byte. On invalid UTF-8 each invalid byte is a rune of
// its own in the class of U+FFFD (a symbol); see Tokenizer.EncodeOrdinary
// for what encoding does with it.
func Pretokenize(text string) []string {
	return newSplitter().pieces(text)
}

// sanitize returns s with every byte that is not part of valid UTF-8
// replaced by U+FFFD, one replacement per byte. That is what []rune(s) does,
// and so what tiktoken-go encodes; strings.ToValidUTF8 instead replaces a
// whole run of bad bytes by one U+FFFD.
func sanitize(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b.WriteString(string(utf8.RuneError))
		} else {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}
