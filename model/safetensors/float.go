package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Float32 decodes the named tensor into dst, which must have exactly one
// element per tensor element. The tensor's type must be F32, F16 or BF16;
// half-precision values, subnormals, infinities and NaNs included, convert
// exactly.
func (f *File) Float32(name string, dst []float32) error {
	t, err := f.lookup(name)
	if err != nil {
		return err
	}
	if n := t.NumElements(); len(dst) != n {
		return fmt.Errorf("safetensors: tensor %q: destination has %d elements, want %d for %s %v", name, len(dst), n, t.DType, t.Shape)
	}
	src := f.buf[t.Begin:t.End]
	switch t.DType {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i : 4*i+4]))
		}
	case F16:
		for i := range dst {
			dst[i] = float16To32(binary.LittleEndian.Uint16(src[2*i : 2*i+2]))
		}
	case BF16:
		for i := range dst {
			dst[i] = bfloat16To32(binary.LittleEndian.Uint16(src[2*i : 2*i+2]))
		}
	default:
		return fmt.Errorf("safetensors: tensor %q: cannot decode %s as float32, want F32, F16 or BF16", name, t.DType)
	}
	return nil
}

// Float32Tensor returns a tensor of type F32 holding data, which must have
// one element per element of shape; Write checks that it does.
func Float32Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: shape, Data: b}
}

// float16To32 converts an IEEE 754 binary16 value to float32, which holds
// every binary16 value exactly.
func float16To32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN, keeping the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: mant × 2^-24, exact in float32, which has the range to
	// represent it as a normal number.
	v := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// bfloat16To32 converts a bfloat16 value, the top half of a float32, to
// float32.
func bfloat16To32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}
