package fieldpath

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Item returns list[name] when name can stand in a one-line path, else
// list[i].
func Item(list, name string, i int) string {
	if Plain(name) {
		return list + "[" + name + "]"
	}
	return list + "[" + strconv.Itoa(i) + "]"
}

// Plain reports whether name can stand between the brackets of a path: it
// is not empty, is valid UTF-8 and holds no control character (a line
// break would split one problem over two lines), bracket or space at
// either end (which a reader could not see).
func Plain(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		!strings.ContainsFunc(name, func(r rune) bool {
			return unicode.IsControl(r) || r == '[' || r == ']' || r == '\u2028' || r == '\u2029'
		}) &&
		strings.TrimSpace(name) == name
}

// OneLine returns s with its control characters escaped as Go writes them in
// quoted strings (\n, \t, \x00), so that a message quoting any input stays
// on one line.
func OneLine(s string) string {
	if !strings.ContainsFunc(s, needsEscape) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[0])|0x100, 16)[1:])
		case needsEscape(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
