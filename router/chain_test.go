package router_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/remote"
	"github.com/infergate/infergate/router/rules"
)

// chainRules answer month-to-month customers of under a year as "churn"
// (rules[0]), else those with 3 or more support calls with 0.5 and no label
// of their own (rules[1]); other requests match no rule.
var chainRules = []rules.Rule{
	{When: []string{"contract == month-to-month", "tenure_months < 12"}, Prediction: "churn", Probability: probability(0.9)},
	{When: []string{"support_calls >= 3"}, Probability: probability(0.5)},
}

// wantTier is the tier of chainRules and the static 0.1 answer that answers
// row i, with its label and probability.
func (d *dataset) wantTier(i int) (target, label string, p float64) {
	switch {
	case d.text(i, "contract") == "month-to-month" && d.number(i, "tenure_months") < 12:
		return "rules", "churn", 0.9
	case d.number(i, "support_calls") >= 3:
		return "rules", "medium_risk", 0.5 // the primary's thresholds label it
	}
	return "static", "low_risk", 0.1
}

// TestFallbackChain fails the primary, then the backup too, and checks that
// every request is still answered, each by the tier the chain says.
func TestFallbackChain(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{
		Name: "chain",
		// The primary's breaker stays closed, so that each request tries
		// it and the reason is its failure.
		Breaker: router.BreakerConfig{Disabled: true},
		Targets: []router.TargetConfig{
			{Name: "backup", Version: "1.1.0"},
			{Name: "rules", Rules: chainRules},
			{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}},
		},
		Fallbacks: []string{"backup", "rules", "static"},
	})
	route := lookup(t, table, "chain")
	d := demoRows(t)

	const n = 500
	// run sends n requests from 4 goroutines and returns their answers.
	run := func() []answer {
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := w; i < n; i += 4 {
					answers[i] = d.do(route, ask{row: i, timeout: waitFor})
				}
			})
		}
		wg.Wait()
		return answers
	}

	healthy := run()
	for i, a := range healthy {
		if a.err != nil || a.target() != "primary" || a.res.Fallback || a.res.Reason != "" || a.res.ModelVersion != "1.0.0" {
			t.Fatalf("healthy row %d: %+v, err %v; want the primary 1.0.0", i, a.res, a.err)
		}
	}

	gates.Gate("1.0.0").Fail(errInjected)
	for i, a := range run() {
		switch {
		case a.err != nil:
			t.Fatalf("primary failing, row %d: %v", i, a.err)
		case a.target() != "backup" || !a.res.Fallback || a.res.Reason != "failed" || a.res.ModelVersion != "1.1.0":
			t.Fatalf("primary failing, row %d: target %s %+v; want backup 1.1.0 as a fallback for \"failed\"", i, a.target(), a.res)
		case math.Abs(a.res.Probability-healthy[i].res.Probability) > 1e-6 || a.res.Label != healthy[i].res.Label:
			t.Fatalf("primary failing, row %d: backup answered %v %s, the same model as primary answered %v %s",
				i, a.res.Probability, a.res.Label, healthy[i].res.Probability, healthy[i].res.Label)
		}
	}

	gates.Gate("1.1.0").Fail(errInjected)
	tiers := map[string]int{}
	for i, a := range run() {
		if a.err != nil {
			t.Fatalf("primary and backup failing, row %d: %v", i, a.err)
		}
		target, label, p := d.wantTier(i)
		if a.target() != target || a.res.Label != label || a.res.Probability != p || a.res.ModelVersion != "" ||
			!a.res.Fallback || a.res.Reason != "failed" {
			t.Fatalf("primary and backup failing, row %d: target %s %+v; want %s answering %s %v as a fallback for \"failed\"",
				i, a.target(), a.res, target, label, p)
		}
		tiers[target+" "+label]++
	}
	t.Logf("with primary and backup failing, %d requests answered by: %v", n, tiers)
	if len(tiers) != 3 {
		t.Fatalf("answers by %v: want each of the two rules and static to answer some", tiers)
	}
	// The backup's breaker opened on its failures; the primary's is off.
	if st := route.Targets()[1].Breaker(); st.State != "open" {
		t.Errorf("backup breaker %+v after %d failures, want open", st, n)
	}
	if st := route.Primary().Breaker(); st.State != "disabled" {
		t.Errorf("primary breaker %+v, want disabled", st)
	}
}

// TestChainWithoutStatic: a chain that can end without an answer returns
// an error when every tier fails.
func TestChainWithoutStatic(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates,
		router.RouteConfig{
			Name: "models", Breaker: router.BreakerConfig{Disabled: true},
			Targets:   []router.TargetConfig{{Name: "backup", Version: "1.1.0", Breaker: router.BreakerConfig{Disabled: true}}},
			Fallbacks: []string{"backup"},
		},
		router.RouteConfig{
			Name: "rules", Breaker: router.BreakerConfig{Disabled: true},
			Targets:   []router.TargetConfig{{Name: "rules", Rules: chainRules}},
			Fallbacks: []string{"rules"},
		},
		router.RouteConfig{
			// The breaker opens on the first failure.
			Name: "breaker", Breaker: router.BreakerConfig{MinRequests: 1, FailureRatio: 1, Cooldown: time.Minute},
			Targets:   []router.TargetConfig{{Name: "backup", Version: "1.1.0", Breaker: router.BreakerConfig{Disabled: true}}},
			Fallbacks: []string{"backup"},
		})
	d := demoRows(t)
	gates.Gate("1.0.0").Fail(errInjected)
	gates.Gate("1.1.0").Fail(errInjected)

	a := d.do(lookup(t, table, "models"), ask{timeout: waitFor})
	if !errors.Is(a.err, router.ErrModelFailed) || !errors.Is(a.err, errInjected) {
		t.Errorf("models: err %v, want the primary's ErrModelFailed wrapping the instance's error", a.err)
	}
	// A row no rule matches.
	row := -1
	for i := range 100 {
		if target, _, _ := d.wantTier(i); target == "static" {
			row = i
			break
		}
	}
	a = d.do(lookup(t, table, "rules"), ask{row: row, timeout: waitFor})
	if !errors.Is(a.err, router.ErrModelFailed) {
		t.Errorf("rules matching nothing: err %v, want the primary's ErrModelFailed", a.err)
	}

	// With the primary's breaker open, no target's error is the batcher's:
	// the route is unavailable.
	route := lookup(t, table, "breaker")
	if a := d.do(route, ask{timeout: waitFor}); !errors.Is(a.err, router.ErrModelFailed) {
		t.Fatalf("breaker, first request: err %v, want ErrModelFailed", a.err)
	}
	a = d.do(route, ask{timeout: waitFor})
	if !errors.Is(a.err, router.ErrUnavailable) || !strings.Contains(fmt.Sprint(a.err), "primary: circuit breaker is open") {
		t.Errorf("breaker open: err %v, want ErrUnavailable naming the primary's open breaker", a.err)
	}
}

// TestDeadlineShares holds the primary and checks how much of a request's
// deadline each waiting tier gets: an even share of what is left among the
// waiting tiers ahead, capped by the target's timeout, with the static tier
// still answering before the deadline.
func TestDeadlineShares(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	// Both models are held (hung) in turn after serving: always_queue, so
	// that no caller is running its row directly when the hang begins (that
	// one caller would wait for the hang to end; see batcher.Config).
	queued := batcher.Config{AlwaysQueue: true}
	chain := func(name string, timeout time.Duration) router.RouteConfig {
		return router.RouteConfig{
			Name: name, Timeout: timeout, Breaker: router.BreakerConfig{Disabled: true}, Batching: queued,
			Targets: []router.TargetConfig{
				{Name: "backup", Version: "1.1.0", Breaker: router.BreakerConfig{Disabled: true}, Batching: queued},
				{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}},
			},
			Fallbacks: []string{"backup", "static"},
		}
	}
	const capped = 50 * time.Millisecond
	table := load(t, store, gates, chain("shares", 0), chain("capped", capped))
	shares, capRoute := lookup(t, table, "shares"), lookup(t, table, "capped")
	d := demoRows(t)
	gates.Gate("1.0.0").Hold()

	const deadline = 400 * time.Millisecond
	// f sends a request and checks who answered it and in how long.
	f := func(route *router.Route, timeout time.Duration, wantTarget string, atLeast, below time.Duration) {
		t.Helper()
		a := d.do(route, ask{timeout: timeout})
		t.Logf("%s, deadline %s: %s answered after %s", route.Name(), timeout, a.target(), a.took)
		if a.err != nil || a.target() != wantTarget || a.res.Reason != "timeout" || !a.res.Fallback {
			t.Fatalf("%s: target %s %+v, err %v; want %s after the primary's timeout", route.Name(), a.target(), a.res, a.err, wantTarget)
		}
		if a.took < atLeast || a.took >= below {
			t.Fatalf("%s: answered after %s, want from %s and under %s", route.Name(), a.took, atLeast, below)
		}
	}
	for range 3 {
		// Two waiting tiers: the primary gets half the deadline (less a
		// millisecond kept for static), then the backup answers at once.
		f(shares, deadline, "backup", deadline/2-2*time.Millisecond, deadline*7/8)
		// Its timeout caps the primary's share.
		f(capRoute, deadline, "backup", capped, deadline/2)
		// Without a deadline, the timeout alone ends the primary's call.
		f(capRoute, 0, "backup", capped, deadline/2)
	}
	gates.Gate("1.1.0").Hold()
	for range 2 {
		// The backup, last to wait, gets all that is left but the
		// millisecond static needs: static answers at the deadline.
		f(shares, deadline, "static", deadline-5*time.Millisecond, deadline+100*time.Millisecond)
	}
}

// TestRetries fails the primary's next batches and checks that retries
// answer when attempts allow, and that a timeout is not retried.
func TestRetries(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	route := func(name string, attempts int) router.RouteConfig {
		return router.RouteConfig{
			Name: name, Breaker: router.BreakerConfig{Disabled: true},
			// Held at the end after serving: see TestDeadlineShares.
			Batching:  batcher.Config{AlwaysQueue: true},
			Retry:     router.RetryConfig{Attempts: attempts, Backoff: time.Millisecond},
			Targets:   []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}}},
			Fallbacks: []string{"static"},
		}
	}
	table := load(t, store, gates, route("retry", 1), route("once", 0))
	retry, once := lookup(t, table, "retry"), lookup(t, table, "once")
	d := demoRows(t)
	gate := gates.Gate("1.0.0")

	// f fails the primary's next failNext batches, sends a request and
	// checks who answered and how many batches the gate failed in all.
	f := func(route *router.Route, failNext int, timeout time.Duration, wantTarget, wantReason string, wantFailed int) {
		t.Helper()
		gate.FailNext(failNext, errInjected)
		a := d.do(route, ask{timeout: timeout})
		if a.err != nil || a.target() != wantTarget || a.res.Reason != wantReason || a.res.Fallback != (wantTarget != "primary") {
			t.Fatalf("%s, %d failing: target %s %+v, err %v; want %s, reason %q", route.Name(), failNext, a.target(), a.res, a.err, wantTarget, wantReason)
		}
		if got := gate.Failed(); got != wantFailed {
			t.Fatalf("%s, %d failing: the gate failed %d batches in all, want %d", route.Name(), failNext, got, wantFailed)
		}
	}
	f(retry, 1, waitFor, "primary", "", 1) // the retry answers
	f(once, 1, waitFor, "static", "failed", 2)
	f(once, 0, waitFor, "primary", "", 2)
	f(retry, 2, waitFor, "static", "failed", 4) // one retry is not enough
	f(retry, 0, waitFor, "primary", "", 4)

	// A timeout is not retried: the deadline share is spent. (The remote
	// test below shows it for a timeout that leaves time to retry.)
	gate.Hold()
	const deadline = 150 * time.Millisecond
	a := d.do(retry, ask{timeout: deadline})
	if a.err != nil || a.target() != "static" || a.res.Reason != "timeout" {
		t.Fatalf("held primary: target %s %+v, err %v; want static for a timeout", a.target(), a.res, a.err)
	}
	if a.took > deadline+100*time.Millisecond {
		t.Fatalf("held primary: answered after %s, deadline %s", a.took, deadline)
	}
}

// TestRetryWithoutDeadline: a request without a deadline (Request.Deadline
// zero: "none") to a target without a timeout has all the time a retry
// needs, so a failed call is retried.
func TestRetryWithoutDeadline(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{
		Name: "retry", Breaker: router.BreakerConfig{Disabled: true},
		Retry:     router.RetryConfig{Attempts: 1, Backoff: time.Millisecond},
		Targets:   []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}}},
		Fallbacks: []string{"static"},
	})
	gate := gates.Gate("1.0.0")
	gate.FailNext(1, errInjected)
	a := demoRows(t).do(lookup(t, table, "retry"), ask{})
	if a.err != nil || a.target() != "primary" || a.res.Fallback {
		t.Fatalf("no deadline, one failing batch, 1 retry: target %s %+v, err %v (the gate failed %d batches); want the retry to answer",
			a.target(), a.res, a.err, gate.Failed())
	}
}

// remoteServer is an infergate on a loopback port; handle answers its
// requests and hits counts them.
type remoteServer struct {
	url    string
	srv    *fasthttp.Server
	hits   atomic.Int64
	handle atomic.Pointer[fasthttp.RequestHandler]

	mu       sync.Mutex
	lastBody []byte
	lastTO   string // X-Request-Timeout
}

func startRemote(t *testing.T, h fasthttp.RequestHandler) *remoteServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &remoteServer{url: "http://" + ln.Addr().String()}
	s.handle.Store(&h)
	s.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		s.hits.Add(1)
		s.mu.Lock()
		s.lastBody = append(s.lastBody[:0], ctx.PostBody()...)
		s.lastTO = string(ctx.Request.Header.Peek("X-Request-Timeout"))
		s.mu.Unlock()
		(*s.handle.Load())(ctx)
	}}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Shutdown() })
	return s
}

func (s *remoteServer) set(h fasthttp.RequestHandler) { s.handle.Store(&h) }

// answerRemote answers as an infergate /v1/predictions does, without a
// prediction: the router labels the probability itself.
func answerRemote(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"model_id":"chain","probability":0.75,"model_version":"2.0.0","latency_ms":0.3,"request_id":"r1"}`)
}

func failRemote(status int) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":{"code":"injected","message":"injected failure"}}`)
	}
}

// TestRemoteInChain: a remote infergate as the tier after a failing primary,
// then, once it is down, static.
func TestRemoteInChain(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	srv := startRemote(t, answerRemote)
	table := load(t, store, gates, router.RouteConfig{
		Name: "chain", Breaker: router.BreakerConfig{Disabled: true},
		Targets: []router.TargetConfig{
			{Name: "remote", Remote: &remote.Config{URL: srv.url}},
			{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}},
		},
		Fallbacks: []string{"remote", "static"},
	})
	route := lookup(t, table, "chain")
	d := demoRows(t)
	gates.Gate("1.0.0").Fail(errInjected)

	for i := range 20 {
		a := d.do(route, ask{row: i, timeout: waitFor})
		if a.err != nil || a.target() != "remote" || a.res.ModelVersion != "2.0.0" || a.res.Probability != 0.75 ||
			a.res.Label != "high_risk" || !a.res.Fallback || a.res.Reason != "failed" {
			t.Fatalf("row %d: target %s %+v, err %v; want the remote's 2.0.0 0.75, labelled high_risk by the primary's thresholds",
				i, a.target(), a.res, a.err)
		}
	}
	var body struct {
		ModelID  string         `json:"model_id"`
		Features map[string]any `json:"features"`
	}
	srv.mu.Lock()
	err := json.Unmarshal(srv.lastBody, &body)
	to := srv.lastTO
	srv.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if body.ModelID != "chain" || body.Features["tenure_months"] != d.number(19, "tenure_months") || body.Features["contract"] != d.text(19, "contract") {
		t.Errorf("the remote got %+v, want model_id chain and row 19's features", body)
	}
	if to == "" {
		t.Error("the remote got no X-Request-Timeout with a request that has a deadline")
	}

	if err := srv.srv.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		a := d.do(route, ask{row: i, timeout: waitFor})
		if a.err != nil || a.target() != "static" || a.res.Reason != "failed" {
			t.Fatalf("remote down, row %d: target %s %+v, err %v; want static", i, a.target(), a.res, a.err)
		}
	}
}

// TestRemoteRetries: a remote that answers 503 is retried, one that answers
// 504 (a timeout with time still left) is not.
func TestRemoteRetries(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	srv := startRemote(t, answerRemote)
	table := load(t, store, gates, router.RouteConfig{
		Name: "chain", Breaker: router.BreakerConfig{Disabled: true},
		Targets: []router.TargetConfig{
			{Name: "remote", Remote: &remote.Config{URL: srv.url},
				Breaker: router.BreakerConfig{Disabled: true},
				Retry:   router.RetryConfig{Attempts: 2, Backoff: time.Millisecond}},
			{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}},
		},
		Fallbacks: []string{"remote", "static"},
	})
	route := lookup(t, table, "chain")
	d := demoRows(t)
	gates.Gate("1.0.0").Fail(errInjected)

	f := func(h fasthttp.RequestHandler, wantTarget string, wantHits int64) {
		t.Helper()
		srv.set(h)
		srv.hits.Store(0)
		a := d.do(route, ask{timeout: waitFor})
		if a.err != nil || a.target() != wantTarget {
			t.Fatalf("target %s %+v, err %v; want %s", a.target(), a.res, a.err, wantTarget)
		}
		if got := srv.hits.Load(); got != wantHits {
			t.Fatalf("the remote was called %d times, want %d", got, wantHits)
		}
	}
	f(answerRemote, "remote", 1)
	f(failRemote(fasthttp.StatusServiceUnavailable), "static", 3) // the call and 2 retries
	f(failRemote(fasthttp.StatusGatewayTimeout), "static", 1)     // a timeout: no retry

	// Unavailable once, then answering: the retry answers.
	var calls atomic.Int64
	f(func(ctx *fasthttp.RequestCtx) {
		if calls.Add(1) == 1 {
			failRemote(fasthttp.StatusServiceUnavailable)(ctx)
			return
		}
		answerRemote(ctx)
	}, "remote", 2)
}

// TestRemoteRejectionsKeepBreakerClosed: a remote that rejects requests as
// invalid (a 4xx: remote.ErrRejected, which the router classifies as
// invalid_input) says nothing of its health, so its breaker stays closed,
// as the router's own input errors leave the model targets' breakers.
func TestRemoteRejectionsKeepBreakerClosed(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	srv := startRemote(t, failRemote(fasthttp.StatusBadRequest))
	table := load(t, store, gates, router.RouteConfig{
		Name: "chain", Breaker: router.BreakerConfig{Disabled: true},
		Targets: []router.TargetConfig{
			{Name: "remote", Remote: &remote.Config{URL: srv.url},
				Breaker: router.BreakerConfig{MinRequests: 5, FailureRatio: 0.5, Cooldown: time.Minute}},
			{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}},
		},
		Fallbacks: []string{"remote", "static"},
	})
	route := lookup(t, table, "chain")
	d := demoRows(t)
	gates.Gate("1.0.0").Fail(errInjected)

	for i := range 10 {
		if a := d.do(route, ask{row: i, timeout: waitFor}); a.err != nil || a.target() != "static" {
			t.Fatalf("remote rejecting, row %d: target %s %+v, err %v; want static", i, a.target(), a.res, a.err)
		}
	}
	st := route.Targets()[1].Breaker()
	srv.set(answerRemote)
	a := d.do(route, ask{timeout: waitFor})
	if st.State != "closed" || a.target() != "remote" {
		t.Fatalf("after 10 requests the remote rejected as invalid: its breaker %+v, and the next request was answered by %s; "+
			"want the breaker closed and the remote answering", st, a.target())
	}
}

// TestServeAll: a batch of requests served at once gets each request's own
// answer (the one Serve gives it alone), in order, and batches form; a nil
// request (one whose Prepare failed) is skipped.
func TestServeAll(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	route := lookup(t, load(t, store, gates, router.RouteConfig{
		Name: "batch", Batching: batcher.Config{MaxBatchSize: 16},
	}), "batch")
	d := demoRows(t)
	const n = 64
	reqs := make([]*router.Request, n)
	res := make([]router.Result, n)
	errs := make([]error, n)
	for i := range reqs {
		if i == 7 {
			continue // as if its Prepare had failed
		}
		reqs[i] = router.AcquireRequest()
		d.fill(reqs[i], i)
		reqs[i].Deadline = time.Now().Add(5 * time.Second)
		if _, err := route.Prepare(reqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Hold the model until every request is queued or held, so that they
	// are seen to reach the batcher together.
	gate := gates.Gate("1.0.0")
	gate.Hold()
	done := make(chan struct{})
	go func() { route.ServeAll(reqs, res, errs); close(done) }()
	poll(t, "every request to be queued or held", func() bool {
		return gate.Blocked()+route.Target().QueueDepth() == n-1
	})
	gate.Release()
	<-done
	for i, req := range reqs {
		if req == nil {
			if errs[i] != nil || res[i].Target != nil {
				t.Errorf("request %d was skipped but has an answer %+v, %v", i, res[i], errs[i])
			}
			continue
		}
		router.ReleaseRequest(req)
		alone := d.do(route, ask{row: i, timeout: 5 * time.Second})
		if errs[i] != nil || alone.err != nil || res[i].Probability != alone.res.Probability {
			t.Errorf("request %d: batch %v %v, alone %v %v", i, res[i].Probability, errs[i], alone.res.Probability, alone.err)
		}
	}
	if got := gates.Gate("1.0.0").MaxBatch(); got < 2 {
		t.Errorf("largest batch %d: the batch's requests did not reach the batcher together", got)
	}
}

// TestSkipModels: a request whose features only the feature store could
// give, and whose policy says fall back, is answered by the first fallback
// that is not a model, without the models being asked; a route with only
// model fallbacks cannot answer it.
func TestSkipModels(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates,
		router.RouteConfig{
			Name: "skip",
			Targets: []router.TargetConfig{
				{Name: "backup", Version: "1.1.0"},
				{Name: "static", Static: &router.StaticConfig{Probability: probability(0.2)}},
			},
			Fallbacks: []string{"backup", "static"},
		},
		router.RouteConfig{
			Name:      "models-only",
			Targets:   []router.TargetConfig{{Name: "backup", Version: "1.1.0"}},
			Fallbacks: []string{"backup"},
		})
	serve := func(route string) (router.Result, error) {
		req := router.AcquireRequest()
		defer router.ReleaseRequest(req)
		req.SkipModels()
		if input, err := lookup(t, table, route).Prepare(req); err != nil || input != nil {
			t.Fatalf("Prepare: %v, %v; want no input", input, err)
		}
		var res router.Result
		err := lookup(t, table, route).Serve(req, &res)
		return res, err
	}
	res, err := serve("skip")
	if err != nil || res.Target == nil || res.Target.Name() != "static" || !res.Fallback || res.Reason != "features_unavailable" || res.Probability != 0.2 {
		t.Fatalf("skip: %+v, %v", res, err)
	}
	if rows := gates.Gate("1.0.0").Rows() + gates.Gate("1.1.0").Rows(); rows != 0 {
		t.Fatalf("the models computed %d rows", rows)
	}
	if _, err := serve("models-only"); !errors.Is(err, router.ErrUnavailable) {
		t.Fatalf("models-only: %v, want ErrUnavailable", err)
	}
}
