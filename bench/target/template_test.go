package target

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestTemplateFixedParts(t *testing.T) {
	t.Parallel()
	f := func(tmpl string, seq uint64, want string) {
		t.Helper()
		src, err := Template(tmpl)
		if err != nil {
			t.Fatalf("Template(%q): %s", tmpl, err)
		}
		if got := string(src.Body(seq)); got != want {
			t.Errorf("Template(%q).Body(%d) = %q, want %q", tmpl, seq, got, want)
		}
	}
	f("", 7, "")
	f("plain", 7, "plain")
	f("{{seq}}", 0, "0")
	f("{{seq}}", 18446744073709551615, "18446744073709551615")
	f(`{"id":{{ seq }},"x":{"y":1}}`, 42, `{"id":42,"x":{"y":1}}`)
	f("a}}b{{seq}}}}", 3, "a}}b3}}")
	f("{{rand_int 5 5}}|{{rand_float 2.5 2.5}}|{{choice only}}", 9, "5|2.50|only")
	f("{{choice  a b |a b  }}", 1, "a b") // items are trimmed
}

func TestTemplateRandom(t *testing.T) {
	t.Parallel()
	const tmpl = `{"seq":{{seq}},"i":{{rand_int -3 3}},"f":{{rand_float 0 1}},"g":{{rand_float -1.5 2.125}},"c":"{{choice month-to-month|one-year|two-year}}","j":{{rand_int -3 3}}}`
	src, err := Template(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Template(tmpl)
	ints, choices := map[int64]int{}, map[string]int{}
	sameIJ := 0
	const n = 3000
	for seq := range uint64(n) {
		body := src.Body(seq)
		if b := again.Body(seq); !bytes.Equal(body, b) {
			t.Fatalf("seq %d: two renderings differ: %s vs %s", seq, body, b)
		}
		if b := src.(BodyAppender).AppendBody([]byte("prefix"), seq); string(b) != "prefix"+string(body) {
			t.Fatalf("seq %d: AppendBody = %s, want prefix%s", seq, b, body)
		}
		var v struct {
			Seq  uint64
			I, J int64
			F, G json64
			C    string
		}
		decodeInto(t, body, &v)
		if v.Seq != seq {
			t.Errorf("seq %d: {{seq}} = %d", seq, v.Seq)
		}
		if v.I < -3 || v.I > 3 {
			t.Errorf("seq %d: rand_int -3 3 = %d", seq, v.I)
		}
		if v.I == v.J {
			sameIJ++
		}
		ints[v.I]++
		if v.F.v < 0 || v.F.v > 1 || v.F.decimals != 2 {
			t.Errorf("seq %d: rand_float 0 1 = %s, want [0, 1] with 2 decimals", seq, v.F.raw)
		}
		if v.G.v < -1.5 || v.G.v > 2.125 || v.G.decimals != 3 {
			t.Errorf("seq %d: rand_float -1.5 2.125 = %s, want [-1.5, 2.125] with 3 decimals", seq, v.G.raw)
		}
		choices[v.C]++
	}
	// Uniform: every value shows up about as often as it should.
	for k := int64(-3); k <= 3; k++ {
		if c := ints[k]; math.Abs(float64(c)-n/7.0) > n/7.0*0.25 {
			t.Errorf("rand_int -3 3 gave %d %d times in %d, want about %d", k, c, n, n/7)
		}
	}
	for _, c := range []string{"month-to-month", "one-year", "two-year"} {
		if k := choices[c]; math.Abs(float64(k)-n/3.0) > n/3.0*0.15 {
			t.Errorf("choice gave %q %d times in %d, want about %d", c, k, n, n/3)
		}
	}
	if len(choices) != 3 {
		t.Errorf("choice gave %v, want only the three items", choices)
	}
	// Two placeholders of the same kind are independent streams.
	if sameIJ > n/7*2 {
		t.Errorf("the two rand_int placeholders agree %d times in %d: not independent", sameIJ, n)
	}
}

func TestTemplateFullIntRange(t *testing.T) {
	t.Parallel()
	src, err := Template("{{rand_int -9223372036854775808 9223372036854775807}}")
	if err != nil {
		t.Fatal(err)
	}
	for seq := range uint64(100) {
		if _, err := strconv.ParseInt(string(src.Body(seq)), 10, 64); err != nil {
			t.Fatalf("seq %d: %s", seq, err)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	f := func(tmpl string, want ...string) {
		t.Helper()
		_, err := Template(tmpl)
		if err == nil {
			t.Errorf("Template(%q): no error, want %q", tmpl, want)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Template(%q): error %q does not contain %q", tmpl, err, w)
			}
		}
	}
	f(`{"a":{{seq`, "template:1:6: {{ is not closed by }}")
	f("{\n  \"a\": {{nope 1}}", `template:2:8: {{nope 1}}: unknown placeholder "nope"`, "{{rand_int A B}}")
	f("{{}}", "template:1:1: {{}}: empty placeholder")
	f("{{seq 1}}", "seq takes no arguments")
	f("{{rand_int 1}}", "rand_int takes two arguments A B, got 1")
	f("{{rand_int 1 2 3}}", "got 3")
	f("{{rand_int 5 1}}", "the lower bound is above the upper one")
	f("{{rand_int 1.5 2}}", "rand_int needs two integers")
	f("{{rand_float 0 x}}", "rand_float needs two numbers")
	f("{{rand_float 2 1}}", "the lower bound is above the upper one")
	f("{{rand_float -1e308 1e308}}", "must be finite")
	f("{{rand_float 0 NaN}}", "must be finite")
	f("{{choice}}", "choice needs items")
	f("{{choice a||b}}", "choice item 2 is empty")
	f("ok {{seq}} then {{SEQ}}", "template:1:17:", `unknown placeholder "SEQ"`)
}

// json64 is a JSON number kept with its text, to check the decimals.
type json64 struct {
	raw      string
	v        float64
	decimals int
}

func (j *json64) UnmarshalJSON(b []byte) error {
	j.raw = string(b)
	j.decimals = decimals(j.raw)
	var err error
	j.v, err = strconv.ParseFloat(j.raw, 64)
	return err
}

// FuzzTemplate checks that parsing never panics and that a parsed
// template renders the same through Body and AppendBody.
func FuzzTemplate(f *testing.F) {
	f.Add(`{"a":{{seq}},"b":{{rand_int -5 5}},"c":{{rand_float 0 1e3}},"d":"{{choice x|y}}"}`, uint64(1))
	f.Add("{{rand_int -9223372036854775808 9223372036854775807}}", uint64(0))
	f.Add("{{rand_float 1e-300 1e300}}{{", uint64(3))
	f.Add("}}{{{{seq}}}}", uint64(1<<63))
	f.Fuzz(func(t *testing.T, tmpl string, seq uint64) {
		src, err := Template(tmpl)
		if err != nil {
			return
		}
		a := src.Body(seq)
		b := src.(BodyAppender).AppendBody(nil, seq)
		if !bytes.Equal(a, b) {
			t.Fatalf("Body %q != AppendBody %q", a, b)
		}
	})
}
