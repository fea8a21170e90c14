package synth_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"io"
	"maps"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/transforms/synth"
)

// messy turns every rate up so a few thousand conversations exercise each
// kind of mess many times.
func messy(n int, seed int64, format string) synth.Options {
	o := synth.DefaultOptions()
	o.N, o.Seed, o.Format = n, seed, format
	o.ExactDuplicateRate = 0.03
	o.ReimportRate = 0.02
	o.MalformedRate = 0.02
	o.InterleaveRate = 0.1
	o.EmptyTurnRate = 0.1
	o.NoAgentReplyRate = 0.1
	o.PIIRate = 0.5
	o.LookalikeRate = 0.5
	return o
}

func generate(t testing.TB, o synth.Options) ([]byte, synth.Report) {
	t.Helper()
	var buf bytes.Buffer
	rep, err := synth.Generate(&buf, o)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", o, err)
	}
	return buf.Bytes(), rep
}

func TestValidate(t *testing.T) {
	bad := []struct {
		name string
		mod  func(*synth.Options)
		want string
	}{
		{"negative N", func(o *synth.Options) { o.N = -1 }, "N must be >= 0"},
		{"unknown format", func(o *synth.Options) { o.Format = "xml" }, `unknown format "xml"`},
		{"rate above one", func(o *synth.Options) { o.HTMLRate = 1.5 }, "HTMLRate must be in [0,1]"},
		{"negative rate", func(o *synth.Options) { o.InterleaveRate = -0.1 }, "InterleaveRate"},
		{"NaN rate", func(o *synth.Options) { o.PIIRate = nan() }, "PIIRate"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			o := synth.DefaultOptions()
			tc.mod(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Validate() = %v, want a one-line error containing %q", err, tc.want)
			}
			if _, gerr := synth.Generate(io.Discard, o); gerr == nil || gerr.Error() != err.Error() {
				t.Fatalf("Generate error = %v, want %v", gerr, err)
			}
		})
	}
	good := []synth.Options{synth.DefaultOptions(), {}, {N: 3, Format: synth.FormatCSV, HTMLRate: 1, QuoteRate: 0}}
	for _, o := range good {
		if err := o.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", o, err)
		}
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, format := range []string{synth.FormatJSONL, synth.FormatCSV} {
		t.Run(format, func(t *testing.T) {
			o := messy(400, 42, format)
			a, ra := generate(t, o)
			b, rb := generate(t, o)
			if !bytes.Equal(a, b) {
				t.Fatal("same options gave different bytes")
			}
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("same options gave different reports:\n%+v\n%+v", ra, rb)
			}
			o.Seed = 43
			c, _ := generate(t, o)
			if bytes.Equal(a, c) {
				t.Fatal("different seeds gave the same bytes")
			}
		})
	}
}

// record is a well-formed JSONL line as an independent reader sees it.
type record struct {
	id    string
	obj   map[string]json.RawMessage
	turns []turnRec
	key   string // the record without its id
}

type turnRec struct{ Role, Text, TS string }

var knownRoles = map[string]bool{"customer": true, "agent": true, "system": true}

// parseRecord applies the Report's definition of a well-formed record.
func parseRecord(line []byte) (record, bool) {
	var r record
	if !utf8.Valid(line) || json.Unmarshal(line, &r.obj) != nil {
		return r, false
	}
	if json.Unmarshal(r.obj["id"], &r.id) != nil || r.id == "" {
		return r, false
	}
	var turns []map[string]json.RawMessage
	if json.Unmarshal(r.obj["turns"], &turns) != nil || turns == nil {
		return r, false
	}
	for _, tm := range turns {
		var tr turnRec
		if json.Unmarshal(tm["role"], &tr.Role) != nil || !knownRoles[tr.Role] {
			return r, false
		}
		if json.Unmarshal(tm["text"], &tr.Text) != nil {
			return r, false
		}
		json.Unmarshal(tm["ts"], &tr.TS)
		r.turns = append(r.turns, tr)
	}
	rest := maps.Clone(r.obj)
	delete(rest, "id")
	k, _ := json.Marshal(rest)
	r.key = string(k)
	return r, true
}

// jsonlRead is what a straightforward re-read of JSONL output finds.
type jsonlRead struct {
	lines, malformed, valid, exactDups, reimports int
	distinct                                      []record // first record of each content
	byID                                          map[string]record
}

func readJSONL(t *testing.T, data []byte) jsonlRead {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatal("output does not end with a newline")
	}
	rd := jsonlRead{byID: map[string]record{}}
	seenLine := map[string]bool{}
	seenKey := map[string]string{}
	for line := range bytes.Lines(data) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		rd.lines++
		rec, ok := parseRecord(line)
		if !ok {
			rd.malformed++
			continue
		}
		rd.valid++
		if seenLine[string(line)] {
			rd.exactDups++
			continue
		}
		seenLine[string(line)] = true
		if _, ok := rd.byID[rec.id]; ok {
			t.Errorf("id %s used by two different records", rec.id)
		}
		rd.byID[rec.id] = rec
		if _, ok := seenKey[rec.key]; ok {
			rd.reimports++
			continue
		}
		seenKey[rec.key] = rec.id
		rd.distinct = append(rd.distinct, rec)
	}
	return rd
}

var (
	idRE   = regexp.MustCompile(`^TCK-\d{6,}$`)
	htmlRE = regexp.MustCompile(`<(?:p|div|html|style)[ >]`)
	tagRE  = regexp.MustCompile(`<[^>]*>`)
)

// plain returns what a message says once HTML is stripped and decoded.
func plain(text string) string {
	if !htmlRE.MatchString(text) {
		return text
	}
	return html.UnescapeString(tagRE.ReplaceAllString(text, "\n"))
}

func TestJSONLReportMatchesReread(t *testing.T) {
	t.Parallel()
	const n = 1500
	data, rep := generate(t, messy(n, 7, synth.FormatJSONL))
	rd := readJSONL(t, data)

	checks := []struct {
		name      string
		got, want int
	}{
		{"Lines", rd.lines, rep.Lines},
		{"Malformed", rd.malformed, rep.Malformed},
		{"Records", rd.valid, rep.Records},
		{"ExactDuplicates", rd.exactDups, rep.ExactDuplicates},
		{"Reimported", rd.reimports, rep.Reimported},
		{"Duplicates", rd.exactDups + rd.reimports, rep.Duplicates},
		{"Conversations", len(rd.distinct), rep.Conversations},
		{"Bytes", len(data), int(rep.Bytes)},
	}
	var noAgent, turns, htmlTurns, nonASCII int
	channels := map[string]int{}
	for _, r := range rd.distinct {
		agent := false
		ascii := true
		for _, tr := range r.turns {
			agent = agent || tr.Role == "agent"
			if htmlRE.MatchString(tr.Text) {
				htmlTurns++
			}
			ascii = ascii && isASCII(tr.Text)
		}
		var subject string
		json.Unmarshal(r.obj["subject"], &subject)
		if !agent {
			noAgent++
		}
		if !ascii || !isASCII(subject) {
			nonASCII++
		}
		turns += len(r.turns)
		var ch string
		json.Unmarshal(r.obj["channel"], &ch)
		channels[ch]++
	}
	checks = append(checks, []struct {
		name      string
		got, want int
	}{
		{"NoAgentReply", noAgent, rep.NoAgentReply},
		{"Turns", turns, rep.Turns},
		{"HTMLTurns", htmlTurns, rep.HTMLTurns},
		{"Unicode", nonASCII, rep.Unicode},
	}...)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("re-read %s = %d, report says %d", c.name, c.got, c.want)
		}
	}
	if !maps.Equal(channels, rep.Channels) {
		t.Errorf("re-read channels %v, report says %v", channels, rep.Channels)
	}
	if rep.Conversations != n {
		t.Errorf("Conversations = %d, want N = %d", rep.Conversations, n)
	}
	sum := 0
	for _, k := range []string{synth.MalformedTruncated, synth.MalformedInvalidUTF8, synth.MalformedMissingID,
		synth.MalformedIDType, synth.MalformedMissingTurns, synth.MalformedTurnsType, synth.MalformedUnknownRole} {
		if rep.MalformedKinds[k] == 0 {
			t.Errorf("no malformed line of kind %s among %d", k, rep.Malformed)
		}
		sum += rep.MalformedKinds[k]
	}
	if sum != rep.Malformed {
		t.Errorf("MalformedKinds add up to %d, Malformed = %d", sum, rep.Malformed)
	}
	for _, want := range []struct {
		name string
		v    int
	}{{"Malformed", rep.Malformed}, {"ExactDuplicates", rep.ExactDuplicates}, {"Reimported", rep.Reimported},
		{"NoAgentReply", rep.NoAgentReply}, {"EmptyTurns", rep.EmptyTurns}, {"HTMLTurns", rep.HTMLTurns},
		{"QuotedTurns", rep.QuotedTurns}, {"Unicode", rep.Unicode}} {
		if want.v == 0 {
			t.Errorf("%s = 0 at these rates; the test exercises nothing", want.name)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func TestJSONLSchema(t *testing.T) {
	t.Parallel()
	data, _ := generate(t, messy(600, 11, synth.FormatJSONL))
	rd := readJSONL(t, data)
	channels := map[string]bool{"email": true, "chat": true, "web_form": true, "phone": true}
	for id, r := range rd.byID {
		if !idRE.MatchString(id) {
			t.Errorf("id %q does not look like TCK-000123", id)
		}
		var created, channel, subject string
		if json.Unmarshal(r.obj["created_at"], &created) != nil {
			t.Errorf("%s: created_at is not a string", id)
		}
		ct, err := time.Parse(time.RFC3339, created)
		if err != nil {
			t.Errorf("%s: created_at: %v", id, err)
		}
		if json.Unmarshal(r.obj["channel"], &channel) != nil || !channels[channel] {
			t.Errorf("%s: channel %s", id, r.obj["channel"])
		}
		if json.Unmarshal(r.obj["subject"], &subject) != nil || strings.TrimSpace(subject) == "" {
			t.Errorf("%s: subject %s", id, r.obj["subject"])
		}
		if m, ok := r.obj["metadata"]; ok {
			var mo map[string]any
			if json.Unmarshal(m, &mo) != nil {
				t.Errorf("%s: metadata is not an object: %s", id, m)
			}
		}
		if len(r.turns) < 1 || len(r.turns) > synth.MaxTurns {
			t.Errorf("%s: %d turns", id, len(r.turns))
		}
		prev := ct.Add(-time.Second)
		for i, tr := range r.turns {
			ts, err := time.Parse(time.RFC3339, tr.TS)
			if err != nil {
				t.Errorf("%s turn %d: ts: %v", id, i, err)
				continue
			}
			if !ts.After(prev) {
				t.Errorf("%s turn %d: ts %s not after %s", id, i, ts, prev)
			}
			if i == 0 && !ts.Equal(ct) {
				t.Errorf("%s: created_at %s is not the first turn's ts %s", id, ct, ts)
			}
			prev = ts
		}
		if r.turns[0].Role != "customer" {
			t.Errorf("%s: first turn by %s", id, r.turns[0].Role)
		}
	}
}

// The PII scanners below are written from the standards, independently of
// the generator.

func luhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		x := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// ibanLen is the IBAN length of each country the generator may use.
var ibanLen = map[string]int{
	"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "BE": 16, "CH": 21,
	"AT": 20, "IE": 22, "PL": 28, "AE": 23, "SA": 24, "PT": 25,
}

func ibanValid(s string) bool {
	r := s[4:] + s[:4]
	m := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c >= '0' && c <= '9':
			m = (m*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			m = (m*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return m == 1
}

// issuer reports whether a card number starts with a real IIN of a length
// that issuer uses.
func issuer(d string) bool {
	p := func(n int) int {
		v := 0
		for i := range n {
			v = v*10 + int(d[i]-'0')
		}
		return v
	}
	switch n := len(d); {
	case d[0] == '4':
		return n == 16
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720, p(4) == 6011, p(3) >= 644 && p(3) <= 649,
		p(2) == 65, p(4) >= 3528 && p(4) <= 3589, p(4) == 5018:
		return n == 16
	case p(2) == 34 || p(2) == 37:
		return n == 15
	case p(2) == 36:
		return n == 14
	case p(2) == 62:
		return n == 16 || n == 19
	}
	return false
}

var ibanRE = regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}`)

// digitRuns returns the runs of digits in s that may be separated by
// single spaces or hyphens, as card numbers are written, and that are not
// glued to a word on either side.
func digitRuns(s string) []string {
	var runs []string
	isWord := func(i int) bool {
		if i < 0 || i >= len(s) {
			return false
		}
		c := s[i]
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
	}
	isDigit := func(i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }
	for i := 0; i < len(s); i++ {
		if !isDigit(i) || isWord(i-1) {
			continue
		}
		j := i + 1
		for {
			if isDigit(j) {
				j++
			} else if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(j+1) {
				j += 2
			} else {
				break
			}
		}
		if !isWord(j) {
			runs = append(runs, s[i:j])
		}
		i = j
	}
	return runs
}

// tokens splits s where an address cannot continue.
func tokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("<>()[]\"',;!?|", r)
	})
}

func isEmail(tok string) bool {
	local, domain, ok := strings.Cut(tok, "@")
	dot := strings.LastIndexByte(domain, '.')
	return ok && local != "" && dot > 0 && len(domain)-dot > 2 && !strings.ContainsRune(domain, '@')
}

// scan counts the PII and the Luhn-failing 16-digit lookalikes in text,
// and reports anything that looks like a card or IBAN but fails its check.
func scan(text string, counts map[string]int, bad func(format string, args ...any)) {
	text = ibanRE.ReplaceAllStringFunc(text, func(m string) string {
		s := strings.ReplaceAll(m, " ", "")
		n, ok := ibanLen[s[:2]]
		if !ok || len(s) < n {
			return m // not an IBAN: a VAT number or a tracking code
		}
		if !ibanValid(s[:n]) {
			bad("IBAN %q fails mod-97", s[:n])
		}
		counts[synth.PIIIBAN]++
		return " IBAN "
	})
	for _, m := range digitRuns(text) {
		d := strings.NewReplacer(" ", "", "-", "").Replace(m)
		if len(d) < 13 || len(d) > 19 {
			continue
		}
		switch {
		case luhn(d):
			if !issuer(d) {
				bad("card %q has no known issuer prefix", m)
			}
			counts[synth.PIICard]++
		case len(d) == 16:
			counts[synth.LookalikeReference]++
		default:
			bad("%d-digit run %q is neither a card nor a reference", len(d), m)
		}
	}
	for _, tok := range tokens(text) {
		tok = strings.TrimRight(tok, ".:")
		if isEmail(tok) {
			counts[synth.PIIEmail]++
			continue
		}
		if a, err := netip.ParseAddr(tok); err == nil {
			if a.Is4() {
				counts[synth.PIIIPv4]++
			} else if !a.Is4In6() {
				counts[synth.PIIIPv6]++
			}
		}
	}
}

func TestPIIParsesBack(t *testing.T) {
	t.Parallel()
	data, rep := generate(t, messy(1200, 3, synth.FormatJSONL))
	rd := readJSONL(t, data)
	counts := map[string]int{}
	for _, r := range rd.distinct {
		for _, tr := range r.turns {
			scan(plain(tr.Text), counts, func(format string, args ...any) {
				t.Errorf("%s: "+format, append([]any{r.id}, args...)...)
			})
		}
	}
	for _, k := range []string{synth.PIICard, synth.PIIIBAN, synth.PIIEmail, synth.PIIIPv4, synth.PIIIPv6} {
		if counts[k] != rep.PII[k] || counts[k] == 0 {
			t.Errorf("found %d %s in the text, report says %d", counts[k], k, rep.PII[k])
		}
	}
	if got, want := counts[synth.LookalikeReference], rep.Lookalikes[synth.LookalikeReference]; got != want || got == 0 {
		t.Errorf("found %d Luhn-failing references, report says %d", got, want)
	}
	if rep.PII[synth.PIIPhone] == 0 {
		t.Error("no phone numbers at PIIRate 0.5")
	}
}

func TestCleanOptionsHaveNoMess(t *testing.T) {
	t.Parallel()
	o := synth.Options{N: 500, Seed: 9}
	data, rep := generate(t, o)
	rd := readJSONL(t, data)
	if rd.malformed != 0 || rd.exactDups != 0 || rd.reimports != 0 || len(rd.distinct) != o.N {
		t.Fatalf("clean output has %d malformed, %d duplicates, %d re-imports, %d conversations",
			rd.malformed, rd.exactDups, rd.reimports, len(rd.distinct))
	}
	for _, r := range rd.distinct {
		for k := range r.obj {
			if !slices.Contains([]string{"id", "created_at", "channel", "subject", "turns"}, k) {
				t.Errorf("%s: unexpected field %q", r.id, k)
			}
		}
		for _, tr := range r.turns {
			if !isASCII(tr.Text) || htmlRE.MatchString(tr.Text) || strings.Contains(tr.Text, "@") {
				t.Errorf("%s: text is not plain ASCII without addresses: %q", r.id, tr.Text)
			}
			counts := map[string]int{}
			scan(tr.Text, counts, t.Errorf)
			if counts[synth.PIICard]+counts[synth.PIIIBAN]+counts[synth.PIIIPv4]+counts[synth.PIIIPv6] > 0 {
				t.Errorf("%s: PII in clean text: %q", r.id, tr.Text)
			}
		}
	}
	for k, v := range rep.PII {
		if v != 0 {
			t.Errorf("PII[%s] = %d with every rate zero", k, v)
		}
	}
}

// csvRead is what a straightforward re-read of CSV output finds.
type csvRead struct {
	rows, malformed            int
	exactDups, reimports       int
	interleaved, conversations int
	noAgent                    int
	bodies                     map[string][]string // id → bodies, duplicates removed
}

var csvLayouts = []string{"2006-01-02 15:04:05", time.RFC3339}

func readCSV(t *testing.T, data []byte) csvRead {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		t.Fatalf("reading header: %v", err)
	}
	if strings.Join(header, ",") != synth.CSVHeader {
		t.Fatalf("header %q, want %q", header, synth.CSVHeader)
	}
	type row struct {
		pos  int
		text string // the row without its ticket id
		role string
		body string
	}
	var order []string
	groups := map[string][]row{}
	rd := csvRead{bodies: map[string][]string{}}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("row %d: %v", rd.rows+1, err)
		}
		rd.rows++
		ok := len(rec) == 6 && rec[0] != "" && knownRoles[rec[2]]
		for _, f := range rec {
			ok = ok && utf8.ValidString(f)
		}
		if ok {
			ok = slices.ContainsFunc(csvLayouts, func(l string) bool { _, err := time.Parse(l, rec[1]); return err == nil })
		}
		if !ok {
			rd.malformed++
			continue
		}
		if _, seen := groups[rec[0]]; !seen {
			order = append(order, rec[0])
		}
		groups[rec[0]] = append(groups[rec[0]], row{rd.rows, strings.Join(rec[1:], "\x00"), rec[2], rec[3]})
	}
	seenKey := map[string]bool{}
	for _, id := range order {
		rows := groups[id]
		var uniq []row
		seen := map[string]bool{}
		for _, rw := range rows {
			if !seen[rw.text] {
				seen[rw.text] = true
				uniq = append(uniq, rw)
			}
		}
		if len(uniq) < len(rows) {
			rd.exactDups++
		} else if rows[len(rows)-1].pos-rows[0].pos != len(rows)-1 {
			rd.interleaved++
		}
		var key strings.Builder
		agent := false
		for _, rw := range uniq {
			key.WriteString(rw.text)
			key.WriteByte('\x01')
			rd.bodies[id] = append(rd.bodies[id], rw.body)
			agent = agent || rw.role == "agent"
		}
		if seenKey[key.String()] {
			rd.reimports++
			continue
		}
		seenKey[key.String()] = true
		rd.conversations++
		if !agent {
			rd.noAgent++
		}
	}
	return rd
}

func TestCSVReportMatchesReread(t *testing.T) {
	t.Parallel()
	const n = 1500
	data, rep := generate(t, messy(n, 5, synth.FormatCSV))
	rd := readCSV(t, data)
	checks := []struct {
		name      string
		got, want int
	}{
		{"Lines", rd.rows, rep.Lines},
		{"Malformed", rd.malformed, rep.Malformed},
		{"ExactDuplicates", rd.exactDups, rep.ExactDuplicates},
		{"Reimported", rd.reimports, rep.Reimported},
		{"Interleaved", rd.interleaved, rep.Interleaved},
		{"Conversations", rd.conversations, rep.Conversations},
		{"NoAgentReply", rd.noAgent, rep.NoAgentReply},
		{"Records", len(rd.bodies) + rd.exactDups, rep.Records},
		{"Bytes", len(data), int(rep.Bytes)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("re-read %s = %d, report says %d", c.name, c.got, c.want)
		}
	}
	if rep.Conversations != n || rep.Interleaved == 0 || rep.Malformed == 0 {
		t.Errorf("Conversations = %d (want %d), Interleaved = %d, Malformed = %d", rep.Conversations, n, rep.Interleaved, rep.Malformed)
	}
	for _, k := range []string{synth.MalformedColumnCount, synth.MalformedUnknownRole, synth.MalformedMissingID, synth.MalformedInvalidUTF8} {
		if rep.MalformedKinds[k] == 0 {
			t.Errorf("no malformed row of kind %s", k)
		}
	}
}

// TestFormatsAgree checks that a seed describes the same tickets in both
// formats: same ids, same messages.
func TestFormatsAgree(t *testing.T) {
	t.Parallel()
	j, rj := generate(t, messy(500, 21, synth.FormatJSONL))
	c, rc := generate(t, messy(500, 21, synth.FormatCSV))
	jr, cr := readJSONL(t, j), readCSV(t, c)
	jb := map[string][]string{}
	for id, r := range jr.byID {
		for _, tr := range r.turns {
			jb[id] = append(jb[id], tr.Text)
		}
	}
	if len(jb) != len(cr.bodies) {
		t.Fatalf("JSONL has %d ids, CSV %d", len(jb), len(cr.bodies))
	}
	for id, bodies := range jb {
		if !slices.Equal(bodies, cr.bodies[id]) {
			t.Fatalf("ticket %s differs between formats:\n%q\n%q", id, bodies, cr.bodies[id])
		}
	}
	if rj.PII[synth.PIICard] != rc.PII[synth.PIICard] || rj.Duplicates != rc.Duplicates || rj.Turns != rc.Turns {
		t.Errorf("reports disagree: JSONL %+v\nCSV %+v", rj, rc)
	}
}

func TestNIsDistinctConversations(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 17, 300} {
		for _, format := range []string{synth.FormatJSONL, synth.FormatCSV} {
			o := messy(n, int64(n), format)
			o.ExactDuplicateRate, o.ReimportRate, o.MalformedRate = 0.2, 0.2, 0.2
			data, rep := generate(t, o)
			var got int
			if format == synth.FormatCSV {
				got = readCSV(t, data).conversations
			} else {
				got = len(readJSONL(t, data).distinct)
			}
			if got != n || rep.Conversations != n || rep.Records != n+rep.Duplicates {
				t.Errorf("%s N=%d: %d distinct conversations in output, report %+v", format, n, got, rep)
			}
			if n == 0 && format == synth.FormatJSONL && len(data) != 0 {
				t.Errorf("N=0 wrote %q", data)
			}
		}
	}
}

func TestVariety(t *testing.T) {
	t.Parallel()
	data, rep := generate(t, synth.Options{N: 1000, Seed: 1, SignatureRate: 0.5, HTMLRate: 0.3})
	rd := readJSONL(t, data)
	first := map[string]bool{}
	shapes := map[string]bool{} // first messages with digits and names masked
	subjects := map[string]bool{}
	lengths := map[int]int{}
	digits := regexp.MustCompile(`[0-9]+`)
	for _, r := range rd.distinct {
		msg := plain(r.turns[0].Text)
		first[msg] = true
		shape := digits.ReplaceAllString(msg, "#")
		if f := strings.Fields(shape); len(f) > 12 {
			shape = strings.Join(f[:12], " ")
		}
		shapes[shape] = true
		var s string
		json.Unmarshal(r.obj["subject"], &s)
		subjects[s] = true
		lengths[len(r.turns)]++
	}
	if len(first) < 990 {
		t.Errorf("%d distinct first messages in 1000 conversations", len(first))
	}
	if len(shapes) < 500 {
		t.Errorf("%d distinct opening shapes in 1000 conversations", len(shapes))
	}
	if len(subjects) < 150 {
		t.Errorf("%d distinct subjects in 1000 conversations", len(subjects))
	}
	for n := 2; n <= synth.MaxTurns; n++ {
		if lengths[n] == 0 {
			t.Errorf("no conversation of %d turns; lengths %v", n, lengths)
		}
	}
	for _, ch := range []string{"email", "chat", "web_form", "phone"} {
		if rep.Channels[ch] < 50 {
			t.Errorf("only %d %s conversations", rep.Channels[ch], ch)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteErrorStopsGeneration(t *testing.T) {
	o := synth.DefaultOptions()
	o.N = 100000
	_, err := synth.Generate(&failWriter{n: 1 << 20}, o)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.HasPrefix(err.Error(), "synth: ") {
		t.Fatalf("Generate to a failing writer: %v", err)
	}
}
