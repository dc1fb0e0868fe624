package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/remote"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// tcpGateway is a gateway whose public API listens on a loopback TCP port,
// for another gateway to call as its remote target.
type tcpGateway struct {
	g      *gateway.Gateway
	ln     net.Listener
	served chan error
	once   sync.Once
}

// startTCPGateway serves table on addr ("127.0.0.1:0" for any port). An
// address just given up may still be taken for a moment: it retries for a
// bounded time. The gateway stops when the test ends, if stop was not called.
func startTCPGateway(tb testing.TB, table *router.Table, addr string) *tcpGateway {
	tb.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ln, err = net.Listen("tcp", addr); err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		tb.Fatalf("cannot listen on %s: %v", addr, err)
	}
	g, err := newTestGateway(gateway.Config{}, table)
	if err != nil {
		_ = ln.Close()
		tb.Fatal(err)
	}
	s := &tcpGateway{g: g, ln: ln, served: make(chan error, 1)}
	go func() { s.served <- g.Serve(ln, fasthttputil.NewInmemoryListener()) }()
	g.SetReady(true)
	tb.Cleanup(func() { s.stop(tb) })
	return s
}

// stop shuts the gateway down and closes its listener: its port refuses
// connections from then on.
func (s *tcpGateway) stop(tb testing.TB) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.g.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		_ = s.ln.Close()
		if err := <-s.served; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
}

// TestRemoteTargetKilledAndRestarted runs a route whose primary fails every
// batch, with a remote target (another gateway, B, on a real TCP port) and
// a static answer as its fallbacks, through B going down and coming back:
// no client request fails at any point. B serves version 2.0.0, which the
// route's own registry does not have, so an answer from B is told by its
// model_version.
func TestRemoteTargetKilledAndRestarted(t *testing.T) {
	t.Parallel()
	start := time.Now()
	logf := func(format string, args ...any) {
		t.Helper()
		t.Logf("%8s  %s", time.Since(start).Round(time.Millisecond), fmt.Sprintf(format, args...))
	}

	storeB := servingtest.Store(t)
	servingtest.RegisterVersion(t, storeB, "2.0.0")
	tableB := loadTable(t, storeB, batcher.ONNXOpener{Env: servingtest.Env(t)},
		router.RouteConfig{Name: servingtest.Route, Version: "2.0.0"})
	b := startTCPGateway(t, tableB, "127.0.0.1:0")
	addrB := b.ln.Addr().String()
	logf("B serves %s 2.0.0 on %s", servingtest.Route, addrB)

	const route = "churn-remote"
	gates := servingtest.NewGates(t)
	gates.Gate("1.0.0").Fail(errInjected)
	table := loadTable(t, servingtest.Store(t), gates, router.RouteConfig{
		Name: route, Model: servingtest.Route,
		Targets: []router.TargetConfig{
			{
				Name:    "backend",
				Remote:  &remote.Config{URL: "http://" + addrB, Protocol: remote.ProtocolInfergate, Model: servingtest.Route},
				Timeout: 2 * time.Second,
				Breaker: router.BreakerConfig{MinRequests: 5, Cooldown: 200 * time.Millisecond},
			},
			{Name: "static", Static: &router.StaticConfig{Probability: ptr(0.3)}},
		},
		Fallbacks: []string{"backend", "static"},
	})
	releaseGates(t, gates)
	a := serveTable(t, table, gateway.Config{})

	requests := 0
	// ask sends one request to A and returns the target that answered;
	// anything but a 200 fallback answer fails the test.
	ask := func() (target string) {
		t.Helper()
		requests++
		r := a.predict(t, withTenure(route, 24))
		var p prediction
		decode(t, r, &p)
		if r.status != fasthttp.StatusOK || !p.Fallback || (p.Reason != "failed" && p.Reason != "breaker_open") ||
			r.get("X-Infergate-Target") != p.Target || r.get("X-Infergate-Fallback") != p.Reason {
			t.Fatalf("request %d: status %d, headers %v, body %s; want 200, a fallback from the failing primary", requests, r.status, r.header, r.body)
		}
		switch {
		case p.Target == "backend" && p.ModelVersion == "2.0.0" && r.get("X-Infergate-Model-Version") == "2.0.0":
		case p.Target == "static" && p.ModelVersion == "" && *p.Probability == 0.3:
		default:
			t.Fatalf("request %d: body %s; want backend with B's version 2.0.0, or static", requests, r.body)
		}
		return p.Target
	}
	breaker := func() string {
		t.Helper()
		var st routeStatusJSON
		decode(t, do(t, a.admin, fasthttp.MethodGet, "/v1/routes/"+route, ""), &st)
		for _, tg := range st.Targets {
			if tg.Name == "backend" {
				return tg.Breaker.State
			}
		}
		t.Fatalf("GET /v1/routes/%s lists no backend target: %+v", route, st)
		return ""
	}
	// until asks until cond holds for the target that answered, and
	// returns how many answers came from each target meanwhile.
	until := func(what string, cond func(target string) bool) map[string]int {
		t.Helper()
		seen := map[string]int{}
		for deadline := time.Now().Add(30 * time.Second); ; {
			target := ask()
			seen[target]++
			if cond(target) {
				return seen
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30s; answers %v", what, seen)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// 1. B up: the backend answers.
	for i := range 20 {
		if target := ask(); target != "backend" {
			t.Fatalf("B up, request %d: answered by %s, want backend", i, target)
		}
	}
	logf("B up: 20 of 20 requests answered by backend (B's 2.0.0); backend breaker %s", breaker())

	// 2. B down: the static target answers, and the backend's breaker opens.
	b.stop(t)
	logf("B shut down, its listener closed")
	seen := until("the backend's breaker to open", func(target string) bool {
		if target != "static" {
			t.Fatalf("B down: answered by %s, want static", target)
		}
		return breaker() == "open"
	})
	logf("B down: %d requests answered by static; backend breaker open", seen["static"])
	exposition := do(t, a.admin, fasthttp.MethodGet, "/metrics", "").body
	series := `infergate_target_calls_total{route="` + route + `",target="backend",result="unavailable"}`
	if v, ok := metricValue(exposition, series); !ok || v == 0 {
		t.Errorf("%s = %v (found %v): want the backend's failures counted as unavailable", series, v, ok)
	}
	for i := range 10 {
		if target := ask(); target != "static" {
			t.Fatalf("B down, breaker open, request %d: answered by %s, want static", i, target)
		}
	}
	logf("B down, breaker open: 10 of 10 requests answered by static")

	// 3. B back on the same port: once the cooldown has passed, the
	// breaker's probes reach B and the backend answers again.
	startTCPGateway(t, tableB, addrB)
	logf("B restarted on %s", addrB)
	seen = until("the backend to answer again", func(target string) bool { return target == "backend" })
	logf("backend answers again after %d requests from static; breaker %s", seen["static"], breaker())
	seen = until("the backend's breaker to close", func(target string) bool { return breaker() == "closed" })
	logf("backend breaker closed (answers meanwhile: %v)", seen)
	for i := range 20 {
		if target := ask(); target != "backend" {
			t.Fatalf("B back, breaker closed, request %d: answered by %s, want backend", i, target)
		}
	}
	logf("B back: 20 of 20 requests answered by backend; %d requests in all, none failed", requests)
}

// TestRemoteV2ByFeatureNames: a remote target of protocol v2 with inputs:
// features sends the request's features to another gateway's v2 endpoint,
// one input per feature by its name (as KServe and MLServer tabular models
// take them), with the call's remaining time as the timeout parameter; the
// answer is the remote's own: the probability B gives the same features on
// /v1, and B's version.
func TestRemoteV2ByFeatureNames(t *testing.T) {
	t.Parallel()
	storeB := servingtest.Store(t)
	servingtest.RegisterVersion(t, storeB, "2.0.0")
	tableB := loadTable(t, storeB, batcher.ONNXOpener{Env: servingtest.Env(t)}, router.RouteConfig{Name: servingtest.Route, Version: "2.0.0"})
	b := startTCPGateway(t, tableB, "127.0.0.1:0")

	gates := servingtest.NewGates(t)
	gates.Gate("1.0.0").Fail(errInjected)
	table := loadTable(t, servingtest.Store(t), gates, router.RouteConfig{
		Name: "churn-v2", Model: servingtest.Route,
		Breaker: router.BreakerConfig{Disabled: true},
		Targets: []router.TargetConfig{{
			Name:    "kserve-like",
			Remote:  &remote.Config{URL: "http://" + b.ln.Addr().String(), Protocol: remote.ProtocolV2, Inputs: remote.InputsFeatures, Model: servingtest.Route, Output: "probability"},
			Timeout: 2 * time.Second,
		}},
		Fallbacks: []string{"kserve-like"},
	})
	releaseGates(t, gates)
	a := serveTable(t, table, gateway.Config{})
	direct := serveTable(t, tableB, gateway.Config{})
	for _, months := range []int{1, 24, 60} {
		var viaA, fromB prediction
		r := a.predict(t, withTenure("churn-v2", months))
		decode(t, r, &viaA)
		decode(t, direct.predict(t, withTenure(servingtest.Route, months)), &fromB)
		if r.status != 200 || viaA.Target != "kserve-like" || viaA.ModelVersion != "2.0.0" || viaA.Probability == nil || fromB.Probability == nil ||
			float32(*viaA.Probability) != float32(*fromB.Probability) {
			t.Errorf("tenure %d: %d %s; want the remote's answer, B's probability %v", months, r.status, r.body, fromB.Probability)
		}
	}
}
