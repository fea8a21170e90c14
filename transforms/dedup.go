package transforms

import (
	"crypto/sha256"
	"unicode"
	"unicode/utf8"
)

// ContentKey is the dedup key of a conversation: a SHA-256 over its roles and
// normalized turn texts. The id, timestamps, channel and metadata are left
// out on purpose: a ticket re-imported under a new id, or exported twice by
// two help-desk integrations, is the same training data and must count once.
//
// Normalization folds case and collapses every run of white space to one
// space, so trivial formatting differences do not defeat the dedup. Callers
// pass the cleaned, redacted conversation, which also makes two tickets that
// differ only in a customer's e-mail address duplicates, as they should be.
func ContentKey(turns []Turn) [32]byte {
	h := sha256.New()
	buf := make([]byte, 0, 256)
	for _, t := range turns {
		buf = append(buf[:0], t.Role...)
		buf = append(buf, 0x1f)
		buf = appendNormalized(buf, t.Text)
		buf = append(buf, 0x1e)
		h.Write(buf)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// appendNormalized appends s lower-cased with white-space runs folded to a
// single space and no leading or trailing space.
func appendNormalized(dst []byte, s string) []byte {
	pendingSpace := false
	wrote := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pendingSpace = wrote
			continue
		}
		if pendingSpace {
			dst = append(dst, ' ')
			pendingSpace = false
		}
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, byte(r))
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		wrote = true
	}
	return dst
}
