package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// byteTokens returns the 256 byte-level tokens in GPT-2's id order.
func byteTokens() []string {
	var toks []string
	for _, b := range bl.order {
		toks = append(toks, string(bl.toRune[b]))
	}
	return toks
}

// vocabEntries renders tokens as the members of a JSON object, by id.
func vocabEntries(tokens []string) string {
	var parts []string
	for id, s := range tokens {
		k, _ := json.Marshal(s)
		parts = append(parts, string(k)+":"+strconv.Itoa(id))
	}
	return strings.Join(parts, ",")
}

// tiny is a small valid model: the bytes, "ab", "abc", " a" (as "Ġa") and a
// special token.
var (
	tinyTokens = append(byteTokens(), "ab", "abc", "Ġa", "<|endoftext|>")
	tinyVocab  = "{" + vocabEntries(tinyTokens) + "}"
	tinyMerges = "#version: 0.2\na b\nab c\nĠ a\n"
)

func TestLoadTiny(t *testing.T) {
	tests := []struct {
		name   string
		vocab  string
		merges string
	}{
		{"canonical", tinyVocab, tinyMerges},
		{"no header", tinyVocab, "a b\nab c\nĠ a\n"},
		{"no final newline", tinyVocab, "#version: 0.2\na b\nab c\nĠ a"},
		{"CRLF", tinyVocab, "#version: 0.2\r\na b\r\nab c\r\nĠ a\r\n"},
		{"indented JSON", indentJSON(t, tinyVocab), tinyMerges},
	}
	var hash string
	for _, tt := range tests {
		tk, err := Load(strings.NewReader(tt.vocab), strings.NewReader(tt.merges))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if hash == "" {
			hash = tk.Hash()
		} else if tk.Hash() != hash {
			t.Errorf("%s: Hash() = %s, want %s as for the canonical files", tt.name, tk.Hash(), hash)
		}
		if got, want := tk.VocabSize(), 260; got != want {
			t.Errorf("%s: VocabSize() = %d, want %d", tt.name, got, want)
		}
		if got, want := tk.EOT(), 259; got != want {
			t.Errorf("%s: EOT() = %d, want %d", tt.name, got, want)
		}
		if got, want := tk.Encode("abc a<|endoftext|>ab"), []int{257, 258, 259, 256}; !slices.Equal(got, want) {
			t.Errorf("%s: Encode = %v, want %v", tt.name, got, want)
		}
	}
}

func indentJSON(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "\t"); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestLoadErrors(t *testing.T) {
	entries := vocabEntries(tinyTokens)
	noA := slices.Clone(tinyTokens)
	noA[slices.Index(noA, "a")] = "zz"
	tests := []struct {
		name    string
		vocab   string
		merges  string
		wantErr string
	}{
		{"empty vocab", "", tinyMerges, "vocab.json: EOF"},
		{"vocab array", "[]", tinyMerges, "want a JSON object"},
		{"truncated vocab", "{" + entries, tinyMerges, "vocab.json"},
		{"string id", "{" + entries + `,"xyz":"1"}`, tinyMerges, `token "xyz": want an integer id`},
		{"float id", "{" + entries + `,"xyz":260.5}`, tinyMerges, `id 260.5 is not an integer`},
		{"negative id", "{" + entries + `,"xyz":-1}`, tinyMerges, `id -1 is not an integer`},
		{"huge id", "{" + entries + `,"xyz":99999999999}`, tinyMerges, `is not an integer in [0, 2^31)`},
		{"object id", "{" + entries + `,"xyz":{}}`, tinyMerges, `want an integer id`},
		{"duplicate token", "{" + entries + `,"ab":260}`, tinyMerges, `token "ab" appears twice`},
		{"duplicate id", "{" + entries + `,"xyz":3}`, tinyMerges, `both have id 3`},
		{"id gap", "{" + entries + `,"xyz":261}`, tinyMerges, `has id 261, but with 261 tokens the ids must be 0..260`},
		{"trailing data", tinyVocab + "{}", tinyMerges, "unexpected data after the JSON object"},
		{"empty token", "{" + entries + `,"":260}`, tinyMerges, "id 260 is the empty string"},
		{"missing byte", "{" + vocabEntries(noA) + "}", tinyMerges, `no token for byte 0x61 ("a")`},
		{"one token", tinyVocab, "#version: 0.2\na b\nabc\n", `merges.txt line 3: want two tokens separated by one space, got "abc"`},
		{"three tokens", tinyVocab, "a b c\n", `merges.txt line 1: want two tokens`},
		{"two spaces", tinyVocab, "a  b\n", `merges.txt line 1: want two tokens`},
		{"empty line", tinyVocab, "a b\n\nab c\n", `merges.txt line 2: want two tokens`},
		{"unknown token", tinyVocab, "a b\nab qq\n", `merges.txt line 2: "qq" is not in vocab.json`},
		{"unknown result", tinyVocab, "a b\nb c\n", `merges.txt line 2: the merged token "bc" is not in vocab.json`},
		{"repeated merge", tinyVocab, "a b\nab c\na b\n", `merges.txt line 3: repeats the merge on line 1`},
		{"unreachable operand", "{" + entries + `,"<|endoftext|>a":260}`, tinyMerges + "<|endoftext|> a\n", `line 5: "<|endoftext|>" is neither a byte nor the result of a merge`},
		{"header later", tinyVocab, "a b\n#version: 0.2\n", `line 2: "#version:" is not in vocab.json`},
	}
	for _, tt := range tests {
		_, err := Load(strings.NewReader(tt.vocab), strings.NewReader(tt.merges))
		if err == nil {
			t.Errorf("%s: Load succeeded, want an error containing %q", tt.name, tt.wantErr)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.wantErr) || !strings.HasPrefix(msg, "tokenizer: ") || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line starting %q and containing %q", tt.name, msg, "tokenizer: ", tt.wantErr)
		}
	}
}

func TestSaveLoadDir(t *testing.T) {
	tk := mustGPT2(t)
	dir := filepath.Join(t.TempDir(), "new", "dir")
	loaded := saveAndReload(t, tk, dir)
	for _, s := range stressCorpus()[:300] {
		if got, want := loaded.Encode(s), tk.Encode(s); !slices.Equal(got, want) {
			t.Fatalf("loaded Encode(%q) = %v, want %v", s, got, want)
		}
	}
	// Saving again over the same files gives the same bytes and leaves no
	// temporary files behind.
	before, _ := os.ReadFile(filepath.Join(dir, VocabFile))
	if err := loaded.Save(dir); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, VocabFile))
	if !bytes.Equal(before, after) {
		t.Error("a second Save wrote a different vocab.json")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{MergesFile, VocabFile}; !slices.Equal(names, want) {
		t.Errorf("dir holds %q, want %q", names, want)
	}
}

func TestSaveErrors(t *testing.T) {
	tk := mustGPT2(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tk.Save(filepath.Join(file, "sub")); err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") {
		t.Errorf("Save under a file: error %v, want one starting with %q", err, "tokenizer: ")
	}
}

func TestOpen(t *testing.T) {
	gpt2, err := Open("gpt2")
	if err != nil || gpt2 != mustGPT2(t) {
		t.Fatalf(`Open("gpt2") = %p, %v; want GPT2()`, gpt2, err)
	}
	dir := saveGPT2(t)
	fromDir, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fromDir.Hash() != gpt2.Hash() {
		t.Errorf("Open(dir).Hash() = %s, want %s", fromDir.Hash(), gpt2.Hash())
	}
	for _, spec := range []string{"", filepath.Join(t.TempDir(), "missing")} {
		if _, err := Open(spec); err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") {
			t.Errorf("Open(%q) error = %v, want a tokenizer error", spec, err)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "a", `"\`, "<|endoftext|>", "\x00\x1f\n\t\r", "\u2028\u2029", "ĠĊ日本", "\u007f"} {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil || got != s {
			t.Errorf("appendJSONString(%q) = %s, decodes to %q, %v", s, appendJSONString(nil, s), got, err)
		}
	}
}

// FuzzLoad feeds arbitrary vocab.json and merges.txt to Load, which must
// return an error or a tokenizer that survives Save and LoadDir unchanged.
func FuzzLoad(f *testing.F) {
	f.Add(tinyVocab, tinyMerges)
	f.Add(tinyVocab, "a b\n")
	f.Add(`{"a":0}`, "")
	f.Add("{"+vocabEntries(tinyTokens)+`,"xyz":260}`, "a b\nab c\nĠ a\nx a\n")
	f.Fuzz(func(t *testing.T, vocab, merges string) {
		tk, err := Load(strings.NewReader(vocab), strings.NewReader(merges))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		saveAndReload(t, tk, t.TempDir())
		s := "abc a<|endoftext|>ab\x00ÿ"
		if got, err := tk.Decode(tk.EncodeOrdinary(s)); err != nil || got != s {
			t.Fatalf("round trip of %q = %q, %v", s, got, err)
		}
	})
}

// FuzzLoadMerges reaches further into Load than FuzzLoad, whose random
// vocab.json rarely parses: the vocabulary is the bytes plus whatever the
// fuzzed merges.txt lines join, plus extra unreachable tokens, so most
// inputs load and then must encode and decode text losslessly.
func FuzzLoadMerges(f *testing.F) {
	f.Add(tinyMerges, "<|endoftext|>")
	f.Add("Ġ t\nĠ a\nh e\ni n\nr e\no n\nĠt he\n", "<s>\n</s>")
	f.Add("a a\naa aa\naaaa a\n", "")
	f.Fuzz(func(t *testing.T, merges, extra string) {
		tokens := byteTokens()
		seen := make(map[string]bool)
		for _, s := range tokens {
			seen[s] = true
		}
		add := func(s string) {
			if s != "" && !seen[s] {
				seen[s] = true
				tokens = append(tokens, s)
			}
		}
		for line := range strings.Lines(merges) {
			if l, r, ok := strings.Cut(strings.TrimRight(line, "\r\n"), " "); ok {
				add(l + r)
			}
		}
		for s := range strings.Lines(extra) {
			add(strings.TrimRight(s, "\n"))
		}
		tk, err := Load(strings.NewReader("{"+vocabEntries(tokens)+"}"), strings.NewReader(merges))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		for _, s := range []string{"the cat", merges, extra, "\x00\xff ĠaĠ"} {
			if got, err := tk.Decode(tk.Encode(s)); err != nil || got != sanitize(s) {
				t.Fatalf("round trip of %q = %q, %v", s, got, err)
			}
		}
		saveAndReload(t, tk, t.TempDir())
	})
}

// saveAndReload saves tk into dir, loads it back, and fails unless the
// loaded tokenizer has the same Hash.
func saveAndReload(t *testing.T, tk *Tokenizer, dir string) *Tokenizer {
	t.Helper()
	if err := tk.Save(dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("LoadDir of saved files: %v", err)
	}
	if loaded.Hash() != tk.Hash() {
		t.Fatalf("LoadDir(Save(tk)).Hash() = %s, want %s", loaded.Hash(), tk.Hash())
	}
	return loaded
}
