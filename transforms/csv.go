package transforms

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CSVSchema locates the columns of a help-desk CSV export (one message per
// row) from its header. The zero value is not usable; build one with
// NewCSVSchema.
type CSVSchema struct {
	ncols                           int
	ticketID, createdAt, role, body int
	subject, channel                int // -1 when the export lacks them
}

// csvColumns are the column names NewCSVSchema looks for, after
// normalisation; the first four are required.
var csvColumns = [...]string{"ticket_id", "created_at", "author_role", "body", "subject", "channel"}

const csvRequired = 4

// NewCSVSchema builds a schema from a header row. Column names are matched
// after trimming spaces, dropping a UTF-8 byte order mark (spreadsheet
// exports start with one), folding case and treating spaces and dashes as
// underscores, so "Ticket ID" and "ticket-id" both name ticket_id.
// ticket_id, created_at, author_role and body are required; subject and
// channel are optional; other columns are allowed and ignored. A missing
// required column or a column named twice is a *ParseError with
// ReasonCSVHeader.
func NewCSVSchema(header []string) (CSVSchema, error) {
	idx := [len(csvColumns)]int{-1, -1, -1, -1, -1, -1}
	for i, h := range header {
		n := normalizeColumn(h)
		for j, want := range csvColumns {
			if n != want {
				continue
			}
			if idx[j] >= 0 {
				return CSVSchema{}, newParseError(ReasonCSVHeader, "column %q appears twice (columns %d and %d)", want, idx[j]+1, i+1)
			}
			idx[j] = i
		}
	}
	var missing []string
	for j := 0; j < csvRequired; j++ {
		if idx[j] < 0 {
			missing = append(missing, csvColumns[j])
		}
	}
	if len(missing) > 0 {
		return CSVSchema{}, newParseError(ReasonCSVHeader, "missing required column(s) %s in header %s",
			strings.Join(missing, ", "), quote(strings.Join(header, ",")))
	}
	return CSVSchema{
		ncols:    len(header),
		ticketID: idx[0], createdAt: idx[1], role: idx[2], body: idx[3],
		subject: idx[4], channel: idx[5],
	}, nil
}

func normalizeColumn(h string) string {
	h = strings.TrimPrefix(h, "\uFEFF")
	h = strings.TrimSpace(h)
	h = strings.ToLower(h)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, h)
}

// Columns returns the number of columns the header had; every row must
// have exactly that many.
func (s CSVSchema) Columns() int { return s.ncols }

// Message is one CSV row: one message of a ticket.
type Message struct {
	TicketID  string
	CreatedAt string
	Role      Role
	Body      string
	Subject   string
	Channel   string
	// Seq is the row's position in the input (for example its record
	// number); it breaks timestamp ties and orders rows whose created_at
	// does not parse. ParseRow leaves it zero: the caller, which knows the
	// position, sets it.
	Seq int64
}

// ParseRow turns one CSV record into a Message. Ticket ID, timestamp,
// subject and channel are trimmed of surrounding spaces; the body is kept
// exactly as exported (cleaning is a later stage). Errors are *ParseError:
// ReasonCSVColumns when the record's length differs from the header's,
// ReasonInvalidUTF8 when a column the schema uses is not valid UTF-8
// (ignored columns are not checked: they never reach the output),
// ReasonMissingField for an empty ticket_id and ReasonUnknownRole for an
// author_role that ParseRole does not accept (roles are as strict as in
// JSONL: "end-user" or "Agent" are rejected, not mapped).
func (s CSVSchema) ParseRow(record []string) (Message, error) {
	if s.ncols == 0 {
		return Message{}, errors.New("transforms: ParseRow on a zero CSVSchema; use NewCSVSchema")
	}
	if len(record) != s.ncols {
		return Message{}, newParseError(ReasonCSVColumns, "row has %d columns, header has %d", len(record), s.ncols)
	}
	for j, i := range [...]int{s.ticketID, s.createdAt, s.role, s.body, s.subject, s.channel} {
		if i >= 0 && !utf8.ValidString(record[i]) {
			return Message{}, newParseError(ReasonInvalidUTF8, "column %s has invalid UTF-8 at byte %d", csvColumns[j], firstInvalidUTF8String(record[i]))
		}
	}
	m := Message{
		TicketID:  strings.TrimSpace(record[s.ticketID]),
		CreatedAt: strings.TrimSpace(record[s.createdAt]),
		Body:      record[s.body],
	}
	if m.TicketID == "" {
		return Message{}, &ParseError{Reason: ReasonMissingField, Detail: "column ticket_id is empty"}
	}
	raw := record[s.role]
	r, ok := ParseRole(raw)
	if !ok {
		return Message{}, newParseError(ReasonUnknownRole, "ticket %s: author_role %s is not a known role (want customer, agent or system)",
			quote(m.TicketID), quote(raw))
	}
	m.Role = r
	if s.subject >= 0 {
		m.Subject = strings.TrimSpace(record[s.subject])
	}
	if s.channel >= 0 {
		m.Channel = strings.TrimSpace(record[s.channel])
	}
	return m, nil
}

func firstInvalidUTF8String(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return i
			}
		}
	}
	return len(s)
}

// CSVSyntaxError wraps an error from the CSV reader (encoding/csv) as a
// *ParseError with ReasonCSVSyntax, so that it is counted like every other
// rejection. The detail is the reader's message (it carries line and
// column).
func CSVSyntaxError(err error) *ParseError {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	return &ParseError{Reason: ReasonCSVSyntax, Detail: msg}
}

// AssembleTicket builds a Conversation from one ticket's messages, which
// may come in any order. Messages are ordered by created_at (see
// ParseTimestamp for the formats understood), ties broken by Seq, then
// input order. A message whose created_at does not parse keeps its place
// right after the message before it in Seq order, so a single bad
// timestamp does not scramble the ticket. Each message becomes a Turn with
// TS set to its raw created_at; the conversation's CreatedAt, Subject and
// Channel come from the first message, in that order, that has them. msgs is
// not modified.
func AssembleTicket(ticketID string, msgs []Message) Conversation {
	c := Conversation{ID: ticketID}
	if len(msgs) == 0 {
		return c
	}
	type key struct {
		t   time.Time
		has bool // t is a real timestamp or inherited from one
		seq int64
		i   int
	}
	keys := make([]key, len(msgs))
	for i, m := range msgs {
		keys[i] = key{seq: m.Seq, i: i}
		keys[i].t, keys[i].has = ParseTimestamp(m.CreatedAt)
	}
	bySeq := func(a, b key) int {
		if c := cmp.Compare(a.seq, b.seq); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	}
	slices.SortFunc(keys, bySeq)
	// Inherit: an unparseable timestamp takes its Seq predecessor's time;
	// leading ones take no time and so sort before everything.
	var prev key
	for i := range keys {
		if keys[i].has {
			prev = keys[i]
			continue
		}
		keys[i].t, keys[i].has = prev.t, prev.has
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.has && !b.has:
			return 1
		case !a.has && b.has:
			return -1
		case a.has && b.has:
			if c := a.t.Compare(b.t); c != 0 {
				return c
			}
		}
		return bySeq(a, b)
	})
	c.Turns = make([]Turn, len(keys))
	for j, k := range keys {
		m := &msgs[k.i]
		c.Turns[j] = Turn{Role: m.Role, Text: m.Body, TS: m.CreatedAt}
		if c.CreatedAt == "" {
			c.CreatedAt = m.CreatedAt
		}
		if c.Subject == "" {
			c.Subject = m.Subject
		}
		if c.Channel == "" {
			c.Channel = m.Channel
		}
	}
	return c
}

// timestampLayouts are tried for "YYYY-MM-DD..." values; the separator
// between date and time is normalised to 'T' first. Parsing accepts a
// fractional second after the seconds even when the layout has none.
var timestampLayouts = [...]string{
	time.RFC3339,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05 Z07:00",
	"2006-01-02T15:04:05 -0700",
	"2006-01-02T15:04:05 -0700 MST",
	"2006-01-02T15:04:05 MST",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
}

// ParseTimestamp parses the timestamp formats help-desk exports use:
// RFC 3339 and its relatives with a space instead of 'T', with or without a
// zone ("2006-01-02 15:04:05", "2006-01-02 15:04:05 -0700",
// "2006-01-02 15:04:05.000 UTC", "2006-01-02 15:04"), a bare date,
// "2006/01/02 15:04:05", RFC 1123 mail dates, and Unix epoch seconds (10
// digits) or milliseconds (13 digits). Values without a zone are taken as
// UTC. Day-first and month-first slash dates ("03/04/2025") are ambiguous
// and deliberately not parsed.
func ParseTimestamp(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	n := len(v)
	switch {
	case n == 0:
		return time.Time{}, false
	case allDigits(v) && (n == 10 || n == 13):
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		if n == 13 {
			return time.UnixMilli(x).UTC(), true
		}
		return time.Unix(x, 0).UTC(), true
	case n >= 10 && isDigit(v[0]) && (v[4] == '-' || v[4] == '/') && v[7] == v[4]:
		if v[4] == '/' {
			v = strings.ReplaceAll(v[:10], "/", "-") + v[10:]
		}
		if n == 10 {
			t, err := time.Parse(time.DateOnly, v)
			return t, err == nil
		}
		if v[10] == ' ' {
			v = v[:10] + "T" + v[11:]
		}
		if v[10] != 'T' {
			return time.Time{}, false
		}
		for _, layout := range timestampLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true
			}
		}
	case n >= 16 && v[3] == ',' || n >= 16 && v[0] >= '0' && v[0] <= '9' && strings.Contains(v, ":"):
		for _, layout := range [...]string{time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700", "2 Jan 2006 15:04:05 -0700"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

// String returns a short description of the schema's column layout, for
// logs.
func (s CSVSchema) String() string {
	return fmt.Sprintf("CSVSchema{ticket_id:%d created_at:%d author_role:%d body:%d subject:%d channel:%d of %d}",
		s.ticketID, s.createdAt, s.role, s.body, s.subject, s.channel, s.ncols)
}
