package gateway_test

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/remote"
	"github.com/valyala/fasthttp"
)

// hangServer accepts connections, reads what they send and never answers:
// a remote that hangs.
type hangServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newHangServer(tb testing.TB) *hangServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	h := &hangServer{ln: ln}
	h.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
			h.wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
		}
	})
	return h
}

func (h *hangServer) url() string { return "http://" + h.ln.Addr().String() }

// close closes the listener and every connection: calls still waiting fail
// at once, and later ones are refused.
func (h *hangServer) close() {
	_ = h.ln.Close()
	h.mu.Lock()
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// Shadow modes of shadowTable. Every mode but none mirrors every request
// (sample 100%) with 2 workers.
const (
	shadowNone = "none" // no shadow
	// A remote that accepts connections and never answers, with a 200ms
	// timeout: the workers hang, the queue fills, and copies are dropped.
	shadowHang = "hang"
	// A model version (2.0.0) whose every batch fails, breaker off: every
	// copy goes through the batcher and fails.
	shadowFail = "fail"
	// The same with the default breaker, which opens: copies then fail at
	// once, without reaching the batcher.
	shadowFailBreaker = "fail-breaker"
	// A healthy model version (2.0.0): every copy is computed, the
	// reference for what mirroring costs when nothing fails.
	shadowOK = "ok"
)

// shadowTimeout is the hanging shadow target's timeout.
const shadowTimeout = 200 * time.Millisecond

// shadowTable loads route over the demo model 1.0.0 as its primary, with a
// shadow of the given mode and a queue of queue places.
func shadowTable(tb testing.TB, route, mode string, queue int) *router.Table {
	tb.Helper()
	store := servingtest.Store(tb)
	servingtest.RegisterVersion(tb, store, "2.0.0")
	gates := servingtest.NewGates(tb)
	rc := router.RouteConfig{Name: route, Model: servingtest.Route, Version: "1.0.0"}
	var hang *hangServer
	off := router.BreakerConfig{Disabled: true}
	switch mode {
	case shadowNone:
	case shadowHang:
		hang = newHangServer(tb)
		rc.Targets = []router.TargetConfig{{
			Name:    "hang",
			Remote:  &remote.Config{URL: hang.url(), Model: servingtest.Route},
			Timeout: shadowTimeout,
			// Off, so that every copy the queue takes hangs.
			Breaker: off,
		}}
	case shadowFail, shadowFailBreaker:
		gates.Gate("2.0.0").Fail(errInjected)
		rc.Targets = []router.TargetConfig{{Name: "fail", Version: "2.0.0"}}
		if mode == shadowFail {
			rc.Targets[0].Breaker = off
		}
	case shadowOK:
		rc.Targets = []router.TargetConfig{{Name: "ok", Version: "2.0.0", Breaker: off}}
	default:
		tb.Fatalf("BUG: unknown shadow mode %q", mode)
	}
	if len(rc.Targets) > 0 {
		rc.Shadow = &router.ShadowConfig{Targets: []string{rc.Targets[0].Name}, Sample: 100, Queue: queue, Workers: 2}
	}
	table := loadTable(tb, store, gates, rc)
	if hang != nil {
		// Closed before the table drains its shadow queue, so that the
		// queued calls fail at once rather than time out one by one.
		tb.Cleanup(hang.close)
	}
	return table
}

// TestShadowIsolation: a shadow target that hangs or fails changes nothing
// for the clients (every answer is the primary's, 200), and the shadow
// report counts what happened to the copies: their errors, and those the
// full queue dropped.
func TestShadowIsolation(t *testing.T) {
	t.Parallel()
	f := func(mode, wantError string, wantDrops bool) {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			route := "churn-shadow-" + mode
			// A queue of 16 and 2 workers that hang 200ms per copy: a
			// burst of 200 overflows it.
			s := serveTable(t, shadowTable(t, route, mode, 16), shadowGatewayConfig())
			const n = 200
			for i, r := range burst(t, s.public, n, 16, func(i int) string { return withTenure(route, i%72) }) {
				var p prediction
				decode(t, r, &p)
				if r.status != fasthttp.StatusOK || p.Target != "primary" || p.ModelVersion != "1.0.0" || p.Fallback ||
					r.get("X-Infergate-Target") != "primary" {
					t.Fatalf("request %d: status %d, body %s; want 200 from the primary", i, r.status, r.body)
				}
			}
			var rep router.ShadowReport
			waitFor(t, "the shadow workers to finish the queued copies", func() bool {
				decode(t, do(t, s.admin, fasthttp.MethodGet, "/v1/routes/"+route+"/shadow", ""), &rep)
				return len(rep.Targets) == 1 && rep.Targets[0].Requests == rep.Mirrored
			})
			c := rep.Targets[0]
			t.Logf("mirrored %d, dropped %d, shadow errors %v", rep.Mirrored, rep.Dropped, c.Errors)
			if rep.Mirrored+rep.Dropped != n {
				t.Errorf("mirrored %d + dropped %d, want every one of the %d requests offered", rep.Mirrored, rep.Dropped, n)
			}
			if wantDrops && rep.Dropped == 0 {
				t.Errorf("no copy dropped: the queue of 16 should have overflowed")
			}
			if len(c.Errors) != 1 || c.Errors[wantError] != c.Requests || c.Requests == 0 || c.Compared != 0 {
				t.Errorf("shadow target %+v: want every copy failed with %s", c, wantError)
			}
		})
	}
	f(shadowHang, "timeout", true)
	f(shadowFail, "failed", false)
}

// shadowGatewayConfig is the gateway config of the shadow tests: the default
// request timeout, so that a copy's budget is the one production has.
func shadowGatewayConfig() gateway.Config {
	return gateway.Config{Timeout: time.Second, MaxTimeout: 10 * time.Second}
}
