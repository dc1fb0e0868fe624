package router_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/router"
)

// canaryRoute is a route named name whose candidate, 1.1.0, gets weight
// percent of the traffic.
func canaryRoute(name string, weight float64, sticky router.StickyConfig) router.RouteConfig {
	return router.RouteConfig{
		Name:    name,
		Targets: []router.TargetConfig{{Name: "candidate", Version: "1.1.0"}},
		Canary:  &router.CanaryConfig{Target: "candidate", Weight: weight, Sticky: sticky},
	}
}

// toCandidate reports, for each key, whether route picks the candidate for
// a request with that sticky key (row i's features, i the key's index).
func (d *dataset) toCandidate(route *router.Route, keys []string) []bool {
	out := make([]bool, len(keys))
	for i, key := range keys {
		req := router.AcquireRequest()
		d.fill(req, i)
		if key != "" {
			req.StickyKey = []byte(key)
		}
		if _, err := route.Prepare(req); err != nil {
			panic(err)
		}
		out[i] = req.Picked().Name() == "candidate"
		router.ReleaseRequest(req)
	}
	return out
}

func share(sides []bool) float64 {
	n := 0
	for _, c := range sides {
		if c {
			n++
		}
	}
	return float64(n) / float64(len(sides))
}

func userKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%05d", i)
	}
	return keys
}

// TestCanarySplit checks a sticky canary's split: its share, that a key
// stays on its side, that raising the weight only moves keys to the
// candidate, and the weights 0 and 100.
func TestCanarySplit(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	sticky := router.StickyConfig{Header: "X-User"}
	table := load(t, store, gates,
		canaryRoute("split", 20, sticky), canaryRoute("split-b", 20, sticky), canaryRoute("random", 20, router.StickyConfig{}),
		router.RouteConfig{Name: "plain"})
	route := lookup(t, table, "split")
	d := demoRows(t)

	if h := route.StickyHeader(); h != "X-User" {
		t.Fatalf("sticky header %q", h)
	}
	if c := route.Canary(); c.Candidate != "candidate" || c.WeightPercent != 20 || c.State != router.CanaryManual || c.Sticky != "header X-User" {
		t.Fatalf("canary %+v, want a manual canary at 20%% sticky by X-User", c)
	}

	keys := userKeys(10000)
	// f checks the candidate's share of keys at weight, within tolerance
	// points.
	f := func(route *router.Route, keys []string, weight, tolerance float64) []bool {
		t.Helper()
		sides := d.toCandidate(route, keys)
		got := share(sides) * 100
		t.Logf("%s at weight %g: the candidate got %.2f%% of %d requests", route.Name(), weight, got, len(keys))
		if math.Abs(got-weight) > tolerance {
			t.Fatalf("%s at weight %g: the candidate got %.2f%% of %d requests", route.Name(), weight, got, len(keys))
		}
		return sides
	}
	// Hashing the keys is deterministic: the share is the same on every
	// run, and 1.5 points is 3.75 standard deviations of a fair split.
	at20 := f(route, keys, 20, 1.5)
	for i, c := range d.toCandidate(route, keys) {
		if c != at20[i] {
			t.Fatalf("key %s went to the candidate %v, then %v", keys[i], at20[i], c)
		}
	}
	// Without a sticky key, each request is drawn at random: 2 points is
	// 5 standard deviations.
	f(lookup(t, table, "random"), make([]string, len(keys)), 20, 2)
	// Another route splits the same users otherwise.
	other := d.toCandidate(lookup(t, table, "split-b"), keys)
	both := 0
	for i := range keys {
		if other[i] && at20[i] {
			both++
		}
	}
	if n := share(at20) * float64(len(keys)); float64(both) > n/2 {
		t.Errorf("%d of the %g keys on split's candidate are on split-b's too: the routes split users alike", both, n)
	}

	// Each side is served by its own target.
	for i := range 40 {
		a := d.do(route, ask{row: i, sticky: keys[i], timeout: waitFor})
		want, version := "primary", "1.0.0"
		if at20[i] {
			want, version = "candidate", "1.1.0"
		}
		if a.err != nil || a.target() != want || a.res.ModelVersion != version || a.res.Fallback {
			t.Fatalf("key %s: target %s %+v, err %v; want %s %s", keys[i], a.target(), a.res, a.err, want, version)
		}
	}

	// Raising the weight moves keys to the candidate, never back.
	if err := route.SetCanaryWeight(40); err != nil {
		t.Fatal(err)
	}
	if c := route.Canary(); c.WeightPercent != 40 || c.State != router.CanaryManual {
		t.Fatalf("canary %+v after SetCanaryWeight(40)", c)
	}
	for i, c := range f(route, keys, 40, 1.5) {
		if at20[i] && !c {
			t.Fatalf("key %s moved from the candidate back to the primary when the weight rose from 20 to 40", keys[i])
		}
	}
	// Back at 20, every key is where it was.
	if err := route.SetCanaryWeight(20); err != nil {
		t.Fatal(err)
	}
	for i, c := range d.toCandidate(route, keys) {
		if c != at20[i] {
			t.Fatalf("key %s: candidate %v at 20%%, then %v at 20%% again", keys[i], at20[i], c)
		}
	}

	// 0 and 100: all on one side, with or without a key.
	few := append(userKeys(500), make([]string, 500)...)
	for _, w := range []float64{0, 100} {
		if err := route.SetCanaryWeight(w); err != nil {
			t.Fatal(err)
		}
		if got := share(d.toCandidate(route, few)) * 100; got != w {
			t.Fatalf("at weight %g the candidate got %g%%", w, got)
		}
	}

	// Weights out of range and routes without a canary are refused.
	for _, w := range []float64{-1, 100.5, math.NaN()} {
		if err := route.SetCanaryWeight(w); err == nil {
			t.Errorf("SetCanaryWeight(%g): no error", w)
		}
	}
	if c := route.Canary(); c.WeightPercent != 100 {
		t.Errorf("weight %g after refused changes, want 100 still", c.WeightPercent)
	}
	if err := route.RestartCanaryAnalysis(); err == nil {
		t.Error("RestartCanaryAnalysis of a canary without analysis: no error")
	}
	plain := lookup(t, table, "plain")
	if err := plain.SetCanaryWeight(10); err == nil || !strings.Contains(err.Error(), "has no canary") {
		t.Errorf("SetCanaryWeight on a route without a canary: %v", err)
	}
	if plain.Canary() != nil || plain.StickyHeader() != "" || plain.RestartCanaryAnalysis() == nil {
		t.Error("a route without a canary reports one")
	}
}

// TestCanaryStickyFeature: a canary sticky by a feature keeps a customer on
// one side whether the feature comes as a string or a number.
func TestCanaryStickyFeature(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	route := lookup(t, load(t, store, gates, canaryRoute("split", 20, router.StickyConfig{Feature: "customer_id"})), "split")
	if c := route.Canary(); c.Sticky != "feature customer_id" || route.StickyHeader() != "" {
		t.Fatalf("canary %+v, sticky header %q; want sticky by feature customer_id", c, route.StickyHeader())
	}
	d := demoRows(t)
	const n = 2000
	name := []byte("customer_id")
	cand := 0
	for i := range n {
		id := 100000 + i
		// Each with its own sticky header value, which must not matter.
		str := pickID(t, d, route, i, "a"+strconv.Itoa(i), func(req *router.Request) { req.Features.AddString(name, []byte(strconv.Itoa(id))) })
		num := pickID(t, d, route, i, "b"+strconv.Itoa(i), func(req *router.Request) { req.Features.AddNumber(name, float64(id)) })
		if str != num {
			t.Fatalf("customer_id %d: candidate %v as a string, %v as a number", id, str, num)
		}
		if str {
			cand++
		}
	}
	got := float64(cand) / n * 100
	t.Logf("sticky by customer_id at weight 20: the candidate got %.2f%% of %d customers", got, n)
	if math.Abs(got-20) > 3 {
		t.Fatalf("the candidate got %.2f%% of %d customers at weight 20", got, n)
	}
}

// pickID reports whether route picks the candidate for row i's features
// with customer_id replaced by what set adds, and sticky as the sticky key.
func pickID(t *testing.T, d *dataset, route *router.Route, i int, sticky string, set func(req *router.Request)) bool {
	t.Helper()
	req := router.AcquireRequest()
	defer router.ReleaseRequest(req)
	d.fill(req, i)
	set(req) // after the row's own customer_id: the last value wins
	req.StickyKey = []byte(sticky)
	if _, err := route.Prepare(req); err != nil {
		t.Fatal(err)
	}
	return req.Picked().Name() == "candidate"
}

// traffic sends requests through a route from two goroutines until stopped,
// checking each answer.
type traffic struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	n    int
	errs []string
}

func drive(d *dataset, route *router.Route, check func(a *answer) string) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	for w := range 2 {
		tr.wg.Go(func() {
			for i := w; ; i += 2 {
				select {
				case <-tr.stop:
					return
				default:
				}
				a := d.do(route, ask{row: i})
				msg := check(&a)
				// Paced, so that the timing tests running in parallel
				// on a small machine keep their CPU.
				time.Sleep(100 * time.Microsecond)
				tr.mu.Lock()
				tr.n++
				if msg != "" && len(tr.errs) < 5 {
					tr.errs = append(tr.errs, msg)
				}
				tr.mu.Unlock()
			}
		})
	}
	return tr
}

// end stops the traffic and reports the requests sent and the problems
// found.
func (tr *traffic) end(t *testing.T) int {
	t.Helper()
	close(tr.stop)
	tr.wg.Wait()
	for _, msg := range tr.errs {
		t.Error(msg)
	}
	return tr.n
}

func analysedRoute(name string) router.RouteConfig {
	r := canaryRoute(name, 0, router.StickyConfig{})
	r.Canary.Analysis = &router.AnalysisConfig{
		Steps: []float64{10, 50, 100}, MinRequests: 30, Dwell: 200 * time.Millisecond, Interval: 10 * time.Millisecond,
		// Latency is not what these tests judge: two ONNX Runtime
		// sessions on a shared, noisy machine differ by more than the
		// default millisecond.
		P99Slack: time.Second,
	}
	return r
}

// TestCanaryRollback: a failing candidate is rolled back to weight 0 as soon
// as it has served the step's minimum, while clients are answered by the
// primary throughout.
func TestCanaryRollback(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	gates.Gate("1.1.0").Fail(errInjected)
	route := lookup(t, load(t, store, gates, analysedRoute("canary")), "canary")
	d := demoRows(t)
	if c := route.Canary(); c.State != router.CanaryAnalysing || c.WeightPercent != 10 || c.Step != 0 {
		t.Fatalf("canary at start %+v, want analysing at the first step, 10%%", c)
	}

	start := time.Now()
	tr := drive(d, route, func(a *answer) string {
		switch {
		case a.err != nil:
			return fmt.Sprintf("a client got an error: %v", a.err)
		case a.target() != "primary":
			return fmt.Sprintf("a client was answered by %s %+v, want the primary (the candidate fails)", a.target(), a.res)
		case a.res.Fallback && a.res.Reason != "failed" && a.res.Reason != "breaker_open":
			return fmt.Sprintf("the candidate failed with reason %q, want failed or breaker_open", a.res.Reason)
		}
		return ""
	})
	var c *router.CanaryStatus
	poll(t, "the failing candidate to be rolled back", func() bool {
		c = route.Canary()
		return c.State != router.CanaryAnalysing
	})
	took := time.Since(start)
	n := tr.end(t)
	t.Logf("rolled back after %s and %d requests at step %d: %s (candidate %+v, primary %+v)",
		took, n, c.Step, c.Reason, *c.CandidateSide, *c.Primary)
	if c.State != router.CanaryRolledBack || c.WeightPercent != 0 || c.Step != 0 || !strings.Contains(c.Reason, "error rate 100.00%") {
		t.Fatalf("canary %+v, want rolled back at its first step to 0%% for its error rate", c)
	}
	if c.CandidateSide.Requests < 30 || c.CandidateSide.ErrorRate != 1 || c.Primary.ErrorRate != 0 {
		t.Fatalf("step figures: candidate %+v, primary %+v", *c.CandidateSide, *c.Primary)
	}

	// Rolled back: the primary serves everything, without a fallback.
	for i := range 100 {
		if a := d.do(route, ask{row: i}); a.err != nil || a.target() != "primary" || a.res.Fallback {
			t.Fatalf("after the rollback: target %s %+v, err %v", a.target(), a.res, a.err)
		}
	}
	// The operator fixes the candidate and restarts the analysis.
	gates.Gate("1.1.0").Fail(nil)
	if err := route.RestartCanaryAnalysis(); err != nil {
		t.Fatal(err)
	}
	if c := route.Canary(); c.State != router.CanaryAnalysing || c.WeightPercent != 10 || c.Step != 0 || c.Reason != "" || c.CandidateSide.Requests != 0 {
		t.Fatalf("canary after restart %+v, want analysing at 10%% with a fresh window", c)
	}
	// An operator's weight stops the analysis.
	if err := route.SetCanaryWeight(30); err != nil {
		t.Fatal(err)
	}
	if c := route.Canary(); c.State != router.CanaryManual || c.WeightPercent != 30 {
		t.Fatalf("canary after SetCanaryWeight(30) %+v, want manual at 30%%", c)
	}
}

// TestCanaryPromotion: a healthy candidate steps through every weight and is
// promoted: the registry alias moves to its version.
func TestCanaryPromotion(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	rc := analysedRoute("canary")
	// The candidate is also shadowed, so its label agreement is judged.
	rc.Shadow = &router.ShadowConfig{Targets: []string{"candidate"}}
	route := lookup(t, load(t, store, gates, rc), "canary")
	d := demoRows(t)

	start := time.Now()
	tr := drive(d, route, func(a *answer) string {
		if a.err != nil || a.res.Fallback {
			return fmt.Sprintf("target %s %+v, err %v; want an answer from the picked target", a.target(), a.res, a.err)
		}
		return ""
	})
	var weights []float64
	var c *router.CanaryStatus
	poll(t, "the healthy candidate to be promoted", func() bool {
		c = route.Canary()
		if len(weights) == 0 || weights[len(weights)-1] != c.WeightPercent {
			weights = append(weights, c.WeightPercent)
		}
		return c.State != router.CanaryAnalysing
	})
	took := time.Since(start)
	n := tr.end(t)
	t.Logf("promoted after %s and %d requests through weights %v: %s (last step: candidate %+v)",
		took, n, weights, c.Reason, *c.CandidateSide)
	if c.State != router.CanaryPromoted || c.WeightPercent != 100 || c.Step != 2 {
		t.Fatalf("canary %+v, want promoted at 100%%", c)
	}
	if fmt.Sprint(weights) != "[10 50 100]" {
		t.Errorf("weights seen %v, want the steps [10 50 100]", weights)
	}
	if want := `alias "production" now names customer-churn 1.1.0`; c.Reason != want {
		t.Errorf("reason %q, want %q", c.Reason, want)
	}
	if c.Agreement == nil || *c.Agreement != 1 {
		t.Errorf("agreement %v, want 1: the candidate is the same model", c.Agreement)
	}
	if took < 3*200*time.Millisecond {
		t.Errorf("promoted after %s, before three dwells of 200ms", took)
	}
	v, err := store.Resolve(demo, "production")
	if err != nil || v.Version != "1.1.0" {
		t.Fatalf("production resolves to %v (err %v), want 1.1.0", v, err)
	}
	// The alias log says who moved it and why.
	history, err := store.History(demo, "production")
	if err != nil {
		t.Fatal(err)
	}
	if last := history[len(history)-1]; last.To != "1.1.0" || last.By != "canary" || !strings.Contains(last.Reason, "every analysis step [10 50 100]") {
		t.Errorf("last move of production %+v, want one to 1.1.0 by the canary with its reason", last)
	}
	// Until the routes reload, the candidate keeps all the traffic.
	if a := d.do(route, ask{}); a.err != nil || a.target() != "candidate" || a.res.ModelVersion != "1.1.0" {
		t.Fatalf("after promotion: target %s %+v, err %v", a.target(), a.res, a.err)
	}
}

// TestCanaryAnalysisStartsAtFirstStep: with analysis, the canary starts at
// its first step. A weight set beside the steps must either be refused or
// give way to the first step: otherwise the status says "step 0 of
// [10 50 100]" while the candidate serves another share.
func TestCanaryAnalysisStartsAtFirstStep(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	rc := analysedRoute("canary")
	rc.Model, rc.Canary.Weight = demo, 30
	table, err := router.Load([]router.RouteConfig{rc}, store, gates)
	if err != nil {
		if !strings.Contains(err.Error(), "routes[canary].canary.weight") {
			t.Fatalf("Load: %v, want a config error at routes[canary].canary.weight or none", err)
		}
		return
	}
	t.Cleanup(func() { _ = table.Close() })
	if c := lookup(t, table, "canary").Canary(); c.Step != 0 || c.WeightPercent != c.Steps[0] {
		t.Errorf("canary weight 30 with steps %v: starts at %g%% in step %d, want the first step's %g%% (or a config error)",
			c.Steps, c.WeightPercent, c.Step, c.Steps[0])
	}
}

// TestCanaryIdle: a candidate that serves the primary's own version (its
// alias names the same version, as staging does before a new version is
// trained) takes no traffic and is not analysed, so nothing is "promoted";
// a route loaded once the alias names a new version analyses it.
func TestCanaryIdle(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	if err := store.SetAlias(demo, "staging", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	rc := analysedRoute("idle")
	rc.Targets[0].Version = "staging"
	route := lookup(t, load(t, store, gates, rc), "idle")
	c := route.Canary()
	if c.State != router.CanaryIdle || c.WeightPercent != 0 || !strings.Contains(c.Reason, "primary's version (1.0.0)") {
		t.Fatalf("canary %+v, want idle at 0%% saying why", c)
	}
	d := demoRows(t)
	for i := range 200 {
		if a := d.do(route, ask{row: i}); a.err != nil || a.target() != "primary" {
			t.Fatalf("row %d: target %s, err %v; want the primary", i, a.target(), a.err)
		}
	}
	if err := route.RestartCanaryAnalysis(); err == nil || !strings.Contains(err.Error(), "nothing to analyse") {
		t.Fatalf("restart of an idle canary: %v, want a refusal saying why", err)
	}
	if c := route.Canary(); c.State != router.CanaryIdle {
		t.Fatalf("after the refused restart: %+v", c)
	}
	if h, err := store.History(demo, "production"); err != nil || len(h) != 1 {
		t.Fatalf("production's history %+v (err %v): an idle canary moved it", h, err)
	}

	// A new version under the alias: the next load analyses it.
	if err := store.SetAlias(demo, "staging", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	rc.Name = "idle-then-new"
	if c := lookup(t, load(t, store, gates, rc), "idle-then-new").Canary(); c.State != router.CanaryAnalysing || c.WeightPercent != 10 {
		t.Fatalf("canary with a new candidate version %+v, want analysing at 10%%", c)
	}
}
