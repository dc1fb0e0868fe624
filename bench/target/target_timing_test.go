package target

import (
	"context"
	"testing"
)

// benchBody is the README's first prediction request, as bench/run.sh
// sends it.
var benchBody = []byte(`{"model_id":"customer-churn","features":{"customer_id":"12345","tenure_months":24,"monthly_charges":89.99,"contract":"month-to-month","support_calls":3}}`)

// benchResponse is the size of a gateway prediction answer.
var benchResponse = []byte(`{"model_id":"customer-churn","prediction":"medium_risk","probability":0.3539355,"model_version":"1.0.0","latency_ms":0.286,"request_id":"7d5d6d1ac75a21040000000000000001","route":"customer-churn"}` + "\n")

// benchmarkHTTP measures the generator's side of one request, with the
// server on the same machine: both share the CPUs, so ns/op is an upper
// bound of the client's own cost.
func benchmarkHTTP(b *testing.B, body BodySource) {
	srv, err := StartFixedServer("127.0.0.1:0", benchResponse)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	h := newHTTP(b, HTTPConfig{URL: "http://" + srv.Addr() + "/v1/predictions", Body: body})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4) // a few requests in flight per CPU, as a load has
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var seq uint64
		for pb.Next() {
			seq++
			if status, err := h.Do(ctx, seq); err != nil || status != 200 {
				b.Errorf("Do = %d, %v", status, err)
				return
			}
		}
	})
}

func BenchmarkHTTPDoFixed(b *testing.B) { benchmarkHTTP(b, Fixed(benchBody)) }

func BenchmarkHTTPDoTemplate(b *testing.B) {
	tmpl, err := Template(`{"model_id":"customer-churn","features":{"customer_id":"{{seq}}","tenure_months":{{rand_int 0 72}},"monthly_charges":{{rand_float 18 120}},"contract":"{{choice month-to-month|one-year|two-year}}","support_calls":{{rand_int 0 9}}}}`)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkHTTP(b, tmpl)
}

func BenchmarkTemplateAppendBody(b *testing.B) {
	tmpl, err := Template(`{"model_id":"customer-churn","features":{"customer_id":"{{seq}}","tenure_months":{{rand_int 0 72}},"monthly_charges":{{rand_float 18 120}},"contract":"{{choice month-to-month|one-year|two-year}}","support_calls":{{rand_int 0 9}}}}`)
	if err != nil {
		b.Fatal(err)
	}
	app := tmpl.(BodyAppender)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 512)
		var seq uint64
		for pb.Next() {
			seq++
			buf = app.AppendBody(buf[:0], seq)
		}
	})
}

// BenchmarkRuntimeDo is the in-process floor: one batch-1 run of a
// 16-feature logistic regression through package runtime, one session per
// CPU.
func BenchmarkRuntimeDo(b *testing.B) {
	r := newRuntime(b, RuntimeConfig{ModelPath: writeLogistic(b, 16)})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var seq uint64
		for pb.Next() {
			seq++
			if status, err := r.Do(ctx, seq); err != nil || status != 200 {
				b.Errorf("Do = %d, %v", status, err)
				return
			}
		}
	})
}
