package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

type role uint8

const (
	roleCustomer role = iota
	roleAgent
	roleSystem
)

// roleNames are the wire names; they match transforms.Role.
var roleNames = [...]string{"customer", "agent", "system"}

type channel uint8

const (
	chEmail channel = iota
	chChat
	chWebForm
	chPhone
)

var channelNames = [...]string{"email", "chat", "web_form", "phone"}

// beat is the part a turn plays in the conversation's flow.
type beat uint8

const (
	bOpen     beat = iota // customer states the problem
	bDouble               // customer pings again before anyone answered (chat)
	bAsk                  // agent asks for details
	bProvide              // customer supplies them
	bResolve              // agent resolves, or answers directly
	bProgress             // agent reports the ticket is escalated
	bChase                // customer chases
	bFollowQ              // customer asks a follow-up question
	bFollowA              // agent answers it
	bThanks               // customer thanks
	bClose                // agent closes
	bSystem               // automated message
	bEmpty                // customer message with nothing of its own: only a signature, only a quote, or blank
)

// span is a byte range of gen.arena or gen.vals.
type span struct{ a, b int }

// turn is one rendered message.
type turn struct {
	role   role
	beat   beat
	ts     time.Time
	text   span  // what is written out
	body   span  // the message's own plain text, without any quote, for the next reply to quote
	bodyT  tally // what body contains
	t      tally // what text contains
	html   bool
	quoted bool
	empty  bool
}

// convo holds the choices that shape one conversation.
type convo struct {
	id       int
	sc       *scenario
	ch       channel
	p        person
	unicode  bool
	locale   int // 0 US, 1 UK, 2 euro area, 3 elsewhere
	zone     *time.Location
	agent    string
	business bool
	ccompany string
	title    string

	client     int // customer's mail client: 0 Gmail, 1 Outlook, 2 Apple Mail, 3 other
	custHTML   bool
	agentHTML  bool
	custSig    int // 0 none, 1 sign-off, 2 mobile footer, 3 both, 4 full signature block
	custSigIdx int
	agentSig   int // index into agentSigs, or -1
	custDisc   int // index into disclaimers, or -1
	agentDisc  int
	replyLine  bool // help desk puts "please reply above this line" on agent mail

	noAgent bool
	sloppy  bool // chat customer who writes in lowercase without full stops
	curly   bool // typographic apostrophes
	system  bool
	empty   bool

	pii     [2]*piiLine
	piiAt   int // index among customer turns carrying the PII; -1 for none
	look    int // index into lookalikeLines, or -1
	lookAt  int
	follow  int // next follow-up to use, counting scenario ones then generic ones
	open    int // which opening the customer wrote, for the agent to resolve
	ask     int // which question the agent asked, for the customer to answer
	chase   int // the last chaser used, so two in a row differ
	spoke   bool
	subject span
	subjT   tally

	beats []beat
	roles []role
	turns []turn
	total tally

	meta, extraPre, extraPost span // JSON fragments, each starting with a comma
}

type slotID uint8

const (
	sFirst slotID = iota
	sName
	sAgent
	sAgentInitial
	sCompany
	sDomain
	sCCompany
	sTitle
	sTicket
	sTeam
	sTopic
	sProduct
	sPlan
	sPlan2
	sCarrier
	sDevice
	sBrowser
	sError
	sCity
	sPromo
	sVAT
	sDays
	sDays2
	sHours
	sN
	sOrder // counted slots from here on
	sTracking
	sInvoice
	sAmount
	sAmount2
	sDate
	sDate2
	sTime
	sLast4
	sVersion
	sVersion2
	sRef
	sEmail
	sPhone
	sCard
	sIBAN
	sIP4
	sIP6
	sSupportEmail
	sSupportPhone
	numSlots
)

// slotKinds says what each use of a slot adds to the tally; numKinds for
// slots that are not counted.
var slotKinds = [numSlots]kind{
	sFirst: numKinds, sName: numKinds, sAgent: numKinds, sAgentInitial: numKinds, sCompany: numKinds,
	sDomain: numKinds, sCCompany: numKinds, sTitle: numKinds, sTicket: numKinds, sTeam: numKinds,
	sTopic: numKinds, sProduct: numKinds, sPlan: numKinds, sPlan2: numKinds, sCarrier: numKinds,
	sDevice: numKinds, sBrowser: numKinds, sError: numKinds, sCity: numKinds, sPromo: numKinds,
	sVAT: numKinds, sDays: numKinds, sDays2: numKinds, sHours: numKinds, sN: numKinds,
	sOrder: kOrder, sTracking: kTracking, sInvoice: kInvoice, sAmount: kPrice, sAmount2: kPrice,
	sDate: kDate, sDate2: kDate, sTime: kTime, sLast4: kLast4, sVersion: kVersion, sVersion2: kVersion,
	sRef: kReference, sEmail: kEmail, sPhone: kPhone, sCard: kCard, sIBAN: kIBAN, sIP4: kIPv4,
	sIP6: kIPv6, sSupportEmail: kEmail, sSupportPhone: kPhone,
}

// slotByName resolves a template slot. An unknown name is a bug in a
// template table, which the tests expand exhaustively.
func slotByName(name string) slotID {
	switch name {
	case "first":
		return sFirst
	case "name":
		return sName
	case "agent":
		return sAgent
	case "agent_initial":
		return sAgentInitial
	case "company":
		return sCompany
	case "domain":
		return sDomain
	case "ccompany":
		return sCCompany
	case "title":
		return sTitle
	case "ticket":
		return sTicket
	case "team":
		return sTeam
	case "topic":
		return sTopic
	case "product":
		return sProduct
	case "plan":
		return sPlan
	case "plan2":
		return sPlan2
	case "carrier":
		return sCarrier
	case "device":
		return sDevice
	case "browser":
		return sBrowser
	case "error":
		return sError
	case "city":
		return sCity
	case "promo":
		return sPromo
	case "vat":
		return sVAT
	case "days":
		return sDays
	case "days2":
		return sDays2
	case "hours":
		return sHours
	case "n":
		return sN
	case "order":
		return sOrder
	case "tracking":
		return sTracking
	case "invoice":
		return sInvoice
	case "amount":
		return sAmount
	case "amount2":
		return sAmount2
	case "date":
		return sDate
	case "date2":
		return sDate2
	case "time":
		return sTime
	case "last4":
		return sLast4
	case "version":
		return sVersion
	case "version2":
		return sVersion2
	case "ref":
		return sRef
	case "email":
		return sEmail
	case "phone":
		return sPhone
	case "card":
		return sCard
	case "iban":
		return sIBAN
	case "ip4":
		return sIP4
	case "ip6":
		return sIP6
	case "support_email":
		return sSupportEmail
	case "support_phone":
		return sSupportPhone
	}
	panic("synth: unknown template slot {" + name + "}")
}

// gen is the state of one generation run. Buffers are reused from one
// conversation to the next so a run allocates little per conversation.
type gen struct {
	o            Options
	r            *rand.Rand
	company      string
	domain       string
	supportEmail string
	supportPhone string
	initials     string // two ASCII letters for order numbers
	zones        [8]*time.Location

	c     convo
	arena []byte // all text of the current conversation
	vals  []byte // slot values of the current conversation
	slots [numSlots]span
	have  [numSlots]bool
	cur   *tally // where expand counts what it writes
	// squeeze says an empty alternative was taken since the last paragraph
	// ended, so the next one may hold doubled spaces.
	squeeze bool
	paras   []span
}

func newGen(o Options, seed1, seed2 uint64) *gen {
	g := &gen{o: o, r: rand.New(rand.NewPCG(seed1, seed2))}
	g.company = o.Company
	if g.company == "" {
		g.company = DefaultCompany
	}
	var d []byte
	for _, ch := range strings.ToLower(g.company) {
		if ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' {
			d = append(d, byte(ch))
		}
	}
	if len(d) == 0 {
		d = append(d, "helpdesk"...)
	}
	g.domain = string(d) + ".example"
	g.initials = strings.ToUpper(g.domain[:2])
	g.supportEmail = "support@" + g.domain
	g.supportPhone = string(appendPattern(nil, g.r, "+1 800 555 01XX"))
	offsets := [...]int{0, 0, 0, -5, -8, 1, 2, 10}
	for i, h := range offsets {
		if h == 0 {
			g.zones[i] = time.UTC
		} else {
			g.zones[i] = time.FixedZone("", h*3600)
		}
	}
	g.arena = make([]byte, 0, 16<<10)
	g.vals = make([]byte, 0, 1<<10)
	return g
}

func (g *gen) chance(p float64) bool { return p > 0 && g.r.Float64() < p }

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// expand appends template t with alternatives chosen and slots filled,
// counting every counted slot into g.cur.
func (g *gen) expand(dst []byte, t string) []byte {
	// Positions of the next '{' and '[' at or after pos, or -1; each is
	// searched for again only once pos has passed it.
	pos := 0
	brace, bracket := strings.IndexByte(t, '{'), strings.IndexByte(t, '[')
	next := func(c byte) int {
		if i := strings.IndexByte(t[pos:], c); i >= 0 {
			return pos + i
		}
		return -1
	}
	for {
		i := brace
		if bracket >= 0 && (i < 0 || bracket < i) {
			i = bracket
		}
		if i < 0 {
			return append(dst, t[pos:]...)
		}
		dst = append(dst, t[pos:i]...)
		if t[i] == '{' {
			j := i + strings.IndexByte(t[i:], '}')
			s := slotByName(t[i+1 : j])
			dst = append(dst, g.slotVal(s)...)
			if k := slotKinds[s]; k < numKinds {
				g.cur[k]++
			}
			pos = j + 1
		} else {
			var end int
			dst, end = g.alternative(dst, t[i:])
			pos = i + end + 1
		}
		if brace >= 0 && brace < pos {
			brace = next('{')
		}
		if bracket >= 0 && bracket < pos {
			bracket = next('[')
		}
	}
}

// alternative expands one alternative of the "[a|b|c]" group that t
// starts with, and returns the index of the group's closing bracket.
func (g *gen) alternative(dst []byte, t string) ([]byte, int) {
	// Find the matching ']' and count top-level alternatives.
	depth, n, end := 0, 1, 0
	for j := 1; end == 0 && j < len(t); j++ {
		switch t[j] {
		case '[':
			depth++
		case ']':
			if depth == 0 {
				end = j
			}
			depth--
		case '|':
			if depth == 0 {
				n++
			}
		}
	}
	want := g.r.IntN(n)
	start, k := 1, 0
	depth = 0
	for j := 1; j <= end; j++ {
		switch c := t[j]; {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0 && (c == '|' || j == end):
			if k == want {
				// An empty alternative leaves a doubled space for endPara
				// to squeeze out.
				g.squeeze = g.squeeze || j == start
				return g.expand(dst, t[start:j]), end
			}
			k++
			start = j + 1
		}
	}
	return dst, end
}

// slotVal returns the current conversation's value for s, making it on
// first use so a value stays the same throughout the conversation.
func (g *gen) slotVal(s slotID) []byte {
	if g.have[s] {
		sp := g.slots[s]
		return g.vals[sp.a:sp.b]
	}
	// Values that depend on another slot make that one first, so that
	// appending to g.vals below cannot interleave with it.
	switch s {
	case sTracking:
		g.slotVal(sCarrier)
	case sDays2:
		g.slotVal(sDays)
	}
	c, r, v := &g.c, g.r, g.vals
	a := len(v)
	switch s {
	case sFirst:
		v = append(v, c.p.first...)
	case sName:
		v = appendName(v, c.p)
	case sAgent:
		v = append(v, c.agent...)
	case sAgentInitial:
		v = append(v, byte('A'+r.IntN(26)))
	case sCompany:
		v = append(v, g.company...)
	case sDomain:
		v = append(v, g.domain...)
	case sCCompany:
		v = append(v, c.ccompany...)
	case sTitle:
		v = append(v, c.title...)
	case sTicket:
		v = appendID(v, c.id)
	case sTeam:
		v = append(v, c.sc.team...)
	case sTopic:
		v = append(v, c.sc.topic...)
	case sProduct:
		v = append(v, pick(r, products[:])...)
	case sPlan, sPlan2:
		// Two different plans: take the other one's index into account.
		i := r.IntN(len(plans))
		other := sPlan2
		if s == sPlan2 {
			other = sPlan
		}
		if g.have[other] && string(g.vals[g.slots[other].a:g.slots[other].b]) == plans[i] {
			i = (i + 1) % len(plans)
		}
		v = append(v, plans[i]...)
	case sCarrier:
		v = append(v, pick(r, carriers[:])...)
	case sDevice:
		v = append(v, pick(r, devices[:])...)
	case sBrowser:
		v = append(v, pick(r, browsers[:])...)
		v = append(v, ' ')
		v = strconv.AppendInt(v, int64(100+r.IntN(30)), 10)
	case sError:
		v = append(v, pick(r, errorTexts[:])...)
	case sCity:
		if c.unicode {
			v = append(v, pick(r, citiesUnicode[:])...)
		} else {
			v = append(v, pick(r, citiesASCII[:])...)
		}
	case sPromo:
		v = append(v, pick(r, promos[:])...)
	case sVAT:
		v = appendPattern(v, r, pick(r, []string{"GBXXXXXXXXX", "DEXXXXXXXXX", "FRXXXXXXXXXXX", "NLXXXXXXXXXB01"}))
	case sDays:
		v = strconv.AppendInt(v, int64(3+r.IntN(8)), 10)
	case sDays2:
		d, _ := strconv.Atoi(string(g.slotVal(sDays)))
		v = strconv.AppendInt(v, int64(d+2+r.IntN(6)), 10)
	case sHours:
		v = strconv.AppendInt(v, int64(pick(r, []int{12, 24, 24, 48, 72})), 10)
	case sN:
		v = strconv.AppendInt(v, int64(2+r.IntN(38)), 10)
	case sOrder:
		v = appendOrder(v, r, g.initials, c.turnsStart().Year())
	case sTracking:
		v = appendTracking(v, r, string(g.slotVal(sCarrier)))
	case sInvoice:
		v = append(v, "INV-"...)
		v = strconv.AppendInt(v, int64(c.turnsStart().Year()), 10)
		v = append(v, '-')
		v = appendPattern(v, r, "0XXXX")
	case sAmount, sAmount2:
		cents := 500 + r.IntN(40000)
		if s == sAmount2 {
			cents = 300 + r.IntN(3000)
		}
		v = appendMoney(v, r, c, cents)
	case sDate:
		v = appendDate(v, r, c, c.turnsStart().AddDate(0, 0, -2-r.IntN(28)))
	case sDate2:
		v = appendDate(v, r, c, c.turnsStart().AddDate(0, 0, 2+r.IntN(20)))
	case sTime:
		v = appendClock(v, r, c)
	case sLast4:
		v = digits(v, r, 4)
	case sVersion, sVersion2:
		major, minor, patch := 3+r.IntN(3), r.IntN(20), r.IntN(9)
		if s == sVersion2 {
			major, minor, patch = 6, r.IntN(5), r.IntN(9)
		}
		v = strconv.AppendInt(v, int64(major), 10)
		v = append(v, '.')
		v = strconv.AppendInt(v, int64(minor), 10)
		v = append(v, '.')
		v = strconv.AppendInt(v, int64(patch), 10)
	case sRef:
		v = appendReference(v, r)
	case sEmail:
		v = appendEmail(v, r, c)
	case sPhone:
		v = appendPhone(v, r)
	case sCard:
		v = appendCard(v, r)
	case sIBAN:
		v = appendIBAN(v, r)
	case sIP4:
		v = appendIPv4(v, r)
	case sIP6:
		v = appendIPv6(v, r)
	case sSupportEmail:
		v = append(v, g.supportEmail...)
	case sSupportPhone:
		v = append(v, g.supportPhone...)
	}
	g.vals = v
	g.slots[s] = span{a, len(v)}
	g.have[s] = true
	return v[a:]
}

func (c *convo) turnsStart() time.Time { return c.turns[0].ts }

func appendName(dst []byte, p person) []byte {
	if p.full != "" {
		return append(dst, p.full...)
	}
	dst = append(dst, p.first...)
	dst = append(dst, ' ')
	return append(dst, p.last...)
}

// appendID writes a ticket id such as TCK-000123.
func appendID(dst []byte, id int) []byte {
	dst = append(dst, "TCK-"...)
	for w := 100000; w > 1 && id < w; w /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(id), 10)
}

// appendOrder writes an order number in one of the shapes shops use;
// initials are the company's, in ASCII.
func appendOrder(dst []byte, r *rand.Rand, initials string, year int) []byte {
	switch r.IntN(5) {
	case 0:
		return appendPattern(dst, r, "#NXXXXXX")
	case 1:
		dst = strconv.AppendInt(append(dst, "ORD-"...), int64(year), 10)
		return appendPattern(dst, r, "-0XXXXX")
	case 2:
		dst = append(dst, initials...)
		return appendPattern(dst, r, "-NXXXXXXX")
	case 3:
		return appendPattern(dst, r, "NXXXXXXX")
	default:
		return appendPattern(dst, r, "#A-NXXXXX")
	}
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		} else if c == '\'' || c == ' ' {
			b[i] = '-'
		}
	}
	return strings.ReplaceAll(string(b), "-", "")
}

func appendEmail(dst []byte, r *rand.Rand, c *convo) []byte {
	first, last := c.p.firstASCII, c.p.lastASCII
	if first == "" {
		first, last = lowerASCII(c.p.first), lowerASCII(c.p.last)
	}
	switch r.IntN(7) {
	case 0, 1:
		dst = append(dst, first...)
		dst = append(dst, '.')
		dst = append(dst, last...)
	case 2:
		dst = append(dst, first...)
		dst = append(dst, last...)
	case 3:
		dst = append(dst, first[0])
		dst = append(dst, '.')
		dst = append(dst, last...)
	case 4:
		dst = append(dst, first...)
		dst = append(dst, '_')
		dst = append(dst, last...)
		dst = strconv.AppendInt(dst, int64(r.IntN(100)), 10)
	case 5:
		dst = append(dst, first...)
		dst = append(dst, '+')
		dst = append(dst, "shop"...)
	default:
		dst = append(dst, first[0])
		dst = append(dst, last...)
		dst = strconv.AppendInt(dst, int64(1960+r.IntN(45)), 10)
	}
	dst = append(dst, '@')
	if c.business {
		return append(dst, lowerASCII(strings.Fields(c.ccompany)[0])+".com"...)
	}
	return append(dst, pick(r, mailDomains[:])...)
}

// appendMoney writes an amount the way the customer's locale writes it.
// Conversations not chosen for Unicode use currency codes instead of the
// pound and euro signs so that they stay pure ASCII.
func appendMoney(dst []byte, r *rand.Rand, c *convo, cents int) []byte {
	num := func(dst []byte, decimal byte) []byte {
		dst = strconv.AppendInt(dst, int64(cents/100), 10)
		dst = append(dst, decimal)
		return append(dst, byte('0'+cents%100/10), byte('0'+cents%10))
	}
	switch c.locale {
	case 0, 3:
		if c.locale == 3 && r.IntN(2) == 0 {
			return num(append(dst, "USD "...), '.')
		}
		return num(append(dst, '$'), '.')
	case 1:
		if c.unicode {
			return num(append(dst, "£"...), '.')
		}
		return num(append(dst, "GBP "...), '.')
	default:
		if c.unicode {
			return append(num(dst, ','), " €"...)
		}
		if r.IntN(2) == 0 {
			return append(num(dst, ','), " EUR"...)
		}
		return num(append(dst, "EUR "...), '.')
	}
}

var dateLayoutsUS = [...]string{"January 2", "January 2, 2006", "1/2/2006", "01/02", "Jan 2", "Monday, Jan 2"}
var dateLayoutsEU = [...]string{"2 January", "2 January 2006", "02/01/2006", "02.01.2006", "2006-01-02", "2 Jan"}

func appendDate(dst []byte, r *rand.Rand, c *convo, t time.Time) []byte {
	if c.locale == 0 {
		return t.AppendFormat(dst, pick(r, dateLayoutsUS[:]))
	}
	return t.AppendFormat(dst, pick(r, dateLayoutsEU[:]))
}

func appendClock(dst []byte, r *rand.Rand, c *convo) []byte {
	t := time.Date(2000, 1, 1, 7+r.IntN(15), r.IntN(60), 0, 0, time.UTC)
	if c.locale == 0 {
		return t.AppendFormat(dst, pick(r, []string{"3:04 PM", "3:04pm", "3:04 p.m."}))
	}
	return t.AppendFormat(dst, pick(r, []string{"15:04", "15.04", "15:04h"}))
}

// turnCounts is the distribution of conversation lengths for tickets an
// agent answered: mostly short, with a tail of long back-and-forths.
var turnCounts = [...]int{2, 2, 3, 4, 4, 4, 4, 5, 5, 6, 6, 6, 6, 7, 8, 8, 8, 9, 10, 10, 11, 12, 12}

// MaxTurns is the most turns a generated conversation has.
const MaxTurns = 12

func (g *gen) reset() {
	g.arena = g.arena[:0]
	g.vals = g.vals[:0]
	g.have = [numSlots]bool{}
	c := &g.c
	*c = convo{beats: c.beats[:0], roles: c.roles[:0], turns: c.turns[:0]}
}

// build makes conversation id in g.c and g.arena.
func (g *gen) build(id int) {
	g.reset()
	c, r, o := &g.c, g.r, &g.o
	c.id = id
	c.sc = &scenarios[r.IntN(len(scenarios))]
	switch n := r.IntN(100); {
	case n < 45:
		c.ch = chEmail
	case n < 73:
		c.ch = chChat
	case n < 85:
		c.ch = chWebForm
	default:
		c.ch = chPhone
	}
	c.unicode = g.chance(o.UnicodeRate)
	if c.unicode && r.IntN(2) == 0 {
		c.p = pick(r, namesUnicode[:])
	} else {
		c.p = pick(r, namesASCII[:])
	}
	switch n := r.IntN(20); {
	case n < 11:
		c.locale = 0
	case n < 14:
		c.locale = 1
	case n < 18:
		c.locale = 2
	default:
		c.locale = 3
	}
	c.zone = g.zones[r.IntN(len(g.zones))]
	c.agent = pick(r, agentNames[:])
	if r.IntN(4) == 0 {
		c.business = true
		c.ccompany = pick(r, custCompanies[:])
		c.title = pick(r, custTitles[:])
	}
	mail := c.ch == chEmail || c.ch == chWebForm
	c.client = r.IntN(4)
	c.custHTML = c.ch == chEmail && g.chance(o.HTMLRate)
	c.agentHTML = c.ch == chEmail && g.chance(o.HTMLRate)
	c.agentSig, c.custDisc, c.agentDisc = -1, -1, -1
	if mail {
		if g.chance(o.SignatureRate) {
			c.custSig = 1 + r.IntN(3)
			if c.business && r.IntN(4) > 0 {
				c.custSig = 4
			}
			if c.custSig == 2 || c.custSig == 3 {
				c.client = 2 // a phone's footer comes from a phone's mail app
			}
			c.custSigIdx = r.IntN(100)
		}
		if g.chance(o.AgentSignatureRate) {
			c.agentSig = r.IntN(len(agentSigs))
		}
		if g.chance(o.DisclaimerRate) {
			c.custDisc = r.IntN(len(disclaimers))
		}
		if g.chance(o.DisclaimerRate) {
			c.agentDisc = r.IntN(len(disclaimers))
		}
		c.replyLine = r.IntN(8) == 0
	}
	c.noAgent = g.chance(o.NoAgentReplyRate)
	c.piiAt = -1
	if g.chance(o.PIIRate) {
		for i := range 1 + r.IntN(4)/3 {
			if len(c.sc.pii) > 0 && r.IntN(10) < 7 {
				c.pii[i] = &c.sc.pii[r.IntN(len(c.sc.pii))]
			} else {
				c.pii[i] = &genericPII[r.IntN(len(genericPII))]
			}
		}
		c.piiAt = r.IntN(2)
	}
	c.look = -1
	if g.chance(o.LookalikeRate) {
		c.look = r.IntN(len(lookalikeLines))
		c.lookAt = r.IntN(2)
	}
	c.system = g.chance(o.SystemTurnRate)
	c.empty = g.chance(o.EmptyTurnRate)
	c.sloppy = c.ch == chChat && r.IntN(10) < 4
	c.curly = c.unicode && r.IntN(2) == 0
	c.follow = r.IntN(len(c.sc.follow) + len(genericFollow))
	c.chase = -1

	g.plan()
	// PII and lookalikes go into the first or second customer message that
	// says something; a ticket with only one puts them in that one.
	n := 0
	for i, b := range c.beats {
		if c.roles[i] == roleCustomer && b != bEmpty && b != bDouble {
			n++
		}
	}
	if c.piiAt >= n {
		c.piiAt = 0
	}
	if c.lookAt >= n {
		c.lookAt = 0
	}

	// Timestamps first: date slots are relative to the ticket's start.
	start := time.Unix(epochStart+r.Int64N(epochSpan), 0).In(c.zone)
	c.turns = append(c.turns[:0], make([]turn, len(c.beats))...)
	t := start
	for i := range c.beats {
		if i > 0 {
			t = t.Add(g.gap(c.roles[i-1], c.roles[i], c.beats[i]))
		}
		c.turns[i] = turn{role: c.roles[i], beat: c.beats[i], ts: t}
	}

	g.subject()
	custN := 0
	for i := range c.turns {
		g.turn(i, custN)
		if b := c.turns[i].beat; c.turns[i].role == roleCustomer && b != bEmpty && b != bDouble {
			custN++
		}
		c.total.add(&c.turns[i].t)
	}
	g.extras()
}

// The range tickets are dated in: 2023 through 2025.
const (
	epochStart = 1672531200 // 2023-01-01T00:00:00Z
	epochSpan  = 3 * 365 * 24 * 3600
)

func (g *gen) add(b beat, r role) {
	g.c.beats = append(g.c.beats, b)
	g.c.roles = append(g.c.roles, r)
}

func (g *gen) insert(at int, b beat, r role) {
	c := &g.c
	c.beats = append(c.beats, 0)
	c.roles = append(c.roles, 0)
	copy(c.beats[at+1:], c.beats[at:])
	copy(c.roles[at+1:], c.roles[at:])
	c.beats[at], c.roles[at] = b, r
}

// plan lays out the beats of the conversation.
func (g *gen) plan() {
	c, r := &g.c, g.r
	g.add(bOpen, roleCustomer)
	if c.noAgent {
		if c.ch != chPhone { // an unanswered call is one voicemail
			for range r.IntN(3) {
				g.add(bChase, roleCustomer)
			}
		}
	} else {
		switch n := turnCounts[r.IntN(len(turnCounts))]; n {
		case 2:
			g.add(bResolve, roleAgent)
		case 3:
			g.add(bAsk, roleAgent)
			g.add(bProvide, roleCustomer)
		default:
			g.add(bAsk, roleAgent)
			g.add(bProvide, roleCustomer)
			tail := 2 - n%2
			m := n - 4 - tail
			if m >= 2 && r.IntN(5) < 2 {
				g.add(bProgress, roleAgent)
				g.add(bChase, roleCustomer)
				m -= 2
			}
			g.add(bResolve, roleAgent)
			for ; m >= 2; m -= 2 {
				g.add(bFollowQ, roleCustomer)
				g.add(bFollowA, roleAgent)
			}
			g.add(bThanks, roleCustomer)
			if tail == 2 {
				g.add(bClose, roleAgent)
			}
		}
	}
	if c.ch == chChat && len(c.beats) < MaxTurns && r.IntN(5) == 0 {
		g.insert(1, bDouble, roleCustomer)
	}
	if c.system && len(c.beats) < MaxTurns {
		at := 1
		if c.ch == chChat || c.ch == chPhone {
			// Before the first agent turn, where a transfer or join happens.
			for at < len(c.beats) && c.roles[at] != roleAgent {
				at++
			}
		}
		g.insert(at, bSystem, roleSystem)
	}
	if c.empty && len(c.beats) < MaxTurns {
		g.insert(1+r.IntN(len(c.beats)), bEmpty, roleCustomer)
	}
}

func logUniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return time.Duration(float64(lo) * math.Exp(r.Float64()*math.Log(float64(hi)/float64(lo))))
}

// gap is the time between two turns: minutes to days by mail, seconds in
// a chat or on the phone. It is never under a second, so timestamps
// strictly increase.
func (g *gen) gap(prev, next role, b beat) time.Duration {
	r := g.r
	var d time.Duration
	switch {
	case next == roleSystem:
		d = time.Duration(1+r.IntN(20)) * time.Second
	case g.c.ch == chPhone:
		d = time.Duration(4+r.IntN(60)) * time.Second
	case g.c.ch == chChat:
		d = logUniform(r, 8*time.Second, 4*time.Minute)
	case b == bChase:
		d = logUniform(r, 20*time.Hour, 96*time.Hour)
	case b == bEmpty:
		d = logUniform(r, 10*time.Second, 2*time.Hour)
	case next == roleAgent:
		d = logUniform(r, 10*time.Minute, 30*time.Hour)
	default:
		d = logUniform(r, 3*time.Minute, 48*time.Hour)
	}
	return max(d.Truncate(time.Second), time.Second)
}

// subject writes the ticket subject; it never contains PII.
func (g *gen) subject() {
	c, r := &g.c, g.r
	g.cur = &c.subjT
	a := len(g.arena)
	switch c.ch {
	case chChat:
		g.arena = g.expand(g.arena, pick(r, []string{"Chat with {name}", "Live chat: {topic}", "Conversation with {first}", "{topic}"}))
	case chPhone:
		g.arena = g.expand(g.arena, pick(r, []string{"Inbound call: {topic}", "Phone call - {topic}", "Call from {first}", "Call back request"}))
	default:
		switch n := r.IntN(100); {
		case n < 8:
			g.arena = append(g.arena, "Re: "...)
		case n < 11:
			g.arena = append(g.arena, "Fwd: "...)
		case n < 14:
			g.arena = append(g.arena, "[URGENT] "...)
		}
		if c.ch == chWebForm && r.IntN(2) == 0 {
			g.arena = g.expand(g.arena, "[Contact form|Web form|Support request]: {topic}")
		} else {
			g.arena = g.expand(g.arena, pick(r, c.sc.subject))
		}
	}
	c.subject = span{a, len(g.arena)}
}
