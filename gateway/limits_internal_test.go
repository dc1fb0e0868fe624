package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONTooDeep(t *testing.T) {
	t.Parallel()
	f := func(body string, max int, want bool) {
		t.Helper()
		if got := jsonTooDeep([]byte(body), max); got != want {
			t.Errorf("jsonTooDeep(%q, %d) = %v, want %v", body, max, got, want)
		}
	}
	f(`{}`, 1, false)
	f(`{"a":{}}`, 1, true)
	f(`{"a":{}}`, 2, false)
	f(`[[[1]]]`, 3, false)
	f(`[[[1]]]`, 2, true)
	f(`{"a":"[[[[[[{{{{"}`, 1, false)     // brackets in strings do not count
	f(`{"a":"\"[[[[","b":[1]}`, 2, false) // nor after an escaped quote
	f(`{"a":"\\","b":[[1]]}`, 2, true)    // an escaped backslash ends before the quote
	f(strings.Repeat("[", 100000), 32, true)
	f(`{"x":1}{"y":{}}`, 1, true) // two values in a row: the parser refuses them anyway
}

// FuzzJSONTooDeep compares the scan with encoding/json's view of the depth
// of every valid JSON text.
func FuzzJSONTooDeep(f *testing.F) {
	for _, s := range []string{`{}`, `[[1],[2,[3]]]`, `{"a":"[{"}`, `{"a":"\"","b":{"c":[]}}`, `"x"`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) != nil {
			jsonTooDeep(b, 8) // must not panic on anything
			return
		}
		d := depthOf(v)
		for max := 0; max <= d+1; max++ {
			if got, want := jsonTooDeep(b, max), d > max; got != want {
				t.Fatalf("jsonTooDeep(%q, %d) = %v; the text nests %d deep", b, max, got, d)
			}
		}
	})
}

func depthOf(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
		return d + 1
	case []any:
		for _, e := range v {
			d = max(d, depthOf(e))
		}
		return d + 1
	}
	return 0
}
