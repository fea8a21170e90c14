package transforms

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNewCSVSchema(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   CSVSchema
	}{
		{"canonical", []string{"ticket_id", "created_at", "author_role", "body"},
			CSVSchema{ncols: 4, ticketID: 0, createdAt: 1, role: 2, body: 3, subject: -1, channel: -1}},
		{"any order, optional and extra columns", []string{"body", "Channel", "assignee", "AUTHOR_ROLE", "subject", "created_at", "ticket_id"},
			CSVSchema{ncols: 7, ticketID: 6, createdAt: 5, role: 3, body: 0, subject: 4, channel: 1}},
		{"spreadsheet names with BOM", []string{"\uFEFFTicket ID", " Created-At ", "Author Role", "Body"},
			CSVSchema{ncols: 4, ticketID: 0, createdAt: 1, role: 2, body: 3, subject: -1, channel: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewCSVSchema(tt.header)
			if err != nil {
				t.Fatalf("NewCSVSchema(%q): %v", tt.header, err)
			}
			if got != tt.want {
				t.Errorf("NewCSVSchema(%q) = %v, want %v", tt.header, got, tt.want)
			}
			if got.Columns() != len(tt.header) {
				t.Errorf("Columns() = %d", got.Columns())
			}
		})
	}
}

func TestNewCSVSchemaErrors(t *testing.T) {
	tests := []struct {
		header []string
		detail string
	}{
		{nil, "missing required column(s) ticket_id, created_at, author_role, body"},
		{[]string{"ticket_id", "created_at", "body"}, "missing required column(s) author_role in header"},
		{[]string{"ticket", "created", "role", "text"}, "ticket_id, created_at, author_role, body"},
		{[]string{"ticket_id", "created_at", "author_role", "body", "Ticket ID"}, `column "ticket_id" appears twice (columns 1 and 5)`},
	}
	for _, tt := range tests {
		_, err := NewCSVSchema(tt.header)
		if ReasonOf(err) != ReasonCSVHeader || !strings.Contains(err.Error(), tt.detail) {
			t.Errorf("NewCSVSchema(%q) error = %v, want csv_header containing %q", tt.header, err, tt.detail)
		}
	}
}

func TestParseRow(t *testing.T) {
	schema, err := NewCSVSchema([]string{"ticket_id", "created_at", "author_role", "body", "subject", "channel", "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := schema.ParseRow([]string{" T-1 ", " 2025-02-03 10:14:00 ", " customer", "  Hello,\n  world  ", " Refund ", "email", "\xff"})
	if err != nil {
		t.Fatalf("ParseRow: %v", err)
	}
	want := Message{TicketID: "T-1", CreatedAt: "2025-02-03 10:14:00", Role: RoleCustomer, Body: "  Hello,\n  world  ", Subject: "Refund", Channel: "email"}
	if got != want {
		t.Errorf("ParseRow = %+v, want %+v", got, want)
	}

	errs := []struct {
		name   string
		record []string
		reason RejectReason
		detail string
	}{
		{"too few columns", []string{"T-1", "x", "agent"}, ReasonCSVColumns, "row has 3 columns, header has 7"},
		{"too many columns", make([]string, 9), ReasonCSVColumns, "row has 9 columns, header has 7"},
		{"empty ticket", []string{"  ", "x", "agent", "b", "", "", ""}, ReasonMissingField, "column ticket_id is empty"},
		{"unknown role", []string{"T-1", "x", "bot", "b", "", "", ""}, ReasonUnknownRole, `ticket "T-1": author_role "bot" is not a known role`},
		{"help-desk synonym", []string{"T-1", "x", "end-user", "b", "", "", ""}, ReasonUnknownRole, `author_role "end-user"`},
		{"capitalised role", []string{"T-1", "x", "Agent", "b", "", "", ""}, ReasonUnknownRole, `author_role "Agent"`},
		{"invalid utf8 body", []string{"T-1", "x", "agent", "caf\xe9", "", "", ""}, ReasonInvalidUTF8, "column body has invalid UTF-8 at byte 3"},
		{"invalid utf8 subject", []string{"T-1", "x", "agent", "b", "\xc3", "", ""}, ReasonInvalidUTF8, "column subject"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schema.ParseRow(tt.record)
			if ReasonOf(err) != tt.reason || !strings.Contains(err.Error(), tt.detail) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseRow(%q) error = %v, want %s containing %q", tt.record, err, tt.reason, tt.detail)
			}
		})
	}
	if _, err := (CSVSchema{}).ParseRow([]string{"a"}); err == nil {
		t.Error("ParseRow on a zero schema succeeded")
	}
}

func TestParseRole(t *testing.T) {
	for raw, want := range map[string]Role{
		"customer": RoleCustomer, " agent": RoleAgent, "system\t": RoleSystem, "\r\ncustomer ": RoleCustomer,
	} {
		if got, ok := ParseRole(raw); !ok || got != want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	// Help-desk vocabulary and other spellings are the converter's job.
	for _, raw := range []string{"", "Agent", "CUSTOMER", "bot", "end-user", "requester", "staff", "assistant", "agents", "customer\x00"} {
		if got, ok := ParseRole(raw); ok {
			t.Errorf("ParseRole(%q) = %q, want unknown", raw, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ParseRole(" agent ") }); n != 0 {
		t.Errorf("ParseRole allocates %v times", n)
	}
}

func TestParseTimestamp(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	for in, want := range map[string]time.Time{
		"2025-02-03T10:14:00Z":            utc("2025-02-03T10:14:00Z"),
		"2025-02-03T10:14:00.123+01:00":   utc("2025-02-03T09:14:00.123Z"),
		"2025-02-03 10:14:00":             utc("2025-02-03T10:14:00Z"),
		"2025-02-03 10:14:00.5":           utc("2025-02-03T10:14:00.5Z"),
		"2025-02-03 10:14":                utc("2025-02-03T10:14:00Z"),
		"2025-02-03T10:14":                utc("2025-02-03T10:14:00Z"),
		"2025-02-03 10:14:00 +0100":       utc("2025-02-03T09:14:00Z"),
		"2025-02-03 10:14:00+00":          utc("2025-02-03T10:14:00Z"),
		"2025-02-03 10:14:00 UTC":         utc("2025-02-03T10:14:00Z"),
		"2025-02-03 10:14:00 +0000 UTC":   utc("2025-02-03T10:14:00Z"),
		"2025/02/03 10:14:00":             utc("2025-02-03T10:14:00Z"),
		"2025-02-03":                      utc("2025-02-03T00:00:00Z"),
		" 2025-02-03T10:14:00Z ":          utc("2025-02-03T10:14:00Z"),
		"Mon, 03 Feb 2025 10:14:00 +0100": utc("2025-02-03T09:14:00Z"),
		"3 Feb 2025 10:14:00 +0000":       utc("2025-02-03T10:14:00Z"),
		"1738577640":                      utc("2025-02-03T10:14:00Z"),
		"1738577640000":                   utc("2025-02-03T10:14:00Z"),
	} {
		got, ok := ParseTimestamp(in)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "yesterday", "03/02/2025 10:14", "2025-13-45 10:00:00", "2025-02-03X10:14", "12345", "2025-02-03 25:00"} {
		if got, ok := ParseTimestamp(in); ok {
			t.Errorf("ParseTimestamp(%q) = %v, want failure", in, got)
		}
	}
}

func TestAssembleTicket(t *testing.T) {
	msgs := []Message{
		{TicketID: "T", CreatedAt: "2025-02-03 10:20:00", Role: RoleAgent, Body: "second", Seq: 1},
		{TicketID: "T", CreatedAt: "2025-02-03T10:14:00Z", Role: RoleCustomer, Body: "first", Subject: "Refund", Seq: 2},
		{TicketID: "T", CreatedAt: "garbage", Role: RoleSystem, Body: "right after its Seq predecessor", Seq: 3},
		{TicketID: "T", CreatedAt: "2025-02-03T11:20:00+01:00", Role: RoleCustomer, Body: "tie, lower Seq", Channel: "email", Seq: 4},
		{TicketID: "T", CreatedAt: "2025-02-03 10:20:00", Role: RoleCustomer, Body: "tie, higher Seq", Seq: 5},
		{TicketID: "T", CreatedAt: "2025-02-03 12:00:00", Role: RoleAgent, Body: "last", Subject: "ignored", Seq: 6},
	}
	orig := slices.Clone(msgs)
	c := AssembleTicket("T", msgs)
	var bodies []string
	for _, tu := range c.Turns {
		bodies = append(bodies, tu.Text)
	}
	wantBodies := []string{"first", "right after its Seq predecessor", "second", "tie, lower Seq", "tie, higher Seq", "last"}
	if !slices.Equal(bodies, wantBodies) {
		t.Errorf("order = %q, want %q", bodies, wantBodies)
	}
	if c.ID != "T" || c.Subject != "Refund" || c.Channel != "email" || c.CreatedAt != "2025-02-03T10:14:00Z" {
		t.Errorf("header = %+v", c)
	}
	if c.Turns[0].TS != "2025-02-03T10:14:00Z" || c.Turns[0].Role != RoleCustomer || c.Turns[1].Role != RoleSystem {
		t.Errorf("turns = %+v", c.Turns)
	}
	if !reflect.DeepEqual(msgs, orig) {
		t.Error("AssembleTicket modified its input")
	}

	// Nothing parses: Seq order; equal Seq: input order.
	c = AssembleTicket("U", []Message{{Body: "b", Seq: 2}, {Body: "a", Seq: 1}, {Body: "c", Seq: 2}})
	if got := []string{c.Turns[0].Text, c.Turns[1].Text, c.Turns[2].Text}; !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("unparseable order = %q", got)
	}
	// A leading unparseable timestamp stays first.
	c = AssembleTicket("V", []Message{{Body: "x", CreatedAt: "?", Seq: 1}, {Body: "y", CreatedAt: "2025-01-01", Seq: 2}})
	if c.Turns[0].Text != "x" {
		t.Errorf("leading unparseable moved: %+v", c.Turns)
	}
	if c := AssembleTicket("W", nil); c.ID != "W" || len(c.Turns) != 0 {
		t.Errorf("empty ticket = %+v", c)
	}
}

func TestCSVSyntaxError(t *testing.T) {
	r := csv.NewReader(strings.NewReader("a,b\n\"x,y\n"))
	_, err := r.ReadAll()
	pe := CSVSyntaxError(err)
	if pe.Reason != ReasonCSVSyntax || !strings.Contains(pe.Error(), "csv_syntax: parse error on line 2") || strings.Contains(pe.Error(), "\n") {
		t.Errorf("CSVSyntaxError = %v", pe)
	}
}

// readTickets is how a pipeline uses this file's API: read the header,
// parse rows, group by ticket, assemble.
func readTickets(t *testing.T, r io.Reader) (map[string]Conversation, []error) {
	t.Helper()
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // count checking is ParseRow's job
	header, err := cr.Read()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := NewCSVSchema(header)
	if err != nil {
		t.Fatal(err)
	}
	byTicket := map[string][]Message{}
	var errs []error
	for seq := int64(0); ; seq++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, CSVSyntaxError(err))
			continue
		}
		m, err := schema.ParseRow(rec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.Seq = seq
		byTicket[m.TicketID] = append(byTicket[m.TicketID], m)
	}
	out := map[string]Conversation{}
	for id, ms := range byTicket {
		out[id] = AssembleTicket(id, ms)
	}
	return out, errs
}

func TestCSVFixture(t *testing.T) {
	f, err := os.Open("testdata/tickets.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tickets, errs := readTickets(t, f)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	t100, t200 := tickets["T-100"], tickets["T-200"]
	if len(tickets) != 2 || len(t100.Turns) != 3 || len(t200.Turns) != 3 {
		t.Fatalf("tickets = %+v", tickets)
	}
	roles := func(c Conversation) []Role {
		var rs []Role
		for _, tu := range c.Turns {
			rs = append(rs, tu.Role)
		}
		return rs
	}
	if got := roles(t100); !slices.Equal(got, []Role{RoleCustomer, RoleAgent, RoleCustomer}) {
		t.Errorf("T-100 roles = %v", got)
	}
	if got := roles(t200); !slices.Equal(got, []Role{RoleCustomer, RoleSystem, RoleAgent}) {
		t.Errorf("T-200 roles = %v", got)
	}
	if t100.Subject != "Charged twice" || t100.Channel != "email" || t200.Channel != "chat" {
		t.Errorf("headers: %+v / %+v", t100, t200)
	}
	if !strings.Contains(t100.Turns[1].Text, "Best regards,\nSam") || !strings.Contains(t200.Turns[2].Text, `"Declined"`) {
		t.Errorf("bodies: %q / %q", t100.Turns[1].Text, t200.Turns[2].Text)
	}
	// The whole chain: cleaning and redaction on CSV bodies.
	if got := CleanText(t100.Turns[0].Text); got != "I was charged twice for order #4829131." {
		t.Errorf("cleaned HTML body = %q", got)
	}
	if got := CleanText(t100.Turns[1].Text); got != "Hi Jane,\n\nYour refund was issued today." {
		t.Errorf("cleaned agent body = %q", got)
	}
	if got, _ := Redact(CleanText(t200.Turns[0].Text)); got != "My card [CARD] was declined, call me on [PHONE]" {
		t.Errorf("redacted = %q", got)
	}
}

func FuzzParseRow(f *testing.F) {
	f.Add("ticket_id,created_at,author_role,body\nT1,2025-01-01 10:00:00,agent,hello\nT1,2025-01-01 09:00:00,customer,hi\n")
	f.Add("Body,Author Role,Ticket ID,Created At,Subject\n\"multi\nline\",end-user,7,x,s\n7,agent\n")
	f.Add("\ufeffticket_id,created_at,author_role,body,channel\n a ,1738577640,Staff,\"q \"\"x\"\"\",chat\n,,,,\n")
	f.Add("ticket_id,ticket_id\n1,2\n")
	f.Fuzz(func(t *testing.T, data string) {
		r := csv.NewReader(strings.NewReader(data))
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		header, err := r.Read()
		if err != nil {
			return
		}
		schema, err := NewCSVSchema(header)
		if err != nil {
			if ReasonOf(err) != ReasonCSVHeader {
				t.Fatalf("NewCSVSchema(%q): %v", header, err)
			}
			return
		}
		var msgs []Message
		for seq := int64(0); ; seq++ {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				if CSVSyntaxError(err).Reason != ReasonCSVSyntax {
					t.Fatal("CSVSyntaxError lost its reason")
				}
				break
			}
			m, err := schema.ParseRow(rec)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || strings.ContainsAny(pe.Error(), "\n\r") {
					t.Fatalf("ParseRow(%q): %v", rec, err)
				}
				continue
			}
			if m.TicketID == "" || m.TicketID != strings.TrimSpace(m.TicketID) || !m.Role.Valid() ||
				!utf8.ValidString(m.Body) || !utf8.ValidString(m.TicketID) {
				t.Fatalf("ParseRow(%q) = %+v", rec, m)
			}
			m.Seq = seq
			msgs = append(msgs, m)
		}
		c := AssembleTicket("x", msgs)
		if len(c.Turns) != len(msgs) {
			t.Fatalf("AssembleTicket lost turns: %d of %d", len(c.Turns), len(msgs))
		}
		seen := map[string]int{}
		for _, m := range msgs {
			seen[m.Body+"\x00"+m.CreatedAt]++
		}
		for _, tu := range c.Turns {
			seen[tu.Text+"\x00"+tu.TS]--
		}
		for k, n := range seen {
			if n != 0 {
				t.Fatalf("AssembleTicket is not a permutation (%q: %d)", k, n)
			}
		}
	})
}
