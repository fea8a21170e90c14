package metrics

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sacreTokenizerKind selects one of sacreBLEU's tokenizers.
type sacreTokenizerKind uint8

const (
	sacreTok13a sacreTokenizerKind = iota
	sacreTokNone
	sacreTokIntl
)

// sacreTokenizer turns a segment into the text sacreBLEU splits into words:
// optional lowercasing, trailing-whitespace removal, then the tokenizer. It
// owns scratch buffers so that scoring a corpus allocates only for new
// vocabulary, which makes it unsafe for concurrent use.
type sacreTokenizer struct {
	kind      sacreTokenizerKind
	lowercase bool
	a, b      []byte
}

// process returns the preprocessed, tokenized segment. The result aliases
// the tokenizer's buffers and is valid until the next call.
func (t *sacreTokenizer) process(line string) []byte {
	if t.lowercase {
		t.a = sacreLowerAppend(t.a[:0], line)
	} else {
		t.a = append(t.a[:0], line...)
	}
	// sacreBLEU strips trailing whitespace before tokenizing; for 13a this
	// decides whether a final "-\n" is removed as a hyphenation.
	t.a = sacreTrimRight(t.a)
	switch t.kind {
	case sacreTokNone:
		return t.a
	case sacreTokIntl:
		t.b = sacreIntlPass(t.b[:0], t.a, sacreIntlSplitBefore)
		t.a = sacreIntlPass(t.a[:0], t.b, sacreIntlSplitAfter)
		t.b = sacreIntlSymbols(t.b[:0], t.a)
		return t.b
	default:
		return t.tokenize13a()
	}
}

// tokenize13a applies mteval-v13a's tokenization, as sacreBLEU's Tokenizer13a
// does, to t.a.
func (t *sacreTokenizer) tokenize13a() []byte {
	src := t.a
	if bytes.IndexByte(src, '<') >= 0 || bytes.IndexByte(src, '&') >= 0 || bytes.IndexByte(src, '\n') >= 0 {
		// Rare path: the replacements run one after another, each over the
		// previous result, so "&amp;lt;" becomes "<" exactly as in Python.
		s := string(src)
		s = strings.ReplaceAll(s, "<skipped>", "")
		s = strings.ReplaceAll(s, "-\n", "")
		s = strings.ReplaceAll(s, "\n", " ")
		s = strings.ReplaceAll(s, "&quot;", `"`)
		s = strings.ReplaceAll(s, "&amp;", "&")
		s = strings.ReplaceAll(s, "&lt;", "<")
		s = strings.ReplaceAll(s, "&gt;", ">")
		src = append(src[:0], s...)
	}
	// The padding spaces let a sentence-final period be split off: the
	// period-followed-by-non-digit rule needs a character after it.
	t.b = append(sacre13aIsolate(append(t.b[:0], ' '), src), ' ')

	// The remaining rules are regex substitutions whose pattern is two
	// single characters; each pass reproduces re.sub's leftmost,
	// non-overlapping scan. Working on bytes is equivalent to working on
	// code points because every character the rules name is ASCII.
	t.a = sacre13aSplitPeriodCommaAfterNonDigit(t.a[:0], t.b)
	t.b = sacre13aSplitPeriodCommaBeforeNonDigit(t.b[:0], t.a)
	if bytes.IndexByte(t.b, '-') < 0 {
		return t.b
	}
	t.a = sacre13aSplitDashAfterDigit(t.a[:0], t.b)
	return t.a
}

// sacre13aIsolated reports whether 13a surrounds c with spaces: ASCII
// punctuation and symbols other than the apostrophe, comma, dash and
// period, which get context-dependent rules (and the space itself, which the
// original character class also names).
func sacre13aIsolated(c byte) bool {
	switch {
	case c >= ' ' && c <= '&', c >= '(' && c <= '+', c == '/',
		c >= ':' && c <= '@', c >= '[' && c <= '`', c >= '{' && c <= '~':
		return true
	}
	return false
}

func sacre13aDigit(c byte) bool       { return c >= '0' && c <= '9' }
func sacre13aPeriodComma(c byte) bool { return c == '.' || c == ',' }

// The passes below copy unchanged stretches of src in bulk; a match at
// positions (p, p+1) resumes the scan at p+2, as re.sub does.

// sacre13aIsolate appends src to dst with every isolated character c
// replaced by " c ".
func sacre13aIsolate(dst, src []byte) []byte {
	start := 0
	for p, c := range src {
		if sacre13aIsolated(c) {
			dst = append(dst, src[start:p]...)
			dst = append(dst, ' ', c, ' ')
			start = p + 1
		}
	}
	return append(dst, src[start:]...)
}

// sacre13aSplitPeriodCommaAfterNonDigit appends src to dst with
// ([^0-9])([\.,]) replaced by "\1 \2 ".
func sacre13aSplitPeriodCommaAfterNonDigit(dst, src []byte) []byte {
	start := 0
	for p := 0; p+1 < len(src); p++ {
		if sacre13aPeriodComma(src[p+1]) && !sacre13aDigit(src[p]) {
			dst = append(dst, src[start:p+1]...)
			dst = append(dst, ' ', src[p+1], ' ')
			start = p + 2
			p++
		}
	}
	return append(dst, src[start:]...)
}

// sacre13aSplitPeriodCommaBeforeNonDigit appends src to dst with
// ([\.,])([^0-9]) replaced by " \1 \2".
func sacre13aSplitPeriodCommaBeforeNonDigit(dst, src []byte) []byte {
	start := 0
	for p := 0; p+1 < len(src); p++ {
		if sacre13aPeriodComma(src[p]) && !sacre13aDigit(src[p+1]) {
			dst = append(dst, src[start:p]...)
			dst = append(dst, ' ', src[p], ' ', src[p+1])
			start = p + 2
			p++
		}
	}
	return append(dst, src[start:]...)
}

// sacre13aSplitDashAfterDigit appends src to dst with ([0-9])(-) replaced
// by "\1 \2 ".
func sacre13aSplitDashAfterDigit(dst, src []byte) []byte {
	start := 0
	for p := 0; p+1 < len(src); p++ {
		if src[p+1] == '-' && sacre13aDigit(src[p]) {
			dst = append(dst, src[start:p+1]...)
			dst = append(dst, ' ', '-', ' ')
			start = p + 2
			p++
		}
	}
	return append(dst, src[start:]...)
}

// sacreASCIISpaceMask has bit c set for the control characters c that
// Python's str.split treats as whitespace: \t..\r and U+001C..U+001F.
const sacreASCIISpaceMask = 0xf0003e00

// sacreIsSpace reports whether Python's str.split and str.strip treat r as
// whitespace: Go's White_Space set plus the ASCII information separators
// U+001C..U+001F, which Python counts through their bidirectional class.
func sacreIsSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= 0 && r < 0x20 && sacreASCIISpaceMask>>r&1 != 0)
	}
	return unicode.IsSpace(r)
}

// sacreTrimRight removes trailing whitespace as Python's str.rstrip does.
func sacreTrimRight(b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeLastRune(b)
		if !sacreIsSpace(r) {
			break
		}
		b = b[:len(b)-size]
	}
	return b
}

// sacreSpan is one word of a tokenized segment, as byte offsets.
type sacreSpan struct{ start, end int }

// sacreFields appends to dst the words of b as Python's str.split() with
// no arguments finds them.
func sacreFields(dst []sacreSpan, b []byte) []sacreSpan {
	start := -1
	for i := 0; i < len(b); {
		var space bool
		size := 1
		if c := b[i]; c < utf8.RuneSelf {
			space = c == ' ' || (c < 0x20 && sacreASCIISpaceMask>>c&1 != 0)
		} else {
			var r rune
			r, size = utf8.DecodeRune(b[i:])
			space = unicode.IsSpace(r)
		}
		if space {
			if start >= 0 {
				dst = append(dst, sacreSpan{start, i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += size
	}
	if start >= 0 {
		dst = append(dst, sacreSpan{start, len(b)})
	}
	return dst
}

// sacreJoinFields returns the words of b joined by single spaces, the form
// in which sacreBLEU's tokenizers return a segment.
func sacreJoinFields(b []byte) string {
	var sb strings.Builder
	for i, sp := range sacreFields(nil, b) {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.Write(b[sp.start:sp.end])
	}
	return sb.String()
}

// sacreTokenize13a returns line as sacreBLEU's 13a tokenizer returns it
// (without the trailing-whitespace strip that BLEU applies first).
func sacreTokenize13a(line string) string {
	t := sacreTokenizer{kind: sacreTok13a}
	t.a = append(t.a, line...)
	return sacreJoinFields(t.tokenize13a())
}

// sacreLowerAppend appends Python's str.lower() of s to dst. It differs
// from strings.ToLower in using the full case mapping: U+0130 becomes
// "i\u0307", and a capital sigma becomes final sigma at the end of a word.
func sacreLowerAppend(dst []byte, s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// Not valid UTF-8: Python strings cannot hold it, so keep the
			// byte rather than invent a replacement character.
			dst = append(dst, s[i])
		case r == 0x130:
			dst = append(dst, 'i', 0xcc, 0x87)
		case r == 0x3a3:
			if sacreFinalSigma(s, i, i+size) {
				dst = utf8.AppendRune(dst, 0x3c2)
			} else {
				dst = utf8.AppendRune(dst, 0x3c3)
			}
		default:
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += size
	}
	return dst
}

// sacreFinalSigma reports whether the capital sigma at s[start:end] is in
// Unicode's Final_Sigma context: a cased letter before it and none after
// it, skipping case-ignorable characters on both sides.
func sacreFinalSigma(s string, start, end int) bool {
	before := false
	for j := start; j > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		if !sacreCaseIgnorable(r) {
			before = sacreCased(r)
			break
		}
		j -= size
	}
	if !before {
		return false
	}
	for j := end; j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		if !sacreCaseIgnorable(r) {
			return !sacreCased(r)
		}
		j += size
	}
	return true
}

// sacreCased reports Unicode's Cased property.
func sacreCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// sacreCaseIgnorable reports Unicode's Case_Ignorable property. Go has no
// Word_Break tables, so the MidLetter, MidNumLet and Single_Quote members
// are listed here.
func sacreCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024,
		0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
