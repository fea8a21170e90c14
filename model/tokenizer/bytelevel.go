package tokenizer

import "unicode/utf8"

// byteLevel is GPT-2's reversible byte-to-character mapping (bytes_to_unicode
// in OpenAI's encoder.py, ByteLevel in Hugging Face tokenizers). Token strings
// in vocab.json and merges.txt are written in it so that every byte is a
// printable character and a space never appears inside a token, which keeps
// merges.txt splittable on ' '.
type byteLevel struct {
	// order lists the bytes in GPT-2's id order: the printable ranges first,
	// then the remaining bytes. GPT-2's token i < 256 is the byte order[i].
	order [256]byte
	// toRune maps a byte to its character.
	toRune [256]rune
	// fromRune maps a character back to its byte; -1 for characters outside
	// the alphabet. Every character of the alphabet is below 0x144.
	fromRune [0x144]int16
}

// bl is the mapping. It is computed once at start-up and never written
// again, so it is a constant in all but syntax.
var bl = newByteLevel()

func newByteLevel() *byteLevel {
	b := new(byteLevel)
	printable := func(c int) bool {
		return '!' <= c && c <= '~' || '¡' <= c && c <= '¬' || '®' <= c && c <= 'ÿ'
	}
	n := 0
	for c := range 256 {
		if printable(c) {
			b.order[n] = byte(c)
			b.toRune[c] = rune(c)
			n++
		}
	}
	extra := 0
	for c := range 256 {
		if !printable(c) {
			b.order[n] = byte(c)
			b.toRune[c] = rune(256 + extra)
			n++
			extra++
		}
	}
	for i := range b.fromRune {
		b.fromRune[i] = -1
	}
	for c, r := range b.toRune {
		b.fromRune[r] = int16(c)
	}
	return b
}

// encode appends the byte-level string of raw to dst.
func (b *byteLevel) encode(dst []byte, raw []byte) []byte {
	for _, c := range raw {
		dst = utf8.AppendRune(dst, b.toRune[c])
	}
	return dst
}

// decode returns the bytes a byte-level string stands for, and false if s
// holds a character outside the alphabet.
func (b *byteLevel) decode(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0 || int(r) >= len(b.fromRune) || b.fromRune[r] < 0 {
			return nil, false
		}
		out = append(out, byte(b.fromRune[r]))
	}
	return out, true
}
