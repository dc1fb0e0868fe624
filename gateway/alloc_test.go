package gateway_test

import (
	"testing"

	"github.com/infergate/infergate/gateway"
	"github.com/valyala/fasthttp"
)

// directRequest is a RequestCtx for h built once, the way a custom server
// (or a benchmark) drives a fasthttp handler without a connection.
func directRequest(method, path, body string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.SetBodyString(body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	return ctx
}

// TestPredictDoesNotAllocate guards the request path: in steady state a valid
// prediction, from parsing to the written answer, allocates nothing. Not
// parallel: AllocsPerRun counts every goroutine's allocations.
func TestPredictDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	s := newServer(t, options{})
	h := s.g.Handler()
	f := func(name, body string, headers ...string) {
		t.Helper()
		ctx := directRequest(fasthttp.MethodPost, "/v1/predictions", body)
		for i := 0; i+1 < len(headers); i += 2 {
			ctx.Request.Header.Set(headers[i], headers[i+1])
		}
		run := func() {
			ctx.Response.Reset()
			h(ctx)
			if ctx.Response.StatusCode() != fasthttp.StatusOK {
				t.Fatalf("%s: status %d, body %s", name, ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
		run() // fill the pools
		if allocs := testing.AllocsPerRun(500, run); allocs != 0 {
			t.Errorf("%s: %.2f allocations per request, want 0", name, allocs)
		}
	}
	f("all features", validBody)
	f("optional features absent", without("total_charges"))
	f("with request id and timeout", validBody, "X-Request-Id", "abc-123", "X-Request-Timeout", "2s")
}

// TestCacheHitDoesNotAllocate: an answer from the response cache allocates
// nothing either.
func TestCacheHitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	s := cached(t, gateway.CacheConfig{}, options{})
	predictUntilHit(t, s, validBody)
	h := s.g.Handler()
	ctx := directRequest(fasthttp.MethodPost, "/v1/predictions", validBody)
	run := func() {
		ctx.Response.Reset()
		h(ctx)
		if string(ctx.Response.Header.Peek("X-Infergate-Cache")) != "hit" {
			t.Fatalf("not a hit: status %d, body %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	run()
	if allocs := testing.AllocsPerRun(500, run); allocs != 0 {
		t.Errorf("%.2f allocations per cache hit, want 0", allocs)
	}
}

// TestAuthenticatedPredictDoesNotAllocate: with API keys on, the key check,
// its rate limit and the admission slot allocate nothing either.
func TestAuthenticatedPredictDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	s, _ := securedServer(t)
	h := s.g.Handler()
	ctx := directRequest(fasthttp.MethodPost, "/v1/predictions", validBody)
	ctx.Request.Header.Set("Authorization", "Bearer "+keyBatch)
	run := func() {
		ctx.Response.Reset()
		h(ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusOK {
			t.Fatalf("status %d, body %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	run()
	if allocs := testing.AllocsPerRun(500, run); allocs != 0 {
		t.Errorf("%.2f allocations per authenticated request, want 0", allocs)
	}
}
