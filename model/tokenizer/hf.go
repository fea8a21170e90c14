package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/internal/atomicfile"
)

// File names of the Hugging Face byte-level BPE format.
const (
	VocabFile  = "vocab.json"
	MergesFile = "merges.txt"
)

// mergesHeader is the first line of merges.txt as Hugging Face and OpenAI
// write it.
const mergesHeader = "#version: 0.2"

// Load reads a tokenizer from the Hugging Face files vocab.json (a JSON
// object from token to id) and merges.txt (an optional "#version" line, then
// one merge per line: two tokens separated by a space, in rank order).
// Tokens are written in GPT-2's byte-to-character mapping.
//
// The ids must be 0 to n-1, each once, and the vocabulary must hold the 256
// single-byte tokens. A token that is neither a single byte nor the result of
// a merge can never come out of BPE; such tokens, like GPT-2's
// "<|endoftext|>", are the special tokens, and their text is taken
// literally. Errors name the file and, for merges.txt, the line.
func Load(vocabJSON, mergesTXT io.Reader) (*Tokenizer, error) {
	vocab, err := readVocab(vocabJSON)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(mergesTXT)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: reading %s: %w", MergesFile, err)
	}
	return fromHF(vocab, data)
}

// readVocab parses vocab.json into the token strings by id. It reads the
// object token by token, because decoding into a map would silently keep
// only the last of two equal keys.
func readVocab(r io.Reader) ([]string, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	fail := func(format string, args ...any) ([]string, error) {
		return nil, fmt.Errorf("tokenizer: %s: "+format, append([]any{VocabFile}, args...)...)
	}
	if tok, err := dec.Token(); err != nil {
		return fail("%w", err)
	} else if tok != json.Delim('{') {
		return fail("want a JSON object, got %v", tok)
	}
	var ids []int
	var strs []string
	byText := make(map[string]int)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("%w", err)
		}
		key, ok := tok.(string)
		if !ok { // cannot happen: Token reports object keys as strings
			return fail("want a token string, got %v", tok)
		}
		tok, err = dec.Token()
		if err != nil {
			return fail("%w", err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return fail("token %q: want an integer id, got %v", key, tok)
		}
		id, err := strconv.ParseInt(string(num), 10, 32)
		if err != nil || id < 0 {
			return fail("token %q: id %s is not an integer in [0, 2^31)", key, num)
		}
		if _, dup := byText[key]; dup {
			return fail("token %q appears twice", key)
		}
		byText[key] = int(id)
		ids = append(ids, int(id))
		strs = append(strs, key)
		if len(strs) > maxVocab {
			return fail("more than %d tokens", maxVocab)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return fail("%w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("unexpected data after the JSON object")
	}
	vocab := make([]string, len(strs))
	have := make([]bool, len(strs))
	for i, id := range ids {
		if id >= len(vocab) {
			return fail("token %q has id %d, but with %d tokens the ids must be 0..%d", strs[i], id, len(vocab), len(vocab)-1)
		}
		if have[id] {
			return fail("tokens %q and %q both have id %d", vocab[id], strs[i], id)
		}
		vocab[id], have[id] = strs[i], true
	}
	return vocab, nil
}

// fromHF checks the vocabulary (token strings by id) against merges.txt and
// builds the tokenizer.
func fromHF(vocab []string, mergesTXT []byte) (*Tokenizer, error) {
	index := make(map[string]int32, len(vocab))
	for id, s := range vocab {
		if s == "" {
			return nil, fmt.Errorf("tokenizer: %s: id %d is the empty string", VocabFile, id)
		}
		index[s] = int32(id)
	}
	// A token is reachable if BPE can produce it: a single byte, or the
	// result of a merge.
	reachable := make([]bool, len(vocab))
	for b := range 256 {
		s := string(bl.toRune[b])
		id, ok := index[s]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: no token for byte 0x%02x (%q)", VocabFile, b, s)
		}
		reachable[id] = true
	}

	type mergeLine struct {
		m    merge
		line int
	}
	var lines []mergeLine
	firstLine := make(map[merge]int)
	text := string(mergesTXT)
	for n := 1; text != ""; n++ {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		if n == 1 && strings.HasPrefix(line, "#version") {
			continue
		}
		left, right, ok := strings.Cut(line, " ")
		if !ok || left == "" || right == "" || strings.Contains(right, " ") {
			return nil, fmt.Errorf("tokenizer: %s line %d: want two tokens separated by one space, got %q", MergesFile, n, line)
		}
		l, okl := index[left]
		r, okr := index[right]
		switch {
		case !okl:
			return nil, fmt.Errorf("tokenizer: %s line %d: %q is not in %s", MergesFile, n, left, VocabFile)
		case !okr:
			return nil, fmt.Errorf("tokenizer: %s line %d: %q is not in %s", MergesFile, n, right, VocabFile)
		}
		m := merge{l, r}
		if prev, dup := firstLine[m]; dup {
			return nil, fmt.Errorf("tokenizer: %s line %d: repeats the merge on line %d", MergesFile, n, prev)
		}
		firstLine[m] = n
		res, ok := index[left+right]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s line %d: the merged token %q is not in %s", MergesFile, n, left+right, VocabFile)
		}
		reachable[res] = true
		lines = append(lines, mergeLine{m, n})
	}

	merges := make([]merge, len(lines))
	for i, ml := range lines {
		for _, id := range [2]int32{ml.m.left, ml.m.right} {
			if !reachable[id] {
				return nil, fmt.Errorf("tokenizer: %s line %d: %q is neither a byte nor the result of a merge", MergesFile, ml.line, vocab[id])
			}
		}
		merges[i] = ml.m
	}

	tokens := make([]string, len(vocab))
	special := make([]bool, len(vocab))
	for id, s := range vocab {
		if !reachable[id] {
			special[id] = true
			tokens[id] = s
			continue
		}
		// Reachable tokens are concatenations of byte characters, since
		// merges only join reachable tokens; decode cannot fail, but a
		// mistake here must not go unnoticed.
		raw, ok := bl.decode(s)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: token %q is not in the byte-level alphabet", VocabFile, s)
		}
		tokens[id] = string(raw)
	}
	t, err := newTokenizer(tokens, special, merges)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s and %s: %w", VocabFile, MergesFile, err)
	}
	return t, nil
}

// LoadDir loads the tokenizer in dir/vocab.json and dir/merges.txt.
func LoadDir(dir string) (*Tokenizer, error) {
	vf, err := os.Open(filepath.Join(dir, VocabFile))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer vf.Close()
	mf, err := os.Open(filepath.Join(dir, MergesFile))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer mf.Close()
	t, err := Load(vf, mf)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return t, nil
}

// Open returns the tokenizer spec names: "gpt2" for GPT2(), otherwise a
// directory holding vocab.json and merges.txt, as for LoadDir.
func Open(spec string) (*Tokenizer, error) {
	switch spec {
	case "gpt2":
		return GPT2()
	case "":
		return nil, errors.New(`tokenizer: empty spec; want "gpt2" or a directory with vocab.json and merges.txt`)
	}
	return LoadDir(spec)
}

// Save writes vocab.json and merges.txt into dir, creating dir if needed.
// Each file is written to a temporary file in dir and renamed into place, so
// a reader never sees a partial file. vocab.json lists one token per line in
// id order.
func (t *Tokenizer) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, VocabFile), t.vocabJSON()); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, MergesFile), t.mergesTXT()); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err)
	}
	return nil
}

// hfString returns token id as it appears in the Hugging Face files.
func (t *Tokenizer) hfString(id int32) string {
	if t.special[id] {
		return t.tokens[id]
	}
	return string(bl.encode(nil, []byte(t.tokens[id])))
}

func (t *Tokenizer) vocabJSON() []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	for id := range t.tokens {
		b.WriteString("  ")
		b.Write(appendJSONString(nil, t.hfString(int32(id))))
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(id))
		if id < len(t.tokens)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func (t *Tokenizer) mergesTXT() []byte {
	var b bytes.Buffer
	b.WriteString(mergesHeader + "\n")
	for _, m := range t.merges {
		b.WriteString(t.hfString(m.left))
		b.WriteByte(' ')
		b.WriteString(t.hfString(m.right))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// appendJSONString appends s, valid UTF-8, as a JSON string. Unlike
// encoding/json it leaves <, > and & alone, so that special tokens such as
// "<|endoftext|>" stay readable.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r < 0x20 || r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}
