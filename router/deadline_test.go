package router_test

import (
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/router"
)

// TestDeadlineUnreachableGoesToFallbackAtOnce: with the model's queue
// holding more work than a request's deadline allows, the batcher turns
// the request away as it arrives, and the fallback answers it without
// waiting for the primary's share of the deadline; the model never
// computes it.
func TestDeadlineUnreachableGoesToFallbackAtOnce(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{
		Name: "deadline", Breaker: router.BreakerConfig{Disabled: true},
		Batching:  batcher.Config{MaxBatchSize: 1, AlwaysQueue: true},
		Targets:   []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}}},
		Fallbacks: []string{"static"},
	})
	route := lookup(t, table, "deadline")
	d := demoRows(t)
	gate := gates.Gate("1.0.0")
	const run, deadline, queued = 20 * time.Millisecond, 50 * time.Millisecond, 4
	gate.Slow(run)
	for i := range 3 { // the batcher learns how long a run takes
		if a := d.do(route, ask{row: i}); a.err != nil || a.target() != router.PrimaryTarget {
			t.Fatalf("warm-up %d: target %s, err %v", i, a.target(), a.err)
		}
	}

	// One run held at the gate and three queued behind it: 60ms of runs
	// ahead of a new request, and its own 20ms, against a 50ms deadline.
	gate.Hold()
	var wg sync.WaitGroup
	for i := range queued {
		wg.Go(func() {
			if a := d.do(route, ask{row: i}); a.err != nil || a.target() != router.PrimaryTarget {
				t.Errorf("queued %d: target %s, err %v", i, a.target(), a.err)
			}
		})
	}
	poll(t, "the requests to queue", func() bool { return gate.Blocked()+route.Target().QueueDepth() == queued })
	computed := gate.Rows()

	const n = 50
	var took []time.Duration
	for i := range n {
		a := d.do(route, ask{row: i, timeout: deadline})
		if a.err != nil || a.target() != "static" || a.res.Reason != "timeout" {
			t.Fatalf("request %d: target %s, reason %q, err %v; want static for timeout", i, a.target(), a.res.Reason, a.err)
		}
		took = append(took, a.took)
	}
	gate.Release()
	wg.Wait()
	if got, want := gate.Rows()-computed, queued; got != want {
		t.Errorf("the model computed %d rows after the diverted requests, want %d (the queued ones only)", got, want)
	}
	slow := median(took)
	t.Logf("%d requests diverted: median %v, max %v from arrival to the fallback's answer", n, slow, took[len(took)-1])
	if worst := took[len(took)-1]; worst >= deadline/2 {
		t.Errorf("the slowest diverted request took %v: it waited for the primary's share of its %v deadline", worst, deadline)
	}
}

// TestQueueFullKeepsBreakerClosed: a full queue sheds load; it says nothing
// about the model's health, so the rejections go to the fallback without
// opening the breaker, which would turn away the requests the queue still
// had room for (with priority levels, a flood of the lowest level would
// shut out the highest).
func TestQueueFullKeepsBreakerClosed(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{
		Name:      "shed",
		Breaker:   router.BreakerConfig{FailureRatio: 0.5, MinRequests: 5, Window: time.Minute, Cooldown: time.Minute, Probes: 1},
		Batching:  batcher.Config{MaxBatchSize: 1, MaxQueueSize: 1, AlwaysQueue: true},
		Targets:   []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}}},
		Fallbacks: []string{"static"},
	})
	route := lookup(t, table, "shed")
	d := demoRows(t)
	gate := gates.Gate("1.0.0")
	gate.Hold()
	var wg sync.WaitGroup
	// One at a time: sent together, the second can find the first still in
	// the one-place queue and be shed itself.
	for i, stage := range []string{"a run to reach the gate", "the queue to fill"} {
		wg.Go(func() {
			if a := d.do(route, ask{row: i}); a.err != nil || a.target() != router.PrimaryTarget {
				t.Errorf("queued %d: target %s, err %v", i, a.target(), a.err)
			}
		})
		poll(t, stage, func() bool { return gate.Blocked() == 1 && route.Target().QueueDepth() == i })
	}
	for i := range 20 {
		if a := d.do(route, ask{row: i}); a.err != nil || a.target() != "static" || a.res.Reason != "queue_full" {
			t.Fatalf("request %d, queue full: target %s, reason %q, err %v; want static for queue_full", i, a.target(), a.res.Reason, a.err)
		}
	}
	gate.Release()
	wg.Wait()
	if st := route.Primary().Breaker(); st.State != "closed" {
		t.Errorf("breaker %+v after 20 queue_full rejections, want closed", st)
	}
	if a := d.do(route, ask{}); a.err != nil || a.target() != router.PrimaryTarget {
		t.Errorf("once the queue has room: target %s, err %v; want the primary", a.target(), a.err)
	}
}
