package retrieval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/nebras-ai/nebras/pipelines/dataset"
)

// pair is one training example: a rendered context and its reply.
type pair struct{ context, reply string }

// prompt renders one customer message as the chat template does.
func prompt(text string) string { return "Customer: " + text + "\nAgent:" }

// writeDataset writes pairs as the train split of a dataset, in row groups
// of rowsPerGroup, beside an empty val split, and opens it.
func writeDataset(t testing.TB, rowsPerGroup int, pairs []pair) *dataset.Dataset {
	t.Helper()
	dir := t.TempDir()
	rel := "train/part-00000-of-00001.parquet"
	if err := os.MkdirAll(filepath.Join(dir, "train"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[dataset.Row](f, parquet.MaxRowsPerRowGroup(int64(rowsPerGroup)))
	rows := make([]dataset.Row, len(pairs))
	for i, p := range pairs {
		rows[i] = dataset.Row{
			ExampleID: fmt.Sprintf("c%d#1", i), ConversationID: fmt.Sprintf("c%d", i), Split: "train",
			TurnIndex: 1, InputIDs: []int32{1, 2}, TargetStart: 1, NTokens: 2, Context: p.context, Reply: p.reply,
		}
	}
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	m := dataset.Manifest{
		SchemaVersion: dataset.SchemaVersion,
		Tokenizer:     dataset.TokenizerInfo{Spec: "test", Hash: "sha256:test"},
		Splits: map[string]dataset.SplitInfo{
			"train": {Rows: int64(len(pairs)), Files: []dataset.File{{Path: rel, Rows: int64(len(pairs)), Bytes: st.Size()}}},
			"val":   {},
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dataset.ManifestName), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func build(t testing.TB, opt Options, rowsPerGroup int, pairs []pair) *Index {
	t.Helper()
	ix, err := Build(context.Background(), writeDataset(t, rowsPerGroup, pairs), opt)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return ix
}

// cosines returns context's cosine with every indexed context, read back
// from the postings.
func cosines(ix *Index, context string) []float64 {
	var tok tokenizer
	out := make([]float64, ix.Len())
	for _, q := range ix.vectorize(nil, &tok, context) {
		lo, hi := ix.postStart[q.term], ix.postStart[q.term+1]
		for j, d := range ix.postDoc[lo:hi] {
			out[d] += q.w * float64(ix.postW[j+int(lo)])
		}
	}
	return out
}

// tol covers the float32 rounding of stored vector components.
const tol = 1e-6

func TestHandChecked(t *testing.T) {
	idf1 := 1 + math.Log(4.0/2) // df 1 of N 3
	idf2 := 1 + math.Log(4.0/3) // df 2 of N 3
	tf2 := 1 + math.Ln2         // a term twice in a turn
	single := []pair{
		{prompt("Reset my password"), "r0"},
		{prompt("my order is late"), "r1"},
		{prompt("password, PASSWORD... help!"), "r2"},
	}
	// With N 2, a term in both contexts has idf 1 and one in one context
	// idf 1 + ln 1.5; each turn's vector is normalised on its own, so only
	// the turn weights and how many turns there are matter below.
	multi := []pair{
		{"Customer: hello there\nAgent: how can I help\nCustomer: refund please\nAgent:", "long"},
		{prompt("Refund please"), "short"},
	}
	tests := []struct {
		name   string
		opt    Options
		pairs  []pair
		query  string
		want   []float64
		reply  string
		rscore float64
	}{
		{
			name: "single turn", pairs: single, query: prompt("password reset"),
			want: []float64{
				// q = (idf1, idf2)/|·|, d0 = (idf1, idf2, idf2)/|·| over (reset, password, my).
				math.Sqrt(idf1*idf1+idf2*idf2) / math.Sqrt(idf1*idf1+2*idf2*idf2),
				0,
				// d2 = (tf2·idf2, idf1)/|·| over (password, help).
				idf2 * tf2 * idf2 / (math.Sqrt(idf1*idf1+idf2*idf2) * math.Sqrt(tf2*tf2*idf2*idf2+idf1*idf1)),
			},
			reply: "r0",
		},
		{
			name: "out of vocabulary words are dropped", pairs: single, query: prompt("my unknown words"),
			// q is "my" alone, so q·d is d's normalised "my" component.
			want:  []float64{idf2 / math.Sqrt(idf1*idf1+2*idf2*idf2), idf2 / math.Sqrt(idf2*idf2+3*idf1*idf1), 0},
			reply: "r0",
		},
		{
			// v = 0.49·u(hello there) + 0.7·u(how can i help) + u(refund please).
			name: "default turn weights", pairs: multi, query: prompt("refund please"),
			want: []float64{1 / math.Sqrt(0.49*0.49+0.7*0.7+1), 1}, reply: "short",
		},
		{
			name: "two turns", opt: Options{Turns: 2}, pairs: multi, query: prompt("refund please"),
			want: []float64{1 / math.Sqrt(0.7*0.7+1), 1}, reply: "short",
		},
		{
			name: "all turns equal", opt: Options{Turns: -1, Decay: 1}, pairs: multi, query: prompt("refund please"),
			want: []float64{1 / math.Sqrt(3), 1}, reply: "short",
		},
		{
			// Both contexts come down to the same turn: the tie goes to
			// the first.
			name: "last turn only ties", opt: Options{Turns: 1}, pairs: multi, query: prompt("please refund"),
			want: []float64{1, 1}, reply: "long",
		},
		{
			// The query's own turns are weighted too: its last turn
			// counts 1, the one before 0.7.
			name: "query turns weighted", opt: Options{Turns: 2}, pairs: multi,
			query: "Customer: hello there\nAgent: refund please\nCustomer: how can I help\nAgent:",
			want: []float64{
				// q = 0.7·u(refund please) + u(how can i help); |q|² = 1.49. For
				// e0, "hello there" is not matched (turn 3 back) and, not in
				// the index, not in the query either.
				2 * 0.7 / math.Sqrt(0.7*0.7+1) / math.Sqrt(0.7*0.7+1),
				0.7 / math.Sqrt(0.7*0.7+1),
			},
			reply: "long",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := build(t, tt.opt, 2, tt.pairs)
			got := cosines(ix, tt.query)
			for i := range tt.want {
				if math.Abs(got[i]-tt.want[i]) > tol {
					t.Errorf("cosine with context %d = %.9f, want %.9f", i, got[i], tt.want[i])
				}
			}
			reply, score := ix.Reply(tt.query)
			if best := slices.Max(tt.want); reply != tt.reply || math.Abs(score-best) > tol {
				t.Errorf("Reply = %q, %.9f; want %q, %.9f", reply, score, tt.reply, best)
			}
		})
	}
}

// TestScikitLearn compares single-turn cosines with scikit-learn's
// TfidfVectorizer (testdata/gen_sklearn.py wrote the fixture).
func TestScikitLearn(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sklearn_tfidf.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Docs    []string    `json:"docs"`
		Queries []string    `json:"queries"`
		Cosines [][]float64 `json:"cosines"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	var pairs []pair
	for i, d := range ref.Docs {
		pairs = append(pairs, pair{prompt(d), fmt.Sprint("reply ", i)})
	}
	ix := build(t, Options{}, 3, pairs)
	for qi, q := range ref.Queries {
		want := ref.Cosines[qi]
		got := cosines(ix, prompt(q))
		for d := range want {
			if math.Abs(got[d]-want[d]) > tol {
				t.Errorf("query %q, doc %d: cosine %.9f, scikit-learn %.9f", q, d, got[d], want[d])
			}
		}
		// Reply picks the first of the best, as numpy's argmax does.
		best := 0
		for d := range want {
			if want[d] > want[best]+tol {
				best = d
			}
		}
		reply, score := ix.Reply(prompt(q))
		if reply != pairs[best].reply || math.Abs(score-want[best]) > tol {
			t.Errorf("query %q: Reply = %q, %.9f; want %q, %.9f", q, reply, score, pairs[best].reply, want[best])
		}
	}
}

func TestTies(t *testing.T) {
	pairs := []pair{
		{prompt("where is my parcel"), "first"},
		{prompt("cancel my plan"), "cancel-1"},
		{prompt("something else entirely"), "other"},
		{prompt("Cancel my plan!"), "cancel-2"},
		{prompt("cancel my plan"), "cancel-3"},
	}
	tests := []struct {
		name, query, reply string
		score              float64
	}{
		{"equal vectors", prompt("cancel my plan"), "cancel-1", 1},
		{"no shared term", prompt("xyzzy"), "first", 0},
		{"empty context", "", "first", 0},
		{"prompt only", "Agent:", "first", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Row groups of 2 put the equal contexts in different groups.
			ix := build(t, Options{}, 2, pairs)
			reply, score := ix.Reply(tt.query)
			if reply != tt.reply || math.Abs(score-tt.score) > tol {
				t.Fatalf("Reply(%q) = %q, %g; want %q, %g", tt.query, reply, score, tt.reply, tt.score)
			}
		})
	}
}

func TestMaxDocs(t *testing.T) {
	pairs := []pair{
		{prompt("alpha beta"), "a"},
		{prompt("beta gamma"), "b"},
		{prompt("gamma delta"), "c"},
		{prompt("delta epsilon"), "d"},
	}
	tests := []struct {
		max, wantLen int
		reply        string
	}{
		{0, 4, "d"},
		{2, 2, "b"},
		{10, 4, "d"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			ix := build(t, Options{MaxDocs: tt.max}, 3, pairs)
			if ix.Len() != tt.wantLen {
				t.Fatalf("Len = %d, want %d", ix.Len(), tt.wantLen)
			}
			if reply, _ := ix.Reply(prompt("epsilon gamma")); reply != tt.reply {
				t.Fatalf("Reply = %q, want %q", reply, tt.reply)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	one := []pair{{prompt("hi"), "hello"}}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		opt   Options
		pairs []pair
		want  string
	}{
		{"negative max docs", context.Background(), Options{MaxDocs: -1}, one, "max docs -1"},
		{"decay above 1", context.Background(), Options{Decay: 1.5}, one, "decay 1.5"},
		{"negative decay", context.Background(), Options{Decay: -0.5}, one, "decay -0.5"},
		{"NaN decay", context.Background(), Options{Decay: math.NaN()}, one, "decay NaN"},
		{"empty train split", context.Background(), Options{}, nil, "train split has no examples"},
		{"cancelled", cancelled, Options{}, one, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.ctx, writeDataset(t, 2, tt.pairs), tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	t.Run("no train split", func(t *testing.T) {
		ds := writeDataset(t, 2, one)
		delete(ds.Manifest.Splits, "train")
		if _, err := Build(context.Background(), ds, Options{}); err == nil || !strings.Contains(err.Error(), `no split "train"`) {
			t.Fatalf("Build error = %v", err)
		}
	})
	t.Run("no dataset", func(t *testing.T) {
		if _, err := Build(context.Background(), nil, Options{}); err == nil || !strings.Contains(err.Error(), "no dataset") {
			t.Fatalf("Build error = %v", err)
		}
	})
	t.Run("cancelled is context.Canceled", func(t *testing.T) {
		if _, err := Build(cancelled, writeDataset(t, 2, one), Options{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Build error = %v", err)
		}
	})
}

func TestEmptyIndex(t *testing.T) {
	var ix Index
	if reply, score := ix.Reply(prompt("anything")); reply != "" || score != 0 || ix.Len() != 0 {
		t.Fatalf("empty Index: Reply = %q, %g; Len = %d", reply, score, ix.Len())
	}
}

func TestConcurrentReply(t *testing.T) {
	var pairs []pair
	for i := range 200 {
		pairs = append(pairs, pair{prompt(fmt.Sprintf("ticket %d about item%d and item%d", i, i%7, i%13)), fmt.Sprint(i)})
	}
	ix := build(t, Options{}, 64, pairs)
	queries := []string{prompt("item3 item5"), prompt("ticket 42"), prompt("about item12"), ""}
	want := make([]string, len(queries))
	for i, q := range queries {
		want[i], _ = ix.Reply(q)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(queries))
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for i, q := range queries {
					if got, _ := ix.Reply(q); got != want[i] {
						errs <- fmt.Sprintf("Reply(%q) = %q, want %q", q, got, want[i])
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestSplitTurns(t *testing.T) {
	tests := []struct {
		name, context string
		want          [][]string
	}{
		{"template", "Customer: hi\nAgent: hello\nCustomer: help\nAgent:", [][]string{{" hi"}, {" hello"}, {" help"}}},
		{"system and multiline", "System: be kind\nCustomer: line one\nline two\nAgent:", [][]string{{" be kind"}, {" line one", "line two"}}},
		{"truncated start", "e end of a turn\nCustomer: next\nAgent:", [][]string{{"e end of a turn"}, {" next"}}},
		{"empty turns dropped", "Customer:  \nAgent: ok\n\nAgent:", [][]string{{" ok", ""}}},
		{"empty", "", nil},
		{"prefix mid-line is text", "Customer: the Agent: said\nAgent:", [][]string{{" the Agent: said"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitTurns(tt.context)
			if len(got) != len(tt.want) {
				t.Fatalf("splitTurns = %q, want %q", got, tt.want)
			}
			for i := range got {
				if !slices.Equal(got[i], tt.want[i]) {
					t.Fatalf("splitTurns = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"Hello, WORLD!", []string{"hello", "world"}},
		{"order #4521 isn't here_yet", []string{"order", "4521", "isn", "t", "here", "yet"}},
		{"Café ÉCOLE naïve", []string{"café", "école", "naïve"}},
		// A combining acute accent and Arabic vowel marks stay inside
		// their words.
		{"cafe\u0301 au lait", []string{"cafe\u0301", "au", "lait"}},
		{"مَرْحَبًا بكم", []string{"مَرْحَبًا", "بكم"}},
		{"ΣΟΦΙΑ x2", []string{"σοφια", "x2"}},
		{"  \t--  ", nil},
	}
	for _, tt := range tests {
		var tk tokenizer
		var got []string
		tk.each(tt.text, func(w []byte) { got = append(got, string(w)) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("tokens of %q = %q, want %q", tt.text, got, tt.want)
		}
	}
}
