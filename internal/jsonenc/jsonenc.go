// Package jsonenc appends JSON string literals to byte slices without
// allocating: the gateway's answers, the v2 codec's and a remote target's
// requests are all built with append, and all escape strings this one way.
package jsonenc

import (
	"unicode/utf8"
	"unsafe"
)

// AppendString appends s as a JSON string literal. Bytes that are not valid
// UTF-8 become U+FFFD, so the result is always valid JSON (a percent-decoded
// path, a client's stray byte); <, > and & are escaped as well, so that the
// text is safe to embed in HTML.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size > 1 {
				i += size - 1
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + 1
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendBytes is AppendString for a byte slice, without copying it.
func AppendBytes(b, s []byte) []byte {
	return AppendString(b, unsafe.String(unsafe.SliceData(s), len(s)))
}
