package tensor

import "strconv"

// DType is a tensor's element type.
type DType uint8

// The element types ONNX Runtime and onnxruntime_go can exchange. The zero
// value is Invalid.
const (
	Invalid DType = iota
	Float32
	Float64
	Float16
	BFloat16
	Int8
	Int16
	Int32
	Int64
	Uint8
	Uint16
	Uint32
	Uint64
	Bool
	String
	numDTypes
)

type dtypeInfo struct {
	name string // the Go-style name: "float32"
	v2   string // the Open Inference Protocol's: "FP32"
	size int    // bytes per element; 0 for String
}

var dtypes = [numDTypes]dtypeInfo{
	Invalid:  {"invalid", "", 0},
	Float32:  {"float32", "FP32", 4},
	Float64:  {"float64", "FP64", 8},
	Float16:  {"float16", "FP16", 2},
	BFloat16: {"bfloat16", "BF16", 2},
	Int8:     {"int8", "INT8", 1},
	Int16:    {"int16", "INT16", 2},
	Int32:    {"int32", "INT32", 4},
	Int64:    {"int64", "INT64", 8},
	Uint8:    {"uint8", "UINT8", 1},
	Uint16:   {"uint16", "UINT16", 2},
	Uint32:   {"uint32", "UINT32", 4},
	Uint64:   {"uint64", "UINT64", 8},
	Bool:     {"bool", "BOOL", 1},
	String:   {"string", "BYTES", 0},
}

// Size is the number of bytes of one element; 0 for String, whose elements
// are byte strings of any length.
func (d DType) Size() int {
	if d >= numDTypes {
		return 0
	}
	return dtypes[d].size
}

// String is the Go-style name: "float32", "int64", "string".
func (d DType) String() string {
	if d >= numDTypes {
		return "dtype(" + strconv.Itoa(int(d)) + ")"
	}
	return dtypes[d].name
}

// V2 is the Open Inference Protocol's name: "FP32", "INT64", "BYTES".
func (d DType) V2() string {
	if d >= numDTypes {
		return ""
	}
	return dtypes[d].v2
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float64 || d == Float16 || d == BFloat16
}

// IsInteger reports whether d is a signed or unsigned integer type.
func (d DType) IsInteger() bool { return d >= Int8 && d <= Uint64 }

// Parse returns the DType with the Go-style name (as String gives it), or
// Invalid.
func Parse(name string) DType {
	for d := Float32; d < numDTypes; d++ {
		if name == dtypes[d].name {
			return d
		}
	}
	return Invalid
}

// ParseV2 returns the DType with the Open Inference Protocol name, or
// Invalid. Comparing string(name) with a constant does not allocate.
func ParseV2(name []byte) DType {
	for d := Float32; d < numDTypes; d++ {
		if string(name) == dtypes[d].v2 {
			return d
		}
	}
	return Invalid
}

// Names lists the Go-style names of every valid DType, for messages.
func Names() []string {
	names := make([]string, 0, numDTypes-1)
	for d := Float32; d < numDTypes; d++ {
		names = append(names, dtypes[d].name)
	}
	return names
}
