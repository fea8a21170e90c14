package transforms

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// RejectReason is why a record was rejected. The values are stable
// snake_case codes: the dataset manifest uses them as counter keys, so they
// must never be renamed.
type RejectReason string

// The reasons a record can be rejected at parse time.
const (
	// ReasonEmptyLine: the JSONL line holds nothing but whitespace.
	ReasonEmptyLine RejectReason = "empty_line"
	// ReasonBadJSON: the line is not one well-formed JSON object.
	ReasonBadJSON RejectReason = "bad_json"
	// ReasonInvalidUTF8: the input holds invalid UTF-8, or a JSON \u escape
	// for an unpaired UTF-16 surrogate (which decoders would silently turn
	// into U+FFFD).
	ReasonInvalidUTF8 RejectReason = "invalid_utf8"
	// ReasonMissingField: a required field is absent, null or empty.
	ReasonMissingField RejectReason = "missing_field"
	// ReasonBadField: a field has the wrong JSON type.
	ReasonBadField RejectReason = "bad_field"
	// ReasonDuplicateField: a schema field appears twice in one object, so
	// the record is ambiguous.
	ReasonDuplicateField RejectReason = "duplicate_field"
	// ReasonUnknownRole: a turn or CSV row names a role we do not know.
	ReasonUnknownRole RejectReason = "unknown_role"
	// ReasonCSVHeader: a CSV header lacks a required column or names one
	// twice.
	ReasonCSVHeader RejectReason = "csv_header"
	// ReasonCSVColumns: a CSV row's column count differs from the header's.
	ReasonCSVColumns RejectReason = "csv_column_count"
	// ReasonCSVSyntax: the CSV reader could not split a row (bad quoting).
	ReasonCSVSyntax RejectReason = "csv_syntax"
)

// RejectReasons returns every RejectReason, in a fixed order, so that a
// manifest can report zero counts too.
func RejectReasons() []RejectReason {
	return []RejectReason{
		ReasonEmptyLine, ReasonBadJSON, ReasonInvalidUTF8, ReasonMissingField,
		ReasonBadField, ReasonDuplicateField, ReasonUnknownRole,
		ReasonCSVHeader, ReasonCSVColumns, ReasonCSVSyntax,
	}
}

// ParseError is a rejected record: a stable Reason for counting and a
// one-line human Detail for the dead-letter report.
type ParseError struct {
	Reason RejectReason
	Detail string
}

// Error returns "reason: detail" on one line.
func (e *ParseError) Error() string {
	if e.Detail == "" {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Detail
}

// ReasonOf returns the RejectReason of err when err is or wraps a
// *ParseError, and "" otherwise.
func ReasonOf(err error) RejectReason {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}

func newParseError(r RejectReason, format string, args ...any) *ParseError {
	return &ParseError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// maxQuoted bounds how much of an offending value an error detail quotes,
// so a hostile 1 MB role does not end up in every dead-letter line.
const maxQuoted = 64

// quote returns s as a Go-quoted string (hence always one line), cut to
// maxQuoted bytes at a rune boundary.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// maxDepth bounds nesting in metadata values; it matches encoding/json so
// that anything encoding/json accepts is accepted here too.
const maxDepth = 10000

// ParseJSONL parses one line of the canonical JSONL format into a
// Conversation. Leading and trailing whitespace (including the newline) is
// ignored.
//
// Schema: "id" (non-empty string) and "turns" (non-empty array of objects
// with "role" and "text" strings and an optional "ts" string) are required;
// "created_at", "channel" and "subject" are optional strings; "metadata" is
// an optional object. A JSON null counts as absent. Every other top-level
// field is kept, as raw JSON, in Conversation.Metadata together with the
// members of "metadata"; when a key is in both, the "metadata" object wins,
// whatever the field order. Within one object a repeated schema field is
// rejected (ReasonDuplicateField); a repeated metadata or unknown key keeps
// its last value, as encoding/json would. Unknown fields inside a turn are
// ignored.
//
// Roles are strict (see ParseRole): "customer", "agent" or "system",
// exactly, once surrounding spaces are trimmed. "Agent", "bot" or
// "end-user" are rejected with ReasonUnknownRole rather than guessed at, so
// a converter bug shows up in the reject counts instead of silently
// mislabelling turns. Turn text may be empty: cleaning decides later.
//
// Keys are case-sensitive, as JSON's are: "Subject" is kept as metadata,
// not taken for "subject".
//
// Errors are *ParseError. Precedence: invalid UTF-8 anywhere is reported
// first, then the first syntax error (the whole line is checked, so a
// malformed line is always ReasonBadJSON), then the first schema violation
// in field order, then missing fields. Turn numbers in details are 0-based
// indexes into "turns".
//
// The returned strings share one copy of the line; line itself is not
// retained, so the caller may reuse its buffer.
func ParseJSONL(line []byte) (Conversation, error) {
	if !utf8.Valid(line) {
		return Conversation{}, newParseError(ReasonInvalidUTF8, "invalid UTF-8 at byte %d", firstInvalidUTF8(line))
	}
	p := jsonParser{b: line}
	p.skipWS()
	if p.pos == len(line) {
		return Conversation{}, &ParseError{Reason: ReasonEmptyLine, Detail: "line is empty"}
	}
	if line[p.pos] != '{' {
		if k := kindOf(line[p.pos]); k != "" {
			return Conversation{}, newParseError(ReasonBadJSON, "line is %s, want a JSON object", kindPhrase(line[p.pos]))
		}
		return Conversation{}, newParseError(ReasonBadJSON, "unexpected %s at byte %d, want an object", quoteByte(line[p.pos]), p.pos)
	}
	p.s = string(line)
	c, err := p.conversation()
	if err != nil {
		return Conversation{}, err
	}
	return c, nil
}

// firstInvalidUTF8 returns the offset of the first byte that is not part of
// a valid UTF-8 sequence.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// kindPhrase is kindOf with an article, for error details: "an object".
func kindPhrase(c byte) string {
	switch k := kindOf(c); k {
	case "object", "array":
		return "an " + k
	case "null", "":
		return k
	default:
		return "a " + k
	}
}

// kindOf names the JSON type a value starting with c has, or "" when c
// cannot start a value.
func kindOf(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return ""
}

// jsonParser is a single-pass, allocation-conscious JSON reader specialised
// for the conversation schema. Strings without escapes are substrings of s
// (one copy of the whole line) rather than separate allocations.
type jsonParser struct {
	b   []byte
	s   string // string(b): backing store for returned strings
	pos int
	// sem is the first schema violation. It is held back until the whole
	// line has been checked, so that malformed JSON is always reported as
	// such whatever the field order.
	sem *ParseError
}

// metaSpan is one metadata entry: key and the byte range of its raw value.
type metaSpan struct {
	key        string
	start, end int
	fromObject bool // member of "metadata" rather than a top-level field
}

func (p *jsonParser) semantic(r RejectReason, format string, args ...any) {
	if p.sem == nil {
		p.sem = newParseError(r, format, args...)
	}
}

func (p *jsonParser) syntaxErr(format string, args ...any) *ParseError {
	return newParseError(ReasonBadJSON, format, args...)
}

func (p *jsonParser) skipWS() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// expect consumes byte c (after whitespace) or fails.
func (p *jsonParser) expect(c byte, what string) error {
	p.skipWS()
	if p.pos >= len(p.b) {
		return p.syntaxErr("unexpected end of line, want %s", what)
	}
	if p.b[p.pos] != c {
		return p.syntaxErr("unexpected %s at byte %d, want %s", quoteByte(p.b[p.pos]), p.pos, what)
	}
	p.pos++
	return nil
}

// next reports, after whitespace, whether an object or array continues
// (',') or ends (close). It consumes the delimiter.
func (p *jsonParser) next(close byte) (more bool, err error) {
	p.skipWS()
	if p.pos >= len(p.b) {
		return false, p.syntaxErr("unexpected end of line, want ',' or %q", close)
	}
	switch p.b[p.pos] {
	case ',':
		p.pos++
		return true, nil
	case close:
		p.pos++
		return false, nil
	}
	return false, p.syntaxErr("unexpected %s at byte %d, want ',' or %q", quoteByte(p.b[p.pos]), p.pos, close)
}

// key reads an object key and the ':' after it.
func (p *jsonParser) key() (string, error) {
	p.skipWS()
	if p.pos >= len(p.b) {
		return "", p.syntaxErr("unexpected end of line, want an object key")
	}
	if p.b[p.pos] != '"' {
		return "", p.syntaxErr("unexpected %s at byte %d, want an object key", quoteByte(p.b[p.pos]), p.pos)
	}
	k, err := p.str()
	if err != nil {
		return "", err
	}
	if err := p.expect(':', "':' after object key"); err != nil {
		return "", err
	}
	p.skipWS()
	if p.pos >= len(p.b) {
		return "", p.syntaxErr("unexpected end of line, want a value for key %s", quote(k))
	}
	return k, nil
}

// emptyObject consumes a '}' that directly follows '{'.
func (p *jsonParser) emptyObject() bool {
	p.skipWS()
	if p.pos < len(p.b) && p.b[p.pos] == '}' {
		p.pos++
		return true
	}
	return false
}

func (p *jsonParser) conversation() (Conversation, error) {
	var c Conversation
	var (
		haveID, haveTurns, haveCreated, haveChannel, haveSubject, haveMeta bool
		turnsEmpty                                                         bool
		spanBuf                                                            [8]metaSpan
	)
	spans := spanBuf[:0]
	p.pos++ // '{'
	if !p.emptyObject() {
		for {
			k, err := p.key()
			if err != nil {
				return c, err
			}
			switch k {
			case "id":
				if haveID {
					p.semantic(ReasonDuplicateField, "field \"id\" appears twice")
				}
				haveID = true
				v, ok, err := p.optString("id")
				if err != nil {
					return c, err
				}
				if ok {
					c.ID = v
				}
			case "turns":
				if haveTurns {
					p.semantic(ReasonDuplicateField, "field \"turns\" appears twice")
				}
				haveTurns = true
				turns, isNull, err := p.turns()
				if err != nil {
					return c, err
				}
				c.Turns = turns
				turnsEmpty = !isNull && len(turns) == 0
			case "created_at", "channel", "subject":
				var dst *string
				var seen *bool
				switch k {
				case "created_at":
					dst, seen = &c.CreatedAt, &haveCreated
				case "channel":
					dst, seen = &c.Channel, &haveChannel
				default:
					dst, seen = &c.Subject, &haveSubject
				}
				if *seen {
					p.semantic(ReasonDuplicateField, "field %q appears twice", k)
				}
				*seen = true
				v, _, err := p.optString(k)
				if err != nil {
					return c, err
				}
				*dst = v
			case "metadata":
				if haveMeta {
					p.semantic(ReasonDuplicateField, "field \"metadata\" appears twice")
				}
				haveMeta = true
				spans, err = p.metadata(spans)
				if err != nil {
					return c, err
				}
			default:
				start := p.pos
				if err := p.skipValue(0); err != nil {
					return c, err
				}
				spans = append(spans, metaSpan{key: k, start: start, end: p.pos})
			}
			more, err := p.next('}')
			if err != nil {
				return c, err
			}
			if !more {
				break
			}
		}
	}
	p.skipWS()
	if p.pos != len(p.b) {
		return c, p.syntaxErr("unexpected data after the object at byte %d", p.pos)
	}
	if p.sem != nil {
		return c, p.sem
	}
	switch {
	case !haveID:
		return c, &ParseError{Reason: ReasonMissingField, Detail: "field \"id\" is missing"}
	case c.ID == "":
		return c, &ParseError{Reason: ReasonMissingField, Detail: "field \"id\" is empty or null"}
	case !haveTurns:
		return c, &ParseError{Reason: ReasonMissingField, Detail: "field \"turns\" is missing"}
	case turnsEmpty:
		return c, &ParseError{Reason: ReasonMissingField, Detail: "field \"turns\" is an empty array"}
	case c.Turns == nil:
		return c, &ParseError{Reason: ReasonMissingField, Detail: "field \"turns\" is null"}
	}
	c.Metadata = p.buildMetadata(spans)
	return c, nil
}

// buildMetadata copies every raw value into one fresh buffer (the caller
// may reuse the line) and merges top-level unknowns with the "metadata"
// object, the latter winning on a key collision.
func (p *jsonParser) buildMetadata(spans []metaSpan) map[string]json.RawMessage {
	if len(spans) == 0 {
		return nil
	}
	total := 0
	for _, sp := range spans {
		total += sp.end - sp.start
	}
	buf := make([]byte, 0, total)
	m := make(map[string]json.RawMessage, len(spans))
	for pass := 0; pass < 2; pass++ {
		for _, sp := range spans {
			if sp.fromObject != (pass == 1) {
				continue
			}
			off := len(buf)
			buf = append(buf, p.b[sp.start:sp.end]...)
			m[sp.key] = json.RawMessage(buf[off:len(buf):len(buf)])
		}
	}
	return m
}

// optString reads a string value, or null (ok false). Any other type is a
// schema violation recorded on p; the value is skipped.
func (p *jsonParser) optString(field string) (v string, ok bool, err error) {
	switch c := p.b[p.pos]; c {
	case '"':
		v, err = p.str()
		return v, err == nil, err
	case 'n':
		return "", false, p.literal("null")
	default:
		p.semantic(ReasonBadField, "field %q is %s, want a string", field, kindPhrase(c))
		return "", false, p.skipValue(0)
	}
}

// metadata reads the "metadata" object's members into spans.
func (p *jsonParser) metadata(spans []metaSpan) ([]metaSpan, error) {
	switch c := p.b[p.pos]; c {
	case '{':
	case 'n':
		return spans, p.literal("null")
	default:
		p.semantic(ReasonBadField, "field \"metadata\" is %s, want an object", kindPhrase(c))
		return spans, p.skipValue(0)
	}
	p.pos++
	if p.emptyObject() {
		return spans, nil
	}
	for {
		k, err := p.key()
		if err != nil {
			return spans, err
		}
		start := p.pos
		if err := p.skipValue(1); err != nil {
			return spans, err
		}
		spans = append(spans, metaSpan{key: k, start: start, end: p.pos, fromObject: true})
		more, err := p.next('}')
		if err != nil {
			return spans, err
		}
		if !more {
			return spans, nil
		}
	}
}

// turns reads the "turns" array. isNull reports a JSON null.
func (p *jsonParser) turns() (turns []Turn, isNull bool, err error) {
	switch c := p.b[p.pos]; c {
	case '[':
	case 'n':
		return nil, true, p.literal("null")
	default:
		p.semantic(ReasonBadField, "field \"turns\" is %s, want an array", kindPhrase(c))
		return nil, false, p.skipValue(0)
	}
	p.pos++
	// Most conversations are short: collect into a stack buffer and copy
	// once into an exactly sized slice instead of growing by doubling.
	var buf [16]Turn
	ts := buf[:0]
	p.skipWS()
	if p.pos < len(p.b) && p.b[p.pos] == ']' {
		p.pos++
		return []Turn{}, false, nil
	}
	for i := 0; ; i++ {
		p.skipWS()
		if p.pos >= len(p.b) {
			return nil, false, p.syntaxErr("unexpected end of line in \"turns\"")
		}
		t, err := p.turn(i)
		if err != nil {
			return nil, false, err
		}
		ts = append(ts, t)
		more, err := p.next(']')
		if err != nil {
			return nil, false, err
		}
		if !more {
			break
		}
	}
	out := make([]Turn, len(ts))
	copy(out, ts)
	return out, false, nil
}

func (p *jsonParser) turn(i int) (Turn, error) {
	var t Turn
	if c := p.b[p.pos]; c != '{' {
		if kindOf(c) != "" {
			p.semantic(ReasonBadField, "turn %d is %s, want an object", i, kindPhrase(c))
		}
		return t, p.skipValue(1)
	}
	p.pos++
	// seen* catch duplicates; haveRole and haveText record a non-null value.
	var seenRole, seenText, seenTS, haveRole, haveText bool
	if !p.emptyObject() {
		for {
			k, err := p.key()
			if err != nil {
				return t, err
			}
			switch k {
			case "role":
				if seenRole {
					p.semantic(ReasonDuplicateField, "turn %d has field \"role\" twice", i)
				}
				seenRole = true
				v, ok, err := p.turnString(i, k)
				if err != nil {
					return t, err
				}
				if ok {
					haveRole = true
					r, known := ParseRole(v)
					if !known {
						p.semantic(ReasonUnknownRole, "turn %d has role %s (want customer, agent or system)", i, quote(v))
					}
					t.Role = r
				}
			case "text":
				if seenText {
					p.semantic(ReasonDuplicateField, "turn %d has field \"text\" twice", i)
				}
				seenText = true
				v, ok, err := p.turnString(i, k)
				if err != nil {
					return t, err
				}
				haveText = haveText || ok
				t.Text = v
			case "ts":
				if seenTS {
					p.semantic(ReasonDuplicateField, "turn %d has field \"ts\" twice", i)
				}
				seenTS = true
				v, _, err := p.turnString(i, k)
				if err != nil {
					return t, err
				}
				t.TS = v
			default:
				if err := p.skipValue(2); err != nil {
					return t, err
				}
			}
			more, err := p.next('}')
			if err != nil {
				return t, err
			}
			if !more {
				break
			}
		}
	}
	if !haveRole {
		p.semantic(ReasonMissingField, "turn %d has no \"role\"", i)
	}
	if !haveText {
		p.semantic(ReasonMissingField, "turn %d has no \"text\"", i)
	}
	return t, nil
}

func (p *jsonParser) turnString(i int, field string) (string, bool, error) {
	switch c := p.b[p.pos]; c {
	case '"':
		v, err := p.str()
		return v, err == nil, err
	case 'n':
		return "", false, p.literal("null")
	default:
		p.semantic(ReasonBadField, "turn %d field %q is %s, want a string", i, field, kindPhrase(c))
		return "", false, p.skipValue(2)
	}
}

// ParseRole returns the Role named by raw: "customer", "agent" or
// "system", exactly (lower case), once surrounding ASCII spaces are
// trimmed. It is the one role rule for both input formats: help-desk
// vocabulary ("end-user", "requester", "staff", "bot") and other spellings
// ("Agent") are for the export's converter to map, not for the pipeline to
// guess. It returns the trimmed input and false for anything else.
func ParseRole(raw string) (Role, bool) {
	switch v := trimASCIISpace(raw); v {
	case "customer":
		return RoleCustomer, true
	case "agent":
		return RoleAgent, true
	case "system":
		return RoleSystem, true
	default:
		return Role(v), false
	}
}

func trimASCIISpace(s string) string {
	for len(s) > 0 && isASCIISpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isASCIISpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// asciiEqualFold reports whether s equals the lowercase ASCII word lower,
// ignoring ASCII case.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// literal consumes the exact word w (true, false or null).
func (p *jsonParser) literal(w string) error {
	if len(p.b)-p.pos >= len(w) && string(p.b[p.pos:p.pos+len(w)]) == w {
		p.pos += len(w)
		return nil
	}
	return p.syntaxErr("invalid literal at byte %d, want %s", p.pos, w)
}

// skipValue validates and skips one JSON value starting at p.pos.
func (p *jsonParser) skipValue(depth int) error {
	if depth > maxDepth {
		return p.syntaxErr("nesting deeper than %d at byte %d", maxDepth, p.pos)
	}
	if p.pos >= len(p.b) {
		return p.syntaxErr("unexpected end of line, want a value")
	}
	switch c := p.b[p.pos]; {
	case c == '"':
		return p.skipString()
	case c == '{':
		p.pos++
		if p.emptyObject() {
			return nil
		}
		for {
			p.skipWS()
			if p.pos >= len(p.b) || p.b[p.pos] != '"' {
				if p.pos >= len(p.b) {
					return p.syntaxErr("unexpected end of line, want an object key")
				}
				return p.syntaxErr("unexpected %s at byte %d, want an object key", quoteByte(p.b[p.pos]), p.pos)
			}
			if err := p.skipString(); err != nil {
				return err
			}
			if err := p.expect(':', "':' after object key"); err != nil {
				return err
			}
			p.skipWS()
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
			more, err := p.next('}')
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
	case c == '[':
		p.pos++
		p.skipWS()
		if p.pos < len(p.b) && p.b[p.pos] == ']' {
			p.pos++
			return nil
		}
		for {
			p.skipWS()
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
			more, err := p.next(']')
			if err != nil {
				return err
			}
			if !more {
				return nil
			}
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return p.syntaxErr("unexpected %s at byte %d, want a value", quoteByte(p.b[p.pos]), p.pos)
}

// number validates the JSON number grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() error {
	b, i := p.b, p.pos
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return p.syntaxErr("invalid number at byte %d", start)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return p.syntaxErr("invalid number at byte %d", start)
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return p.syntaxErr("invalid number at byte %d", start)
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	p.pos = i
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipString validates a string starting at p.pos without decoding it.
func (p *jsonParser) skipString() error {
	_, err := p.scanString(false)
	return err
}

// str reads and decodes a string starting at p.pos.
func (p *jsonParser) str() (string, error) {
	return p.scanString(true)
}

// scanString validates the string at p.pos and, when decode is set,
// returns its value: a substring of p.s when it has no escapes.
func (p *jsonParser) scanString(decode bool) (string, error) {
	b := p.b
	start := p.pos + 1
	i := start
	for i < len(b) {
		c := b[i]
		if c == '"' {
			p.pos = i + 1
			if decode {
				return p.s[start:i], nil
			}
			return "", nil
		}
		if c == '\\' {
			return p.scanEscaped(start, i, decode)
		}
		if c < 0x20 {
			return "", p.syntaxErr("control character 0x%02x in string at byte %d", c, i)
		}
		i++
	}
	return "", p.syntaxErr("unterminated string starting at byte %d", p.pos)
}

// scanEscaped finishes a string that has an escape at i. Unpaired UTF-16
// surrogates are rejected as invalid UTF-8 rather than replaced.
func (p *jsonParser) scanEscaped(start, i int, decode bool) (string, error) {
	b := p.b
	var out []byte
	if decode {
		out = make([]byte, 0, i-start+16)
		out = append(out, b[start:i]...)
	}
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(out), nil
		case c < 0x20:
			return "", p.syntaxErr("control character 0x%02x in string at byte %d", c, i)
		case c != '\\':
			if decode {
				out = append(out, c)
			}
			i++
			continue
		}
		if i+1 >= len(b) {
			break
		}
		esc := b[i+1]
		var r rune
		switch esc {
		case '"', '\\', '/':
			r = rune(esc)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			u, ok := hex4(b, i+2)
			if !ok {
				return "", p.syntaxErr("invalid \\u escape at byte %d", i)
			}
			r = rune(u)
			if utf16.IsSurrogate(r) {
				lo, ok := uint16(0), false
				if r < 0xdc00 && i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					lo, ok = hex4(b, i+8)
				}
				if !ok || lo < 0xdc00 || lo > 0xdfff {
					return "", newParseError(ReasonInvalidUTF8, "unpaired surrogate escape \\u%04x at byte %d", u, i)
				}
				r = utf16.DecodeRune(r, rune(lo))
				i += 6
			}
			i += 6
			if decode {
				out = utf8.AppendRune(out, r)
			}
			continue
		default:
			return "", p.syntaxErr("invalid escape character %s after '\\' at byte %d", quoteByte(esc), i)
		}
		if decode {
			out = append(out, byte(r))
		}
		i += 2
	}
	return "", p.syntaxErr("unterminated string starting at byte %d", start-1)
}

// hex4 decodes four hex digits at b[i:].
func hex4(b []byte, i int) (uint16, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v uint16
	for _, c := range b[i : i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}
