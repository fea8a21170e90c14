package tokenizer

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestEncodeSpecials(t *testing.T) {
	tk := mustGPT2(t)
	tests := []struct {
		in       string
		encode   []int
		ordinary []int
	}{
		{"", []int{}, []int{}},
		{EndOfText, []int{50256}, []int{27, 91, 437, 1659, 5239, 91, 29}},
		{"a" + EndOfText + "b", []int{64, 50256, 65}, nil},
		{EndOfText + EndOfText, []int{50256, 50256}, nil},
		{"Hi." + EndOfText + " Bye", []int{17250, 13, 50256, 47843}, nil},
		{"<|endoftext|", []int{27, 91, 437, 1659, 5239, 91}, []int{27, 91, 437, 1659, 5239, 91}},
		{"<|endoftext|>>", []int{50256, 29}, nil},
		{"<<|endoftext|>", []int{27, 50256}, nil},
	}
	for _, tt := range tests {
		if got := tk.Encode(tt.in); !slices.Equal(got, tt.encode) {
			t.Errorf("Encode(%q) = %v, want %v", tt.in, got, tt.encode)
		}
		if tt.ordinary != nil {
			if got := tk.EncodeOrdinary(tt.in); !slices.Equal(got, tt.ordinary) {
				t.Errorf("EncodeOrdinary(%q) = %v, want %v", tt.in, got, tt.ordinary)
			}
		}
		if got, err := tk.Decode(tt.encode); err != nil || got != tt.in {
			t.Errorf("Decode(Encode(%q)) = %q, %v", tt.in, got, err)
		}
	}
}

// TestEncodeOverlappingSpecials checks the tie rules of Encode: the special
// that starts first wins, then the longest.
func TestEncodeOverlappingSpecials(t *testing.T) {
	tk, err := Train(t.Context(), slices.Values([]string{"abc abc abd"}), TrainOptions{
		VocabSize:     270,
		SpecialTokens: []string{"<a>", "<a><b>", "b><", "<c>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sp := tk.SpecialTokens()
	tests := []struct {
		in   string
		want []int
	}{
		{"<a><b>", []int{sp["<a><b>"]}},
		{"<a>", []int{sp["<a>"]}},
		{"x<c><a>", append(tk.EncodeOrdinary("x"), sp["<c>"], sp["<a>"])},
		{"<a>b><c>", append([]int{sp["<a>"], sp["b><"]}, tk.EncodeOrdinary("c>")...)},
	}
	for _, tt := range tests {
		if got := tk.Encode(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tk := mustGPT2(t)
	for _, ids := range [][]int{{50257}, {1, -1}, {1 << 40}} {
		if _, err := tk.Decode(ids); !errors.Is(err, ErrUnknownID) {
			t.Errorf("Decode(%v) error = %v, want ErrUnknownID", ids, err)
		}
		if _, err := tk.DecodeBytes(ids); !errors.Is(err, ErrUnknownID) {
			t.Errorf("DecodeBytes(%v) error = %v, want ErrUnknownID", ids, err)
		}
	}
	// A character cut in two decodes to its raw bytes.
	ids := tk.EncodeOrdinary("日")
	if len(ids) < 2 {
		t.Fatalf("EncodeOrdinary(%q) = %v, want at least two tokens", "日", ids)
	}
	b, err := tk.DecodeBytes(ids[:1])
	if err != nil || utf8.Valid(b) || !strings.HasPrefix("日", string(b)) {
		t.Errorf("DecodeBytes(%v) = %q, %v; want a proper prefix of %q", ids[:1], b, err, "日")
	}
}

// TestInvalidUTF8 checks that each invalid byte encodes as U+FFFD would,
// as in tiktoken-go.
func TestInvalidUTF8(t *testing.T) {
	tk := mustGPT2(t)
	ref := newReference(t)
	for _, s := range []string{"\xff", "a\xffb", "\xe2\x82", "ok\xe2\x82 \xf0\x9f\x98", "\xed\xa0\x80", "\xc0\xaf<|endoftext|>"} {
		want := ref.encode(t, s)
		if got := tk.EncodeOrdinary(s); !slices.Equal(got, want) {
			t.Errorf("EncodeOrdinary(%q) = %v, want %v", s, got, want)
		}
		if got := tk.EncodeOrdinary(sanitize(s)); !slices.Equal(got, want) {
			t.Errorf("EncodeOrdinary(sanitize(%q)) = %v, want %v", s, got, want)
		}
	}
}

// TestBPEScanMatchesTree checks the two merge loops against each other on
// pieces short enough for both.
func TestBPEScanMatchesTree(t *testing.T) {
	tk := mustGPT2(t)
	r := rand.New(rand.NewPCG(1, 2))
	var pieces []string
	for _, s := range stressCorpus()[:500] {
		pieces = append(pieces, Pretokenize(s)...)
	}
	// Few distinct bytes make many merges apply; the UTF-8 fragments make
	// byte tokens that merge only in some orders.
	const alphabet = "  aeinst.-\xc3\xa9\xe3\x81"
	for range 2000 {
		b := make([]byte, 1+r.IntN(scanLimit))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		pieces = append(pieces, string(b))
	}
	sc := new(treeScratch)
	for _, p := range pieces {
		if len(p) > scanLimit {
			continue
		}
		scan := tk.bpeScan(nil, p)
		tree := tk.bpeTree(nil, p, sc)
		if !slices.Equal(scan, tree) {
			t.Fatalf("piece %q: scan gives %v, tree gives %v", p, scan, tree)
		}
	}
}

func TestAppendOrdinaryAllocs(t *testing.T) {
	tk := mustGPT2(t)
	text := "I'd like to book a table for 4 at Sino in San Jose, at 7:30 pm tomorrow. Thanks!\n"
	dst := make([]int, 0, 1024)
	tk.AppendOrdinary(dst, text) // fill the cache
	if n := testing.AllocsPerRun(100, func() { dst = tk.AppendOrdinary(dst[:0], text) }); n != 0 {
		t.Errorf("AppendOrdinary allocates %v times per call, want 0", n)
	}
	if raceEnabled {
		return // the race detector makes sync.Pool drop items at random
	}
	long := strings.Repeat("=", 500)
	tk.AppendOrdinary(dst, long) // fill the scratch pool
	if n := testing.AllocsPerRun(100, func() { dst = tk.AppendOrdinary(dst[:0], long) }); n > 0.1 {
		t.Errorf("AppendOrdinary of a long piece allocates %v times per call, want 0", n)
	}
}

// TestConcurrentEncode shares one tokenizer between goroutines; with -race it
// checks that the cache is safe, and without, that its results are right.
func TestConcurrentEncode(t *testing.T) {
	texts := stressCorpus()[:1000]
	tk, err := LoadDir(saveGPT2(t))
	if err != nil {
		t.Fatal(err)
	}
	gpt2 := mustGPT2(t)
	want := make([][]int, len(texts))
	for i, s := range texts {
		want[i] = gpt2.EncodeOrdinary(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range texts {
				j := (i*7 + g*131) % len(texts)
				if got := tk.EncodeOrdinary(texts[j]); !slices.Equal(got, want[j]) {
					t.Errorf("goroutine %d: EncodeOrdinary(%q) = %v, want %v", g, texts[j], got, want[j])
					return
				}
			}
		})
	}
	wg.Wait()
}

// saveGPT2 saves GPT2() into a temporary directory and returns it.
func saveGPT2(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := mustGPT2(t).Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range stressFragments {
		f.Add(s)
	}
	tk := mustGPT2(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tk.EncodeOrdinary(s)
		got, err := tk.Decode(ids)
		if err != nil {
			t.Fatal(err)
		}
		if got != sanitize(s) {
			t.Fatalf("Decode(EncodeOrdinary(%q)) = %q", s, got)
		}
		if got, err := tk.Decode(tk.Encode(s)); err != nil || got != sanitize(s) {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", s, got, err)
		}
	})
}
