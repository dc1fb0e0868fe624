package gateway_test

import (
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/valyala/fasthttp"
)

// BenchmarkV2Encodings is one 3-row v2 request to the demo route in memory,
// as JSON and as the binary tensor extension (inputs and outputs binary):
// what each codec costs on a small tabular request (bench/README.md has
// the OCR classifier's large one over HTTP).
func BenchmarkV2Encodings(b *testing.B) {
	_, d := servingtest.Demo(b)
	h := benchGatewayWith(b, gateway.Config{}, servingtest.Table(b, batcher.Config{})).Handler()
	path := "/v2/models/" + servingtest.Route + "/infer"
	js := v2Infer(b, d, 0, 1, 2)
	bin, headers := toBinary(b, js, true)
	for _, tc := range []struct {
		name, body string
		headers    []string
	}{{"json", js, nil}, {"binary", bin, headers}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var req fasthttp.Request
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetRequestURI(path)
			for i := 0; i+1 < len(tc.headers); i += 2 {
				req.Header.Set(tc.headers[i], tc.headers[i+1])
			}
			req.SetBodyString(tc.body)
			ctx := new(fasthttp.RequestCtx)
			ctx.Init(&req, nil, nil)
			for b.Loop() {
				ctx.Response.Reset()
				h(ctx)
				if ctx.Response.StatusCode() != fasthttp.StatusOK {
					b.Fatalf("status %d, body %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
}
