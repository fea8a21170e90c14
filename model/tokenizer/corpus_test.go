package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/nebras-ai/nebras/internal/sgd"
	"github.com/tiktoken-go/tokenizer/codec"
)

// stressFragments are the building blocks of the stress corpus: the cases
// where a pre-tokenizer or a BPE implementation is most likely to go wrong.
var stressFragments = []string{
	// Contractions, in every case and with curly and doubled quotes.
	"it's", "don't", "I'm", "we'll", "they've", "you're", "he'd", "IT'S", "WE'LL",
	"DON'T", "'S", "'s", "'T", "'Re", "'rE", "'ll", "'LL", "'l", "'r", "'v", "'",
	"''", "'''s", "it’s", "‘quoted’", "“double”", "l'amour", "rock'n'roll", "'99",
	"' s", "''ll", "'\u0301s", "'ſ",
	// Numbers in several scripts and forms.
	"0", "123", "3.14159", "1,000,000", "12:30", "2024-01-02", "٣٤٥", "१२३", "１２３",
	"²³", "½¾", "Ⅻ", "⑩", "𝟘𝟙𝟚", "१०", "๓๔", "〇", "৪", "0x1F", "1e-9", "#1",
	// Letters of many scripts, some outside the Basic Multilingual Plane.
	"Hello", "world", "naïve", "café", "Ελληνικά", "Русский текст", "עברית",
	"العربية", "हिन्दी", "ภาษาไทย", "中文字符", "日本語のテキスト", "カタカナ",
	"한국어", "ქართული", "Հայերեն", "ᚠᚢᚦ", "𐌰𐌱𐌲", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ǅ", "ß", "ŉ",
	"İstanbul", "ﬁ", "Ⓐ", "ǈ", "ʰ", "ᵃ", "𝒜",
	// Emoji, modifiers, ZWJ sequences, flags, keycaps, variation selectors.
	"😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇺🇸", "❤️", "🧑🏿‍🚀", "1️⃣", "☺︎",
	"🙂🙃", "🤷‍♀️", "👩🏻‍❤️‍💋‍👨🏼",
	// Combining marks, alone and stacked.
	"e\u0301", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇", "a\u0308\u0308\u0308", "\u0301", " \u0301",
	"\u0301\u0302x", "क्षि", "ก่", "각",
	// White space: ASCII, Unicode spaces, line breaks, and look-alikes that
	// are not \s in regexp2 (U+001C..U+001F, U+200B, U+FEFF, U+180E).
	" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", "\v", "\f",
	"\u00a0", "\u2009", "\u3000", "\u0085", "\u001c", "\u001d", "\u001e", "\u001f",
	"\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u1680", "\ufeff", "\u180e",
	" \u00a0 ", "\u3000\u3000", "\n \n", " \t\n", "\u2003x",
	// Punctuation and symbols.
	"...", "!!!", "?!", "—", "–", "«»", "„“", "()", "[]{}", "<|endoftext|>",
	"<|", "|>", "<|endoftext", "@#$%^&*", "---", "===", "~~~", "©®™", "§¶", "•",
	"→", "∑∫", "¿¡", "‰", "※", "€$£¥", "\\", "/*", "*/", "->", "=>", "::", "_",
	"__init__", "snake_case", "^_^", ":)", "¯\\_(ツ)_/¯",
	// Control characters, including C1 and format characters.
	"\x00", "\x01", "\x07", "\x1b[0m", "\x7f", "\u0080", "\u009f", "\u00ad", "\u200d",
	"\u200e", "\u2066", "\ufffd", "\U000e0041",
	// Everyday text.
	"https://example.com/a?b=c&d=e#frag", "john.doe+tag@example.org",
	"func main() { fmt.Println(\"hi\") }", `{"key": [1, 2.5, null]}`,
	"I want to make a restaurant reservation for 2 people at half past 11.",
	"The quick brown fox jumps over the lazy dog.", "Mr. O'Neil's dog's bone",
	"e.g.", "U.S.A.", "$19.99", "50%", "#hashtag", "@mention",
}

// longFragments exceed both this package's scan limit and tiktoken-go's
// (96 bytes), so both O(n log n) merge loops run.
var longFragments = []string{
	strings.Repeat(" ", 100), strings.Repeat(" ", 300) + "x", strings.Repeat("-", 200),
	strings.Repeat("a", 300), strings.Repeat("🙂", 50), strings.Repeat("\n", 130),
	strings.Repeat("ab", 90), strings.Repeat("=-", 70), strings.Repeat("1", 150),
	strings.Repeat("\u3000", 40), strings.Repeat("!?", 80), strings.Repeat("é", 100),
	strings.Repeat("z\u0301", 60), strings.Repeat(".", 97),
	"Pneumonoultramicroscopicsilicovolcanoconiosis" + strings.Repeat("is", 40),
}

var stressSeparators = []string{"", "", " ", " ", "  ", "\n", "\t", "\r\n", "\u00a0", "\u3000", "'", "’"}

// randomRune returns a valid rune (no surrogates) from a mix of ranges,
// weighted towards the ones text uses.
func randomRune(r *rand.Rand) rune {
	for {
		var c rune
		switch r.IntN(6) {
		case 0:
			c = rune(r.IntN(0x80))
		case 1:
			c = rune(0x80 + r.IntN(0x780))
		case 2:
			c = rune(r.IntN(0x10000))
		case 3:
			c = rune(0x1f300 + r.IntN(0x700)) // emoji
		case 4:
			c = rune(0x10000 + r.IntN(0x20000))
		default:
			c = rune(r.IntN(utf8.MaxRune + 1))
		}
		if utf8.ValidRune(c) {
			return c
		}
	}
}

// stressCorpus is a deterministic corpus of about 0.7 MB built from the
// fragments above and random code points; it exercises every branch of the
// pattern and the long-piece merge loops.
var stressCorpus = sync.OnceValue(func() []string {
	r := rand.New(rand.NewPCG(0x5eed, 2024))
	var texts []string
	texts = append(texts, stressFragments...)
	texts = append(texts, longFragments...)
	var b strings.Builder
	for range 4000 {
		b.Reset()
		for range 1 + r.IntN(40) {
			switch k := r.IntN(20); {
			case k < 13:
				b.WriteString(stressFragments[r.IntN(len(stressFragments))])
			case k < 14:
				b.WriteString(longFragments[r.IntN(len(longFragments))])
			default:
				for range 1 + r.IntN(6) {
					b.WriteRune(randomRune(r))
				}
			}
			b.WriteString(stressSeparators[r.IntN(len(stressSeparators))])
		}
		texts = append(texts, b.String())
	}
	return texts
})

func corpusBytes(texts []string) int64 {
	var n int64
	for _, s := range texts {
		n += int64(len(s))
	}
	return n
}

// sgdTurns returns the text of every turn of the SGD corpus, or skips.
func sgdTurns(tb testing.TB) []string {
	tb.Helper()
	path := sgd.Path(tb)
	turns, err := loadSGD(path)
	if err != nil {
		tb.Fatal(err)
	}
	return turns
}

var sgdCache struct {
	sync.Mutex
	path  string
	turns []string
}

func loadSGD(path string) ([]string, error) {
	sgdCache.Lock()
	defer sgdCache.Unlock()
	if sgdCache.path == path {
		return sgdCache.turns, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var turns []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for line := 1; sc.Scan(); line++ {
		var d struct {
			Turns []struct{ Text string } `json:"turns"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, errors.Join(errors.New(path), err)
		}
		for _, t := range d.Turns {
			turns = append(turns, t.Text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sgdCache.path, sgdCache.turns = path, turns
	return turns, nil
}

// gpt2FilesEnv names a directory with GPT-2's encoder.json and vocab.bpe (or
// vocab.json and merges.txt).
const gpt2FilesEnv = "NEBRAS_GPT2_DIR"

// gpt2Files returns the paths of GPT-2's original vocab and merges files:
// $NEBRAS_GPT2_DIR, else ../shared/gpt2 beside the module root, found as
// sgd.Find finds the corpus. It skips the test when they are absent.
func gpt2Files(tb testing.TB) (vocab, merges string) {
	tb.Helper()
	dir := os.Getenv(gpt2FilesEnv)
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			tb.Fatal(err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "gpt2")
				break
			}
			if filepath.Dir(d) == d {
				tb.Skipf("skipping: no go.mod above %s to find ../shared/gpt2 from; set %s", wd, gpt2FilesEnv)
			}
		}
	}
	for _, names := range [][2]string{{"encoder.json", "vocab.bpe"}, {VocabFile, MergesFile}} {
		v, m := filepath.Join(dir, names[0]), filepath.Join(dir, names[1])
		if fileExists(v) && fileExists(m) {
			return v, m
		}
	}
	tb.Skipf("skipping: GPT-2 files (encoder.json+vocab.bpe or vocab.json+merges.txt) not found in %s; set %s", dir, gpt2FilesEnv)
	return "", ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func mustGPT2(tb testing.TB) *Tokenizer {
	tb.Helper()
	t, err := GPT2()
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// tiktokenIDs returns what the reference implementation gives for s.
func tiktokenIDs(tb testing.TB, c *codec.Codec, s string) []int {
	tb.Helper()
	ids, _, err := c.Encode(s)
	if err != nil {
		tb.Errorf("tiktoken-go Encode(%q): %v", s, err) // not Fatal: runs on worker goroutines
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}
