package tokenizer

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dlclark/regexp2/v2"
	"github.com/tiktoken-go/tokenizer/codec"
)

// r50kRanks returns tiktoken-go's r50k_base ranks by token bytes.
var r50kRanks = sync.OnceValues(func() (map[string]int, error) {
	c := codec.NewR50kBase()
	ranks := make(map[string]int, gpt2Ranks)
	for id := range gpt2Ranks {
		s, err := c.Decode([]uint{uint(id)})
		if err != nil {
			return nil, err
		}
		ranks[s] = id
	}
	return ranks, nil
})

func mustRanks(tb testing.TB) map[string]int {
	tb.Helper()
	ranks, err := r50kRanks()
	if err != nil {
		tb.Fatal(err)
	}
	return ranks
}

// tiktokenMerge is tiktoken's merge rule, written out independently of the
// package: join the adjacent parts whose concatenation has the lowest rank,
// the leftmost on a tie. onJoin, if not nil, sees every join.
func tiktokenMerge(ranks map[string]int, piece string, onJoin func(left, right string)) []string {
	parts := make([]string, 0, len(piece))
	for i := range len(piece) {
		parts = append(parts, piece[i:i+1])
	}
	for len(parts) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(parts); i++ {
			if r, ok := ranks[parts[i]+parts[i+1]]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		if onJoin != nil {
			onJoin(parts[at], parts[at+1])
		}
		parts[at] += parts[at+1]
		parts = slices.Delete(parts, at+1, at+2)
	}
	return parts
}

// reference computes what tiktoken-go's r50k_base should give: tiktoken-go
// itself, except for text with U+007F, which it drops (see
// TestTiktokenGoDropsDEL). There the pieces come from regexp2's interpreter,
// and a piece with DEL goes through tiktokenMerge over tiktoken-go's ranks.
type reference struct {
	codec  *codec.Codec
	ranks  map[string]int
	interp *regexp2.Regexp
}

func newReference(tb testing.TB) *reference {
	return &reference{codec: codec.NewR50kBase(), ranks: mustRanks(tb), interp: regexps(tb)["interpreter"]}
}

func (r *reference) encode(tb testing.TB, s string) []int {
	if !strings.Contains(s, del) {
		return tiktokenIDs(tb, r.codec, s)
	}
	var ids []int
	for _, p := range regexpPieces(tb, r.interp, s) {
		if !strings.Contains(p, del) {
			ids = append(ids, tiktokenIDs(tb, r.codec, p)...)
			continue
		}
		for _, part := range tiktokenMerge(r.ranks, p, nil) {
			ids = append(ids, r.ranks[part])
		}
	}
	return ids
}

func TestGPT2(t *testing.T) {
	tk := mustGPT2(t)
	if got, want := tk.VocabSize(), 50257; got != want {
		t.Errorf("VocabSize() = %d, want %d", got, want)
	}
	if got, want := tk.EOT(), 50256; got != want {
		t.Errorf("EOT() = %d, want %d", got, want)
	}
	if got, want := tk.NumMerges(), 50000; got != want {
		t.Errorf("NumMerges() = %d, want %d", got, want)
	}
	if got, want := tk.SpecialTokens(), map[string]int{EndOfText: 50256}; !maps.Equal(got, want) {
		t.Errorf("SpecialTokens() = %v, want %v", got, want)
	}
	if again := mustGPT2(t); again != tk {
		t.Error("GPT2() built a second tokenizer")
	}
}

// TestGPT2MergesCanonical proves that BPE over merges.txt (Hugging Face's
// rule, which this package implements) and over whole-token ranks
// (tiktoken's rule) agree on every input. The tiktoken rule only ever has
// more candidate joins; the two can differ only if it joins a pair that is
// not a merge. Every join happens inside the span of some final token V, in
// the order it would happen for V's bytes alone, so it suffices that for
// every token V, tiktoken's joins on V's bytes are all merges and end in V.
// The last part also shows that a piece that is a whole token encodes as
// that token, which is tiktoken's shortcut and this package's whole map.
func TestGPT2MergesCanonical(t *testing.T) {
	tk := mustGPT2(t)
	ranks := mustRanks(t)
	bad := 0
	for s, id := range ranks {
		var nonMerge []string
		parts := tiktokenMerge(ranks, s, func(l, r string) {
			if _, res := tk.pairs.lookup(int32(ranks[l]), int32(ranks[r])); res < 0 || int(res) != ranks[l+r] {
				nonMerge = append(nonMerge, l+" "+r)
			}
		})
		if len(parts) != 1 || len(nonMerge) > 0 {
			t.Errorf("token %d %q: tiktoken's rule gives %q, joining non-merges %q", id, s, parts, nonMerge)
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
}

// TestGPT2MatchesSharedFiles compares what GPT2 writes with OpenAI's
// encoder.json and vocab.bpe (Hugging Face's vocab.json and merges.txt).
func TestGPT2MatchesSharedFiles(t *testing.T) {
	vocabPath, mergesPath := gpt2Files(t)
	tk := mustGPT2(t)
	dir := t.TempDir()
	if err := tk.Save(dir); err != nil {
		t.Fatal(err)
	}
	readVocabMap := func(path string) map[string]int {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]int
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m
	}
	readMerges := func(path string) []string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var lines []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 || lines[0] != mergesHeader {
			t.Fatalf("%s does not start with %q", path, mergesHeader)
		}
		return lines[1:]
	}

	want, got := readVocabMap(vocabPath), readVocabMap(filepath.Join(dir, VocabFile))
	if len(got) != len(want) {
		t.Errorf("vocab: %d tokens, want %d", len(got), len(want))
	}
	diffs := 0
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			if diffs++; diffs <= 10 {
				t.Errorf("vocab[%q] = %d (present: %v), want %d", k, g, ok, v)
			}
		}
	}
	wantM, gotM := readMerges(mergesPath), readMerges(filepath.Join(dir, MergesFile))
	if len(gotM) != len(wantM) {
		t.Errorf("merges: %d lines, want %d", len(gotM), len(wantM))
	}
	for i := range min(len(gotM), len(wantM)) {
		if gotM[i] != wantM[i] {
			t.Errorf("merges line %d = %q, want %q", i+2, gotM[i], wantM[i])
			if diffs++; diffs > 10 {
				break
			}
		}
	}

	// Loading the originals must give the very same model.
	vf, err := os.Open(vocabPath)
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	mf, err := os.Open(mergesPath)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	orig, err := Load(vf, mf)
	if err != nil {
		t.Fatal(err)
	}
	if orig.Hash() != tk.Hash() {
		t.Errorf("Load(%s, %s).Hash() = %s, GPT2().Hash() = %s", vocabPath, mergesPath, orig.Hash(), tk.Hash())
	}
}

// checkExact compares EncodeOrdinary with the reference on texts, split
// over the CPUs, and round-trips every text through Decode. Under the race
// detector it checks every raceStride-th text.
func checkExact(t *testing.T, tk *Tokenizer, texts []string, raceStride int) {
	t.Helper()
	if raceEnabled {
		var sample []string
		for i := 0; i < len(texts); i += raceStride {
			sample = append(sample, texts[i])
		}
		t.Logf("race detector on: checking %d of %d texts", len(sample), len(texts))
		texts = sample
	}
	ref := newReference(t)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(texts); i += workers {
				s := texts[i]
				got := tk.EncodeOrdinary(s)
				want := ref.encode(t, s)
				msg := ""
				if !slices.Equal(got, want) {
					msg = "EncodeOrdinary(" + quote(s) + ") differs from tiktoken-go"
				} else if dec, err := tk.Decode(got); err != nil || dec != s {
					msg = "Decode(EncodeOrdinary(" + quote(s) + ")) does not give it back"
				}
				if msg != "" {
					mu.Lock()
					failures = append(failures, msg)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for i, f := range failures {
		if i == 10 {
			t.Fatalf("... %d failures in all", len(failures))
		}
		t.Error(f)
	}
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", `\n`), "\r", `\r`)
}

func TestEncodeMatchesTiktokenStress(t *testing.T) {
	checkExact(t, mustGPT2(t), stressCorpus(), 3)
}

func TestEncodeMatchesTiktokenSGD(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: encodes the whole SGD corpus twice")
	}
	checkExact(t, mustGPT2(t), sgdTurns(t), 5)
}
