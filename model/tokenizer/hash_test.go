package tokenizer

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// gpt2Hash pins the canonical serialisation: a change to its layout, or to
// what GPT2 builds, must be deliberate.
const gpt2Hash = "sha256:a48854faab1ff187be1316fce8a2daa2e203bb746a965439c02db238c2cc3f5d"

func TestHashGPT2(t *testing.T) {
	if got := mustGPT2(t).Hash(); got != gpt2Hash {
		t.Errorf("GPT2().Hash() = %s, want %s", got, gpt2Hash)
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(gpt2Hash) {
		t.Errorf("hash %q is not sha256:<hex>", gpt2Hash)
	}
}

// TestHashIgnoresFormatting loads the tiny model with its vocab.json keys
// shuffled and re-spaced: the hash must not change.
func TestHashIgnoresFormatting(t *testing.T) {
	base := loadTiny(t, tinyVocab, tinyMerges).Hash()
	var entries []string
	for id, s := range tinyTokens {
		k, _ := json.Marshal(s)
		entries = append(entries, string(k)+" : "+strconv.Itoa(id))
	}
	r := rand.New(rand.NewPCG(3, 4))
	r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	shuffled := "{\n\t" + strings.Join(entries, ",\n\t") + "\n}\n"
	if got := loadTiny(t, shuffled, tinyMerges).Hash(); got != base {
		t.Errorf("hash with shuffled keys %s, want %s", got, base)
	}
}

// TestHashSeesModelChanges checks that what changes encoding or decoding
// changes the hash.
func TestHashSeesModelChanges(t *testing.T) {
	base := loadTiny(t, tinyVocab, tinyMerges).Hash()
	with := func(edit func(toks []string)) string {
		toks := slices.Clone(tinyTokens)
		edit(toks)
		return "{" + vocabEntries(toks) + "}"
	}
	tests := []struct {
		name, vocab, merges string
	}{
		{"merge order", tinyVocab, "#version: 0.2\na b\nĠ a\nab c\n"},
		{"special text", with(func(toks []string) { toks[259] = "<|end|>" }), tinyMerges},
		{"ids", with(func(toks []string) { toks[256], toks[257] = toks[257], toks[256] }), tinyMerges},
		{"fewer merges", tinyVocab, "#version: 0.2\na b\nab c\n"},
	}
	for _, tt := range tests {
		if got := loadTiny(t, tt.vocab, tt.merges).Hash(); got == base {
			t.Errorf("%s: hash unchanged", tt.name)
		}
	}
}

func loadTiny(t *testing.T, vocab, merges string) *Tokenizer {
	t.Helper()
	tk, err := Load(strings.NewReader(vocab), strings.NewReader(merges))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}
