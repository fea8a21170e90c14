package training

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/pipelines/dataset"
)

// lexample is one stored example: input_ids and target_start.
type lexample struct {
	ids []int32
	ts  int32
}

// loaderData describes a dataset to write: per split, per file, examples.
type loaderData struct {
	vocab        int
	rowsPerGroup int
	splits       map[string][][]lexample
}

// writeLoaderDataset writes d as a dataset the pipeline could have made
// (Parquet files of dataset.Row, manifest.json) and opens it.
func writeLoaderDataset(t testing.TB, d loaderData) *dataset.Dataset {
	t.Helper()
	dir := t.TempDir()
	m := dataset.Manifest{
		SchemaVersion: dataset.SchemaVersion,
		Tokenizer:     dataset.TokenizerInfo{Spec: "test", Hash: "sha256:test", VocabSize: d.vocab, EOT: 0},
		Splits:        map[string]dataset.SplitInfo{},
	}
	for split, files := range d.splits {
		info := dataset.SplitInfo{}
		if err := os.MkdirAll(filepath.Join(dir, split), 0o755); err != nil {
			t.Fatal(err)
		}
		for fi, exs := range files {
			rel := fmt.Sprintf("%s/part-%05d-of-%05d.parquet", split, fi, len(files))
			f, err := os.Create(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			w := parquet.NewGenericWriter[dataset.Row](f, parquet.Compression(&parquet.Zstd),
				parquet.MaxRowsPerRowGroup(int64(d.rowsPerGroup)))
			rows := make([]dataset.Row, len(exs))
			for i, ex := range exs {
				rows[i] = dataset.Row{
					ExampleID: fmt.Sprintf("%s-%d-%d#1", split, fi, i), ConversationID: fmt.Sprintf("%s-%d-%d", split, fi, i),
					Split: split, TurnIndex: 1, InputIDs: ex.ids, TargetStart: ex.ts, NTokens: int32(len(ex.ids)),
				}
				info.Rows++
				info.Conversations++
				info.Tokens += int64(len(ex.ids))
				info.TargetTokens += int64(len(ex.ids)) - int64(ex.ts)
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
			raw, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(raw)
			info.Files = append(info.Files, dataset.File{Path: rel, Rows: int64(len(exs)), Bytes: int64(len(raw)), SHA256: hex.EncodeToString(sum[:])})
		}
		m.Splits[split] = info
		m.Counts.Read += info.Conversations
		m.Counts.Kept += info.Conversations
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

// genExamples makes n examples of unique non-zero token ids (counter is
// the next id): a prompt of 1..maxPrompt tokens, a reply of 1..maxReply
// tokens, then EOT (0). Unique ids let a test trace every position back to
// the one example transition it came from.
func genExamples(r *rand.Rand, n, maxPrompt, maxReply int, counter *int32) []lexample {
	out := make([]lexample, n)
	for i := range out {
		p, q := 1+r.IntN(maxPrompt), 1+r.IntN(maxReply)
		ids := make([]int32, 0, p+q+1)
		for range p + q {
			ids = append(ids, *counter)
			*counter++
		}
		out[i] = lexample{ids: append(ids, 0), ts: int32(p)}
	}
	return out
}

// standardData is a train split of 2 files × 50 examples in row groups of
// 7 (16 row groups), and a val split of 1 file × 20 examples.
func standardData(t testing.TB) (*dataset.Dataset, [][]lexample) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	counter := int32(1)
	train := [][]lexample{genExamples(r, 50, 8, 6, &counter), genExamples(r, 50, 8, 6, &counter)}
	val := [][]lexample{genExamples(r, 20, 8, 6, &counter)}
	ds := writeLoaderDataset(t, loaderData{vocab: 100000, rowsPerGroup: 7, splits: map[string][][]lexample{"train": train, "val": val}})
	return ds, train
}

func newTestLoader(t testing.TB, ds *dataset.Dataset, opt LoaderOptions) *Loader {
	t.Helper()
	l, err := NewLoader(ds, opt)
	if err != nil {
		t.Fatalf("NewLoader: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// cloneBatch copies b so the loader may reuse its slices.
func cloneBatch(b model.Batch) model.Batch {
	return model.Batch{B: b.B, T: b.T, Inputs: slices.Clone(b.Inputs), Targets: slices.Clone(b.Targets), Weights: slices.Clone(b.Weights)}
}

func batchesEqual(a, b model.Batch) bool {
	return a.B == b.B && a.T == b.T && slices.Equal(a.Inputs, b.Inputs) &&
		slices.Equal(a.Targets, b.Targets) && slices.Equal(a.Weights, b.Weights)
}

// checkBatch asserts the batch invariants: shape, and a target exactly
// where the weight is 1.
func checkBatch(t *testing.T, b model.Batch) {
	t.Helper()
	n := b.B * b.T
	if len(b.Inputs) != n || len(b.Targets) != n || len(b.Weights) != n {
		t.Fatalf("batch %d×%d has %d inputs, %d targets, %d weights", b.B, b.T, len(b.Inputs), len(b.Targets), len(b.Weights))
	}
	for i := range n {
		if (b.Targets[i] >= 0) != (b.Weights[i] == 1) || (b.Weights[i] != 0 && b.Weights[i] != 1) {
			t.Fatalf("position %d: target %d, weight %g", i, b.Targets[i], b.Weights[i])
		}
	}
}

func TestLoaderHandChecked(t *testing.T) {
	// Prompt ids, then reply ids, then EOT (0); target_start = first reply position.
	exs := []lexample{
		{ids: []int32{1, 2, 3, 0}, ts: 2},
		{ids: []int32{5, 6, 7, 8, 0}, ts: 3},
		{ids: []int32{10, 11, 12, 13, 14, 15, 0}, ts: 4},
	}
	ds := writeLoaderDataset(t, loaderData{vocab: 100, rowsPerGroup: 16, splits: map[string][][]lexample{"train": {exs}}})
	const pad = 99
	tests := []struct {
		name    string
		opt     LoaderOptions
		batches []model.Batch
		// after is the position after the first batch.
		after Position
	}{
		{
			name: "pad",
			opt:  LoaderOptions{Split: "train", B: 2, T: 4, PadID: pad},
			batches: []model.Batch{
				{B: 2, T: 4,
					Inputs:  []int32{1, 2, 3, pad, 5, 6, 7, 8},
					Targets: []int32{-1, 3, 0, -1, -1, -1, 8, 0},
					Weights: []float32{0, 1, 1, 0, 0, 0, 1, 1}},
				// 7 tokens > T+1: the last 5 are kept, target_start 4 becomes 2.
				{B: 1, T: 4,
					Inputs:  []int32{12, 13, 14, 15},
					Targets: []int32{-1, 14, 15, 0},
					Weights: []float32{0, 1, 1, 1}},
			},
			after: Position{Row: 2},
		},
		{
			// Stream 1 2 3 0 5 6 7 8 0 10 11 12 13 14 15 0, rows of 5
			// tokens, each starting on the previous row's last token.
			name: "pack",
			opt:  LoaderOptions{Split: "train", B: 3, T: 4, Pack: true, PadID: pad},
			batches: []model.Batch{
				{B: 3, T: 4,
					Inputs:  []int32{1, 2, 3, 0, 5, 6, 7, 8, 0, 10, 11, 12},
					Targets: []int32{-1, 3, 0, -1, -1, -1, 8, 0, -1, -1, -1, -1},
					Weights: []float32{0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0}},
				{B: 1, T: 4,
					Inputs:  []int32{13, 14, 15, pad},
					Targets: []int32{14, 15, 0, -1},
					Weights: []float32{1, 1, 1, 0}},
			},
			after: Position{Row: 2, Offset: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLoader(t, ds, tt.opt)
			var b model.Batch
			for i, want := range tt.batches {
				if err := l.Next(context.Background(), &b); err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
				if !batchesEqual(b, want) {
					t.Fatalf("batch %d:\n got %+v\nwant %+v", i, b, want)
				}
				if i == 0 {
					got := l.Position()
					got.Order = ""
					if got != tt.after {
						t.Errorf("position after batch 0 = %+v, want %+v", got, tt.after)
					}
				}
			}
			for range 2 {
				if err := l.Next(context.Background(), &b); !errors.Is(err, io.EOF) {
					t.Fatalf("after the pass: %v, want io.EOF", err)
				}
			}
			if l.Epoch() != 1 {
				t.Errorf("Epoch after the pass = %d, want 1", l.Epoch())
			}
		})
	}
}

func TestLoaderPackNeverTrainsAcrossExamples(t *testing.T) {
	// target_start 0 puts the whole example under the mask, but its first
	// token follows the previous example's EOT: that step is not trained.
	ds := writeLoaderDataset(t, loaderData{vocab: 100, rowsPerGroup: 4, splits: map[string][][]lexample{
		"train": {{{ids: []int32{1, 2, 0}, ts: 0}, {ids: []int32{3, 4, 0}, ts: 0}}},
	}})
	l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 1, T: 8, Pack: true, PadID: 9})
	var b model.Batch
	if err := l.Next(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	want := model.Batch{B: 1, T: 8,
		Inputs:  []int32{1, 2, 0, 3, 4, 9, 9, 9},
		Targets: []int32{2, 0, -1, 4, 0, -1, -1, -1},
		Weights: []float32{1, 1, 0, 1, 1, 0, 0, 0}}
	if !batchesEqual(b, want) {
		t.Fatalf("got %+v\nwant %+v", b, want)
	}
}

// pair is one trained transition: input token → target token.
type pair struct{ in, tg int32 }

// expectedPairs is the multiset of trained transitions of examples.
func expectedPairs(files [][]lexample) map[pair]int {
	want := map[pair]int{}
	for _, exs := range files {
		for _, ex := range exs {
			for j := max(int(ex.ts), 1); j < len(ex.ids); j++ {
				want[pair{ex.ids[j-1], ex.ids[j]}]++
			}
		}
	}
	return want
}

func countPairs(ps []pair) map[pair]int {
	m := map[pair]int{}
	for _, p := range ps {
		m[p]++
	}
	return m
}

func diffPairs(got, want map[pair]int) string {
	var d []string
	for p, n := range want {
		if got[p] != n {
			d = append(d, fmt.Sprintf("%v: got %d, want %d", p, got[p], n))
		}
	}
	for p, n := range got {
		if _, ok := want[p]; !ok {
			d = append(d, fmt.Sprintf("%v: got %d, want 0", p, n))
		}
	}
	slices.Sort(d)
	if len(d) > 5 {
		d = append(d[:5], fmt.Sprintf("... %d more", len(d)-5))
	}
	return strings.Join(d, "; ")
}

// trainedPairs returns the batch's trained transitions in stream order.
func trainedPairs(b model.Batch) []pair {
	var ps []pair
	for i := range b.B * b.T {
		if b.Weights[i] == 1 {
			ps = append(ps, pair{b.Inputs[i], b.Targets[i]})
		}
	}
	return ps
}

func TestLoaderCoversEveryTargetOncePerEpoch(t *testing.T) {
	ds, train := standardData(t)
	want := expectedPairs(train)
	total := 0
	for _, n := range want {
		total += n
	}
	if _, _, targets, _ := SplitStats(ds, "train"); int(targets) != total {
		t.Fatalf("SplitStats targets = %d, want %d", targets, total)
	}
	for _, pack := range []bool{false, true} {
		for _, shuffle := range []bool{false, true} {
			for _, window := range []int{1, 3, 100} {
				if !shuffle && window > 1 {
					continue
				}
				name := fmt.Sprintf("pack=%t/shuffle=%t/window=%d", pack, shuffle, window)
				t.Run(name+"/one pass", func(t *testing.T) {
					// T = 16 holds every example whole, so pad mode drops nothing.
					l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 3, T: 16, Pack: pack, Shuffle: shuffle, Seed: 7, Window: window, PadID: 0})
					var b model.Batch
					var got []pair
					last := 0
					for {
						err := l.Next(context.Background(), &b)
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							t.Fatal(err)
						}
						checkBatch(t, b)
						last = b.B
						got = append(got, trainedPairs(b)...)
					}
					if d := diffPairs(countPairs(got), want); d != "" {
						t.Fatalf("trained transitions differ from the split's: %s", d)
					}
					if last < 1 || last > 3 {
						t.Fatalf("last batch has %d rows", last)
					}
				})
				t.Run(name+"/two epochs", func(t *testing.T) {
					l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 3, T: 16, Pack: pack, Shuffle: shuffle, Seed: 7, Window: window, Repeat: true})
					var b model.Batch
					var got []pair
					for len(got) < 2*total {
						if err := l.Next(context.Background(), &b); err != nil {
							t.Fatal(err)
						}
						checkBatch(t, b)
						if b.B != 3 {
							t.Fatalf("repeating loader gave a %d-row batch", b.B)
						}
						got = append(got, trainedPairs(b)...)
					}
					if l.Epoch() < 1 || l.Epoch() > 2 {
						t.Errorf("Epoch after two epochs' targets = %d", l.Epoch())
					}
					// Epochs follow one another in the stream, so the first
					// total trained positions are epoch 0 and the next epoch 1.
					for e := range 2 {
						if d := diffPairs(countPairs(got[e*total:(e+1)*total]), want); d != "" {
							t.Fatalf("epoch %d: %s", e, d)
						}
					}
				})
			}
		}
	}
}

// rowStarts returns the first input of each row of n batches.
func rowStarts(t *testing.T, l *Loader, n int) []int32 {
	t.Helper()
	var b model.Batch
	var out []int32
	for range n {
		if err := l.Next(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		for r := range b.B {
			out = append(out, b.Inputs[r*b.T])
		}
	}
	return out
}

func TestLoaderOrder(t *testing.T) {
	ds, train := standardData(t)
	var fileOrder []int32
	for _, exs := range train {
		for _, ex := range exs {
			fileOrder = append(fileOrder, ex.ids[0])
		}
	}
	n := len(fileOrder) // examples per epoch; B = 1 in pad mode makes a batch an example
	order := func(seed uint64, shuffle bool, window int) (epoch0, epoch1 []int32) {
		l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 1, T: 32, Shuffle: shuffle, Seed: seed, Window: window, Repeat: true})
		s := rowStarts(t, l, 2*n)
		return s[:n], s[n:]
	}
	a0, a1 := order(1, true, 3)
	b0, b1 := order(1, true, 3)
	c0, _ := order(2, true, 3)
	w0, _ := order(1, true, 4)
	f0, f1 := order(1, false, 0)
	if !slices.Equal(a0, b0) || !slices.Equal(a1, b1) {
		t.Error("the same seed gave different orders")
	}
	if slices.Equal(a0, c0) {
		t.Error("seeds 1 and 2 gave the same order")
	}
	if slices.Equal(a0, w0) {
		t.Error("windows 3 and 4 gave the same order")
	}
	if slices.Equal(a0, a1) {
		t.Error("epochs 0 and 1 have the same order")
	}
	if slices.Equal(a0, fileOrder) {
		t.Error("shuffled order is the file order")
	}
	if !slices.Equal(f0, fileOrder) || !slices.Equal(f1, fileOrder) {
		t.Error("unshuffled order is not the file order in every epoch")
	}
	for _, s := range [][]int32{a0, a1, c0, w0} {
		if !slices.Equal(slices.Sorted(slices.Values(s)), slices.Sorted(slices.Values(fileOrder))) {
			t.Fatal("an epoch is not a permutation of the split's examples")
		}
	}
	// Rows of a window come from all its row groups, not one at a time:
	// within the first window's worth of rows (3 groups of 7) the source
	// row groups interleave.
	groupOf := map[int32]int{}
	for i, id := range fileOrder {
		groupOf[id] = (i%50)/7 + 100*(i/50)
	}
	switches := 0
	for i := 1; i < 21; i++ {
		if groupOf[a0[i]] != groupOf[a0[i-1]] {
			switches++
		}
	}
	if switches < 5 {
		t.Errorf("the first window's rows switch row group only %d times in 21 rows: rows are not shuffled across the window", switches)
	}
}

func TestLoaderSeekReproducesStream(t *testing.T) {
	ds, _ := standardData(t)
	tests := []struct {
		name string
		opt  LoaderOptions
		n    int // batches to record
	}{
		{"pack shuffle repeat", LoaderOptions{Split: "train", B: 4, T: 16, Pack: true, Shuffle: true, Seed: 3, Window: 3, Repeat: true}, 36},
		{"pad shuffle repeat", LoaderOptions{Split: "train", B: 7, T: 8, Shuffle: true, Seed: 3, Window: 5, Repeat: true}, 30},
		{"pack in order repeat", LoaderOptions{Split: "train", B: 2, T: 40, Pack: true, Repeat: true}, 28},
		{"pack shuffle one pass", LoaderOptions{Split: "train", B: 4, T: 16, Pack: true, Shuffle: true, Seed: 9, Window: 2}, -1},
		{"pad one pass", LoaderOptions{Split: "val", B: 3, T: 8}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ref := newTestLoader(t, ds, tt.opt)
			positions := []Position{ref.Position()}
			var batches []model.Batch
			var b model.Batch
			for tt.n < 0 || len(batches) < tt.n {
				err := ref.Next(ctx, &b)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				batches = append(batches, cloneBatch(b))
				positions = append(positions, ref.Position())
			}
			if tt.opt.Repeat && ref.Epoch() < 2 {
				t.Fatalf("recorded batches cover only %d epochs; record more", ref.Epoch())
			}
			// A fresh loader resumed from each position, as after a kill,
			// must reproduce the whole rest of the stream; one loader seeking
			// back and forth, as a reused one would, is checked on a few
			// batches after each seek.
			reused := newTestLoader(t, ds, tt.opt)
			const reusedBatches = 3
			for _, k := range rand.New(rand.NewPCG(5, 5)).Perm(len(positions)) {
				raw, err := json.Marshal(positions[k])
				if err != nil {
					t.Fatal(err)
				}
				var p Position
				if err := json.Unmarshal(raw, &p); err != nil {
					t.Fatal(err)
				}
				if p != positions[k] {
					t.Fatalf("JSON round trip: %+v became %+v", positions[k], p)
				}
				fresh := newTestLoader(t, ds, tt.opt)
				for _, l := range []*Loader{fresh, reused} {
					if err := l.Seek(p); err != nil {
						t.Fatalf("Seek(%s): %v", raw, err)
					}
					if l.Epoch() != p.Epoch || l.Position() != p {
						t.Fatalf("after Seek(%s): epoch %d, position %+v", raw, l.Epoch(), l.Position())
					}
					end := len(batches)
					if l == reused {
						end = min(end, k+reusedBatches)
					}
					for i := k; i < end; i++ {
						if err := l.Next(ctx, &b); err != nil {
							t.Fatalf("resumed at batch %d (%s), batch %d: %v", k, raw, i, err)
						}
						if !batchesEqual(b, batches[i]) {
							t.Fatalf("resumed at batch %d (%s): batch %d differs from the uninterrupted stream", k, raw, i)
						}
						if l.Position() != positions[i+1] {
							t.Fatalf("resumed at batch %d: position after batch %d = %+v, want %+v", k, i, l.Position(), positions[i+1])
						}
					}
					if !tt.opt.Repeat && end == len(batches) {
						if err := l.Next(ctx, &b); !errors.Is(err, io.EOF) {
							t.Fatalf("resumed at batch %d: after the pass %v, want io.EOF", k, err)
						}
					}
				}
				fresh.Close()
			}
		})
	}
}

func TestPositionJSON(t *testing.T) {
	p := Position{Epoch: 3, Window: 2, Row: 17, Offset: 5, Order: "0123456789abcdef"}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"epoch":3,"window":2,"row":17,"offset":5,"order":"0123456789abcdef"}`; string(raw) != want {
		t.Errorf("Position JSON = %s, want %s", raw, want)
	}
	var q Position
	if err := json.Unmarshal(raw, &q); err != nil || q != p {
		t.Errorf("round trip = %+v, %v", q, err)
	}
}

func TestLoaderMemoryBounded(t *testing.T) {
	ds, _ := standardData(t) // 16 row groups in train
	tests := []struct {
		name    string
		shuffle bool
		window  int
		want    int
	}{
		{"shuffle window 3", true, 3, 3},
		{"shuffle default window", true, 0, DefaultWindow},
		{"shuffle window above the split", true, 100, 16},
		{"in order", false, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 4, T: 16, Pack: true, Shuffle: tt.shuffle, Seed: 1, Window: tt.window, Repeat: true})
			var b model.Batch
			for l.Epoch() < 2 {
				if err := l.Next(context.Background(), &b); err != nil {
					t.Fatal(err)
				}
				if l.held > tt.want {
					t.Fatalf("holds %d row groups, bound %d", l.held, tt.want)
				}
			}
			if l.peakHeld != tt.want {
				t.Errorf("peak row groups held = %d, want %d", l.peakHeld, tt.want)
			}
		})
	}
}

func TestNewLoaderRefuses(t *testing.T) {
	ds, _ := standardData(t)
	empty := writeLoaderDataset(t, loaderData{vocab: 100, rowsPerGroup: 4, splits: map[string][][]lexample{
		"train": {{{ids: []int32{1, 2, 0}, ts: 1}}},
		"test":  {{}},
	}})
	ok := LoaderOptions{Split: "train", B: 2, T: 8}
	tests := []struct {
		name string
		ds   *dataset.Dataset
		mut  func(*LoaderOptions)
		want string
	}{
		{"no dataset", nil, nil, "no dataset"},
		{"missing split", ds, func(o *LoaderOptions) { o.Split = "test" }, `no split "test"`},
		{"empty split", empty, func(o *LoaderOptions) { o.Split = "test" }, "has no rows"},
		{"zero B", ds, func(o *LoaderOptions) { o.B = 0 }, "must be positive"},
		{"negative T", ds, func(o *LoaderOptions) { o.T = -1 }, "must be positive"},
		{"negative window", ds, func(o *LoaderOptions) { o.Window = -2 }, "window -2"},
		{"pad outside vocab", ds, func(o *LoaderOptions) { o.PadID = 100000 }, "pad id"},
		{"negative pad", ds, func(o *LoaderOptions) { o.PadID = -1 }, "pad id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := ok
			if tt.mut != nil {
				tt.mut(&opt)
			}
			l, err := NewLoader(tt.ds, opt)
			if err == nil {
				l.Close()
				t.Fatalf("NewLoader(%+v) succeeded", opt)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLoaderSeekRefuses(t *testing.T) {
	ds, _ := standardData(t)
	l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 2, T: 16, Pack: true, Shuffle: true, Seed: 1, Window: 3, Repeat: true})
	other := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 2, T: 16, Pack: true, Shuffle: true, Seed: 2, Window: 3, Repeat: true})
	good := l.Position()
	tests := []struct {
		name string
		p    Position
		want string
	}{
		{"other seed", other.Position(), "example order"},
		{"window out of range", Position{Window: 6, Order: good.Order}, "outside"},
		{"negative row", Position{Row: -1, Order: good.Order}, "outside"},
		{"row out of range", Position{Row: 21, Order: good.Order}, "outside window"},
		{"offset out of range", Position{Offset: 40, Order: good.Order}, "outside its"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.Seek(tt.p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Seek(%+v) = %v, want an error mentioning %q", tt.p, err, tt.want)
			}
		})
	}
}

func TestLoaderRefusesBadRows(t *testing.T) {
	tests := []struct {
		name string
		ex   lexample
		want string
	}{
		{"token outside vocab", lexample{ids: []int32{1, 100, 0}, ts: 1}, "outside the vocabulary"},
		{"negative token", lexample{ids: []int32{1, -3, 0}, ts: 1}, "outside the vocabulary"},
		{"target_start past the end", lexample{ids: []int32{1, 2, 0}, ts: 4}, "target_start 4"},
		{"negative target_start", lexample{ids: []int32{1, 2, 0}, ts: -1}, "target_start -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := writeLoaderDataset(t, loaderData{vocab: 100, rowsPerGroup: 4, splits: map[string][][]lexample{
				"train": {{{ids: []int32{1, 2, 0}, ts: 1}, tt.ex}},
			}})
			l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 2, T: 8})
			var b model.Batch
			err := l.Next(context.Background(), &b)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "row 1") {
				t.Fatalf("Next = %v, want an error about row 1 mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLoaderCancelled(t *testing.T) {
	ds := writeLoaderDataset(t, loaderData{vocab: 100, rowsPerGroup: 4, splits: map[string][][]lexample{
		"train": {{{ids: []int32{1, 2, 0}, ts: 1}}},
	}})
	l := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 2, T: 8})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var b model.Batch
	if err := l.Next(ctx, &b); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context = %v", err)
	}
}

func TestBatchesPerEpoch(t *testing.T) {
	ds, train := standardData(t)
	rows, tokens := 0, 0
	for _, exs := range train {
		for _, ex := range exs {
			rows++
			tokens += len(ex.ids)
		}
	}
	pad := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 4, T: 16})
	pack := newTestLoader(t, ds, LoaderOptions{Split: "train", B: 4, T: 16, Pack: true, Repeat: true})
	if got, want := pad.BatchesPerEpoch(), float64(rows)/4; got != want {
		t.Errorf("pad BatchesPerEpoch = %g, want %g", got, want)
	}
	want := float64(tokens) / 64
	if got := pack.BatchesPerEpoch(); got != want {
		t.Errorf("pack BatchesPerEpoch = %g, want %g", got, want)
	}
	// A repeating packed loader enters epoch 1 within the batch the count predicts.
	var b model.Batch
	n := 0
	for pack.Epoch() == 0 {
		if err := pack.Next(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if math.Abs(float64(n)-want) > 1 {
		t.Errorf("epoch 0 took %d batches, BatchesPerEpoch says %g", n, want)
	}
}

func TestUnigramPerplexity(t *testing.T) {
	// Train targets (positions ≥ target_start): 3 0 | 2 3, so with V = 4
	// and N = 4: p = (c+1)/8 = 2/8, 1/8, 2/8, 3/8 for ids 0..3.
	// Val targets: 1 | 3, so PPL = exp(−(ln 1/8 + ln 3/8)/2) = √(64/3).
	ds := writeLoaderDataset(t, loaderData{vocab: 4, rowsPerGroup: 1, splits: map[string][][]lexample{
		"train": {{{ids: []int32{1, 2, 3, 0}, ts: 2}}, {{ids: []int32{1, 2, 3}, ts: 1}}},
		"val":   {{{ids: []int32{2, 3, 1}, ts: 2}, {ids: []int32{0, 3}, ts: 1}}},
	}})
	got, err := UnigramPerplexity(context.Background(), ds, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Sqrt(64.0 / 3); math.Abs(got-want) > 1e-12 {
		t.Errorf("UnigramPerplexity = %.15g, want %.15g", got, want)
	}
	for _, tt := range []struct {
		name  string
		vocab int
		want  string
	}{
		{"zero vocab", 0, "vocab 0"},
		{"token outside vocab", 3, "outside the vocabulary"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UnigramPerplexity(context.Background(), ds, tt.vocab); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("UnigramPerplexity = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	noVal := writeLoaderDataset(t, loaderData{vocab: 4, rowsPerGroup: 1, splits: map[string][][]lexample{
		"train": {{{ids: []int32{1, 2, 3, 0}, ts: 2}}},
	}})
	if _, err := UnigramPerplexity(context.Background(), noVal, 4); err == nil || !strings.Contains(err.Error(), `no split "val"`) {
		t.Fatalf("UnigramPerplexity without val = %v", err)
	}
}
