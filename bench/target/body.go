package target

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// BodySource gives the body of each request. Implementations are safe for
// concurrent use.
type BodySource interface {
	// Body returns the body of request seq. The caller must not modify the
	// slice, nor retain it after the request is sent.
	Body(seq uint64) []byte
}

// BodyAppender is the optional capability of a BodySource that renders each
// body afresh (Template): it appends the body of request seq to dst and
// returns the extended slice, so that a caller owning a reusable buffer (the
// HTTP target) renders bodies without allocating. The result is what Body
// would return for seq.
type BodyAppender interface {
	AppendBody(dst []byte, seq uint64) []byte
}

// Fixed returns a BodySource whose every body is body. The slice is kept,
// not copied: the caller must not modify it afterwards.
func Fixed(body []byte) BodySource { return fixed(body) }

type fixed []byte

func (f fixed) Body(uint64) []byte { return f }

// bodies cycles through pre-rendered bodies: request seq gets bodies[seq % n].
type bodies [][]byte

func (b bodies) Body(seq uint64) []byte { return b[seq%uint64(len(b))] }

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json writes it; '<', '>' and '&' are kept as they are.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript: escaped like encoding/json.
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendJSONNumber appends the finite float v as a JSON number, in its
// shortest exact form: plain digits for everyday magnitudes, an exponent
// for very large or very small ones (as encoding/json does).
func appendJSONNumber(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		panic("BUG: target: a non-finite number reached the JSON writer")
	}
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

// predictionBody renders {"model_id": modelID, "features": {...}} from
// name/value pairs whose values are already JSON.
type predictionBody struct {
	buf   []byte
	first bool
}

func (p *predictionBody) start(modelID string) {
	p.buf = append(p.buf[:0], `{"model_id":`...)
	p.buf = appendJSONString(p.buf, modelID)
	p.buf = append(p.buf, `,"features":{`...)
	p.first = true
}

// key writes the next feature's name and colon; the caller appends the value.
func (p *predictionBody) key(name string) {
	if !p.first {
		p.buf = append(p.buf, ',')
	}
	p.first = false
	p.buf = appendJSONString(p.buf, name)
	p.buf = append(p.buf, ':')
}

// finish returns a copy of the body, sized to fit.
func (p *predictionBody) finish() []byte {
	p.buf = append(p.buf, "}}"...)
	out := make([]byte, len(p.buf))
	copy(out, p.buf)
	return out
}
