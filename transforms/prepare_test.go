package transforms

import (
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	long := strings.Repeat("x", 101)
	tests := []struct {
		name       string
		turns      []Turn
		filtered   string
		keptTurns  int
		emptyTurns int
	}{
		{"kept", []Turn{{Role: RoleCustomer, Text: "Hi, mail me at jo@example.com"}, {Role: RoleAgent, Text: "Done."}}, "", 2, 0},
		{"empty turn dropped", []Turn{{Role: RoleCustomer, Text: "Help"}, {Role: RoleCustomer, Text: "  <p> </p> "}, {Role: RoleAgent, Text: "Sure."}}, "", 2, 1},
		{"no agent", []Turn{{Role: RoleCustomer, Text: "Hello?"}}, FilterNoAgentReply, 1, 0},
		{"agent turn empty after cleaning", []Turn{{Role: RoleCustomer, Text: "Hello?"}, {Role: RoleAgent, Text: "\u200b"}}, FilterNoAgentReply, 1, 1},
		{"all empty", []Turn{{Role: RoleCustomer, Text: " "}, {Role: RoleAgent, Text: ""}}, FilterEmpty, 0, 2},
		{"too long", []Turn{{Role: RoleCustomer, Text: long}, {Role: RoleAgent, Text: "ok"}}, FilterTurnTooLong, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, rep := Prepare(Conversation{ID: "x", Turns: tt.turns}, PrepareOptions{MaxTurnChars: 100})
			if rep.Filtered != tt.filtered || len(out.Turns) != tt.keptTurns || rep.EmptyTurns != tt.emptyTurns {
				t.Fatalf("filtered %q, %d turns, %d empty; want %q, %d, %d", rep.Filtered, len(out.Turns), rep.EmptyTurns, tt.filtered, tt.keptTurns, tt.emptyTurns)
			}
			for _, turn := range out.Turns {
				if turn.Text != strings.TrimSpace(turn.Text) {
					t.Errorf("turn %q keeps surrounding white space", turn.Text)
				}
			}
		})
	}
	out, rep := Prepare(Conversation{ID: "x", Turns: []Turn{{Role: RoleCustomer, Text: "Mail jo@example.com or call 415-555-0132"}, {Role: RoleAgent, Text: "ok"}}}, PrepareOptions{MaxTurnChars: 1000})
	if rep.Redactions.Email != 1 || rep.Redactions.Phone != 1 || strings.Contains(out.Turns[0].Text, "@") {
		t.Errorf("redactions %+v, text %q", rep.Redactions, out.Turns[0].Text)
	}
}
