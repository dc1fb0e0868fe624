package gateway_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/internal/testmodels"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
	"github.com/valyala/fasthttp"
)

// ocrRows is one batch of PaddleOCR classifier inputs: rows × 3 × 48 × 192
// values in [0, 1), with one decimal so that the v2 JSON body stays small.
func ocrRows(rows int) []float32 {
	x := make([]float32, rows*3*48*192)
	for i := range x {
		x[i] = float32(i%10) / 10
	}
	return x
}

// BenchmarkOCR serves PaddleOCR's text-direction classifier through v2 JSON
// (decode, route, batcher, ONNX Runtime, encode) and runs the same batches
// directly on an ONNX Runtime session (copy in, run, read the output), one
// request at a time: the ratio of path=gateway to path=direct at each batch
// is what the gateway adds to a real model. bench/README.md has the table.
func BenchmarkOCR(b *testing.B) {
	path := testmodels.Path(b, testmodels.OCRClassifier)
	store, err := registry.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	sig, err := registry.ParseSignatureFile([]byte("inputs: [{name: x, shape: [-1, 3, 48, 192]}]\n"+
		"outputs: [{name: softmax_0.tmp_0, kind: probabilities, labels: [\"0\", \"180\"]}]\n"), "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.Import(registry.ImportRequest{Model: "ocr", Version: "1.0.0", Source: path, Signature: sig, Check: ortChecker(b)}); err != nil {
		b.Fatal(err)
	}
	env := servingtest.Env(b)
	table := loadTable(b, store, batcher.ONNXOpener{Env: env}, router.RouteConfig{Name: "ocr", Batching: batcher.Config{MaxBatchSize: 8}})
	h := benchGatewayWith(b, gateway.Config{MaxBodyBytes: 16 << 20}, table).Handler()
	s, err := env.NewSession(path, runtime.SessionOptions{MaxBatch: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })

	for _, rows := range []int{1, 8} {
		x := ocrRows(rows)
		body, err := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "x", "datatype": "FP32", "shape": []int{rows, 3, 48, 192}, "data": x}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("path=gateway/batch=%d", rows), func(b *testing.B) {
			ctx := directRequest(fasthttp.MethodPost, "/v2/models/ocr/infer", string(body))
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				h(ctx)
				if ctx.Response.StatusCode() != fasthttp.StatusOK {
					b.Fatalf("status %d, body %.300s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
		b.Run(fmt.Sprintf("path=direct/batch=%d", rows), func(b *testing.B) {
			shape := []int64{int64(rows), 3, 48, 192}
			var p float64
			b.ReportAllocs()
			for b.Loop() {
				in, err := s.Input(0, shape)
				if err != nil {
					b.Fatal(err)
				}
				copy(tensor.Float32s(in.Data), x)
				if err := s.Run(); err != nil {
					b.Fatal(err)
				}
				p = s.Output(0).Float64At(0)
			}
			if math.IsNaN(p) {
				b.Fatal("the model answered NaN")
			}
		})
	}
}
