package gateway

import "bytes"

var openBrace, openBracket = []byte{'{'}, []byte{'['}

// jsonTooDeep reports whether the JSON text b nests objects and arrays more
// than max levels deep. It looks at brackets outside strings only and does
// not validate: the parser that runs next does. fastjson parses recursively,
// so a body of a million '[' must be refused before it reaches it.
func jsonTooDeep(b []byte, max int) bool {
	// Depth never exceeds the number of opening brackets, which two
	// vectorised counts find faster than the scan below reads the text:
	// most bodies stop here (BenchmarkPredictCacheHit).
	if bytes.Count(b, openBrace)+bytes.Count(b, openBracket) <= max {
		return false
	}
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
