package synth

import (
	"math/rand/v2"
	"net/netip"
)

// kind is a class of value the generator counts as it writes it into text:
// the PII kinds a redactor must remove and the lookalikes it must leave alone.
type kind uint8

const (
	kEmail kind = iota
	kPhone
	kCard
	kIBAN
	kIPv4
	kIPv6
	kOrder
	kTracking
	kReference
	kInvoice
	kPrice
	kDate
	kTime
	kLast4
	kVersion
	numKinds

	firstLookalike = kOrder
)

// Keys of Report.PII.
const (
	PIIEmail = "email"
	PIIPhone = "phone"
	PIICard  = "card" // Luhn-valid payment card numbers
	PIIIBAN  = "iban" // IBANs with valid mod-97 check digits
	PIIIPv4  = "ipv4"
	PIIIPv6  = "ipv6"
)

// Keys of Report.Lookalikes: values that resemble PII but are not, which a
// redactor must leave in place.
const (
	LookalikeOrder     = "order"     // order numbers such as #4829131 or ORD-2024-004821
	LookalikeTracking  = "tracking"  // carrier tracking numbers, including 22-digit USPS ones
	LookalikeReference = "reference" // 16-digit payment references that fail the Luhn check
	LookalikeInvoice   = "invoice"   // invoice numbers such as INV-2025-00412
	LookalikePrice     = "price"     // amounts such as $49.99 or 129,00 €
	LookalikeDate      = "date"      // calendar dates written in prose
	LookalikeTime      = "time"      // clock times written in prose
	LookalikeLast4     = "last4"     // the last four digits of a card
	LookalikeVersion   = "version"   // app versions such as 4.12.1
)

// kindNames maps a kind to its Report key; it is never written to.
var kindNames = [numKinds]string{
	kEmail: PIIEmail, kPhone: PIIPhone, kCard: PIICard, kIBAN: PIIIBAN,
	kIPv4: PIIIPv4, kIPv6: PIIIPv6,
	kOrder: LookalikeOrder, kTracking: LookalikeTracking, kReference: LookalikeReference,
	kInvoice: LookalikeInvoice, kPrice: LookalikePrice, kDate: LookalikeDate,
	kTime: LookalikeTime, kLast4: LookalikeLast4, kVersion: LookalikeVersion,
}

// tally counts kinds written into one piece of text.
type tally [numKinds]int32

func (t *tally) add(u *tally) {
	for i := range t {
		t[i] += u[i]
	}
}

func (t *tally) has(k kind) bool { return t[k] > 0 }

// digits appends n random decimal digits.
func digits(dst []byte, r *rand.Rand, n int) []byte {
	for range n {
		dst = append(dst, byte('0'+r.IntN(10)))
	}
	return dst
}

// appendPattern expands a digit pattern: X is any digit, N is 2-9 (the
// first digit of a North American area code or exchange), A is an
// uppercase letter, C is a letter or digit; anything else is copied.
func appendPattern(dst []byte, r *rand.Rand, pat string) []byte {
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case 'X':
			dst = append(dst, byte('0'+r.IntN(10)))
		case 'N':
			dst = append(dst, byte('2'+r.IntN(8)))
		case 'A':
			dst = append(dst, byte('A'+r.IntN(26)))
		case 'C':
			dst = append(dst, alnum[r.IntN(len(alnum))])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// phonePatterns are written so that no phone number holds 13 or more digits
// in one run: a longer run would read as a card number to any scanner.
var phonePatterns = [...]string{
	// United States and Canada, most common first by repetition.
	"(NXX) NXX-XXXX", "(NXX) NXX-XXXX", "NXX-NXX-XXXX", "NXX-NXX-XXXX",
	"+1 NXX NXX XXXX", "+1 NXX NXX XXXX", "NXX.NXX.XXXX", "+1 (NXX) NXX-XXXX",
	"+1NXXNXXXXXX", "1-NXX-NXX-XXXX",
	"+44 20 XXXX XXXX", "+44 7XXX XXXXXX", "07XXX XXXXXX", "+44 161 XXX XXXX",
	"+49 30 XXXXXXXX", "+49 (0)89 XXXXXXX",
	"+33 6 XX XX XX XX", "06 XX XX XX XX", "+33 (0)1 XX XX XX XX",
	"+91 9XXXX XXXXX", "+971 5X XXX XXXX", "+61 4XX XXX XXX", "(02) XXXX XXXX",
	"+81 3-XXXX-XXXX", "+81 90-XXXX-XXXX", "+34 6XX XX XX XX", "+55 11 XXXX-XXXX",
	"+31 6 XXXXXXXX",
}

func appendPhone(dst []byte, r *rand.Rand) []byte {
	return appendPattern(dst, r, phonePatterns[r.IntN(len(phonePatterns))])
}

// cardBrand describes an issuer: the IIN prefix range, the number length,
// how the number is grouped when written with separators, and how often it
// shows up in consumer support mail relative to the others.
type cardBrand struct {
	lo, hi int // IIN prefix range, inclusive
	width  int // digits in the prefix
	length int
	groups []int
	weight int
}

var cardBrands = [...]cardBrand{
	{4, 4, 1, 16, []int{4, 4, 4, 4}, 45},      // Visa
	{51, 55, 2, 16, []int{4, 4, 4, 4}, 20},    // Mastercard
	{2221, 2720, 4, 16, []int{4, 4, 4, 4}, 8}, // Mastercard 2-series
	{34, 34, 2, 15, []int{4, 6, 5}, 4},        // American Express
	{37, 37, 2, 15, []int{4, 6, 5}, 6},        // American Express
	{6011, 6011, 4, 16, []int{4, 4, 4, 4}, 3}, // Discover
	{644, 649, 3, 16, []int{4, 4, 4, 4}, 1},   // Discover
	{65, 65, 2, 16, []int{4, 4, 4, 4}, 2},     // Discover
	{3528, 3589, 4, 16, []int{4, 4, 4, 4}, 4}, // JCB
	{36, 36, 2, 14, []int{4, 6, 4}, 2},        // Diners Club
	{62, 62, 2, 19, []int{4, 4, 4, 4, 3}, 2},  // UnionPay
	{5018, 5018, 4, 16, []int{4, 4, 4, 4}, 3}, // Maestro
}

// cardBrandWeights is the sum of cardBrands' weights.
const cardBrandWeights = 100

// luhnDigit returns the check digit that makes payload+digit Luhn-valid.
// payload holds ASCII digits.
func luhnDigit(payload []byte) byte {
	sum := 0
	double := true // the digit left of the check digit is doubled
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// luhnValid reports whether the ASCII digits in s pass the Luhn check.
func luhnValid(s []byte) bool {
	if len(s) < 2 {
		return false
	}
	return luhnDigit(s[:len(s)-1]) == s[len(s)-1]
}

// appendGrouped writes d either grouped by groups with sep, or compact.
func appendGrouped(dst []byte, d []byte, groups []int, sep byte) []byte {
	if sep == 0 {
		return append(dst, d...)
	}
	at := 0
	for i, g := range groups {
		if i > 0 {
			dst = append(dst, sep)
		}
		dst = append(dst, d[at:at+g]...)
		at += g
	}
	return dst
}

func cardSep(r *rand.Rand) byte {
	switch n := r.IntN(20); {
	case n < 10:
		return ' '
	case n < 13:
		return '-'
	default:
		return 0
	}
}

// appendCard writes a Luhn-valid card number with a real issuer prefix.
func appendCard(dst []byte, r *rand.Rand) []byte {
	w := r.IntN(cardBrandWeights)
	i := 0
	for w >= cardBrands[i].weight {
		w -= cardBrands[i].weight
		i++
	}
	b := &cardBrands[i]
	var buf [19]byte
	d := buf[:b.length]
	p := b.lo + r.IntN(b.hi-b.lo+1)
	for i := b.width - 1; i >= 0; i-- {
		d[i] = byte('0' + p%10)
		p /= 10
	}
	for i := b.width; i < b.length-1; i++ {
		d[i] = byte('0' + r.IntN(10))
	}
	d[b.length-1] = luhnDigit(d[:b.length-1])
	return appendGrouped(dst, d, b.groups, cardSep(r))
}

var sixteen = []int{4, 4, 4, 4}

// appendReference writes a 16-digit payment reference that fails the Luhn
// check, so it looks exactly like a card number but must not be redacted
// as one.
func appendReference(dst []byte, r *rand.Rand) []byte {
	var d [16]byte
	d[0] = byte('1' + r.IntN(9))
	for i := 1; i < 16; i++ {
		d[i] = byte('0' + r.IntN(10))
	}
	if luhnValid(d[:]) {
		// Any single-digit change breaks a valid Luhn sum.
		d[15] = '0' + (d[15]-'0'+1)%10
	}
	return appendGrouped(dst, d[:], sixteen, cardSep(r))
}

// ibanCountry gives a country's BBAN layout as runs of a count and a class
// (n digit, a uppercase letter, c letter or digit), per the IBAN registry.
type ibanCountry struct {
	cc   string
	bban string
}

var ibanCountries = [...]ibanCountry{
	{"DE", "18n"},
	{"DE", "18n"},
	{"GB", "4a14n"},
	{"GB", "4a14n"},
	{"FR", "10n11c2n"},
	{"NL", "4a10n"},
	{"ES", "20n"},
	{"IT", "1a10n12c"},
	{"BE", "12n"},
	{"CH", "5n12c"},
	{"AT", "16n"},
	{"IE", "4a14n"},
	{"PL", "24n"},
	{"AE", "3n16n"},
	{"SA", "2n18c"},
	{"PT", "21n"},
}

// appendIBAN writes an IBAN whose check digits satisfy ISO 13616 mod 97,
// grouped in fours with spaces (the paper form) or compact.
func appendIBAN(dst []byte, r *rand.Rand) []byte {
	c := &ibanCountries[r.IntN(len(ibanCountries))]
	var buf [34]byte
	b := buf[:0]
	for i := 0; i < len(c.bban); {
		n := 0
		for ; c.bban[i] >= '0' && c.bban[i] <= '9'; i++ {
			n = n*10 + int(c.bban[i]-'0')
		}
		class := c.bban[i]
		i++
		for range n {
			switch class {
			case 'n':
				b = append(b, byte('0'+r.IntN(10)))
			case 'a':
				b = append(b, byte('A'+r.IntN(26)))
			default:
				b = append(b, alnum[r.IntN(len(alnum))])
			}
		}
	}
	// Check digits: the BBAN, then the country code and "00", read as one
	// number with A=10..Z=35, taken mod 97; the check is 98 minus that.
	m := 0
	for _, s := range [...][]byte{b, []byte(c.cc), []byte("00")} {
		for _, ch := range s {
			if ch >= 'A' {
				m = (m*100 + int(ch-'A'+10)) % 97
			} else {
				m = (m*10 + int(ch-'0')) % 97
			}
		}
	}
	check := 98 - m
	var full [34]byte
	f := append(full[:0], c.cc...)
	f = append(f, byte('0'+check/10), byte('0'+check%10))
	f = append(f, b...)
	if r.IntN(5) < 2 {
		return append(dst, f...)
	}
	for i := 0; i < len(f); i += 4 {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, f[i:min(i+4, len(f))]...)
	}
	return dst
}

// appendIPv4 writes a public-looking IPv4 address: documentation ranges
// part of the time, otherwise random unicast space minus private blocks.
func appendIPv4(dst []byte, r *rand.Rand) []byte {
	var a, b, c byte
	switch r.IntN(5) {
	case 0:
		a, b, c = 203, 0, 113
	case 1:
		a, b, c = 198, 51, 100
	default:
		for {
			a = byte(1 + r.IntN(223))
			if a != 10 && a != 127 && a != 172 && a != 192 && a != 169 && a != 100 {
				break
			}
		}
		b, c = byte(r.IntN(256)), byte(r.IntN(256))
	}
	d := byte(1 + r.IntN(254))
	return netip.AddrFrom4([4]byte{a, b, c, d}).AppendTo(dst)
}

// ipv6Prefixes are first 16-bit groups seen on real networks, plus the
// documentation prefix 2001:db8.
var ipv6Prefixes = [...]uint16{0x2001, 0x2a02, 0x2600, 0x2a01, 0x2607, 0x2001, 0x2c0f, 0x2404}

// appendIPv6 writes a global unicast IPv6 address, usually compressed
// ("2001:db8:85a3::8a2e:370:7334"), sometimes fully expanded.
func appendIPv6(dst []byte, r *rand.Rand) []byte {
	var g [8]uint16
	g[0] = ipv6Prefixes[r.IntN(len(ipv6Prefixes))]
	if g[0] == 0x2001 && r.IntN(2) == 0 {
		g[1] = 0x0db8
	} else {
		g[1] = uint16(r.IntN(0x10000))
	}
	for i := 2; i < 8; i++ {
		g[i] = uint16(r.IntN(0x10000))
	}
	if r.IntN(2) == 0 { // a run of zero groups, as most real addresses have
		start := 2 + r.IntN(3)
		for i := start; i < start+1+r.IntN(3); i++ {
			g[i] = 0
		}
	}
	if g[7] == 0 {
		g[7] = 1
	}
	var b [16]byte
	for i, v := range g {
		b[2*i], b[2*i+1] = byte(v>>8), byte(v)
	}
	a := netip.AddrFrom16(b)
	if r.IntN(6) == 0 {
		return append(dst, a.StringExpanded()...)
	}
	return a.AppendTo(dst)
}

// appendTracking writes a carrier tracking number in that carrier's shape.
// USPS numbers are 22 digits: longer than any card, so a careful scanner
// must not carve a card out of them.
func appendTracking(dst []byte, r *rand.Rand, carrier string) []byte {
	switch carrier {
	case "UPS":
		return appendPattern(dst, r, "1ZXXXCCCXXXXXXXXXX")
	case "USPS":
		if r.IntN(2) == 0 {
			return appendPattern(dst, r, "9400 1XXX XXXX XXXX XXXX XX")
		}
		return appendPattern(dst, r, "94001XXXXXXXXXXXXXXXXX")
	case "FedEx":
		return appendPattern(dst, r, "XXXX XXXX XXXX")
	case "DHL":
		return appendPattern(dst, r, "JDXXXXXXXXXXXXXXXXXX"[:10+r.IntN(2)*8])
	default: // Royal Mail, DPD: two letters, nine digits, GB
		return appendPattern(dst, r, "AAXXXXXXXXXGB")
	}
}
