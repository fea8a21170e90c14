package transforms

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseJSONL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Conversation
	}{
		{
			name: "minimal",
			in:   `{"id":"t1","turns":[{"role":"customer","text":"Hi"}]}`,
			want: Conversation{ID: "t1", Turns: []Turn{{Role: RoleCustomer, Text: "Hi"}}},
		},
		{
			name: "all fields",
			in: `{"id":"t2","created_at":"2025-02-03T10:14:00Z","channel":"email","subject":"Refund",` +
				`"turns":[{"role":"customer","text":"Where is my refund?","ts":"2025-02-03T10:14:00Z"},` +
				`{"role":"agent","text":"Sent today.","ts":"2025-02-03T11:00:00Z"},{"role":"system","text":""}]}`,
			want: Conversation{
				ID: "t2", CreatedAt: "2025-02-03T10:14:00Z", Channel: "email", Subject: "Refund",
				Turns: []Turn{
					{Role: RoleCustomer, Text: "Where is my refund?", TS: "2025-02-03T10:14:00Z"},
					{Role: RoleAgent, Text: "Sent today.", TS: "2025-02-03T11:00:00Z"},
					{Role: RoleSystem, Text: ""},
				},
			},
		},
		{
			name: "unknown fields and metadata merge",
			in:   `{"source":"sgd","id":"t3","services":["Restaurants_2"],"metadata":{"tags":["a"],"n":1},"turns":[{"role":"agent","text":"x"}]}`,
			want: Conversation{ID: "t3", Turns: []Turn{{Role: RoleAgent, Text: "x"}}, Metadata: map[string]json.RawMessage{
				"source": json.RawMessage(`"sgd"`), "services": json.RawMessage(`["Restaurants_2"]`),
				"tags": json.RawMessage(`["a"]`), "n": json.RawMessage(`1`),
			}},
		},
		{
			name: "metadata object wins a collision (metadata last)",
			in:   `{"id":"t4","source":"top","turns":[{"role":"agent","text":"x"}],"metadata":{"source":"meta"}}`,
			want: Conversation{ID: "t4", Turns: []Turn{{Role: RoleAgent, Text: "x"}}, Metadata: map[string]json.RawMessage{
				"source": json.RawMessage(`"meta"`),
			}},
		},
		{
			name: "metadata object wins a collision (metadata first)",
			in:   `{"metadata":{"source":"meta"},"id":"t4","source":"top","turns":[{"role":"agent","text":"x"}]}`,
			want: Conversation{ID: "t4", Turns: []Turn{{Role: RoleAgent, Text: "x"}}, Metadata: map[string]json.RawMessage{
				"source": json.RawMessage(`"meta"`),
			}},
		},
		{
			name: "repeated unknown key keeps the last value",
			in:   `{"id":"t5","x":1,"x":2,"turns":[{"role":"agent","text":"x"}]}`,
			want: Conversation{ID: "t5", Turns: []Turn{{Role: RoleAgent, Text: "x"}}, Metadata: map[string]json.RawMessage{
				"x": json.RawMessage(`2`),
			}},
		},
		{
			name: "escapes",
			in:   `{"id":"t\u0036","turns":[{"role":"customer","text":"line1\nline2 \"q\" \\ \/ caf\u00e9 \ud83d\ude00 \t\u0000"}]}`,
			want: Conversation{ID: "t6", Turns: []Turn{{Role: RoleCustomer, Text: "line1\nline2 \"q\" \\ / café 😀 \t\x00"}}},
		},
		{
			name: "role with surrounding spaces",
			in:   `{"id":"t7","turns":[{"role":" agent ","text":"a"},{"role":"customer\n","text":"b"},{"role":"\tsystem","text":"c"}]}`,
			want: Conversation{ID: "t7", Turns: []Turn{{Role: RoleAgent, Text: "a"}, {Role: RoleCustomer, Text: "b"}, {Role: RoleSystem, Text: "c"}}},
		},
		{
			name: "nulls are absent",
			in:   `{"id":"t8","subject":null,"channel":null,"created_at":null,"metadata":null,"turns":[{"role":"agent","text":"x","ts":null}]}`,
			want: Conversation{ID: "t8", Turns: []Turn{{Role: RoleAgent, Text: "x"}}},
		},
		{
			name: "unknown turn fields are ignored",
			in:   `{"id":"t9","turns":[{"author":{"name":"Jane"},"role":"customer","text":"x","attachments":[1,2]}]}`,
			want: Conversation{ID: "t9", Turns: []Turn{{Role: RoleCustomer, Text: "x"}}},
		},
		{
			name: "whitespace and CRLF",
			in:   " \t{ \"id\" : \"t10\" , \"turns\" : [ { \"role\" : \"agent\" , \"text\" : \"x\" } ] }\r\n",
			want: Conversation{ID: "t10", Turns: []Turn{{Role: RoleAgent, Text: "x"}}},
		},
		{
			name: "unicode text untouched",
			in:   `{"id":"t11","turns":[{"role":"customer","text":"您好，我的订单还没到 🙏 ❤️"}]}`,
			want: Conversation{ID: "t11", Turns: []Turn{{Role: RoleCustomer, Text: "您好，我的订单还没到 🙏 ❤️"}}},
		},
		{
			name: "empty metadata object",
			in:   `{"id":"t12","metadata":{},"turns":[{"role":"agent","text":"x"}]}`,
			want: Conversation{ID: "t12", Turns: []Turn{{Role: RoleAgent, Text: "x"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJSONL([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseJSONL(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseJSONL(%s)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseJSONLErrors(t *testing.T) {
	turn := `[{"role":"agent","text":"x"}]`
	tests := []struct {
		name   string
		in     string
		reason RejectReason
		detail string // substring of Error()
	}{
		{"empty", "", ReasonEmptyLine, "line is empty"},
		{"blank", " \t\r\n", ReasonEmptyLine, "line is empty"},
		{"array", `[1,2]`, ReasonBadJSON, "line is an array, want a JSON object"},
		{"garbage", `hello`, ReasonBadJSON, `unexpected 'h' at byte 0`},
		{"unterminated object", `{"id":"a"`, ReasonBadJSON, "unexpected end of line"},
		{"trailing comma", `{"id":"a",}`, ReasonBadJSON, "want an object key"},
		{"trailing data", `{"id":"a","turns":` + turn + `} x`, ReasonBadJSON, "unexpected data after the object at byte"},
		{"two objects", `{} {}`, ReasonBadJSON, "unexpected data after the object"},
		{"single quotes", `{'id':'a'}`, ReasonBadJSON, "want an object key"},
		{"bad number", `{"id":"a","n":01,"turns":` + turn + `}`, ReasonBadJSON, "want ',' or '}'"},
		{"bad number exp", `{"id":"a","n":1e,"turns":` + turn + `}`, ReasonBadJSON, "invalid number"},
		{"NaN", `{"id":"a","n":NaN}`, ReasonBadJSON, "want a value"},
		{"bad literal", `{"id":"a","n":tru}`, ReasonBadJSON, "want true"},
		{"control char in string", "{\"id\":\"a\tb\"}", ReasonBadJSON, "control character 0x09"},
		{"bad escape", `{"id":"a\x"}`, ReasonBadJSON, `invalid escape character 'x' after '\' at byte 8`},
		{"short unicode escape", `{"id":"\u12"}`, ReasonBadJSON, `invalid \u escape`},
		{"unterminated string", `{"id":"abc`, ReasonBadJSON, "unterminated string"},
		{"missing colon", `{"id" "a"}`, ReasonBadJSON, "want ':' after object key"},
		{"too deep", `{"id":"a","m":` + strings.Repeat("[", 10002) + strings.Repeat("]", 10002) + `}`, ReasonBadJSON, "nesting deeper than"},
		{"invalid utf8", "{\"id\":\"a\xffb\"}", ReasonInvalidUTF8, "invalid UTF-8 at byte 8"},
		{"invalid utf8 in key", "{\"\xc3\":1}", ReasonInvalidUTF8, "invalid UTF-8 at byte 2"},
		{"lone high surrogate", `{"id":"a","turns":[{"role":"agent","text":"\ud800"}]}`, ReasonInvalidUTF8, `unpaired surrogate escape \ud800`},
		{"lone low surrogate", `{"id":"\udc00"}`, ReasonInvalidUTF8, `unpaired surrogate escape \udc00`},
		{"reversed pair", `{"id":"\udc00\ud800"}`, ReasonInvalidUTF8, "unpaired surrogate"},
		{"surrogate in metadata", `{"id":"a","turns":` + turn + `,"m":"\ud83d"}`, ReasonInvalidUTF8, "unpaired surrogate"},
		{"missing id", `{"turns":` + turn + `}`, ReasonMissingField, `field "id" is missing`},
		{"empty id", `{"id":"","turns":` + turn + `}`, ReasonMissingField, `field "id" is empty or null`},
		{"null id", `{"id":null,"turns":` + turn + `}`, ReasonMissingField, `field "id" is empty or null`},
		{"numeric id", `{"id":42,"turns":` + turn + `}`, ReasonBadField, `field "id" is a number, want a string`},
		{"missing turns", `{"id":"a"}`, ReasonMissingField, `field "turns" is missing`},
		{"empty turns", `{"id":"a","turns":[]}`, ReasonMissingField, `field "turns" is an empty array`},
		{"null turns", `{"id":"a","turns":null}`, ReasonMissingField, `field "turns" is null`},
		{"object turns", `{"id":"a","turns":{"role":"agent"}}`, ReasonBadField, `field "turns" is an object, want an array`},
		{"turn is a string", `{"id":"a","turns":[{"role":"agent","text":"x"},"hello"]}`, ReasonBadField, `turn 1 is a string, want an object`},
		{"turn without role", `{"id":"a","turns":[{"text":"x"}]}`, ReasonMissingField, `turn 0 has no "role"`},
		{"turn with null role", `{"id":"a","turns":[{"role":null,"text":"x"}]}`, ReasonMissingField, `turn 0 has no "role"`},
		{"turn without text", `{"id":"a","turns":[{"role":"agent"}]}`, ReasonMissingField, `turn 0 has no "text"`},
		{"numeric text", `{"id":"a","turns":[{"role":"agent","text":5}]}`, ReasonBadField, `turn 0 field "text" is a number, want a string`},
		{"array role", `{"id":"a","turns":[{"role":["agent"],"text":"x"}]}`, ReasonBadField, `turn 0 field "role" is an array`},
		{"bool ts", `{"id":"a","turns":[{"role":"agent","text":"x","ts":true}]}`, ReasonBadField, `turn 0 field "ts" is a boolean`},
		{"unknown role", `{"id":"a","turns":[{"role":"customer","text":"1"},{"role":"agent","text":"2"},{"role":"customer","text":"3"},{"role":"bot","text":"4"}]}`,
			ReasonUnknownRole, `unknown_role: turn 3 has role "bot" (want customer, agent or system)`},
		{"synonym role", `{"id":"a","turns":[{"role":"requester","text":"x"}]}`, ReasonUnknownRole, `turn 0 has role "requester"`},
		{"capitalised role", `{"id":"a","turns":[{"role":"Agent","text":"x"}]}`, ReasonUnknownRole, `turn 0 has role "Agent"`},
		{"empty role", `{"id":"a","turns":[{"role":"","text":"x"}]}`, ReasonUnknownRole, `turn 0 has role ""`},
		{"role with newline", `{"id":"a","turns":[{"role":"bo\nt","text":"x"}]}`, ReasonUnknownRole, `"bo\nt"`},
		{"duplicate id", `{"id":"a","id":"b","turns":` + turn + `}`, ReasonDuplicateField, `field "id" appears twice`},
		{"duplicate turns", `{"id":"a","turns":` + turn + `,"turns":` + turn + `}`, ReasonDuplicateField, `field "turns" appears twice`},
		{"duplicate role", `{"id":"a","turns":[{"role":"agent","role":"customer","text":"x"}]}`, ReasonDuplicateField, `turn 0 has field "role" twice`},
		{"duplicate subject", `{"id":"a","subject":"x","subject":"y","turns":` + turn + `}`, ReasonDuplicateField, `field "subject" appears twice`},
		{"metadata array", `{"id":"a","metadata":[1],"turns":` + turn + `}`, ReasonBadField, `field "metadata" is an array, want an object`},
		{"subject number", `{"id":"a","subject":1,"turns":` + turn + `}`, ReasonBadField, `field "subject" is a number, want a string`},
		// A schema error early in the line does not hide a syntax error
		// later: malformed lines are always bad_json.
		{"syntax beats schema", `{"id":42,"turns":` + turn + `,}`, ReasonBadJSON, "want an object key"},
		{"first schema error wins", `{"id":42,"subject":1,"turns":` + turn + `}`, ReasonBadField, `field "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSONL([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseJSONL(%q) error = %v, want *ParseError", tt.in, err)
			}
			if pe.Reason != tt.reason {
				t.Errorf("ParseJSONL(%.80q) reason = %s (%v), want %s", tt.in, pe.Reason, err, tt.reason)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.detail) || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("ParseJSONL(%.80q) error = %q, want one line containing %q", tt.in, msg, tt.detail)
			}
			if ReasonOf(err) != tt.reason || ReasonOf(fmt.Errorf("line 3: %w", err)) != tt.reason {
				t.Errorf("ReasonOf(%v) = %q", err, ReasonOf(err))
			}
		})
	}
}

func TestParseErrorQuotesLongValues(t *testing.T) {
	role := strings.Repeat("é", 1000)
	_, err := ParseJSONL([]byte(`{"id":"a","turns":[{"role":"` + role + `","text":"x"}]}`))
	if err == nil || len(err.Error()) > 200 || !utf8.ValidString(err.Error()) {
		t.Errorf("error %q: want a short, valid, truncated detail", err)
	}
}

func TestReasonOf(t *testing.T) {
	if r := ReasonOf(errors.New("plain")); r != "" {
		t.Errorf("ReasonOf(plain) = %q", r)
	}
	if r := ReasonOf(nil); r != "" {
		t.Errorf("ReasonOf(nil) = %q", r)
	}
	seen := map[RejectReason]bool{}
	for _, r := range RejectReasons() {
		if seen[r] || r == "" || strings.ToLower(string(r)) != string(r) || strings.ContainsAny(string(r), " -") {
			t.Errorf("reason %q: want unique snake_case", r)
		}
		seen[r] = true
	}
	if len(seen) < 10 {
		t.Errorf("RejectReasons() has %d reasons", len(seen))
	}
}

// TestParseJSONLDoesNotRetainInput checks that callers may reuse their
// line buffer (bufio.Scanner does).
func TestParseJSONLDoesNotRetainInput(t *testing.T) {
	line := []byte(`{"id":"t1","extra":{"k":"v"},"turns":[{"role":"agent","text":"hello"}]}`)
	c, err := ParseJSONL(line)
	if err != nil {
		t.Fatal(err)
	}
	for i := range line {
		line[i] = 'X'
	}
	if c.ID != "t1" || c.Turns[0].Text != "hello" || string(c.Metadata["extra"]) != `{"k":"v"}` {
		t.Errorf("result changed with the input buffer: %+v", c)
	}
}

func TestParseJSONLMetadataIsolated(t *testing.T) {
	c, err := ParseJSONL([]byte(`{"id":"t","a":[1],"b":"xy","turns":[{"role":"agent","text":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// Appending to one raw value must not clobber another sharing its
	// backing array.
	a := append(c.Metadata["a"], ',', '9')
	_ = a
	if string(c.Metadata["b"]) != `"xy"` {
		t.Errorf("metadata values alias each other: %s", c.Metadata["b"])
	}
}

// jsonString decodes an optional string member with encoding/json.
func jsonString(t *testing.T, m map[string]json.RawMessage, k string) string {
	t.Helper()
	v, ok := m[k]
	if !ok || string(v) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		t.Fatalf("member %q = %s: %v", k, v, err)
	}
	return s
}

// checkAgainstEncodingJSON verifies a successful parse against
// encoding/json's reading of the same line. Keys are compared exactly:
// JSON keys are case-sensitive, so "Subject" is metadata, not the subject
// (encoding/json's struct decoding would fold case).
func checkAgainstEncodingJSON(t *testing.T, line []byte, c Conversation) {
	t.Helper()
	if !json.Valid(line) {
		t.Fatalf("accepted invalid JSON %q", line)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		t.Fatalf("accepted %q, which encoding/json rejects: %v", line, err)
	}
	if c.ID != jsonString(t, top, "id") || c.CreatedAt != jsonString(t, top, "created_at") ||
		c.Channel != jsonString(t, top, "channel") || c.Subject != jsonString(t, top, "subject") {
		t.Fatalf("header mismatch for %q: %+v", line, c)
	}
	var turns []map[string]json.RawMessage
	if err := json.Unmarshal(top["turns"], &turns); err != nil {
		t.Fatal(err)
	}
	if len(c.Turns) != len(turns) {
		t.Fatalf("%q: %d turns, encoding/json sees %d", line, len(c.Turns), len(turns))
	}
	for i, rt := range turns {
		got := c.Turns[i]
		if got.Text != jsonString(t, rt, "text") || got.TS != jsonString(t, rt, "ts") {
			t.Fatalf("%q turn %d: %+v", line, i, got)
		}
		if r, ok := ParseRole(jsonString(t, rt, "role")); !ok || r != got.Role {
			t.Fatalf("%q turn %d: role %q vs %q", line, i, got.Role, jsonString(t, rt, "role"))
		}
	}
	var meta map[string]json.RawMessage
	if m := top["metadata"]; len(m) > 0 && string(m) != "null" {
		if err := json.Unmarshal(m, &meta); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{}
	for k, v := range top {
		switch k {
		case "id", "turns", "created_at", "channel", "subject", "metadata":
			continue
		}
		want[k] = compactJSON(t, v)
	}
	for k, v := range meta {
		want[k] = compactJSON(t, v)
	}
	if len(want) != len(c.Metadata) {
		t.Fatalf("%q: metadata %v, want keys %v", line, c.Metadata, want)
	}
	for k, v := range c.Metadata {
		if !json.Valid(v) || compactJSON(t, v) != want[k] {
			t.Fatalf("%q: metadata[%q] = %s, want %s", line, k, v, want[k])
		}
	}
}

func compactJSON(t *testing.T, v []byte) string {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		t.Fatalf("value %q: %v", v, err)
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// TestParseJSONLSGD parses the whole SGD corpus and cross-checks a sample
// against encoding/json.
func TestParseJSONLSGD(t *testing.T) {
	c := loadSGD(t)
	turns := 0
	for i, line := range c.lines {
		conv, err := ParseJSONL(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		turns += len(conv.Turns)
		if i%50 == 0 {
			checkAgainstEncodingJSON(t, line, conv)
		}
	}
	if len(c.lines) < 7000 || turns != len(c.turns) {
		t.Errorf("SGD: %d lines, %d turns", len(c.lines), turns)
	}
}

func FuzzParseJSONL(f *testing.F) {
	for _, s := range []string{
		`{"id":"t1","turns":[{"role":"customer","text":"Hi","ts":"2025-01-01T00:00:00Z"}],"subject":"s","channel":"email","created_at":"x"}`,
		`{"id":"t","source":"sgd","metadata":{"source":"m","n":[1,{"a":null}]},"turns":[{"role":" agent ","text":"caf\u00e9 \ud83d\ude00"}]}`,
		`{"id":"a","turns":[{"role":"bot","text":"x"}]}`,
		`{"id":42,"turns":[]}`, `[]`, `{"id":"a","turns":[{"text":5}]}`, `{"id":"\ud800"}`,
		`{"id":"a","turns":[{"role":"agent","text":"x"}],"n":-1.5e+10,"t":true,"f":false}`, "",
	} {
		f.Add([]byte(s))
	}
	reasons := map[RejectReason]bool{}
	for _, r := range RejectReasons() {
		reasons[r] = true
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		in := append([]byte(nil), line...)
		c, err := ParseJSONL(line)
		if string(in) != string(line) {
			t.Fatalf("ParseJSONL modified its input")
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !reasons[pe.Reason] {
				t.Fatalf("ParseJSONL(%q) error %v: want a *ParseError with a known reason", line, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") || !utf8.ValidString(err.Error()) {
				t.Fatalf("error %q is not one valid line", err)
			}
			if !utf8.Valid(line) && pe.Reason != ReasonInvalidUTF8 {
				t.Fatalf("invalid UTF-8 %q rejected as %s", line, pe.Reason)
			}
			if utf8.Valid(line) && !json.Valid(line) && pe.Reason != ReasonBadJSON && pe.Reason != ReasonEmptyLine && pe.Reason != ReasonInvalidUTF8 {
				t.Fatalf("malformed %q rejected as %s", line, pe.Reason)
			}
			return
		}
		if c.ID == "" || len(c.Turns) == 0 {
			t.Fatalf("accepted %q without id or turns", line)
		}
		for _, tu := range c.Turns {
			if !tu.Role.Valid() || !utf8.ValidString(tu.Text) || !utf8.ValidString(tu.TS) {
				t.Fatalf("accepted bad turn %+v", tu)
			}
		}
		checkAgainstEncodingJSON(t, line, c)
	})
}

// BenchmarkParseJSONL measures ParseJSONL on SGD lines.
func BenchmarkParseJSONL(b *testing.B) {
	c := loadSGD(b)
	var n int64
	for _, l := range c.lines {
		n += int64(len(l))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range c.lines {
			if _, err := ParseJSONL(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}
