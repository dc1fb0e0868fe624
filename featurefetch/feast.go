package featurefetch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// The layout Feast's Redis online store writes (sdk/python/feast/infra/
// online_stores/redis.py with key_encoding_utils.serialize_entity_key), so
// that a team running Feast can point infergate at its Redis:
//
//   - one hash per entity, at the key serialize_entity_key(entity, version)
//     followed by the project name;
//   - a field per feature, named by the 4 little-endian bytes of the
//     MurmurHash3 (x86, 32-bit, seed 0) of "VIEW:FEATURE", holding a
//     serialized feast.types.Value;
//   - a field "_ts:VIEW" per feature view, holding the serialized
//     google.protobuf.Timestamp of the row's event time.
//
// Version 3 of the entity key (Feast's default since 0.38) starts with the
// number of join keys and gives each join key's length; versions 1 and 2 do
// not, and version 1 writes an INT64 value in 4 bytes.

// ValueType is Feast's ValueType enum (protos/feast/types/Value.proto).
type ValueType uint32

// The value types an entity key or a feature may have here.
const (
	TypeBytes         ValueType = 1
	TypeString        ValueType = 2
	TypeInt32         ValueType = 3
	TypeInt64         ValueType = 4
	TypeDouble        ValueType = 5
	TypeFloat         ValueType = 6
	TypeBool          ValueType = 7
	TypeUnixTimestamp ValueType = 8
)

// typeNames are the config spellings of the value types.
var typeNames = map[string]ValueType{
	"bytes": TypeBytes, "string": TypeString, "int32": TypeInt32, "int64": TypeInt64,
	"double": TypeDouble, "float": TypeFloat, "bool": TypeBool, "unix_timestamp": TypeUnixTimestamp,
}

// ParseValueType returns the type a config names ("string", "int64", …).
func ParseValueType(name string) (ValueType, error) {
	if t, ok := typeNames[name]; ok {
		return t, nil
	}
	names := make([]string, 0, len(typeNames))
	for n := range typeNames {
		names = append(names, n)
	}
	slices.Sort(names)
	return 0, fmt.Errorf("%q is not a value type: want one of %s", name, strings.Join(names, ", "))
}

func (t ValueType) String() string {
	for n, v := range typeNames {
		if v == t {
			return n
		}
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Entity key serialization versions.
const (
	KeyVersion2 = 2
	KeyVersion3 = 3
)

// JoinKey is one join key of an entity and its value: Str for a string or
// bytes key, Int for an integer one.
type JoinKey struct {
	Name string
	Type ValueType
	Str  []byte
	Int  int64
}

// errKeyType: an entity value of a type Feast does not serialize.
var errKeyType = errors.New("entity key values must be string, bytes, int32 or int64")

// AppendRedisKey appends the Redis key of an entity: its join keys
// serialized as serialize_entity_key does (sorted by name), then project.
// keys is sorted in place.
func AppendRedisKey(b []byte, version int, keys []JoinKey, project string) ([]byte, error) {
	if version != KeyVersion2 && version != KeyVersion3 {
		return b, fmt.Errorf("entity key serialization version %d: want 2 or 3", version)
	}
	if len(keys) > 1 {
		slices.SortFunc(keys, func(a, b JoinKey) int { return strings.Compare(a.Name, b.Name) })
	}
	le := binary.LittleEndian
	if version == KeyVersion3 {
		b = le.AppendUint32(b, uint32(len(keys)))
	}
	for _, k := range keys {
		b = le.AppendUint32(b, uint32(TypeString))
		if version == KeyVersion3 {
			b = le.AppendUint32(b, uint32(len(k.Name)))
		}
		b = append(b, k.Name...)
	}
	for _, k := range keys {
		b = le.AppendUint32(b, uint32(k.Type))
		switch k.Type {
		case TypeString, TypeBytes:
			b = le.AppendUint32(b, uint32(len(k.Str)))
			b = append(b, k.Str...)
		case TypeInt32:
			b = le.AppendUint32(b, 4)
			b = le.AppendUint32(b, uint32(int32(k.Int)))
		case TypeInt64:
			b = le.AppendUint32(b, 8)
			b = le.AppendUint64(b, uint64(k.Int))
		default:
			return b, fmt.Errorf("join key %q: %s: %w", k.Name, k.Type, errKeyType)
		}
	}
	return append(b, project...), nil
}

// FieldName is the hash field of a feature: MurmurHash3 (x86, 32-bit, seed
// 0) of "VIEW:FEATURE", as 4 little-endian bytes.
func FieldName(view, feature string) [4]byte {
	var f [4]byte
	binary.LittleEndian.PutUint32(f[:], murmur3x86_32([]byte(view+":"+feature), 0))
	return f
}

// murmur3x86_32 is MurmurHash3's x86 32-bit variant, the hash of Python's
// mmh3.hash, which Feast uses. (github.com/spaolacci/murmur3 reads its
// input through unsafe pointer arithmetic that the race detector's
// checkptr refuses.)
func murmur3x86_32(data []byte, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	n := len(data)
	for ; len(data) >= 4; data = data[4:] {
		k := binary.LittleEndian.Uint32(data)
		k = bits.RotateLeft32(k*c1, 15) * c2
		h ^= k
		h = bits.RotateLeft32(h, 13)*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) {
	case 3:
		k ^= uint32(data[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[0])
		h ^= bits.RotateLeft32(k*c1, 15) * c2
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// TimestampField is the hash field holding a view's event timestamp.
func TimestampField(view string) string { return "_ts:" + view }

// Value is a decoded feature value.
type Value struct {
	// Kind is Missing for an absent field, a null or an empty Value.
	Kind Kind
	Num  float64 // Number: every numeric type, a bool as 0 or 1, a timestamp as Unix seconds
	Str  []byte  // String: a string or bytes value
}

// Kind is what a Value holds.
type Kind uint8

// The kinds of values.
const (
	Missing Kind = iota
	Number
	String
)

// protobuf wire types.
const (
	wireVarint  = 0
	wire64      = 1
	wireBytes   = 2
	wire32      = 5
	maxFieldNum = 1 << 29
)

// errValue: bytes that are not a feast.types.Value this reader knows.
var errValue = errors.New("not a feast.types.Value of a scalar type")

// ParseValue decodes a serialized feast.types.Value. Str refers into data.
// A list, map or set value is an error: a model input is one scalar.
func ParseValue(data []byte) (Value, error) {
	var v Value
	for len(data) > 0 {
		tag, n := binary.Uvarint(data)
		if n <= 0 || tag>>3 == 0 || tag>>3 >= maxFieldNum {
			return Value{}, fmt.Errorf("bad field tag: %w", errValue)
		}
		data = data[n:]
		field, wire := tag>>3, tag&7
		var x uint64
		var raw []byte
		switch wire {
		case wireVarint:
			x, n = binary.Uvarint(data)
			if n <= 0 {
				return Value{}, fmt.Errorf("field %d: bad varint: %w", field, errValue)
			}
			data = data[n:]
		case wire64:
			if len(data) < 8 {
				return Value{}, fmt.Errorf("field %d: truncated: %w", field, errValue)
			}
			x, data = binary.LittleEndian.Uint64(data), data[8:]
		case wire32:
			if len(data) < 4 {
				return Value{}, fmt.Errorf("field %d: truncated: %w", field, errValue)
			}
			x, data = uint64(binary.LittleEndian.Uint32(data)), data[4:]
		case wireBytes:
			l, n := binary.Uvarint(data)
			if n <= 0 || l > uint64(len(data)-n) {
				return Value{}, fmt.Errorf("field %d: bad length: %w", field, errValue)
			}
			raw, data = data[n:n+int(l)], data[n+int(l):]
		default:
			return Value{}, fmt.Errorf("field %d: wire type %d: %w", field, wire, errValue)
		}
		if w, ok := scalarWire(field); !ok || w != wire {
			return Value{}, fmt.Errorf("field %d (wire type %d): %w", field, wire, errValue)
		}
		// A oneof: the last field on the wire wins, as protobuf decoders do.
		switch field {
		case 1, 2:
			v = Value{Kind: String, Str: raw}
		case 3:
			v = Value{Kind: Number, Num: float64(int32(x))}
		case 4, 8:
			v = Value{Kind: Number, Num: float64(int64(x))}
		case 5:
			v = Value{Kind: Number, Num: math.Float64frombits(x)}
		case 6:
			v = Value{Kind: Number, Num: float64(math.Float32frombits(uint32(x)))}
		case 7:
			v = Value{Kind: Number}
			if x != 0 {
				v.Num = 1
			}
		case 19:
			v = Value{}
		}
	}
	return v, nil
}

// scalarWire is the wire type of a scalar field of feast.types.Value.
func scalarWire(field uint64) (uint64, bool) {
	switch field {
	case 1, 2:
		return wireBytes, true
	case 3, 4, 7, 8, 19:
		return wireVarint, true
	case 5:
		return wire64, true
	case 6:
		return wire32, true
	}
	return 0, false
}

// AppendValue appends the serialized feast.types.Value of v as type t: a
// Number as t's numeric field, a String as string_val (or bytes_val for
// TypeBytes), Missing as nothing (an empty Value, which Feast reads as
// null).
func AppendValue(b []byte, t ValueType, v Value) ([]byte, error) {
	switch v.Kind {
	case Missing:
		return b, nil
	case String:
		if t != TypeString && t != TypeBytes {
			return b, fmt.Errorf("a string value for a %s feature", t)
		}
		b = binary.AppendUvarint(b, uint64(t)<<3|wireBytes)
		b = binary.AppendUvarint(b, uint64(len(v.Str)))
		return append(b, v.Str...), nil
	}
	x := v.Num
	switch t {
	case TypeInt32, TypeInt64, TypeUnixTimestamp, TypeBool:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return b, fmt.Errorf("%v is not an integer, as a %s feature needs", x, t)
		}
		if t == TypeInt32 && (x < math.MinInt32 || x > math.MaxInt32) || t == TypeBool && x != 0 && x != 1 {
			return b, fmt.Errorf("%v is out of range for a %s feature", x, t)
		}
		b = binary.AppendUvarint(b, uint64(t)<<3|wireVarint)
		if t == TypeInt32 {
			// protobuf sign-extends a negative int32 to 64 bits.
			return binary.AppendUvarint(b, uint64(int64(int32(x)))), nil
		}
		return binary.AppendUvarint(b, uint64(int64(x))), nil
	case TypeDouble:
		b = binary.AppendUvarint(b, uint64(t)<<3|wire64)
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(x)), nil
	case TypeFloat:
		b = binary.AppendUvarint(b, uint64(t)<<3|wire32)
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(x))), nil
	}
	return b, fmt.Errorf("a number for a %s feature", t)
}

// AppendTimestamp appends the serialized google.protobuf.Timestamp of t
// (seconds, field 1; nanoseconds, field 2, when not 0).
func AppendTimestamp(b []byte, t time.Time) []byte {
	if s := t.Unix(); s != 0 {
		b = binary.AppendUvarint(b, 1<<3|wireVarint)
		b = binary.AppendUvarint(b, uint64(s))
	}
	if ns := t.Nanosecond(); ns != 0 {
		b = binary.AppendUvarint(b, 2<<3|wireVarint)
		b = binary.AppendUvarint(b, uint64(ns))
	}
	return b
}

// ParseTimestamp decodes a serialized google.protobuf.Timestamp; empty data
// is the Unix epoch, as Feast reads a missing one.
func ParseTimestamp(data []byte) (time.Time, error) {
	var sec, nsec int64
	for len(data) > 0 {
		tag, n := binary.Uvarint(data)
		if n <= 0 || tag&7 != wireVarint || (tag>>3 != 1 && tag>>3 != 2) {
			return time.Time{}, errors.New("not a google.protobuf.Timestamp")
		}
		x, m := binary.Uvarint(data[n:])
		if m <= 0 {
			return time.Time{}, errors.New("not a google.protobuf.Timestamp: bad varint")
		}
		data = data[n+m:]
		if tag>>3 == 1 {
			sec = int64(x)
		} else {
			nsec = int64(x)
		}
	}
	if nsec < 0 || nsec >= 1e9 {
		return time.Time{}, fmt.Errorf("timestamp nanoseconds %d out of range", nsec)
	}
	return time.Unix(sec, nsec).UTC(), nil
}
