package pipelines

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"

	"github.com/nebras-ai/nebras/internal/sgd"
	"github.com/nebras-ai/nebras/model/tokenizer"
	"github.com/nebras-ai/nebras/pipelines/dataset"
	"github.com/nebras-ai/nebras/transforms"
	"github.com/nebras-ai/nebras/transforms/synth"
)

func TestMain(m *testing.M) {
	beam.Init()
	// beam.Init installs an info-level default logger; Prism's job
	// transitions would drown test and benchmark output.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// gpt2 is shared by the tests; building it from tiktoken's ranks takes a
// moment and the tokenizer is safe for concurrent use.
var gpt2 = sync.OnceValues(tokenizer.GPT2)

func mustGPT2(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := gpt2()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// writeTickets generates n synthetic conversations into dir/name.
func writeTickets(t testing.TB, dir, name string, n int, format string, seed int64) (string, synth.Report) {
	t.Helper()
	o := synth.DefaultOptions()
	o.N, o.Format, o.Seed = n, format, seed
	var buf bytes.Buffer
	rep, err := synth.Generate(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	data := buf.Bytes()
	if strings.HasSuffix(name, ".gz") {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(data)
		zw.Close()
		data = gz.Bytes()
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, rep
}

func testOptions(inputs []string, out, runner string) Options {
	o := DefaultOptions()
	o.Inputs, o.Output, o.Runner = inputs, out, runner
	o.MaxSeqLen = 256
	o.Shards = 3
	return o
}

func runPrepare(t testing.TB, o Options) *dataset.Dataset {
	t.Helper()
	if _, err := Run(context.Background(), o, nil); err != nil {
		t.Fatalf("Run(%s): %v", o.Runner, err)
	}
	d, err := dataset.Open(o.Output)
	if err != nil {
		t.Fatalf("dataset.Open after a successful run: %v", err)
	}
	return d
}

// readRows reads every row of a split through Arrow's Parquet reader, the
// way pandas, Spark or DuckDB users would.
func readRows(t testing.TB, d *dataset.Dataset, split string) []dataset.Row {
	t.Helper()
	files, err := d.SplitFiles(split)
	if err != nil {
		t.Fatal(err)
	}
	var rows []dataset.Row
	for _, f := range files {
		rows = append(rows, readParquetArrow(t, f)...)
	}
	return rows
}

func readParquetArrow(t testing.TB, path string) []dataset.Row {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 512}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer tbl.Release()

	schema := tbl.Schema()
	wantTypes := map[string]arrow.DataType{
		"example_id": arrow.BinaryTypes.String, "conversation_id": arrow.BinaryTypes.String,
		"turn_index": arrow.PrimitiveTypes.Int32, "input_ids": arrow.ListOf(arrow.PrimitiveTypes.Int32),
		"target_start": arrow.PrimitiveTypes.Int32, "n_tokens": arrow.PrimitiveTypes.Int32,
		"context": arrow.BinaryTypes.String, "reply": arrow.BinaryTypes.String,
		"truncated": arrow.FixedWidthTypes.Boolean,
	}
	if len(schema.Fields()) != len(dataset.Columns) {
		t.Fatalf("%s: %d columns, want %v", path, len(schema.Fields()), dataset.Columns)
	}
	for i, name := range dataset.Columns {
		f := schema.Field(i)
		if f.Name != name {
			t.Fatalf("%s: column %d is %q, want %q", path, i, f.Name, name)
		}
		if want, ok := wantTypes[name]; ok && !arrow.TypeEqual(f.Type, want, arrow.CheckMetadata()) {
			// list<element: int32> and list<item: int32> differ only in the
			// child's name; compare the element type.
			if lt, ok := f.Type.(*arrow.ListType); !ok || !arrow.TypeEqual(lt.Elem(), arrow.PrimitiveTypes.Int32) || name != "input_ids" {
				t.Fatalf("%s: column %s has type %s, want %s", path, name, f.Type, want)
			}
		}
	}

	tr := array.NewTableReader(tbl, 512)
	defer tr.Release()
	var rows []dataset.Row
	for tr.Next() {
		rec := tr.RecordBatch()
		str := func(i int) *array.String {
			if s, ok := rec.Column(i).(*array.String); ok {
				return s
			}
			t.Fatalf("column %d is %T", i, rec.Column(i))
			return nil
		}
		i32 := func(i int) *array.Int32 { return rec.Column(i).(*array.Int32) }
		split := rec.Column(2)
		ids := rec.Column(4).(*array.List)
		idv := ids.ListValues().(*array.Int32)
		for r := 0; r < int(rec.NumRows()); r++ {
			start, end := ids.ValueOffsets(r)
			row := dataset.Row{
				ExampleID:      str(0).Value(r),
				ConversationID: str(1).Value(r),
				Split:          split.ValueStr(r),
				TurnIndex:      i32(3).Value(r),
				InputIDs:       append([]int32(nil), idv.Int32Values()[start:end]...),
				TargetStart:    i32(5).Value(r),
				NTokens:        i32(6).Value(r),
				Context:        str(7).Value(r),
				Reply:          str(8).Value(r),
				Truncated:      rec.Column(9).(*array.Boolean).Value(r),
			}
			rows = append(rows, row)
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func countLines(t testing.TB, path string) (nonBlank int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			nonBlank++
		}
	}
	return nonBlank
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	// phoneRE finds the shapes the generator writes: (415) 555-0132,
	// 415-555-0132, 415.555.0132, +44 20 7946 0958 and the like.
	phoneRE = regexp.MustCompile(`(\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b|\+\d{1,3}( \d{2,4}){2,4}`)
	// digitRE finds free-standing digit runs; digits glued to letters
	// (tracking number JD0934309023522333) are identifiers, not cards.
	digitRE = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(\d[\d -]{11,22}\d)(?:$|[^0-9A-Za-z])`)
)

func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// assertNoPII fails if text holds an e-mail address, a phone number or a
// Luhn-valid card number.
func assertNoPII(t testing.TB, where, text string) {
	t.Helper()
	if m := emailRE.FindString(text); m != "" {
		t.Fatalf("%s: raw e-mail %q survived redaction", where, m)
	}
	if m := phoneRE.FindString(text); m != "" {
		t.Fatalf("%s: raw phone number %q survived redaction", where, m)
	}
	for _, sm := range digitRE.FindAllStringSubmatch(text, -1) {
		m := sm[1]
		d := strings.NewReplacer(" ", "", "-", "").Replace(m)
		if len(d) >= 13 && len(d) <= 19 && luhn(d) {
			t.Fatalf("%s: Luhn-valid card number %q survived redaction", where, m)
		}
	}
}

// checkRows checks every row's invariants against the tokenizer and options.
func checkRows(t testing.TB, tok *tokenizer.Tokenizer, o Options, split string, rows []dataset.Row) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		where := fmt.Sprintf("%s row %s", split, r.ExampleID)
		if seen[r.ExampleID] {
			t.Fatalf("%s: duplicate example_id", where)
		}
		seen[r.ExampleID] = true
		if r.Split != split {
			t.Fatalf("%s: split column %q", where, r.Split)
		}
		if int(r.NTokens) != len(r.InputIDs) || len(r.InputIDs) > o.MaxSeqLen {
			t.Fatalf("%s: n_tokens %d, len(input_ids) %d, max %d", where, r.NTokens, len(r.InputIDs), o.MaxSeqLen)
		}
		if r.TargetStart <= 0 || int(r.TargetStart) >= len(r.InputIDs) {
			t.Fatalf("%s: target_start %d outside (0, %d)", where, r.TargetStart, len(r.InputIDs))
		}
		if last := r.InputIDs[len(r.InputIDs)-1]; int(last) != tok.EOT() {
			t.Fatalf("%s: last id %d, want <|endoftext|> %d", where, last, tok.EOT())
		}
		ids := make([]int, len(r.InputIDs))
		for i, id := range r.InputIDs {
			ids[i] = int(id)
		}
		prompt, err := tok.DecodeBytes(ids[:r.TargetStart])
		if err != nil {
			t.Fatal(err)
		}
		if !r.Truncated && string(prompt) != r.Context {
			t.Fatalf("%s: decoded prompt %q != context %q", where, prompt, r.Context)
		}
		if !strings.HasSuffix(r.Context, "Agent:") {
			t.Fatalf("%s: context does not end with the template's \"Agent:\": %q", where, r.Context)
		}
		completion, err := tok.Decode(ids[r.TargetStart:])
		if err != nil {
			t.Fatal(err)
		}
		if completion != " "+r.Reply+"<|endoftext|>" {
			t.Fatalf("%s: decoded completion %q, want %q", where, completion, " "+r.Reply+"<|endoftext|>")
		}
		// The rendered example tokenized in one go must give exactly the
		// ids assembled from per-turn tokens.
		if !r.Truncated {
			whole := tok.EncodeOrdinary(r.Context + " " + r.Reply)
			whole = append(whole, tok.EOT())
			if !equalIDs(whole, ids) {
				t.Fatalf("%s: ids differ from tokenizing the rendered text", where)
			}
		}
		assertNoPII(t, where+" context", r.Context)
		assertNoPII(t, where+" reply", r.Reply)
	}
}

func equalIDs(a []int, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func readRejected(t testing.TB, d *dataset.Dataset) []rejectRecord {
	t.Helper()
	var out []rejectRecord
	for _, f := range d.Manifest.Rejected {
		raw, err := os.ReadFile(d.Path(f.Path))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
			var r rejectRecord
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("%s: dead letter is not JSON: %v", f.Path, err)
			}
			out = append(out, r)
		}
	}
	return out
}

// TestPrismEndToEnd is the acceptance test of the data pipeline: messy
// synthetic tickets through Prism into a dataset that is read back through
// Arrow and checked row by row.
func TestPrismEndToEnd(t *testing.T) {
	dir := t.TempDir()
	in, rep := writeTickets(t, dir, "tickets.jsonl", 400, "jsonl", 7)
	o := testOptions([]string{in}, filepath.Join(dir, "ds"), RunnerPrism)
	d := runPrepare(t, o)
	m := d.Manifest
	c := m.Counts

	if want := int64(countLines(t, in)); c.Read != want {
		t.Errorf("read %d records, the file has %d non-blank lines", c.Read, want)
	}
	if err := c.Conserved(); err != nil {
		t.Error(err)
	}
	if got := total(c.Rejected); got != int64(rep.Malformed) {
		t.Errorf("rejected %d (%v), generator wrote %d malformed lines", got, c.Rejected, rep.Malformed)
	}
	// The generator wrote N distinct conversations plus duplicates and
	// re-imports of them; a duplicate of a conversation that is filtered
	// is filtered too, before dedup sees it.
	if got := c.Kept + total(c.Filtered) + c.Duplicates; got != int64(rep.Records) {
		t.Errorf("kept+filtered+duplicates = %d, generator wrote %d well-formed records", got, rep.Records)
	}
	if got, want := c.Duplicates+total(c.Filtered), int64(rep.Duplicates+rep.NoAgentReply); got < want {
		t.Errorf("duplicates %d + filtered %v < generator's duplicates %d + no-agent %d", c.Duplicates, c.Filtered, rep.Duplicates, rep.NoAgentReply)
	}
	if c.Filtered[transforms.FilterNoAgentReply] < int64(rep.NoAgentReply) {
		t.Errorf("filtered %d conversations without agent reply, generator wrote %d", c.Filtered[transforms.FilterNoAgentReply], rep.NoAgentReply)
	}
	if c.Kept > int64(rep.Conversations-rep.NoAgentReply) {
		t.Errorf("kept %d, more than the %d distinct conversations with an agent reply", c.Kept, rep.Conversations-rep.NoAgentReply)
	}
	for _, typ := range []string{"email", "phone", "card", "iban", "ip"} {
		if c.Redactions[typ] == 0 {
			t.Errorf("no %s redacted; redactions %v", typ, c.Redactions)
		}
	}
	if len(m.Inputs) != 1 || m.Inputs[0].SHA256 == "" || m.Inputs[0].Records != c.Read {
		t.Errorf("inputs %+v", m.Inputs)
	}
	if m.Tokenizer.Hash != mustGPT2(t).Hash() || m.ChatTemplate != transforms.ChatTemplateName {
		t.Errorf("manifest tokenizer %+v template %q", m.Tokenizer, m.ChatTemplate)
	}

	// Dead letters name file:line and reason, and their line numbers point
	// at the lines that were rejected.
	lines := strings.Split(string(mustRead(t, in)), "\n")
	rejects := readRejected(t, d)
	if int64(len(rejects)) != total(c.Rejected) {
		t.Fatalf("%d dead letters on disk, manifest counts %d", len(rejects), total(c.Rejected))
	}
	for _, r := range rejects {
		if r.File != in || r.Line < 1 || r.Reason == "" || r.Error == "" {
			t.Fatalf("dead letter %+v lacks file, line or reason", r)
		}
		if r.Raw != "" && strings.TrimRight(lines[r.Line-1], "\r") != r.Raw {
			t.Fatalf("dead letter at %s:%d holds %q, the line is %q", r.File, r.Line, r.Raw, lines[r.Line-1])
		}
	}

	// Every row, read back through Arrow, keeps the invariants.
	tok := mustGPT2(t)
	convSplit := map[string]string{}
	var rows int64
	for _, split := range transforms.Splits {
		rs := readRows(t, d, string(split))
		rows += int64(len(rs))
		if int64(len(rs)) != m.Splits[string(split)].Rows {
			t.Errorf("split %s: Arrow read %d rows, manifest says %d", split, len(rs), m.Splits[string(split)].Rows)
		}
		checkRows(t, tok, o, string(split), rs)
		for _, r := range rs {
			if prev, ok := convSplit[r.ConversationID]; ok && prev != string(split) {
				t.Fatalf("conversation %s straddles %s and %s", r.ConversationID, prev, split)
			}
			convSplit[r.ConversationID] = string(split)
			if want := string(transforms.AssignSplit(r.ConversationID, "", o.Split)); want != string(split) {
				t.Fatalf("conversation %s in %s, AssignSplit says %s", r.ConversationID, split, want)
			}
		}
	}
	if rows == 0 || int64(len(convSplit)) > c.Kept {
		t.Errorf("%d rows from %d conversations, kept %d", rows, len(convSplit), c.Kept)
	}
	if err := d.Verify(); err != nil {
		t.Error(err)
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrismMatchesLoop runs the same input through Prism and the plain loop:
// the datasets must be identical to the byte, which also proves the output
// does not depend on the order the runner delivers records in.
func TestPrismMatchesLoop(t *testing.T) {
	dir := t.TempDir()
	a, _ := writeTickets(t, dir, "a.jsonl", 250, "jsonl", 11)
	b, _ := writeTickets(t, dir, "b.jsonl.gz", 150, "jsonl", 12)
	csvIn, _ := writeTickets(t, dir, "c.csv", 120, "csv", 13)
	inputs := []string{a, filepath.Join(dir, "*.gz"), csvIn}
	prism := runPrepare(t, testOptions(inputs, filepath.Join(dir, "prism"), RunnerPrism))
	loop := runPrepare(t, testOptions(inputs, filepath.Join(dir, "loop"), RunnerLoop))

	if len(prism.Manifest.Inputs) != 3 || prism.Manifest.Inputs[1].Path != b {
		t.Fatalf("inputs %+v, want a, b (from the glob) and c", prism.Manifest.Inputs)
	}
	pc, lc := prism.Manifest.Counts, loop.Manifest.Counts
	pj, _ := json.Marshal(pc)
	lj, _ := json.Marshal(lc)
	if !bytes.Equal(pj, lj) {
		t.Fatalf("counts differ:\nprism %s\nloop  %s", pj, lj)
	}
	for _, s := range transforms.Splits {
		ps, ls := prism.Manifest.Splits[string(s)], loop.Manifest.Splits[string(s)]
		pj, _ := json.Marshal(ps)
		lj, _ := json.Marshal(ls)
		if !bytes.Equal(pj, lj) {
			t.Errorf("split %s differs:\nprism %s\nloop  %s", s, pj, lj)
		}
	}
	pj, _ = json.Marshal(prism.Manifest.Rejected)
	lj, _ = json.Marshal(loop.Manifest.Rejected)
	if !bytes.Equal(pj, lj) {
		t.Errorf("dead letters differ:\nprism %s\nloop  %s", pj, lj)
	}
}

// TestCSVInput checks the help-desk export path: rows grouped into tickets
// across the file, bad rows dead-lettered with their line.
func TestCSVInput(t *testing.T) {
	dir := t.TempDir()
	in, rep := writeTickets(t, dir, "export.csv", 300, "csv", 5)
	d := runPrepare(t, testOptions([]string{in}, filepath.Join(dir, "ds"), RunnerPrism))
	c := d.Manifest.Counts
	if err := c.Conserved(); err != nil {
		t.Fatal(err)
	}
	if c.CSVRows == 0 || c.Read == 0 || c.Kept == 0 {
		t.Fatalf("counts %+v", c)
	}
	if got := total(c.Rejected); got != int64(rep.Malformed) {
		t.Errorf("rejected %d rows (%v), generator wrote %d malformed", got, c.Rejected, rep.Malformed)
	}
	for _, r := range readRejected(t, d) {
		if r.Line < 2 || (r.Raw == "" && r.RawBase64 == "") {
			t.Errorf("CSV dead letter %+v lacks its line or raw row", r)
		}
	}
	tok := mustGPT2(t)
	for _, s := range transforms.Splits {
		checkRows(t, tok, testOptions(nil, "", ""), string(s), readRows(t, d, string(s)))
	}
}

// TestSplitsStableAcrossShardCounts: a conversation's split depends on its
// id only, not on sharding or runner.
func TestSplitsStableAcrossShardCounts(t *testing.T) {
	dir := t.TempDir()
	in, _ := writeTickets(t, dir, "t.jsonl", 300, "jsonl", 3)
	splitOf := func(shards int, runner string) map[string]string {
		o := testOptions([]string{in}, filepath.Join(dir, fmt.Sprintf("ds-%d-%s", shards, runner)), runner)
		o.Shards = shards
		d := runPrepare(t, o)
		out := map[string]string{}
		for _, s := range transforms.Splits {
			for _, r := range readRows(t, d, string(s)) {
				out[r.ConversationID] = string(s)
			}
		}
		return out
	}
	a, b := splitOf(1, RunnerLoop), splitOf(5, RunnerPrism)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d vs %d conversations", len(a), len(b))
	}
	for id, s := range a {
		if b[id] != s {
			t.Fatalf("conversation %s: split %s with 1 shard, %s with 5", id, s, b[id])
		}
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	in, _ := writeTickets(t, dir, "t.jsonl", 50, "jsonl", 1)
	done := filepath.Join(dir, "done")
	runPrepare(t, testOptions([]string{in}, done, RunnerLoop))
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	readOnly := filepath.Join(dir, "ro")
	os.MkdirAll(readOnly, 0o555)
	badCSV := filepath.Join(dir, "bad.csv")
	os.WriteFile(badCSV, []byte("id,text\n1,hello\n"), 0o644)

	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{"missing input", func(o *Options) { o.Inputs = []string{filepath.Join(dir, "nope.jsonl")} }, "no such file"},
		{"glob matches nothing", func(o *Options) { o.Inputs = []string{filepath.Join(dir, "*.parquet")} }, "matches no files"},
		{"unknown extension", func(o *Options) { o.Inputs = []string{filepath.Join(dir, "foreign", "notes.txt")} }, "cannot tell the format"},
		{"csv without required columns", func(o *Options) { o.Inputs = []string{badCSV} }, badCSV},
		{"existing dataset", func(o *Options) { o.Output = done }, "already holds a dataset"},
		{"foreign directory", func(o *Options) { o.Output = foreign }, "not empty"},
		{"bad split", func(o *Options) { o.Split = transforms.SplitRatios{Train: 0.5} }, "sum to 1"},
		{"bad runner", func(o *Options) { o.Runner = "spark2" }, "--runner"},
		{"bad tokenizer", func(o *Options) { o.Tokenizer = filepath.Join(dir, "no-tokenizer") }, "--tokenizer"},
	}
	if os.Geteuid() != 0 { // root writes through 0555
		tests = append(tests, struct {
			name   string
			mutate func(*Options)
			want   string
		}{"unwritable output", func(o *Options) { o.Output = filepath.Join(readOnly, "ds") }, "not writable"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions([]string{in}, filepath.Join(dir, "out-"+strings.ReplaceAll(tt.name, " ", "-")), RunnerLoop)
			tt.mutate(&o)
			_, err := Run(context.Background(), o, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	// The refused runs left the finished dataset untouched.
	if _, err := dataset.Open(done); err != nil {
		t.Fatal(err)
	}
}

func TestOverwriteReplacesDataset(t *testing.T) {
	dir := t.TempDir()
	small, _ := writeTickets(t, dir, "small.jsonl", 40, "jsonl", 1)
	big, _ := writeTickets(t, dir, "big.jsonl", 120, "jsonl", 2)
	out := filepath.Join(dir, "ds")
	o := testOptions([]string{big}, out, RunnerLoop)
	o.Shards = 4
	runPrepare(t, o)
	o = testOptions([]string{small}, out, RunnerLoop)
	o.Shards = 1
	o.Overwrite = true
	d := runPrepare(t, o)
	// No file of the first dataset may survive next to the second.
	var files []string
	filepath.WalkDir(out, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	listed := map[string]bool{d.Path(dataset.ManifestName): true,
		filepath.Join(d.TokenizerPath(), "vocab.json"): true, filepath.Join(d.TokenizerPath(), "merges.txt"): true}
	for _, s := range d.Manifest.Splits {
		for _, f := range s.Files {
			listed[d.Path(f.Path)] = true
		}
	}
	for _, f := range d.Manifest.Rejected {
		listed[d.Path(f.Path)] = true
	}
	for _, f := range files {
		if !listed[f] {
			t.Errorf("stray file after overwrite: %s", f)
		}
	}
}

// TestFailedRunLeavesNoDataset: a run that fails after writing has begun
// removes what it wrote, and the directory is refused by readers.
func TestFailedRunLeavesNoDataset(t *testing.T) {
	dir := t.TempDir()
	in, _ := writeTickets(t, dir, "t.jsonl", 50, "jsonl", 1)
	out := filepath.Join(dir, "ds")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, testOptions([]string{in}, out, RunnerLoop), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var left []string
	filepath.WalkDir(out, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("failed run left files behind: %v", left)
	}
	if _, err := dataset.Open(out); !errors.Is(err, dataset.ErrIncomplete) {
		t.Errorf("dataset.Open after a failed run: %v, want ErrIncomplete", err)
	}
}

// TestNonLocalFilesystem runs Prism with input and output on Beam's memfs,
// the same code path gs:// takes.
func TestNonLocalFilesystem(t *testing.T) {
	o := synth.DefaultOptions()
	o.N, o.Seed = 80, 21
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, o); err != nil {
		t.Fatal(err)
	}
	memfs.Write("memfs://in/tickets.jsonl", buf.Bytes())
	opts := testOptions([]string{"memfs://in/*.jsonl"}, "memfs://out/ds", RunnerPrism)
	res, err := Run(context.Background(), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Counts.Kept == 0 {
		t.Fatalf("counts %+v", res.Manifest.Counts)
	}
	raw, err := readFile(context.Background(), "memfs://out/ds/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dataset.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Splits["train"].Files {
		if ok, _ := exists(context.Background(), "memfs://out/ds/"+f.Path); !ok {
			t.Errorf("listed file %s missing on memfs", f.Path)
		}
	}
	if _, err := Run(context.Background(), opts, nil); err == nil || !strings.Contains(err.Error(), "already holds a dataset") {
		t.Errorf("second run on memfs: %v, want refusal", err)
	}
}

// TestSGD prepares the real Schema-Guided Dialogue corpus when present.
func TestSGD(t *testing.T) {
	if testing.Short() {
		t.Skip("SGD end-to-end runs in the full suite")
	}
	in := sgd.Path(t)
	dir := t.TempDir()
	o := testOptions([]string{in}, filepath.Join(dir, "ds"), RunnerPrism)
	o.MaxSeqLen = 1024
	d := runPrepare(t, o)
	c := d.Manifest.Counts
	if c.Read != int64(countLines(t, in)) || total(c.Rejected) != 0 {
		t.Fatalf("SGD counts %+v", c)
	}
	// SGD is clean dialogue: almost everything is kept.
	if float64(c.Kept) < 0.97*float64(c.Read) {
		t.Errorf("kept %d of %d SGD dialogues; filtered %v, duplicates %d", c.Kept, c.Read, c.Filtered, c.Duplicates)
	}
	tok := mustGPT2(t)
	checkRows(t, tok, o, "val", readRows(t, d, "val"))
	if c.IDCollisions == 0 {
		t.Error("SGD reuses dialogue ids across its train and dev splits; id_collisions is 0")
	}
	t.Logf("SGD: read %d kept %d dup %d id collisions %d filtered %v redactions %v rows %d/%d/%d", c.Read, c.Kept, c.Duplicates, c.IDCollisions, c.Filtered,
		c.Redactions, d.Manifest.Splits["train"].Rows, d.Manifest.Splits["val"].Rows, d.Manifest.Splits["test"].Rows)
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestIDCollisionsGetDistinctExampleIDs: distinct conversations that share
// an id are all kept, counted, and get unique example ids on every runner.
func TestIDCollisionsGetDistinctExampleIDs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "t.jsonl")
	lines := []string{
		`{"id":"A","turns":[{"role":"customer","text":"Where is my parcel?"},{"role":"agent","text":"On its way."}]}`,
		`{"id":"A","turns":[{"role":"customer","text":"Cancel my plan."},{"role":"agent","text":"Done."}]}`,
		`{"id":"A","turns":[{"role":"customer","text":"Cancel my plan."},{"role":"agent","text":"Done."}]}`,
		`{"id":"B","turns":[{"role":"customer","text":"Hi"},{"role":"agent","text":"Hello!"}]}`,
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, runner := range []string{RunnerLoop, RunnerPrism} {
		o := testOptions([]string{in}, filepath.Join(dir, runner), runner)
		o.Split = transforms.SplitRatios{Train: 1}
		d := runPrepare(t, o)
		c := d.Manifest.Counts
		if c.Kept != 3 || c.Duplicates != 1 || c.IDCollisions != 1 {
			t.Fatalf("%s: kept %d duplicates %d id collisions %d, want 3, 1, 1", runner, c.Kept, c.Duplicates, c.IDCollisions)
		}
		var ids []string
		for _, r := range readRows(t, d, "train") {
			ids = append(ids, r.ExampleID)
		}
		slices.Sort(ids)
		if want := []string{"A#1", "A~2#1", "B#1"}; !slices.Equal(ids, want) {
			t.Fatalf("%s: example ids %v, want %v", runner, ids, want)
		}
	}
}
