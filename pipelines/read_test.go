package pipelines

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/nebras-ai/nebras/transforms"
)

func TestScanLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a\nb\n", []string{"a", "b"}},
		{"a\r\nb", []string{"a", "b"}},
		{"\n\nx\n", []string{"", "", "x"}},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		err := scanLines(strings.NewReader(tt.in), func(line int64, data []byte, tooLong bool) error {
			if int(line) != len(got)+1 || tooLong {
				t.Fatalf("%q: line %d tooLong %v", tt.in, line, tooLong)
			}
			got = append(got, string(data))
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("scanLines(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestScanLinesTooLong(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes+10)
	in := "first\n" + long + "\nlast\n"
	var lines []int64
	var flags []bool
	err := scanLines(strings.NewReader(in), func(line int64, data []byte, tooLong bool) error {
		lines = append(lines, line)
		flags = append(flags, tooLong)
		if tooLong && len(data) != rejectedRawBytes {
			t.Errorf("too-long line passed with %d bytes, want the first %d", len(data), rejectedRawBytes)
		}
		return nil
	})
	if err != nil || !reflect.DeepEqual(lines, []int64{1, 2, 3}) || !reflect.DeepEqual(flags, []bool{false, true, false}) {
		t.Fatalf("lines %v flags %v err %v", lines, flags, err)
	}
}

const csvHeader = "ticket_id,created_at,author_role,body,subject,channel\n"

func readCSVString(t testing.TB, body string) (msgs []csvMessage, rejects []rejectRecord, st Stats, err error) {
	t.Helper()
	_, err = readCSV(inputFile{Path: "x.csv", Format: FormatCSV}, strings.NewReader(csvHeader+body), &st, inputSink{
		message: func(m csvMessage) error { msgs = append(msgs, m); return nil },
		reject:  func(r rejectRecord) error { rejects = append(rejects, r); return nil },
	})
	return
}

func TestReadCSVKeepsRawRowsAndLines(t *testing.T) {
	body := "T1,2025-01-01 10:00:00,customer,\"Hello,\nmulti-line\",Subj,email\n" +
		"T1,2025-01-01 10:05:00,robot,Beep,Subj,email\n" +
		"T2,2025-01-01 11:00:00,agent\n" +
		"T2,2025-01-01 11:01:00,agent,Fine,,chat\n"
	msgs, rejects, st, err := readCSVString(t, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Line != 2 || msgs[0].Msg.Body != "Hello,\nmulti-line" || msgs[1].Line != 6 {
		t.Fatalf("messages %+v", msgs)
	}
	if len(rejects) != 2 {
		t.Fatalf("rejects %+v", rejects)
	}
	want := []struct {
		line   int64
		reason string
		raw    string
	}{
		{4, string(transforms.ReasonUnknownRole), "T1,2025-01-01 10:05:00,robot,Beep,Subj,email"},
		{5, string(transforms.ReasonCSVColumns), "T2,2025-01-01 11:00:00,agent"},
	}
	for i, w := range want {
		r := rejects[i]
		if r.Line != w.line || r.Reason != w.reason || r.Raw != w.raw {
			t.Errorf("reject %d = {line %d, %s, %q}, want {line %d, %s, %q}", i, r.Line, r.Reason, r.Raw, w.line, w.reason, w.raw)
		}
	}
	if st.CSVRows != 4 || st.Read != 2 || total(st.Rejected) != 2 {
		t.Errorf("stats %+v", st)
	}
}

// FuzzReadCSV feeds arbitrary bytes after a valid header: reading never
// panics, and every row is either a message or a dead letter.
func FuzzReadCSV(f *testing.F) {
	f.Add("T1,2025-01-01,customer,hi,s,c\n")
	f.Add("T1,x,agent,\"unterminated\n")
	f.Add("a,b\"c,d,e\n\"\"\n,,,,\n")
	f.Fuzz(func(t *testing.T, body string) {
		msgs, rejects, st, err := readCSVString(t, body)
		if err != nil {
			return
		}
		if int64(len(msgs)+len(rejects)) != st.CSVRows {
			t.Fatalf("%d messages + %d rejects != %d rows", len(msgs), len(rejects), st.CSVRows)
		}
		for _, r := range rejects {
			if r.Line < 2 || r.Reason == "" {
				t.Fatalf("dead letter %+v", r)
			}
		}
	})
}

func TestPreparedWireRoundTrip(t *testing.T) {
	p := prepared{ID: "TCK-1", File: "gs://b/x.jsonl", Line: 42, Turns: []transforms.TokenizedTurn{
		{Role: transforms.RoleCustomer, Text: "héllo", Tokens: []int32{1, 50256, 0}},
		{Role: transforms.RoleAgent, Text: "", Tokens: []int32{}},
	}}
	p.Key[0], p.Key[31] = 7, 9
	got, err := decodePrepared(p.appendTo(nil))
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	m := csvMessage{File: "a.csv", Line: 3, Msg: transforms.Message{TicketID: "T", CreatedAt: "now", Role: transforms.RoleAgent, Body: "b", Seq: 1 << 41}}
	gotM, err := decodeCSVMessage(m.appendTo(nil))
	if err != nil || !reflect.DeepEqual(gotM, m) {
		t.Fatalf("csv message round trip = %+v, %v", gotM, err)
	}
	var pack []byte
	pack = appendPacked(pack, []byte("one"))
	pack = appendPacked(pack, nil)
	var recs []string
	if err := forEachPacked(pack, func(r []byte) error { recs = append(recs, string(r)); return nil }); err != nil || !reflect.DeepEqual(recs, []string{"one", ""}) {
		t.Fatalf("pack = %q, %v", recs, err)
	}
}

// FuzzDecodePrepared: a corrupt record is an error, never a panic or a huge
// allocation.
func FuzzDecodePrepared(f *testing.F) {
	p := prepared{ID: "x", Turns: []transforms.TokenizedTurn{{Role: "agent", Text: "t", Tokens: []int32{5}}}}
	f.Add(p.appendTo(nil))
	f.Add([]byte{wireVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodePrepared(b)
		if err == nil && !bytes.Equal(got.appendTo(nil), b) {
			// Accepting is fine only for a canonical encoding.
			if _, err2 := decodePrepared(got.appendTo(nil)); err2 != nil {
				t.Fatalf("re-encoding an accepted record fails: %v", err2)
			}
		}
	})
}
