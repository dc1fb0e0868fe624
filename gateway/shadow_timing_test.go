package gateway_test

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// shadowParallelism is the benchmark's goroutines per GOMAXPROCS: enough
// concurrent requests to keep the batcher and both cores busy.
const shadowParallelism = 8

// BenchmarkShadowIsolation measures what a shadow target that hangs or fails
// costs the clients of its route: the same route, through g.Handler(), from
// many goroutines at once, with each of the modes of shadowTable (queue 256):
// no shadow; every request mirrored to a remote that never answers (the
// queue stays full, nearly every copy is dropped); to a model version whose
// batches fail, with its breaker off and on; and, for reference, to a
// healthy model version. It reports the clients' p50 and p99 latency in µs,
// and the share of the copies dropped. Compare the modes of one run, side by
// side: see bench/README.md.
func BenchmarkShadowIsolation(b *testing.B) {
	for _, mode := range []string{shadowNone, shadowHang, shadowFail, shadowFailBreaker, shadowOK} {
		b.Run(mode, func(b *testing.B) {
			const route = "churn-shadow-bench"
			table := shadowTable(b, route, mode, 256)
			g := benchGatewayWith(b, shadowGatewayConfig(), table)
			h := g.Handler()
			body := bodyFor(route)

			// Warm up the pools and the batcher, and fill the hanging
			// shadow's queue: the steady state is what is measured.
			warm := directRequest(fasthttp.MethodPost, "/v1/predictions", body)
			for range 1000 {
				warm.Response.Reset()
				h(warm)
			}
			before := table.Lookup([]byte(route)).ShadowReport(0)

			// One latency slice per goroutine, each large enough for all
			// of b.N, made before the timer starts.
			workers := shadowParallelism * runtime.GOMAXPROCS(0)
			lat := make([][]time.Duration, workers)
			for i := range lat {
				lat[i] = make([]time.Duration, 0, b.N)
			}
			var next atomic.Int64
			b.SetParallelism(shadowParallelism)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				mine := &lat[next.Add(1)-1]
				ctx := directRequest(fasthttp.MethodPost, "/v1/predictions", body)
				for pb.Next() {
					start := time.Now()
					ctx.Response.Reset()
					h(ctx)
					*mine = append(*mine, time.Since(start))
					if ctx.Response.StatusCode() != fasthttp.StatusOK {
						b.Errorf("status %d, body %s", ctx.Response.StatusCode(), ctx.Response.Body())
						return
					}
				}
			})
			b.StopTimer()

			all := slices.Concat(lat...)
			slices.Sort(all)
			quantile := func(q float64) float64 {
				return float64(all[int(q*float64(len(all)-1))]) / float64(time.Microsecond)
			}
			b.ReportMetric(quantile(0.5), "p50-µs")
			b.ReportMetric(quantile(0.99), "p99-µs")
			if after := table.Lookup([]byte(route)).ShadowReport(0); after != nil {
				mirrored, dropped := after.Mirrored-before.Mirrored, after.Dropped-before.Dropped
				if offered := mirrored + dropped; offered > 0 {
					b.ReportMetric(100*float64(dropped)/float64(offered), "dropped-%")
				}
			}
		})
	}
}
