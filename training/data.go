package training

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/nebras-ai/nebras/model"
	"github.com/nebras-ai/nebras/pipelines/dataset"
)

// DefaultWindow is the number of row groups a shuffling Loader holds in
// memory when LoaderOptions.Window is 0.
const DefaultWindow = 8

// maxUnigramVocab bounds the count tables UnigramPerplexity allocates.
const maxUnigramVocab = 1 << 24

// LoaderOptions configures a Loader.
type LoaderOptions struct {
	// Split is the dataset split to read: "train", "val" or "test".
	Split string
	// B and T are the batch shape: B rows of T positions.
	B, T int
	// Pack concatenates examples (EOT-separated, as stored) into rows of
	// T+1 tokens, consecutive rows sharing one token so that every
	// transition of the stream is a position of exactly one row and none is
	// wasted on padding. Attention then crosses example boundaries, as in
	// GPT-2's own pre-training; the loss mask still covers only replies.
	// Without Pack each row holds one example, right-padded (input PadID,
	// target -1, weight 0); an example longer than T+1 tokens keeps its last
	// T+1, because the end of the reply matters most.
	Pack bool
	// Shuffle orders each epoch by a seeded permutation that is a pure
	// function of (Seed, epoch); otherwise the split is read in file order.
	Shuffle bool
	Seed    uint64
	// Repeat starts the next epoch after the last example (training);
	// without it the loader makes one pass and then returns io.EOF
	// (evaluation).
	Repeat bool
	// Window is the number of row groups held in memory for shuffling
	// (DefaultWindow when 0). An epoch's order is a seeded permutation of
	// the split's row groups, cut into windows of Window row groups, then a
	// seeded permutation of the rows inside each window. Without Shuffle the
	// loader holds one row group at a time.
	Window int
	// PadID is the input id of padding positions: the tokenizer's EOT id.
	PadID int32
}

// Position is where a Loader's next batch starts. It is JSON-serialisable
// so a checkpoint can carry it; Seek continues from it exactly.
type Position struct {
	Epoch int `json:"epoch"`
	// Window is the index of the current window in the epoch's order.
	Window int `json:"window"`
	// Row is the index of the current example in the window's order.
	Row int `json:"row"`
	// Offset is the index, inside the current example, of the next row's
	// first token (pack mode; 0 otherwise).
	Offset int `json:"offset"`
	// Order fingerprints everything the example order depends on (the
	// split's files, Shuffle, Seed, Window, Pack), so a position is never
	// applied to a different order.
	Order string `json:"order"`
}

// Loader streams a dataset split as model batches. It reads only the
// input_ids and target_start columns, row group by row group, and holds at
// most one window of row groups in memory. A Loader is not safe for
// concurrent use.
type Loader struct {
	opt     LoaderOptions
	src     *splitSource
	window  int // row groups per window
	windows int // windows per epoch
	order   string

	// The epoch whose row-group order perm holds.
	permEpoch int
	perm      []int

	win   examples // the loaded window, rows in file order
	rows  []int32  // the window's row order
	winAt [2]int   // (epoch, window) win holds; epoch -1 = none

	cur  Position // next batch start (Order unused)
	done bool     // a non-repeating loader has passed its last example

	// row is the T+1 tokens of the row being built and whether each token
	// is a target of its example.
	rowTok   []int32
	rowTrain []bool

	// held counts row groups in memory now; peakHeld is its maximum, for
	// tests of the memory bound.
	held, peakHeld int
}

// NewLoader validates opt against ds and opens the split's Parquet files
// (their footers only; data is read window by window in Next).
func NewLoader(ds *dataset.Dataset, opt LoaderOptions) (*Loader, error) {
	if ds == nil {
		return nil, errors.New("loader: no dataset")
	}
	if opt.B <= 0 || opt.T <= 0 {
		return nil, fmt.Errorf("loader: batch shape %d×%d: B and T must be positive", opt.B, opt.T)
	}
	if opt.Window < 0 {
		return nil, fmt.Errorf("loader: window %d is negative", opt.Window)
	}
	if opt.Window == 0 {
		opt.Window = DefaultWindow
	}
	vocab := ds.Manifest.Tokenizer.VocabSize
	if opt.PadID < 0 {
		return nil, fmt.Errorf("loader: pad id %d is negative", opt.PadID)
	}
	if vocab > 0 && int(opt.PadID) >= vocab {
		return nil, fmt.Errorf("loader: pad id %d is outside the vocabulary [0, %d)", opt.PadID, vocab)
	}
	src, err := openSplit(ds, opt.Split)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	l := &Loader{
		opt:       opt,
		src:       src,
		window:    1,
		permEpoch: -1,
		winAt:     [2]int{-1, -1},
		rowTok:    make([]int32, opt.T+1),
		rowTrain:  make([]bool, opt.T+1),
	}
	if opt.Shuffle {
		l.window = opt.Window
	}
	l.windows = (len(src.chunks) + l.window - 1) / l.window
	l.order = l.fingerprint(ds)
	return l, nil
}

// fingerprint hashes what the example order depends on.
func (l *Loader) fingerprint(ds *dataset.Dataset) string {
	h := sha256.New()
	fmt.Fprintf(h, "split=%s pack=%t shuffle=%t", l.opt.Split, l.opt.Pack, l.opt.Shuffle)
	if l.opt.Shuffle {
		fmt.Fprintf(h, " seed=%d window=%d", l.opt.Seed, l.window)
	}
	for _, f := range ds.Manifest.Splits[l.opt.Split].Files {
		fmt.Fprintf(h, "\n%s %d %s", f.Path, f.Rows, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Next fills b with the next batch, reusing its slices. Targets are
// negative exactly where Weights are 0: padding, prompt positions and, in
// pack mode, the step from one example's EOT into the next example. At the
// end of a non-repeating pass the last batch may have fewer rows (b.B < B);
// after it Next returns io.EOF. After any other error the position is
// undefined until the next Seek.
func (l *Loader) Next(ctx context.Context, b *model.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.src == nil {
		return errors.New("loader: closed")
	}
	B, T := l.opt.B, l.opt.T
	n := B * T
	b.Inputs = resize(b.Inputs, n)
	b.Targets = resize(b.Targets, n)
	b.Weights = resize(b.Weights, n)
	rows := 0
	for rows < B {
		var tokens int
		var err error
		if l.opt.Pack {
			tokens, err = l.packRow(ctx)
		} else {
			tokens, err = l.padRow(ctx)
		}
		if err != nil {
			return err
		}
		if tokens < 2 {
			break
		}
		l.emit(b, rows, tokens)
		rows++
	}
	if rows == 0 {
		b.B, b.T = 0, T
		b.Inputs, b.Targets, b.Weights = b.Inputs[:0], b.Targets[:0], b.Weights[:0]
		return io.EOF
	}
	b.B, b.T = rows, T
	b.Inputs, b.Targets, b.Weights = b.Inputs[:rows*T], b.Targets[:rows*T], b.Weights[:rows*T]
	return nil
}

// emit writes the built row (its first tokens entries of rowTok) as row r
// of b: position i reads token i and predicts token i+1.
func (l *Loader) emit(b *model.Batch, r, tokens int) {
	T := l.opt.T
	in, tg, w := b.Inputs[r*T:(r+1)*T], b.Targets[r*T:(r+1)*T], b.Weights[r*T:(r+1)*T]
	for i := range T {
		if i+1 >= tokens {
			in[i], tg[i], w[i] = l.opt.PadID, -1, 0
			continue
		}
		in[i] = l.rowTok[i]
		if l.rowTrain[i+1] {
			tg[i], w[i] = l.rowTok[i+1], 1
		} else {
			tg[i], w[i] = -1, 0
		}
	}
}

// padRow builds the next example's row and returns its token count; 0
// means the pass is over.
func (l *Loader) padRow(ctx context.Context) (int, error) {
	T1 := l.opt.T + 1
	for !l.done {
		if err := l.ensure(ctx); err != nil {
			return 0, err
		}
		ex, ts := l.win.example(int(l.rows[l.cur.Row]))
		if len(ex) > T1 {
			cut := len(ex) - T1
			ex, ts = ex[cut:], ts-cut
		}
		copy(l.rowTok, ex)
		for j := range ex {
			l.rowTrain[j] = j >= ts
		}
		l.advance()
		// A one-token example has no transition: nothing to train on.
		if len(ex) >= 2 {
			return len(ex), nil
		}
	}
	return 0, nil
}

// packRow fills a row with up to T+1 tokens of the example stream and
// returns how many it got; fewer than T+1 only at the end of a
// non-repeating pass. The row's last token is also the next row's first,
// so every transition of the stream is trained or scored exactly once.
func (l *Loader) packRow(ctx context.Context) (int, error) {
	T1 := l.opt.T + 1
	n := 0
	for n < T1 && !l.done {
		if err := l.ensure(ctx); err != nil {
			return 0, err
		}
		ex, ts := l.win.example(int(l.rows[l.cur.Row]))
		off := l.cur.Offset
		k := min(T1-n, len(ex)-off)
		copy(l.rowTok[n:], ex[off:off+k])
		// An example's first token is never a target, even with
		// target_start 0: it follows another example's EOT.
		for j := range k {
			l.rowTrain[n+j] = off+j >= 1 && off+j >= ts
		}
		n += k
		if n == T1 {
			l.cur.Offset = off + k - 1
			break
		}
		l.advance()
	}
	return n, nil
}

// advance moves the cursor to the start of the next example, across
// windows and epochs. It needs the current window loaded.
func (l *Loader) advance() {
	l.cur.Row++
	l.cur.Offset = 0
	if l.cur.Row < len(l.rows) {
		return
	}
	l.cur.Row = 0
	l.cur.Window++
	if l.cur.Window < l.windows {
		return
	}
	l.cur.Window = 0
	l.cur.Epoch++
	if !l.opt.Repeat {
		l.done = true
	}
}

// ensure loads the cursor's window unless it is the one in memory.
func (l *Loader) ensure(ctx context.Context) error {
	if l.winAt == [2]int{l.cur.Epoch, l.cur.Window} {
		return nil
	}
	return l.load(ctx, l.cur.Epoch, l.cur.Window)
}

// load reads window w of epoch e into memory, replacing the one held.
func (l *Loader) load(ctx context.Context, e, w int) error {
	chunks := l.windowChunks(e, w)
	l.win.reset()
	l.winAt = [2]int{-1, -1}
	l.held = 0
	for _, c := range chunks {
		if err := l.src.read(ctx, c, &l.win); err != nil {
			return fmt.Errorf("loader: %w", err)
		}
		l.held++
		l.peakHeld = max(l.peakHeld, l.held)
	}
	n := l.win.len()
	l.rows = l.rows[:0]
	for i := range n {
		l.rows = append(l.rows, int32(i))
	}
	if l.opt.Shuffle {
		shuffle(newRand(l.opt.Seed, uint64(e), uint64(w)+1), len(l.rows), func(i, j int) {
			l.rows[i], l.rows[j] = l.rows[j], l.rows[i]
		})
	}
	if n == 0 {
		return fmt.Errorf("loader: split %s: epoch %d window %d has no rows", l.opt.Split, e, w)
	}
	l.winAt = [2]int{e, w}
	return nil
}

// windowChunks returns the row groups of window w in epoch e's order.
func (l *Loader) windowChunks(e, w int) []int {
	if l.permEpoch != e {
		l.perm = l.perm[:0]
		for i := range l.src.chunks {
			l.perm = append(l.perm, i)
		}
		if l.opt.Shuffle {
			shuffle(newRand(l.opt.Seed, uint64(e), 0), len(l.perm), func(i, j int) {
				l.perm[i], l.perm[j] = l.perm[j], l.perm[i]
			})
		}
		l.permEpoch = e
	}
	return l.perm[w*l.window : min((w+1)*l.window, len(l.perm))]
}

// Position returns where the next batch starts.
func (l *Loader) Position() Position {
	p := l.cur
	p.Order = l.order
	return p
}

// Seek makes the loader continue exactly from p, a Position taken from a
// loader over the same split with the same Shuffle, Seed, Window and Pack:
// the batches Next yields after Seek(p) are the ones the loader that
// produced p yielded after it.
func (l *Loader) Seek(p Position) error {
	if l.src == nil {
		return errors.New("loader: closed")
	}
	if p.Order != l.order {
		return fmt.Errorf("loader: position is for example order %q, this loader's is %q (different data, shuffle, seed, window or pack)", p.Order, l.order)
	}
	if p.Epoch < 0 || p.Window < 0 || p.Window >= l.windows || p.Row < 0 || p.Offset < 0 {
		return fmt.Errorf("loader: position epoch %d window %d row %d offset %d is outside the split's %d windows", p.Epoch, p.Window, p.Row, p.Offset, l.windows)
	}
	if !l.opt.Pack && p.Offset != 0 {
		return fmt.Errorf("loader: position has offset %d; only pack mode splits examples", p.Offset)
	}
	if !l.opt.Repeat && p.Epoch >= 1 {
		l.cur, l.done = Position{Epoch: p.Epoch}, true
		return nil
	}
	if err := l.load(context.Background(), p.Epoch, p.Window); err != nil {
		return err
	}
	if p.Row >= len(l.rows) {
		return fmt.Errorf("loader: position row %d is outside window %d's %d rows", p.Row, p.Window, len(l.rows))
	}
	if ex, _ := l.win.example(int(l.rows[p.Row])); p.Offset > 0 && p.Offset >= len(ex) {
		return fmt.Errorf("loader: position offset %d is outside its %d-token example", p.Offset, len(ex))
	}
	l.cur = Position{Epoch: p.Epoch, Window: p.Window, Row: p.Row, Offset: p.Offset}
	l.done = false
	return nil
}

// Epoch returns the epoch the next batch starts in.
func (l *Loader) Epoch() int { return l.cur.Epoch }

// BatchesPerEpoch returns how many batches an epoch makes, from the
// manifest's counts: rows/B without Pack, tokens/(T·B) with it (a packed
// row advances the stream by T tokens). Batches of a repeating loader
// straddle epochs, so the value need not be whole.
func (l *Loader) BatchesPerEpoch() float64 {
	if l.opt.Pack {
		return float64(l.src.info.Tokens) / float64(l.opt.T*l.opt.B)
	}
	return float64(l.src.info.Rows) / float64(l.opt.B)
}

// Close releases the loader's files. It is safe to call more than once.
func (l *Loader) Close() error {
	if l.src == nil {
		return nil
	}
	err := l.src.close()
	l.src = nil
	l.win = examples{}
	l.held = 0
	return err
}

// SplitStats returns the rows, tokens and target tokens (those under the
// loss mask) of a split, from the manifest.
func SplitStats(ds *dataset.Dataset, split string) (rows, tokens, targets int64, err error) {
	s, ok := ds.Manifest.Splits[split]
	if !ok {
		return 0, 0, 0, fmt.Errorf("dataset %s: no split %q", ds.Dir, split)
	}
	return s.Rows, s.Tokens, s.TargetTokens, nil
}

// UnigramPerplexity is the baseline a trained model must beat: the
// perplexity, on the val split's target tokens (those at positions ≥
// target_start, as under the training loss mask), of a unigram model of
// target tokens estimated on the train split with add-one smoothing:
//
//	p(w) = (c(w) + 1) / (N + vocab)
//	PPL  = exp(−(1/M) · Σ_{val targets t} ln p(t))
//
// where c(w) counts w among the N train target tokens and M is the number
// of val target tokens. Both splits are streamed a row group at a time.
func UnigramPerplexity(ctx context.Context, ds *dataset.Dataset, vocab int) (float64, error) {
	if vocab <= 0 || vocab > maxUnigramVocab {
		return 0, fmt.Errorf("unigram perplexity: vocab %d is outside [1, %d]", vocab, maxUnigramVocab)
	}
	train, err := countTargets(ctx, ds, "train", vocab)
	if err != nil {
		return 0, fmt.Errorf("unigram perplexity: %w", err)
	}
	val, err := countTargets(ctx, ds, "val", vocab)
	if err != nil {
		return 0, fmt.Errorf("unigram perplexity: %w", err)
	}
	var n, m int64
	for w := range vocab {
		n += train[w]
		m += val[w]
	}
	if m == 0 {
		return 0, errors.New("unigram perplexity: the val split has no target tokens")
	}
	var logp float64
	for w, k := range val {
		if k > 0 {
			logp += float64(k) * math.Log(float64(train[w]+1))
		}
	}
	logp -= float64(m) * math.Log(float64(n)+float64(vocab))
	return math.Exp(-logp / float64(m)), nil
}

// countTargets counts each token id among a split's target tokens.
func countTargets(ctx context.Context, ds *dataset.Dataset, split string, vocab int) ([]int64, error) {
	src, err := openSplit(ds, split)
	if err != nil {
		return nil, err
	}
	defer src.close()
	counts := make([]int64, vocab)
	var buf examples
	for c := range src.chunks {
		buf.reset()
		if err := src.read(ctx, c, &buf); err != nil {
			return nil, err
		}
		for i := range buf.len() {
			ex, ts := buf.example(i)
			for _, id := range ex[min(max(ts, 1), len(ex)):] {
				if int(id) >= vocab {
					return nil, fmt.Errorf("split %s: token %d is outside the vocabulary [0, %d)", split, id, vocab)
				}
				counts[id]++
			}
		}
	}
	return counts, nil
}

// examples holds decoded rows: example i is tokens[offsets[i]:offsets[i+1]]
// with reply start starts[i].
type examples struct {
	tokens  []int32
	offsets []int
	starts  []int32
}

func (e *examples) reset() {
	e.tokens, e.offsets, e.starts = e.tokens[:0], append(e.offsets[:0], 0), e.starts[:0]
}

func (e *examples) len() int { return len(e.starts) }

func (e *examples) example(i int) ([]int32, int) {
	return e.tokens[e.offsets[i]:e.offsets[i+1]], int(e.starts[i])
}

// splitSource is a split's Parquet files, open, and their row groups.
type splitSource struct {
	name   string
	info   dataset.SplitInfo
	vocab  int // 0 = unknown
	files  []sourceFile
	chunks []chunk
}

type sourceFile struct {
	rel         string // manifest path, for messages
	pf          *file.Reader
	fr          *pqarrow.FileReader
	ids, starts int // leaf column indices of input_ids and target_start
}

// chunk is one row group.
type chunk struct {
	file, rowGroup int
	rows           int64
}

// openSplit opens a split's files, checking that the split has rows, that
// each file has the columns the loader reads and the row count the manifest
// records.
func openSplit(ds *dataset.Dataset, split string) (*splitSource, error) {
	info, ok := ds.Manifest.Splits[split]
	if !ok {
		return nil, fmt.Errorf("dataset %s: no split %q", ds.Dir, split)
	}
	if info.Rows <= 0 {
		return nil, fmt.Errorf("dataset %s: split %q has no rows", ds.Dir, split)
	}
	s := &splitSource{name: split, info: info, vocab: ds.Manifest.Tokenizer.VocabSize}
	for fi, f := range info.Files {
		sf, err := openFile(ds.Path(f.Path), f.Path)
		if err != nil {
			s.close()
			return nil, err
		}
		s.files = append(s.files, sf)
		md := sf.pf.MetaData()
		if got := md.GetNumRows(); got != f.Rows {
			s.close()
			return nil, fmt.Errorf("%s: %d rows, manifest says %d", f.Path, got, f.Rows)
		}
		for rg := range md.NumRowGroups() {
			if n := md.RowGroup(rg).NumRows(); n > 0 {
				s.chunks = append(s.chunks, chunk{file: fi, rowGroup: rg, rows: n})
			}
		}
	}
	if len(s.chunks) == 0 {
		s.close()
		return nil, fmt.Errorf("dataset %s: split %q: its files hold no rows", ds.Dir, split)
	}
	return s, nil
}

func openFile(path, rel string) (sourceFile, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return sourceFile{}, fmt.Errorf("%s: %w", rel, err)
	}
	sf := sourceFile{rel: rel, pf: pf, ids: -1, starts: -1}
	sc := pf.MetaData().Schema
	for i := range sc.NumColumns() {
		col := sc.Column(i)
		path := col.ColumnPath()
		switch {
		case len(path) > 1 && path[0] == "input_ids" && sf.ids < 0:
			if col.PhysicalType() != parquet.Types.Int32 {
				break
			}
			sf.ids = i
		case len(path) == 1 && path[0] == "target_start":
			if col.PhysicalType() != parquet.Types.Int32 {
				break
			}
			sf.starts = i
		}
	}
	if sf.ids < 0 || sf.starts < 0 {
		pf.Close()
		return sourceFile{}, fmt.Errorf("%s: no int32 columns input_ids (list) and target_start", rel)
	}
	sf.fr, err = pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return sourceFile{}, fmt.Errorf("%s: %w", rel, err)
	}
	return sf, nil
}

func (s *splitSource) close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.pf.Close())
	}
	s.files = nil
	return errors.Join(errs...)
}

// read appends chunk c's examples to dst, checking each one: no nulls,
// token ids inside the vocabulary, target_start inside the example.
func (s *splitSource) read(ctx context.Context, c int, dst *examples) error {
	ch := s.chunks[c]
	f := s.files[ch.file]
	where := func() string { return fmt.Sprintf("%s row group %d", f.rel, ch.rowGroup) }
	tbl, err := f.fr.ReadRowGroups(ctx, []int{f.ids, f.starts}, []int{ch.rowGroup})
	if err != nil {
		return fmt.Errorf("%s: %w", where(), err)
	}
	defer tbl.Release()
	idsCol, startsCol := column(tbl, "input_ids"), column(tbl, "target_start")
	if idsCol == nil || startsCol == nil {
		return fmt.Errorf("%s: read lacks input_ids or target_start", where())
	}
	base := dst.len()
	for _, a := range idsCol.Chunks() {
		lst, ok := a.(*array.List)
		if !ok {
			return fmt.Errorf("%s: input_ids is %s, want list<int32>", where(), a.DataType())
		}
		vals, ok := lst.ListValues().(*array.Int32)
		if !ok {
			return fmt.Errorf("%s: input_ids is %s, want list<int32>", where(), a.DataType())
		}
		raw := vals.Int32Values()
		for r := range lst.Len() {
			row := len(dst.offsets) - 1 - base
			if lst.IsNull(r) {
				return fmt.Errorf("%s row %d: input_ids is null", where(), row)
			}
			lo, hi := lst.ValueOffsets(r)
			ex := raw[lo:hi]
			for _, id := range ex {
				if id < 0 || (s.vocab > 0 && int(id) >= s.vocab) {
					return fmt.Errorf("%s row %d: token %d is outside the vocabulary [0, %d)", where(), row, id, s.vocab)
				}
			}
			dst.tokens = append(dst.tokens, ex...)
			dst.offsets = append(dst.offsets, len(dst.tokens))
		}
	}
	for _, a := range startsCol.Chunks() {
		ts, ok := a.(*array.Int32)
		if !ok {
			return fmt.Errorf("%s: target_start is %s, want int32", where(), a.DataType())
		}
		for r := range ts.Len() {
			i := len(dst.starts)
			if i+1 >= len(dst.offsets) {
				return fmt.Errorf("%s: more target_start values than input_ids rows", where())
			}
			if ts.IsNull(r) {
				return fmt.Errorf("%s row %d: target_start is null", where(), i-base)
			}
			v, n := ts.Value(r), dst.offsets[i+1]-dst.offsets[i]
			if v < 0 || int(v) > n {
				return fmt.Errorf("%s row %d: target_start %d is outside its %d-token example", where(), i-base, v, n)
			}
			dst.starts = append(dst.starts, v)
		}
	}
	if len(dst.starts) != len(dst.offsets)-1 || int64(len(dst.starts)-base) != ch.rows {
		return fmt.Errorf("%s: read %d input_ids and %d target_start rows, footer says %d",
			where(), len(dst.offsets)-1-base, len(dst.starts)-base, ch.rows)
	}
	return nil
}

func column(tbl arrow.Table, name string) *arrow.Chunked {
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return nil
	}
	return tbl.Column(idx[0]).Data()
}

func resize[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]E, n)
}

// newRand returns the generator of one seeded permutation: (seed, epoch,
// stream) pick it, stream 0 for the row-group order and w+1 for window w's
// rows. The streams are mixed with splitmix64 so nearby inputs do not give
// correlated generators.
func newRand(seed, epoch, stream uint64) *rand.PCG {
	return rand.NewPCG(splitmix(seed^splitmix(epoch)), splitmix(stream^0x9e3779b97f4a7c15))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// shuffle is a Fisher–Yates shuffle with Lemire's unbiased bounded draws.
// It is written out rather than taken from math/rand/v2 so the order —
// which checkpoints depend on — cannot change with the Go release.
func shuffle(r *rand.PCG, n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, int(bounded(r, uint64(i+1))))
	}
}

// bounded returns a uniform value in [0, n).
func bounded(r *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(r.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), n)
		}
	}
	return hi
}
