package tensor

import (
	"encoding/binary"
	"strconv"

	"github.com/infergate/infergate/internal/jsonenc"
)

// The binary layout of the Open Inference Protocol's binary tensor data
// extension (Triton's), which both sides of infergate speak: the gateway's
// v2 codec and the router's v2 remote client. Elements are little-endian,
// row-major, a bool one byte; a string element is a 4-byte little-endian
// length and its bytes.

// AppendWire appends t's elements to b in the binary layout.
func AppendWire(b []byte, t *Tensor) []byte {
	if t.DType != String {
		return append(b, t.Data[:t.Len()*t.DType.Size()]...)
	}
	for _, s := range t.Strings {
		b = AppendWireString(b, s)
	}
	return b
}

// AppendWireString appends one string element in the binary layout.
func AppendWireString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// AppendWireStrings appends to dst the n string elements data holds in the
// binary layout, as slices of data; it says what is wrong when data does
// not hold exactly n of them.
func AppendWireStrings(dst [][]byte, data []byte, n int) ([][]byte, string) {
	off := 0
	for i := range n {
		if len(data)-off < 4 {
			return dst, "BYTES element " + strconv.Itoa(i) + " of " + strconv.Itoa(n) + ": its 4-byte length runs past binary_data_size " + strconv.Itoa(len(data))
		}
		l := binary.LittleEndian.Uint32(data[off:])
		off += 4
		if uint64(l) > uint64(len(data)-off) {
			return dst, "BYTES element " + strconv.Itoa(i) + " of " + strconv.Itoa(n) + " has length " + strconv.FormatUint(uint64(l), 10) +
				", which runs past binary_data_size " + strconv.Itoa(len(data))
		}
		dst = append(dst, data[off:off+int(l):off+int(l)])
		off += int(l)
	}
	if off != len(data) {
		return dst, strconv.Itoa(len(data)-off) + " bytes of binary data are left after the shape's " + strconv.Itoa(n) + " BYTES elements"
	}
	return dst, ""
}

// AppendV2Head appends the start of t's object in a v2 request or answer,
// {"name":…,"datatype":…,"shape":[…], up to where its data (or its
// binary_data_size) goes.
func AppendV2Head(b []byte, t *Tensor) []byte {
	b = append(b, `{"name":`...)
	b = jsonenc.AppendString(b, t.Name)
	b = append(b, `,"datatype":"`...)
	b = append(b, t.DType.V2()...)
	b = append(b, `","shape":[`...)
	for i, d := range t.Shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d, 10)
	}
	return append(b, ']')
}
