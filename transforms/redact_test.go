package transforms

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/internal/sgd"
)

// sgdCorpus is the SGD corpus, read once per test binary: its raw lines
// and every turn's text.
type sgdCorpus struct {
	lines [][]byte
	turns []string
}

var loadSGDOnce = sync.OnceValues(func() (*sgdCorpus, error) {
	p, err := sgd.Find()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := new(sgdCorpus)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := append([]byte(nil), sc.Bytes()...)
		conv, err := ParseJSONL(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", p, n, err)
		}
		c.lines = append(c.lines, line)
		for _, t := range conv.Turns {
			c.turns = append(c.turns, t.Text)
		}
	}
	return c, sc.Err()
})

// loadSGD returns the SGD corpus or skips when it is absent.
func loadSGD(tb testing.TB) *sgdCorpus {
	tb.Helper()
	sgd.Path(tb)
	c, err := loadSGDOnce()
	if err != nil {
		tb.Fatalf("loading SGD: %v", err)
	}
	return c
}

type piiHit struct {
	text string
	typ  PIIType
}

// redactHits runs one redaction pass over s and returns what it replaced.
func redactHits(s string) []piiHit {
	var hits []piiHit
	r := redactor{s: s, trace: func(a, b int, t PIIType) { hits = append(hits, piiHit{s[a:b], t}) }}
	r.run()
	return hits
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Email.
		{"email", "Mail me at jane.doe@example.com please.", "Mail me at [EMAIL] please."},
		{"email plus and subdomain", "jane+billing@mail.eu.example.co.uk", "[EMAIL]"},
		{"email in angle brackets", "Jane <jane@x.com>", "Jane <[EMAIL]>"},
		{"email mailto", "mailto:jane@x.com", "mailto:[EMAIL]"},
		{"email unicode", "josé.garcía@correo.es y 優子@例え.jp", "[EMAIL] y [EMAIL]"},
		{"email apostrophe", "tom.o'neill@gmail.com", "[EMAIL]"},
		{"email sentence end", "It's jane@x.com.", "It's [EMAIL]."},
		{"email glued digits after tld", "jane@x.com123", "[EMAIL]123"},
		{"email with digits before at", "call 415-555-0132@x.com", "call [EMAIL]"},
		{"not email: handle", "@jane on twitter", "@jane on twitter"},
		{"not email: no tld", "root@localhost", "root@localhost"},
		{"not email: SGD at sign", "Amber Court @ 34050 Westchester Terrace", "Amber Court @ 34050 Westchester Terrace"},
		{"not email: one-letter tld", "a@b.c", "a@b.c"},

		// Phones.
		{"phone NANP dashes", "Their phone number is 408-247-8880.", "Their phone number is [PHONE]."},
		{"phone NANP parens", "Call (415) 555-0132 now", "Call [PHONE] now"},
		{"phone NANP parens no space", "(415)555-0132", "[PHONE]"},
		{"phone NANP dots", "415.555.0132", "[PHONE]"},
		{"phone NANP spaces", "415 555 0132", "[PHONE]"},
		{"phone NANP one", "1-800-555-0199", "[PHONE]"},
		{"phone plus one", "+1 (415) 555-0132", "[PHONE]"},
		{"phone plus compact", "+14155550132", "[PHONE]"},
		{"phone UK intl", "+44 20 7946 0958", "[PHONE]"},
		{"phone UK national", "020 7946 0958", "[PHONE]"},
		{"phone UK mobile", "07700 900123", "[PHONE]"},
		{"phone DE trunk in parens", "+49 (0)89 1234567", "[PHONE]"},
		{"phone FR", "06 12 34 56 78 and +33 1 84 82 49 09", "[PHONE] and [PHONE]"},
		{"phone AU parens", "(02) 9249 7000", "[PHONE]"},
		{"phone JP", "+81 3-1234-5678", "[PHONE]"},
		{"phone 00 prefix", "0044 20 7946 0958", "[PHONE]"},
		{"phone glued to sentence", "Reservation was made.415-431-5000 is the number.", "Reservation was made.[PHONE] is the number."},
		{"phone mid run", "Room 12 415-555-0132", "Room 12 [PHONE]"},
		{"phone trailing count", "call 415 555 0132 2 times", "call [PHONE] 2 times"},
		{"phone extension", "415-555-0132 ext. 12", "[PHONE] ext. 12"},
		{"phone context short", "call me at 555-0132", "call me at [PHONE]"},
		{"phone context plain", "Their number is 1793 414926.", "Their number is [PHONE]."},
		{"phone context label", "Tel: 2 8765 2000", "Tel: [PHONE]"},
		{"phone context compact", "phone: 4155550132", "phone: [PHONE]"},
		{"phone context owner", "My contact number is 55 5395 4586", "My contact number is [PHONE]"},

		// Not phones.
		{"time", "The reservation is at 11:30 am.", "The reservation is at 11:30 am."},
		{"date iso", "on 2019-03-01", "on 2019-03-01"},
		{"date slashes", "on 03/01/2019", "on 03/01/2019"},
		{"date with call context", "call me on 2019-03-01", "call me on 2019-03-01"},
		{"price", "It costs $45.50, or $1,234.56 in total", "It costs $45.50, or $1,234.56 in total"},
		{"price euro", "129,00 € or €1 234 567", "129,00 € or €1 234 567"},
		{"year", "back in 2019", "back in 2019"},
		{"order number", "Order #4829131 and ORD-2024-004821", "Order #4829131 and ORD-2024-004821"},
		{"order number plain", "My order number is 4155550132", "My order number is 4155550132"},
		{"invoice", "invoice INV-2025-00412", "invoice INV-2025-00412"},
		{"street number", "377 Santana Row #1000", "377 Santana Row #1000"},
		{"address range", "at 1016-1098 North Center Court", "at 1016-1098 North Center Court"},
		{"zip", "San Jose, CA 95128-1234", "San Jose, CA 95128-1234"},
		{"version", "app version 4.12.1 and 10.0.19041.1", "app version 4.12.1 and 10.0.19041.1"},
		{"last four", "the card ending in 4242", "the card ending in 4242"},
		{"fedex tracking", "Tracking is 1234 5678 9012 (FedEx).", "Tracking is 1234 5678 9012 (FedEx)."},
		{"counts", "1 2 3 4 5 6 7 8 9 10", "1 2 3 4 5 6 7 8 9 10"},
		{"rating", "rated 4.5 and 3.9", "rated 4.5 and 3.9"},
		{"percent", "up 20 25 30%", "up 20 25 30%"},

		// Cards.
		{"card visa spaced", "My card 4111 1111 1111 1111 was charged.", "My card [CARD] was charged."},
		{"card dashes", "4111-1111-1111-1111", "[CARD]"},
		{"card compact", "card:4111111111111111.", "card:[CARD]."},
		{"card mixed separators", "4111 1111-1111 1111", "[CARD]"},
		{"card amex", "3782 822463 10005", "[CARD]"},
		{"card with cvv", "4111 1111 1111 1111 123", "[CARD] 123"},
		{"card in parens", "(5555 5555 5555 4444)", "([CARD])"},
		{"card after plus", "+4111111111111111", "+[CARD]"},
		{"not card: luhn invalid", "ref 4111 1111 1111 1112", "ref 4111 1111 1111 1112"},
		{"not card: usps 22 digits", "9400 1000 0000 0000 0000 00", "9400 1000 0000 0000 0000 00"},
		{"not card: glued to letters", "JD4111111111111111", "JD4111111111111111"},
		{"not card: 12 digits", "4111 1111 1111", "4111 1111 1111"},

		// IBAN.
		{"iban grouped", "IBAN: DE89 3704 0044 0532 0130 00 thanks", "IBAN: [IBAN] thanks"},
		{"iban compact", "GB82WEST12345698765432", "[IBAN]"},
		{"iban lowercase", "de89370400440532013000", "[IBAN]"},
		{"iban sentence end", "My IBAN is FR14 2004 1010 0505 0001 3M02 606.", "My IBAN is [IBAN]."},
		{"not iban: bad check", "DE89 3704 0044 0532 0130 01", "DE89 3704 0044 0532 0130 01"},
		{"not iban: wrong length", "DE89 3704 0044 0532 0130", "DE89 3704 0044 0532 0130"},
		{"not iban: unknown country", "ZZ89370400440532013000", "ZZ89370400440532013000"},

		// IP.
		{"ipv4", "logging in from 203.0.113.42 if that helps", "logging in from [IP] if that helps"},
		{"ipv4 sentence end", "My IP shows as 198.51.100.7.", "My IP shows as [IP]."},
		{"ipv4 with port and cidr", "10.0.0.1:8080 and 10.1.0.0/16", "[IP]:8080 and [IP]/16"},
		{"ipv6 compressed", "from 2001:db8::1 today", "from [IP] today"},
		{"ipv6 loopback", "ping ::1 now", "ping [IP] now"},
		{"ipv6 full", "2001:0db8:85a3:0000:0000:8a2e:0370:7334.", "[IP]."},
		{"ipv6 mapped", "::ffff:192.0.2.128", "[IP]"},
		{"ipv6 bracketed port", "[2a02:1234::8]:443", "[[IP]]:443"},
		{"ipv6 after label", "IP:2001:db8::1", "IP:[IP]"},
		{"not ip: bad octet", "256.1.1.1", "256.1.1.1"},
		{"not ip: leading zero", "01.2.3.4", "01.2.3.4"},
		{"not ip: version prefix", "v1.2.3.4", "v1.2.3.4"},
		{"not ip: five parts", "1.2.3.4.5", "1.2.3.4.5"},
		{"not ip: double colon prose", "To confirm:: You want", "To confirm:: You want"},
		{"not ip: time with seconds", "at 10:30:45", "at 10:30:45"},
		{"not ip: cpp scope", "std::vector and beef::cafe", "std::vector and beef::cafe"},
		{"not ip: mac", "00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5e"},

		// Precedence and mixtures.
		{"email before phone", "4155550132@txt.att.net", "[EMAIL]"},
		{"iban before card", "NL91ABNA0417164300 4111111111111111", "[IBAN] [CARD]"},
		{"card before phone", "+1 4111 1111 1111 1111", "+1 [CARD]"},
		{"many", "jane@x.com, 415-555-0132, 4111111111111111, DE89370400440532013000, 192.168.1.1",
			"[EMAIL], [PHONE], [CARD], [IBAN], [IP]"},
		{"punctuation: quotes", `"jane@x.com" and 'DE89370400440532013000',`, `"[EMAIL]" and '[IBAN]',`},
		{"punctuation: labels", "Email:jane@x.com;Phone:415-555-0132;ip=10.0.0.1;", "Email:[EMAIL];Phone:[PHONE];ip=[IP];"},
		{"punctuation: slash between phones", "415-555-0132/415-555-0133", "[PHONE]/[PHONE]"},
		{"punctuation: brackets", "[4111 1111 1111 1111] <2001:db8::1> {+44 20 7946 0958}", "[[CARD]] <[IP]> {[PHONE]}"},
		{"punctuation: comma list", "jane@x.com,john@y.org", "[EMAIL],[EMAIL]"},
		{"punctuation: curly quotes", "“+44 20 7946 0958”", "“[PHONE]”"},
		{"punctuation: tel uri", "tel:+14155550132", "tel:[PHONE]"},
		{"punctuation: hash", "card#4111111111111111", "card#[CARD]"},
		{"cjk and emoji untouched", "您好，我的订单还没到。🙏 ありがとう 👨‍👩‍👧", "您好，我的订单还没到。🙏 ありがとう 👨‍👩‍👧"},
		{"cjk around pii", "邮箱jane@x.com电话+86 138 0013 8000。", "邮箱[EMAIL]电话[PHONE]。"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, c := Redact(tt.in)
			if got != tt.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if n := int64(strings.Count(got, "[")) - int64(strings.Count(tt.in, "[")); c.Total() != n {
				t.Errorf("Redact(%q) counts %+v, want total %d", tt.in, c, n)
			}
			again, c2 := Redact(got)
			if again != got || c2.Total() != 0 {
				t.Errorf("Redact not idempotent on %q: %q, %+v", got, again, c2)
			}
		})
	}
}

func TestRedactCounts(t *testing.T) {
	_, c := Redact("a@b.io c@d.io 415-555-0132 4111111111111111 5555555555554444 DE89370400440532013000 ::1 10.0.0.1")
	want := RedactionCounts{Email: 2, Phone: 1, Card: 2, IBAN: 1, IP: 2}
	if c != want {
		t.Errorf("counts = %+v, want %+v", c, want)
	}
	if c.Total() != 8 {
		t.Errorf("Total = %d, want 8", c.Total())
	}
	for _, ty := range []PIIType{PIIEmail, PIIPhone, PIICard, PIIIBAN, PIIIP} {
		if got, want := c.Count(ty), map[PIIType]int64{PIIEmail: 2, PIIPhone: 1, PIICard: 2, PIIIBAN: 1, PIIIP: 2}[ty]; got != want {
			t.Errorf("Count(%s) = %d, want %d", ty, got, want)
		}
	}
	var sum RedactionCounts
	sum.Add(c)
	sum.Add(RedactionCounts{Email: 1})
	if sum.Email != 3 || sum.Total() != 9 {
		t.Errorf("Add: %+v", sum)
	}
	for ty, want := range map[PIIType]string{PIIEmail: "[EMAIL]", PIIPhone: "[PHONE]", PIICard: "[CARD]", PIIIBAN: "[IBAN]", PIIIP: "[IP]"} {
		if got := ty.Placeholder(); got != want {
			t.Errorf("%s.Placeholder() = %q, want %q", ty, got, want)
		}
	}
}

func TestRedactNoAllocOnCleanText(t *testing.T) {
	s := "Please find restaurants in San Jose at 11:30 am for 2 people, $45.50 each, 377 Santana Row #1000."
	allocs := testing.AllocsPerRun(100, func() {
		if out, _ := Redact(s); out != s {
			t.Fatal("changed")
		}
	})
	if allocs != 0 {
		t.Errorf("Redact allocated %.0f times on text without PII", allocs)
	}
}

// TestRedactHostile checks that pathological inputs finish quickly
// (linear scans, no backtracking).
func TestRedactHostile(t *testing.T) {
	const n = 1 << 18
	inputs := []string{
		strings.Repeat("1", n),
		strings.Repeat("1 ", n/2),
		strings.Repeat("1-", n/2),
		strings.Repeat("1.", n/2),
		strings.Repeat("@", n),
		strings.Repeat("a@", n/2),
		strings.Repeat("a.", n/2) + "@" + strings.Repeat("b.", n/2),
		strings.Repeat(":", n),
		strings.Repeat("1:", n/2),
		strings.Repeat("+(", n/2),
		strings.Repeat("(1)", n/3),
		strings.Repeat("DE89 ", n/5),
		strings.Repeat("4111 1111 1111 1111 ", n/20),
		strings.Repeat("call 1 ", n/7),
	}
	start := time.Now()
	for _, in := range inputs {
		out, _ := Redact(in)
		if !utf8.ValidString(out) {
			t.Errorf("invalid UTF-8 output for %.20q...", in)
		}
	}
	// Linear scans handle these 3.5 MB in well under a second; anything
	// quadratic would take minutes.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("hostile inputs took %v", d)
	}
}

// cardRun matches a maximal run of digits grouped by single spaces or
// dashes, for checkNoCard.
var cardRun = regexp.MustCompile(`\d+(?:[ -]\d+)*`)

// checkNoCard fails when s holds a Luhn-valid card number by Redact's
// definition: a maximal digit run of 13 to 19 digits, not glued to a
// letter, digit or underscore. It is written independently of the
// redactor's scanner.
func checkNoCard(t *testing.T, s string) {
	t.Helper()
	for _, loc := range cardRun.FindAllStringIndex(s, -1) {
		a, b := loc[0], loc[1]
		before, _ := utf8.DecodeLastRuneInString(s[:a])
		after, _ := utf8.DecodeRuneInString(s[b:])
		if glueRef(before) || glueRef(after) {
			continue
		}
		run := s[a:b]
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, run)
		if len(digits) >= 13 && len(digits) <= 19 && luhnRef(digits) {
			t.Fatalf("Luhn-valid card %q survives in %q", run, s)
		}
	}
}

// glueRef reports whether r next to a digit run makes it part of a larger
// token: '_' or a letter or digit outside Han, kana and Hangul.
func glueRef(r rune) bool {
	if r == '_' {
		return true
	}
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// luhnRef is a textbook Luhn check, independent of luhn.
func luhnRef(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"jane@x.com 415-555-0132 4111 1111 1111 1111 DE89370400440532013000 2001:db8::1 10.0.0.1",
		"+44 (0)20 7946 0958", "(415)555-0132", "call me at 555-0132", "4111111111111111x@y.com",
		"abc@x.com4111111111111111", "9400 1000 0000 0000 0000 00", "1.2.3.4.5", "::ffff:1.2.3.4",
		"邮箱jane@x.com电话+86 138 0013 8000。", "GB82 WEST 1234 5698 7654 32", "[EMAIL]4111111111111111",
		"4111-1111-1111-1111-415-555-0132", "a@b.co.4111111111111111",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, c := Redact(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Redact(%q) = %q: invalid UTF-8", s, out)
		}
		if c.Total() == 0 && out != s {
			t.Fatalf("Redact(%q) changed the text without counting", s)
		}
		checkNoCard(t, out)
		again, c2 := Redact(out)
		if again != out || c2.Total() != 0 {
			t.Fatalf("not idempotent: Redact(%q) = %q, then %q with %+v", s, out, again, c2)
		}
	})
}

// piiGen writes the PII and look-alike formats a help desk sees, for
// property tests and the synthetic benchmark corpus.
type piiGen struct{ r *rand.Rand }

func (g piiGen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

// pattern expands X (digit), N (2-9) and A (letter).
func (g piiGen) pattern(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case 'X':
			b.WriteByte(byte('0' + g.r.IntN(10)))
		case 'N':
			b.WriteByte(byte('2' + g.r.IntN(8)))
		case 'A':
			b.WriteByte(byte('A' + g.r.IntN(26)))
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

var testPhonePatterns = []string{
	"(NXX) NXX-XXXX", "NXX-NXX-XXXX", "+1 NXX NXX XXXX", "NXX.NXX.XXXX", "+1 (NXX) NXX-XXXX",
	"+1NXXNXXXXXX", "1-NXX-NXX-XXXX", "+44 20 XXXX XXXX", "+44 7XXX XXXXXX", "07XXX XXXXXX",
	"+44 161 XXX XXXX", "+49 30 XXXXXXXX", "+49 (0)89 XXXXXXX", "+33 6 XX XX XX XX", "06 XX XX XX XX",
	"+33 (0)1 XX XX XX XX", "+91 9XXXX XXXXX", "+971 5X XXX XXXX", "+61 4XX XXX XXX", "(02) XXXX XXXX",
	"+81 3-XXXX-XXXX", "+81 90-XXXX-XXXX", "+34 6XX XX XX XX", "+55 11 XXXX-XXXX", "+31 6 XXXXXXXX",
	"020 XXXX XXXX", "0161 XXX XXXX",
}

func (g piiGen) phone() string {
	return g.pattern(testPhonePatterns[g.r.IntN(len(testPhonePatterns))])
}

func (g piiGen) card() string {
	type brand struct {
		prefix string
		groups []int
	}
	brands := []brand{
		{"4", []int{4, 4, 4, 4}}, {"51", []int{4, 4, 4, 4}}, {"2221", []int{4, 4, 4, 4}},
		{"34", []int{4, 6, 5}}, {"37", []int{4, 6, 5}}, {"6011", []int{4, 4, 4, 4}},
		{"36", []int{4, 6, 4}}, {"62", []int{4, 4, 4, 4, 3}}, {"3530", []int{4, 4, 4, 4}},
	}
	b := brands[g.r.IntN(len(brands))]
	n := 0
	for _, x := range b.groups {
		n += x
	}
	d := []byte(b.prefix + g.digits(n-len(b.prefix)-1) + "0")
	for c := byte('0'); c <= '9'; c++ {
		d[n-1] = c
		if luhnRef(string(d)) {
			break
		}
	}
	sep := []string{" ", "-", ""}[g.r.IntN(3)]
	var out []string
	at := 0
	for _, x := range b.groups {
		out = append(out, string(d[at:at+x]))
		at += x
	}
	return strings.Join(out, sep)
}

func (g piiGen) iban() string {
	type country struct {
		cc   string
		bban string // pattern
	}
	cs := []country{
		{"DE", "XXXXXXXXXXXXXXXXXX"}, {"GB", "AAAAXXXXXXXXXXXXXX"}, {"FR", "XXXXXXXXXXXXXXXXXXXXXXX"},
		{"NL", "AAAAXXXXXXXXXX"}, {"ES", "XXXXXXXXXXXXXXXXXXXX"}, {"BE", "XXXXXXXXXXXX"},
		{"CH", "XXXXXXXXXXXXXXXXX"}, {"PL", "XXXXXXXXXXXXXXXXXXXXXXXX"}, {"AE", "XXXXXXXXXXXXXXXXXXX"},
	}
	c := cs[g.r.IntN(len(cs))]
	bban := g.pattern(c.bban)
	m := 0
	for _, ch := range bban + c.cc + "00" {
		if ch >= 'A' {
			m = (m*100 + int(ch-'A'+10)) % 97
		} else {
			m = (m*10 + int(ch-'0')) % 97
		}
	}
	full := fmt.Sprintf("%s%02d%s", c.cc, 98-m, bban)
	if g.r.IntN(2) == 0 {
		return full
	}
	var parts []string
	for i := 0; i < len(full); i += 4 {
		parts = append(parts, full[i:min(i+4, len(full))])
	}
	return strings.Join(parts, " ")
}

func (g piiGen) email() string {
	locals := []string{"jane.doe", "john_miller", "emily+orders", "m.brown42", "o'neill", "jose.garcia", "zoë.müller"}
	domains := []string{"gmail.com", "outlook.com", "hotmail.co.uk", "mail.example.net", "proton.me", "gmx.de"}
	return locals[g.r.IntN(len(locals))] + "@" + domains[g.r.IntN(len(domains))]
}

func (g piiGen) ip() string {
	switch g.r.IntN(4) {
	case 0:
		return fmt.Sprintf("2001:db8:%x::%x", g.r.IntN(0x10000), 1+g.r.IntN(0xffff))
	case 1:
		return fmt.Sprintf("2a02:%x:%x:%x:%x:%x:%x:%x", 1+g.r.IntN(0xffff), g.r.IntN(0x10000), g.r.IntN(0x10000),
			g.r.IntN(0x10000), g.r.IntN(0x10000), g.r.IntN(0x10000), 1+g.r.IntN(0xffff))
	default:
		return fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
	}
}

func (g piiGen) lookalike() string {
	switch g.r.IntN(10) {
	case 0:
		return "#" + g.digits(7)
	case 1:
		return g.pattern("ORD-2024-XXXXXX")
	case 2:
		return g.pattern("9400 1XXX XXXX XXXX XXXX XX")
	case 3:
		return g.pattern("XXXX XXXX XXXX")
	case 4:
		return fmt.Sprintf("$%d.%02d", g.r.IntN(500), g.r.IntN(100))
	case 5:
		return fmt.Sprintf("%d:%02d", 1+g.r.IntN(12), g.r.IntN(60))
	case 6:
		return fmt.Sprintf("2025-%02d-%02d", 1+g.r.IntN(12), 1+g.r.IntN(28))
	case 7:
		return fmt.Sprintf("%d.%d.%d", 1+g.r.IntN(20), g.r.IntN(30), g.r.IntN(10))
	case 8:
		d := "1" + g.digits(15)
		if luhnRef(d) {
			d = d[:15] + string('0'+(d[15]-'0'+1)%10)
		}
		return d[:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:]
	default:
		return g.pattern("INV-2025-XXXXX")
	}
}

// TestRedactGenerated embeds generated PII and look-alikes in sentences
// and checks that every PII value disappears and every look-alike stays.
func TestRedactGenerated(t *testing.T) {
	g := piiGen{rand.New(rand.NewPCG(1, 2))}
	templates := []string{
		"My card %s was charged twice.", "It should go back to my card %s.", "You can call me on %s if that's easier.",
		"The account email is %s.", "My IBAN is %s if you need to transfer it manually.", "I'm logging in from %s if that helps.",
		"%s", "(%s)", "Details: %s, thanks", "Best number to reach me: %s.", "Logged in as %s.",
	}
	lookTemplates := []string{
		"Order ref %s.", "The tracking number is %s (USPS).", "The total was %s.", "I'm on app version %s.",
		"Reference number on my statement: %s", "This relates to invoice %s.", "Paid on %s at 10:14.",
	}
	for i := 0; i < 8000; i++ {
		var v, typ string
		switch i % 5 {
		case 0:
			v, typ = g.phone(), "phone"
		case 1:
			v, typ = g.card(), "card"
		case 2:
			v, typ = g.email(), "email"
		case 3:
			v, typ = g.iban(), "iban"
		default:
			v, typ = g.ip(), "ip"
		}
		look := g.lookalike()
		s := fmt.Sprintf(templates[g.r.IntN(len(templates))], v) + " " + fmt.Sprintf(lookTemplates[g.r.IntN(len(lookTemplates))], look)
		out, c := Redact(s)
		if strings.Contains(out, v) {
			t.Fatalf("%s %q survives: %q -> %q", typ, v, s, out)
		}
		if !strings.Contains(out, look) {
			t.Fatalf("look-alike %q was redacted: %q -> %q", look, s, out)
		}
		if c.Total() != 1 {
			t.Fatalf("%q: counts %+v, want exactly one %s", s, c, typ)
		}
		checkNoCard(t, out)
	}
}

// TestRedactSGD measures redaction on the real SGD turns: SGD holds real
// business phone numbers and no other PII, so every replacement must be a
// phone number and the replaced text must look like one.
func TestRedactSGD(t *testing.T) {
	c := loadSGD(t)
	var total RedactionCounts
	phoneLike := regexp.MustCompile(`^(\+\d{1,3}[ -]?)?(\(\d{2,4}\) ?)?\d[\d -]{5,}\d$`)
	for _, s := range c.turns {
		out, n := Redact(s)
		total.Add(n)
		if n.Total() == 0 {
			continue
		}
		for _, h := range redactHits(s) {
			if h.typ != PIIPhone || !phoneLike.MatchString(h.text) {
				t.Errorf("suspicious %s redaction %q in %q", h.typ, h.text, s)
			}
		}
		if strings.Contains(out, "408-247-8880") {
			t.Errorf("phone survives: %q", out)
		}
	}
	t.Logf("SGD: %d turns, redactions %+v", len(c.turns), total)
	if total.Phone < 1300 || total.Total() != total.Phone {
		t.Errorf("SGD redactions %+v: want ≥1300 phones and nothing else", total)
	}
}

func benchTexts(b *testing.B, texts []string, f func(string)) {
	var n int64
	for _, s := range texts {
		n += int64(len(s))
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range texts {
			f(s)
		}
	}
}

// syntheticMessages is an always-available corpus: support-style
// sentences, about one in four carrying PII or a look-alike.
func syntheticMessages() []string {
	g := piiGen{rand.New(rand.NewPCG(7, 7))}
	prose := []string{
		"Hi, I was charged twice for my order last week and would like a refund.",
		"Thanks for reaching out! I've issued a refund; it can take 5-7 business days to show up.",
		"The app crashes as soon as I open it on my iPhone 13. Reinstalling didn't help.",
		"Could you confirm the order number and the email address you used at checkout?",
		"Your return was received on March 3 at 11:30 and the refund of $49.99 was processed.",
		"Ich habe meine Bestellung noch nicht erhalten. Können Sie bitte nachsehen? 🙏",
		"我的订单还没到，请帮我查一下。谢谢!",
	}
	var out []string
	for i := 0; i < 4000; i++ {
		s := prose[g.r.IntN(len(prose))]
		switch g.r.IntN(8) {
		case 0:
			s += " You can reach me at " + g.email() + " or " + g.phone() + "."
		case 1:
			s += " My card " + g.card() + " was charged."
		case 2:
			s += " Reference " + g.lookalike() + ", from " + g.ip() + "."
		case 3:
			s += " IBAN: " + g.iban()
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkRedact measures Redact throughput on SGD turns (skipped when the
// corpus is absent) and on a synthetic corpus:
//
//	go test ./transforms/ -run '^$' -bench 'Redact|CleanText' -benchtime 3s
func BenchmarkRedact(b *testing.B) {
	b.Run("sgd", func(b *testing.B) {
		benchTexts(b, loadSGD(b).turns, func(s string) { Redact(s) })
	})
	b.Run("synthetic", func(b *testing.B) {
		benchTexts(b, syntheticMessages(), func(s string) { Redact(s) })
	})
}

// TestCleanThenRedact checks the order the pipeline uses: cleaning first
// exposes PII that markup, entities or compatibility characters hide.
func TestCleanThenRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>Contact: jane&#64;x.com</p>", "Contact: [EMAIL]"},
		{`<a href="mailto:jane@x.com">jane&#x40;x.com</a>`, "[EMAIL]"},
		{"Call&nbsp;+44&nbsp;20&nbsp;7946&nbsp;0958", "Call [PHONE]"},
		{"Ｃａｌｌ ４１５-５５５-０１３２", "Call [PHONE]"},
		{"card 4111\u00a01111\u00a01111\u00a01111", "card [CARD]"},
		{"jane\u200b@x.com", "[EMAIL]"},
		{"Mail me:\r\n\tjane@x.com\r\n\r\nBest regards,\r\nJane Doe\r\nM: +1 415 555 0132", "Mail me:\n[EMAIL]"},
	}
	for _, tt := range tests {
		got, _ := Redact(CleanText(tt.in))
		if got != tt.want {
			t.Errorf("Redact(CleanText(%q)) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
