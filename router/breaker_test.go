package router_test

import (
	"testing"
	"time"

	"github.com/infergate/infergate/router"
)

// TestBreaker hangs the primary: the first requests each wait for their
// share of the deadline before static answers, then the breaker opens and
// static answers at once; once the primary is back, half-open probes close
// the breaker again after the cooldown.
func TestBreaker(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	const (
		minRequests = 5
		cooldown    = 300 * time.Millisecond
		deadline    = 100 * time.Millisecond
	)
	table := load(t, store, gates, router.RouteConfig{
		Name: "breaker",
		Breaker: router.BreakerConfig{FailureRatio: 0.5, MinRequests: minRequests, Window: time.Minute,
			Cooldown: cooldown, Probes: 2},
		Targets:   []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}}},
		Fallbacks: []string{"static"},
	})
	route := lookup(t, table, "breaker")
	d := demoRows(t)
	gate := gates.Gate("1.0.0")
	gate.Hold()

	// Before: each request times out on the primary.
	var before []time.Duration
	var lastSlow time.Time
	for i := range minRequests {
		lastSlow = time.Now()
		a := d.do(route, ask{row: i, timeout: deadline})
		if a.err != nil || a.target() != "static" || a.res.Reason != "timeout" {
			t.Fatalf("request %d, primary hanging: target %s %+v, err %v; want static after a timeout", i, a.target(), a.res, a.err)
		}
		before = append(before, a.took)
	}
	if st := route.Primary().Breaker(); st.State != "open" {
		t.Fatalf("breaker %+v after %d timeouts, want open", st, minRequests)
	}

	// After: the open breaker fails the primary at once.
	var after []time.Duration
	for i := range 20 {
		a := d.do(route, ask{row: i, timeout: deadline})
		if a.err != nil || a.target() != "static" || a.res.Reason != "breaker_open" {
			t.Fatalf("request %d, breaker open: target %s %+v, err %v; want static for breaker_open", i, a.target(), a.res, a.err)
		}
		after = append(after, a.took)
	}
	t.Logf("latency while the primary hangs: %v", before)
	t.Logf("latency once the breaker is open: %v", after)
	mb, ma := median(before), median(after)
	t.Logf("medians: %s before, %s after", mb, ma)
	if mb < deadline*9/10 {
		t.Errorf("median %s before the breaker opened, want about the primary's share of the %s deadline", mb, deadline)
	}
	if ma > mb/10 {
		t.Errorf("median %s once the breaker is open, want at most a tenth of the %s before", ma, mb)
	}

	// The primary recovers; after the cooldown two probes close the
	// breaker.
	gate.Release()
	var servedAt time.Time
	i := 0
	poll(t, "the primary to serve again and its breaker to close", func() bool {
		i++
		a := d.do(route, ask{row: i, timeout: time.Second})
		if a.err != nil {
			t.Fatalf("recovering, request %d: %v", i, a.err)
		}
		if a.target() == "primary" && servedAt.IsZero() {
			servedAt = time.Now()
		}
		return route.Primary().Breaker().State == "closed"
	})
	// The breaker opened after the last slow request started.
	if open := servedAt.Sub(lastSlow); open < cooldown {
		t.Errorf("the primary served again %s after the breaker opened, before the %s cooldown", open, cooldown)
	}
	if a := d.do(route, ask{timeout: time.Second}); a.err != nil || a.target() != "primary" || a.res.Fallback {
		t.Errorf("breaker closed: target %s %+v, err %v; want the primary", a.target(), a.res, a.err)
	}
	t.Logf("the primary served again %s after the last slow request started (the breaker opened at its end), after %d polls",
		servedAt.Sub(lastSlow), i)
}
