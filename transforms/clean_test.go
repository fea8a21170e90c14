package transforms

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestLooksLikeHTML(t *testing.T) {
	for _, s := range []string{
		"<p>hi</p>", "<br>", "x<BR/>y", "</div>", "<!-- c -->", "<!DOCTYPE html><html>", "a &amp; b",
		"jane&#64;x.com", "&#x40;", "<o:p></o:p>", `<div class="x">`, "<td\tclass=a>", "caf&eacute;",
	} {
		if !LooksLikeHTML(s) {
			t.Errorf("LooksLikeHTML(%q) = false", s)
		}
	}
	for _, s := range []string{
		"", "a < b and c > d", "I <3 you", "Jane <jane@x.com>", "AT&T", "Tom & Jerry", "R&D; team", "&nbsp",
		"x<y>z", "<href>", "<3>", "What is your preferred destination>", "Sipan Peruvian Restaurant & Bar", "&#;", "&#x;",
	} {
		if LooksLikeHTML(s) {
			t.Errorf("LooksLikeHTML(%q) = true", s)
		}
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"paragraphs", "<p>Hello</p><p>World</p>", "Hello\n\nWorld"},
		{"br", "Line1<br>Line2<br/>Line3<BR >", "Line1\nLine2\nLine3"},
		{"nested", "<div><div><p>Hello <b>big</b> <i>world</i></p></div></div>", "Hello big world"},
		{"script and style", "<style>p{color:red}</style><p>Hi</p><script>alert('<p>x</p>')</script>", "Hi"},
		{"head", "<html><head><title>T</title><meta charset=utf-8></head><body>Body</body></html>", "Body"},
		{"entities", "<b>Tom &amp; Jerry &lt;3</b> &nbsp;caf&eacute;", "Tom & Jerry <3 \u00a0café"},
		{"entities only keep newlines", "a &amp; b\nc", "a & b\nc"},
		{"entity email", "<p>jane&#64;x.com</p>", "jane@x.com"},
		{"blockquote", "<p>Thanks!</p><blockquote>old <b>quoted</b> text</blockquote><p>Bye</p>", "Thanks!\n\nBye"},
		{"nested blockquote", "<blockquote>a<blockquote>b</blockquote>c</blockquote>d", "d"},
		{"collapse", "<p>Hello\n   world\t!</p>", "Hello world !"},
		{"pre", "<pre>a\n  b</pre>", "a\n  b"},
		{"list", "<ul><li>one</li><li>two</li></ul>", "one\ntwo"},
		{"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"comment", "Hi<!-- hidden -->there", "Hithere"},
		{"malformed", "<p>unclosed <b>bold", "unclosed bold"},
		{"outlook", "<p class=MsoNormal>Hi<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>", "Hi\n\n\u00a0"},
		{"gmail empty div", "<div>Hi</div><div><br></div><div>text</div>", "Hi\n\ntext"},
		{"not html", "a < b", "a < b"},
		{"cjk", "<p>您好，我的订单还没到。</p>", "您好，我的订单还没到。"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTMLToText(tt.in); got != tt.want {
				t.Errorf("HTMLToText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeUnicode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ﬁle", "file"},
		{"Ｈｅｌｌｏ １２３", "Hello 123"},
		{"a\u00a0b\u2009c", "a b c"},
		{"x²", "x2"},
		{"e\u0301", "é"},
		{"ｶﾀｶﾅ", "カタカナ"},
		{"您好，世界！", "您好,世界!"}, // fullwidth punctuation folds, ideographs stay
		{"您好。ありがとう 감사합니다", "您好。ありがとう 감사합니다"},
		{"👨‍👩‍👧 ❤️ 🙏", "👨‍👩‍👧 ❤️ 🙏"},
		{"plain ASCII", "plain ASCII"},
	}
	for _, tt := range tests {
		if got := NormalizeUnicode(tt.in); got != tt.want {
			t.Errorf("NormalizeUnicode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRemoveControl(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\r\nb", "a\nb"},
		{"a\rb\r", "a\nb\n"},
		{"a\tb", "a b"},
		{"a\vb\fc", "a\nb\nc"},
		{"\ufeffHello", "Hello"},
		{"zero\u200bwidth\u2060joiner", "zerowidthjoiner"},
		{"a\x00b\x07c\x1bd\x7fe", "abcde"},
		{"soft\u00adhyphen", "softhyphen"},
		{"bidi\u202eevil\u202c \u200eltr\u2066iso\u2069", "bidievil ltriso"},
		{"family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"},
		{"می\u200cخواهم", "می\u200cخواهم"},
		{"line\u2028sep\u2029para\u0085nel", "line\nsep\npara\nnel"},
		{"c1\u0080\u009fend", "c1end"},
		{"bad\xffutf8\xc3", "badutf8"},
		{"clean text stays", "clean text stays"},
	}
	for _, tt := range tests {
		if got := RemoveControl(tt.in); got != tt.want {
			t.Errorf("RemoveControl(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStripQuotedReply(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"gmail", "Sounds good.\n\nOn Mon, 3 Feb 2025 at 10:14, Jane Doe <jane@x.com> wrote:\n> Hi,\n> old text", "Sounds good."},
		{"gmail wrapped", "Yes.\nOn Mon, 3 Feb 2025 at 10:14, Jane Doe <jane@example.com>\nwrote:\n> old", "Yes."},
		{"name only attribution", "Ok\nJane Doe <jane@x.com> wrote:\nold", "Ok"},
		{"outlook rule", "Thanks\n\n________________________________\nFrom: Jane\nSent: Monday\nold", "Thanks"},
		{"original message", "Ok\n-----Original Message-----\nFrom: x\nold", "Ok"},
		{"header block", "See below\n\nFrom: Acme Support <support@acme.com>\nSent: Monday, February 3, 2025 10:14 AM\nTo: Jane\nSubject: RE: Refund\n\nold",
			"See below"},
		{"header block with date", "See below\nFrom: support@acme.com\nDate: 3 Feb 2025\nold", "See below"},
		{"german", "Danke\n\nAm 03.02.2025 um 10:14 schrieb Jane Doe <jane@x.com>:\n> alt", "Danke"},
		{"french", "Merci\nLe lun. 3 févr. 2025 à 10:14, Jane <jane@x.com> a écrit :\n> vieux", "Merci"},
		{"inline quotes", "> quoted\nmy answer\n> more quoted\nend", "my answer\nend"},
		{"indented quote", "answer\n  > quoted", "answer\n"},
		{"all quoted", "> a\n> b", ""},
		{"reply marker in reply", "Thanks, that works.\n\n##- Please type your reply above this line -##\n\nold thread", "Thanks, that works."},
		{"reply marker on top", "##- Please type your reply above this line -##\n\nDear Grace,\n\nDone.", "\nDear Grace,\n\nDone."},
		{"prose attribution kept", "On reflection, my colleague wrote:\nthe order is late", "On reflection, my colleague wrote:\nthe order is late"},
		{"from in prose kept", "From: my perspective the product is fine\nbut late", "From: my perspective the product is fine\nbut late"},
		{"trailing gt kept", "What is your preferred destination>", "What is your preferred destination>"},
		{"dashes kept", "Let me make sure--you want 2 tickets\n---\nok", "Let me make sure--you want 2 tickets\n---\nok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripQuotedReply(tt.in); got != tt.want {
				t.Errorf("StripQuotedReply(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStripSignature(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"delimiter", "Body text\n-- \nJane\nAcme", "Body text"},
		{"delimiter without space", "Body\n--\nSam\nAcme Help Center: https://help.acme.com", "Body"},
		{"regards and name", "Please refund me.\n\nBest regards,\nJane Doe", "Please refund me."},
		{"thanks, name, company, phone", "Body.\n\nThanks,\nJohn\nAcme Support\n+1 415 555 0132", "Body."},
		{"blank line after sign-off", "Body.\n\nKind regards,\n\nSam K.\nCustomer Care Team\nAcme\n+1 (800) 555-0199 | www.acme.com", "Body."},
		{"agent footer sentence", "Body.\n\nWarm regards,\nSam\nAcme Support Team\nNeed more help? Reply to this email or call +1 (800) 555-0199.", "Body."},
		{"unicode name", "Merci.\n\nCordialement,\nFrançois Lefèvre", "Merci."},
		{"cjk name", "Thanks for the help.\n\nBest,\n優子 田中", "Thanks for the help."},
		{"comma sign-off closes", "Where is my order?\n\nThanks,", "Where is my order?"},
		{"closer then sign-off", "Body.\n\nThanks in advance.\n\nBest regards,\nJane", "Body.\n\nThanks in advance."},
		{"closer with comma then sign-off", "Body.\n\nThanks,\n\nBest regards,\nJane", "Body."},
		{"device footer", "I'm stuck.\n\nSent from my iPhone", "I'm stuck."},
		{"device footer samsung", "Help\nSent from my Samsung Galaxy smartphone.", "Help"},
		{"outlook footer", "Help\n\nGet Outlook for Android", "Help"},
		{"sign-off then device", "Body\n\nThanks,\nJane\n\nSent from my iPhone", "Body"},
		{"bare block", "Body.\n\nJane Doe\nOffice Manager | Acme Corp\nM: +1 415 555 0132\nE: jane@acme.com", "Body."},
		{"agent bare block", "Your refund is on its way.\n\nSam\nAcme Customer Support", "Your refund is on its way."},
		// Conservative: keep these.
		{"only thanks", "Thanks!", "Thanks!"},
		{"only comma thanks", "Thanks,", "Thanks,"},
		{"only thanks and name", "Thanks\nJane", "Thanks\nJane"},
		// Signature-only messages have nothing of their own.
		{"only sign-off and name", "Best regards,\nMichael Brown", ""},
		{"only thanks-comma and name", "Thanks,\nJane", ""},
		{"only sign-off, name and device", "Best regards,\nMichael Brown\n\nSent from my iPhone", ""},
		{"only device footer", "Sent from my iPhone", ""},
		{"only delimiter block", "-- \nJane Doe\nAcme", ""},
		{"only contact block", "Jane Doe\nOffice Manager | Acme Corp\nM: +1 415 555 0132\nE: jane@acme.com", ""},
		{"only full signature", "Best regards,\n\nJane Doe\nOffice Manager\nAcme Corp\nTel: +1 415 555 0132", ""},
		{"closing thanks without name", "Can you help?\nThanks!", "Can you help?\nThanks!"},
		{"short body lines after thanks", "Hi,\nThanks\nthe order arrived\nbut broken", "Hi,\nThanks\nthe order arrived\nbut broken"},
		{"thanks then sentence", "Got it.\nThanks,\nbut it still does not work", "Got it.\nThanks,\nbut it still does not work"},
		{"thanks then question", "Ok.\nThanks\nJane, can you call me?", "Ok.\nThanks\nJane, can you call me?"},
		{"sign-off inside a sentence", "I said thanks, best regards to the team", "I said thanks, best regards to the team"},
		{"list", "Options:\n1. Italian\n2. Mexican\n3. Anything else", "Options:\n1. Italian\n2. Mexican\n3. Anything else"},
		{"short last paragraph", "The parcel arrived.\n\nIt was broken though.", "The parcel arrived.\n\nIt was broken though."},
		{"dashes in prose", "Only 1 movie--\nWild Nights with Emily.", "Only 1 movie--\nWild Nights with Emily."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripSignature(tt.in); got != tt.want {
				t.Errorf("StripSignature(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStripDisclaimer(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"email and attachments", "Body\n\nThis email and any attachments are confidential and intended solely for the addressee.", "Body"},
		{"confidentiality notice", "Body\n\nCONFIDENTIALITY NOTICE: The information in this message is confidential.\nMore legal text.", "Body"},
		{"decorated", "Body\n*** DISCLAIMER: This e-mail and any files transmitted with it are confidential. ***", "Body"},
		{"intended recipient", "Body\nIf you are not the intended recipient, please delete this message.", "Body"},
		{"environment line", "Body\nPlease consider the environment before printing this email.\nMore", "Body\nMore"},
		{"environment line last", "Body\n\nPlease consider the environment before printing this email.", "Body"},
		{"disclaimer alone kept", "This email and any attachments are confidential.", "This email and any attachments are confidential."},
		{"first line kept", "This email is about my order\nwhich is late", "This email is about my order\nwhich is late"},
		{"no disclaimer", "Body\nmore body", "Body\nmore body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripDisclaimer(tt.in); got != tt.want {
				t.Errorf("StripDisclaimer(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeSpace(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  a  b  ", "a b"},
		{"a \t b", "a b"},
		{"a\n\n\n\nb", "a\n\nb"},
		{" line1 \n  line2  ", "line1\nline2"},
		{"a \n \n \n b", "a\n\nb"},
		{"a\u00a0\u3000b", "a b"},
		{"\u2003a\u2003", "a"},
		{"\n\n", ""},
		{"", ""},
		{"a\r\nb", "a\nb"},
		{"already\nnormal\n\ntext", "already\nnormal\n\ntext"},
		{"ends with newline\n", "ends with newline"},
		{"\nstarts with newline", "starts with newline"},
		{"long text without any issue at all, just words and punctuation.", "long text without any issue at all, just words and punctuation."},
		{"long text with  a double space somewhere in the middle of it", "long text with a double space somewhere in the middle of it"},
		{"long text with a bad newline \nsomewhere in the middle of it", "long text with a bad newline\nsomewhere in the middle of it"},
		{"long text with three\n\n\nnewlines somewhere in the middle", "long text with three\n\nnewlines somewhere in the middle"},
		{"emoji 🙏 and CJK 谢谢", "emoji 🙏 and CJK 谢谢"},
	}
	for _, tt := range tests {
		if got := NormalizeSpace(tt.in); got != tt.want {
			t.Errorf("NormalizeSpace(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if spaceNormal(tt.in) && tt.in != tt.want {
			t.Errorf("spaceNormal(%q) = true, but NormalizeSpace changes it", tt.in)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Where is my refund?", "Where is my refund?"},
		{"only thanks", "Thanks!", "Thanks!"},
		{"empty", "", ""},
		{"blank", " \r\n\t ", ""},
		{"html mail", `<html><head><style>p{margin:0}</style></head><body>` +
			`<div dir="ltr"><p>Hi team,</p><p>I was charged twice for order #4829131.&nbsp; Can you refund one?</p>` +
			`<p>Thanks,<br>Jane</p></div><br><div class="gmail_quote"><div class="gmail_attr">` +
			`On Mon, 3 Feb 2025 at 10:14, Acme Support &lt;support@acme.com&gt; wrote:<br></div>` +
			`<blockquote class="gmail_quote">Old message</blockquote></div></body></html>`,
			"Hi team,\n\nI was charged twice for order #4829131. Can you refund one?"},
		{"plain mail", "Hi,\r\n\r\nthe app crashes on start.\tVersion 4.12.1.\r\n\r\n\r\n\r\nBest regards,\r\nJane Doe\r\nAcme Corp | Finance\r\n" +
			"\r\nThis email and any attachments are confidential and intended solely for the addressee.\r\n\r\n" +
			"-----Original Message-----\r\nFrom: support@acme.com\r\n",
			"Hi,\n\nthe app crashes on start. Version 4.12.1."},
		{"outlook reply", "Yes please go ahead.\n\nKind regards\nTom O'Neill\n\nSent from my iPhone\n\n" +
			"________________________________\nFrom: Acme <help@acme.com>\nSent: Tuesday\nTo: Tom\nSubject: RE: order\n\nold text",
			"Yes please go ahead."},
		{"entity email survives for Redact", "<p>Contact: jane&#64;x.com</p>", "Contact: jane@x.com"},
		{"unicode", "  Ｈｉ！\u200b 您好，订单 🙏\u00a0 ", "Hi! 您好,订单 🙏"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CleanText(tt.in)
			if got != tt.want {
				t.Errorf("CleanText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkCleanInvariants(t, tt.in, got)
		})
	}
}

// checkCleanInvariants checks what later stages rely on.
func checkCleanInvariants(t *testing.T, in, out string) {
	t.Helper()
	if utf8.ValidString(in) && !utf8.ValidString(out) {
		t.Fatalf("CleanText(%q) = %q: invalid UTF-8", in, out)
	}
	if out == "" {
		return
	}
	first, _ := utf8.DecodeRuneInString(out)
	last, _ := utf8.DecodeLastRuneInString(out)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		t.Fatalf("CleanText(%q) = %q: starts or ends with whitespace", in, out)
	}
	for _, bad := range []string{"  ", "\n\n\n", " \n", "\n ", "\t", "\r", "\ufeff", "\u200b"} {
		if strings.Contains(out, bad) {
			t.Fatalf("CleanText(%q) = %q: contains %q", in, out, bad)
		}
	}
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || r != ' ' && unicode.IsSpace(r)) {
			t.Fatalf("CleanText(%q) = %q: contains %U", in, out, r)
		}
	}
}

func TestCleanTextNoAlloc(t *testing.T) {
	s := "I want to make a restaurant reservation for 2 people at half past 11 in the morning. Thanks!"
	if n := testing.AllocsPerRun(100, func() {
		if CleanText(s) != s {
			t.Fatal("changed")
		}
	}); n != 0 {
		t.Errorf("CleanText allocated %v times on clean text", n)
	}
}

// TestCleanTextSGD checks that cleaning leaves already-clean dialogue text
// alone: every SGD turn must come out as NormalizeSpace alone would leave
// it, bar at most 0.5%.
func TestCleanTextSGD(t *testing.T) {
	c := loadSGD(t)
	changed, spaceOnly := 0, 0
	for _, s := range c.turns {
		out := CleanText(s)
		checkCleanInvariants(t, s, out)
		switch {
		case out != NormalizeSpace(s):
			changed++
			if changed <= 10 {
				t.Logf("changed: %q -> %q", s, out)
			}
		case out != s:
			spaceOnly++
		}
	}
	share := 100 * float64(len(c.turns)-changed) / float64(len(c.turns))
	t.Logf("SGD: %d turns, %d changed beyond whitespace (%.3f%% unchanged), %d changed in whitespace only",
		len(c.turns), changed, share, spaceOnly)
	if share < 99.5 {
		t.Errorf("only %.3f%% of SGD turns unchanged by cleaning, want ≥ 99.5%%", share)
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{
		"<p>Hi</p><blockquote>x</blockquote>", "Body\n-- \nJane", "a\r\n\r\n\r\nb\t\tc", "Thanks,\nJane",
		"Ok\n\nOn Mon, 3 Feb 2025 at 10:14, Jane <j@x.com> wrote:\n> old", "\ufeff\u200bＨｉ\u00a0!",
		"Body\n\nThis email and any attachments are confidential.", "&lt;p&gt;x&lt;/p&gt;", "<pre>\n\n\n a</pre>",
		"Body.\n\nJane Doe\nOffice Manager | Acme\nM: +1 415 555 0132", "&#0;&#x85;&#8232;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := CleanText(s)
		checkCleanInvariants(t, s, out)
		if n := NormalizeSpace(out); n != out {
			t.Fatalf("NormalizeSpace not idempotent on CleanText output %q: %q", out, n)
		}
		for _, step := range []func(string) string{HTMLToText, NormalizeUnicode, RemoveControl, StripQuotedReply, StripSignature, StripDisclaimer} {
			if o := step(s); utf8.ValidString(s) && !utf8.ValidString(o) {
				t.Fatalf("step output %q for %q is invalid UTF-8", o, s)
			}
		}
		if r := RemoveControl(s); RemoveControl(r) != r {
			t.Fatalf("RemoveControl not idempotent on %q", s)
		}
		if !utf8.ValidString(RemoveControl(s)) {
			t.Fatalf("RemoveControl(%q) is invalid UTF-8", s)
		}
	})
}

// syntheticEmails is an always-available corpus of raw help-desk mail:
// HTML and plain text, with quoted replies, signatures and disclaimers.
func syntheticEmails() []string {
	r := rand.New(rand.NewPCG(3, 4))
	bodies := []string{
		"I was charged twice for order #4829131. Can you refund one of the payments?",
		"The app crashes as soon as I open it on my Pixel 8.\nVersion 4.12.1, reinstalling didn't help.",
		"Where is my refund? I sent the parcel back on March 3 and UPS says it was delivered.",
		"Bonjour, ma commande n'est toujours pas arrivée. Merci de vérifier. 🙏",
	}
	sigs := []string{"", "\n\nThanks,\nJane", "\n\nBest regards,\nJane Doe\nOffice Manager | Acme Corp\nTel: +1 415 555 0132",
		"\n-- \nJohn Miller\nBlue Harbor Ltd", "\n\nSent from my iPhone"}
	tails := []string{"", "\n\nOn Mon, 3 Feb 2025 at 10:14, Acme Support <support@acme.com> wrote:\n> Hi Jane,\n> thanks for reaching out.",
		"\n\nThis email and any attachments are confidential and intended solely for the addressee.",
		"\n\n________________________________\nFrom: Acme\nSent: Monday\nTo: Jane\nSubject: Re: refund\n\nold"}
	var out []string
	for i := 0; i < 2000; i++ {
		body := bodies[r.IntN(len(bodies))] + sigs[r.IntN(len(sigs))] + tails[r.IntN(len(tails))]
		if r.IntN(3) == 0 {
			body = "<html><body><div>" + strings.ReplaceAll(body, "\n", "<br>") + "</div><blockquote>old reply</blockquote></body></html>"
		}
		out = append(out, strings.ReplaceAll(body, "\n", "\r\n"))
	}
	return out
}

// BenchmarkCleanText measures CleanText on SGD turns (skipped when the
// corpus is absent), on synthetic raw email and on the synthetic
// chat-style messages:
//
//	go test ./transforms/ -run '^$' -bench 'Redact|CleanText' -benchtime 3s
func BenchmarkCleanText(b *testing.B) {
	b.Run("sgd", func(b *testing.B) {
		benchTexts(b, loadSGD(b).turns, func(s string) { CleanText(s) })
	})
	b.Run("synthetic_email", func(b *testing.B) {
		benchTexts(b, syntheticEmails(), func(s string) { CleanText(s) })
	})
	b.Run("synthetic_chat", func(b *testing.B) {
		benchTexts(b, syntheticMessages(), func(s string) { CleanText(s) })
	})
}

// TestCleanTextHostile checks that pathological inputs finish quickly.
func TestCleanTextHostile(t *testing.T) {
	const n = 1 << 16
	inputs := []string{
		strings.Repeat("<div>", n), strings.Repeat("<blockquote>", n) + "x", strings.Repeat("<p>a</p>", n),
		strings.Repeat("> a\n", n), strings.Repeat("\n", n), strings.Repeat("a  \t ", n), strings.Repeat("&amp;", n),
		strings.Repeat("Best regards,\nJane\n", n), strings.Repeat("Thanks,\n", n), strings.Repeat("-- \n", n),
		strings.Repeat("On 1 Jan wrote:\n", n), strings.Repeat("From: x\n", n), strings.Repeat("Sent from my iPhone\n", n),
		"body\n" + strings.Repeat("Jane Doe\n", n), "body\n" + strings.Repeat("\n", n) + "Thanks,",
		strings.Repeat("reply above this line\n", n), strings.Repeat("\u200b\r\n", n), strings.Repeat("ﬁ", n),
	}
	start := time.Now()
	for _, in := range inputs {
		checkCleanInvariants(t, in, CleanText(in))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("hostile inputs took %v", d)
	}
}
