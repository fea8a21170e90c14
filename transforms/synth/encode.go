package synth

import (
	"strconv"
	"time"
)

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Like encoding/json it escapes
// quotes, backslashes and control characters; unlike its default it leaves
// <, > and & alone, as help-desk exports do, so HTML bodies stay readable.
// Bytes that are not valid UTF-8 are copied as they are: only the malformed
// records contain any.
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339)
	return append(dst, '"')
}

// jsonFlaw is a way to break a JSON record; flawNone writes it intact.
type jsonFlaw uint8

const (
	flawNone jsonFlaw = iota
	flawMissingID
	flawIDNumber
	flawMissingTurns
	flawTurnsString
	flawUnknownRole
)

// appendJSON writes the current conversation as one JSONL record with the
// given id, without the trailing newline.
func (g *gen) appendJSON(dst []byte, id int, flaw jsonFlaw, badRole string) []byte {
	c := &g.c
	dst = append(dst, '{')
	switch flaw {
	case flawMissingID:
		dst = append(dst, `"created_at":`...)
	case flawIDNumber:
		dst = append(dst, `"id":`...)
		dst = strconv.AppendInt(dst, int64(id), 10)
		dst = append(dst, `,"created_at":`...)
	default:
		dst = append(dst, `"id":"`...)
		dst = appendID(dst, id)
		dst = append(dst, `","created_at":`...)
	}
	dst = appendTime(dst, c.turns[0].ts)
	dst = append(dst, `,"channel":"`...)
	dst = append(dst, channelNames[c.ch]...)
	dst = append(dst, `","subject":`...)
	dst = appendJSONString(dst, g.bytes(c.subject))
	dst = append(dst, g.bytes(c.extraPre)...)
	switch flaw {
	case flawMissingTurns:
	case flawTurnsString:
		// A flattened transcript where the turns array should be.
		a := len(g.vals)
		for i := range c.turns {
			t := &c.turns[i]
			if i > 0 {
				g.vals = append(g.vals, '\n')
			}
			g.vals = append(g.vals, roleNames[t.role]...)
			g.vals = append(g.vals, ": "...)
			g.vals = append(g.vals, g.bytes(t.text)...)
		}
		dst = append(dst, `,"turns":`...)
		dst = appendJSONString(dst, g.vals[a:])
	default:
		dst = append(dst, `,"turns":[`...)
		for i := range c.turns {
			t := &c.turns[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"role":"`...)
			if flaw == flawUnknownRole && i == len(c.turns)-1 {
				dst = append(dst, badRole...)
			} else {
				dst = append(dst, roleNames[t.role]...)
			}
			dst = append(dst, `","text":`...)
			dst = appendJSONString(dst, g.bytes(t.text))
			dst = append(dst, `,"ts":`...)
			dst = appendTime(dst, t.ts)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, g.bytes(c.meta)...)
	dst = append(dst, g.bytes(c.extraPost)...)
	return append(dst, '}')
}

// CSVHeader is the first line of CSV output.
const CSVHeader = "ticket_id,created_at,author_role,body,subject,channel"

// appendCSVField writes s as an RFC 4180 field, quoted when it holds a
// comma, a quote, a line break or surrounding spaces.
func appendCSVField[S ~string | ~[]byte](dst []byte, s S) []byte {
	quote := len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ')
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case ',', '"', '\n', '\r':
			quote = true
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, s[start:i+1]...)
			dst = append(dst, '"')
			start = i + 1
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// CSV timestamp layouts: help desks export either.
const (
	csvLayoutPlain = "2006-01-02 15:04:05"
	csvLayoutRFC   = time.RFC3339
)

// appendCSVRow writes one message row of the current conversation.
func (g *gen) appendCSVRow(dst []byte, id int, i int, layout string) []byte {
	c := &g.c
	t := &c.turns[i]
	dst = appendID(dst, id)
	dst = append(dst, ',')
	ts := t.ts
	if layout == csvLayoutPlain {
		ts = ts.UTC()
	}
	dst = ts.AppendFormat(dst, layout)
	dst = append(dst, ',')
	dst = append(dst, roleNames[t.role]...)
	dst = append(dst, ',')
	dst = appendCSVField(dst, g.bytes(t.text))
	dst = append(dst, ',')
	dst = appendCSVField(dst, g.bytes(c.subject))
	dst = append(dst, ',')
	dst = append(dst, channelNames[c.ch]...)
	return append(dst, '\n')
}

// extras writes the conversation's unknown top-level fields and metadata
// object as JSON fragments. None of them holds PII: a parser may keep them
// unredacted.
func (g *gen) extras() {
	c, r, o := &g.c, g.r, &g.o
	extra := g.chance(o.ExtraFieldsRate)
	a := len(g.arena)
	if extra && r.IntN(2) == 0 {
		g.arena = append(g.arena, `,"status":"`...)
		g.arena = append(g.arena, pick(r, []string{"open", "pending", "solved", "closed", "solved"})...)
		g.arena = append(g.arena, '"')
	}
	if extra && r.IntN(2) == 0 {
		g.arena = append(g.arena, `,"priority":"`...)
		g.arena = append(g.arena, pick(r, []string{"low", "normal", "normal", "high", "urgent"})...)
		g.arena = append(g.arena, '"')
	}
	c.extraPre = span{a, len(g.arena)}

	a = len(g.arena)
	if g.chance(o.MetadataRate) {
		g.arena = append(g.arena, `,"metadata":{"brand":`...)
		g.arena = appendJSONString(g.arena, g.company)
		g.arena = append(g.arena, `,"locale":"`...)
		g.arena = append(g.arena, [...]string{"en-US", "en-GB", "de-DE", "en-IN"}[c.locale]...)
		g.arena = append(g.arena, `","source":"`...)
		g.arena = append(g.arena, pick(r, []string{"helpdesk_export", "api", "mail_import", "widget"})...)
		g.arena = append(g.arena, '"')
		if r.IntN(2) == 0 {
			g.arena = append(g.arena, `,"csat":`...)
			if r.IntN(4) == 0 {
				g.arena = append(g.arena, "null"...)
			} else {
				g.arena = strconv.AppendInt(g.arena, int64(1+r.IntN(5)), 10)
			}
		}
		if r.IntN(2) == 0 {
			g.arena = append(g.arena, `,"first_response_minutes":`...)
			g.arena = strconv.AppendInt(g.arena, int64(1+r.IntN(2000)), 10)
		}
		if r.IntN(3) == 0 {
			g.arena = append(g.arena, `,"custom_fields":{"region":"`...)
			g.arena = append(g.arena, pick(r, []string{"NA", "EMEA", "APAC", "LATAM"})...)
			g.arena = append(g.arena, `","vip":`...)
			g.arena = append(g.arena, pick(r, []string{"false", "false", "true"})...)
			g.arena = append(g.arena, '}')
		}
		g.arena = append(g.arena, '}')
	}
	c.meta = span{a, len(g.arena)}

	a = len(g.arena)
	if extra {
		g.arena = append(g.arena, `,"tags":["`...)
		g.arena = append(g.arena, c.sc.tag...)
		g.arena = append(g.arena, '"')
		if r.IntN(3) == 0 {
			g.arena = append(g.arena, `,"`...)
			g.arena = append(g.arena, pick(r, []string{"vip", "escalated", "follow-up", "angry-customer", "macro-used"})...)
			g.arena = append(g.arena, '"')
		}
		g.arena = append(g.arena, ']')
		if r.IntN(2) == 0 {
			g.arena = append(g.arena, `,"assignee":`...)
			if c.noAgent || r.IntN(5) == 0 {
				g.arena = append(g.arena, "null"...)
			} else {
				g.arena = appendJSONString(g.arena, lowerASCII(c.agent)+"."+string(rune('a'+r.IntN(26))))
			}
		}
		if r.IntN(3) == 0 {
			g.arena = append(g.arena, `,"group_id":`...)
			g.arena = strconv.AppendInt(g.arena, 360000000000+r.Int64N(10000000), 10)
		}
		if r.IntN(3) == 0 {
			g.arena = append(g.arena, `,"updated_at":`...)
			g.arena = appendTime(g.arena, c.turns[len(c.turns)-1].ts.Add(time.Duration(r.IntN(72))*time.Hour))
		}
	}
	c.extraPost = span{a, len(g.arena)}
}
