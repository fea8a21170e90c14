package transforms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ChatTemplateName identifies the chat template below. It is recorded in the
// dataset manifest so training, eval and serving can refuse a dataset
// rendered with a template they do not speak.
//
// The template (nebras-plain-v1) renders a conversation as plain text:
//
//	Customer: <text>\n      one line per context turn, role prefix + ": " + text + "\n"
//	Agent: <text>\n         (roles: Customer, Agent, System)
//	Agent: <reply><|endoftext|>
//
// The prompt is every context turn followed by "Agent:"; the completion is
// " " + reply and the end-of-text token. The loss mask covers the completion
// only. Turn texts never begin or end with white space (cleaning trims
// them), so every piece boundary is also a GPT-2 pre-token boundary and
// tokenizing the pieces separately gives exactly the ids of tokenizing the
// whole rendered string; that is what lets each turn be tokenized once and
// reused by every example that contains it.
const ChatTemplateName = "nebras-plain-v1"

// RolePrefix returns the template's prefix for a role, without the space.
func RolePrefix(r Role) string {
	switch r {
	case RoleCustomer:
		return "Customer:"
	case RoleAgent:
		return "Agent:"
	case RoleSystem:
		return "System:"
	}
	return string(r) + ":"
}

// RenderPrompt renders turns as the template's prompt: every turn on its own
// line, then "Agent:" for the model to continue. Serving uses it to render a
// live conversation exactly as training saw it.
func RenderPrompt(turns []Turn) string {
	var b strings.Builder
	for _, t := range turns {
		b.WriteString(RolePrefix(t.Role))
		b.WriteByte(' ')
		b.WriteString(t.Text)
		b.WriteByte('\n')
	}
	b.WriteString(RolePrefix(RoleAgent))
	return b.String()
}

// Encoder is the part of a tokenizer the template needs.
type Encoder interface {
	// AppendOrdinary appends the ids of text, treating special-token text
	// as ordinary text (a customer typing "<|endoftext|>" must not end the
	// sequence).
	AppendOrdinary(dst []int, text string) []int
	// DecodeBytes returns the bytes of ids.
	DecodeBytes(ids []int) ([]byte, error)
	// EOT is the id of the end-of-text token that ends every reply.
	EOT() int
}

// TokenizedTurn is a cleaned turn with the ids of " "+Text, the form in
// which a turn's text appears both in a context line and as a reply.
type TokenizedTurn struct {
	Role   Role
	Text   string
	Tokens []int32
}

// TokenizeTurns tokenizes each turn's text once.
func TokenizeTurns(enc Encoder, turns []Turn) []TokenizedTurn {
	out := make([]TokenizedTurn, len(turns))
	var scratch []int
	for i, t := range turns {
		scratch = enc.AppendOrdinary(scratch[:0], " "+t.Text)
		ids := make([]int32, len(scratch))
		for k, id := range scratch {
			ids[k] = int32(id)
		}
		out[i] = TokenizedTurn{Role: t.Role, Text: t.Text, Tokens: ids}
	}
	return out
}

// Example is one training example: the context before an agent turn and
// that agent turn as the target.
type Example struct {
	ExampleID      string
	ConversationID string
	TurnIndex      int32
	// InputIDs is prompt followed by completion; positions from TargetStart
	// on are the reply tokens and the end-of-text token, the only ones
	// the loss is computed on.
	InputIDs    []int32
	TargetStart int32
	// Context is the decoded prompt actually kept (after left truncation),
	// ending in "Agent:"; Reply is the agent's reply text.
	Context string
	Reply   string
	// Truncated reports that older context was cut to fit MaxSeqLen.
	Truncated bool
}

// ExampleDropReplyTooLong counts agent replies that cannot fit MaxSeqLen even
// with no context at all. Dropping them is honest; cutting a reply would
// teach the model to stop mid-sentence without an end-of-text token.
const ExampleDropReplyTooLong = "reply_too_long"

// Template renders tokenized turns into examples. Build it once per
// tokenizer with NewTemplate; it is safe for concurrent use.
type Template struct {
	enc     Encoder
	prefix  map[Role][]int32
	newline []int32
	eot     int32
}

// NewTemplate pre-tokenizes the template's fixed pieces.
func NewTemplate(enc Encoder) (*Template, error) {
	if enc == nil {
		return nil, errors.New("template: nil encoder")
	}
	t := &Template{enc: enc, prefix: make(map[Role][]int32), eot: int32(enc.EOT())}
	for _, r := range []Role{RoleCustomer, RoleAgent, RoleSystem} {
		t.prefix[r] = toInt32(enc.AppendOrdinary(nil, RolePrefix(r)))
	}
	t.newline = toInt32(enc.AppendOrdinary(nil, "\n"))
	return t, nil
}

func toInt32(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// Examples emits one example per agent turn of a conversation: the previous
// turns rendered as context, truncated from the left (oldest tokens first)
// so the whole example fits maxSeqLen tokens, then the reply. It returns how
// many agent turns were dropped because the reply alone does not fit.
func (t *Template) Examples(conversationID string, turns []TokenizedTurn, maxSeqLen int, emit func(Example)) (dropped int, err error) {
	agent := t.prefix[RoleAgent]
	var ctx []int32 // rendered context of turns[:i], grown as i advances
	for i, turn := range turns {
		if turn.Role == RoleAgent {
			need := len(agent) + len(turn.Tokens) + 1
			if need > maxSeqLen {
				dropped++
			} else {
				keep := min(len(ctx), maxSeqLen-need)
				ids := make([]int32, 0, keep+need)
				ids = append(ids, ctx[len(ctx)-keep:]...)
				ids = append(ids, agent...)
				targetStart := len(ids)
				ids = append(ids, turn.Tokens...)
				ids = append(ids, t.eot)
				context, err := t.decode(ids[:targetStart])
				if err != nil {
					return dropped, fmt.Errorf("conversation %s turn %d: %w", conversationID, i, err)
				}
				emit(Example{
					ExampleID:      conversationID + "#" + strconv.Itoa(i),
					ConversationID: conversationID,
					TurnIndex:      int32(i),
					InputIDs:       ids,
					TargetStart:    int32(targetStart),
					Context:        context,
					Reply:          turn.Text,
					Truncated:      keep < len(ctx),
				})
			}
		}
		p := t.prefix[turn.Role]
		if p == nil {
			return dropped, fmt.Errorf("conversation %s turn %d: unknown role %q", conversationID, i, turn.Role)
		}
		ctx = append(ctx, p...)
		ctx = append(ctx, turn.Tokens...)
		ctx = append(ctx, t.newline...)
	}
	return dropped, nil
}

func (t *Template) decode(ids []int32) (string, error) {
	wide := make([]int, len(ids))
	for i, id := range ids {
		wide[i] = int(id)
	}
	b, err := t.enc.DecodeBytes(wide)
	if err != nil {
		return "", err
	}
	// A left cut can split a multi-byte character's bytes across tokens.
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	}
	return string(b), nil
}
