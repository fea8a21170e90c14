package tokenizer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nebras-ai/nebras/internal/sgd"
)

// trainCorpus is text for training tests: the SGD turns when present (a
// sample, to keep -race runs short), else the stress corpus, which is always
// there and large enough for a vocabulary of a thousand.
func trainCorpus(tb testing.TB) []string {
	tb.Helper()
	texts := stressCorpus()
	if p, err := sgd.Find(); err == nil {
		turns, err := loadSGD(p)
		if err != nil {
			tb.Fatal(err)
		}
		texts = append(slices.Clip(texts[:500]), turns[:min(len(turns), 20000)]...)
	}
	return texts
}

// naiveTrain is the textbook BPE trainer, recounting every pair of every
// word for every merge, with Train's rules. It checks the incremental one.
func naiveTrain(texts []string, vocabSize int, specials []string) ([]string, []merge) {
	counts := make(map[string]int64)
	sp := newSplitter()
	var st []specialToken
	for _, s := range specials {
		st = append(st, specialToken{text: s})
	}
	for _, text := range texts {
		eachSegment(sanitize(text), st, func(plain string, _ *specialToken) {
			for _, p := range sp.pieces(plain) {
				counts[p]++
			}
		})
	}
	var tokens []string
	var byteID [256]int32
	for id, b := range bl.order {
		tokens = append(tokens, string([]byte{b}))
		byteID[b] = int32(id)
	}
	type word struct {
		syms []int32
		n    int64
	}
	var words []word
	for p, n := range counts {
		w := word{n: n}
		for i := range len(p) {
			w.syms = append(w.syms, byteID[p[i]])
		}
		words = append(words, w)
	}
	var merges []merge
	for len(tokens) < vocabSize-len(specials) {
		pairs := make(map[merge]int64)
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[merge{w.syms[i], w.syms[i+1]}] += w.n
			}
		}
		var best merge
		var bestN int64
		for m, n := range pairs {
			if n == 0 {
				continue
			}
			if n > bestN || n == bestN && (m.left < best.left || m.left == best.left && m.right < best.right) {
				best, bestN = m, n
			}
		}
		if bestN == 0 {
			break
		}
		id := int32(len(tokens))
		tokens = append(tokens, tokens[best.left]+tokens[best.right])
		merges = append(merges, best)
		for wi := range words {
			syms := words[wi].syms
			var out []int32
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == best.left && syms[i+1] == best.right {
					out = append(out, id)
					i++
				} else {
					out = append(out, syms[i])
				}
			}
			words[wi].syms = out
		}
	}
	return tokens, merges
}

func TestTrainMatchesNaive(t *testing.T) {
	texts := append(slices.Clip(stressCorpus()[:300]), "aaaa aaaa abab abab ababab", "the then them there these")
	const vocab = 700
	tk, err := Train(t.Context(), slices.Values(texts), TrainOptions{VocabSize: vocab})
	if err != nil {
		t.Fatal(err)
	}
	tokens, merges := naiveTrain(texts, vocab, []string{EndOfText})
	if !slices.Equal(tk.merges, merges) {
		i := 0
		for i < len(merges) && i < len(tk.merges) && merges[i] == tk.merges[i] {
			i++
		}
		t.Fatalf("Train and the naive trainer part at merge %d of %d/%d", i, len(tk.merges), len(merges))
	}
	if !slices.Equal(tk.tokens[:len(tokens)], tokens) {
		t.Fatal("Train and the naive trainer made different tokens")
	}
	if got, want := tk.VocabSize(), vocab; got != want {
		t.Errorf("VocabSize() = %d, want %d", got, want)
	}
}

func TestTrain(t *testing.T) {
	texts := trainCorpus(t)
	const vocab = 1000
	opts := TrainOptions{VocabSize: vocab, MinFrequency: 2}
	tk, err := Train(t.Context(), slices.Values(texts), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tk.NumMerges(), vocab-256-1; got != want {
		t.Errorf("NumMerges() = %d, want %d", got, want)
	}
	if got, want := tk.VocabSize(), vocab; got != want {
		t.Errorf("VocabSize() = %d, want %d", got, want)
	}
	if got, want := tk.EOT(), vocab-1; got != want {
		t.Errorf("EOT() = %d, want %d", got, want)
	}

	// Training is deterministic, whatever the order of the texts.
	reversed := slices.Clone(texts)
	slices.Reverse(reversed)
	again, err := Train(t.Context(), slices.Values(reversed), opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash() != tk.Hash() {
		t.Errorf("training twice gave hashes %s and %s", tk.Hash(), again.Hash())
	}

	loaded := saveAndReload(t, tk, t.TempDir())
	total, tokens := 0, 0
	for _, s := range texts[:min(len(texts), 3000)] {
		ids := tk.Encode(s)
		if got := loaded.Encode(s); !slices.Equal(got, ids) {
			t.Fatalf("loaded Encode(%q) = %v, want %v", s, got, ids)
		}
		if got, err := tk.Decode(ids); err != nil || got != s {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", s, got, err)
		}
		total += len(s)
		tokens += len(ids)
	}
	// Merges learnt from this text must compress it well below a token per
	// byte; a broken trainer or encoder would not.
	if ratio := float64(total) / float64(tokens); ratio < 2 {
		t.Errorf("%.2f bytes per token on the training text, want at least 2", ratio)
	}
}

func TestTrainMinFrequency(t *testing.T) {
	texts := []string{"aaa bbb aaa ccc aaa bbb"}
	tk, err := Train(t.Context(), slices.Values(texts), TrainOptions{VocabSize: 300, MinFrequency: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Pairs overlap within a piece: (a,a) occurs twice in each of "aaa"
	// (once) and " aaa" (twice), 6 times; (b,b) 4 times; after those two
	// merges (aa,a) occurs 3 times, and nothing else reaches 3.
	var got []string
	for _, m := range tk.merges {
		got = append(got, tk.tokens[m.left]+tk.tokens[m.right])
	}
	if want := []string{"aa", "bb", "aaa"}; !slices.Equal(got, want) {
		t.Errorf("merges %q, want %q", got, want)
	}
	all, err := Train(t.Context(), slices.Values(texts), TrainOptions{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if all.NumMerges() <= tk.NumMerges() {
		t.Errorf("MinFrequency 1 gave %d merges, 3 gave %d; want more with 1", all.NumMerges(), tk.NumMerges())
	}
}

func TestTrainSpecialsAreCutOut(t *testing.T) {
	texts := slices.Repeat([]string{"hello" + EndOfText + "world" + EndOfText}, 50)
	tk, err := Train(t.Context(), slices.Values(texts), TrainOptions{VocabSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	for id, s := range tk.tokens {
		if !tk.special[id] && (strings.Contains(s, "endof") || strings.Contains(s, "<|") || strings.Contains(s, "|>")) {
			t.Errorf("token %d %q was learnt from a special token's text", id, s)
		}
	}
	if got, want := tk.Encode("hello"+EndOfText), []int{tk.EncodeOrdinary("hello")[0], tk.EOT()}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

func TestTrainOptionErrors(t *testing.T) {
	texts := slices.Values([]string{"abc"})
	tests := []struct {
		name    string
		texts   func(func(string) bool)
		opts    TrainOptions
		wantErr string
	}{
		{"zero vocab", texts, TrainOptions{}, "VocabSize 0 must be at least 258"},
		{"vocab without room", texts, TrainOptions{VocabSize: 257}, "VocabSize 257 must be at least 258"},
		{"vocab without room for specials", texts, TrainOptions{VocabSize: 259, SpecialTokens: []string{"<a>", "<b>", "<c>"}}, "must be at least 260"},
		{"vocab too large", texts, TrainOptions{VocabSize: 1 << 30}, "exceeds the limit"},
		{"negative min frequency", texts, TrainOptions{VocabSize: 300, MinFrequency: -1}, "MinFrequency -1 is negative"},
		{"empty special", texts, TrainOptions{VocabSize: 300, SpecialTokens: []string{""}}, "empty special token"},
		{"duplicate special", texts, TrainOptions{VocabSize: 300, SpecialTokens: []string{"<a>", "<a>"}}, `special token "<a>" given twice`},
		{"invalid special", texts, TrainOptions{VocabSize: 300, SpecialTokens: []string{"\xff"}}, "not valid UTF-8"},
		{"nil texts", nil, TrainOptions{VocabSize: 300}, "texts is nil"},
	}
	for _, tt := range tests {
		_, err := Train(t.Context(), tt.texts, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "tokenizer: train: ") {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
	// No special tokens at all is allowed.
	tk, err := Train(t.Context(), texts, TrainOptions{VocabSize: 257, SpecialTokens: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.EOT() != -1 || len(tk.SpecialTokens()) != 0 {
		t.Errorf("EOT() = %d, SpecialTokens() = %v; want -1 and none", tk.EOT(), tk.SpecialTokens())
	}
}

func TestTrainCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Train(ctx, slices.Values([]string{"abc"}), TrainOptions{VocabSize: 300}); !errors.Is(err, context.Canceled) {
		t.Errorf("Train with a cancelled context: error %v, want context.Canceled", err)
	}

	// Cancelling while the texts are read stops the reading.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	read := 0
	endless := func(yield func(string) bool) {
		chunk := strings.Repeat("lorem ipsum dolor sit amet ", 10000)
		for {
			read++
			if read == 10 {
				cancel()
			}
			if !yield(chunk) {
				return
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := Train(ctx, endless, TrainOptions{VocabSize: 300})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Train cancelled while reading: error %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Train did not stop after cancellation")
	}
}
