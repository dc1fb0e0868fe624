package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/remote"
	"github.com/infergate/infergate/router/rules"
)

// fullRoute is a valid route that uses every block: a model, a remote, a
// rules and a static target, fallbacks, a sticky canary with analysis, a
// shadow, and the primary's timeout, breaker and retry. Each call returns a
// fresh copy that a test may change.
func fullRoute() router.RouteConfig {
	return router.RouteConfig{
		Name:    "churn",
		Model:   demo,
		Timeout: 200 * time.Millisecond,
		Breaker: router.BreakerConfig{MinRequests: 10, Cooldown: time.Second},
		Retry:   router.RetryConfig{Attempts: 1},
		Targets: []router.TargetConfig{
			{Name: "candidate", Version: "1.1.0"},
			{Name: "remote", Remote: &remote.Config{URL: "http://127.0.0.1:1"}, Timeout: 50 * time.Millisecond},
			{Name: "rules", Rules: []rules.Rule{{When: []string{"tenure_months < 6"}, Probability: probability(0.8)}}},
			{Name: "static", Static: &router.StaticConfig{Probability: probability(0.2)}},
		},
		Fallbacks: []string{"remote", "rules", "static"},
		Canary: &router.CanaryConfig{
			Target:   "candidate",
			Sticky:   router.StickyConfig{Header: "X-User"},
			Analysis: &router.AnalysisConfig{Steps: []float64{5, 25, 100}},
		},
		Shadow: &router.ShadowConfig{Targets: []string{"candidate"}},
	}
}

func TestValidateBlocks(t *testing.T) {
	t.Parallel()
	// f changes fullRoute with change and checks Validate's lines.
	f := func(change func(r *router.RouteConfig), wantLines ...string) {
		t.Helper()
		r := fullRoute()
		change(&r)
		routes := []router.RouteConfig{r}
		routes[0].ApplyDefaults()
		got := ""
		if err := router.Validate(routes); err != nil {
			got = err.Error()
		}
		if want := strings.Join(wantLines, "\n"); got != want {
			t.Fatalf("got:\n%s\nwant:\n%s", got, want)
		}
	}
	addTarget := func(tc router.TargetConfig) func(r *router.RouteConfig) {
		return func(r *router.RouteConfig) { r.Targets = append(r.Targets, tc) }
	}
	static := &router.StaticConfig{Probability: probability(0.5)}
	const known = `"candidate", "primary", "remote", "rules", "static"`

	// The full route is valid.
	f(func(*router.RouteConfig) {})

	// Targets: names, kinds and each kind's own fields.
	f(addTarget(router.TargetConfig{Static: static}),
		"routes[churn].targets[4].name: must not be empty")
	f(addTarget(router.TargetConfig{Name: "primary", Static: static}),
		`routes[churn].targets[4].name: "primary" is the route's own model; name this target otherwise`)
	f(addTarget(router.TargetConfig{Name: "rules", Static: static}),
		`routes[churn].targets[4].name: duplicate target "rules"; target names must be unique in a route`)
	f(addTarget(router.TargetConfig{Name: "none"}),
		"routes[churn].targets[none]: set exactly one of version (a registry model version), remote, rules or static")
	f(addTarget(router.TargetConfig{Name: "both", Version: "1.1.0", Static: static}),
		"routes[churn].targets[both]: set exactly one of version (a registry model version), remote, rules or static")
	f(addTarget(router.TargetConfig{Name: "m", Model: "Churn", Version: "V1", Batching: batcher.Config{Instances: -1}}),
		`routes[churn].targets[m].model: model name "Churn": invalid name: must match [a-z0-9][a-z0-9._-]* (at most 128 bytes)`,
		`routes[churn].targets[m].version: "V1" is neither a version (MAJOR.MINOR.PATCH such as "1.0.0") nor an alias (such as "production"): invalid name`,
		"routes[churn].targets[m].batching.instances: must be at least 1, got -1")
	f(addTarget(router.TargetConfig{Name: "r", Remote: &remote.Config{URL: "ftp://churn-b", MaxConns: -1}}),
		`routes[churn].targets[r].remote.url: "ftp://churn-b" must start with http:// or https://`,
		"routes[churn].targets[r].remote.max_conns: must be positive, got -1")
	f(addTarget(router.TargetConfig{Name: "x", Rules: []rules.Rule{}}),
		"routes[churn].targets[x].rules: at least one rule is required")
	f(addTarget(router.TargetConfig{Name: "x", Rules: []rules.Rule{{When: []string{"a < 1"}}, {Probability: probability(2)}}}),
		"routes[churn].targets[x].rules[0].probability: required: a number between 0 and 1",
		"routes[churn].targets[x].rules[1].probability: must be between 0 and 1, got 2")
	f(addTarget(router.TargetConfig{Name: "s", Static: &router.StaticConfig{}}),
		"routes[churn].targets[s].static.probability: required: a number between 0 and 1 (or outputs, on a route that takes tensors)")
	f(addTarget(router.TargetConfig{Name: "s", Static: &router.StaticConfig{Probability: probability(1.5)}}),
		"routes[churn].targets[s].static.probability: must be between 0 and 1, got 1.5")

	// Timeout, breaker and retry, of a target and of the route.
	f(func(r *router.RouteConfig) {
		r.Targets[1].Timeout = -time.Second
		r.Targets[1].Breaker = router.BreakerConfig{FailureRatio: 1.5, Window: -time.Second, Cooldown: -time.Second}
		r.Targets[1].Retry = router.RetryConfig{Attempts: -1, Backoff: -time.Millisecond}
		r.Breaker.FailureRatio = -0.5
		r.Retry = router.RetryConfig{Backoff: 200 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	},
		"routes[churn].breaker.failure_ratio: must be in (0, 1], got -0.5",
		"routes[churn].retry.max_backoff: 50ms is below retry.backoff 200ms",
		"routes[churn].targets[remote].timeout: must not be negative, got -1s",
		"routes[churn].targets[remote].breaker.failure_ratio: must be in (0, 1], got 1.5",
		"routes[churn].targets[remote].breaker.window: must be positive, got -1s",
		"routes[churn].targets[remote].breaker.cooldown: must be positive, got -1s",
		"routes[churn].targets[remote].retry.attempts: must not be negative, got -1",
		"routes[churn].targets[remote].retry.backoff: must be positive, got -1ms")
	// A disabled breaker's fields are not checked.
	f(func(r *router.RouteConfig) {
		r.Breaker = router.BreakerConfig{Disabled: true, FailureRatio: 7, Window: -1, Cooldown: -1}
	})

	// Fallbacks: every problem of the list at once.
	f(func(r *router.RouteConfig) {
		r.Fallbacks = []string{"remote", "rules-v9", "primary", "static", "static"}
	},
		`routes[churn].fallbacks[1]: unknown target "rules-v9"; name one of `+known,
		"routes[churn].fallbacks[2]: the primary is tried first already; list only the targets after it",
		`routes[churn].fallbacks[4]: "static" is listed twice`)

	// Canary.
	f(func(r *router.RouteConfig) { r.Canary.Target = "nope" },
		`routes[churn].canary.target: unknown target "nope"; name one of `+known)
	f(func(r *router.RouteConfig) { r.Canary.Target = "primary" },
		"routes[churn].canary.target: the candidate must be another target than the primary")
	f(func(r *router.RouteConfig) { r.Canary.Target, r.Canary.Analysis = "static", nil },
		`routes[churn].canary.target: "static" is a static target; a candidate is a model version or a remote endpoint`)
	f(func(r *router.RouteConfig) { r.Canary.Target, r.Canary.Analysis = "rules", nil },
		`routes[churn].canary.target: "rules" is a rules target; a candidate is a model version or a remote endpoint`)
	// A remote candidate is fine without analysis, not with it.
	f(func(r *router.RouteConfig) { r.Canary.Target, r.Canary.Analysis = "remote", nil })
	f(func(r *router.RouteConfig) { r.Canary.Target = "remote" },
		"routes[churn].canary.analysis: promotion moves a registry alias, so the candidate must be a model version, not a remote target")
	f(func(r *router.RouteConfig) {
		r.Canary.Weight, r.Canary.Analysis = 120, nil
		r.Canary.Sticky.Feature = "customer_id"
	},
		"routes[churn].canary.weight: must be a percentage from 0 to 100, got 120",
		"routes[churn].canary.sticky: set header or feature, not both")

	// Canary analysis.
	f(func(r *router.RouteConfig) { r.Canary.Analysis.Steps = nil },
		"routes[churn].canary.analysis.steps: list the weights to step through, e.g. [5, 25, 50, 100]")
	f(func(r *router.RouteConfig) { r.Canary.Analysis.Steps = []float64{50, 20, 120} },
		"routes[churn].canary.analysis.steps[1]: steps must ascend, 20 follows 50",
		"routes[churn].canary.analysis.steps[2]: must be a percentage from 0 to 100, got 120")
	f(func(r *router.RouteConfig) {
		*r.Canary.Analysis = router.AnalysisConfig{
			Steps: []float64{10, 100}, MinRequests: -1, Dwell: -time.Second, Interval: -time.Millisecond,
			MaxErrorRate: 1.5, MaxP99Ratio: 0.5, P99Slack: -time.Millisecond, MinAgreement: 1.01, PromoteAlias: "1.1.0",
		}
	},
		"routes[churn].canary.analysis.min_requests: must be at least 1, got -1",
		"routes[churn].canary.analysis.dwell: must be positive, got -1s",
		"routes[churn].canary.analysis.interval: must be positive, got -1ms",
		"routes[churn].canary.analysis.max_error_rate: must be in [0, 1], got 1.5",
		"routes[churn].canary.analysis.max_p99_ratio: must be at least 1, got 0.5",
		"routes[churn].canary.analysis.p99_slack: must not be negative, got -1ms",
		"routes[churn].canary.analysis.min_agreement: must be in [0, 1], got 1.01",
		`routes[churn].canary.analysis.promote_alias: alias "1.1.0": invalid name: must match [a-z][a-z0-9_-]* (at most 128 bytes)`)

	// Shadow.
	f(func(r *router.RouteConfig) { r.Shadow.Targets = nil },
		"routes[churn].shadow.targets: name at least one target to mirror requests to")
	f(func(r *router.RouteConfig) {
		*r.Shadow = router.ShadowConfig{Targets: []string{"remote", "nope", "primary"}, Sample: 150, Queue: -1, Workers: -2}
	},
		`routes[churn].shadow.targets[1]: unknown target "nope"; name one of `+known,
		"routes[churn].shadow.targets[2]: the primary answers the client; shadow another target",
		"routes[churn].shadow.sample: must be in (0, 100] percent, got 150",
		"routes[churn].shadow.queue: must be at least 1, got -1",
		"routes[churn].shadow.workers: must be at least 1, got -2")
}

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	r := fullRoute()
	r.Version = "staging"
	r.ApplyDefaults()

	wantBreaker := router.BreakerConfig{FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, Cooldown: 5 * time.Second, Probes: 3}
	wantRetry := router.RetryConfig{Backoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	// The route's own blocks keep what they set.
	if got := r.Breaker; got != (router.BreakerConfig{FailureRatio: 0.5, MinRequests: 10, Window: 10 * time.Second, Cooldown: time.Second, Probes: 3}) {
		t.Errorf("route breaker %+v", got)
	}
	if got := r.Retry; got != (router.RetryConfig{Attempts: 1, Backoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}) {
		t.Errorf("route retry %+v", got)
	}
	for _, tc := range r.Targets {
		if tc.Breaker != wantBreaker || tc.Retry != wantRetry {
			t.Errorf("target %s: breaker %+v retry %+v, want %+v and %+v", tc.Name, tc.Breaker, tc.Retry, wantBreaker, wantRetry)
		}
	}
	if m := r.Targets[0].Model; m != demo {
		t.Errorf("model target's model %q, want the route's %q", m, demo)
	}
	if rc := r.Targets[1].Remote; rc.Model != "churn" || rc.Protocol != remote.ProtocolInfergate || rc.MaxConns != remote.DefaultMaxConns {
		t.Errorf("remote defaults %+v, want model churn (the route's name), protocol infergate", rc)
	}
	a := r.Canary.Analysis
	want := router.AnalysisConfig{Steps: a.Steps, MinRequests: 100, Dwell: time.Minute, Interval: time.Second,
		MaxErrorRate: 0.02, MaxP99Ratio: 1.5, P99Slack: time.Millisecond, MinAgreement: 0.9,
		PromoteAlias: "staging"} // the primary's alias
	if a.MinRequests != want.MinRequests || a.Dwell != want.Dwell || a.Interval != want.Interval ||
		a.MaxErrorRate != want.MaxErrorRate || a.MaxP99Ratio != want.MaxP99Ratio || a.P99Slack != want.P99Slack ||
		a.MinAgreement != want.MinAgreement || a.PromoteAlias != want.PromoteAlias {
		t.Errorf("analysis defaults %+v, want %+v", *a, want)
	}
	if r.Canary.Weight != 5 {
		t.Errorf("canary weight %g, want the first step's 5", r.Canary.Weight)
	}
	if s := r.Shadow; s.Sample != 100 || s.Queue != 1024 || s.Workers != 2 {
		t.Errorf("shadow defaults %+v", *s)
	}

	// A primary pinned to a version promotes production.
	p := fullRoute()
	p.Version = "1.0.0"
	p.ApplyDefaults()
	if got := p.Canary.Analysis.PromoteAlias; got != "production" {
		t.Errorf("promote_alias of a pinned primary %q, want production", got)
	}
}

// TestLoadFullRoute loads the route with every block and checks what the
// table says about it.
func TestLoadFullRoute(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	route := lookup(t, load(t, store, gates, fullRoute()), "churn")

	var names []string
	for _, tg := range route.Targets() {
		names = append(names, tg.Name()+":"+tg.Kind().String())
	}
	if got, want := strings.Join(names, ","), "primary:model,candidate:model,remote:remote,rules:rules,static:static"; got != want {
		t.Errorf("targets %s, want %s", got, want)
	}
	names = names[:0]
	for _, tg := range route.Fallbacks() {
		names = append(names, tg.Name())
	}
	if got, want := strings.Join(names, ","), "remote,rules,static"; got != want {
		t.Errorf("fallbacks %s, want %s", got, want)
	}
	if route.Primary().Model().Version() != "1.0.0" || route.Targets()[1].Model().Version() != "1.1.0" {
		t.Errorf("primary %s, candidate %s", route.Primary().Model().Version(), route.Targets()[1].Model().Version())
	}
	if h := route.StickyHeader(); h != "X-User" {
		t.Errorf("sticky header %q", h)
	}
	c := route.Canary()
	if c == nil || c.State != router.CanaryAnalysing || c.WeightPercent != 5 || c.Candidate != "candidate" || c.Sticky != "header X-User" {
		t.Errorf("canary %+v, want analysing candidate at 5%% sticky by X-User", c)
	}
	if st := route.Primary().Breaker(); st.State != "closed" {
		t.Errorf("primary breaker %+v", st)
	}
	if st := route.Targets()[3].Breaker(); st.State != "disabled" {
		t.Errorf("rules breaker %+v, want disabled (rules cannot be protected)", st)
	}
	if rep := route.ShadowReport(0); rep == nil || len(rep.Targets) != 1 || rep.Targets[0].Target != "candidate" {
		t.Errorf("shadow report %+v", rep)
	}
}

// TestValidateShadowTwice: a shadow target named twice must be a config
// error. Load would otherwise register its shadow metrics twice, which
// panics (and takes a hot reload's process down with it).
func TestValidateShadowTwice(t *testing.T) {
	t.Parallel()
	r := fullRoute()
	r.Shadow.Targets = []string{"candidate", "remote", "candidate"}
	routes := []router.RouteConfig{r}
	routes[0].ApplyDefaults()
	err := router.Validate(routes)
	if err == nil || !strings.Contains(err.Error(), "routes[churn].shadow.targets[2]:") || !strings.Contains(err.Error(), `"candidate"`) {
		t.Errorf("Validate of shadow targets [candidate, remote, candidate]: %v, want an error at routes[churn].shadow.targets[2] naming \"candidate\"", err)
	}

	store, gates := twoVersions(t)
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("Load panicked: %v", p)
			}
		}()
		table, err := router.Load([]router.RouteConfig{r}, store, gates)
		if err == nil {
			_ = table.Close()
			t.Error("Load of shadow targets [candidate, remote, candidate]: no error")
		}
	}()
}
