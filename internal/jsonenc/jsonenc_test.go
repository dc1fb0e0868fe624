package jsonenc

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	t.Parallel()
	f := func(in, want string) {
		t.Helper()
		if got := string(AppendString(nil, in)); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
		if got := string(AppendBytes(nil, []byte(in))); got != want {
			t.Errorf("AppendBytes(%q) = %s, want %s", in, got, want)
		}
	}
	f("", `""`)
	f("low_risk", `"low_risk"`)
	f(`a"b\c`, `"a\"b\\c"`)
	f("line\nbreak\ttab\r", `"line\nbreak\ttab\r"`)
	f("\x00\x1f", `"\u0000\u001f"`)
	f("<b>&", `"\u003cb\u003e\u0026"`)
	f("größe €", `"größe €"`)
	f("bad\xffbyte", `"bad\ufffdbyte"`)
	f("/\xff\xfe", `"/\ufffd\ufffd"`)
	f("a\xe2\x82", `"a\ufffd\ufffd"`) // a truncated 3-byte sequence
}

// FuzzAppendString: whatever the input, the output is one valid JSON string
// that decodes to the input with invalid UTF-8 replaced.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\xff\xfe", "<script>", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not valid JSON: %v", s, out, err)
		}
		if want := string([]rune(s)); utf8.ValidString(s) && back != want {
			t.Fatalf("AppendString(%q) decodes to %q", s, back)
		}
	})
}

func TestAppendDoesNotAllocate(t *testing.T) {
	b := make([]byte, 0, 256)
	s := []byte("month-to-month \"quoted\" \xff")
	if n := testing.AllocsPerRun(100, func() { b = AppendBytes(b[:0], s) }); n != 0 {
		t.Fatalf("AppendBytes allocates %v times", n)
	}
}
