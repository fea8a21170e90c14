package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// TrainOptions configures Train.
type TrainOptions struct {
	// VocabSize is the number of tokens to end with, special tokens
	// included. It must exceed 256 plus the number of special tokens.
	VocabSize int
	// MinFrequency is the fewest occurrences a pair needs to be merged;
	// 0 means 1.
	MinFrequency int
	// SpecialTokens are appended after the merged tokens, in order. Nil
	// means ["<|endoftext|>"]; an empty, non-nil slice means none.
	SpecialTokens []string
}

// Train learns a byte-level BPE tokenizer from texts, in the manner of
// Hugging Face's BpeTrainer with the ByteLevel pre-tokenizer (without a
// prefix space): each text is split as for encoding, with the text of
// special tokens cut out; the vocabulary starts from the 256 bytes in GPT-2's
// order; then, repeatedly, the most frequent pair of adjacent tokens across
// all pieces becomes a new token, ties going to the pair with the lowest
// (left id, right id). Training stops when there are
// VocabSize-len(SpecialTokens) tokens or no pair occurs MinFrequency times.
// The special tokens then take the last ids, in order, so that by default
// "<|endoftext|>" is the last token, as in GPT-2.
//
// Every merge makes a new token: two different pairs cannot join to the same
// bytes, because encoding those bytes with the merges learnt before the second
// pair would already have produced the token. So a tokenizer trained to
// VocabSize has VocabSize-256-len(SpecialTokens) merges, unless no pair was
// left to merge.
//
// Train returns ctx's error if ctx is cancelled before it is done.
func Train(ctx context.Context, texts func(yield func(string) bool), opts TrainOptions) (*Tokenizer, error) {
	specials, err := checkTrainOptions(texts, opts)
	if err != nil {
		return nil, err
	}
	pc, err := countPieces(ctx, texts, specials)
	if err != nil {
		return nil, err
	}
	tr := newTrainer(pc)
	if err := tr.run(ctx, opts.VocabSize-len(specials), int64(max(opts.MinFrequency, 1))); err != nil {
		return nil, err
	}
	tokens := tr.tokens
	special := make([]bool, len(tokens), len(tokens)+len(specials))
	for _, sp := range specials {
		tokens = append(tokens, sp.text)
		special = append(special, true)
	}
	t, err := newTokenizer(tokens, special, tr.merges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	return t, nil
}

func checkTrainOptions(texts func(yield func(string) bool), opts TrainOptions) ([]specialToken, error) {
	if texts == nil {
		return nil, errors.New("tokenizer: train: texts is nil")
	}
	names := opts.SpecialTokens
	if names == nil {
		names = []string{EndOfText}
	}
	var specials []specialToken
	seen := make(map[string]bool)
	for _, s := range names {
		switch {
		case s == "":
			return nil, errors.New("tokenizer: train: empty special token")
		case !utf8.ValidString(s):
			return nil, fmt.Errorf("tokenizer: train: special token %q is not valid UTF-8", s)
		case seen[s]:
			return nil, fmt.Errorf("tokenizer: train: special token %q given twice", s)
		}
		seen[s] = true
		specials = append(specials, specialToken{text: s})
	}
	if min := 256 + len(specials) + 1; opts.VocabSize < min {
		return nil, fmt.Errorf("tokenizer: train: VocabSize %d must be at least %d (256 bytes, %d special tokens and one merge)", opts.VocabSize, min, len(specials))
	}
	if opts.VocabSize > maxVocab {
		return nil, fmt.Errorf("tokenizer: train: VocabSize %d exceeds the limit of %d", opts.VocabSize, maxVocab)
	}
	if opts.MinFrequency < 0 {
		return nil, fmt.Errorf("tokenizer: train: MinFrequency %d is negative", opts.MinFrequency)
	}
	return specials, nil
}

// cancelCheckBytes is how much text countPieces reads between looks at ctx.
const cancelCheckBytes = 1 << 20

// pieceCounts holds the distinct pieces of the training text, in order of
// first appearance, and how often each occurs.
type pieceCounts struct {
	pieces []string
	freq   []int64
}

// countPieces returns how often each piece occurs in texts.
func countPieces(ctx context.Context, texts func(yield func(string) bool), specials []specialToken) (*pieceCounts, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	sp := newSplitter()
	pc := new(pieceCounts)
	// index is never assigned to for a key it has: that would replace the
	// stored key by the new substring and pin the caller's text.
	index := make(map[string]int32)
	add := func(plain string, _ *specialToken) {
		for i := 0; i < len(plain); {
			j := sp.next(plain, i)
			if k, ok := index[plain[i:j]]; ok {
				pc.freq[k]++
			} else {
				p := strings.Clone(plain[i:j])
				index[p] = int32(len(pc.pieces))
				pc.pieces = append(pc.pieces, p)
				pc.freq = append(pc.freq, 1)
			}
			i = j
		}
	}
	var err error
	read := 0
	for text := range texts {
		eachSegment(sanitize(text), specials, add)
		if read += len(text); read >= cancelCheckBytes {
			read = 0
			if err = ctx.Err(); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	return pc, nil
}

// trainer holds the state of BPE training over the distinct pieces (words).
// Pair statistics are kept incrementally: a merge visits only the words that
// contain its pair and adjusts the counts of the pairs around each
// occurrence, and a max-heap with lazy re-validation picks the next pair.
type trainer struct {
	tokens []string // raw bytes by id
	merges []merge

	// Word w is arena[start[w] : start[w]+size[w]] and occurs freq[w] times.
	arena []int32
	start []int32
	size  []int32
	freq  []int64
	// mark[w] is the last merge that visited word w, so that a word listed
	// twice for a pair is merged once.
	mark []int32

	// Pair statistics by slot; slot maps a pair key to its slot.
	slot  map[uint64]int32
	key   []uint64
	count []int64
	where [][]int32 // words that have contained the pair, perhaps stale
	done  []bool    // merged already
	// queued[s] is the last merge that queued slot s.
	queued []int32
	heap   pairHeap
}

func newTrainer(pc *pieceCounts) *trainer {
	tr := &trainer{slot: make(map[uint64]int32), freq: pc.freq}
	var byteID [256]int32
	for id, b := range bl.order {
		tr.tokens = append(tr.tokens, string([]byte{b}))
		byteID[b] = int32(id)
	}
	for w, piece := range pc.pieces {
		tr.start = append(tr.start, int32(len(tr.arena)))
		tr.size = append(tr.size, int32(len(piece)))
		tr.mark = append(tr.mark, -1)
		for i := range len(piece) {
			tr.arena = append(tr.arena, byteID[piece[i]])
		}
		syms := tr.word(int32(w))
		for i := 0; i+1 < len(syms); i++ {
			tr.add(syms[i], syms[i+1], pc.freq[w], int32(w))
		}
	}
	for s, c := range tr.count {
		tr.heap = append(tr.heap, heapPair{count: c, key: tr.key[s]})
	}
	tr.heap.init()
	return tr
}

func (tr *trainer) word(w int32) []int32 {
	return tr.arena[tr.start[w] : tr.start[w]+tr.size[w]]
}

// add adds n to the count of pair (a, b) and records that word w has it. It
// returns the pair's slot.
func (tr *trainer) add(a, b int32, n int64, w int32) int32 {
	k := pairKey(a, b)
	s, ok := tr.slot[k]
	if !ok {
		s = int32(len(tr.key))
		tr.slot[k] = s
		tr.key = append(tr.key, k)
		tr.count = append(tr.count, 0)
		tr.where = append(tr.where, nil)
		tr.done = append(tr.done, false)
		tr.queued = append(tr.queued, -1)
	}
	tr.count[s] += n
	if ws := tr.where[s]; len(ws) == 0 || ws[len(ws)-1] != w {
		tr.where[s] = append(ws, w)
	}
	return s
}

// sub subtracts n from the count of pair (a, b), which exists.
func (tr *trainer) sub(a, b int32, n int64) {
	tr.count[tr.slot[pairKey(a, b)]] -= n
}

// cancelCheckMerges is how many merges run between looks at ctx.
const cancelCheckMerges = 256

func (tr *trainer) run(ctx context.Context, target int, minFreq int64) error {
	var grown []int32 // slots whose count a merge increased
	for len(tr.tokens) < target && len(tr.heap) > 0 {
		if len(tr.merges)%cancelCheckMerges == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("tokenizer: train: %w", err)
			}
		}
		top := tr.heap.pop()
		s := tr.slot[top.key]
		if tr.done[s] {
			continue
		}
		if c := tr.count[s]; c != top.count {
			// Counts only fall between pushes, so a stale entry is
			// re-queued with its true count and the heap order holds.
			if c > 0 {
				tr.heap.push(heapPair{count: c, key: top.key})
			}
			continue
		}
		if top.count < minFreq {
			break
		}
		a, b := int32(top.key>>32), int32(uint32(top.key))
		id := int32(len(tr.tokens))
		// newTokenizer rejects two tokens with the same bytes, which
		// guards the claim in Train's comment.
		tr.tokens = append(tr.tokens, tr.tokens[a]+tr.tokens[b])
		mergeNo := int32(len(tr.merges))
		tr.merges = append(tr.merges, merge{a, b})

		grown = grown[:0]
		for _, w := range tr.where[s] {
			if tr.mark[w] == mergeNo {
				continue
			}
			tr.mark[w] = mergeNo
			grown = tr.mergeWord(w, a, b, id, grown)
		}
		tr.done[s] = true
		tr.where[s] = nil
		for _, g := range grown {
			// A created pair can only lose occurrences from now on, so it
			// is queued once, with its count after the whole merge.
			if tr.queued[g] != mergeNo && tr.count[g] > 0 {
				tr.queued[g] = mergeNo
				tr.heap.push(heapPair{count: tr.count[g], key: tr.key[g]})
			}
		}
	}
	return nil
}

// mergeWord replaces each occurrence of (a, b) in word w by id, left to
// right, and updates the counts of the pairs around it as Hugging Face's
// Word::merge does: the left neighbour is the already merged symbol, so two
// adjacent occurrences net out correctly. It appends the slots of the pairs
// it created to grown.
func (tr *trainer) mergeWord(w, a, b, id int32, grown []int32) []int32 {
	syms := tr.word(w)
	n := tr.freq[w]
	out := 0
	for i := 0; i < len(syms); i++ {
		if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
			if out > 0 {
				left := syms[out-1]
				tr.sub(left, a, n)
				grown = append(grown, tr.add(left, id, n, w))
			}
			if i+2 < len(syms) {
				right := syms[i+2]
				tr.sub(b, right, n)
				grown = append(grown, tr.add(id, right, n, w))
			}
			syms[out] = id
			out++
			i++
			continue
		}
		syms[out] = syms[i]
		out++
	}
	tr.size[w] = int32(out)
	return grown
}

// heapPair is a pair and its count when it was queued.
type heapPair struct {
	count int64
	key   uint64
}

// pairHeap is a max-heap by count, then by lowest key, which is the lowest
// (left, right) since ids are non-negative.
type pairHeap []heapPair

func (h pairHeap) less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].key < h[j].key
}

func (h pairHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *pairHeap) push(p heapPair) {
	*h = append(*h, p)
	h.up(len(*h) - 1)
}

func (h *pairHeap) pop() heapPair {
	old := *h
	top := old[0]
	last := len(old) - 1
	old[0] = old[last]
	*h = old[:last]
	h.down(0)
	return top
}

func (h pairHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (h pairHeap) down(i int) {
	for {
		child := 2*i + 1
		if child >= len(h) {
			return
		}
		if r := child + 1; r < len(h) && h.less(r, child) {
			child = r
		}
		if !h.less(child, i) {
			return
		}
		h[i], h[child] = h[child], h[i]
		i = child
	}
}
