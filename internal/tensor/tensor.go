package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Tensor is a named array of one element type. Data holds the elements of
// a numeric or bool tensor, row-major and little-endian (a bool is one byte,
// 0 or 1); Strings holds those of a String tensor, and Data is then unused.
// A Tensor does not own what its slices point at unless its maker says so.
type Tensor struct {
	Name  string
	DType DType
	// Shape is the tensor's dimensions; empty for a scalar. A dimension of
	// -1 appears only in a model's declared shapes (TensorInfo), never in a
	// tensor that holds data.
	Shape   []int64
	Data    []byte
	Strings [][]byte
}

// Elements is the number of elements of a tensor of shape: the product of
// its dimensions (1 for a scalar). ok is false when a dimension is negative
// or the product overflows an int.
func Elements(shape []int64) (n int, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 || d > math.MaxInt32 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/int(d) {
			return 0, false
		}
		n *= int(d)
	}
	return n, true
}

// Len is the number of elements the shape says the tensor has.
func (t *Tensor) Len() int {
	n, _ := Elements(t.Shape)
	return n
}

// Rows is the first dimension, or 1 for a scalar.
func (t *Tensor) Rows() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return int(t.Shape[0])
}

// RowElements is the number of elements of one row: the product of every
// dimension after the first (1 for a scalar or a vector).
func (t *Tensor) RowElements() int {
	if len(t.Shape) <= 1 {
		return 1
	}
	n, _ := Elements(t.Shape[1:])
	return n
}

// Check reports whether the tensor holds exactly the elements its shape
// says: len(Data) for a fixed-size type, len(Strings) for String.
func (t *Tensor) Check() bool {
	n, ok := Elements(t.Shape)
	if !ok || t.DType == Invalid || t.DType >= numDTypes {
		return false
	}
	if t.DType == String {
		return len(t.Strings) == n
	}
	return len(t.Data) == n*t.DType.Size()
}

// Float64At returns element i converted to float64: a bool is 0 or 1, a
// String element is NaN. It panics, like an index, when i is out of range.
func (t *Tensor) Float64At(i int) float64 {
	d := t.Data
	switch t.DType {
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])))
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:]))
	case Float16:
		return float64(Float16ToFloat32(binary.LittleEndian.Uint16(d[2*i:])))
	case BFloat16:
		return float64(BFloat16ToFloat32(binary.LittleEndian.Uint16(d[2*i:])))
	case Int8:
		return float64(int8(d[i]))
	case Int16:
		return float64(int16(binary.LittleEndian.Uint16(d[2*i:])))
	case Int32:
		return float64(int32(binary.LittleEndian.Uint32(d[4*i:])))
	case Int64:
		return float64(int64(binary.LittleEndian.Uint64(d[8*i:])))
	case Uint8:
		return float64(d[i])
	case Uint16:
		return float64(binary.LittleEndian.Uint16(d[2*i:]))
	case Uint32:
		return float64(binary.LittleEndian.Uint32(d[4*i:]))
	case Uint64:
		return float64(binary.LittleEndian.Uint64(d[8*i:]))
	case Bool:
		if d[i] != 0 {
			return 1
		}
		return 0
	case String:
		_ = t.Strings[i]
		return math.NaN()
	}
	panic("BUG: Float64At on a tensor of " + t.DType.String())
}

// Int64At returns element i of an integer or bool tensor as an int64 (a
// uint64 above MaxInt64 wraps). ok is false for other types.
func (t *Tensor) Int64At(i int) (v int64, ok bool) {
	d := t.Data
	switch t.DType {
	case Int8:
		return int64(int8(d[i])), true
	case Int16:
		return int64(int16(binary.LittleEndian.Uint16(d[2*i:]))), true
	case Int32:
		return int64(int32(binary.LittleEndian.Uint32(d[4*i:]))), true
	case Int64:
		return int64(binary.LittleEndian.Uint64(d[8*i:])), true
	case Uint8:
		return int64(d[i]), true
	case Uint16:
		return int64(binary.LittleEndian.Uint16(d[2*i:])), true
	case Uint32:
		return int64(binary.LittleEndian.Uint32(d[4*i:])), true
	case Uint64:
		return int64(binary.LittleEndian.Uint64(d[8*i:])), true
	case Bool:
		return int64(d[i]), true
	}
	return 0, false
}

// RowView returns rows [from, to) of t: a tensor sharing t's memory whose
// first dimension is to-from, with its shape in shape's memory (so that a
// caller reusing shape allocates nothing). t must have at least one
// dimension.
func (t *Tensor) RowView(from, to int, shape []int64) Tensor {
	shape = append(shape[:0], t.Shape...)
	shape[0] = int64(to - from)
	v := Tensor{Name: t.Name, DType: t.DType, Shape: shape}
	row := t.RowElements()
	if t.DType == String {
		v.Strings = t.Strings[from*row : to*row]
	} else {
		size := row * t.DType.Size()
		v.Data = t.Data[from*size : to*size]
	}
	return v
}

// CopyFrom makes t a copy of src in t's own memory, reusing its slices.
// The bytes of a String tensor's elements go in its Data.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(src.Shape) == 0 {
		t.CopyRows(src, 0, 1)
		return
	}
	t.CopyRows(src, 0, src.Rows())
}

// CopyRows makes t a copy of rows [from, to) of src, in t's own memory,
// reusing its slices: the first dimension becomes to-from. A scalar has the
// one row (0, 1). The bytes of a String tensor's elements go in its Data.
func (t *Tensor) CopyRows(src *Tensor, from, to int) {
	t.Name, t.DType = src.Name, src.DType
	t.Shape = append(t.Shape[:0], src.Shape...)
	row := src.RowElements()
	if len(src.Shape) > 0 {
		t.Shape[0] = int64(to - from)
	}
	lo, hi := from*row, to*row
	if src.DType != String {
		size := src.DType.Size()
		t.Data = append(t.Data[:0], src.Data[lo*size:hi*size]...)
		t.Strings = t.Strings[:0]
		return
	}
	t.setStrings(src.Strings[lo:hi])
}

// setStrings copies strs into t's Data and points t's Strings at them.
func (t *Tensor) setStrings(strs ...[][]byte) {
	n := 0
	for _, part := range strs {
		for _, s := range part {
			n += len(s)
		}
	}
	// Room for every byte first: appending below never moves Data, so the
	// Strings stay views of it.
	t.Data = slices.Grow(t.Data[:0], n)
	t.Strings = t.Strings[:0]
	for _, part := range strs {
		for _, s := range part {
			t.Data = append(t.Data, s...)
			t.Strings = append(t.Strings, t.Data[len(t.Data)-len(s):len(t.Data):len(t.Data)])
		}
	}
}

// Concat makes t the concatenation of parts along the first dimension, in
// t's own memory. Every part has the first part's name, type and other
// dimensions.
func (t *Tensor) Concat(parts []*Tensor) {
	first := parts[0]
	t.Name, t.DType = first.Name, first.DType
	t.Shape = append(t.Shape[:0], first.Shape...)
	rows := 0
	for _, p := range parts {
		rows += p.Rows()
	}
	t.Shape[0] = int64(rows)
	if t.DType == String {
		strs := make([][][]byte, len(parts))
		for i, p := range parts {
			strs[i] = p.Strings
		}
		t.setStrings(strs...)
		return
	}
	t.Data = t.Data[:0]
	for _, p := range parts {
		t.Data = append(t.Data, p.Data...)
	}
	t.Strings = t.Strings[:0]
}

// Reset empties t, keeping its memory.
func (t *Tensor) Reset() {
	t.Name, t.DType = "", Invalid
	t.Shape = t.Shape[:0]
	t.Data = t.Data[:0]
	clear(t.Strings)
	t.Strings = t.Strings[:0]
}

// SameDims reports whether a and b are equal dimension by dimension.
func SameDims(a, b []int64) bool { return slices.Equal(a, b) }

// ShapeString formats a shape as the protocols write it: [-1,3,48,192].
func ShapeString(shape []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range shape {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// Float32s views b as float32s, without copying. len(b) must be a multiple
// of 4; b's memory must be 4-byte aligned (Go's allocator aligns every
// buffer of 8 bytes or more to 8).
func Float32s(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// BytesOf views a slice of fixed-size numbers as its bytes, without copying.
func BytesOf[T ~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// SetFloat64 writes x into element i of a numeric or bool tensor, converted
// to its type; it fails when x does not fit (a fraction for an integer type,
// a value out of range).
func SetFloat64(t *Tensor, i int, x float64) error {
	d := t.Data
	integral := x == math.Trunc(x)
	in := func(lo, hi float64) error {
		if !integral || x < lo || x > hi {
			return fmt.Errorf("%v does not fit %s", x, t.DType)
		}
		return nil
	}
	switch t.DType {
	case Float32:
		if math.Abs(x) > math.MaxFloat32 {
			return fmt.Errorf("%v does not fit float32", x)
		}
		binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(float32(x)))
	case Float64:
		binary.LittleEndian.PutUint64(d[8*i:], math.Float64bits(x))
	case Float16:
		binary.LittleEndian.PutUint16(d[2*i:], Float32ToFloat16(float32(x)))
	case BFloat16:
		binary.LittleEndian.PutUint16(d[2*i:], Float32ToBFloat16(float32(x)))
	case Int8:
		if err := in(math.MinInt8, math.MaxInt8); err != nil {
			return err
		}
		d[i] = byte(int8(x))
	case Int16:
		if err := in(math.MinInt16, math.MaxInt16); err != nil {
			return err
		}
		binary.LittleEndian.PutUint16(d[2*i:], uint16(int16(x)))
	case Int32:
		if err := in(math.MinInt32, math.MaxInt32); err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(d[4*i:], uint32(int32(x)))
	case Int64:
		if err := in(math.MinInt64, math.MaxInt64); err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(d[8*i:], uint64(int64(x)))
	case Uint8:
		if err := in(0, math.MaxUint8); err != nil {
			return err
		}
		d[i] = byte(x)
	case Uint16:
		if err := in(0, math.MaxUint16); err != nil {
			return err
		}
		binary.LittleEndian.PutUint16(d[2*i:], uint16(x))
	case Uint32:
		if err := in(0, math.MaxUint32); err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(d[4*i:], uint32(x))
	case Uint64:
		if err := in(0, math.MaxUint64); err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(d[8*i:], uint64(x))
	case Bool:
		if x != 0 && x != 1 {
			return fmt.Errorf("%v is not a bool (0 or 1)", x)
		}
		d[i] = byte(x)
	default:
		return fmt.Errorf("a %s element is not a number", t.DType)
	}
	return nil
}
