package metrics

import (
	"unicode"
	"unicode/utf8"
)

// sacreIntlRule is one two-character rule of the international tokenizer.
type sacreIntlRule uint8

const (
	// sacreIntlSplitBefore separates punctuation preceded by a non-number:
	// (\P{N})(\p{P}) becomes "\1 \2 ".
	sacreIntlSplitBefore sacreIntlRule = iota
	// sacreIntlSplitAfter separates punctuation followed by a non-number:
	// (\p{P})(\P{N}) becomes " \1 \2".
	sacreIntlSplitAfter
)

// sacreDecode returns the code point at b[i:] and its width. Bytes that are
// not valid UTF-8 read as U+FFFD (a symbol) but are copied through as they
// are; Python strings never hold them, so no sacreBLEU behaviour is at stake.
func sacreDecode(b []byte, i int) (rune, int) {
	if c := b[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(b[i:])
}

// sacreIntlPass appends to dst src with one of the punctuation rules of
// sacreBLEU's TokenizerV14International applied, reproducing the regex
// module's leftmost, non-overlapping substitution over code points.
func sacreIntlPass(dst, src []byte, rule sacreIntlRule) []byte {
	for i := 0; i < len(src); {
		r1, n1 := sacreDecode(src, i)
		if i+n1 < len(src) {
			r2, n2 := sacreDecode(src, i+n1)
			var match bool
			if rule == sacreIntlSplitBefore {
				match = !unicode.IsNumber(r1) && unicode.IsPunct(r2)
			} else {
				match = unicode.IsPunct(r1) && !unicode.IsNumber(r2)
			}
			if match {
				if rule == sacreIntlSplitBefore {
					dst = append(dst, src[i:i+n1]...)
					dst = append(dst, ' ')
					dst = append(dst, src[i+n1:i+n1+n2]...)
					dst = append(dst, ' ')
				} else {
					dst = append(dst, ' ')
					dst = append(dst, src[i:i+n1]...)
					dst = append(dst, ' ')
					dst = append(dst, src[i+n1:i+n1+n2]...)
				}
				i += n1 + n2
				continue
			}
		}
		dst = append(dst, src[i:i+n1]...)
		i += n1
	}
	return dst
}

// sacreIntlSymbols appends to dst src with every symbol (\p{S}) surrounded
// by spaces.
func sacreIntlSymbols(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		r, n := sacreDecode(src, i)
		if unicode.IsSymbol(r) {
			dst = append(dst, ' ')
			dst = append(dst, src[i:i+n]...)
			dst = append(dst, ' ')
		} else {
			dst = append(dst, src[i:i+n]...)
		}
		i += n
	}
	return dst
}

// sacreTokenizeIntl returns line as sacreBLEU's intl tokenizer returns it
// (without the trailing-whitespace strip that BLEU applies first).
func sacreTokenizeIntl(line string) string {
	a := sacreIntlPass(nil, []byte(line), sacreIntlSplitBefore)
	b := sacreIntlPass(nil, a, sacreIntlSplitAfter)
	return sacreJoinFields(sacreIntlSymbols(nil, b))
}
