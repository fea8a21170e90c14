package tokenizer

import (
	"math"
	"math/bits"
	"slices"
)

// scanLimit is the piece length, in bytes, up to which bpe merges with a
// linear scan for the lowest rank, O(n²) but with no setup; longer pieces,
// which are rare (runs of spaces or symbols), use bpeTree, O(n log n). The
// tree starts to win at about this length on runs of letters, digits and
// symbols.
const scanLimit = 16

// bpe appends to dst the ids that byte-pair encoding gives piece: starting
// from one token per byte, repeatedly join the adjacent pair whose merge has
// the lowest rank, the leftmost on a tie, until no adjacent pair has a merge.
// This is Hugging Face's rule (merges.txt ranks pairs); for GPT-2 it gives the
// same ids as tiktoken's rule (ranks of the joined strings), which
// TestGPT2MergesCanonical proves for every input.
func (t *Tokenizer) bpe(dst []int32, piece string) []int32 {
	if len(piece) <= scanLimit {
		return t.bpeScan(dst, piece)
	}
	sc := t.scratch()
	defer t.treePool.Put(sc)
	return t.bpeTree(dst, piece, sc)
}

// scratch returns working memory for bpeTree; put it back in t.treePool.
func (t *Tokenizer) scratch() *treeScratch {
	if sc, ok := t.treePool.Get().(*treeScratch); ok {
		return sc
	}
	return new(treeScratch)
}

// bpeScan is bpe for pieces of at most scanLimit bytes: each merge scans the
// ranks of all adjacent pairs for the lowest.
func (t *Tokenizer) bpeScan(dst []int32, piece string) []int32 {
	n := len(piece)
	// Fixed-size arrays stay on the stack, which keeps the hot path free of
	// allocations.
	var idBuf [scanLimit]int32
	var rankBuf [scanLimit]uint32
	var resBuf [scanLimit]int32
	ids, ranks, res := idBuf[:n], rankBuf[:n], resBuf[:n]
	for i := range n {
		ids[i] = t.byteID[piece[i]]
	}
	for i := 0; i+1 < n; i++ {
		ranks[i], res[i] = t.pairs.lookup(ids[i], ids[i+1])
	}
	for n > 1 {
		best, at := uint32(noRank), -1
		for i, r := range ranks[:n-1] {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		ids[at] = res[at]
		copy(ids[at+1:n-1], ids[at+2:n])
		copy(ranks[at+1:n-1], ranks[at+2:n])
		copy(res[at+1:n-1], res[at+2:n])
		n--
		if at+1 < n {
			ranks[at], res[at] = t.pairs.lookup(ids[at], ids[at+1])
		} else {
			ranks[at] = noRank
		}
		if at > 0 {
			ranks[at-1], res[at-1] = t.pairs.lookup(ids[at-1], ids[at])
		}
	}
	return append(dst, ids[:n]...)
}

// treeScratch is the working memory of bpeTree, pooled because long pieces
// tend to come in bursts (a document of ASCII art, a run of padding).
type treeScratch struct {
	parts []part
	tree  []uint64
	out   []int32
}

// part is a token in bpeTree's doubly linked list of parts.
type part struct {
	id         int32
	prev, next int32 // -1 at the ends
	res        int32 // the id that merging with next gives
}

// noCandidate is an empty tournament-tree entry; it exceeds every candidate.
const noCandidate = math.MaxUint64

// candidate packs a merge candidate so that candidates order by rank, then
// by position: among equal ranks the leftmost pair merges first.
func candidate(rank uint32, at int32) uint64 { return uint64(rank)<<32 | uint64(at) }

// bpeTree is bpeScan in O(n log n), for long pieces. The candidate merge
// of each part with its successor is a leaf of a tournament tree (a segment
// tree of minimums), so the next merge is at the root, and a merge updates
// three leaves (the merged part, the removed one and the predecessor), each
// in O(log n). Unlike a heap, it never holds stale entries.
func (t *Tokenizer) bpeTree(dst []int32, piece string, sc *treeScratch) []int32 {
	n := int32(len(piece))
	parts := sc.parts[:0]
	for i := range n {
		parts = append(parts, part{id: t.byteID[piece[i]], prev: i - 1, next: i + 1})
	}
	parts[n-1].next = -1
	sc.parts = parts
	size := 1 << bits.Len(uint(n-1)) // leaves, at least n
	tree := slices.Grow(sc.tree[:0], 2*size)[:2*size]
	sc.tree = tree
	leaves := tree[size:]
	for i := range leaves {
		leaves[i] = noCandidate
	}
	for i := int32(0); i+1 < n; i++ {
		rank, res := t.pairs.lookup(parts[i].id, parts[i+1].id)
		parts[i].res = res
		if rank != noRank {
			leaves[i] = candidate(rank, i)
		}
	}
	for p := size - 1; p >= 1; p-- {
		tree[p] = min(tree[2*p], tree[2*p+1])
	}
	set := func(i int32, c uint64) {
		p := size + int(i)
		tree[p] = c
		for p > 1 {
			p /= 2
			m := min(tree[2*p], tree[2*p+1])
			if tree[p] == m {
				break // the minimums above are unchanged too
			}
			tree[p] = m
		}
	}
	// rescore sets the candidate of part b with its successor.
	rescore := func(b int32) {
		c := uint64(noCandidate)
		if nx := parts[b].next; nx >= 0 {
			rank, res := t.pairs.lookup(parts[b].id, parts[nx].id)
			parts[b].res = res
			if rank != noRank {
				c = candidate(rank, b)
			}
		}
		set(b, c)
	}
	for tree[1] != noCandidate {
		i := int32(uint32(tree[1]))
		j := parts[i].next
		parts[i].id = parts[i].res
		parts[i].next = parts[j].next
		if k := parts[j].next; k >= 0 {
			parts[k].prev = i
		}
		set(j, noCandidate)
		rescore(i)
		if p := parts[i].prev; p >= 0 {
			rescore(p)
		}
	}
	for i := int32(0); i >= 0; i = parts[i].next {
		dst = append(dst, parts[i].id)
	}
	return dst
}
