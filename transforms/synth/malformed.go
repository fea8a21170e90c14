package synth

import (
	"bytes"
	"math/rand/v2"
	"slices"
)

// invalidUTF8 are byte sequences no UTF-8 decoder accepts: stray bytes,
// a truncated sequence, an encoded surrogate, an overlong encoding.
var invalidUTF8 = [...]string{"\xff\xfe", "\xc3\x28", "\xed\xa0\x80", "\xc0\xaf", "\xe2\x82"}

var unknownRoles = [...]string{"bot", "end-user", "Agent", "assistant", "requester", ""}

// malformedJSON writes one broken JSONL line made from a fresh
// conversation, and says how it is broken.
func (g *gen) malformedJSON(dst []byte, id int, r *rand.Rand) ([]byte, string) {
	g.build(id)
	var kind string
	switch r.IntN(7) {
	case 0:
		kind = MalformedTruncated
		dst = g.appendJSON(dst, id, flawNone, "")
		// A proper prefix of a JSON object is never valid JSON.
		dst = dst[:len(dst)/3+r.IntN(len(dst)*2/3-1)]
	case 1:
		kind = MalformedInvalidUTF8
		a := len(dst)
		dst = g.appendJSON(dst, id, flawNone, "")
		at := a + bytes.Index(dst[a:], []byte(`"text":"`)) + len(`"text":"`)
		dst = slices.Insert(dst, at, []byte(pick(r, invalidUTF8[:]))...)
	case 2:
		kind = MalformedMissingID
		dst = g.appendJSON(dst, id, flawMissingID, "")
	case 3:
		kind = MalformedIDType
		dst = g.appendJSON(dst, id, flawIDNumber, "")
	case 4:
		kind = MalformedMissingTurns
		dst = g.appendJSON(dst, id, flawMissingTurns, "")
	case 5:
		kind = MalformedTurnsType
		dst = g.appendJSON(dst, id, flawTurnsString, "")
	default:
		kind = MalformedUnknownRole
		dst = g.appendJSON(dst, id, flawUnknownRole, pick(r, unknownRoles[:]))
	}
	return append(dst, '\n'), kind
}

// malformedCSV writes one broken CSV row made from the first message of a
// fresh conversation. Every flaw stays within the row: quoting is always
// balanced, so a reader recovers at the next row.
func (g *gen) malformedCSV(dst []byte, id int, r *rand.Rand) ([]byte, string) {
	g.build(id)
	c := &g.c
	t := &c.turns[0]
	idField := appendID(nil, id)
	roleField := roleNames[t.role]
	body := g.bytes(t.text)
	var kind string
	extra := ""
	fields := 6
	switch r.IntN(4) {
	case 0:
		kind = MalformedColumnCount
		if r.IntN(2) == 0 {
			fields = 5
		} else {
			fields = 7
			extra = pick(r, []string{"urgent", "", "open", "x"})
		}
	case 1:
		kind = MalformedUnknownRole
		roleField = pick(r, unknownRoles[:])
	case 2:
		kind = MalformedMissingID
		idField = nil
	default:
		kind = MalformedInvalidUTF8
		at := bytes.IndexByte(body, ' ') + 1
		body = slices.Insert(slices.Clone(body), at, []byte(pick(r, invalidUTF8[:]))...)
	}
	dst = append(dst, idField...)
	dst = append(dst, ',')
	dst = t.ts.AppendFormat(dst, csvLayoutRFC)
	dst = append(dst, ',')
	dst = appendCSVField(dst, roleField)
	dst = append(dst, ',')
	dst = appendCSVField(dst, body)
	dst = append(dst, ',')
	dst = appendCSVField(dst, g.bytes(c.subject))
	if fields >= 6 {
		dst = append(dst, ',')
		dst = append(dst, channelNames[c.ch]...)
	}
	if fields == 7 {
		dst = append(dst, ',')
		dst = appendCSVField(dst, extra)
	}
	return append(dst, '\n'), kind
}
