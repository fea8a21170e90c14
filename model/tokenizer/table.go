package tokenizer

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"
)

// noRank marks a pair of adjacent parts that no merge joins.
const noRank = math.MaxUint32

// pairTable maps a pair of token ids to the rank of its merge and the id the
// merge produces. It is an open-addressing hash table over uint64 keys
// (left<<32 | right): a lookup is a multiply, a shift and usually one
// compare, where a map[string] would hash and compare strings.
type pairTable struct {
	slots []pairSlot
	shift uint8
}

type pairSlot struct {
	key  uint64 // emptyPair when unused
	rank uint32
	id   int32
}

// emptyPair cannot be a key: ids are non-negative int32s.
const emptyPair = math.MaxUint64

func pairKey(left, right int32) uint64 { return uint64(left)<<32 | uint64(uint32(right)) }

// newPairTable builds the table for merges, whose results are result. If
// two merges are the same pair, it fails and returns the later one's rank.
func newPairTable(merges []merge, result []int32) (pairTable, int, bool) {
	// Load factor at most 1/2 keeps probe sequences short.
	size := 1 << bits.Len(uint(2*len(merges)|1))
	t := pairTable{slots: make([]pairSlot, size), shift: uint8(64 - bits.Len(uint(size-1)))}
	for i := range t.slots {
		t.slots[i].key = emptyPair
	}
	mask := uint64(len(t.slots) - 1)
	for rank, m := range merges {
		k := pairKey(m.left, m.right)
		h := t.hash(k)
		for ; t.slots[h].key != emptyPair; h = (h + 1) & mask {
			if t.slots[h].key == k {
				return pairTable{}, rank, false
			}
		}
		t.slots[h] = pairSlot{key: k, rank: uint32(rank), id: result[rank]}
	}
	return t, 0, true
}

func (t *pairTable) hash(k uint64) uint64 {
	return (k * 0x9e3779b97f4a7c15) >> t.shift
}

// lookup returns the rank and result of merging left and right, or noRank.
func (t *pairTable) lookup(left, right int32) (uint32, int32) {
	k := pairKey(left, right)
	mask := uint64(len(t.slots) - 1)
	for h := t.hash(k); ; h = (h + 1) & mask {
		s := &t.slots[h]
		if s.key == k {
			return s.rank, s.id
		}
		if s.key == emptyPair {
			return noRank, -1
		}
	}
}

// shortMax is the longest piece shortTable holds. Nearly every piece of
// ordinary text is this short (all but about one in 10⁵ in the SGD corpus).
const shortMax = 16

// shortTable maps pieces of up to shortMax bytes to ids, with the bytes
// packed into two words stored in the slot itself. A lookup touches one slot
// (one cache line) and compares integers, where a map[string] would follow a
// pointer to compare the key's bytes; on ordinary text this lookup is most
// of the work of encoding.
type shortTable struct {
	slots []shortSlot
	shift uint8
}

type shortSlot struct {
	lo, hi uint64 // the piece, little-endian, zero-padded
	n      int32  // its length; 0 marks an empty slot
	id     int32
}

func newShortTable(n int) shortTable {
	size := 1 << bits.Len(uint(2*n|1))
	return shortTable{slots: make([]shortSlot, size), shift: uint8(64 - bits.Len(uint(size-1)))}
}

func (t *shortTable) hash(lo, hi uint64, n int) uint64 {
	return ((lo ^ (hi+uint64(n))*0xc2b2ae3d27d4eb4f) * 0x9e3779b97f4a7c15) >> t.shift
}

// insert adds piece, at most shortMax bytes, which must not be present.
func (t *shortTable) insert(piece string, id int32) {
	lo, hi := packPiece(piece, 0, len(piece))
	mask := uint64(len(t.slots) - 1)
	h := t.hash(lo, hi, len(piece))
	for t.slots[h].n != 0 {
		h = (h + 1) & mask
	}
	t.slots[h] = shortSlot{lo: lo, hi: hi, n: int32(len(piece)), id: id}
}

// lookup returns the id of the piece packed as lo, hi, of length n.
func (t *shortTable) lookup(lo, hi uint64, n int) (int32, bool) {
	mask := uint64(len(t.slots) - 1)
	for h := t.hash(lo, hi, n); ; h = (h + 1) & mask {
		s := &t.slots[h]
		if s.lo == lo && s.hi == hi && int(s.n) == n {
			return s.id, true
		}
		if s.n == 0 {
			return 0, false
		}
	}
}

// packPiece packs text[i:j], at most shortMax bytes, for shortTable. Where
// text extends far enough past i, it loads two whole words and masks off
// what lies beyond j, which avoids a byte loop.
func packPiece(text string, i, j int) (lo, hi uint64) {
	n := j - i
	if i+shortMax > len(text) {
		var buf [shortMax]byte
		copy(buf[:], text[i:j])
		return binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:])
	}
	lo, hi = le64(text[i:]), le64(text[i+8:])
	switch {
	case n < 8:
		lo &= 1<<(8*n) - 1
		hi = 0
	case n < 16:
		hi &= 1<<(8*(n-8)) - 1
	}
	return lo, hi
}

// le64 reads the first 8 bytes of s as a little-endian word; the compiler
// turns it into a single load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// pieceCache remembers the ids of pieces that are not single tokens. It is
// bounded and needs no eviction bookkeeping: a piece hashes to a bucket of
// two entries, and a new entry goes in front, pushing the older one back
// and the oldest out. Entries are immutable once published through an atomic
// pointer, so readers take no lock and never see a torn entry. Writers race
// benignly: at worst a reader misses an entry that another goroutine is
// moving, and recomputes the same ids.
type pieceCache struct {
	seed    maphash.Seed
	buckets [][2]atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	piece string
	ids   []int32
}

const (
	// cacheEntries bounds the cache; with pieces of at most cacheMaxPiece
	// bytes it holds about 12 MiB at worst, and a few MiB on real text (the
	// SGD corpus has 7k distinct pieces that are not single tokens).
	cacheEntries = 1 << 15
	// cacheMaxPiece keeps long pieces, which rarely repeat, out of the cache.
	cacheMaxPiece = 64
)

func newPieceCache() *pieceCache {
	return &pieceCache{seed: maphash.MakeSeed(), buckets: make([][2]atomic.Pointer[cacheEntry], cacheEntries/2)}
}

func (c *pieceCache) bucket(piece string) *[2]atomic.Pointer[cacheEntry] {
	return &c.buckets[maphash.String(c.seed, piece)&(cacheEntries/2-1)]
}

// get returns the cached ids of piece, or nil.
func (c *pieceCache) get(b *[2]atomic.Pointer[cacheEntry], piece string) []int32 {
	for i := range b {
		if e := b[i].Load(); e != nil && e.piece == piece {
			return e.ids
		}
	}
	return nil
}

// put caches a copy of piece and ids in b, the bucket of piece.
func (c *pieceCache) put(b *[2]atomic.Pointer[cacheEntry], piece string, ids []int32) {
	e := &cacheEntry{piece: strings.Clone(piece), ids: slices.Clone(ids)}
	b[1].Store(b[0].Load())
	b[0].Store(e)
}
