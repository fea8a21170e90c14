package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawFile returns a file made of header, as given, and data.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// u16s returns the little-endian bytes of vs.
func u16s(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

func mustWrite(t testing.TB, tensors []Tensor, meta map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, tensors, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteReferenceBytes checks the writer against the byte vectors in the
// reference implementation's own tests (safetensors/src/tensor.rs).
func TestWriteReferenceBytes(t *testing.T) {
	f32s := []float32{0, 1, 2, 3, 4, 5}
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    []byte
	}{
		{
			name:    "test_serialization",
			tensors: []Tensor{Float32Tensor("attn.0", []int{1, 2, 3}, f32s)},
			want: []byte{
				64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
				116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
				58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
				101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
				0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
			},
		},
		{
			name:    "test_serialization_forced_alignement",
			tensors: []Tensor{Float32Tensor("attn0", []int{1, 1, 2, 3}, f32s)},
			want: []byte{
				72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
				121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
				91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
				115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
				32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
				160, 64,
			},
		},
		{
			name: "test_empty",
			want: []byte{8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32},
		},
		{
			name: "test_empty with metadata",
			meta: map[string]string{"framework": "pt"},
			want: []byte{
				40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
				95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
				116, 34, 125, 125, 32, 32, 32, 32, 32,
			},
		},
	}
	for _, tt := range tests {
		got := mustWrite(t, tt.tensors, tt.meta)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s: Write =\n%q\nwant\n%q", tt.name, got, tt.want)
		}
		if _, err := Parse(got); err != nil {
			t.Errorf("%s: Parse(Write(...)): %v", tt.name, err)
		}
	}
}

// TestParseReferenceExample parses the file in the reference
// implementation's documentation, built byte by byte.
func TestParseReferenceExample(t *testing.T) {
	data := []byte("<\x00\x00\x00\x00\x00\x00\x00" +
		`{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}` +
		"\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\xfc\xff\xff\xff")
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []TensorInfo{{Name: "test", DType: I32, Shape: []int{2, 2}, Begin: 0, End: 16}}
	if got := f.Tensors(); !slices.EqualFunc(got, want, infoEqual) {
		t.Errorf("Tensors() = %v, want %v", got, want)
	}
	b, err := f.Bytes("test")
	if err != nil {
		t.Fatal(err)
	}
	var got []int32
	for i := 0; i < len(b); i += 4 {
		got = append(got, int32(binary.LittleEndian.Uint32(b[i:])))
	}
	if want := []int32{1, 2, 3, -4}; !slices.Equal(got, want) {
		t.Errorf("elements = %v, want %v", got, want)
	}
	if m := f.Metadata(); m != nil {
		t.Errorf("Metadata() = %v, want nil", m)
	}
}

func infoEqual(a, b TensorInfo) bool {
	return a.Name == b.Name && a.DType == b.DType && slices.Equal(a.Shape, b.Shape) && a.Begin == b.Begin && a.End == b.End
}

func TestRoundTrip(t *testing.T) {
	tensors := []Tensor{
		Float32Tensor("wte.weight", []int{3, 2}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.125}),
		Float32Tensor("scalar", nil, []float32{42}),
		Float32Tensor("empty", []int{0, 5}, nil),
		Float32Tensor("also.empty", []int{0}, nil),
		{Name: "half", DType: F16, Shape: []int{3}, Data: u16s(0x3c00, 0xc100, 0x7bff)},
		{Name: "odd\"name\n\\\x01é", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 3}},
		{Name: "ids", DType: I64, Shape: []int{2}, Data: make([]byte, 16)},
		{Name: "flags", DType: Bool, Shape: []int{1}, Data: []byte{1}},
		{Name: "brain", DType: BF16, Shape: []int{1}, Data: u16s(0x3f80)},
	}
	meta := map[string]string{"format": "pt", "note": "<&>\u2028"}
	data := mustWrite(t, tensors, meta)

	// The output does not depend on the order of the input.
	rev := slices.Clone(tensors)
	slices.Reverse(rev)
	if again := mustWrite(t, rev, meta); !bytes.Equal(again, data) {
		t.Error("Write gave different bytes for the same tensors in another order")
	}

	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Metadata(); len(got) != len(meta) || got["format"] != "pt" || got["note"] != meta["note"] {
		t.Errorf("Metadata() = %v, want %v", got, meta)
	}
	infos := f.Tensors()
	if len(infos) != len(tensors) {
		t.Fatalf("Tensors() has %d tensors, want %d", len(infos), len(tensors))
	}
	for i, info := range infos {
		if i > 0 && info.Begin < infos[i-1].End {
			t.Errorf("Tensors() not in offset order at %q", info.Name)
		}
		// The header is padded to 8 bytes and tensors are laid out by
		// decreasing element size, so every tensor is aligned.
		if info.Begin%int64(info.DType.Size()) != 0 {
			t.Errorf("tensor %q of %s starts at unaligned offset %d", info.Name, info.DType, info.Begin)
		}
	}
	for _, want := range tensors {
		info, ok := f.Tensor(want.Name)
		if !ok {
			t.Errorf("Tensor(%q) not found", want.Name)
			continue
		}
		if info.DType != want.DType || !slices.Equal(info.Shape, want.Shape) {
			t.Errorf("Tensor(%q) = %s %v, want %s %v", want.Name, info.DType, info.Shape, want.DType, want.Shape)
		}
		got, err := f.Bytes(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Data) {
			t.Errorf("Bytes(%q) = %v, want %v", want.Name, got, want.Data)
		}
	}
	dst := make([]float32, 6)
	if err := f.Float32("wte.weight", dst); err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.125}; !slices.Equal(dst, want) {
		t.Errorf("Float32(wte.weight) = %v, want %v", dst, want)
	}
	if err := f.Float32("empty", nil); err != nil {
		t.Errorf("Float32(empty): %v", err)
	}
}

func TestFloat32HalfPrecision(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	tests := []struct {
		dtype DType
		bits  uint16
		want  float32
	}{
		{F16, 0x3c00, 1},
		{F16, 0xc100, -2.5},
		{F16, 0x7bff, 65504},
		{F16, 0x0001, 1.0 / (1 << 24)},    // smallest subnormal
		{F16, 0x03ff, 1023.0 / (1 << 24)}, // largest subnormal
		{F16, 0x8001, -1.0 / (1 << 24)},   // negative subnormal
		{F16, 0x0400, 1.0 / (1 << 14)},    // smallest normal
		{F16, 0x3555, 0.333251953125},     // nearest to 1/3
		{F16, 0x0000, 0},
		{F16, 0x8000, float32(math.Copysign(0, -1))},
		{F16, 0x7c00, inf},
		{F16, 0xfc00, -inf},
		{F16, 0x7e00, nan},
		{F16, 0xfc01, nan},
		{BF16, 0x3f80, 1},
		{BF16, 0xc020, -2.5},
		{BF16, 0x477f, 65280},
		{BF16, 0x0001, math.Float32frombits(1 << 16)}, // subnormal
		{BF16, 0x8000, float32(math.Copysign(0, -1))},
		{BF16, 0x7f80, inf},
		{BF16, 0xff80, -inf},
		{BF16, 0x7fc0, nan},
	}
	for _, tt := range tests {
		data := mustWrite(t, []Tensor{{Name: "x", DType: tt.dtype, Shape: []int{1}, Data: u16s(tt.bits)}}, nil)
		f, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, 1)
		if err := f.Float32("x", dst); err != nil {
			t.Fatal(err)
		}
		got := dst[0]
		same := math.Float32bits(got) == math.Float32bits(tt.want) || math.IsNaN(float64(tt.want)) && math.IsNaN(float64(got))
		if !same {
			t.Errorf("%s %#04x = %v (%#08x), want %v (%#08x)", tt.dtype, tt.bits, got, math.Float32bits(got), tt.want, math.Float32bits(tt.want))
		}
	}
}

// TestFloat16AllValues checks every binary16 value against float64
// arithmetic from its definition.
func TestFloat16AllValues(t *testing.T) {
	for h := range 1 << 16 {
		sign, exp, mant := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && mant == 0:
			want = math.Inf(1)
		case exp == 0x1f:
			want = math.NaN()
		case exp == 0:
			want = math.Ldexp(float64(mant), -24)
		default:
			want = math.Ldexp(float64(mant|0x400), exp-25)
		}
		if sign == 1 {
			want = -want
		}
		got := float16To32(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("float16To32(%#04x) = %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign == 1) {
			t.Fatalf("float16To32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestAccessorErrors(t *testing.T) {
	data := mustWrite(t, []Tensor{
		Float32Tensor("a", []int{2, 3}, make([]float32, 6)),
		{Name: "ids", DType: I32, Shape: []int{2}, Data: make([]byte, 8)},
	}, nil)
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"wrong length", func() error { return f.Float32("a", make([]float32, 5)) }, `tensor "a": destination has 5 elements, want 6 for F32 [2 3]`},
		{"wrong dtype", func() error { return f.Float32("ids", make([]float32, 2)) }, `tensor "ids": cannot decode I32 as float32`},
		{"unknown name", func() error { return f.Float32("b", nil) }, `no tensor "b"`},
		{"unknown name bytes", func() error { _, err := f.Bytes("b"); return err }, `no tensor "b"`},
	}
	for _, tt := range tests {
		checkErr(t, tt.name, tt.call(), tt.want)
	}
	if _, ok := f.Tensor("b"); ok {
		t.Error(`Tensor("b") found`)
	}
}

// checkErr checks that err is a one-line safetensors error containing want.
func checkErr(t *testing.T, name string, err error, want string) {
	t.Helper()
	t.Logf("%s: %v", name, err)
	switch {
	case err == nil:
		t.Errorf("%s: no error, want one containing %q", name, want)
	case !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q, want it to contain %q", name, err, want)
	case !strings.HasPrefix(err.Error(), "safetensors: ") || strings.ContainsAny(err.Error(), "\n\r"):
		t.Errorf("%s: error %q is not one line starting with \"safetensors: \"", name, err)
	}
}

// hostileFiles are malformed files, each with a fragment of the error that
// Parse must give.
func hostileFiles() []struct {
	name string
	data []byte
	want string
} {
	tensor := func(name, dtype, shape, offsets string) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offsets + `}`
	}
	a8 := tensor("a", "F32", "[2]", "[0,8]")
	return []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes, too short"},
		{"truncated length", []byte{8, 0, 0}, "file is 3 bytes, too short"},
		{"header too large", binary.LittleEndian.AppendUint64(nil, 100_000_001), "header length 100000001 exceeds the limit"},
		{"header length 2^64-1", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "exceeds the limit"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 64), "{}"...), "header length 64 runs past the end of the 10-byte file"},
		{"not UTF-8", rawFile("{\"\xff\":1}", nil), "header is not valid UTF-8"},
		{"leading space", rawFile(` {}`, nil), "header does not start with '{'"},
		{"array", rawFile(`[]`, nil), "header does not start with '{'"},
		{"empty header", rawFile(``, nil), "header does not start with '{'"},
		{"not JSON", rawFile(`{not json}`, nil), "invalid JSON"},
		{"truncated JSON", rawFile(`{"a":`, nil), "invalid JSON"},
		{"unclosed", rawFile(`{`, nil), "invalid JSON"},
		{"trailing data", rawFile(`{} x`, nil), "header: invalid JSON"},
		{"second object", rawFile(`{}{}`, nil), "header has an object after its JSON object"},
		{"bad escape", rawFile(`{"\q":1}`, nil), "invalid JSON"},
		{"entry not object", rawFile(`{"a":5}`, nil), `tensor "a": header entry is a number, want an object`},
		{"unknown dtype", rawFile(`{`+tensor("a", "F128", "[2]", "[0,8]")+`}`, make([]byte, 8)), `tensor "a": unknown dtype "F128"`},
		{"lower-case dtype", rawFile(`{`+tensor("a", "f32", "[2]", "[0,8]")+`}`, make([]byte, 8)), `tensor "a": unknown dtype "f32"`},
		{"dtype not string", rawFile(`{"a":{"dtype":4,"shape":[],"data_offsets":[0,4]}}`, nil), `tensor "a": dtype is a number, want a string`},
		{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[]}}`, nil), `tensor "a": header entry has no "data_offsets"`},
		{"missing dtype", rawFile(`{"a":{"shape":[],"data_offsets":[0,4]}}`, nil), `tensor "a": header entry has no "dtype"`},
		{"duplicate field", rawFile(`{"a":{"dtype":"F32","dtype":"I32","shape":[],"data_offsets":[0,4]}}`, nil), `tensor "a": header entry has "dtype" twice`},
		{"negative dim", rawFile(`{`+tensor("a", "F32", "[-1,4]", "[0,16]")+`}`, make([]byte, 16)), `tensor "a": shape [-1 4] has a negative dimension`},
		{"overflowing shape", rawFile(`{`+tensor("a", "F32", "[4294967296,4294967296]", "[0,0]")+`}`, nil), `tensor "a": shape [4294967296 4294967296] of F32 overflows`},
		{"overflowing bytes", rawFile(`{`+tensor("a", "F64", "[2305843009213693952]", "[0,0]")+`}`, nil), `of F64 overflows`},
		{"dim beyond int64", rawFile(`{`+tensor("a", "F32", "[1e30]", "[0,0]")+`}`, nil), `tensor "a": shape holds 1e30, want an integer`},
		{"fractional dim", rawFile(`{`+tensor("a", "F32", "[1.5]", "[0,0]")+`}`, nil), `tensor "a": shape holds 1.5, want an integer`},
		{"string dim", rawFile(`{`+tensor("a", "F32", `["2"]`, "[0,8]")+`}`, nil), `tensor "a": shape holds a string, want an integer`},
		{"shape not array", rawFile(`{`+tensor("a", "F32", `2`, "[0,8]")+`}`, nil), `tensor "a": shape is a number, want an array`},
		{"three offsets", rawFile(`{`+tensor("a", "F32", "[2]", "[0,8,16]")+`}`, make([]byte, 8)), `tensor "a": data_offsets [0, 8, 16] has 3 numbers, want 2`},
		{"negative offsets", rawFile(`{`+tensor("a", "F32", "[2]", "[-8,0]")+`}`, nil), `tensor "a": data_offsets [-8, 0) are negative`},
		{"reversed offsets", rawFile(`{`+tensor("a", "F32", "[2]", "[8,0]")+`}`, make([]byte, 8)), `tensor "a": data_offsets [8, 0) end before they begin`},
		{"wrong size", rawFile(`{`+tensor("h.0.attn.c_attn.weight", "F32", "[4,8]", "[0,96]")+`}`, make([]byte, 96)),
			`safetensors: tensor "h.0.attn.c_attn.weight": data_offsets [0, 96) hold 96 bytes, want 128 for F32 [4 8]`},
		{"offsets out of range", rawFile(`{`+tensor("a", "F32", "[32]", "[0,128]")+`}`, make([]byte, 64)),
			`tensor "a": data_offsets [0, 128) run past the end of the 64-byte data buffer`},
		{"offsets far out of range", rawFile(`{`+tensor("a", "U8", "[9223372036854775807]", "[0,9223372036854775807]")+`}`, make([]byte, 8)),
			`run past the end of the 8-byte data buffer`},
		{"overlap", rawFile(`{`+a8+`,`+tensor("b", "F32", "[2]", "[4,12]")+`}`, make([]byte, 12)),
			`tensor "b": data_offsets [4, 12) overlap tensor "a" at [0, 8)`},
		{"same range", rawFile(`{`+a8+`,`+tensor("b", "F32", "[2]", "[0,8]")+`}`, make([]byte, 8)),
			`tensor "b": data_offsets [0, 8) overlap tensor "a" at [0, 8)`},
		{"hole", rawFile(`{`+a8+`,`+tensor("b", "F32", "[2]", "[12,20]")+`}`, make([]byte, 20)),
			`tensor "b": data_offsets [12, 20) leave bytes [8, 12) of the data buffer uncovered`},
		{"hole at start", rawFile(`{`+tensor("a", "F32", "[2]", "[4,12]")+`}`, make([]byte, 12)),
			`tensor "a": data_offsets [4, 12) leave bytes [0, 4) of the data buffer uncovered`},
		{"trailing bytes", rawFile(`{`+a8+`}`, make([]byte, 12)), `data buffer is 12 bytes but the tensors cover only [0, 8)`},
		{"data without tensors", rawFile(`{}`, make([]byte, 1)), `data buffer is 1 bytes but the tensors cover only [0, 0)`},
		{"duplicate tensor", rawFile(`{`+a8+`,`+a8+`}`, make([]byte, 16)), `tensor "a": appears twice in the header`},
		{"duplicate after escape", rawFile(`{`+a8+`,"\u0061":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, make([]byte, 16)), `tensor "a": appears twice in the header`},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), `header has __metadata__ twice`},
		{"metadata array", rawFile(`{"__metadata__":["a"]}`, nil), `__metadata__ is an array, want an object of strings`},
		{"metadata string", rawFile(`{"__metadata__":"a"}`, nil), `__metadata__ is a string, want an object of strings`},
		{"metadata number value", rawFile(`{"__metadata__":{"k":1}}`, nil), `__metadata__ value for "k" is a number, want a string`},
		{"metadata object value", rawFile(`{"__metadata__":{"k":{}}}`, nil), `__metadata__ value for "k" is an object, want a string`},
		{"metadata null value", rawFile(`{"__metadata__":{"k":null}}`, nil), `__metadata__ value for "k" is null, want a string`},
		{"metadata duplicate key", rawFile(`{"__metadata__":{"k":"a","k":"b"}}`, nil), `__metadata__ has key "k" twice`},
		{"newline in name", rawFile(`{"a\nb":5}`, nil), `tensor "a\nb": header entry is a number`},
	}
}

func TestParseHostile(t *testing.T) {
	for _, tt := range hostileFiles() {
		f, err := Parse(tt.data)
		if err == nil {
			t.Errorf("%s: Parse succeeded with tensors %v, want error containing %q", tt.name, f.Tensors(), tt.want)
			continue
		}
		checkErr(t, tt.name, err, tt.want)
	}
}

// TestParseAccepts checks unusual files that are valid.
func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		names []string
	}{
		{"no tensors", rawFile(`{}`, nil), nil},
		{"padded", rawFile("{}    \t\n", nil), nil},
		{"null metadata", rawFile(`{"__metadata__":null}`, nil), nil},
		{"empty tensors share offsets", rawFile(`{"b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"I8","shape":[3,0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 2}), []string{"a", "b", "c"}},
		{"scalar", rawFile(`{"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, make([]byte, 8)), []string{"s"}},
		{"unknown field ignored", rawFile(`{"s":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":[{"x":null}]}}`, []byte{7}), []string{"s"}},
		{"offset order differs from key order", rawFile(`{"z":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, []byte{1, 2}), []string{"z", "y"}},
	}
	for _, tt := range tests {
		f, err := Parse(tt.data)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var names []string
		for _, info := range f.Tensors() {
			names = append(names, info.Name)
		}
		if !slices.Equal(names, tt.names) {
			t.Errorf("%s: Tensors() names = %q, want %q", tt.name, names, tt.names)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{"short data", []Tensor{Float32Tensor("a", []int{4, 8}, make([]float32, 24))}, nil, `tensor "a": data holds 96 bytes, want 128 for F32 [4 8]`},
		{"long data", []Tensor{{Name: "a", DType: U8, Shape: nil, Data: []byte{1, 2}}}, nil, `tensor "a": data holds 2 bytes, want 1 for U8 []`},
		{"duplicate", []Tensor{Float32Tensor("a", nil, []float32{1}), Float32Tensor("a", nil, []float32{2})}, nil, `tensor "a": given twice`},
		{"unknown dtype", []Tensor{{Name: "a", DType: "F128", Data: nil}}, nil, `tensor "a": unknown dtype "F128"`},
		{"negative dim", []Tensor{{Name: "a", DType: U8, Shape: []int{-1}}}, nil, `tensor "a": shape [-1] has a negative dimension`},
		{"overflow", []Tensor{{Name: "a", DType: F32, Shape: []int{math.MaxInt / 2}}}, nil, `overflows`},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{0}}}, nil, `name is reserved`},
		{"bad UTF-8 name", []Tensor{{Name: "\xff", DType: U8, Shape: []int{0}}}, nil, `name is not valid UTF-8`},
		{"bad UTF-8 metadata", nil, map[string]string{"k": "\xff"}, `__metadata__ entry "k": not valid UTF-8`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		err := Write(&b, tt.tensors, tt.meta)
		checkErr(t, tt.name, err, tt.want)
		if b.Len() != 0 {
			t.Errorf("%s: Write wrote %d bytes before failing", tt.name, b.Len())
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	want := []float32{1, 2, 3, 4}
	if err := WriteFile(path, []Tensor{Float32Tensor("w", []int{2, 2}, want)}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after WriteFile, want 1 (no temporary file left)", len(entries))
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 4)
	if err := f.Float32("w", got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Float32(w) = %v, want %v", got, want)
	}
	if m := f.Metadata(); m["format"] != "pt" {
		t.Errorf("Metadata() = %v", m)
	}
	for i := range 2 {
		if err := f.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	_, err = f.Bytes("w")
	checkErr(t, "Bytes after Close", err, `tensor "w": file is closed`)

	// WriteFile replaces an existing file.
	if err := WriteFile(path, nil, nil); err != nil {
		t.Fatal(err)
	}
	f, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Tensors()); n != 0 {
		t.Errorf("after rewrite: %d tensors, want 0", n)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, rawFile(`{"a":1}`, nil), 0o666); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.safetensors")
	if err := os.WriteFile(empty, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.safetensors")
	tests := []struct {
		name, path, want string
	}{
		{"corrupt", bad, bad + `: tensor "a": header entry is a number`},
		{"empty", empty, empty + ": file is 0 bytes"},
		{"missing", missing, missing},
		{"directory", dir, dir},
	}
	for _, tt := range tests {
		f, err := Open(tt.path)
		if err == nil {
			f.Close()
		}
		checkErr(t, tt.name, err, tt.want)
	}
	if _, err := Open(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.safetensors")
	err := WriteFile(path, []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: []byte{1}}}, nil)
	checkErr(t, "invalid tensor", err, `tensor "a": data holds 1 bytes`)
	// Renaming onto a non-empty directory fails after the data is written.
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o777); err != nil {
		t.Fatal(err)
	}
	err = WriteFile(path, []Tensor{Float32Tensor("a", nil, []float32{1})}, nil)
	checkErr(t, "rename fails", err, path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "out.safetensors" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %q after failed writes, want only the blocking directory", names)
	}
}
