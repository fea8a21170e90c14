package transforms

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/unicode/norm"
)

// CleanText turns a raw message body into plain training text. It applies,
// in order: HTMLToText, NormalizeUnicode, RemoveControl, StripQuotedReply,
// StripSignature, StripDisclaimer and NormalizeSpace. When StripDisclaimer
// removes a footer, StripSignature runs once more, because a legal footer
// under a sign-off hides the sign-off from it.
//
// The result never starts or ends with whitespace, holds no control
// characters other than '\n', no tabs, no runs of spaces and no more than
// one blank line in a row. A message that is nothing but a quote, a
// signature or whitespace comes out empty, for a later stage to drop. Text
// that needs no cleaning is returned as is, without allocating.
func CleanText(s string) string {
	s = HTMLToText(s)
	s = NormalizeUnicode(s)
	s = RemoveControl(s)
	s = StripQuotedReply(s)
	s = StripSignature(s)
	if t := StripDisclaimer(s); len(t) != len(s) {
		s = StripSignature(t)
	}
	return NormalizeSpace(s)
}

// ---- HTML ----

// LooksLikeHTML reports whether s contains an HTML tag (a known element
// name such as <p>, </div> or <br/>, a comment or a doctype) or a character
// reference (&amp;, &#64;, &#x40;). Angle brackets in prose ("a < b",
// "<3", "<jane@x.com>") and a bare "&" do not count.
func LooksLikeHTML(s string) bool {
	tags, entities := htmlKind(s)
	return tags || entities
}

// htmlKind reports whether s has HTML tags and whether it has character
// references. It stops at the first tag.
func htmlKind(s string) (tags, entities bool) {
	// Two IndexByte scans (vectorised) beat one IndexAny over prose.
	lt, amp := indexFrom(s, '<', 0), indexFrom(s, '&', 0)
	for lt >= 0 || amp >= 0 {
		if lt >= 0 && (amp < 0 || lt < amp) {
			if htmlTagAt(s, lt) {
				return true, entities
			}
			lt = indexFrom(s, '<', lt+1)
			continue
		}
		if !entities && entityAt(s, amp) {
			entities = true
		}
		amp = indexFrom(s, '&', amp+1)
	}
	return false, entities
}

// indexFrom returns the index of the first c in s at or after i, or -1.
func indexFrom(s string, c byte, i int) int {
	if k := strings.IndexByte(s[i:], c); k >= 0 {
		return i + k
	}
	return -1
}

// htmlTagAt reports whether s[i] ('<') starts a tag of a known element, a
// comment or a doctype.
func htmlTagAt(s string, i int) bool {
	j := i + 1
	if j < len(s) && s[j] == '!' {
		rest := s[j+1:]
		return strings.HasPrefix(rest, "--") || len(rest) >= 7 && strings.EqualFold(rest[:7], "doctype")
	}
	if j < len(s) && s[j] == '/' {
		j++
	}
	start := j
	for j < len(s) && j-start <= 10 && (isASCIILetter(s[j]) || j > start && (isDigit(s[j]) || s[j] == ':')) {
		j++
	}
	if j == start || j-start > 10 {
		return false
	}
	if j < len(s) {
		switch s[j] {
		case '>', '/', ' ', '\t', '\n', '\r', '\f':
		default:
			return false
		}
	}
	var buf [10]byte
	name := buf[:j-start]
	for x := range name {
		name[x] = s[start+x] | 0x20 // ASCII lower-case; ':' and digits are unchanged
	}
	return isHTMLElement(string(name))
}

// isHTMLElement reports whether name (lower case) is an element that shows
// up in HTML mail. Attribute-only names are excluded on purpose.
func isHTMLElement(name string) bool {
	switch name {
	case "a", "abbr", "address", "article", "aside", "b", "base", "big", "blockquote", "body", "br",
		"button", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "div",
		"dl", "dt", "em", "figcaption", "figure", "font", "footer", "form", "h1", "h2", "h3", "h4", "h5",
		"h6", "head", "header", "hr", "html", "i", "iframe", "img", "input", "ins", "label", "li", "link",
		"main", "mark", "meta", "nav", "noscript", "o:p", "ol", "p", "pre", "q", "s", "section", "small",
		"span", "strike", "strong", "style", "sub", "summary", "sup", "svg", "table", "tbody", "td",
		"template", "tfoot", "th", "thead", "title", "tr", "tt", "u", "ul", "wbr", "script":
		return true
	}
	return false
}

// entityAt reports whether s[i] ('&') starts a character reference that
// HTML would decode.
func entityAt(s string, i int) bool {
	j := i + 1
	if j < len(s) && s[j] == '#' {
		j++
		hex := j < len(s) && (s[j] == 'x' || s[j] == 'X')
		if hex {
			j++
		}
		d := j
		for j < len(s) && j-d < 8 && (isDigit(s[j]) || hex && isHexDigit(s[j])) {
			j++
		}
		return j > d && j < len(s) && s[j] == ';'
	}
	d := j
	for j < len(s) && j-d < 32 && (isASCIILetter(s[j]) || j > d && isDigit(s[j])) {
		j++
	}
	if j-d < 2 || j >= len(s) || s[j] != ';' {
		return false
	}
	ref := s[i : j+1]
	return html.UnescapeString(ref) != ref
}

// droppedElement reports whether an element's content is dropped: code,
// styling, document metadata, and quoted replies (<blockquote>).
func droppedElement(name string) bool {
	switch name {
	case "script", "style", "head", "title", "template", "noscript", "blockquote", "iframe", "object", "svg", "math":
		return true
	}
	return false
}

// blockElement returns how many line breaks an element's start or end
// makes: 2 for paragraphs, 1 for other blocks, 0 for inline elements.
func blockElement(name string) int {
	switch name {
	case "p":
		return 2
	case "address", "article", "aside", "center", "dd", "details", "dialog", "div", "dl", "dt",
		"fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
		"header", "hgroup", "hr", "li", "main", "nav", "ol", "pre", "section", "summary", "table",
		"tbody", "thead", "tfoot", "tr", "ul", "caption", "html", "body":
		return 1
	}
	return 0
}

// HTMLToText converts HTML mail to plain text when s looks like HTML (see
// LooksLikeHTML), and returns s unchanged otherwise. Block elements start
// new lines (paragraphs are separated by a blank line), <br> is a line
// break, table cells are separated by spaces, entities are decoded, and
// the contents of <script>, <style>, <head> and <blockquote> (a quoted
// reply) are dropped. Whitespace in text is collapsed as a browser would,
// except inside <pre>. Text with entities but no tags is only unescaped, so
// its line breaks survive.
func HTMLToText(s string) string {
	tags, entities := htmlKind(s)
	if !tags {
		if entities {
			return html.UnescapeString(s)
		}
		return s
	}
	z := html.NewTokenizer(strings.NewReader(s))
	w := htmlWriter{b: make([]byte, 0, len(s))}
	skip, pre := 0, 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.String()
		case html.TextToken:
			if skip == 0 {
				w.text(z.Text(), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			raw, _ := z.TagName()
			name := string(raw) // the tokenizer lower-cases tag names
			if droppedElement(name) {
				switch {
				case tt == html.StartTagToken:
					skip++
				case tt == html.EndTagToken && skip > 0:
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch {
			case name == "br":
				w.lineBreak()
			case name == "td" || name == "th":
				if tt == html.StartTagToken {
					w.space()
				}
			case name == "pre":
				w.breakLines(1)
				if tt == html.StartTagToken {
					pre++
				} else if pre > 0 {
					pre--
				}
			default:
				if n := blockElement(name); n > 0 {
					w.breakLines(n)
				}
			}
		}
	}
}

// htmlWriter accumulates text with browser-like whitespace handling.
type htmlWriter struct {
	b            []byte
	pendingSpace bool // a collapsed space is pending
	newlines     int  // trailing newlines in b
}

func (w *htmlWriter) text(t []byte, pre bool) {
	for _, c := range t {
		if pre {
			if c == '\r' {
				continue
			}
			if w.pendingSpace {
				w.b = append(w.b, ' ')
				w.pendingSpace = false
			}
			w.b = append(w.b, c)
			if c == '\n' {
				w.newlines++
			} else {
				w.newlines = 0
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r', '\f':
			w.space()
			continue
		}
		if w.pendingSpace {
			w.b = append(w.b, ' ')
			w.pendingSpace = false
		}
		w.b = append(w.b, c)
		w.newlines = 0
	}
}

// space queues one space unless at the start of a line.
func (w *htmlWriter) space() {
	w.pendingSpace = len(w.b) > 0 && w.newlines == 0
}

func (w *htmlWriter) lineBreak() {
	w.pendingSpace = false
	if len(w.b) > 0 {
		w.b = append(w.b, '\n')
		w.newlines++
	}
}

// breakLines ends the current line so that at least n newlines separate
// it from what follows.
func (w *htmlWriter) breakLines(n int) {
	w.pendingSpace = false
	if len(w.b) == 0 {
		return
	}
	for w.newlines < n {
		w.b = append(w.b, '\n')
		w.newlines++
	}
}

func (w *htmlWriter) String() string {
	b := w.b
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}

// ---- Unicode ----

// NormalizeUnicode returns s in Unicode normalization form NFKC, which
// folds compatibility variants into their plain forms: no-break and other
// typographic spaces become ' ', ligatures (ﬁ) and fullwidth letters and
// digits become ASCII, superscripts become digits. Note that fullwidth
// punctuation used in CJK text ("，", "！", "（") is folded to ASCII too; CJK
// ideographs, kana, Hangul and emoji are unchanged.
func NormalizeUnicode(s string) string {
	if isASCII(s) {
		return s // ASCII is invariant under every normalization form
	}
	return norm.NFKC.String(s) // returns s itself when already normal
}

// isASCII reports whether s is pure ASCII, eight bytes at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if load64(s, i)&hiBits != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// ---- control characters ----

// controlAction says what RemoveControl does with a rune.
type controlAction uint8

const (
	keepRune controlAction = iota
	dropRune
	newlineRune
	spaceRune
)

func controlActionOf(r rune, size int) controlAction {
	switch {
	case r == '\n':
		return keepRune
	case r == '\t':
		return spaceRune
	case r == '\r', r == '\v', r == '\f', r == 0x85, r == 0x2028, r == 0x2029:
		return newlineRune
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return dropRune
	case r == utf8.RuneError && size <= 1:
		return dropRune // invalid UTF-8
	}
	switch r {
	case 0x00ad, // soft hyphen
		0x061c,         // Arabic letter mark
		0x180e,         // Mongolian vowel separator
		0x200b,         // zero width space
		0x200e, 0x200f, // LRM, RLM
		0x202a, 0x202b, 0x202c, 0x202d, 0x202e, // bidi embeddings and overrides
		0x2060, 0x2061, 0x2062, 0x2063, 0x2064, // word joiner, invisible operators
		0x2066, 0x2067, 0x2068, 0x2069, // bidi isolates
		0xfeff: // byte order mark, zero width no-break space
		return dropRune
	}
	return keepRune
}

// RemoveControl removes control and invisible formatting characters:
// C0 and C1 controls, zero-width space, word joiner, byte order marks,
// soft hyphens, bidirectional marks and overrides, and bytes that are not
// valid UTF-8. Tabs become spaces; "\r\n", lone "\r", vertical tab, form
// feed, NEL and the Unicode line and paragraph separators become "\n".
// Zero-width joiner and non-joiner (U+200D, U+200C) are kept: emoji
// sequences and Persian and Indic spelling depend on them.
func RemoveControl(s string) string {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if w&hiBits != 0 || hasCtrl(w, eqMask(w, '\n')) {
			break
		}
	}
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if controlActionOf(r, size) != keepRune {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch controlActionOf(r, size) {
		case keepRune:
			b = append(b, s[i:i+size]...)
		case spaceRune:
			b = append(b, ' ')
		case newlineRune:
			if !(r == '\r' && i+1 < len(s) && s[i+1] == '\n') {
				b = append(b, '\n')
			}
		}
		i += size
	}
	return string(b)
}

// ---- lines ----

// nextLine returns the line starting at i (without its newline) and the
// offset of the next line.
func nextLine(s string, i int) (line string, next int) {
	if k := strings.IndexByte(s[i:], '\n'); k >= 0 {
		return s[i : i+k], i + k + 1
	}
	return s[i:], len(s)
}

// trimSpace trims ASCII spaces and tabs; the Unicode spaces are gone after
// NormalizeUnicode.
func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// isBlank reports whether s holds nothing but whitespace.
func isBlank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// ---- quoted replies ----

// StripQuotedReply removes quoted email text: every line starting with '>'
// and everything from the first reply header onwards (a help desk's
// "reply above this line" marker included; at the very top of a message
// only the marker line goes). Reply headers are an
// attribution line ("On Mon, 3 Feb 2025 at 10:14, Jane <jane@x.com>
// wrote:", possibly wrapped over two lines, and its French, German,
// Spanish, Italian, Dutch, Portuguese and Scandinavian forms), an
// "-----Original Message-----" separator, an Outlook "From: ... Sent: ..."
// header block and an Outlook rule of underscores. An attribution must hold
// a digit or an '@' so that prose such as "On reflection, my colleague
// wrote:" survives.
func StripQuotedReply(s string) string {
	var out []byte
	dropped := false // out holds the kept text so far
	for i := 0; i < len(s); {
		line, next := nextLine(s, i)
		t := trimSpace(line)
		switch {
		case len(t) > 0 && t[0] == '>':
			if !dropped {
				out = append(make([]byte, 0, len(s)), s[:i]...)
				dropped = true
			}
		case len(t) < 100 && containsFold(t, "reply above this line"):
			// A help desk's "##- Please type your reply above this line -##":
			// in a reply, the thread follows it; at the top of a
			// message, it is only the marker.
			if !isBlank(s[:i]) {
				if dropped {
					return strings.TrimRight(string(out), " \t\n")
				}
				return strings.TrimRight(s[:i], " \t\n")
			}
			if !dropped {
				out = append(make([]byte, 0, len(s)), s[:i]...)
				dropped = true
			}
		case len(t) > 0 && isReplyHeader(s, t, next):
			if dropped {
				return strings.TrimRight(string(out), " \t\n")
			}
			return strings.TrimRight(s[:i], " \t\n")
		default:
			if dropped {
				out = append(out, s[i:next]...)
			}
		}
		i = next
	}
	if dropped {
		return string(out)
	}
	return s
}

// replyVerbs end attribution lines, before the final colon.
var replyVerbs = [...]string{
	"wrote", "a écrit", "schrieb", "escribió", "ha scritto", "schreef", "escreveu", "skrev", "napisał",
	"napisał(a)", "kirjoitti", "írta", "napsal",
}

// isReplyHeader reports whether line t (trimmed), followed by the text at
// s[next:], starts a quoted reply.
func isReplyHeader(s, t string, next int) bool {
	switch c := t[0]; {
	case c == '-' || c == '_':
		if strings.Trim(t, "_") == "" {
			return len(t) >= 20
		}
		return strings.HasPrefix(t, "---") && (containsFold(t, "original message") ||
			containsFold(t, "ursprüngliche nachricht") || containsFold(t, "message d'origine") ||
			containsFold(t, "mensaje original"))
	case c == 'F' || c == 'f' || c == 'V' || c == 'v' || c == 'D' || c == 'd':
		if isHeaderBlock(s, t, next) {
			return true
		}
	}
	if len(t) > 300 || t[len(t)-1] != ':' && !hasPrefixFold(t, "on ") || !hasDigitOrAt(t) {
		return false
	}
	if attribution(t) {
		return true
	}
	// "On Mon, 3 Feb 2025 at 10:14, Jane Doe <jane@example.com>\nwrote:"
	if hasPrefixFold(t, "on ") && next < len(s) {
		nl, _ := nextLine(s, next)
		nl = trimSpace(nl)
		return len(nl) < 200 && attribution(nl)
	}
	return false
}

func hasDigitOrAt(t string) bool {
	for i := 0; i < len(t); i++ {
		if isDigit(t[i]) || t[i] == '@' {
			return true
		}
	}
	return false
}

// attribution reports whether t ends like "... wrote:".
func attribution(t string) bool {
	if !strings.HasSuffix(t, ":") {
		return false
	}
	t = strings.TrimRight(t[:len(t)-1], " ")
	if strings.HasSuffix(t, ">") { // "schrieb Jane <jane@x.com>:"
		if k := strings.LastIndexByte(t, '<'); k > 0 {
			t = strings.TrimRight(t[:k], " ")
			for _, v := range replyVerbs {
				if containsFold(t, " "+v+" ") || hasSuffixFold(t, " "+v) {
					return true
				}
			}
			return false
		}
	}
	for _, v := range replyVerbs {
		if hasSuffixFold(t, " "+v) || strings.EqualFold(t, v) {
			return true
		}
	}
	return false
}

// headerPairs are the first two lines of a forwarded-header block, per
// client language.
var headerPairs = [...][2]string{
	{"from:", "sent:"}, {"from:", "date:"}, {"von:", "gesendet:"}, {"von:", "datum:"},
	{"de :", "envoyé :"}, {"de:", "envoyé:"}, {"de:", "enviado:"}, {"de :", "date :"},
}

// isHeaderBlock reports whether t starts an Outlook-style header block:
// "From: ..." followed within three lines by "Sent: ..." or "Date: ...".
func isHeaderBlock(s, t string, next int) bool {
	for _, p := range headerPairs {
		if !hasPrefixFold(t, p[0]) {
			continue
		}
		j := next
		for k := 0; k < 3 && j < len(s); k++ {
			var l string
			l, j = nextLine(s, j)
			if hasPrefixFold(trimSpace(l), p[1]) {
				return true
			}
		}
	}
	return false
}

// ---- signatures ----

// maxSigLine is the longest line a signature block may hold, in bytes.
const maxSigLine = 100

// StripSignature removes a signature from the end of a message:
//
//   - everything from a "-- " (or "--") delimiter line;
//   - a final "Sent from my iPhone"-style device footer ("Sent from my
//     ...", "Get Outlook for ...", "Sent from Mail for Windows", ...);
//   - a sign-off line ("Best regards,", "Thanks,", "Cheers", ...) followed
//     by at most five short lines that look like a signature (a name
//     first, none ending in '?'), or a sign-off ending with a comma that
//     closes the message;
//   - a bare signature block: up to five short lines starting with a name,
//     with at least one contact line ("M: ...", "Tel: ...", "E: ...", a
//     URL or a "|"-separated line) or team line ("Acme Customer Support"),
//     after a blank line.
//
// It is conservative about message text: a sign-off must stand on its own
// line, and a message that is only a closing word ("Thanks!", "Thanks,")
// is kept. A message that is nothing but a signature (a letter-style
// sign-off and a name, a device footer, a "-- " block, a contact block)
// comes out empty, so that later stages can drop the turn.
func StripSignature(s string) string {
	if strings.IndexByte(s, '\n') < 0 {
		if isDeviceFooter(trimSpace(s)) {
			return ""
		}
		return s
	}
	var buf [32]span
	lines := splitLines(s, buf[:0])
	n := len(lines)
	// Delimiter: cut at the first "-- " line.
	for k, l := range lines {
		if strings.TrimRight(s[l.start:l.end], " \t") == "--" {
			n = k
			break
		}
	}
	for changed := true; changed; {
		changed = false
		m := lastNonBlank(s, lines[:n])
		if m < 0 {
			break
		}
		if isDeviceFooter(trimSpace(s[lines[m].start:lines[m].end])) {
			n, changed = m, true
			continue
		}
		if k := signOffStart(s, lines[:n]); k >= 0 {
			n, changed = k, true
			continue
		}
		if k := bareSignatureStart(s, lines[:n]); k >= 0 {
			n, changed = k, true
		}
	}
	if n == len(lines) {
		return s
	}
	return strings.TrimRight(s[:lines[n].start], " \t\n")
}

// splitLines appends the spans of s's lines (without newlines) to dst.
func splitLines(s string, dst []span) []span {
	for i := 0; ; {
		k := strings.IndexByte(s[i:], '\n')
		if k < 0 {
			return append(dst, span{i, len(s)})
		}
		dst = append(dst, span{i, i + k})
		i += k + 1
	}
}

func lastNonBlank(s string, lines []span) int {
	for k := len(lines) - 1; k >= 0; k-- {
		if !isBlank(s[lines[k].start:lines[k].end]) {
			return k
		}
	}
	return -1
}

func hasTextBefore(s string, lines []span, k int) bool {
	return k > 0 && lastNonBlank(s, lines[:k]) >= 0
}

// deviceFooters start the footer lines mail apps append.
var deviceFooters = [...]string{
	"sent from my ", "sent from mail for ", "sent from outlook", "sent from yahoo mail", "sent from samsung",
	"sent from gmail", "sent from the all new aol", "sent with proton mail", "sent via the samsung",
	"get outlook for ", "envoyé de mon ", "von meinem iphone gesendet", "enviado desde mi ",
}

func isDeviceFooter(t string) bool {
	if len(t) > 60 {
		return false
	}
	for _, p := range deviceFooters {
		if hasPrefixFold(t, p) {
			return true
		}
	}
	return false
}

// signOffs are closing phrases, lower case, without trailing punctuation.
var signOffs = [...]string{
	"thanks", "thank you", "thanks again", "thanks so much", "thank you so much", "many thanks",
	"thanks in advance", "thank you in advance", "thanks a lot", "thx", "cheers", "best", "best regards",
	"kind regards", "warm regards", "warmest regards", "regards", "best wishes", "all the best",
	"sincerely", "yours sincerely", "sincerely yours", "yours truly", "yours faithfully", "respectfully",
	"with thanks", "with best regards", "with kind regards", "br", "kr", "take care", "talk soon",
	"warmly", "greetings", "mit freundlichen grüßen", "viele grüße", "beste grüße", "cordialement",
	"bien cordialement", "saludos", "un saludo", "met vriendelijke groet", "hälsningar", "med vänlig hälsning",
}

// signOffLine reports whether t is a sign-off phrase on its own, and
// whether it ends with a comma.
func signOffLine(t string) (ok, comma bool) {
	t = trimSpace(t)
	if len(t) > 40 {
		return false, false
	}
	for len(t) > 0 {
		c := t[len(t)-1]
		if c == ',' {
			comma = true
		} else if c != '.' && c != '!' && c != ' ' && c != '-' {
			break
		}
		t = t[:len(t)-1]
	}
	for _, p := range signOffs {
		// Case folding keeps the UTF-8 length of these phrases.
		if len(p) == len(t) && strings.EqualFold(t, p) {
			return true, comma
		}
	}
	return false, false
}

// signOffStart returns the line index where a sign-off block starts in
// the last lines, or -1. Without message text above, only a letter-style
// sign-off ("Best regards," and a name) counts: "Thanks!" alone is a
// message.
func signOffStart(s string, lines []span) int {
	after := 0 // non-blank lines below the candidate
	for k := len(lines) - 1; k >= 0 && after <= 5; k-- {
		t := trimSpace(s[lines[k].start:lines[k].end])
		if t == "" {
			continue
		}
		if ok, comma := signOffLine(t); ok {
			body := hasTextBefore(s, lines, k)
			switch {
			case after == 0 && comma && body:
				return k
			case after > 0 && (body || comma) && signatureLines(s, lines[k+1:]):
				return k
			}
		}
		if len(t) > maxSigLine {
			return -1
		}
		after++
	}
	return -1
}

// signatureLines reports whether the non-blank lines below a sign-off
// look like a signature: a name first, then short lines, none ending in '?'.
func signatureLines(s string, lines []span) bool {
	first := true
	for _, l := range lines {
		t := trimSpace(s[l.start:l.end])
		if t == "" {
			continue
		}
		if len(t) > maxSigLine || strings.HasSuffix(t, "?") {
			return false
		}
		if first && !isNameLine(t) {
			return false
		}
		first = false
	}
	return true
}

// bareSignatureStart finds a signature block without a sign-off at the end
// of the message (see StripSignature) and returns its first line, or -1.
// The block must follow a blank line, or be the whole message.
func bareSignatureStart(s string, lines []span) int {
	end := lastNonBlank(s, lines)
	if end < 0 {
		return -1
	}
	k := end
	contact := false
	for ; k >= 0 && end-k < 5; k-- {
		t := trimSpace(s[lines[k].start:lines[k].end])
		if t == "" {
			break
		}
		switch {
		case isContactLine(t) || isTeamLine(t):
			contact = true
		case isNameLine(t):
		default:
			return -1
		}
	}
	first := k + 1
	if !contact || first == end || !isNameLine(trimSpace(s[lines[first].start:lines[first].end])) {
		return -1
	}
	if k >= 0 && !isBlank(s[lines[k].start:lines[k].end]) {
		return -1 // five signature-like lines and still going: not a block
	}
	return first
}

// contactLabels start contact lines in signatures.
var contactLabels = [...]string{
	"m:", "t:", "e:", "p:", "w:", "f:", "tel:", "tel.:", "tel.", "phone:", "mobile:", "mob:", "cell:",
	"email:", "e-mail:", "web:", "fax:", "www.", "http://", "https://",
}

func isContactLine(t string) bool {
	if len(t) > maxSigLine {
		return false
	}
	for _, p := range contactLabels {
		if hasPrefixFold(t, p) {
			return true
		}
	}
	return strings.Contains(t, " | ")
}

// teamWords mark a line naming a support team.
var teamWords = [...]string{"support", "customer care", "customer service", "help center", "helpdesk", "help desk", "team"}

func isTeamLine(t string) bool {
	if len(t) > 60 || strings.Count(t, " ") > 5 || strings.ContainsAny(t[len(t)-1:], ".?!:") {
		return false
	}
	for _, w := range teamWords {
		if containsFold(t, w) {
			r, _ := utf8.DecodeRuneInString(t)
			return !unicode.IsLower(r)
		}
	}
	return false
}

// isNameLine reports whether t looks like a name or job title: one to five
// words, capitalised except for small connectives, no digits, no sentence
// punctuation at the end other than an initial's dot.
func isNameLine(t string) bool {
	if len(t) > 50 || strings.ContainsAny(t, "0123456789?!:;@") {
		return false
	}
	words := strings.Fields(t)
	if len(words) == 0 || len(words) > 5 {
		return false
	}
	for i, w := range words {
		switch strings.ToLower(w) {
		case "of", "and", "the", "for", "at", "&", "-", "|", "de", "van", "von", "der", "da", "la", "le":
			if i > 0 {
				continue
			}
		}
		r, _ := utf8.DecodeRuneInString(w)
		if !unicode.IsUpper(r) && !unicode.Is(unicode.Lo, r) {
			return false
		}
		if strings.HasSuffix(w, ".") && utf8.RuneCountInString(w) > 2 && i < len(words)-1 {
			return false
		}
	}
	last := words[len(words)-1]
	if strings.HasSuffix(last, ".") && utf8.RuneCountInString(last) > 2 {
		// "Ltd." and "Inc." end company names; other words ending in a dot
		// end sentences.
		l := strings.ToLower(last)
		if l != "ltd." && l != "inc." && l != "co." && l != "corp." && l != "llc." && l != "gmbh." {
			return false
		}
	}
	return true
}

// ---- disclaimers ----

// disclaimerOpeners start legal footers, lower case.
var disclaimerOpeners = [...]string{
	"this email and any", "this e-mail and any", "this message and any", "this email and its",
	"this e-mail and its", "this message and its", "this email is confidential", "this e-mail is confidential",
	"this message is confidential", "this email may contain", "this e-mail may contain",
	"this message may contain", "this email (including", "this e-mail (including", "this message (including",
	"this communication", "this email is intended", "this e-mail is intended", "this message is intended",
	"this email contains confidential", "this message contains confidential", "confidentiality notice",
	"confidential notice", "confidentiality note", "confidentiality:", "disclaimer:", "disclaimer -",
	"legal disclaimer", "important notice:", "important: this", "privileged and confidential",
	"privileged/confidential", "the information contained in this", "the information in this email",
	"the information in this e-mail", "the information in this message", "the content of this email",
	"the contents of this email", "the contents of this e-mail", "if you are not the intended recipient",
	"if you have received this email in error", "if you have received this e-mail in error",
	"if you have received this message in error", "notice: this email", "notice: this e-mail",
	"notice: this message",
}

// StripDisclaimer removes legal footers: everything from the first line
// that opens a typical disclaimer ("This email and any attachments are
// confidential...", "CONFIDENTIALITY NOTICE: ...", "DISCLAIMER: ...",
// "If you are not the intended recipient...") to the end, and any "Please
// consider the environment before printing this email" line. Only lines
// below some message text are considered, so a message is never emptied.
func StripDisclaimer(s string) string {
	if strings.IndexByte(s, '\n') < 0 {
		return s
	}
	var out []byte
	edited := false
	text := false // message text seen above the current line
	for i := 0; i < len(s); {
		line, next := nextLine(s, i)
		t := strings.TrimLeft(trimSpace(line), "*_-=#>[( ")
		if text && t != "" {
			if isDisclaimerStart(t) {
				if !edited {
					return strings.TrimRight(s[:i], " \t\n")
				}
				return strings.TrimRight(string(out), " \t\n")
			}
			if len(t) < 120 && containsFold(t, "consider the environment before printing") {
				if !edited {
					out = append(make([]byte, 0, len(s)), s[:i]...)
					edited = true
				}
				i = next
				continue
			}
		}
		if t != "" {
			text = true
		}
		if edited {
			out = append(out, s[i:next]...)
		}
		i = next
	}
	if edited {
		return strings.TrimRight(string(out), " \t\n")
	}
	return s
}

func isDisclaimerStart(t string) bool {
	for _, p := range disclaimerOpeners {
		if hasPrefixFold(t, p) {
			return true
		}
	}
	return false
}

// ---- whitespace ----

// NormalizeSpace collapses runs of spaces and tabs (and other Unicode
// spaces) to one space, trims every line, collapses three or more line
// breaks to two (one blank line keeps paragraphs apart) and trims the
// whole text. The result never starts or ends with whitespace.
func NormalizeSpace(s string) string {
	if spaceNormal(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	pending, newlines := false, 0
	for i := 0; i < len(s); {
		c := s[i]
		size := 1
		isNL, isSp := c == '\n', c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			isSp = unicode.IsSpace(r)
		}
		switch {
		case isNL:
			newlines++
			pending = false
		case isSp:
			pending = true
		default:
			if len(b) > 0 {
				if newlines > 0 {
					b = append(b, "\n\n"[:min(newlines, 2)]...)
				} else if pending {
					b = append(b, ' ')
				}
			}
			b = append(b, s[i:i+size]...)
			newlines, pending = 0, false
		}
		i += size
	}
	return string(b)
}

// spaceNormal reports whether NormalizeSpace would return s unchanged. It
// may report false for text NormalizeSpace leaves alone (other control
// characters); that only costs a copy.
func spaceNormal(s string) bool {
	if s == "" {
		return true
	}
	last := len(s) - 1
	if s[0] == ' ' || s[0] == '\n' || s[last] == ' ' || s[last] == '\n' {
		return false
	}
	// Eight bytes at a time while the text is ASCII: look for "  ", " \n",
	// "\n ", "\n\n\n" and control characters.
	i := 0
	for ; i+10 <= len(s); i += 8 {
		w, w1 := load64(s, i), load64(s, i+1)
		if w&hiBits != 0 {
			break
		}
		sp, sp1 := eqMask(w, ' '), eqMask(w1, ' ')
		nl, nl1 := eqMask(w, '\n'), eqMask(w1, '\n')
		if sp&(sp1|nl1) != 0 || nl&sp1 != 0 || hasCtrl(w, nl) {
			return false
		}
		if nl&nl1 != 0 && nl&nl1&eqMask(load64(s, i+2), '\n') != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < utf8.RuneSelf {
			continue // the common case: a visible ASCII character
		}
		switch {
		case c == ' ':
			if i == 0 || i == last || s[i-1] == ' ' || s[i-1] == '\n' {
				return false
			}
		case c == '\n':
			if i == 0 || i == last || s[i-1] == ' ' || i >= 2 && s[i-1] == '\n' && s[i-2] == '\n' {
				return false
			}
		case c < ' ':
			return false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				return false
			}
			i += size - 1
		}
	}
	return true
}

// SWAR helpers: eight bytes of a string in one uint64.

const (
	loBits  = 0x0101010101010101
	hiBits  = 0x8080808080808080
	low7    = 0x7f7f7f7f7f7f7f7f
	spaces8 = 0x2020202020202020
)

// load64 returns s[i:i+8] as a little-endian word; the compiler merges the
// byte loads into one.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// eqMask sets the high bit of exactly the bytes of w equal to b.
func eqMask(w uint64, b byte) uint64 {
	x := w ^ (loBits * uint64(b))
	return ^((x&low7 + low7) | x | low7)
}

// hasCtrl reports whether the ASCII word w holds a control character other
// than '\n' (nl is eqMask(w, '\n')) or DEL.
func hasCtrl(w, nl uint64) bool {
	w |= nl >> 2 // turn '\n' (0x0a) into 0x2a
	return (w-spaces8)&^w&hiBits != 0 || eqMask(w, 0x7f) != 0
}
