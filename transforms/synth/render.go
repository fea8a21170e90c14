package synth

import (
	"bytes"
	"strings"
	"time"
)

// Mail styles: the customer's mail client, or the help desk for agents.
const (
	styleGmail = iota
	styleOutlook
	styleApple
	styleSimple
	styleDesk
)

const replyAboveLine = "##- Please type your reply above this line -##"

func (s span) empty() bool { return s.b <= s.a }

func (g *gen) bytes(s span) []byte { return g.arena[s.a:s.b] }

// para expands t into a paragraph of the current turn.
func (g *gen) para(t string) {
	a := len(g.arena)
	g.arena = g.expand(g.arena, t)
	g.endPara(a)
}

// endPara closes the paragraph that started at a. Empty alternatives in
// templates leave doubled or trailing spaces, which it removes.
func (g *gen) endPara(a int) {
	p := g.arena[a:]
	if n := len(p); n > 0 && p[n-1] != ' ' && !g.squeeze {
		g.paras = append(g.paras, span{a, len(g.arena)})
		return
	}
	g.squeeze = false
	w := a
	for i := a; i < len(g.arena); i++ {
		if g.arena[i] == ' ' && (i+1 == len(g.arena) || g.arena[i+1] == ' ' || g.arena[i+1] == '\n') {
			continue
		}
		g.arena[w] = g.arena[i]
		w++
	}
	g.arena = g.arena[:w]
	if w > a {
		g.paras = append(g.paras, span{a, w})
	}
}

// block expands t on its own and returns where it landed.
func (g *gen) block(t string) span {
	a := len(g.arena)
	g.arena = g.expand(g.arena, t)
	return span{a, len(g.arena)}
}

// turn renders turn i of the current conversation. custN is the turn's
// index among the customer's messages that say something.
func (g *gen) turn(i, custN int) {
	c, r, o := &g.c, g.r, &g.o
	t := &c.turns[i]
	g.paras = g.paras[:0]
	g.cur = &t.bodyT
	mail := c.ch == chEmail || c.ch == chWebForm
	var sig, disc span
	forceQuote := false
	switch t.role {
	case roleSystem:
		switch c.ch {
		case chChat:
			g.para(pick(r, systemChat[:]))
		case chPhone:
			g.para(pick(r, systemPhone[:]))
		default:
			g.para(pick(r, systemAutoReply[:]))
		}
	case roleAgent:
		g.agentText(t)
		if mail {
			if c.agentSig >= 0 {
				sig = g.block(agentSigs[c.agentSig])
			}
			if c.agentDisc >= 0 {
				disc = g.block(disclaimers[c.agentDisc])
			}
		}
	default:
		if t.beat == bEmpty {
			t.empty = true
			switch {
			case !mail:
				// A chat or call turn that is only whitespace.
				a := len(g.arena)
				g.arena = append(g.arena, pick(r, []string{"", "", " ", "\n"})...)
				t.body = span{a, len(g.arena)}
				t.text = t.body
				return
			case r.IntN(2) == 0:
				if sig = g.custSignature(); sig.empty() {
					sig = g.block(pick(r, mobileFooters[:]))
				}
			default:
				forceQuote = true
			}
			break
		}
		g.customerText(t, custN)
		if mail && !(c.ch == chWebForm && t.beat == bOpen) {
			sig = g.custSignature()
			if c.custDisc >= 0 {
				disc = g.block(disclaimers[c.custDisc])
			}
		}
	}
	t.body = g.joinBody(sig, disc)
	t.t = t.bodyT

	// Replies by mail quote the message they answer.
	var prev *turn
	if mail && t.role != roleSystem && (forceQuote || g.chance(o.QuoteRate)) {
		for j := i - 1; j >= 0; j-- {
			if c.turns[j].role != roleSystem {
				prev = &c.turns[j]
				break
			}
		}
	}
	style := styleDesk
	html := c.agentHTML
	if t.role == roleCustomer {
		style, html = c.client, c.custHTML
	}
	html = html && t.role != roleSystem
	var hdr span
	if prev != nil {
		var ht tally
		g.cur = &ht
		hdr = g.quoteHeader(t, prev, style)
		t.t.add(&ht)
		t.t.add(&prev.bodyT)
		t.quoted = true
	}
	replyLine := c.replyLine && t.role == roleAgent
	if !html && prev == nil && !replyLine {
		t.text = t.body
		return
	}
	a := len(g.arena)
	if html {
		t.html = true
		g.renderHTML(t, sig, disc, hdr, prev, style, replyLine)
	} else {
		if replyLine {
			g.arena = append(g.arena, replyAboveLine+"\n\n"...)
		}
		g.arena = append(g.arena, g.bytes(t.body)...)
		if prev != nil {
			if !t.body.empty() {
				g.arena = append(g.arena, "\n\n"...)
			}
			g.arena = append(g.arena, g.bytes(hdr)...)
			g.arena = append(g.arena, '\n')
			if style == styleOutlook {
				g.arena = append(g.arena, '\n')
				g.arena = append(g.arena, g.bytes(prev.body)...)
			} else {
				g.appendQuoted(prev.body)
			}
		}
	}
	t.text = span{a, len(g.arena)}
}

// appendQuoted writes s with every line prefixed by "> ", as mail clients
// quote the message being answered.
func (g *gen) appendQuoted(s span) {
	src := g.bytes(s)
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		if len(line) == 0 {
			g.arena = append(g.arena, '>')
		} else {
			g.arena = append(g.arena, "> "...)
			g.arena = append(g.arena, line...)
		}
		if len(src) > 0 {
			g.arena = append(g.arena, '\n')
		}
	}
}

// joinBody writes the turn's paragraphs, signature and disclaimer
// separated by blank lines, the way a plain-text message lays them out.
func (g *gen) joinBody(sig, disc span) span {
	if len(g.paras) == 1 && sig.empty() && disc.empty() {
		return g.paras[0]
	}
	a := len(g.arena)
	add := func(s span) {
		if s.empty() {
			return
		}
		if len(g.arena) > a {
			g.arena = append(g.arena, "\n\n"...)
		}
		g.arena = append(g.arena, g.arena[s.a:s.b]...)
	}
	for _, p := range g.paras {
		add(p)
	}
	add(sig)
	add(disc)
	return span{a, len(g.arena)}
}

func (g *gen) followUp() *qa {
	c := &g.c
	i := c.follow % (len(c.sc.follow) + len(genericFollow))
	if i < len(c.sc.follow) {
		return &c.sc.follow[i]
	}
	return &genericFollow[i-len(c.sc.follow)]
}

// customerText writes the paragraphs of a customer message.
func (g *gen) customerText(t *turn, custN int) {
	c, r := &g.c, g.r
	var main string
	switch t.beat {
	case bOpen:
		c.open = r.IntN(len(c.sc.open))
		main = c.sc.open[c.open]
	case bProvide:
		i := r.IntN(len(c.sc.provide))
		if c.ask < len(c.sc.provide) && r.IntN(5) > 0 {
			i = c.ask
		}
		main = c.sc.provide[i]
	case bChase:
		chasers := custChase[:]
		switch c.ch {
		case chChat:
			chasers = custChaseChat[:]
		case chPhone:
			chasers = custChasePhone[:]
		}
		i := r.IntN(len(chasers))
		if c.chase >= 0 {
			if i = r.IntN(len(chasers) - 1); i >= c.chase {
				i++ // never the same chaser twice in a row
			}
		}
		c.chase = i
		main = chasers[i]
	case bFollowQ:
		main = g.followUp().q
	case bThanks:
		main = pick(r, custThanks[:])
	default:
		main = pick(r, custDoubleText[:])
	}
	first := len(g.paras)
	var pre, post string
	if t.beat == bOpen {
		if r.IntN(10) < 3 {
			pre = pick(r, custPreamble[:])
		}
		if r.IntN(10) < 2 {
			post = pick(r, custPostscript[:])
		}
	}
	// body writes the message itself, wrapped in the opening's preamble and
	// postscript when it has them.
	body := func() {
		if pre != "" {
			g.arena = g.expand(g.arena, pre)
			g.arena = append(g.arena, ' ')
		}
		g.arena = g.expand(g.arena, main)
		if post != "" {
			g.arena = append(g.arena, ' ')
			g.arena = g.expand(g.arena, post)
		}
	}
	switch c.ch {
	case chChat:
		a := len(g.arena)
		if t.beat == bOpen && r.IntN(3) == 0 {
			gr := pick(r, custGreetingChat[:])
			g.arena = g.expand(g.arena, gr)
			if last := gr[len(gr)-1]; last == '?' || last == '!' {
				g.arena = append(g.arena, pick(r, []string{" ", "\n"})...)
			} else {
				g.arena = append(g.arena, pick(r, []string{", ", " ", "! ", "\n"})...)
			}
		}
		body()
		g.extrasFor(t, custN)
		if c.sloppy && !t.bodyT.has(kIBAN) {
			end := len(g.arena)
			if g.arena[end-1] == '.' {
				g.arena = g.arena[:end-1]
			}
			for i := a; i < len(g.arena); i++ {
				if b := g.arena[i]; b >= 'A' && b <= 'Z' {
					g.arena[i] = b + 'a' - 'A'
				}
			}
		}
		g.endPara(a)
	case chPhone:
		a := len(g.arena)
		if r.IntN(2) == 0 {
			if t.beat == bOpen && r.IntN(3) == 0 {
				g.arena = append(g.arena, "Hi, yeah, "...)
			} else {
				g.arena = append(g.arena, pick(r, phoneFillers[:])...)
			}
			m := len(g.arena)
			body()
			// "Um, my order" rather than "Um, My order"; "I" stays.
			if m+1 < len(g.arena) && g.arena[m] >= 'A' && g.arena[m] <= 'Z' &&
				!(g.arena[m] == 'I' && (g.arena[m+1] == ' ' || g.arena[m+1] == '\'')) {
				g.arena[m] += 'a' - 'A'
			}
		} else {
			body()
		}
		g.extrasFor(t, custN)
		if r.IntN(8) == 0 {
			g.arena = append(g.arena, pick(r, []string{" [inaudible]", " (pause)", " [crosstalk]"})...)
		}
		g.endPara(a)
	default:
		if c.ch == chWebForm && t.beat == bOpen {
			g.webForm(body, custN)
			break
		}
		greet := r.IntN(100) < 45
		if t.beat == bOpen {
			greet = r.IntN(100) < 85
		}
		if greet {
			switch {
			case t.beat == bOpen:
				g.para(pick(r, custGreetingEmail[:]))
			case c.spoke:
				g.para(pick(r, custGreetingReply[:]))
			default: // no agent has written yet, so none to name
				g.para(pick(r, custGreetingEmail[:]))
			}
		}
		a := len(g.arena)
		body()
		g.extrasFor(t, custN)
		g.endPara(a)
		closeP := 25
		switch t.beat {
		case bOpen:
			closeP = 55
		case bThanks:
			closeP = 0
		}
		if r.IntN(100) < closeP {
			g.para(pick(r, custCloser[:]))
		}
	}
	if c.curly {
		for i := first; i < len(g.paras); i++ {
			g.paras[i] = g.curlify(g.paras[i])
		}
	}
}

// curlify rewrites straight apostrophes as typographic ones, as phones and
// word processors do.
func (g *gen) curlify(s span) span {
	src := g.bytes(s)
	if bytes.IndexByte(src, '\'') < 0 {
		return s
	}
	a := len(g.arena)
	for _, b := range src {
		if b == '\'' {
			g.arena = append(g.arena, "’"...)
		} else {
			g.arena = append(g.arena, b)
		}
	}
	return span{a, len(g.arena)}
}

// extrasFor appends to the current paragraph the lookalike, PII and
// Unicode sentences this customer message was chosen to carry.
func (g *gen) extrasFor(t *turn, custN int) {
	c, r := &g.c, g.r
	if t.beat == bDouble {
		return
	}
	if c.look >= 0 && c.lookAt == custN {
		g.arena = append(g.arena, ' ')
		g.arena = g.expand(g.arena, lookalikeLines[c.look].t)
	}
	if c.piiAt == custN {
		for _, p := range c.pii {
			if p != nil {
				g.arena = append(g.arena, ' ')
				g.arena = g.expand(g.arena, p.t)
			}
		}
	}
	if c.unicode && t.beat == bOpen {
		g.arena = append(g.arena, pick(r, unicodeTails[:])...)
	}
}

// webForm writes the first message of a web-form ticket: the form's fields
// followed by the free-text message.
func (g *gen) webForm(body func(), custN int) {
	c, r := &g.c, g.r
	a := len(g.arena)
	g.arena = g.expand(g.arena, "Name: {name}\n")
	if c.piiAt == custN {
		g.arena = g.expand(g.arena, "Email: {email}\n")
	}
	if r.IntN(5) < 3 {
		g.arena = g.expand(g.arena, "Order number: {order}\n")
	}
	g.arena = g.expand(g.arena, "[Topic|Category|Subject]: {topic}\nMessage:\n")
	body()
	g.extrasFor(&c.turns[0], custN)
	g.endPara(a)
}

// agentText writes the paragraphs of an agent message.
func (g *gen) agentText(t *turn) {
	c, r := &g.c, g.r
	var main string
	switch t.beat {
	case bAsk:
		c.ask = r.IntN(len(c.sc.ask))
		main = c.sc.ask[c.ask]
	case bResolve:
		if c.open < len(c.sc.fits) && len(c.sc.fits[c.open]) > 0 {
			main = c.sc.resolve[pick(r, c.sc.fits[c.open])]
		} else {
			main = pick(r, c.sc.resolve)
		}
	case bProgress:
		main = pick(r, agentProgress[:])
	case bFollowA:
		main = g.followUp().a
		c.follow++
	default:
		main = pick(r, agentClose[:])
	}
	first := !c.spoke
	c.spoke = true
	switch c.ch {
	case chChat, chPhone:
		a := len(g.arena)
		if first {
			if c.ch == chChat {
				g.arena = g.expand(g.arena, pick(r, agentChatIntro[:]))
			} else {
				g.arena = g.expand(g.arena, pick(r, agentPhoneIntro[:]))
			}
			g.arena = append(g.arena, ' ')
		}
		g.arena = g.expand(g.arena, main)
		g.endPara(a)
	default:
		thanked := false
		if r.IntN(10) < 9 {
			gr := pick(r, agentGreetingEmail[:])
			thanked = strings.Contains(gr, "thank")
			g.para(gr)
		}
		a := len(g.arena)
		if first && !thanked {
			if ack := pick(r, agentAck[:]); ack != "" {
				g.arena = g.expand(g.arena, ack)
				g.arena = append(g.arena, ' ')
			}
		}
		g.arena = g.expand(g.arena, main)
		g.endPara(a)
		if t.beat != bClose && r.IntN(10) < 6 {
			if cl := pick(r, agentCloser[:]); cl != "" {
				g.para(cl)
			}
		}
	}
}

// custSignature writes the customer's signature in the conversation's
// style, or nothing.
func (g *gen) custSignature() span {
	c, r := &g.c, g.r
	switch c.custSig {
	case 1:
		if r.IntN(5) == 0 { // sign-offs are typed, so sometimes forgotten
			return span{}
		}
		return g.block(custSignOffs[c.custSigIdx%len(custSignOffs)])
	case 2:
		return g.block(mobileFooters[c.custSigIdx%len(mobileFooters)])
	case 3:
		a := len(g.arena)
		g.arena = g.expand(g.arena, custSignOffs[c.custSigIdx%len(custSignOffs)])
		g.arena = append(g.arena, "\n\n"...)
		g.arena = g.expand(g.arena, mobileFooters[c.custSigIdx%len(mobileFooters)])
		return span{a, len(g.arena)}
	case 4:
		return g.block(custFullSigs[c.custSigIdx%len(custFullSigs)])
	}
	return span{}
}

// quoteHeader writes the attribution line a mail client puts above a
// quoted message: Gmail's "On ... wrote:", Outlook's "Original Message"
// block, Apple Mail's variant, or the help desk's.
func (g *gen) quoteHeader(t, prev *turn, style int) span {
	c, r := &g.c, g.r
	a := len(g.arena)
	who := func() {
		if prev.role == roleCustomer {
			g.arena = g.expand(g.arena, "{name} <{email}>")
		} else {
			g.arena = g.expand(g.arena, "[{company} Support|{agent} from {company}|{company}] <{support_email}>")
		}
	}
	ts := prev.ts
	switch style {
	case styleOutlook:
		g.arena = append(g.arena, pick(r, []string{"-----Original Message-----", "________________________________"})...)
		g.arena = append(g.arena, "\nFrom: "...)
		who()
		g.arena = append(g.arena, "\nSent: "...)
		g.arena = ts.AppendFormat(g.arena, "Monday, January 2, 2006 3:04 PM")
		g.arena = append(g.arena, "\nTo: "...)
		if prev.role == roleCustomer {
			g.arena = g.expand(g.arena, "{company} Support <{support_email}>")
		} else {
			g.arena = g.expand(g.arena, "{name} <{email}>")
		}
		g.arena = append(g.arena, "\nSubject: RE: "...)
		g.arena = append(g.arena, g.bytes(c.subject)...)
		g.cur.add(&c.subjT)
	case styleApple:
		g.arena = append(g.arena, "On "...)
		g.arena = ts.AppendFormat(g.arena, "Jan 2, 2006, at 15:04")
		g.arena = append(g.arena, ", "...)
		who()
		g.arena = append(g.arena, " wrote:"...)
	case styleGmail, styleSimple:
		g.arena = append(g.arena, "On "...)
		if c.locale == 0 {
			g.arena = ts.AppendFormat(g.arena, "Mon, Jan 2, 2006 at 3:04 PM")
			g.arena = append(g.arena, ' ')
		} else {
			g.arena = ts.AppendFormat(g.arena, "Mon, 2 Jan 2006 at 15:04")
			g.arena = append(g.arena, ", "...)
		}
		who()
		g.arena = append(g.arena, " wrote:"...)
	default:
		g.arena = append(g.arena, "On "...)
		g.arena = ts.In(time.UTC).AppendFormat(g.arena, "Mon, 2 Jan 2006 at 15:04 MST")
		g.arena = append(g.arena, ", "...)
		who()
		g.arena = append(g.arena, " wrote:"...)
	}
	return span{a, len(g.arena)}
}

// htmlOpts says how one message escapes its text.
type htmlOpts struct {
	apos    string // how ' is written
	atEnt   bool   // write @ as &#64;
	nbsp    bool   // write the first space as &nbsp;
	bold    []byte // wrap the first occurrence in <b>
	newline string
}

// appendEscaped writes src as HTML text.
func appendEscaped(dst, src []byte, h *htmlOpts) []byte {
	if len(h.bold) > 0 {
		if i := findToken(src, h.bold); i >= 0 {
			b := h.bold
			h.bold = nil
			dst = appendEscaped(dst, src[:i], h)
			dst = append(dst, "<b>"...)
			dst = appendEscaped(dst, b, h)
			dst = append(dst, "</b>"...)
			return appendEscaped(dst, src[i+len(b):], h)
		}
	}
	start := 0
	for i, c := range src {
		var rep string
		switch c {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&quot;"
		case '\'':
			rep = h.apos
		case '\n':
			rep = h.newline
		case '@':
			if !h.atEnt {
				continue
			}
			rep = "&#64;"
		case ' ':
			if !h.nbsp {
				continue
			}
			h.nbsp = false
			rep = "&nbsp;"
		default:
			continue
		}
		dst = append(dst, src[start:i]...)
		dst = append(dst, rep...)
		start = i + 1
	}
	return append(dst, src[start:]...)
}

// findToken returns the index of the first occurrence of tok in src that
// is not part of a longer word or number, or -1.
func findToken(src, tok []byte) int {
	for off := 0; ; {
		i := bytes.Index(src[off:], tok)
		if i < 0 {
			return -1
		}
		i += off
		j := i + len(tok)
		if (i == 0 || !isAlnum(src[i-1])) && (j == len(src) || !isAlnum(src[j])) {
			return i
		}
		off = i + 1
	}
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// renderHTML writes the turn as the HTML body its mail client would send.
func (g *gen) renderHTML(t *turn, sig, disc, hdr span, prev *turn, style int, replyLine bool) {
	r := g.r
	h := htmlOpts{apos: "&#39;", newline: "<br>"}
	h.atEnt = r.IntN(4) == 0
	h.nbsp = r.IntN(3) == 0
	if r.IntN(3) == 0 && g.have[sOrder] {
		h.bold = g.vals[g.slots[sOrder].a:g.slots[sOrder].b]
	}
	w := g.arena
	esc := func(s span) {
		w = appendEscaped(w, g.arena[s.a:s.b], &h)
		h.nbsp = false // only ever in the opening line, never inside a value
	}
	switch style {
	case styleGmail:
		w = append(w, `<div dir="ltr">`...)
		for k, p := range g.paras {
			if k == 0 {
				esc(p)
			} else {
				w = append(w, `<div><br></div><div>`...)
				esc(p)
				w = append(w, `</div>`...)
			}
		}
		if !sig.empty() {
			w = append(w, `<div><br></div><div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature">`...)
			esc(sig)
			w = append(w, `</div>`...)
		}
		if !disc.empty() {
			w = append(w, `<div><br></div><div><font size="1" color="#888888">`...)
			esc(disc)
			w = append(w, `</font></div>`...)
		}
		w = append(w, `</div>`...)
		if prev != nil {
			w = append(w, `<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">`...)
			esc(hdr)
			w = append(w, `<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">`...)
			esc(prev.body)
			w = append(w, `</blockquote></div>`...)
		}
	case styleOutlook:
		h.apos = "&rsquo;"
		w = append(w, `<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style><!-- p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm;font-size:11.0pt;font-family:"Calibri",sans-serif;} a:link {color:#0563C1;text-decoration:underline;} @page WordSection1 {size:612.0pt 792.0pt;} --></style></head><body lang="EN-US" link="#0563C1" vlink="#954F72"><div class="WordSection1">`...)
		para := func(s span) {
			w = append(w, `<p class="MsoNormal">`...)
			esc(s)
			w = append(w, `<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>`...)
		}
		for _, p := range g.paras {
			para(p)
		}
		if !sig.empty() {
			para(sig)
		}
		if !disc.empty() {
			w = append(w, `<p class="MsoNormal"><span style="font-size:8.0pt;color:gray">`...)
			esc(disc)
			w = append(w, `</span><o:p></o:p></p>`...)
		}
		if prev != nil {
			w = append(w, `<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal">`...)
			esc(hdr)
			w = append(w, `<o:p></o:p></p></div><p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">`...)
			esc(prev.body)
			w = append(w, `<o:p></o:p></p>`...)
		}
		w = append(w, `</div></body></html>`...)
	case styleApple:
		h.apos = "'"
		w = append(w, `<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body dir="auto"><div dir="ltr">`...)
		for k, p := range g.paras {
			if k > 0 {
				w = append(w, "<br><br>"...)
			}
			esc(p)
		}
		for _, s := range [...]span{sig, disc} {
			if !s.empty() {
				w = append(w, `</div><div dir="ltr"><br>`...)
				esc(s)
			}
		}
		w = append(w, `</div>`...)
		if prev != nil {
			w = append(w, `<div dir="ltr"><br><blockquote type="cite">`...)
			esc(hdr)
			w = append(w, `<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">`...)
			esc(prev.body)
			w = append(w, `</div></blockquote>`...)
		}
		w = append(w, `</body></html>`...)
	default: // styleSimple and styleDesk
		if r.IntN(10) < 3 {
			w = append(w, `<style type="text/css">body{font-family:Arial,sans-serif;font-size:14px}p{margin:0 0 1em}blockquote{margin:0;padding-left:8px;border-left:2px solid #ccc}</style>`...)
		}
		if style == styleDesk {
			w = append(w, `<div style="font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#2b2e2f">`...)
			if replyLine {
				w = append(w, `<div style="color:#b5b5b5">`+replyAboveLine+`</div>`...)
			}
		}
		for _, p := range g.paras {
			w = append(w, `<p>`...)
			esc(p)
			w = append(w, `</p>`...)
		}
		if !sig.empty() {
			w = append(w, `<p style="color:#777777;font-size:12px">`...)
			esc(sig)
			w = append(w, `</p>`...)
		}
		if !disc.empty() {
			w = append(w, `<p><small>`...)
			esc(disc)
			w = append(w, `</small></p>`...)
		}
		if prev != nil {
			w = append(w, `<div class="quote"><p>`...)
			esc(hdr)
			w = append(w, `</p><blockquote>`...)
			esc(prev.body)
			w = append(w, `</blockquote></div>`...)
		}
		if style == styleDesk {
			w = append(w, `</div>`...)
		}
	}
	g.arena = w
}
