// Package safetensors reads and writes the Hugging Face safetensors format.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON header,
// then the data buffer:
//
//	{"__metadata__": {"format": "pt"},
//	 "wte.weight": {"dtype": "F32", "shape": [50257, 768], "data_offsets": [0, 154389504]},
//	 ...}
//
// Offsets are relative to the start of the data buffer. The reader is written
// for files from untrusted sources: it checks everything the reference
// implementation (the safetensors Rust crate) checks, and a little more, before
// it hands out a single byte, so a File that opened is safe to index. The
// writer lays files out as the reference does, byte for byte when the
// metadata has at most one key (the reference leaves the order of several
// unspecified; this writer sorts them).
package safetensors

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
)

// maxHeaderSize is the reference implementation's limit on the JSON header;
// a larger header is refused before any of it is read.
const maxHeaderSize = 100_000_000

// DType is the element type of a tensor, as spelled in the header.
type DType string

// The element types of the format.
const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	Bool   DType = "BOOL"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
)

// Size returns the number of bytes of one element of type d, or 0 if d is not
// a known type.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, Bool, F8E4M3, F8E5M2:
		return 1
	}
	return 0
}

// rank orders types as the reference implementation's Dtype enum does, which
// is by increasing alignment; the writer lays tensors out by decreasing rank
// so that every tensor's data is aligned to its element size.
func (d DType) rank() int {
	switch d {
	case Bool:
		return 0
	case U8:
		return 1
	case I8:
		return 2
	case F8E5M2:
		return 3
	case F8E4M3:
		return 4
	case I16:
		return 5
	case U16:
		return 6
	case F16:
		return 7
	case BF16:
		return 8
	case I32:
		return 9
	case U32:
		return 10
	case F32:
		return 11
	case F64:
		return 12
	case I64:
		return 13
	case U64:
		return 14
	}
	return -1
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are the tensor's byte range [Begin, End) in the data
	// buffer, which starts after the header.
	Begin, End int64
}

// NumElements returns the number of elements of the tensor, 1 for a scalar.
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a parsed safetensors file. Its methods must not be called
// concurrently with Close; otherwise a File is safe for concurrent use.
type File struct {
	buf      []byte // the data buffer
	metadata map[string]string
	tensors  []TensorInfo // by offset
	index    map[string]int
	unmap    func() error
	closed   bool
}

// Parse parses and validates a whole safetensors file held in memory. The File
// aliases data.
func Parse(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// Open memory-maps the safetensors file at path read-only, where the system
// allows it, and validates it. The slices that Bytes returns alias the
// mapping: they are valid until Close, and the file must not be truncated
// while it is open.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := parse(data)
	if err != nil {
		// The parse error is what matters; an unmap failure here would only
		// hide it.
		_ = unmap()
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}

// Close releases the file's memory mapping. It is safe to call more than once.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.buf = nil
	if f.unmap == nil {
		return nil
	}
	if err := f.unmap(); err != nil {
		return fmt.Errorf("safetensors: close: %w", err)
	}
	return nil
}

// Metadata returns a copy of the file's __metadata__ map, nil when the file
// has none.
func (f *File) Metadata() map[string]string {
	return maps.Clone(f.metadata)
}

// Tensors returns a description of every tensor, in data-offset order.
func (f *File) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(f.tensors))
	for i, t := range f.tensors {
		t.Shape = slices.Clone(t.Shape)
		out[i] = t
	}
	return out
}

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := f.tensors[i]
	t.Shape = slices.Clone(t.Shape)
	return t, true
}

// Bytes returns the raw little-endian bytes of the named tensor. The slice
// aliases the file's memory, which may be mapped read-only: it must not be
// modified, and it is valid until Close.
func (f *File) Bytes(name string) ([]byte, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	return f.buf[t.Begin:t.End:t.End], nil
}

func (f *File) lookup(name string) (*TensorInfo, error) {
	if f.closed {
		return nil, fmt.Errorf("safetensors: tensor %q: file is closed", name)
	}
	i, ok := f.index[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: no tensor %q in file", name)
	}
	return &f.tensors[i], nil
}

// parse does the work of Parse; its errors lack the "safetensors: " prefix.
func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", n, maxHeaderSize)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file", n, len(data))
	}
	meta, infos, err := parseHeader(data[8 : 8+n])
	if err != nil {
		return nil, err
	}
	buf := data[8+n:]
	if err := checkLayout(infos, int64(len(buf))); err != nil {
		return nil, err
	}
	f := &File{buf: buf, metadata: meta, tensors: infos, index: make(map[string]int, len(infos))}
	for i, t := range infos {
		f.index[t.Name] = i
	}
	return f, nil
}

// checkLayout sorts infos by offset and checks that they tile the data buffer
// exactly: the reference implementation refuses a file whose tensors leave a
// hole between them or unused bytes at the end (MetadataIncompleteBuffer) as
// well as one whose tensors overlap (InvalidOffset), and so does this reader,
// so that a file it accepts is one every other reader accepts too.
func checkLayout(infos []TensorInfo, size int64) error {
	slices.SortFunc(infos, func(a, b TensorInfo) int {
		if a.Begin != b.Begin {
			return cmpInt64(a.Begin, b.Begin)
		}
		if a.End != b.End {
			return cmpInt64(a.End, b.End)
		}
		// Empty tensors can share an offset; the name breaks the tie so that
		// Tensors is deterministic.
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	var pos int64
	for i, t := range infos {
		if t.End > size {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d) run past the end of the %d-byte data buffer", t.Name, t.Begin, t.End, size)
		}
		switch {
		case t.Begin < pos:
			p := infos[i-1]
			return fmt.Errorf("tensor %q: data_offsets [%d, %d) overlap tensor %q at [%d, %d)", t.Name, t.Begin, t.End, p.Name, p.Begin, p.End)
		case t.Begin > pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d) leave bytes [%d, %d) of the data buffer uncovered", t.Name, t.Begin, t.End, pos, t.Begin)
		}
		pos = t.End
	}
	if pos != size {
		return fmt.Errorf("data buffer is %d bytes but the tensors cover only [0, %d); they must cover it exactly", size, pos)
	}
	return nil
}

func cmpInt64(a, b int64) int {
	if a < b {
		return -1
	}
	return 1
}

// numBytes returns the number of elements of shape and their size in bytes
// for type d, with ok false if either overflows an int64 (or an int, so that
// the result can index a slice).
func numBytes(d DType, shape []int64) (numel, size int64, ok bool) {
	var n uint64 = 1
	for _, dim := range shape {
		if dim < 0 {
			return 0, 0, false
		}
		hi, lo := bits.Mul64(n, uint64(dim))
		if hi != 0 || lo > math.MaxInt {
			return 0, 0, false
		}
		n = lo
	}
	hi, lo := bits.Mul64(n, uint64(d.Size()))
	if hi != 0 || lo > math.MaxInt {
		return 0, 0, false
	}
	return int64(n), int64(lo), true
}
