package synth

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

// allTemplates lists every template table by name, scenario ones first.
func allTemplates() map[string][]string {
	m := map[string][]string{}
	for i := range scenarios {
		sc := &scenarios[i]
		name := sc.tag + "."
		m[name+"subject"] = sc.subject
		m[name+"open"] = sc.open
		m[name+"ask"] = sc.ask
		m[name+"provide"] = sc.provide
		m[name+"resolve"] = sc.resolve
		for _, f := range sc.follow {
			m[name+"follow"] = append(m[name+"follow"], f.q, f.a)
		}
		for _, p := range sc.pii {
			m[name+"pii"] = append(m[name+"pii"], p.t)
		}
	}
	for _, f := range genericFollow {
		m["genericFollow"] = append(m["genericFollow"], f.q, f.a)
	}
	for _, p := range genericPII {
		m["genericPII"] = append(m["genericPII"], p.t)
	}
	for _, l := range lookalikeLines {
		m["lookalikeLines"] = append(m["lookalikeLines"], l.t)
	}
	for name, t := range map[string][]string{
		"custGreetingEmail": custGreetingEmail[:], "custGreetingReply": custGreetingReply[:],
		"custGreetingChat": custGreetingChat[:], "custPreamble": custPreamble[:], "custPostscript": custPostscript[:],
		"custCloser": custCloser[:], "custThanks": custThanks[:], "custChase": custChase[:],
		"custChaseChat": custChaseChat[:], "custChasePhone": custChasePhone[:],
		"custDoubleText": custDoubleText[:], "agentGreetingEmail": agentGreetingEmail[:], "agentAck": agentAck[:],
		"agentCloser": agentCloser[:], "agentChatIntro": agentChatIntro[:], "agentPhoneIntro": agentPhoneIntro[:],
		"agentClose": agentClose[:], "agentProgress": agentProgress[:], "systemAutoReply": systemAutoReply[:],
		"systemChat": systemChat[:], "systemPhone": systemPhone[:], "custSignOffs": custSignOffs[:],
		"mobileFooters": mobileFooters[:], "custFullSigs": custFullSigs[:], "agentSigs": agentSigs[:],
		"disclaimers": disclaimers[:],
	} {
		m[name] = t
	}
	return m
}

var piiSlots = []string{"{email}", "{phone}", "{card}", "{iban}", "{ip4}", "{ip6}", "{ref}"}

// TestTemplatesExpand expands every template many times, in different
// conversations: an unknown slot panics, and stray syntax would show in
// the output.
func TestTemplatesExpand(t *testing.T) {
	g := newGen(DefaultOptions(), 1, 2)
	all := allTemplates()
	for name, ts := range all {
		for _, tmpl := range ts {
			if strings.Count(tmpl, "[") != strings.Count(tmpl, "]") || strings.Count(tmpl, "{") != strings.Count(tmpl, "}") {
				t.Fatalf("%s: unbalanced template %q", name, tmpl)
			}
		}
	}
	for i := range 30 {
		g.build(i + 1)
		var tl tally
		g.cur = &tl
		for name, ts := range all {
			for _, tmpl := range ts {
				if out := string(g.expand(nil, tmpl)); strings.ContainsAny(out, "[]{}") {
					t.Errorf("%s: %q expanded to %q", name, tmpl, out)
				}
			}
		}
	}
}

// TestScenarioProseHasNoPII holds the rule that PII and references enter
// text only through the PII and lookalike tables, so that PIIRate and
// LookalikeRate govern them.
func TestScenarioProseHasNoPII(t *testing.T) {
	for name, ts := range allTemplates() {
		if strings.HasSuffix(name, "pii") || strings.HasSuffix(name, "PII") || name == "lookalikeLines" ||
			name == "custFullSigs" || name == "agentSigs" {
			continue
		}
		for _, tmpl := range ts {
			for _, s := range piiSlots {
				if strings.Contains(tmpl, s) {
					t.Errorf("%s: %q uses %s", name, tmpl, s)
				}
			}
		}
	}
	for i := range scenarios {
		for _, p := range scenarios[i].pii {
			if !strings.Contains(p.t, "{"+map[kind]string{kEmail: "email", kPhone: "phone", kCard: "card", kIBAN: "iban", kIPv4: "ip4", kIPv6: "ip6"}[p.k]+"}") {
				t.Errorf("%s: PII line %q lacks its %s slot", scenarios[i].tag, p.t, kindNames[p.k])
			}
		}
	}
}

func TestScenarioPairings(t *testing.T) {
	for _, sc := range scenarios {
		if len(sc.provide) < len(sc.ask) {
			t.Errorf("%s: %d questions but %d answers", sc.tag, len(sc.ask), len(sc.provide))
		}
		if len(sc.fits) > len(sc.open) {
			t.Errorf("%s: fits for %d openings, has %d", sc.tag, len(sc.fits), len(sc.open))
		}
		for i, f := range sc.fits {
			for _, j := range f {
				if j >= len(sc.resolve) {
					t.Errorf("%s: opening %d fits resolution %d of %d", sc.tag, i, j, len(sc.resolve))
				}
			}
		}
	}
}

// TestTablesAreASCII keeps non-ASCII text behind Options.UnicodeRate.
func TestTablesAreASCII(t *testing.T) {
	check := func(name, s string) {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				t.Errorf("%s: non-ASCII in %q", name, s)
				return
			}
		}
	}
	for name, ts := range allTemplates() {
		for _, s := range ts {
			check(name, s)
		}
	}
	for _, p := range namesASCII {
		check("namesASCII", p.first+p.last+p.full)
	}
	for _, tables := range [][]string{products[:], plans[:], carriers[:], devices[:], browsers[:], errorTexts[:],
		promos[:], agentNames[:], custTitles[:], custCompanies[:], citiesASCII[:], mailDomains[:]} {
		for _, s := range tables {
			check("fillers", s)
		}
	}
}

func TestGeneratedNumbers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	digitsOf := func(b []byte) []byte {
		var d []byte
		for _, c := range b {
			if c >= '0' && c <= '9' {
				d = append(d, c)
			}
		}
		return d
	}
	for range 2000 {
		if c := appendCard(nil, r); !luhnValid(digitsOf(c)) {
			t.Fatalf("card %s fails Luhn", c)
		}
		if ref := appendReference(nil, r); luhnValid(digitsOf(ref)) || len(digitsOf(ref)) != 16 {
			t.Fatalf("reference %s passes Luhn or is not 16 digits", ref)
		}
		if p := appendPhone(nil, r); len(digitsOf(p)) > 12 {
			t.Fatalf("phone %s has more than 12 digits: it would read as a card", p)
		}
		iban := strings.ReplaceAll(string(appendIBAN(nil, r)), " ", "")
		re := iban[4:] + iban[:4]
		m := 0
		for i := 0; i < len(re); i++ {
			if c := re[i]; c >= 'A' {
				m = (m*100 + int(c-'A'+10)) % 97
			} else {
				m = (m*10 + int(c-'0')) % 97
			}
		}
		if m != 1 {
			t.Fatalf("IBAN %s fails mod-97", iban)
		}
		if a, err := netip.ParseAddr(string(appendIPv4(nil, r))); err != nil || !a.Is4() || a.IsPrivate() || a.IsLoopback() {
			t.Fatalf("IPv4 %v: %v", a, err)
		}
		if a, err := netip.ParseAddr(string(appendIPv6(nil, r))); err != nil || !a.Is6() || !a.IsGlobalUnicast() {
			t.Fatalf("IPv6 %v: %v", a, err)
		}
	}
}
