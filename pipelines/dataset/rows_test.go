package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/parquet-go/parquet-go"
)

// rowFile is one Parquet file of a test split.
type rowFile struct {
	rel  string
	rows []Row
}

// writeRowsDataset writes the files of split "train" (listed in the
// manifest in the order given) in row groups of rowsPerGroup, plus an empty
// val split, and opens the dataset.
func writeRowsDataset(t *testing.T, rowsPerGroup int, files []rowFile) *Dataset {
	t.Helper()
	dir := t.TempDir()
	info := SplitInfo{}
	for _, rf := range files {
		path := filepath.Join(dir, filepath.FromSlash(rf.rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[Row](f, parquet.Compression(&parquet.Zstd),
			parquet.MaxRowsPerRowGroup(int64(rowsPerGroup)))
		if _, err := w.Write(rf.rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		info.Files = append(info.Files, fileEntry(t, dir, rf.rel, int64(len(rf.rows))))
		info.Rows += int64(len(rf.rows))
	}
	m := Manifest{
		SchemaVersion: SchemaVersion,
		Tokenizer:     TokenizerInfo{Spec: "test", Hash: "sha256:test", VocabSize: 1000, EOT: 0},
		Splits:        map[string]SplitInfo{"train": info, "val": {}},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fileEntry(t *testing.T, dir, rel string, rows int64) File {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	return File{Path: rel, Rows: rows, Bytes: int64(len(raw)), SHA256: hex.EncodeToString(sum[:])}
}

// makeRows returns n distinct rows of conversation conv.
func makeRows(conv string, n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		ids := make([]int32, 2+i%4)
		for j := range ids {
			ids[j] = int32(100*i + j + 1)
		}
		rows[i] = Row{
			ExampleID:      fmt.Sprintf("%s#%d", conv, 2*i+1),
			ConversationID: conv,
			Split:          "train",
			TurnIndex:      int32(2*i + 1),
			InputIDs:       ids,
			TargetStart:    int32(1 + i%2),
			NTokens:        int32(len(ids)),
			Context:        fmt.Sprintf("Customer: question %d of %s — ünïcode\nAgent:", i, conv),
			Reply:          fmt.Sprintf("answer %d", i),
			Truncated:      i%3 == 0,
		}
	}
	return rows
}

func exampleOf(r Row) Example {
	return Example{
		ExampleID: r.ExampleID, ConversationID: r.ConversationID, TurnIndex: r.TurnIndex,
		InputIDs: r.InputIDs, TargetStart: r.TargetStart, Context: r.Context, Reply: r.Reply,
		Truncated: r.Truncated,
	}
}

// standardRows is two files of 7 and 5 rows in row groups of 3, listed in
// the manifest second file first, so that manifest order differs from path
// order.
func standardRows(t *testing.T) (*Dataset, []Example) {
	t.Helper()
	a := rowFile{"train/part-00000-of-00002.parquet", makeRows("a", 7)}
	b := rowFile{"train/part-00001-of-00002.parquet", makeRows("b", 5)}
	d := writeRowsDataset(t, 3, []rowFile{b, a})
	// The walk must cross row groups inside each file, not just files.
	pf, err := file.OpenParquetFile(d.Path(a.rel), false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if n := pf.NumRowGroups(); n != 3 {
		t.Fatalf("%s has %d row groups, want 3", a.rel, n)
	}
	var want []Example
	for _, r := range append(slices.Clone(b.rows), a.rows...) {
		want = append(want, exampleOf(r))
	}
	return d, want
}

func collect(t *testing.T, d *Dataset, split string, columns []string) []Example {
	t.Helper()
	var got []Example
	err := d.Examples(context.Background(), split, columns, func(ex Example) error {
		got = append(got, ex)
		return nil
	})
	if err != nil {
		t.Fatalf("Examples(%s, %v): %v", split, columns, err)
	}
	return got
}

func TestExamplesColumns(t *testing.T) {
	d, all := standardRows(t)
	// keep projects a full Example onto the columns read.
	tests := []struct {
		name    string
		columns []string
		keep    func(Example) Example
	}{
		{"nil reads all", nil, func(e Example) Example { return e }},
		{"all listed", slices.Clone(ExampleColumns), func(e Example) Example { return e }},
		{"context and reply", []string{"context", "reply"}, func(e Example) Example {
			return Example{Context: e.Context, Reply: e.Reply}
		}},
		{"reordered subset", []string{"truncated", "input_ids", "example_id"}, func(e Example) Example {
			return Example{ExampleID: e.ExampleID, InputIDs: e.InputIDs, Truncated: e.Truncated}
		}},
		{"ints", []string{"turn_index", "target_start", "conversation_id"}, func(e Example) Example {
			return Example{ConversationID: e.ConversationID, TurnIndex: e.TurnIndex, TargetStart: e.TargetStart}
		}},
		{"repeated", []string{"reply", "reply"}, func(e Example) Example { return Example{Reply: e.Reply} }},
		{"none", []string{}, func(Example) Example { return Example{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(t, d, "train", tt.columns)
			if len(got) != len(all) {
				t.Fatalf("got %d examples, want %d", len(got), len(all))
			}
			for i := range all {
				if want := tt.keep(all[i]); !reflect.DeepEqual(got[i], want) {
					t.Fatalf("example %d = %+v, want %+v", i, got[i], want)
				}
			}
		})
	}
}

func TestExamplesEmptySplit(t *testing.T) {
	d, _ := standardRows(t)
	if got := collect(t, d, "val", nil); len(got) != 0 {
		t.Fatalf("val split yielded %d examples, want none", len(got))
	}
}

// TestExamplesOwned checks that fn may keep what it is given: the next
// rows must not overwrite it.
func TestExamplesOwned(t *testing.T) {
	d, want := standardRows(t)
	got := collect(t, d, "train", []string{"input_ids", "reply"})
	for i := range want {
		if !slices.Equal(got[i].InputIDs, want[i].InputIDs) || got[i].Reply != want[i].Reply {
			t.Fatalf("example %d changed after the walk: %+v", i, got[i])
		}
	}
}

func TestExamplesStop(t *testing.T) {
	d, all := standardRows(t)
	stop := errors.New("enough")
	tests := []struct {
		name string
		// at is the number of fn calls after which to stop.
		at     int
		cancel bool
	}{
		{"fn error in first row group", 2, false},
		{"fn error on row group boundary", 3, false},
		{"fn error in second file", 9, false},
		{"cancel in first row group", 2, true},
		{"cancel in second file", 10, true},
		{"cancelled before start", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.at == 0 {
				cancel()
			}
			var seen []string
			err := d.Examples(ctx, "train", []string{"example_id"}, func(ex Example) error {
				seen = append(seen, ex.ExampleID)
				if len(seen) == tt.at {
					if tt.cancel {
						cancel()
						return nil
					}
					return stop
				}
				return nil
			})
			if tt.cancel {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
			} else if err != stop {
				t.Fatalf("err = %v, want fn's error unwrapped", err)
			}
			if len(seen) != tt.at {
				t.Fatalf("fn called %d times, want %d", len(seen), tt.at)
			}
			for i, id := range seen {
				if id != all[i].ExampleID {
					t.Fatalf("call %d got %s, want %s", i, id, all[i].ExampleID)
				}
			}
		})
	}
}

func TestExamplesErrors(t *testing.T) {
	tests := []struct {
		name    string
		split   string
		columns []string
		// damage, if set, alters the dataset directory after Open.
		damage func(t *testing.T, d *Dataset)
		want   string
	}{
		{name: "unknown split", split: "dev", want: `no split "dev"`},
		{name: "unknown column", split: "train", columns: []string{"reply", "labels"}, want: `unknown column "labels"`},
		{name: "column with no Example field", split: "train", columns: []string{"n_tokens"}, want: `unknown column "n_tokens"`},
		{name: "unreadable file", split: "train", damage: func(t *testing.T, d *Dataset) {
			p := d.Path(d.Manifest.Splits["train"].Files[1].Path)
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			// Same size, so only reading notices.
			if err := os.WriteFile(p, make([]byte, st.Size()), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: "train/part-00000-of-00002.parquet"},
		{name: "missing file", split: "train", damage: func(t *testing.T, d *Dataset) {
			if err := os.Remove(d.Path(d.Manifest.Splits["train"].Files[0].Path)); err != nil {
				t.Fatal(err)
			}
		}, want: "train/part-00001-of-00002.parquet"},
		{name: "row count differs from manifest", split: "train", damage: func(t *testing.T, d *Dataset) {
			d.Manifest.Splits["train"].Files[0].Rows++
		}, want: "5 rows, manifest says 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := standardRows(t)
			if tt.damage != nil {
				tt.damage(t, d)
			}
			err := d.Examples(context.Background(), tt.split, tt.columns, func(Example) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestExamplesMissingColumn reads a file written with a narrower schema.
func TestExamplesMissingColumn(t *testing.T) {
	type narrow struct {
		ExampleID string `parquet:"example_id"`
	}
	dir := t.TempDir()
	rel := "train/part-00000-of-00001.parquet"
	if err := os.MkdirAll(filepath.Join(dir, "train"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), []narrow{{"x#1"}, {"y#1"}}); err != nil {
		t.Fatal(err)
	}
	m := Manifest{
		SchemaVersion: SchemaVersion,
		Tokenizer:     TokenizerInfo{Hash: "sha256:test"},
		Splits:        map[string]SplitInfo{"train": {Rows: 2, Files: []File{fileEntry(t, dir, rel, 2)}}},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, d, "train", []string{"example_id"}); len(got) != 2 || got[1].ExampleID != "y#1" {
		t.Fatalf("example_id read = %+v", got)
	}
	err = d.Examples(context.Background(), "train", []string{"example_id", "reply"}, func(Example) error { return nil })
	if want := rel + `: no column "reply"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to mention %q", err, want)
	}
}
