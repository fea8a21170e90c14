package transforms_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nebras-ai/nebras/internal/sgd"
	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/transforms"
)

var gpt2 = sync.OnceValues(tokenizer.GPT2)

func template(t testing.TB) (*tokenizer.Tokenizer, *transforms.Template) {
	t.Helper()
	tok, err := gpt2()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := transforms.NewTemplate(tok)
	if err != nil {
		t.Fatal(err)
	}
	return tok, tmpl
}

func examples(t testing.TB, tmpl *transforms.Template, tok *tokenizer.Tokenizer, turns []transforms.Turn, maxLen int) ([]transforms.Example, int) {
	t.Helper()
	var out []transforms.Example
	dropped, err := tmpl.Examples("c1", transforms.TokenizeTurns(tok, turns), maxLen, func(e transforms.Example) { out = append(out, e) })
	if err != nil {
		t.Fatal(err)
	}
	return out, dropped
}

func ints(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

func TestExamplesRenderTemplate(t *testing.T) {
	tok, tmpl := template(t)
	turns := []transforms.Turn{
		{Role: transforms.RoleSystem, Text: "Ticket opened via chat."},
		{Role: transforms.RoleCustomer, Text: "My parcel hasn't arrived."},
		{Role: transforms.RoleAgent, Text: "Sorry! Could you share the order number?"},
		{Role: transforms.RoleCustomer, Text: "It's 12345.\nThanks"},
		{Role: transforms.RoleAgent, Text: "Found it: it ships tomorrow."},
	}
	exs, dropped := examples(t, tmpl, tok, turns, 1024)
	if dropped != 0 || len(exs) != 2 {
		t.Fatalf("%d examples, %d dropped; want 2, 0", len(exs), dropped)
	}
	wantContext := []string{
		"System: Ticket opened via chat.\nCustomer: My parcel hasn't arrived.\nAgent:",
		"System: Ticket opened via chat.\nCustomer: My parcel hasn't arrived.\nAgent: Sorry! Could you share the order number?\nCustomer: It's 12345.\nThanks\nAgent:",
	}
	for i, e := range exs {
		if e.Context != wantContext[i] {
			t.Errorf("example %d context %q, want %q", i, e.Context, wantContext[i])
		}
		if e.Context != transforms.RenderPrompt(turns[:e.TurnIndex]) {
			t.Errorf("example %d context differs from RenderPrompt", i)
		}
		want := append(tok.EncodeOrdinary(e.Context+" "+e.Reply), tok.EOT())
		if !slices.Equal(ints(e.InputIDs), want) {
			t.Errorf("example %d ids\n got %v\nwant %v", i, e.InputIDs, want)
		}
		if got := tok.EncodeOrdinary(e.Context); int(e.TargetStart) != len(got) {
			t.Errorf("example %d target_start %d, want %d", i, e.TargetStart, len(got))
		}
		if e.Truncated || e.ExampleID != "c1#"+[]string{"2", "4"}[i] {
			t.Errorf("example %d: id %q truncated %v", i, e.ExampleID, e.Truncated)
		}
	}
}

func TestExamplesTruncateFromLeft(t *testing.T) {
	tok, tmpl := template(t)
	turns := []transforms.Turn{
		{Role: transforms.RoleCustomer, Text: strings.Repeat("The oldest words come first. ", 20)},
		{Role: transforms.RoleAgent, Text: "Noted."},
		{Role: transforms.RoleCustomer, Text: "Newest question here?"},
		{Role: transforms.RoleAgent, Text: "Newest answer."},
	}
	const maxLen = 40
	exs, _ := examples(t, tmpl, tok, turns, maxLen)
	last := exs[len(exs)-1]
	if len(last.InputIDs) != maxLen || !last.Truncated {
		t.Fatalf("len %d truncated %v, want %d and true", len(last.InputIDs), last.Truncated, maxLen)
	}
	// What is kept is the newest end of the full rendering.
	full := append(tok.EncodeOrdinary(transforms.RenderPrompt(turns[:3])+" Newest answer."), tok.EOT())
	if !slices.Equal(ints(last.InputIDs), full[len(full)-maxLen:]) {
		t.Fatalf("kept ids are not the newest %d of the full example", maxLen)
	}
	if !strings.HasSuffix(last.Context, "Customer: Newest question here?\nAgent:") {
		t.Errorf("context lost the newest turn: %q", last.Context)
	}
}

func TestExamplesDropReplyTooLong(t *testing.T) {
	tok, tmpl := template(t)
	turns := []transforms.Turn{
		{Role: transforms.RoleCustomer, Text: "Hi"},
		{Role: transforms.RoleAgent, Text: strings.Repeat("word ", 100) + "end"},
		{Role: transforms.RoleCustomer, Text: "ok"},
		{Role: transforms.RoleAgent, Text: "Short."},
	}
	exs, dropped := examples(t, tmpl, tok, turns, 32)
	if dropped != 1 || len(exs) != 1 || exs[0].Reply != "Short." {
		t.Fatalf("dropped %d, examples %+v; want the long reply dropped and the short one kept", dropped, exs)
	}
	if len(exs[0].InputIDs) > 32 {
		t.Fatalf("example has %d tokens, max 32", len(exs[0].InputIDs))
	}
}

func TestExamplesSpecialTextIsOrdinary(t *testing.T) {
	tok, tmpl := template(t)
	turns := []transforms.Turn{
		{Role: transforms.RoleCustomer, Text: "What does <|endoftext|> mean?"},
		{Role: transforms.RoleAgent, Text: "It is <|endoftext|>, a marker."},
	}
	exs, _ := examples(t, tmpl, tok, turns, 1024)
	ids := exs[0].InputIDs
	for i, id := range ids[:len(ids)-1] {
		if int(id) == tok.EOT() {
			t.Fatalf("text <|endoftext|> became the special token at position %d", i)
		}
	}
}

// TestExamplesMatchWholeTokenizationOnSGD checks, on real dialogue, that
// assembling examples from per-turn tokens equals tokenizing the rendered
// example in one go.
func TestExamplesMatchWholeTokenizationOnSGD(t *testing.T) {
	f, err := os.Open(sgd.Path(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, tmpl := template(t)
	limit := 7792
	if testing.Short() {
		limit = 300
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n, checked := 0, 0
	for sc.Scan() && n < limit {
		n++
		c, err := transforms.ParseJSONL(sc.Bytes())
		if err != nil {
			t.Fatalf("SGD line %d: %v", n, err)
		}
		clean, rep := transforms.Prepare(c, transforms.PrepareOptions{MaxTurnChars: 8000})
		if rep.Filtered != "" {
			continue
		}
		_, err = tmpl.Examples(clean.ID, transforms.TokenizeTurns(tok, clean.Turns), 1<<20, func(e transforms.Example) {
			want := append(tok.EncodeOrdinary(e.Context+" "+e.Reply), tok.EOT())
			if !slices.Equal(ints(e.InputIDs), want) {
				t.Fatalf("%s: assembled ids differ from whole tokenization", e.ExampleID)
			}
			checked++
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("checked %d examples from %d SGD dialogues", checked, n)
}
