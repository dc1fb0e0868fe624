package fieldpath

import (
	"strings"
	"testing"
)

func TestItem(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string
	}{
		{"churn", "routes[churn]"},
		{"a b", "routes[a b]"},
		{"", "routes[3]"},
		{"a\nb", "routes[3]"},
		{"a]", "routes[3]"},
		{" a", "routes[3]"},
		{"\xff", "routes[3]"},
		{"a\u2028b", "routes[3]"},
		{"ünïcode", "routes[ünïcode]"},
	} {
		if got := Item("routes", tc.name, 3); got != tc.want {
			t.Errorf("Item(routes, %q, 3) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a\nb", `a\nb`},
		{"a\r\n\tb\x00", `a\r\n\tb\x00`},
		{"bad \xff byte", `bad \xff byte`},
		{"sep\u2028x", `sep\u2028x`},
		{"ünïcode", "ünïcode"},
	} {
		got := OneLine(tc.in)
		if got != tc.want {
			t.Errorf("OneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.ContainsAny(got, "\n\r") {
			t.Errorf("OneLine(%q) = %q still breaks the line", tc.in, got)
		}
	}
}
