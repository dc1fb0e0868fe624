package gateway

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"
)

// Compressed request bodies (Content-Encoding: gzip or deflate, as
// tritonclient's request_compression_algorithm sends them: deflate is the
// zlib format) are inflated before the codecs see them, bounded by the
// same server.max_body_bytes as a plain body, so that a small body that
// inflates without end (a zip bomb) gets 413 and costs no more memory than
// a plain body could. Responses are compressed when the client accepts it
// (fasthttp's CompressHandler on the public listener).

// inflated is a request's decompressed body, pooled.
type inflated struct{ b []byte }

var inflatedPool sync.Pool

// maxPooledInflated is the largest buffer the pool keeps.
const maxPooledInflated = 1 << 20

func (in *inflated) release() {
	if cap(in.b) <= maxPooledInflated {
		in.b = in.b[:0]
		inflatedPool.Put(in)
	}
}

var (
	gzipReaders sync.Pool // *gzip.Reader
	zlibReaders sync.Pool // io.ReadCloser that is a zlib.Resetter
)

// errTooLarge: the body inflates beyond the limit.
var errTooLarge = errors.New("too large")

// requestBody returns the request's body, inflated when its Content-Encoding
// is gzip or deflate: then held by the returned *inflated until its
// release (nil for a plain body, which the request holds). A failure is
// answered in protocol p's shape, and ok is false.
func (g *Gateway) requestBody(ctx *fasthttp.RequestCtx, p protocol) (body []byte, held *inflated, ok bool) {
	enc := ctx.Request.Header.ContentEncoding()
	if len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")) {
		return ctx.PostBody(), nil, true
	}
	var gz bool
	switch {
	case bytes.EqualFold(enc, []byte("gzip")), bytes.EqualFold(enc, []byte("x-gzip")):
		gz = true
	case bytes.EqualFold(enc, []byte("deflate")):
	default:
		g.fail(ctx, p, fasthttp.StatusUnsupportedMediaType, codeUnsupportedEncoding,
			"Content-Encoding "+strconv.Quote(string(enc))+" is not supported; send the body plain, gzip or deflate (zlib)")
		return nil, nil, false
	}
	held, _ = inflatedPool.Get().(*inflated)
	if held == nil {
		held = new(inflated)
	}
	var err error
	held.b, err = inflate(held.b[:0], ctx.PostBody(), gz, g.cfg.MaxBodyBytes)
	switch {
	case errors.Is(err, errTooLarge):
		held.release()
		g.fail(ctx, p, fasthttp.StatusRequestEntityTooLarge, codeBodyTooLarge,
			"request body inflates to more than server.max_body_bytes ("+strconv.Itoa(g.cfg.MaxBodyBytes)+" bytes); send fewer or smaller rows")
		return nil, nil, false
	case err != nil:
		held.release()
		g.fail(ctx, p, fasthttp.StatusBadRequest, codeInvalidField,
			"request body is not valid "+string(enc)+" data ("+err.Error()+"); compress the whole body, or drop the Content-Encoding header")
		return nil, nil, false
	}
	return held.b, held, true
}

// inflate appends src, gzip or zlib data, inflated to dst, reading at most
// limit bytes of output (errTooLarge beyond).
func inflate(dst, src []byte, gz bool, limit int) ([]byte, error) {
	var r io.Reader
	if gz {
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		if zr == nil {
			zr = new(gzip.Reader)
		}
		if err := zr.Reset(bytes.NewReader(src)); err != nil {
			return dst, err
		}
		defer gzipReaders.Put(zr)
		r = zr
	} else {
		zr, _ := zlibReaders.Get().(io.ReadCloser)
		if zr == nil {
			var err error
			if zr, err = zlib.NewReader(bytes.NewReader(src)); err != nil {
				return dst, err
			}
		} else if err := zr.(zlib.Resetter).Reset(bytes.NewReader(src), nil); err != nil {
			return dst, err
		}
		defer zlibReaders.Put(zr)
		r = zr
	}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := dst[len(dst):cap(dst)]
		if len(dst)+len(room) > limit+1 {
			room = room[:limit+1-len(dst)]
		}
		n, err := r.Read(room)
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return dst, errTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
