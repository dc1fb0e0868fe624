package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// panicsTotal sums infergate_http_panics_total over every registered
// gateway: only this test makes one panic.
func panicsTotal(tb testing.TB, s *server) float64 {
	tb.Helper()
	r := do(tb, s.admin, fasthttp.MethodGet, "/metrics", "")
	sum := 0.0
	for line := range strings.Lines(string(r.body)) {
		if rest, ok := strings.CutPrefix(line, "infergate_http_panics_total "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err != nil {
				tb.Fatalf("cannot parse %q: %v", line, err)
			}
			sum += v
		}
	}
	return sum
}

// TestPanicBecomes500: a panic in a handler is answered with a 500 JSON
// error, counted, and the server goes on serving the same connection.
func TestPanicBecomes500(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	boom := func(ctx *fasthttp.RequestCtx) {
		// Half-written work that must not leak into the error answer.
		ctx.Response.Header.Set("X-Infergate-Route", "half-done")
		ctx.Response.Header.Set("X-Request-Id", "req-boom")
		ctx.SetBodyString(`{"model_id":"half`)
		panic("boom")
	}
	h := s.g.Recovering(func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/boom" {
			boom(ctx)
			return
		}
		s.g.Handler()(ctx)
	})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	c := client(ln)
	c.MaxConns = 1 // the same connection serves the requests after the panic

	before := panicsTotal(t, s)
	for range 2 {
		r := do(t, c, fasthttp.MethodPost, "/boom", validBody)
		wantError(t, r, fasthttp.StatusInternalServerError, "internal", "")
		if got := r.get("X-Request-Id"); got != "req-boom" {
			t.Errorf("X-Request-Id %q, want the id the log line carries", got)
		}
		if got := r.get("X-Infergate-Route"); got != "" {
			t.Errorf("X-Infergate-Route %q on the error answer", got)
		}
		if r := do(t, c, fasthttp.MethodPost, "/v1/predictions", validBody); r.status != fasthttp.StatusOK {
			t.Fatalf("after a panic: status %d, body %s", r.status, r.body)
		}
	}
	if got := panicsTotal(t, s) - before; got != 2 {
		t.Errorf("infergate_http_panics_total grew by %v, want 2", got)
	}
}
