package featurefetch_test

import (
	"bytes"
	"testing"

	"github.com/infergate/infergate/featurefetch"
)

// FuzzParseValue: any bytes Redis may hold in a feature field decode to a
// value or an error, never a panic; a value that decodes encodes back to
// bytes that decode to the same value.
func FuzzParseValue(f *testing.F) {
	for _, seed := range [][]byte{
		{0x20, 0x18}, {0x29, 0x8f, 0xc2, 0xf5, 0x28, 0x5c, 0x7f, 0x56, 0x40}, []byte("\x12\x0emonth-to-month"),
		{0x98, 0x01, 0x00}, {}, {0x5a, 0x02, 0x08, 0x01}, {0xff}, {0x35, 0x00, 0x00, 0xc0, 0x3f}, {0x38, 0x01},
		{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := featurefetch.ParseValue(data)
		if err != nil {
			return
		}
		typ := featurefetch.TypeDouble
		if v.Kind == featurefetch.String {
			typ = featurefetch.TypeString
		}
		b, err := featurefetch.AppendValue(nil, typ, v)
		if err != nil {
			t.Fatalf("%x decoded as %+v, which does not encode: %v", data, v, err)
		}
		w, err := featurefetch.ParseValue(b)
		if err != nil || w.Kind != v.Kind || !bytes.Equal(w.Str, v.Str) || (w.Num != v.Num && w.Num == w.Num) {
			t.Fatalf("%x → %+v → %x → %+v (%v)", data, v, b, w, err)
		}
	})
}

// FuzzParseTimestamp: any bytes in a _ts field decode to a time or an
// error, never a panic.
func FuzzParseTimestamp(f *testing.F) {
	for _, seed := range [][]byte{{0x08, 0x80, 0x82, 0x9a, 0xd7, 0x06}, {}, {0x10, 0x01}, {0x08}, {0x18, 0x01}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if ts, err := featurefetch.ParseTimestamp(data); err == nil && ts.IsZero() && len(data) > 0 {
			t.Fatalf("%x decoded to the zero time", data)
		}
	})
}
