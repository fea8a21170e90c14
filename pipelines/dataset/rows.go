package dataset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Example is one stored example, as Examples yields it. Fields whose column
// was not asked for are left at their zero value.
type Example struct {
	ExampleID      string
	ConversationID string
	TurnIndex      int32
	InputIDs       []int32
	TargetStart    int32
	Context        string
	Reply          string
	Truncated      bool
}

// ExampleColumns lists, in schema order, the columns an Example carries;
// Examples reads them all when asked for none in particular. The split and
// n_tokens columns are left out: the split is the one asked for, and
// n_tokens is len(InputIDs).
var ExampleColumns = []string{
	"example_id", "conversation_id", "turn_index", "input_ids",
	"target_start", "context", "reply", "truncated",
}

// Examples calls fn for each example of split in stored order (files in
// manifest order, rows in file order), reading only the named columns (nil:
// all of ExampleColumns). It streams the split one row group at a time. fn
// owns the Example it is given: its strings and slice are not reused. fn
// returning an error stops the walk and Examples returns that error
// unwrapped. Once ctx is done fn is not called again, and Examples returns
// an error wrapping ctx's. Errors reading a file name it.
func (d *Dataset) Examples(ctx context.Context, split string, columns []string, fn func(Example) error) error {
	info, ok := d.Manifest.Splits[split]
	if !ok {
		return fmt.Errorf("dataset %s: no split %q", d.Dir, split)
	}
	if columns == nil {
		columns = ExampleColumns
	}
	var cols []string
	for _, c := range columns {
		if !slices.Contains(ExampleColumns, c) {
			return fmt.Errorf("dataset %s: unknown column %q (an Example carries %s)", d.Dir, c, strings.Join(ExampleColumns, ", "))
		}
		if !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	for _, f := range info.Files {
		if err := d.fileExamples(ctx, f, cols, fn); err != nil {
			return err
		}
	}
	return nil
}

// errStop marks an error returned by the caller's fn, so that it passes
// through the file-naming wrapper untouched.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// fileExamples walks one split file's row groups.
func (d *Dataset) fileExamples(ctx context.Context, f File, columns []string, fn func(Example) error) error {
	err := d.walkFile(ctx, f, columns, fn)
	if err == nil {
		return nil
	}
	if stop, ok := errors.AsType[errStop](err); ok {
		return stop.err
	}
	return fmt.Errorf("dataset %s: %s: %w", d.Dir, f.Path, err)
}

func (d *Dataset) walkFile(ctx context.Context, f File, columns []string, fn func(Example) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pf, err := file.OpenParquetFile(d.Path(f.Path), false)
	if err != nil {
		return err
	}
	defer pf.Close()
	md := pf.MetaData()
	if got := md.GetNumRows(); got != f.Rows {
		return fmt.Errorf("%d rows, manifest says %d", got, f.Rows)
	}
	leaves, err := leafIndices(pf, columns)
	if err != nil {
		return err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	for rg := range md.NumRowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := md.RowGroup(rg).NumRows()
		if len(leaves) == 0 {
			// Nothing to read but the row count: every Example is zero.
			for range n {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(Example{}); err != nil {
					return errStop{err}
				}
			}
			continue
		}
		if err := readRowGroup(ctx, fr, rg, n, leaves, fn); err != nil {
			return err
		}
	}
	return nil
}

// leafIndices returns the Parquet leaf column index of each named column,
// in the order given; a list column is found by its first path element.
func leafIndices(pf *file.Reader, columns []string) ([]int, error) {
	sc := pf.MetaData().Schema
	out := make([]int, 0, len(columns))
	for _, name := range columns {
		idx := -1
		for i := range sc.NumColumns() {
			if p := sc.Column(i).ColumnPath(); len(p) > 0 && p[0] == name {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("no column %q", name)
		}
		out = append(out, idx)
	}
	return out, nil
}

// readRowGroup reads row group rg's columns and calls fn for each row.
func readRowGroup(ctx context.Context, fr *pqarrow.FileReader, rg int, rows int64, leaves []int, fn func(Example) error) error {
	tbl, err := fr.ReadRowGroups(ctx, leaves, []int{rg})
	if err != nil {
		return fmt.Errorf("row group %d: %w", rg, err)
	}
	defer tbl.Release()
	if tbl.NumRows() != rows {
		return fmt.Errorf("row group %d: read %d rows, footer says %d", rg, tbl.NumRows(), rows)
	}
	// A table reader slices every column to the same row ranges, whatever
	// chunks each column was read into.
	tr := array.NewTableReader(tbl, max(rows, 1))
	defer tr.Release()
	var row int64
	for tr.Next() {
		rec := tr.RecordBatch()
		setters := make([]setter, rec.NumCols())
		for c := range setters {
			s, err := newSetter(rec.Schema().Field(c), rec.Column(c))
			if err != nil {
				return fmt.Errorf("row group %d: %w", rg, err)
			}
			setters[c] = s
		}
		for r := range int(rec.NumRows()) {
			if err := ctx.Err(); err != nil {
				return err
			}
			var ex Example
			for _, set := range setters {
				if err := set(&ex, r); err != nil {
					return fmt.Errorf("row group %d row %d: %w", rg, row, err)
				}
			}
			if err := fn(ex); err != nil {
				return errStop{err}
			}
			row++
		}
	}
	return tr.Err()
}

// setter copies row r of one column into an Example.
type setter func(ex *Example, r int) error

// stringArray is what the String and LargeString arrays share.
type stringArray interface {
	arrow.Array
	Value(int) string
}

// newSetter returns the setter of a column read as field f.
func newSetter(f arrow.Field, col arrow.Array) (setter, error) {
	wrongType := func() error { return fmt.Errorf("column %s has type %s", f.Name, f.Type) }
	notNull := func(r int) error {
		if col.IsNull(r) {
			return fmt.Errorf("%s is null", f.Name)
		}
		return nil
	}
	str := func(dst func(*Example) *string) (setter, error) {
		a, ok := col.(stringArray)
		if !ok {
			return nil, wrongType()
		}
		return func(ex *Example, r int) error {
			if err := notNull(r); err != nil {
				return err
			}
			// Arrow's Value aliases the column buffer; clone so the
			// caller may keep the string without pinning the row group.
			*dst(ex) = strings.Clone(a.Value(r))
			return nil
		}, nil
	}
	i32 := func(dst func(*Example) *int32) (setter, error) {
		a, ok := col.(*array.Int32)
		if !ok {
			return nil, wrongType()
		}
		return func(ex *Example, r int) error {
			if err := notNull(r); err != nil {
				return err
			}
			*dst(ex) = a.Value(r)
			return nil
		}, nil
	}
	switch f.Name {
	case "example_id":
		return str(func(ex *Example) *string { return &ex.ExampleID })
	case "conversation_id":
		return str(func(ex *Example) *string { return &ex.ConversationID })
	case "context":
		return str(func(ex *Example) *string { return &ex.Context })
	case "reply":
		return str(func(ex *Example) *string { return &ex.Reply })
	case "turn_index":
		return i32(func(ex *Example) *int32 { return &ex.TurnIndex })
	case "target_start":
		return i32(func(ex *Example) *int32 { return &ex.TargetStart })
	case "truncated":
		a, ok := col.(*array.Boolean)
		if !ok {
			return nil, wrongType()
		}
		return func(ex *Example, r int) error {
			if err := notNull(r); err != nil {
				return err
			}
			ex.Truncated = a.Value(r)
			return nil
		}, nil
	case "input_ids":
		lst, ok := col.(*array.List)
		if !ok {
			return nil, wrongType()
		}
		vals, ok := lst.ListValues().(*array.Int32)
		if !ok {
			return nil, wrongType()
		}
		raw := vals.Int32Values()
		return func(ex *Example, r int) error {
			if err := notNull(r); err != nil {
				return err
			}
			lo, hi := lst.ValueOffsets(r)
			ex.InputIDs = slices.Clone(raw[lo:hi])
			return nil
		}, nil
	}
	return nil, fmt.Errorf("column %s is not an Example field", f.Name)
}
