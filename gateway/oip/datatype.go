package oip

import (
	"math"
	"strconv"

	"github.com/valyala/fastjson"
)

// datatype is a tensor datatype of the protocol.
type datatype uint8

const (
	dtInvalid datatype = iota
	dtBool
	dtUint8
	dtUint16
	dtUint32
	dtUint64
	dtInt8
	dtInt16
	dtInt32
	dtInt64
	dtFP16
	dtFP32
	dtFP64
	dtBF16
	dtBytes
)

// dtInfo is what the codec knows of a datatype.
type dtInfo struct {
	name string
	// integer types take integral numbers in [min, max]; limit is max+1,
	// exact in float64 even for 64-bit types (2^63, 2^64).
	integer  bool
	min      float64
	limit    float64
	rangeMsg string // "integers from -128 to 127"
	// supported is false for the datatypes of the protocol that a feature
	// input cannot take.
	supported bool
}

var dtInfos = [...]dtInfo{
	dtBool:   {name: "BOOL", supported: true},
	dtUint8:  {name: "UINT8", integer: true, min: 0, limit: 1 << 8, rangeMsg: "integers from 0 to 255", supported: true},
	dtUint16: {name: "UINT16", integer: true, min: 0, limit: 1 << 16, rangeMsg: "integers from 0 to 65535", supported: true},
	dtUint32: {name: "UINT32", integer: true, min: 0, limit: 1 << 32, rangeMsg: "integers from 0 to 4294967295", supported: true},
	dtUint64: {name: "UINT64", integer: true, min: 0, limit: 1 << 64, rangeMsg: "integers from 0 to 18446744073709551615", supported: true},
	dtInt8:   {name: "INT8", integer: true, min: -1 << 7, limit: 1 << 7, rangeMsg: "integers from -128 to 127", supported: true},
	dtInt16:  {name: "INT16", integer: true, min: -1 << 15, limit: 1 << 15, rangeMsg: "integers from -32768 to 32767", supported: true},
	dtInt32:  {name: "INT32", integer: true, min: -1 << 31, limit: 1 << 31, rangeMsg: "integers from -2147483648 to 2147483647", supported: true},
	dtInt64:  {name: "INT64", integer: true, min: -1 << 63, limit: 1 << 63, rangeMsg: "integers from -9223372036854775808 to 9223372036854775807", supported: true},
	dtFP16:   {name: "FP16"},
	dtFP32:   {name: "FP32", supported: true},
	dtFP64:   {name: "FP64", supported: true},
	dtBF16:   {name: "BF16"},
	dtBytes:  {name: "BYTES", supported: true},
}

// numericDatatypes lists what a numeric feature's input may be, for messages.
const numericDatatypes = "FP32, FP64, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 or BOOL"

// parseDatatype returns the datatype named name, or dtInvalid. Comparing
// string(name) with a constant does not allocate.
func parseDatatype(name []byte) datatype {
	for dt := dtBool; dt <= dtBytes; dt++ {
		if string(name) == dtInfos[dt].name {
			return dt
		}
	}
	return dtInvalid
}

func (dt datatype) String() string {
	if dt == dtInvalid || int(dt) >= len(dtInfos) {
		return "datatype(" + strconv.Itoa(int(dt)) + ")"
	}
	return dtInfos[dt].name
}

// number converts v, an element of a numeric input's data, to the feature's
// value. It returns the problem as a message when v does not fit dt; only
// that path allocates.
func (dt datatype) number(v *fastjson.Value) (float64, string) {
	t := v.Type()
	if dt == dtBool {
		switch t {
		case fastjson.TypeTrue:
			return 1, ""
		case fastjson.TypeFalse:
			return 0, ""
		}
		return 0, "datatype BOOL needs true or false data, got " + typeName(t)
	}
	if t != fastjson.TypeNumber {
		return 0, "datatype " + dt.String() + " needs number data, got " + typeName(t)
	}
	// fastjson takes NaN, Inf and numbers beyond float64 (1e999) as
	// numbers: none of them is a value a model can take.
	x, err := v.Float64()
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, "datatype " + dt.String() + " needs finite numbers, got " + v.String()
	}
	info := &dtInfos[dt]
	switch {
	case info.integer:
		if x != math.Trunc(x) || x < info.min || x >= info.limit && !exact64(dt, v) {
			return 0, "datatype " + dt.String() + " needs " + info.rangeMsg + ", got " + v.String()
		}
	case dt == dtFP32:
		if math.Abs(x) > math.MaxFloat32 {
			return 0, "datatype FP32 needs numbers within ±3.4028235e+38, got " + v.String()
		}
	}
	return x, ""
}

// exact64 reports whether v, a number that rounds to 2^63 (INT64) or 2^64
// (UINT64) in float64, is within dt's range all the same: the types' largest
// values, 9223372036854775807 and 18446744073709551615, round up.
func exact64(dt datatype, v *fastjson.Value) bool {
	switch dt {
	case dtInt64:
		_, err := v.Int64()
		return err == nil
	case dtUint64:
		_, err := v.Uint64()
		return err == nil
	}
	return false
}

// typeName names a JSON type for messages.
func typeName(t fastjson.Type) string {
	switch t {
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "boolean"
	case fastjson.TypeArray:
		return "list"
	}
	return t.String()
}
