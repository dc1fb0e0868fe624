package gateway_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/rules"
	"github.com/valyala/fasthttp"
)

// errInjected is what a failing gate makes the model's batches return.
var errInjected = errors.New("injected failure")

// withTenure is bodyFor(route) with tenure_months set to months.
func withTenure(route string, months int) string {
	return strings.Replace(bodyFor(route), `"tenure_months":3,`, `"tenure_months":`+strconv.Itoa(months)+`,`, 1)
}

// TestFallbackChainAnswersEveryRequest: a route whose primary fails every
// batch still answers every request 200, from its rules target when a rule
// matches and from its static target otherwise, and says so in the body and
// the headers. The primary's breaker opens on the way, which the admin API
// shows.
func TestFallbackChainAnswersEveryRequest(t *testing.T) {
	t.Parallel()
	const route = "churn-fallback"
	gates := servingtest.NewGates(t)
	gates.Gate("1.0.0").Fail(errInjected)
	table := loadTable(t, servingtest.Store(t), gates, router.RouteConfig{
		Name: route, Model: servingtest.Route,
		Targets: []router.TargetConfig{
			{Name: "rules", Rules: []rules.Rule{{When: []string{"tenure_months < 12"}, Prediction: "new-customer-risk", Probability: ptr(0.8)}}},
			{Name: "static", Static: &router.StaticConfig{Prediction: "unknown", Probability: ptr(0.3)}},
		},
		Fallbacks: []string{"rules", "static"},
	})
	releaseGates(t, gates)
	s := serveTable(t, table, gateway.Config{})

	// Tenure 0–23: half the requests match the rule.
	const n = 500
	replies := burst(t, s.public, n, 16, func(i int) string { return withTenure(route, i%24) })
	served, wantServed := map[string]int{}, map[string]int{}
	reasons := map[string]int{}
	for i, r := range replies {
		if r.status != fasthttp.StatusOK {
			t.Errorf("request %d: status %d, body %s", i, r.status, r.body)
			continue
		}
		var p prediction
		decode(t, r, &p)
		want := prediction{ModelID: route, Route: route, Target: "static", Prediction: "unknown", Fallback: true, Reason: p.Reason}
		if i%24 < 12 {
			want.Target, want.Prediction = "rules", "new-customer-risk"
		}
		wantServed[want.Target]++
		got := prediction{ModelID: p.ModelID, Route: p.Route, Target: p.Target, Prediction: p.Prediction,
			Fallback: p.Fallback, Reason: p.Reason, ModelVersion: p.ModelVersion, Cached: p.Cached}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("request %d: got %+v, want %+v", i, got, want)
		}
		if wantP := map[string]float64{"rules": 0.8, "static": 0.3}[want.Target]; p.Probability == nil || *p.Probability != wantP {
			t.Errorf("request %d: probability %v, want %v", i, p.Probability, wantP)
		}
		if p.Reason != "failed" && p.Reason != "breaker_open" {
			t.Errorf("request %d: fallback_reason %q, want failed or breaker_open", i, p.Reason)
		}
		if r.get("X-Infergate-Route") != route || r.get("X-Infergate-Target") != p.Target ||
			r.get("X-Infergate-Fallback") != p.Reason || r.get("X-Infergate-Model-Version") != "" {
			t.Errorf("request %d: headers %v do not match the body %s", i, r.header, r.body)
		}
		served[p.Target]++
		reasons[p.Reason]++
	}
	t.Logf("served %v, fallback reasons %v", served, reasons)
	if fmt.Sprint(served) != fmt.Sprint(wantServed) {
		t.Errorf("served %v, want %v", served, wantServed)
	}
	// The breaker trips after its 20 first failures (the default
	// min_requests); from then on the primary is skipped.
	if reasons["failed"] == 0 || reasons["breaker_open"] == 0 {
		t.Errorf("fallback reasons %v: want both failed (before the breaker opened) and breaker_open", reasons)
	}

	var st routeStatusJSON
	decode(t, do(t, s.admin, fasthttp.MethodGet, "/v1/routes/"+route, ""), &st)
	// Open, or half-open when its 5s cooldown passed on a slow machine.
	// (A breaker's counts start again at each change of state.)
	if b := st.Targets[0].Breaker; st.Targets[0].Name != "primary" || (b.State != "open" && b.State != "half-open") {
		t.Errorf("primary target %+v: want its breaker open", st.Targets[0])
	}
	exposition := do(t, s.admin, fasthttp.MethodGet, "/metrics", "").body
	for _, target := range []string{"rules", "static"} {
		series := `infergate_route_served_total{route="` + route + `",target="` + target + `"}`
		if v, ok := metricValue(exposition, series); !ok || v != float64(wantServed[target]) {
			t.Errorf("%s = %v (found %v), want %d", series, v, ok, wantServed[target])
		}
	}
}
