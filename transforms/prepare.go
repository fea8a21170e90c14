package transforms

import "unicode/utf8"

// Reasons a conversation is filtered out; they key the manifest's counts.
const (
	FilterEmpty        = "empty"          // no turn left after cleaning
	FilterTurnTooLong  = "turn_too_long"  // a turn longer than MaxTurnChars
	FilterNoAgentReply = "no_agent_reply" // nothing to learn from
)

// TurnDropEmpty counts turns removed because cleaning left nothing (a message
// that was only a quote, a signature or markup).
const TurnDropEmpty = "empty"

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	// MaxTurnChars is the longest turn, in characters after cleaning, a
	// kept conversation may hold.
	MaxTurnChars int
}

// PrepareReport says what Prepare did to one conversation.
type PrepareReport struct {
	Redactions RedactionCounts
	EmptyTurns int
	// Filtered is the reason the conversation was dropped, or "".
	Filtered string
}

// Prepare cleans and redacts every turn, drops turns left empty, and decides
// whether the conversation is kept. A conversation holding an over-long turn
// is dropped whole rather than losing that turn, because removing a turn
// from the middle would teach replies to questions nobody asked.
func Prepare(c Conversation, o PrepareOptions) (Conversation, PrepareReport) {
	var rep PrepareReport
	turns := make([]Turn, 0, len(c.Turns))
	hasAgent := false
	for _, t := range c.Turns {
		text, n := Redact(CleanText(t.Text))
		rep.Redactions.Add(n)
		if text == "" {
			rep.EmptyTurns++
			continue
		}
		if o.MaxTurnChars > 0 && len(text) > o.MaxTurnChars && utf8.RuneCountInString(text) > o.MaxTurnChars {
			rep.Filtered = FilterTurnTooLong
		}
		hasAgent = hasAgent || t.Role == RoleAgent
		t.Text = text
		turns = append(turns, t)
	}
	switch {
	case rep.Filtered != "":
	case len(turns) == 0:
		rep.Filtered = FilterEmpty
	case !hasAgent:
		rep.Filtered = FilterNoAgentReply
	}
	c.Turns = turns
	return c, rep
}
