// Package tokenizer implements GPT-2's byte-level byte-pair encoding.
//
// A Tokenizer reads and writes the Hugging Face pair of files, vocab.json and
// merges.txt, and encodes GPT-2 exactly as tiktoken's r50k_base does
// (github.com/tiktoken-go/tokenizer is the reference in the tests; see
// Tokenizer.EncodeOrdinary for the one character where it is wrong). GPT2
// builds the GPT-2 tokenizer from the ranks embedded in tiktoken-go, so no
// data files are needed; Train learns a new vocabulary from text.
//
// Encoding splits text into pieces with GPT-2's pattern (see Pattern), then
// runs BPE on each piece's bytes. The splitter is hand-written and the merge
// loop works on integer ids, with a bounded cache of recent pieces, which
// makes encoding several times faster than tiktoken-go.
package tokenizer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// EndOfText is the text of GPT-2's end-of-text special token.
const EndOfText = "<|endoftext|>"

// Tokenizer is a byte-level BPE tokenizer. It is immutable after
// construction and safe for concurrent use by any number of goroutines; its
// only changing state is an internal cache, which never changes results.
type Tokenizer struct {
	// tokens holds, by id, the bytes a token decodes to: the raw bytes of a
	// normal token, the literal text of a special one.
	tokens   []string
	special  []bool
	merges   []merge
	specials []specialToken // by id
	eot      int32

	byteID [256]int32
	pairs  pairTable
	// short and long map a piece to its id when BPE leaves it as one token,
	// which is most pieces of ordinary text; they come before the cache.
	short    shortTable
	long     map[string]int32
	split    splitter
	cache    *pieceCache
	treePool sync.Pool // of *treeScratch
	hash     string
}

// merge joins the tokens left and right; its rank is its index in
// Tokenizer.merges.
type merge struct{ left, right int32 }

type specialToken struct {
	text string
	id   int32
}

// newTokenizer builds the lookup tables for a model given as tokens by id
// (raw bytes, or literal text where special), which tokens are special, and
// the merges in rank order. Callers have validated what they parsed; the
// errors here guard the invariants the encoder relies on, and callers add
// the package prefix and their context.
func newTokenizer(tokens []string, special []bool, merges []merge) (*Tokenizer, error) {
	t := &Tokenizer{
		tokens:  tokens,
		special: special,
		merges:  merges,
		eot:     -1,
		split:   newSplitter(),
		cache:   newPieceCache(),
	}
	if len(tokens) > maxVocab {
		return nil, fmt.Errorf("%d tokens, more than the limit of %d", len(tokens), maxVocab)
	}
	index := make(map[string]int32, len(tokens))
	for id, s := range tokens {
		if special[id] {
			if s == "" || !utf8.ValidString(s) {
				return nil, fmt.Errorf("special token %d (%q) is empty or not valid UTF-8", id, s)
			}
			t.specials = append(t.specials, specialToken{text: s, id: int32(id)})
			if s == EndOfText {
				t.eot = int32(id)
			}
			continue
		}
		if s == "" {
			return nil, fmt.Errorf("token %d is empty", id)
		}
		if prev, dup := index[s]; dup {
			return nil, fmt.Errorf("tokens %d and %d are both %q", prev, id, s)
		}
		index[s] = int32(id)
	}
	seen := make(map[string]bool, len(t.specials))
	for _, sp := range t.specials {
		if seen[sp.text] {
			return nil, fmt.Errorf("special token %q appears twice", sp.text)
		}
		seen[sp.text] = true
	}
	for b := range 256 {
		id, ok := index[string([]byte{byte(b)})]
		if !ok {
			return nil, fmt.Errorf("no token for byte 0x%02x", b)
		}
		t.byteID[b] = id
	}
	result := make([]int32, len(merges))
	for rank, m := range merges {
		if m.left < 0 || int(m.left) >= len(tokens) || m.right < 0 || int(m.right) >= len(tokens) {
			return nil, fmt.Errorf("merge %d refers to an id out of range", rank)
		}
		if special[m.left] || special[m.right] {
			return nil, fmt.Errorf("merge %d joins a special token", rank)
		}
		id, ok := index[tokens[m.left]+tokens[m.right]]
		if !ok {
			return nil, fmt.Errorf("merge %d gives %q, which is not a token", rank, tokens[m.left]+tokens[m.right])
		}
		result[rank] = id
	}
	var ok bool
	var dup int
	if t.pairs, dup, ok = newPairTable(merges, result); !ok {
		return nil, fmt.Errorf("merge %d repeats an earlier one", dup)
	}

	// A token that BPE would split again can only come out of encoding in
	// pieces; only tokens that BPE rebuilds whole may short-cut it.
	t.short = newShortTable(len(index))
	t.long = make(map[string]int32)
	var buf []int32
	for s, id := range index {
		if len(s) > 1 {
			if buf = t.bpe(buf[:0], s); len(buf) != 1 || buf[0] != id {
				continue
			}
		}
		if len(s) <= shortMax {
			t.short.insert(s, id)
		} else {
			t.long[s] = id
		}
	}
	t.hash = t.computeHash()
	return t, nil
}

// maxVocab bounds the number of tokens so that ids fit in an int32 and a
// corrupt file cannot ask for absurd allocations.
const maxVocab = 1 << 24

// VocabSize returns the number of tokens, special ones included; ids run
// from 0 to VocabSize()-1. It is 50257 for GPT-2.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// EOT returns the id of the special token "<|endoftext|>" (50256 for GPT-2),
// or -1 if the tokenizer has none.
func (t *Tokenizer) EOT() int { return int(t.eot) }

// SpecialTokens returns a new map from the text of each special token to its
// id.
func (t *Tokenizer) SpecialTokens() map[string]int {
	m := make(map[string]int, len(t.specials))
	for _, sp := range t.specials {
		m[sp.text] = int(sp.id)
	}
	return m
}

// NumMerges returns the number of merges, the lines of merges.txt after its
// header.
func (t *Tokenizer) NumMerges() int { return len(t.merges) }

// EncodeOrdinary returns the ids of text, treating special tokens' text as
// plain text. For GPT-2 it gives the same ids as tiktoken-go's r50k_base
// Encode, with one exception: tiktoken-go v0.10.0 drops U+007F (DEL) from
// its output, a bug in its generated regexp matcher, while this package
// encodes it like any other symbol, as Pattern, OpenAI's tiktoken and
// Hugging Face do.
//
// Invalid UTF-8 is encoded as if each invalid byte were U+FFFD, which is
// what tiktoken-go (through regexp2's conversion to runes) does; such text
// therefore does not decode back to itself. Valid UTF-8 always does.
func (t *Tokenizer) EncodeOrdinary(text string) []int {
	return t.AppendOrdinary(make([]int, 0, len(text)/4+1), text)
}

// AppendOrdinary appends the ids of text to dst, as EncodeOrdinary, and
// returns the extended slice. With enough capacity in dst and valid UTF-8
// text, it allocates only when it meets a piece it has not cached.
func (t *Tokenizer) AppendOrdinary(dst []int, text string) []int {
	return t.appendOrdinary(dst, sanitize(text))
}

// appendOrdinary is AppendOrdinary for text that has been sanitized.
func (t *Tokenizer) appendOrdinary(dst []int, text string) []int {
	for i := 0; i < len(text); {
		j := t.split.next(text, i)
		dst = t.appendPiece(dst, text, i, j)
		i = j
	}
	return dst
}

// appendPiece appends the ids of the piece text[i:j].
func (t *Tokenizer) appendPiece(dst []int, text string, i, j int) []int {
	piece := text[i:j]
	if len(piece) <= shortMax {
		lo, hi := packPiece(text, i, j)
		if id, ok := t.short.lookup(lo, hi, len(piece)); ok {
			return append(dst, int(id))
		}
	} else if id, ok := t.long[piece]; ok {
		return append(dst, int(id))
	}
	if len(piece) > cacheMaxPiece {
		sc := t.scratch()
		sc.out = t.bpeTree(sc.out[:0], piece, sc)
		dst = appendIDs(dst, sc.out)
		t.treePool.Put(sc)
		return dst
	}
	b := t.cache.bucket(piece)
	ids := t.cache.get(b, piece)
	if ids == nil {
		var buf [cacheMaxPiece]int32
		ids = t.bpe(buf[:0], piece)
		t.cache.put(b, piece, ids)
	}
	return appendIDs(dst, ids)
}

func appendIDs(dst []int, ids []int32) []int {
	for _, id := range ids {
		dst = append(dst, int(id))
	}
	return dst
}

// Encode returns the ids of text, where the text of a special token (such as
// "<|endoftext|>") stands for that token and is never split. Where special
// tokens overlap, the one that starts first wins, then the longest.
// Everything between special tokens is encoded as by EncodeOrdinary.
func (t *Tokenizer) Encode(text string) []int {
	text = sanitize(text)
	dst := make([]int, 0, len(text)/4+1)
	eachSegment(text, t.specials, func(plain string, sp *specialToken) {
		dst = t.appendOrdinary(dst, plain)
		if sp != nil {
			dst = append(dst, int(sp.id))
		}
	})
	return dst
}

// eachSegment calls f for each stretch of text up to a special token, with
// that token, and last for the rest of text, with nil. Where special tokens
// overlap, the one that starts first wins, then the longest.
func eachSegment(text string, specials []specialToken, f func(plain string, sp *specialToken)) {
	// next[i] is where specials[i] next occurs at or after pos, or -1 if it
	// does not; a special is searched for again only once pos has passed
	// it, which keeps the scan linear in len(text) per special.
	var nextBuf [4]int
	next := nextBuf[:0]
	for _, sp := range specials {
		next = append(next, strings.Index(text, sp.text))
	}
	pos := 0
	for {
		best := -1
		for i, sp := range specials {
			if next[i] >= 0 && next[i] < pos {
				next[i] = strings.Index(text[pos:], sp.text)
				if next[i] >= 0 {
					next[i] += pos
				}
			}
			if next[i] < 0 {
				continue
			}
			if best < 0 || next[i] < next[best] || next[i] == next[best] && len(sp.text) > len(specials[best].text) {
				best = i
			}
		}
		if best < 0 {
			f(text[pos:], nil)
			return
		}
		f(text[pos:next[best]], &specials[best])
		pos = next[best] + len(specials[best].text)
	}
}

// ErrUnknownID is wrapped by the error Decode and DecodeBytes return for an
// id that is not in the vocabulary.
var ErrUnknownID = errors.New("tokenizer: id out of range")

// DecodeBytes returns the bytes that ids stand for: the concatenation of
// their tokens, with special tokens as their text. The result need not be
// valid UTF-8 where ids cut a character in two.
func (t *Tokenizer) DecodeBytes(ids []int) ([]byte, error) {
	n := 0
	for i, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			return nil, fmt.Errorf("%w: ids[%d] = %d, want 0 <= id < %d", ErrUnknownID, i, id, len(t.tokens))
		}
		n += len(t.tokens[id])
	}
	out := make([]byte, 0, n)
	for _, id := range ids {
		out = append(out, t.tokens[id]...)
	}
	return out, nil
}

// Decode returns DecodeBytes(ids) as a string, unchanged even where it is not
// valid UTF-8, so that decoding a sequence in parts and joining the parts
// gives the same string as decoding it whole.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	b, err := t.DecodeBytes(ids)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
