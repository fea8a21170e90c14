package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Tensor is a tensor to write.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	// Data holds the elements in row-major order, little-endian.
	Data []byte
}

// Write writes tensors and metadata to w in the safetensors format. The
// output depends only on the arguments, not on the order of tensors, and is
// laid out as the reference implementation (and so Python's save_file) lays
// it out: the data by decreasing element alignment, then by name, so that
// every tensor is aligned to its element size; the header as compact JSON
// listing __metadata__ first, when there is any, with its keys sorted, then
// the tensors in data order, padded with spaces to a multiple of 8 bytes.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order, header, err := prepare(tensors, metadata)
	if err != nil {
		return err
	}
	if err := write(w, tensors, order, header); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

func write(w io.Writer, tensors []Tensor, order []int, header []byte) error {
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	for _, i := range order {
		if _, err := w.Write(tensors[i].Data); err != nil {
			return fmt.Errorf("write tensor %q: %w", tensors[i].Name, err)
		}
	}
	return nil
}

// WriteFile writes tensors and metadata to the file at path as Write does,
// atomically: readers see the old file or the whole new one, never a part,
// and a failed write leaves no file behind.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	// Validate before creating anything, so that a bad tensor leaves the
	// directory untouched.
	order, header, err := prepare(tensors, metadata)
	if err != nil {
		return err
	}
	tmp, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp, tensors, order, header); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	// Sync before the rename so that a crash cannot leave a renamed file
	// whose data never reached the disk.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// createTemp creates a new file next to path. Unlike os.CreateTemp, which
// makes files only their owner can read, it asks for mode 0666 so that the
// umask decides, as it would for os.Create.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("cannot find an unused temporary file name")
}

// syncDir makes a rename in dir durable where the system supports syncing a
// directory; where it does not, there is nothing more to do, so errors are
// ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// prepare validates tensors and metadata and returns the order in which to
// write the tensors' data, and the 8-byte header length followed by the
// header.
func prepare(tensors []Tensor, metadata map[string]string) ([]int, []byte, error) {
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if err := checkTensor(t); err != nil {
			return nil, nil, err
		}
		if seen[t.Name] {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: given twice", t.Name)
		}
		seen[t.Name] = true
	}
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, nil, fmt.Errorf("safetensors: __metadata__ entry %q: not valid UTF-8", k)
		}
	}

	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ta, tb := &tensors[a], &tensors[b]
		if ra, rb := ta.DType.rank(), tb.DType.rank(); ra != rb {
			return rb - ra
		}
		return strings.Compare(ta.Name, tb.Name)
	})

	h := make([]byte, 8, 8+64*(len(tensors)+1))
	h = append(h, '{')
	if len(metadata) > 0 {
		h = appendString(h, metadataKey)
		h = append(h, ":{"...)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendString(h, k)
			h = append(h, ':')
			h = appendString(h, metadata[k])
		}
		h = append(h, '}')
	}
	var offset int64
	for i, idx := range order {
		t := &tensors[idx]
		if i > 0 || len(metadata) > 0 {
			h = append(h, ',')
		}
		h = appendString(h, t.Name)
		h = append(h, `:{"dtype":`...)
		h = appendString(h, string(t.DType))
		h = append(h, `,"shape":[`...)
		for j, d := range t.Shape {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(d), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendInt(h, offset, 10)
		h = append(h, ',')
		offset += int64(len(t.Data))
		h = strconv.AppendInt(h, offset, 10)
		h = append(h, "]}"...)
	}
	h = append(h, '}')
	// Pad so that the data buffer starts 8-byte aligned, as the reference
	// does, which keeps every tensor aligned in a mapped file.
	for (len(h)-8)%8 != 0 {
		h = append(h, ' ')
	}
	n := len(h) - 8
	if n > maxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header would be %d bytes, over the limit of %d that readers accept", n, maxHeaderSize)
	}
	binary.LittleEndian.PutUint64(h, uint64(n))
	return order, h, nil
}

// checkTensor checks that t can be written and read back as it is.
func checkTensor(t Tensor) error {
	if !utf8.ValidString(t.Name) {
		return fmt.Errorf("safetensors: tensor %q: name is not valid UTF-8", t.Name)
	}
	if t.Name == metadataKey {
		return fmt.Errorf("safetensors: tensor %q: name is reserved for metadata", t.Name)
	}
	if t.DType.Size() == 0 {
		return fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, string(t.DType))
	}
	shape := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("safetensors: tensor %q: shape %v has a negative dimension", t.Name, t.Shape)
		}
		shape[i] = int64(d)
	}
	_, size, ok := numBytes(t.DType, shape)
	if !ok {
		return fmt.Errorf("safetensors: tensor %q: shape %v of %s overflows: too many bytes", t.Name, t.Shape, t.DType)
	}
	if int64(len(t.Data)) != size {
		return fmt.Errorf("safetensors: tensor %q: data holds %d bytes, want %d for %s %v", t.Name, len(t.Data), size, t.DType, t.Shape)
	}
	return nil
}

// appendString appends s, valid UTF-8, as a JSON string escaped as the
// reference implementation (serde_json) escapes it, so that names with
// quotes or control characters give the same bytes.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
