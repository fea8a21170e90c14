package transforms

import "testing"

func TestContentKey(t *testing.T) {
	base := []Turn{{Role: RoleCustomer, Text: "My order is late"}, {Role: RoleAgent, Text: "Sorry, let me check."}}
	tests := []struct {
		name  string
		turns []Turn
		same  bool
	}{
		{"identical", []Turn{{Role: RoleCustomer, Text: "My order is late"}, {Role: RoleAgent, Text: "Sorry, let me check."}}, true},
		{"case and spacing", []Turn{{Role: RoleCustomer, Text: "my  ORDER is\nlate "}, {Role: RoleAgent, Text: " sorry, let me CHECK."}}, true},
		{"different role", []Turn{{Role: RoleAgent, Text: "My order is late"}, {Role: RoleAgent, Text: "Sorry, let me check."}}, false},
		{"different text", []Turn{{Role: RoleCustomer, Text: "My order is lost"}, {Role: RoleAgent, Text: "Sorry, let me check."}}, false},
		{"turn boundary moved", []Turn{{Role: RoleCustomer, Text: "My order is late Sorry,"}, {Role: RoleAgent, Text: "let me check."}}, false},
		{"extra turn", append(append([]Turn{}, base...), Turn{Role: RoleCustomer, Text: "thanks"}), false},
		{"unicode case", []Turn{{Role: RoleCustomer, Text: "MY ORDER IS LATE"}, {Role: RoleAgent, Text: "SORRY, LET ME CHECK."}}, true},
	}
	want := ContentKey(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContentKey(tt.turns) == want; got != tt.same {
				t.Errorf("ContentKey equal = %v, want %v", got, tt.same)
			}
		})
	}
	if ContentKey([]Turn{{Role: RoleCustomer, Text: "ÉTÉ"}}) != ContentKey([]Turn{{Role: RoleCustomer, Text: "été"}}) {
		t.Error("non-ASCII case folding: ÉTÉ and été should share a key")
	}
}
