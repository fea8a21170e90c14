package safetensors

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

// FuzzParse checks that Parse never panics, that a file it accepts only
// points inside its data buffer, and that writing what it read and parsing
// that again gives the same tensors, and the same bytes when written again.
func FuzzParse(f *testing.F) {
	valid := [][]Tensor{
		nil,
		{Float32Tensor("a", []int{2, 2}, []float32{1, 2, 3, 4})},
		{
			Float32Tensor("wte.weight", []int{3, 2}, make([]float32, 6)),
			{Name: "h", DType: F16, Shape: []int{3}, Data: u16s(0x3c00, 0x7c00, 0x0001)},
			{Name: "b", DType: BF16, Shape: nil, Data: u16s(0x3f80)},
			{Name: "e", DType: U8, Shape: []int{0, 4}},
			{Name: "q\"\n", DType: I64, Shape: []int{1}, Data: make([]byte, 8)},
		},
	}
	for _, ts := range valid {
		f.Add(mustWrite(f, ts, nil))
		f.Add(mustWrite(f, ts, map[string]string{"format": "pt"}))
	}
	for _, h := range hostileFiles() {
		f.Add(h.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		bufLen := int64(len(file.buf))
		infos := file.Tensors()
		tensors := make([]Tensor, 0, len(infos))
		for _, info := range infos {
			if info.Begin < 0 || info.Begin > info.End || info.End > bufLen {
				t.Fatalf("tensor %q: [%d, %d) outside the %d-byte buffer", info.Name, info.Begin, info.End, bufLen)
			}
			b, err := file.Bytes(info.Name)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(b)) != int64(info.NumElements())*int64(info.DType.Size()) {
				t.Fatalf("tensor %q: %d bytes for %s %v", info.Name, len(b), info.DType, info.Shape)
			}
			switch info.DType {
			case F32, F16, BF16:
				if err := file.Float32(info.Name, make([]float32, info.NumElements())); err != nil {
					t.Fatal(err)
				}
			}
			tensors = append(tensors, Tensor{Name: info.Name, DType: info.DType, Shape: info.Shape, Data: b})
		}
		var out bytes.Buffer
		if err := Write(&out, tensors, file.Metadata()); err != nil {
			t.Fatalf("Write of parsed tensors: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("Parse of rewritten file: %v", err)
		}
		if !maps.Equal(again.Metadata(), file.Metadata()) {
			t.Fatalf("metadata %v became %v", file.Metadata(), again.Metadata())
		}
		if len(again.Tensors()) != len(infos) {
			t.Fatalf("%d tensors became %d", len(infos), len(again.Tensors()))
		}
		for _, want := range tensors {
			got, ok := again.Tensor(want.Name)
			if !ok {
				t.Fatalf("tensor %q lost", want.Name)
			}
			b, _ := again.Bytes(want.Name)
			if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(b, want.Data) {
				t.Fatalf("tensor %q changed: %s %v became %s %v", want.Name, want.DType, want.Shape, got.DType, got.Shape)
			}
		}
		if twice := mustWrite(t, tensors, again.Metadata()); !bytes.Equal(twice, out.Bytes()) {
			t.Fatal("writing the same tensors twice gave different bytes")
		}
	})
}
