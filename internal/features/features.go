package features

import (
	"bytes"
	"strconv"
)

// Kind is the JSON type of a feature value.
type Kind uint8

// The kinds of feature values. Nulls are not stored: an explicit null means
// "absent", as a missing key does.
const (
	Number Kind = iota + 1
	String
	// Other is any other JSON value (true, an object…), kept so that a
	// model that needs the feature can say what it got: Str holds the
	// value's JSON type, such as "true" or "object".
	Other
)

// String names the kind as JSON does.
func (k Kind) String() string {
	switch k {
	case Number:
		return "number"
	case String:
		return "string"
	case Other:
		return "other"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Feature is one named value.
type Feature struct {
	Name []byte
	Kind Kind
	Num  float64 // when Kind is Number
	Str  []byte  // when Kind is String
}

// Set is a request's features in the order the client sent them. The zero
// value is empty and ready to use. A Set is not safe for concurrent writes;
// once filled it may be read concurrently.
type Set struct {
	list []Feature
	// arena holds the bytes of an owned Set (one made by CopyFrom); a Set
	// filled with Add… refers to its caller's bytes instead.
	arena []byte
}

// Reset empties the set, keeping its memory.
func (s *Set) Reset() {
	clear(s.list) // drop references into the previous request's body
	s.list = s.list[:0]
	s.arena = s.arena[:0]
}

// AddNumber appends a numeric feature. name must stay valid while s is used.
func (s *Set) AddNumber(name []byte, x float64) {
	s.list = append(s.list, Feature{Name: name, Kind: Number, Num: x})
}

// AddString appends a string feature. name and value must stay valid while s
// is used.
func (s *Set) AddString(name, value []byte) {
	s.list = append(s.list, Feature{Name: name, Kind: String, Str: value})
}

// AddOther appends a feature of another JSON type; typeName (such as
// "object") must stay valid while s is used.
func (s *Set) AddOther(name, typeName []byte) {
	s.list = append(s.list, Feature{Name: name, Kind: Other, Str: typeName})
}

// TypeName is the JSON type of the feature's value, for error messages.
func (f *Feature) TypeName() string {
	if f.Kind == Other {
		return string(f.Str)
	}
	return f.Kind.String()
}

// Len is the number of features.
func (s *Set) Len() int { return len(s.list) }

// At returns the i-th feature. The pointer is valid until the set changes.
func (s *Set) At(i int) *Feature { return &s.list[i] }

// Get returns the last feature named name (a JSON object that repeats a key
// means its last value), or nil. Sets are small, so a linear scan beats a map.
func (s *Set) Get(name string) *Feature {
	for i := len(s.list) - 1; i >= 0; i-- {
		if string(s.list[i].Name) == name {
			return &s.list[i]
		}
	}
	return nil
}

// AppendKey appends the feature's value as text to dst: a string as is, a
// number in its shortest decimal form. Sticky canary keys use it, so that
// "12345" and 12345 pick the same side.
func (f *Feature) AppendKey(dst []byte) []byte {
	if f.Kind == String {
		return append(dst, f.Str...)
	}
	return strconv.AppendFloat(dst, f.Num, 'f', -1, 64)
}

// CopyFrom makes s an owned copy of src: it refers to none of src's bytes.
func (s *Set) CopyFrom(src *Set) {
	s.Reset()
	n := 0
	for i := range src.list {
		n += len(src.list[i].Name) + len(src.list[i].Str)
	}
	if cap(s.arena) < n {
		s.arena = make([]byte, 0, n)
	}
	for i := range src.list {
		f := src.list[i]
		f.Name = s.own(f.Name)
		if f.Kind != Number {
			f.Str = s.own(f.Str)
		}
		s.list = append(s.list, f)
	}
}

// own copies b into the arena, which CopyFrom sized so it never grows: the
// slices handed out earlier stay valid.
func (s *Set) own(b []byte) []byte {
	start := len(s.arena)
	s.arena = append(s.arena, b...)
	return s.arena[start:len(s.arena):len(s.arena)]
}

// Equal reports whether a and b hold the same features in the same order.
func Equal(a, b *Set) bool {
	if len(a.list) != len(b.list) {
		return false
	}
	for i := range a.list {
		x, y := &a.list[i], &b.list[i]
		if !bytes.Equal(x.Name, y.Name) || x.Kind != y.Kind || x.Num != y.Num || !bytes.Equal(x.Str, y.Str) {
			return false
		}
	}
	return true
}
