package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// A generated request id is a per-process random prefix and a counter, in
// hex: unique across restarts without a syscall per request.
const (
	requestIDPrefixLen = 8
	requestIDLen       = 2*requestIDPrefixLen + 16
	maxClientIDLen     = 128
)

var (
	requestIDPrefix  [2 * requestIDPrefixLen]byte
	requestIDCounter atomic.Uint64
)

func init() {
	var p [requestIDPrefixLen]byte
	_, _ = rand.Read(p[:]) // never fails on supported platforms (crypto/rand docs)
	hex.Encode(requestIDPrefix[:], p[:])
}

// setRequestID echoes the client's X-Request-Id when it is a usable id, else
// generates one into buf; either way the response carries it and it is
// returned.
func setRequestID(ctx *fasthttp.RequestCtx, buf []byte) []byte {
	id := ctx.Request.Header.Peek(headerRequestID)
	if !validRequestID(id) {
		id = appendNewRequestID(buf)
	}
	ctx.Response.Header.SetBytesV(headerRequestID, id)
	return id
}

func appendNewRequestID(b []byte) []byte {
	b = append(b, requestIDPrefix[:]...)
	n := requestIDCounter.Add(1)
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(n>>uint(shift))&0xf])
	}
	return b
}

// validRequestID accepts ids a log line or a JSON string can carry unescaped:
// printable ASCII without quotes or backslashes, at most 128 bytes.
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > maxClientIDLen {
		return false
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
