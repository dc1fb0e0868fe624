package gateway_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/drift/feedback"
	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchGateway is a gateway over the plain serving stack (no gate), with
// the default batching.
func benchGateway(b *testing.B) *gateway.Gateway {
	b.Helper()
	return benchGatewayWith(b, gateway.Config{}, servingtest.Table(b, batcher.Config{}))
}

// benchGatewayWith is a gateway of cfg over table, shut down when the
// benchmark ends.
func benchGatewayWith(b *testing.B, cfg gateway.Config, table *router.Table) *gateway.Gateway {
	b.Helper()
	g, err := newTestGateway(cfg, table)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return g
}

// benchHandler drives h from parallel goroutines, each with its own reused
// RequestCtx, as fasthttp's workers do.
func benchHandler(b *testing.B, h fasthttp.RequestHandler, method, path, body string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer() // setup (a table, a gateway, its feedback log) is not the request path
	b.RunParallel(func(pb *testing.PB) {
		ctx := directRequest(method, path, body)
		for pb.Next() {
			ctx.Response.Reset()
			h(ctx)
			if ctx.Response.StatusCode() != fasthttp.StatusOK {
				b.Errorf("status %d, body %s", ctx.Response.StatusCode(), ctx.Response.Body())
				return
			}
		}
	})
}

var bareBody = []byte(`{"model_id":"customer-churn","prediction":"medium_risk","probability":0.42,"model_version":"1.0.0"}` + "\n")

func bareHandler(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBody(bareBody)
}

// BenchmarkPredict is the whole request path in memory: parse, route,
// encode, batch, ONNX Runtime, answer.
func BenchmarkPredict(b *testing.B) {
	benchHandler(b, benchGateway(b).Handler(), fasthttp.MethodPost, "/v1/predictions", validBody)
}

// BenchmarkPredictCacheHit is the request path answered from the response
// cache: parse, route, encode, key, look up, answer. Its difference from
// BenchmarkBareFastHTTP is what a hit costs over a bare handler.
func BenchmarkPredictCacheHit(b *testing.B) {
	cfg := gateway.Config{Caches: map[string]gateway.CacheConfig{servingtest.Route: {Enabled: true}}}
	g := benchGatewayWith(b, cfg, servingtest.Table(b, batcher.Config{}))
	h := g.Handler()
	warm := directRequest(fasthttp.MethodPost, "/v1/predictions", validBody)
	for deadline := time.Now().Add(10 * time.Second); string(warm.Response.Header.Peek("X-Infergate-Cache")) != "hit"; {
		if time.Now().After(deadline) {
			b.Fatal("the answer never reached the cache")
		}
		warm.Response.Reset()
		h(warm)
	}
	b.ResetTimer()
	benchHandler(b, h, fasthttp.MethodPost, "/v1/predictions", validBody)
}

// BenchmarkBareFastHTTP is a handler that answers a fixed body, in the same
// harness: the floor BenchmarkPredict is measured against.
func BenchmarkBareFastHTTP(b *testing.B) {
	benchHandler(b, bareHandler, fasthttp.MethodPost, "/v1/predictions", validBody)
}

// benchListener serves h on an in-memory listener and posts to it from
// parallel clients: HTTP parsing and writing included.
func benchListener(b *testing.B, h fasthttp.RequestHandler) {
	b.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	c := &fasthttp.HostClient{Addr: "infergate.test", Dial: func(string) (net.Conn, error) { return ln.Dial() }, MaxConns: 1024}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI("http://infergate.test/v1/predictions")
		req.SetBodyString(validBody)
		for pb.Next() {
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
				b.Errorf("status %d, err %v, body %s", resp.StatusCode(), err, resp.Body())
				return
			}
		}
	})
}

func BenchmarkPredictInmemoryListener(b *testing.B) {
	benchListener(b, benchGateway(b).Handler())
}

func BenchmarkBareInmemoryListener(b *testing.B) {
	benchListener(b, bareHandler)
}

// BenchmarkPredictMonitoring is BenchmarkPredict with the route's drift
// monitoring and the feedback log off, and then on at their busiest (every
// answer sampled for drift, every prediction logged for a label): the
// difference is what monitoring costs a request.
func BenchmarkPredictMonitoring(b *testing.B) {
	for _, bc := range []struct {
		name     string
		drift    drift.RouteConfig
		feedback feedback.Config
	}{
		{"off", drift.RouteConfig{Disabled: true}, feedback.Config{Disabled: true}},
		{"drift=all,feedback=on", drift.RouteConfig{MonitorConfig: drift.MonitorConfig{SampleRate: 1}}, feedback.Config{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			table := servingtest.LoadTable(b, router.RouteConfig{Name: servingtest.Route}, batcher.ONNXOpener{Env: servingtest.Env(b)})
			g := benchGatewayWith(b, gateway.Config{Feedback: bc.feedback, Drift: map[string]drift.RouteConfig{servingtest.Route: bc.drift}}, table)
			benchHandler(b, g.Handler(), fasthttp.MethodPost, "/v1/predictions", validBody)
		})
	}
}

// BenchmarkPredictFeatures is the request path of a route with a feature
// view: a request that carries every feature (no lookup), and one that
// carries only customer_id, whose row the local cache holds. The
// difference is what a warm lookup adds to a request.
func BenchmarkPredictFeatures(b *testing.B) {
	const route = "churn-bench-features"
	_, d := servingtest.Demo(b)
	table := servingtest.LoadTable(b, router.RouteConfig{Name: route}, batcher.ONNXOpener{Env: servingtest.Env(b)})
	g := benchGatewayWith(b, gateway.Config{
		Features:      featurefetch.Config{Store: featurefetch.StoreConfig{Snapshot: demoSnapshot(b, d)}, Views: []featurefetch.ViewConfig{demoView()}},
		RouteFeatures: map[string]gateway.RouteFeaturesConfig{route: {View: "customer_stats"}},
	}, table)
	h := g.Handler()
	id := d.Column("customer_id").Strings[0]
	byKey := `{"model_id":"` + route + `","features":{"customer_id":"` + id + `"}}`
	// Warm the cache: ristretto applies a new entry asynchronously, within
	// microseconds.
	h(directRequest(fasthttp.MethodPost, "/v1/predictions", byKey))
	time.Sleep(50 * time.Millisecond)
	b.Run("all-features", func(b *testing.B) {
		benchHandler(b, h, fasthttp.MethodPost, "/v1/predictions", strings.Replace(requestBody(b, d, 0), `"customer-churn"`, `"`+route+`"`, 1))
	})
	b.Run("customer_id-only", func(b *testing.B) {
		benchHandler(b, h, fasthttp.MethodPost, "/v1/predictions", byKey)
	})
}
