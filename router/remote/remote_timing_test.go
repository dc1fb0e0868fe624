package remote_test

import (
	"testing"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/router/remote"
	"github.com/valyala/fasthttp"
)

// Benchmarks of a call against a loopback remote that answers a canned body:
// the numbers are the client's cost plus fasthttp's server and the loopback
// round trip, with no model behind it. Allocations are counted for the whole
// process, but the server allocates nothing in steady state.

const (
	cannedInfergate = `{"model_id":"churn","prediction":"churn","probability":0.83,"model_version":"1.2.0","latency_ms":0.4,"request_id":"0123456789abcdef","route":"churn","target":"churn"}`
	cannedV2        = `{"model_name":"churn","model_version":"3","outputs":[{"name":"probability","shape":[1,1],"datatype":"FP32","data":[0.83]}]}`
)

func canned(body string) fasthttp.RequestHandler {
	b := []byte(body)
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	}
}

// benchFeatures is a request of the demo model's size: eight features, half
// of them strings.
func benchFeatures() *features.Set {
	var f features.Set
	f.AddString([]byte("customer_id"), []byte("C000001"))
	f.AddNumber([]byte("tenure_months"), 3)
	f.AddNumber([]byte("monthly_charges"), 89.5)
	f.AddNumber([]byte("total_charges"), 268.5)
	f.AddString([]byte("contract"), []byte("month-to-month"))
	f.AddNumber([]byte("support_calls"), 4)
	f.AddString([]byte("payment_method"), []byte("electronic-check"))
	f.AddString([]byte("paperless_billing"), []byte("yes"))
	return &f
}

func BenchmarkPredictFeatures(b *testing.B) {
	s := listen(b, canned(cannedInfergate), false)
	c := newClient(b, remote.Config{URL: s.url, Model: "churn", Headers: map[string]string{"Authorization": "Bearer x"}})
	f := benchFeatures()
	var a remote.Answer
	b.ReportAllocs()
	for b.Loop() {
		if err := c.PredictFeatures(f, deadline(), &a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPredictFeaturesParallel(b *testing.B) {
	s := listen(b, canned(cannedInfergate), false)
	c := newClient(b, remote.Config{URL: s.url, Model: "churn"})
	f := benchFeatures()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var a remote.Answer
		for pb.Next() {
			if err := c.PredictFeatures(f, deadline(), &a); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPredictTensor(b *testing.B) {
	s := listen(b, canned(cannedV2), false)
	c := newClient(b, remote.Config{URL: s.url, Model: "churn", Protocol: remote.ProtocolV2, Output: "probability"})
	row := []float32{0.1, -1.3, 0.27, 1, 0, 0, 1, 0, 0.5, 2.25, -0.75, 1}
	var a remote.Answer
	b.ReportAllocs()
	for b.Loop() {
		if err := c.PredictTensor(row, deadline(), &a); err != nil {
			b.Fatal(err)
		}
	}
}
