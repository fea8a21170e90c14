package tokenizer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// hashDomain starts the canonical serialisation, so that a change to its
// layout changes every hash.
const hashDomain = "nebras/model/tokenizer byte-level BPE v1\n"

// Hash returns "sha256:" and the hex SHA-256 of a canonical serialisation of
// the model: every token by id (whether it is special, and its bytes), then
// every merge in rank order as a pair of ids. It depends only on what the
// tokenizer does, not on how its files were formatted, so GPT2() and LoadDir
// of the files GPT2().Save wrote have the same hash.
func (t *Tokenizer) Hash() string { return t.hash }

func (t *Tokenizer) computeHash() string {
	h := sha256.New()
	buf := []byte(hashDomain)
	buf = binary.AppendUvarint(buf, uint64(len(t.tokens)))
	for id, s := range t.tokens {
		kind := byte(0)
		if t.special[id] {
			kind = 1
		}
		buf = append(buf, kind)
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
		if len(buf) > 1<<16 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(t.merges)))
	for _, m := range t.merges {
		buf = binary.AppendUvarint(buf, uint64(m.left))
		buf = binary.AppendUvarint(buf, uint64(m.right))
		if len(buf) > 1<<16 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
