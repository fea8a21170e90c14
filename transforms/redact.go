package transforms

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PIIType is a kind of personal data Redact replaces.
type PIIType string

// The PII types Redact knows. See Redact for what each matches and which
// wins where candidates overlap.
const (
	PIIEmail PIIType = "email"
	PIIPhone PIIType = "phone"
	PIICard  PIIType = "card"
	PIIIBAN  PIIType = "iban"
	PIIIP    PIIType = "ip" // IPv4 and IPv6
)

// Placeholder returns the text that replaces a value of type t, such as
// "[EMAIL]".
func (t PIIType) Placeholder() string {
	switch t {
	case PIIEmail:
		return "[EMAIL]"
	case PIIPhone:
		return "[PHONE]"
	case PIICard:
		return "[CARD]"
	case PIIIBAN:
		return "[IBAN]"
	case PIIIP:
		return "[IP]"
	}
	return "[" + strings.ToUpper(string(t)) + "]"
}

// RedactionCounts counts the values Redact replaced, by type.
type RedactionCounts struct {
	Email, Phone, Card, IBAN, IP int64
}

// Add adds o's counts to c.
func (c *RedactionCounts) Add(o RedactionCounts) {
	c.Email += o.Email
	c.Phone += o.Phone
	c.Card += o.Card
	c.IBAN += o.IBAN
	c.IP += o.IP
}

// Total returns the number of values replaced, all types together.
func (c RedactionCounts) Total() int64 {
	return c.Email + c.Phone + c.Card + c.IBAN + c.IP
}

// Count returns the count for type t.
func (c RedactionCounts) Count(t PIIType) int64 {
	switch t {
	case PIIEmail:
		return c.Email
	case PIIPhone:
		return c.Phone
	case PIICard:
		return c.Card
	case PIIIBAN:
		return c.IBAN
	case PIIIP:
		return c.IP
	}
	return 0
}

func (c *RedactionCounts) inc(t PIIType) {
	switch t {
	case PIIEmail:
		c.Email++
	case PIIPhone:
		c.Phone++
	case PIICard:
		c.Card++
	case PIIIBAN:
		c.IBAN++
	case PIIIP:
		c.IP++
	}
}

// maxRedactPasses bounds the passes Redact makes; see Redact.
const maxRedactPasses = 16

// Redact replaces personal data in s with typed placeholders ([EMAIL],
// [PHONE], [CARD], [IBAN], [IP]) and counts what it replaced. It returns s
// itself, without allocating, when there is nothing to replace.
//
// What counts as what, in precedence order where candidates overlap:
//
//   - Email: local@domain.tld, the local part made of letters, digits and
//     . _ % + - ', the domain of at least two labels ending in a top-level
//     domain of two or more letters. Unicode letters count as letters, but
//     CJK text run into an ASCII address ("邮箱jane@x.com") is not part of
//     it.
//   - IPv6: compressed or full forms, validated with net/netip; a
//     candidate needs two or more colons and a decimal digit or three
//     groups, so that "To confirm::" or "beef::cafe" are left alone.
//   - IBAN: two letters, two check digits and the country's BBAN length,
//     compact or in groups of four separated by spaces, any case, passing
//     the ISO 13616 mod-97 check.
//   - Card: digits grouped by single spaces or dashes, not glued to a
//     letter, digit or underscore (CJK characters do not glue), passing
//     the Luhn check, and either the whole run of 13 to 19 digits, or a
//     card-formatted group sequence (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4) with
//     at most 3 digits before it in the run ("+1 ") and at most 4 after it
//     (a CVV or expiry), or one compact group of 13 to 19 digits. Longer
//     grouped numbers, such as a 22-digit tracking number, are not mined
//     for card-length windows, and a Luhn-invalid 16-digit reference is not
//     a card.
//   - IPv4: dotted quads with valid octets (no leading zeros), not part of
//     a longer dotted token ("v1.2.3.4", "1.2.3.4.5").
//   - Phone: a "+" number of 8 to 15 digits; North American 3-3-4 numbers
//     ("(415) 555-0132", "415.555.0132", "1-800-555-0199"); trunk-prefixed
//     national numbers of 10 or 11 digits in groups of two or more
//     ("020 7946 0958", "06 12 34 56 78"); "00"-prefixed international
//     numbers; and any run of 7 to 15 digits right after a phone word
//     ("call me at", "phone:", "their number is"). A phone is not carved
//     out of a longer digit run. Times, dates, prices, years, order and
//     reference numbers, street numbers, zip codes and version strings do
//     not have these shapes and are left alone.
//
// Redact works left to right and then repeats on its own output until
// nothing changes (at most maxRedactPasses times), because a replacement
// can expose a neighbour: a number glued to an email address is not a card
// until the address becomes "[EMAIL]". Hence Redact is idempotent:
// Redact(Redact(s)) returns its input with zero counts.
func Redact(s string) (string, RedactionCounts) {
	var total RedactionCounts
	for pass := 0; pass < maxRedactPasses; pass++ {
		r := redactor{s: s}
		r.run()
		if r.out == nil {
			break
		}
		total.Add(r.counts)
		s = string(append(r.out, s[r.last:]...))
	}
	return s, total
}

// span is a half-open byte range of the input.
type span struct{ start, end int }

// redactor is one left-to-right pass over s. Output is built lazily: out
// stays nil until the first replacement, and s[last:] is what has not yet
// been copied.
type redactor struct {
	s      string
	out    []byte
	last   int
	counts RedactionCounts
	// trace, when set (by tests), sees every replacement.
	trace func(start, end int, t PIIType)
}

func (r *redactor) emit(start, end int, t PIIType) {
	if r.trace != nil {
		r.trace(start, end, t)
	}
	if r.out == nil {
		r.out = make([]byte, 0, len(r.s))
	}
	r.out = append(r.out, r.s[r.last:start]...)
	r.out = append(r.out, t.Placeholder()...)
	r.last = end
	r.counts.inc(t)
}

// noSpan marks "no further match": it starts beyond any position.
const noSpan = int(^uint(0) >> 1)

func (r *redactor) run() {
	s := r.s
	n := len(s)
	pos := 0
	email := span{-1, -1} // not yet looked for
	for pos < n {
		if email.start < pos {
			email = findEmail(s, pos)
		}
		stop := min(email.start, n)
		ip6 := findIPv6(s, pos, stop)
		stop = min(stop, ip6.start)
		r.scanNumbers(pos, stop)
		switch {
		case stop >= n:
			return
		case ip6.start == stop:
			r.emit(ip6.start, ip6.end, PIIIP)
			pos = ip6.end
		default:
			r.emit(email.start, email.end, PIIEmail)
			pos = email.end
		}
	}
}

// isWordByte reports whether c is an ASCII letter, digit or underscore: the
// characters that glue a number into a larger token.
func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// ---- email ----

func isLocalByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '%' || c == '+' || c == '-' || c == '\''
}

func isDomainByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.'
}

// findEmail returns the first email address that starts at or after from,
// or a span starting at noSpan.
func findEmail(s string, from int) span {
	for j := from; j < len(s); {
		k := strings.IndexByte(s[j:], '@')
		if k < 0 {
			break
		}
		at := j + k
		j = at + 1
		a := at
		ascii := false // the local part so far has ASCII characters
		for a > from {
			if c := s[a-1]; c < utf8.RuneSelf {
				if !isLocalByte(c) {
					break
				}
				ascii = true
				a--
				continue
			}
			r, size := utf8.DecodeLastRuneInString(s[from:a])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) || ascii && isCJK(r) {
				// CJK text runs into an address without a space:
				// "邮箱jane@x.com" is "mailbox" + the address.
				break
			}
			a -= size
		}
		for a < at && (s[a] == '.' || s[a] == '\'') {
			a++
		}
		if a == at {
			continue
		}
		if end := emailDomainEnd(s, at+1); end > 0 {
			return span{a, end}
		}
	}
	return span{noSpan, noSpan}
}

// emailDomainEnd returns where the domain starting at i ends, or 0 when
// there is no valid domain. The domain ends after the last ".tld" whose
// label starts with two letters; digits or dashes glued after those letters
// are left outside, so "jane@x.com123" still loses "jane@x.com".
func emailDomainEnd(s string, i int) int {
	j := i
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if !isDomainByte(c) {
				break
			}
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
			break
		}
		j += size
	}
	dom := s[i:j]
	if dom == "" || dom[0] == '.' || dom[0] == '-' {
		return 0
	}
	for d := strings.LastIndexByte(dom, '.'); d > 0; d = strings.LastIndexByte(dom[:d], '.') {
		// The TLD is ASCII letters, or (an internationalised TLD) letters
		// that are all non-ASCII; CJK text glued after ".com" is not part
		// of it.
		t := d + 1
		e := t
		asciiTLD := t < len(dom) && dom[t] < utf8.RuneSelf
		for e < len(dom) {
			if c := dom[e]; c < utf8.RuneSelf {
				if !asciiTLD || !isASCIILetter(c) {
					break
				}
				e++
				continue
			}
			r, size := utf8.DecodeRuneInString(dom[e:])
			if asciiTLD || !unicode.IsLetter(r) {
				break
			}
			e += size
		}
		if utf8.RuneCountInString(dom[t:e]) >= 2 && dom[d-1] != '.' {
			return i + e
		}
	}
	return 0
}

// ---- IPv6 ----

func isIPv6Byte(c byte) bool { return isHexDigit(c) || c == ':' || c == '.' }

// findIPv6 returns the first IPv6 address in s[from:limit], or a span
// starting at noSpan.
func findIPv6(s string, from, limit int) span {
	if limit > len(s) {
		limit = len(s)
	}
	for j := from; j < limit; {
		k := strings.IndexByte(s[j:limit], ':')
		if k < 0 {
			break
		}
		c := j + k
		a, b := c, c+1
		for a > from && isIPv6Byte(s[a-1]) {
			a--
		}
		for b < limit && isIPv6Byte(s[b]) {
			b++
		}
		j = b
		if sp, ok := ipv6Candidate(s, a, b); ok {
			return sp
		}
	}
	return span{noSpan, noSpan}
}

// ipv6Candidate validates s[a:b], a maximal run of hex digits, colons and
// dots, as an IPv6 address after trimming sentence punctuation.
func ipv6Candidate(s string, a, b int) (span, bool) {
	for a < b && s[a] == '.' {
		a++
	}
	for b > a && s[b-1] == '.' {
		b--
	}
	if b > a+1 && s[a] == ':' && s[a+1] != ':' {
		a++ // "IP:2001:db8::1"
	}
	if b > a+1 && s[b-1] == ':' && s[b-2] != ':' {
		b-- // "blocked 2001:db8::1: why?"
	}
	if b-a < 3 || b-a > 45 {
		return span{}, false
	}
	if a > 0 && isWordByte(s[a-1]) || b < len(s) && isWordByte(s[b]) {
		return span{}, false
	}
	cand := s[a:b]
	colons, groups, digit := 0, 0, false
	for i := 0; i < len(cand); i++ {
		switch c := cand[i]; {
		case c == ':':
			colons++
		case c >= '0' && c <= '9':
			digit = true
		}
		if cand[i] != ':' && (i == 0 || cand[i-1] == ':') {
			groups++
		}
	}
	if colons < 2 || !digit && groups < 3 {
		return span{}, false
	}
	addr, err := netip.ParseAddr(cand)
	if err != nil || !addr.Is6() {
		return span{}, false
	}
	return span{a, b}, true
}

// ---- numbers: IBAN, card, IPv4, phone ----

// scanNumbers redacts IBANs, cards, IPv4 addresses and phone numbers in
// s[from:to].
func (r *redactor) scanNumbers(from, to int) {
	s := r.s
	for i := from; i < to; {
		c := s[i]
		if c > '9' || c < '(' {
			// Letters, spaces and most punctuation: the common case.
			i++
			continue
		}
		var start int // where a phone may start: '+', '(' or the digit
		switch {
		case c >= '0' && c <= '9':
			start = i
		case (c == '+' || c == '(') && i+1 < to && isDigit(s[i+1]):
			start = i
			i++
		default:
			i++
			continue
		}
		if i > from && isDigit(s[i-1]) {
			// Inside a digit run that an earlier decision already
			// passed over (for example right after an IPv6 address).
			for i < to && isDigit(s[i]) {
				i++
			}
			continue
		}
		if c != '(' && i-2 >= max(from, r.last) {
			if end, ok := ibanAt(s, i-2, to); ok {
				r.emit(i-2, end, PIIIBAN)
				i = end
				continue
			}
		}
		if cs, ce, ok := cardAt(s, i, to); ok {
			if cs > i {
				r.phoneRun(start, cs)
			}
			r.emit(cs, ce, PIICard)
			i = ce
			continue
		}
		i = r.phoneRun(start, to)
	}
}

// ---- IBAN ----

// ibanLength returns the IBAN length for a country (ISO 13616 registry),
// or 0 for a country without IBANs.
func ibanLength(a, b byte) int {
	switch string([]byte{a &^ 0x20, b &^ 0x20}) {
	case "NO":
		return 15
	case "BE":
		return 16
	case "DK", "FI", "FK", "FO", "GL", "NL", "SD":
		return 18
	case "MK", "SI":
		return 19
	case "AT", "BA", "EE", "KZ", "LT", "LU", "MN", "XK":
		return 20
	case "CH", "HR", "LI", "LV":
		return 21
	case "BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA":
		return 22
	case "AE", "GI", "IL", "IQ", "OM", "SO", "TL":
		return 23
	case "AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG":
		return 24
	case "LY", "PT", "ST":
		return 25
	case "IS", "TR":
		return 26
	case "BI", "DJ", "FR", "GR", "IT", "MC", "MR", "SM",
		"GF", "GP", "MQ", "RE", "PF", "TF", "YT", "NC", "PM", "WF", "BL", "MF":
		return 27
	case "AL", "AZ", "BY", "CY", "DO", "GT", "HN", "HU", "LB", "NI", "PL", "SV":
		return 28
	case "BR", "EG", "PS", "QA", "UA":
		return 29
	case "JO", "KW", "MU", "YE":
		return 30
	case "MT", "SC":
		return 31
	case "LC":
		return 32
	case "RU":
		return 33
	}
	return 0
}

// ibanAt reports whether an IBAN starts at s[i] (two letters, then the
// check digits) and returns its end.
func ibanAt(s string, i, limit int) (int, bool) {
	if i+4 > limit || !isASCIILetter(s[i]) || !isASCIILetter(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
		return 0, false
	}
	if i > 0 && isWordByte(s[i-1]) {
		return 0, false
	}
	n := ibanLength(s[i], s[i+1])
	if n == 0 {
		return 0, false
	}
	var buf [34]byte
	k, j := 0, i
	for k < n && j < limit {
		c := s[j]
		if c == ' ' && k%4 == 0 && k > 0 && j+1 < limit && isWordByte(s[j+1]) {
			j++
			continue
		}
		if !isDigit(c) && !isASCIILetter(c) {
			break
		}
		buf[k] = c &^ 0x20 // upper-case letters; digits have bit 5 set, restored below
		if isDigit(c) {
			buf[k] = c
		}
		k++
		j++
	}
	if k != n || j < len(s) && isWordByte(s[j]) {
		return 0, false
	}
	m := 0
	for x := 0; x < n; x++ {
		c := buf[(x+4)%n]
		if c >= '0' && c <= '9' {
			m = (m*10 + int(c-'0')) % 97
		} else {
			m = (m*100 + int(c-'A'+10)) % 97
		}
	}
	return j, m == 1
}

// ---- card ----

// luhn reports whether the digits of s (other bytes are skipped) pass the
// Luhn check.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// cardFormats are the groupings card numbers are printed in; see cardAt.
var cardFormats = [...][]int{{4, 4, 4, 4, 3}, {4, 4, 4, 4}, {4, 6, 5}, {4, 6, 4}}

// maxCardGroups bounds how many groups of a digit run cardAt looks at.
const maxCardGroups = 32

// cardAt finds the first card number in the digit run that starts at
// s[i], grouped by single spaces or dashes. It is, in order:
//
//	(a) the whole run, when it holds 13 to 19 digits and passes Luhn;
//	(b) a card-formatted window (see cardFormats) passing Luhn, with at
//	    most 3 digits before it in the run ("+1 ", "2 ") and at most 4
//	    after it (a CVV or an expiry);
//	(c) a single compact group of 13 to 19 digits passing Luhn.
//
// Everything else, in particular a window carved out of a longer grouped
// number such as a 22-digit tracking number, is not a card.
func cardAt(s string, i, limit int) (start, end int, ok bool) {
	if gluedBefore(s, i) {
		return 0, 0, false
	}
	var gs [maxCardGroups]span
	ng, digits := 0, 0
	j := i
	for {
		g := j
		for j < limit && isDigit(s[j]) {
			j++
		}
		gs[ng] = span{g, j}
		ng++
		digits += j - g
		if ng < maxCardGroups && j+1 < limit && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
			j++
			continue
		}
		break
	}
	more := ng == maxCardGroups && j+1 < limit && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1])
	if !more && gluedAt(s, j) {
		return 0, 0, false
	}
	if !more && digits >= 13 && digits <= 19 && luhn(s[i:j]) {
		return i, j, true // (a)
	}
	before := 0
	for g := 0; g < ng; g++ {
		if before <= 3 {
			for _, f := range cardFormats {
				e := g + len(f)
				if e > ng {
					continue
				}
				d, fits := 0, true
				for x, want := range f {
					n := gs[g+x].end - gs[g+x].start
					d += n
					fits = fits && n == want
				}
				if fits && digits-before-d <= 4 && !more && luhn(s[gs[g].start:gs[e-1].end]) {
					return gs[g].start, gs[e-1].end, true // (b)
				}
			}
		}
		if n := gs[g].end - gs[g].start; n >= 13 && n <= 19 && luhn(s[gs[g].start:gs[g].end]) {
			return gs[g].start, gs[g].end, true // (c)
		}
		before += gs[g].end - gs[g].start
	}
	return 0, 0, false
}

// gluedBefore reports whether the character ending at s[k-1] glues a
// number starting at s[k] to its neighbour; see glues.
func gluedBefore(s string, k int) bool {
	if k == 0 {
		return false
	}
	if c := s[k-1]; c < utf8.RuneSelf {
		return isWordByte(c)
	}
	r, _ := utf8.DecodeLastRuneInString(s[:k])
	return glues(r)
}

// gluedAt reports whether the character starting at s[k] glues a number
// ending at s[k] to its neighbour; see glues.
func gluedAt(s string, k int) bool {
	if k >= len(s) {
		return false
	}
	if c := s[k]; c < utf8.RuneSelf {
		return isWordByte(c)
	}
	r, _ := utf8.DecodeRuneInString(s[k:])
	return glues(r)
}

// glues reports whether r, next to a number, makes it part of a larger
// token: a letter or digit of a script written with spaces between words.
// Han, kana and Hangul do not glue, because CJK text puts no space around
// numbers.
func glues(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !isCJK(r)
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// ---- phone and IPv4 ----

type sepKind uint8

const (
	sepNone  sepKind = iota // first group, or right after ")"
	sepSpace                // " "
	sepDash                 // "-"
	sepDot                  // "."
)

// numGroup is one group of digits in a phone-like run.
type numGroup struct {
	start, end int // the digits, without parentheses
	sep        sepKind
	paren      bool
}

// maxPhoneGroups bounds a run's groups; the rest of a longer run is
// scanned as a new run.
const maxPhoneGroups = 24

// numRun is a phone-like run: an optional '+', then digit groups separated
// by one space, dash or dot, the first (or the one after "+CC") possibly in
// parentheses.
type numRun struct {
	start, end int // the whole run, '+' and parentheses included
	plus       bool
	groups     [maxPhoneGroups]numGroup
	n          int
}

// tokenizeRun reads a numRun starting at s[i] ('+', '(' or a digit).
func tokenizeRun(s string, i, limit int, run *numRun) {
	run.start, run.n, run.plus = i, 0, false
	j := i
	if s[j] == '+' {
		run.plus = true
		j++
	}
	sep := sepNone
	for run.n < maxPhoneGroups && j < limit {
		var g numGroup
		g.sep = sep
		if s[j] == '(' {
			if !(run.n == 0 || run.n == 1 && run.plus) {
				break
			}
			k := j + 1
			for k < limit && isDigit(s[k]) && k-j <= 5 {
				k++
			}
			if k == j+1 || k >= limit || s[k] != ')' {
				break
			}
			g.start, g.end, g.paren = j+1, k, true
			j = k + 1
		} else {
			if !isDigit(s[j]) {
				break
			}
			g.start = j
			for j < limit && isDigit(s[j]) {
				j++
			}
			g.end = j
		}
		run.groups[run.n] = g
		run.n++
		run.end = j
		if j >= limit {
			break
		}
		switch s[j] {
		case ' ':
			sep = sepSpace
		case '-':
			sep = sepDash
		case '.':
			sep = sepDot
		default:
			if g.paren && isDigit(s[j]) && !cardStartsAt(s, j, limit) {
				sep = sepNone
				continue
			}
			return
		}
		k := j + 1
		if k < limit && s[k] == '(' && run.n == 1 && run.plus {
			j = k
			continue
		}
		if k < limit && isDigit(s[k]) && !((sep == sepDot || g.paren) && cardStartsAt(s, k, limit)) {
			j = k
			continue
		}
		return
	}
}

// cardStartsAt reports whether the digit-and-separator run at s[k], which
// a dot or a parenthesis cuts off from what precedes it, holds a card: the
// phone-like run then ends before it so that the card is found on its own.
func cardStartsAt(s string, k, limit int) bool {
	_, _, ok := cardAt(s, k, limit)
	return ok
}

// phoneRun tokenizes the run at start, redacts IPv4 addresses and phone
// numbers in it and returns where scanning continues.
func (r *redactor) phoneRun(start, to int) int {
	s := r.s
	var run numRun
	tokenizeRun(s, start, to, &run)
	if run.n == 0 {
		return start + 1
	}
	for g := 0; g < run.n; {
		if end, ok := r.ipv4At(&run, g); ok {
			g = end
			continue
		}
		if end, ok := r.phoneAt(&run, g); ok {
			g = end
			continue
		}
		g++
	}
	return run.end
}

// groupStart returns where group g begins in the text, counting the '+'
// and the opening parenthesis.
func (run *numRun) groupStart(g int) int {
	if g == 0 {
		return run.start
	}
	if run.groups[g].paren {
		return run.groups[g].start - 1
	}
	return run.groups[g].start
}

func (run *numRun) groupEnd(g int) int {
	if run.groups[g].paren {
		return run.groups[g].end + 1
	}
	return run.groups[g].end
}

// leftOK reports whether a number may start at group g: at the run start,
// the character before must not glue it to a word, a price or a larger
// token; inside the run, it must follow a plain space.
func (run *numRun) leftOK(s string, g int) bool {
	if g > 0 {
		// "Room 12 415-555-0132", but never a number carved out of a
		// longer one such as a tracking number.
		return run.groups[g].sep == sepSpace && !run.groups[g].paren && run.digits(0, g-1) <= 3
	}
	if run.start == 0 {
		return true
	}
	c := s[run.start-1]
	if c >= utf8.RuneSelf {
		r, _ := utf8.DecodeLastRuneInString(s[:run.start])
		return !glues(r) && !unicode.Is(unicode.Sc, r)
	}
	if isWordByte(c) {
		return false
	}
	switch c {
	case '$', '#', '%', '&', '\\', '-', '+', '@', '*', '^', '~', '|':
		return false
	case '.', ',':
		// "made.415-431-5000" lacks a space after a sentence; "1.415" and
		// "1,415" are one number.
		return run.start < 2 || !isDigit(s[run.start-2])
	}
	return true
}

// rightOK reports whether a number may end after group k.
func (run *numRun) rightOK(s string, k int) bool {
	if k+1 < run.n {
		// "415 555 0132 2 times", but at most an extension's worth of
		// digits may follow in the same run.
		return run.groups[k+1].sep == sepSpace && run.digits(k+1, run.n-1) <= 4
	}
	e := run.end
	if e >= len(s) {
		return true
	}
	c := s[e]
	if c >= utf8.RuneSelf {
		r, _ := utf8.DecodeRuneInString(s[e:])
		return !glues(r) && !unicode.Is(unicode.Sc, r)
	}
	if isWordByte(c) {
		return false
	}
	switch c {
	case '%', '@', '$', '&':
		return false
	}
	return true
}

// ipv4At redacts a dotted quad starting at group g and returns the next
// group.
func (r *redactor) ipv4At(run *numRun, g int) (int, bool) {
	k := g + 3
	if k >= run.n || run.plus && g == 0 {
		return 0, false
	}
	if g > 0 && run.groups[g].sep != sepSpace || g == 0 && !run.leftOK(r.s, 0) {
		return 0, false
	}
	if k+1 < run.n {
		if run.groups[k+1].sep != sepSpace {
			return 0, false
		}
	} else if gluedAt(r.s, run.end) {
		return 0, false
	}
	for x := g; x <= k; x++ {
		gr := run.groups[x]
		if gr.paren || gr.end-gr.start > 3 || x > g && gr.sep != sepDot {
			return 0, false
		}
	}
	a, b := run.groups[g].start, run.groups[k].end
	addr, err := netip.ParseAddr(r.s[a:b])
	if err != nil || !addr.Is4() {
		return 0, false
	}
	r.emit(a, b, PIIIP)
	return k + 1, true
}

// maxPhoneSpan is the most groups one phone number may have.
const maxPhoneSpan = 8

// phoneAt redacts the longest phone number starting at group g and returns
// the next group.
func (r *redactor) phoneAt(run *numRun, g int) (int, bool) {
	s := r.s
	if !run.leftOK(s, g) {
		return 0, false
	}
	last := min(run.n-1, g+maxPhoneSpan-1)
	for k := last; k >= g; k-- {
		if run.rightOK(s, k) && phoneShape(s, run, g, k) {
			r.emit(run.groupStart(g), run.groupEnd(k), PIIPhone)
			return k + 1, true
		}
	}
	if run.digits(g, last) < 7 || !phoneContext(s, run.groupStart(g)) {
		return 0, false
	}
	for k := last; k >= g; k-- {
		d := run.digits(g, k)
		if d >= 7 && d <= 15 && run.rightOK(s, k) && !dateShape(s, run, g, k) {
			r.emit(run.groupStart(g), run.groupEnd(k), PIIPhone)
			return k + 1, true
		}
	}
	return 0, false
}

func (run *numRun) digits(g, k int) int {
	d := 0
	for x := g; x <= k; x++ {
		d += run.groups[x].end - run.groups[x].start
	}
	return d
}

// phoneShape reports whether groups g..k have the shape of a phone number
// without any help from context.
func phoneShape(s string, run *numRun, g, k int) bool {
	d := run.digits(g, k)
	if run.plus && g == 0 {
		return d >= 8 && d <= 15
	}
	gs := run.groups[g : k+1]
	size := func(x int) int { return gs[x].end - gs[x].start }
	// North American: [1] NXX NXX XXXX, or (NXX) NXXXXXX.
	na := gs
	if len(na) == 4 && size(0) == 1 && s[na[0].start] == '1' && !na[0].paren {
		na = na[1:]
	}
	if len(na) == 3 && na[0].end-na[0].start == 3 && na[1].end-na[1].start == 3 && na[2].end-na[2].start == 4 &&
		!na[1].paren && !na[2].paren {
		return true
	}
	if len(na) == 2 && na[0].paren && na[0].end-na[0].start == 3 && na[1].end-na[1].start == 7 {
		return true
	}
	first := s[gs[0].start:gs[0].end]
	if len(gs) < 2 {
		return false
	}
	for x := range gs {
		if size(x) < 2 {
			return false
		}
	}
	switch {
	case len(first) >= 2 && first[0] == '0' && first[1] != '0':
		// Trunk-prefixed national number: 020 7946 0958, 06 12 34 56 78.
		return d >= 10 && d <= 11 && !dateShape(s, run, g, k)
	case len(first) >= 3 && first[0] == '0' && first[1] == '0' && first[2] != '0':
		// International call prefix: 0044 20 7946 0958. Uniform groups
		// of four are how references and tracking numbers are printed.
		return d >= 11 && d <= 15 && !uniformFours(gs)
	}
	return false
}

func uniformFours(gs []numGroup) bool {
	for _, g := range gs {
		if g.end-g.start != 4 {
			return false
		}
	}
	return true
}

// dateShape reports whether groups g..k read as a date: YYYY-MM-DD or
// DD-MM-YYYY with a plausible year.
func dateShape(s string, run *numRun, g, k int) bool {
	if k-g != 2 {
		return false
	}
	a, b, c := run.groups[g], run.groups[g+1], run.groups[k]
	la, lb, lc := a.end-a.start, b.end-b.start, c.end-c.start
	year := func(x numGroup) bool {
		y := s[x.start:x.end]
		return len(y) == 4 && (y[:2] == "19" || y[:2] == "20")
	}
	switch {
	case la == 4 && lb <= 2 && lc <= 2:
		return year(a)
	case la <= 2 && lb <= 2 && lc == 4:
		return year(c)
	}
	return false
}

// phoneContext reports whether the words right before s[start] introduce a
// phone number: "call me at", "Tel:", "phone number is", "their number is".
// Digits in between cancel the context.
func phoneContext(s string, start int) bool {
	lo := max(0, start-64)
	j := start
	number := false
	for words := 0; words < 6; words++ {
		for j > lo && !isASCIILetter(s[j-1]) {
			if isDigit(s[j-1]) || s[j-1] == '\n' {
				return false
			}
			j--
		}
		e := j
		for j > lo && (isASCIILetter(s[j-1]) || s[j-1] == '\'') {
			j--
		}
		if e == j || j == lo && lo > 0 {
			return false
		}
		w := s[j:e]
		if number {
			return isNumberOwner(w)
		}
		switch {
		case isPhoneWord(w):
			return true
		case foldIn(w, "number", "no", "nr", "num", "numbers"):
			number = true
		case foldIn(w, "is", "at", "on", "to", "me", "us", "them", "him", "her", "be", "was", "are", "as",
			"listed", "or", "via", "by", "please", "just", "also", "directly", "anytime", "back", "can"):
		default:
			return false
		}
	}
	return false
}

func isPhoneWord(w string) bool {
	return foldIn(w, "phone", "phones", "telephone", "tel", "mobile", "mob", "cell", "cellphone", "call",
		"calls", "calling", "ring", "dial", "fax", "text", "sms", "whatsapp", "contact", "contacting",
		"reach", "reached", "landline", "hotline")
}

func isNumberOwner(w string) bool {
	return foldIn(w, "their", "my", "our", "your", "his", "her", "its", "phone", "telephone", "tel", "mobile",
		"cell", "contact", "fax", "home", "work", "office", "direct", "whatsapp", "callback", "emergency",
		"personal", "business", "landline")
}

// foldIn reports whether w equals one of the lowercase words, ignoring
// ASCII case.
func foldIn(w string, words ...string) bool {
	for _, x := range words {
		if asciiEqualFold(w, x) {
			return true
		}
	}
	return false
}
