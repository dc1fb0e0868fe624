package router_test

import (
	"maps"
	"math"
	"testing"
	"time"

	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/remote"
	"github.com/valyala/fasthttp"
)

// shadowReport polls route's shadow report until its first target has
// compared or failed n requests, and returns it.
func shadowReport(t *testing.T, route *router.Route, n uint64) *router.ShadowReport {
	t.Helper()
	var rep *router.ShadowReport
	poll(t, "the shadow targets to answer", func() bool {
		rep = route.ShadowReport(0)
		return rep.Targets[0].Requests >= n
	})
	return rep
}

// TestShadowHealthy mirrors requests to the same model as another version:
// every answer agrees.
func TestShadowHealthy(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{
		Name:    "shadowed",
		Targets: []router.TargetConfig{{Name: "shadow", Version: "1.1.0"}},
		Shadow:  &router.ShadowConfig{Targets: []string{"shadow"}},
	}, router.RouteConfig{Name: "plain"})
	route := lookup(t, table, "shadowed")
	d := demoRows(t)
	if rep := lookup(t, table, "plain").ShadowReport(0); rep != nil {
		t.Fatalf("a route without shadows reports %+v", rep)
	}

	const n = 200
	for i := range n {
		if a := d.do(route, ask{row: i, timeout: waitFor}); a.err != nil || a.target() != "primary" || a.res.Fallback {
			t.Fatalf("row %d: target %s %+v, err %v; want the primary", i, a.target(), a.res, a.err)
		}
	}
	rep := shadowReport(t, route, n)
	tr := rep.Targets[0]
	t.Logf("shadow report: mirrored %d, dropped %d; %+v", rep.Mirrored, rep.Dropped, tr)
	if rep.Route != "shadowed" || rep.Window != "since start" || rep.Mirrored != n || rep.Dropped != 0 || len(rep.Targets) != 1 {
		t.Fatalf("report %+v, want %d mirrored, none dropped, one target", rep, n)
	}
	if tr.Target != "shadow" || tr.Requests != n || tr.Compared != n || len(tr.Errors) != 0 || tr.Agreement != 1 {
		t.Fatalf("shadow target %+v, want %d compared, all agreeing, no errors", tr, n)
	}
	if diff := tr.ProbabilityDiff; diff.Max > 1e-6 || diff.Mean > 1e-6 || diff.P99 > 1e-6 {
		t.Fatalf("probability differences %+v between two copies of one model, want about 0", diff)
	}
	if l := tr.LatencyMs; l.Primary.P50 <= 0 || l.Shadow.P50 <= 0 || l.Primary.P99 < l.Primary.P50 || l.Shadow.P99 < l.Shadow.P50 {
		t.Fatalf("latencies %+v, want positive medians and p99s above them", l)
	}

	// A window past the hour kept is the hour.
	if w := route.ShadowReport(2 * time.Hour).Window; w != "1h0m0s" {
		t.Errorf("a two-hour window reports %q, want the hour kept: 1h0m0s", w)
	}
	// The last minute holds everything so far.
	minute := route.ShadowReport(time.Minute)
	if minute.Window != "1m0s" || !minute.Since.Equal(rep.Since) || minute.Mirrored != n {
		t.Fatalf("last minute's report %+v, want window 1m0s since the start %s", minute, rep.Since)
	}
	if m := minute.Targets[0]; m.Requests != tr.Requests || m.Compared != tr.Compared || m.Agreement != tr.Agreement ||
		m.LatencyMs != tr.LatencyMs || m.ProbabilityDiff != tr.ProbabilityDiff {
		t.Fatalf("last minute's figures %+v, want those since start %+v", m, tr)
	}
}

// TestShadowFailing: a failing shadow target shows in the report and leaves
// the clients' answers alone; a second shadow target is still compared.
func TestShadowFailing(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{
		Name: "shadowed",
		Targets: []router.TargetConfig{
			{Name: "broken", Version: "1.1.0", Breaker: router.BreakerConfig{Disabled: true}},
			{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}},
		},
		Shadow: &router.ShadowConfig{Targets: []string{"broken", "static"}},
	}, router.RouteConfig{Name: "plain"})
	route, plain := lookup(t, table, "shadowed"), lookup(t, table, "plain")
	d := demoRows(t)
	gates.Gate("1.1.0").Fail(errInjected)

	const n = 200
	lowRisk, diffSum := 0, 0.0
	for i := range n {
		a := d.do(route, ask{row: i, timeout: waitFor})
		want := d.do(plain, ask{row: i, timeout: waitFor})
		if a.err != nil || a.target() != "primary" || a.res.Fallback || math.Abs(a.res.Probability-want.res.Probability) > 1e-6 || a.res.Label != want.res.Label {
			t.Fatalf("row %d: target %s %+v, err %v; want the primary's %v %s", i, a.target(), a.res, a.err, want.res.Probability, want.res.Label)
		}
		if a.res.Label == "low_risk" {
			lowRisk++
		}
		diffSum += math.Abs(a.res.Probability - 0.1)
	}
	rep := shadowReport(t, route, n)
	poll(t, "the static shadow to answer too", func() bool {
		rep = route.ShadowReport(0)
		return rep.Targets[1].Requests >= n
	})
	broken, static := rep.Targets[0], rep.Targets[1]
	t.Logf("broken: %+v", broken)
	t.Logf("static: %+v", static)
	if want := map[string]uint64{"failed": n}; broken.Requests != n || broken.Compared != 0 || !maps.Equal(broken.Errors, want) {
		t.Fatalf("broken shadow %+v, want errors %v and nothing compared", broken, want)
	}
	// The static shadow answers 0.1, low_risk, to every request.
	if static.Compared != n || len(static.Errors) != 0 || static.Agreement != float64(lowRisk)/n {
		t.Fatalf("static shadow %+v, want %d compared, agreement %v", static, n, float64(lowRisk)/n)
	}
	if mean := diffSum / n; math.Abs(static.ProbabilityDiff.Mean-mean) > 1e-6 {
		t.Fatalf("static shadow's mean probability difference %v, want %v", static.ProbabilityDiff.Mean, mean)
	}
}

// TestShadowDrops holds the only shadow worker on a one-slot queue: further
// mirrored requests are dropped and counted, and the clients do not wait.
func TestShadowDrops(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	route := lookup(t, load(t, store, gates, router.RouteConfig{
		Name:    "shadowed",
		Targets: []router.TargetConfig{{Name: "shadow", Version: "1.1.0"}},
		Shadow:  &router.ShadowConfig{Targets: []string{"shadow"}, Queue: 1, Workers: 1},
	}), "shadowed")
	d := demoRows(t)
	gate := gates.Gate("1.1.0")
	gate.Hold()

	// f sends row i without a deadline and checks that the client is
	// answered by the primary without waiting for the shadow.
	f := func(i int) {
		t.Helper()
		start := time.Now()
		a := d.do(route, ask{row: i})
		if a.err != nil || a.target() != "primary" {
			t.Fatalf("row %d: target %s %+v, err %v", i, a.target(), a.res, a.err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("row %d took %s with the shadow held", i, took)
		}
	}
	f(0)
	poll(t, "the worker to hold the first mirrored request at the gate", func() bool { return gate.Blocked() == 1 })
	const n = 20
	for i := 1; i < n; i++ {
		f(i)
	}
	rep := route.ShadowReport(0)
	if rep.Mirrored != 2 || rep.Dropped != n-2 {
		t.Fatalf("mirrored %d, dropped %d; want 2 (one held, one queued) and %d", rep.Mirrored, rep.Dropped, n-2)
	}
	gate.Release()
	rep = shadowReport(t, route, 2)
	if tr := rep.Targets[0]; tr.Requests != 2 || tr.Compared != 2 || tr.Agreement != 1 {
		t.Fatalf("after release: %+v, want the 2 mirrored requests compared", tr)
	}
}

// TestShadowSample mirrors a quarter of the requests.
func TestShadowSample(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	route := lookup(t, load(t, store, gates, router.RouteConfig{
		Name:    "shadowed",
		Targets: []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: probability(0.2)}}},
		Shadow:  &router.ShadowConfig{Targets: []string{"static"}, Sample: 25},
	}), "shadowed")
	d := demoRows(t)
	const n = 4000
	res := router.Result{Probability: 0.2, Label: "low_risk"}
	for i := range n {
		req := router.AcquireRequest()
		d.fill(req, i)
		route.Mirror(req, &res, time.Millisecond)
		router.ReleaseRequest(req)
	}
	rep := route.ShadowReport(0)
	sampled := rep.Mirrored + rep.Dropped
	t.Logf("sample 25%%: %d of %d mirrored, %d dropped", rep.Mirrored, n, rep.Dropped)
	if math.Abs(float64(sampled)/n-0.25) > 0.035 {
		t.Fatalf("sampled %d of %d, want about a quarter", sampled, n)
	}
	rep = shadowReport(t, route, rep.Mirrored)
	if tr := rep.Targets[0]; tr.Compared != rep.Mirrored || tr.Agreement != 1 || tr.ProbabilityDiff.Max != 0 {
		t.Fatalf("static shadow %+v, want %d compared, all agreeing", tr, rep.Mirrored)
	}
}

// TestShadowCloseDropsTheQueue: closing a table whose shadow hangs drops the
// queued mirrored requests instead of calling the hung target for each: the
// close waits for the calls in flight only.
func TestShadowCloseDropsTheQueue(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := startRemote(t, func(ctx *fasthttp.RequestCtx) { <-release })
	t.Cleanup(func() { close(release) }) // before the server's shutdown
	store, gates := twoVersions(t)
	const timeout = 200 * time.Millisecond
	table, err := router.Load([]router.RouteConfig{{
		Name:  "hung-shadow",
		Model: demo,
		Targets: []router.TargetConfig{{
			Name: "hung", Remote: &remote.Config{URL: srv.url}, Timeout: timeout,
			Breaker: router.BreakerConfig{Disabled: true},
		}},
		Shadow: &router.ShadowConfig{Targets: []string{"hung"}, Queue: 64, Workers: 1},
	}}, store, gates)
	if err != nil {
		t.Fatal(err)
	}
	route := lookup(t, table, "hung-shadow")
	d := demoRows(t)
	for i := range 80 {
		if a := d.do(route, ask{row: i, timeout: time.Second}); a.err != nil {
			t.Fatalf("row %d: %v", i, a.err)
		}
	}
	if rep := route.ShadowReport(0); rep.Mirrored < 60 {
		t.Fatalf("mirrored %d, want the queue (64) nearly full", rep.Mirrored)
	}
	start := time.Now()
	if err := table.Close(); err != nil {
		t.Fatal(err)
	}
	// A queue's worth of calls would take 64 × 200ms; one in flight, 200ms.
	if took := time.Since(start); took > 10*timeout {
		t.Fatalf("Close took %s with a hung shadow, want about one call's timeout (%s)", took, timeout)
	}
}
