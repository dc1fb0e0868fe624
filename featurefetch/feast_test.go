package featurefetch_test

import (
	"encoding/hex"
	"math"
	"testing"
	"time"

	"github.com/infergate/infergate/featurefetch"
)

// The worked example: project "churn", join key customer_id = "C000001"
// (string), view customer_stats with tenure_months int64 24 and
// monthly_charges double 89.99, event time 2026-11-01T00:00:00Z. The
// expected bytes were derived from Feast's sources (key_encoding_utils.py,
// helpers.py, Value.proto) and checked against MurmurHash3's published
// test vectors, independently of this package.
func TestFeastLayoutWorkedExample(t *testing.T) {
	t.Parallel()
	hexOf := func(b []byte) string { return hex.EncodeToString(b) }
	key := func(version int, k featurefetch.JoinKey) string {
		t.Helper()
		b, err := featurefetch.AppendRedisKey(nil, version, []featurefetch.JoinKey{k}, "churn")
		if err != nil {
			t.Fatal(err)
		}
		return hexOf(b)
	}
	customer := featurefetch.JoinKey{Name: "customer_id", Type: featurefetch.TypeString, Str: []byte("C000001")}
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	f(key(3, customer), "01000000"+"02000000"+"0b000000"+"637573746f6d65725f6964"+"02000000"+"07000000"+"43303030303031"+"636875726e")
	f(key(2, customer), "02000000"+"637573746f6d65725f6964"+"02000000"+"07000000"+"43303030303031"+"636875726e")
	f(key(3, featurefetch.JoinKey{Name: "customer_id", Type: featurefetch.TypeInt64, Int: 1001}),
		"01000000"+"02000000"+"0b000000"+"637573746f6d65725f6964"+"04000000"+"08000000"+"e903000000000000"+"636875726e")

	tenure, monthly := featurefetch.FieldName("customer_stats", "tenure_months"), featurefetch.FieldName("customer_stats", "monthly_charges")
	f(hexOf(tenure[:]), "01cf5482")
	f(hexOf(monthly[:]), "6321fee7")
	f(hexOf([]byte(featurefetch.TimestampField("customer_stats"))), "5f74733a637573746f6d65725f7374617473")

	v, err := featurefetch.AppendValue(nil, featurefetch.TypeInt64, featurefetch.Value{Kind: featurefetch.Number, Num: 24})
	f(hexOf(v), "2018")
	d, err2 := featurefetch.AppendValue(nil, featurefetch.TypeDouble, featurefetch.Value{Kind: featurefetch.Number, Num: 89.99})
	f(hexOf(d), "298fc2f5285c7f5640")
	ts := featurefetch.AppendTimestamp(nil, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	f(hexOf(ts), "0880829ad706")
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
}

// TestJoinKeysSorted: several join keys are serialized sorted by name,
// names first, then values.
func TestJoinKeysSorted(t *testing.T) {
	t.Parallel()
	keys := []featurefetch.JoinKey{
		{Name: "store", Type: featurefetch.TypeInt32, Int: -1},
		{Name: "driver", Type: featurefetch.TypeString, Str: []byte("d1")},
	}
	b, err := featurefetch.AppendRedisKey(nil, 3, keys, "p")
	if err != nil {
		t.Fatal(err)
	}
	want := "02000000" + "02000000" + "06000000" + hex.EncodeToString([]byte("driver")) + "02000000" + "05000000" + hex.EncodeToString([]byte("store")) +
		"02000000" + "02000000" + hex.EncodeToString([]byte("d1")) + "03000000" + "04000000" + "ffffffff" + "70"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := featurefetch.AppendRedisKey(nil, 3, []featurefetch.JoinKey{{Name: "x", Type: featurefetch.TypeDouble}}, "p"); err == nil {
		t.Error("a double join key was serialized")
	}
	if _, err := featurefetch.AppendRedisKey(nil, 1, keys, "p"); err == nil {
		t.Error("version 1 was accepted")
	}
}

// TestValueRoundTrip: every scalar type reads back as written; a
// serialized value of another program (hand-made bytes) reads as Feast
// means it.
func TestValueRoundTrip(t *testing.T) {
	t.Parallel()
	num := func(x float64) featurefetch.Value { return featurefetch.Value{Kind: featurefetch.Number, Num: x} }
	str := func(s string) featurefetch.Value {
		return featurefetch.Value{Kind: featurefetch.String, Str: []byte(s)}
	}
	for _, c := range []struct {
		t featurefetch.ValueType
		v featurefetch.Value
	}{
		{featurefetch.TypeInt32, num(-7)}, {featurefetch.TypeInt32, num(math.MaxInt32)}, {featurefetch.TypeInt64, num(-1 << 40)},
		{featurefetch.TypeDouble, num(-0.125)}, {featurefetch.TypeFloat, num(1.5)}, {featurefetch.TypeBool, num(1)}, {featurefetch.TypeBool, num(0)},
		{featurefetch.TypeUnixTimestamp, num(1793491200)}, {featurefetch.TypeString, str("month-to-month")}, {featurefetch.TypeString, str("")},
		{featurefetch.TypeBytes, str("\x00\xff")}, {featurefetch.TypeInt64, featurefetch.Value{}},
	} {
		b, err := featurefetch.AppendValue(nil, c.t, c.v)
		if err != nil {
			t.Fatalf("%s %+v: %v", c.t, c.v, err)
		}
		got, err := featurefetch.ParseValue(b)
		if err != nil || got.Kind != c.v.Kind || got.Num != c.v.Num || string(got.Str) != string(c.v.Str) {
			t.Errorf("%s %+v: bytes %x read back as %+v (%v)", c.t, c.v, b, got, err)
		}
	}
	for _, bad := range []struct {
		t featurefetch.ValueType
		v featurefetch.Value
	}{
		{featurefetch.TypeInt64, num(1.5)}, {featurefetch.TypeInt32, num(1 << 40)}, {featurefetch.TypeBool, num(2)},
		{featurefetch.TypeInt64, str("x")}, {featurefetch.TypeString, num(1)}, {featurefetch.TypeInt64, num(math.NaN())},
	} {
		if b, err := featurefetch.AppendValue(nil, bad.t, bad.v); err == nil {
			t.Errorf("%s %+v encoded as %x", bad.t, bad.v, b)
		}
	}
	// null_val (field 19) and an empty Value are missing; a list is refused.
	for _, c := range []struct {
		hex  string
		kind featurefetch.Kind
		ok   bool
	}{{"9801 00", featurefetch.Missing, true}, {"", featurefetch.Missing, true}, {"5a 02 0801", 0, false}, {"ff", 0, false}, {"2a 05 6869", 0, false}} {
		data, _ := hex.DecodeString(stripSpaces(c.hex))
		v, err := featurefetch.ParseValue(data)
		if (err == nil) != c.ok || (c.ok && v.Kind != c.kind) {
			t.Errorf("%s: %+v, %v", c.hex, v, err)
		}
	}
}

func stripSpaces(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

func TestTimestampRoundTrip(t *testing.T) {
	t.Parallel()
	for _, ts := range []time.Time{time.Unix(0, 0), time.Date(2026, 11, 1, 12, 30, 5, 123456000, time.UTC), time.Unix(1, 999999999)} {
		got, err := featurefetch.ParseTimestamp(featurefetch.AppendTimestamp(nil, ts))
		if err != nil || !got.Equal(ts) {
			t.Errorf("%s read back as %s (%v)", ts, got, err)
		}
	}
	if _, err := featurefetch.ParseTimestamp([]byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x0f}); err == nil {
		t.Error("nanoseconds out of range were accepted")
	}
}
