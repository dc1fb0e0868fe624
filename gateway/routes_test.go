package gateway_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/router/rules"
	"github.com/valyala/fasthttp"
)

// routeStatusJSON is one route of GET /v1/routes, as a client reads it.
type routeStatusJSON struct {
	Name    string `json:"name"`
	Ref     string `json:"ref"`
	Primary struct {
		Model   string `json:"model"`
		Version string `json:"version"`
	} `json:"primary"`
	Targets []struct {
		Name    string              `json:"name"`
		Kind    string              `json:"kind"`
		Model   string              `json:"model"`
		Version string              `json:"version"`
		Breaker router.BreakerState `json:"breaker"`
	} `json:"targets"`
	Fallbacks []string             `json:"fallbacks"`
	Canary    *router.CanaryStatus `json:"canary"`
	Shadow    *struct {
		Targets  []string `json:"targets"`
		Mirrored uint64   `json:"mirrored"`
		Dropped  uint64   `json:"dropped"`
		Skipped  uint64   `json:"skipped"`
	} `json:"shadow"`
}

// summary is the route in one line, for comparisons.
func (r *routeStatusJSON) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ref=%s primary=%s@%s targets=", r.Name, r.Ref, r.Primary.Model, r.Primary.Version)
	for i, t := range r.Targets {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%s", t.Name, t.Kind)
		if t.Version != "" {
			fmt.Fprintf(&b, ":%s@%s", t.Model, t.Version)
		}
		fmt.Fprintf(&b, ":%s", t.Breaker.State)
	}
	fmt.Fprintf(&b, " fallbacks=%v", r.Fallbacks)
	if c := r.Canary; c != nil {
		fmt.Fprintf(&b, " canary=%s:%g%%:%s:steps%v", c.Candidate, c.WeightPercent, c.State, c.Steps)
	} else {
		b.WriteString(" canary=null")
	}
	if s := r.Shadow; s != nil {
		fmt.Fprintf(&b, " shadow=%v", s.Targets)
	} else {
		b.WriteString(" shadow=null")
	}
	return b.String()
}

// Routes of the admin API tests.
const (
	routeAnalysed = "churn-analysed" // canary with analysis, shadow, fallbacks
	routeManual   = "churn-manual"   // canary without analysis
	routePlain    = "churn-plain"    // the primary alone
)

// routesServer serves the three routes above over one registry holding the
// demo model as 1.0.0 (production) and 2.0.0.
func routesServer(t *testing.T) *server {
	t.Helper()
	store := servingtest.Store(t)
	servingtest.RegisterVersion(t, store, "2.0.0")
	candidate := router.TargetConfig{Name: "candidate", Version: "2.0.0"}
	table := loadTable(t, store, servingtest.NewGates(t),
		router.RouteConfig{
			Name: routeAnalysed, Model: servingtest.Route,
			Targets: []router.TargetConfig{
				candidate,
				{Name: "rules", Rules: []rules.Rule{{When: []string{"tenure_months < 12"}, Probability: ptr(0.8)}}},
				{Name: "static", Static: &router.StaticConfig{Probability: ptr(0.3)}},
			},
			Fallbacks: []string{"rules", "static"},
			// An interval of an hour: the analysis never judges a step
			// while the test runs.
			Canary: &router.CanaryConfig{Target: "candidate", Analysis: &router.AnalysisConfig{
				Steps: []float64{10, 50, 100}, Interval: time.Hour}},
			Shadow: &router.ShadowConfig{Targets: []string{"candidate"}},
		},
		router.RouteConfig{
			Name: routeManual, Model: servingtest.Route,
			Targets: []router.TargetConfig{candidate},
			Canary:  &router.CanaryConfig{Target: "candidate", Weight: 0},
		},
		router.RouteConfig{Name: routePlain, Model: servingtest.Route},
	)
	return serveTable(t, table, gateway.Config{})
}

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	s := routesServer(t)
	r := do(t, s.admin, fasthttp.MethodGet, "/v1/routes", "")
	if r.status != fasthttp.StatusOK || r.get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/routes: status %d, Content-Type %q, body %s", r.status, r.get("Content-Type"), r.body)
	}
	var list struct {
		Routes []routeStatusJSON `json:"routes"`
	}
	decode(t, r, &list)
	var got []string
	for i := range list.Routes {
		got = append(got, list.Routes[i].summary())
	}
	want := []string{
		routeAnalysed + " ref=production primary=customer-churn@1.0.0 targets=primary:model:customer-churn@1.0.0:closed," +
			"candidate:model:customer-churn@2.0.0:closed,rules:rules:disabled,static:static:disabled fallbacks=[rules static] " +
			"canary=candidate:10%:analysing:steps[10 50 100] shadow=[candidate]",
		routeManual + " ref=production primary=customer-churn@1.0.0 targets=primary:model:customer-churn@1.0.0:closed," +
			"candidate:model:customer-churn@2.0.0:closed fallbacks=[] canary=candidate:0%:manual:steps[] shadow=null",
		routePlain + " ref=production primary=customer-churn@1.0.0 targets=primary:model:customer-churn@1.0.0:closed " +
			"fallbacks=[] canary=null shadow=null",
	}
	if !slices.Equal(got, want) {
		t.Errorf("GET /v1/routes:\n%s\nwant:\n%s\nbody: %s", strings.Join(got, "\n"), strings.Join(want, "\n"), r.body)
	}
	// null, not absent: a client tells "no canary" from an old server.
	if !strings.Contains(string(r.body), `"canary": null`) || !strings.Contains(string(r.body), `"shadow": null`) {
		t.Errorf("a route without canary or shadow must say null: %s", r.body)
	}

	for i := range list.Routes {
		one := list.Routes[i]
		var st routeStatusJSON
		decode(t, do(t, s.admin, fasthttp.MethodGet, "/v1/routes/"+one.Name, ""), &st)
		if st.summary() != one.summary() {
			t.Errorf("GET /v1/routes/%s: %s, want the list's %s", one.Name, st.summary(), one.summary())
		}
	}
	if r := do(t, s.admin, fasthttp.MethodHead, "/v1/routes/"+routePlain, ""); r.status != fasthttp.StatusOK {
		t.Errorf("HEAD /v1/routes/%s: status %d", routePlain, r.status)
	}

	f := func(method, path string, status int, code, allow string) {
		t.Helper()
		r := do(t, s.admin, method, path, "")
		wantError(t, r, status, code, "")
		if r.get("Allow") != allow {
			t.Errorf("%s %s: Allow %q, want %q", method, path, r.get("Allow"), allow)
		}
	}
	f(fasthttp.MethodGet, "/v1/routes/no-such-route", fasthttp.StatusNotFound, "model_not_found", "")
	f(fasthttp.MethodGet, "/v1/routes/no-such-route/shadow", fasthttp.StatusNotFound, "model_not_found", "")
	f(fasthttp.MethodPost, "/v1/routes/no-such-route/canary", fasthttp.StatusNotFound, "model_not_found", "")
	f(fasthttp.MethodGet, "/v1/routes/", fasthttp.StatusNotFound, "not_found", "")
	f(fasthttp.MethodGet, "/v1/routes/"+routePlain+"/breakers", fasthttp.StatusNotFound, "not_found", "")
	f(fasthttp.MethodGet, "/v1/routes/"+routePlain+"/", fasthttp.StatusNotFound, "not_found", "")
	f(fasthttp.MethodGet, "/v1/routes/"+routeAnalysed+"/shadow/x", fasthttp.StatusNotFound, "not_found", "")
	f(fasthttp.MethodPost, "/v1/routes", fasthttp.StatusMethodNotAllowed, "method_not_allowed", "GET")
	f(fasthttp.MethodPost, "/v1/routes/"+routePlain, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "GET")
	f(fasthttp.MethodDelete, "/v1/routes/"+routeAnalysed+"/shadow", fasthttp.StatusMethodNotAllowed, "method_not_allowed", "GET")
	f(fasthttp.MethodGet, "/v1/routes/"+routeAnalysed+"/canary", fasthttp.StatusMethodNotAllowed, "method_not_allowed", "POST")
	f(fasthttp.MethodPut, "/v1/routes/"+routeAnalysed+"/canary", fasthttp.StatusMethodNotAllowed, "method_not_allowed", "POST")
	e := wantError(t, do(t, s.admin, fasthttp.MethodGet, "/v1/nope", ""), fasthttp.StatusNotFound, "not_found", "")
	if !strings.Contains(e.Error.Message, "GET /v1/routes") {
		t.Errorf("the admin listener's 404 does not list its endpoints: %s", e.Error.Message)
	}
}

// postCanary posts body to route's canary endpoint.
func postCanary(t *testing.T, s *server, route, body string) reply {
	t.Helper()
	return do(t, s.admin, fasthttp.MethodPost, "/v1/routes/"+route+"/canary", body, "Content-Type", "application/json")
}

func TestAdminCanary(t *testing.T) {
	t.Parallel()
	s := routesServer(t)
	canary := func(route string) *router.CanaryStatus {
		t.Helper()
		var st routeStatusJSON
		decode(t, do(t, s.admin, fasthttp.MethodGet, "/v1/routes/"+route, ""), &st)
		return st.Canary
	}
	ok := func(route, body string, weight float64, state string) {
		t.Helper()
		r := postCanary(t, s, route, body)
		if r.status != fasthttp.StatusOK {
			t.Fatalf("POST %s: status %d, body %s", body, r.status, r.body)
		}
		var c router.CanaryStatus
		decode(t, r, &c)
		if c.Candidate != "candidate" || c.WeightPercent != weight || c.State != state {
			t.Errorf("POST %s: canary %+v, want weight %g state %s", body, c, weight, state)
		}
		if now := canary(route); now.WeightPercent != weight || now.State != state {
			t.Errorf("after POST %s: GET says %+v", body, now)
		}
	}
	bad := func(route, body string, status int, code, field string) {
		t.Helper()
		before := canary(route)
		wantError(t, postCanary(t, s, route, body), status, code, field)
		if after := canary(route); after != nil && (after.WeightPercent != before.WeightPercent || after.State != before.State) {
			t.Errorf("POST %s changed the canary: %+v, was %+v", body, after, before)
		}
	}

	ok(routeAnalysed, `{"weight": 20}`, 20, router.CanaryManual)
	ok(routeAnalysed, `{"weight": 0.5}`, 0.5, router.CanaryManual)
	ok(routeAnalysed, `{"analysis": "restart"}`, 10, router.CanaryAnalysing)
	if c := canary(routeAnalysed); c.Step != 0 || !slices.Equal(c.Steps, []float64{10, 50, 100}) || c.Primary == nil {
		t.Errorf("after restart: %+v, want step 0 of [10 50 100] with its figures", c)
	}

	bad(routeAnalysed, `{"weight": 101}`, fasthttp.StatusBadRequest, "invalid_field", "weight")
	bad(routeAnalysed, `{"weight": -1}`, fasthttp.StatusBadRequest, "invalid_field", "weight")
	bad(routeAnalysed, `{"weight": "20"}`, fasthttp.StatusBadRequest, "invalid_field", "weight")
	bad(routeAnalysed, `{"weight": null}`, fasthttp.StatusBadRequest, "invalid_field", "weight")
	bad(routeAnalysed, `{"weight": 20, "analysis": "restart"}`, fasthttp.StatusBadRequest, "invalid_field", "weight")
	bad(routeAnalysed, `{"analysis": "stop"}`, fasthttp.StatusBadRequest, "invalid_field", "analysis")
	bad(routeAnalysed, `{"wieght": 20}`, fasthttp.StatusBadRequest, "invalid_field", "wieght")
	bad(routeAnalysed, `{}`, fasthttp.StatusBadRequest, "missing_field", "weight")
	bad(routeAnalysed, ``, fasthttp.StatusBadRequest, "invalid_json", "")
	bad(routeAnalysed, `{"weight": 20`, fasthttp.StatusBadRequest, "invalid_json", "")
	bad(routeAnalysed, `[20]`, fasthttp.StatusBadRequest, "invalid_json", "")
	bad(routeManual, `{"analysis": "restart"}`, fasthttp.StatusConflict, "not_configured", "")
	bad(routePlain, `{"weight": 20}`, fasthttp.StatusConflict, "not_configured", "")

	// The weight steers the traffic at once: all of it to the candidate
	// (2.0.0), then none.
	f := func(weight float64, target, version string) {
		t.Helper()
		ok(routeManual, fmt.Sprintf(`{"weight": %g}`, weight), weight, router.CanaryManual)
		for range 20 {
			r := s.predict(t, bodyFor(routeManual))
			var p prediction
			decode(t, r, &p)
			if r.status != fasthttp.StatusOK || p.Target != target || p.ModelVersion != version || p.Fallback {
				t.Fatalf("weight %g: status %d, body %s; want target %s, version %s", weight, r.status, r.body, target, version)
			}
		}
	}
	f(100, "candidate", "2.0.0")
	f(0, "primary", "1.0.0")
}

func TestAdminShadow(t *testing.T) {
	t.Parallel()
	s := routesServer(t)
	report := func(query string) router.ShadowReport {
		t.Helper()
		r := do(t, s.admin, fasthttp.MethodGet, "/v1/routes/"+routeAnalysed+"/shadow"+query, "")
		if r.status != fasthttp.StatusOK {
			t.Fatalf("GET shadow%s: status %d, body %s", query, r.status, r.body)
		}
		var rep router.ShadowReport
		decode(t, r, &rep)
		return rep
	}
	rep := report("")
	if rep.Route != routeAnalysed || rep.Window != "since start" || rep.Mirrored != 0 || len(rep.Targets) != 1 || rep.Targets[0].Target != "candidate" {
		t.Fatalf("before any request: %+v", rep)
	}
	const n = 30
	for i := range n {
		if r := s.predict(t, withTenure(routeAnalysed, 20+i)); r.status != fasthttp.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
	}
	// Every request is mirrored (sample 100%, a queue far larger than n);
	// wait for the workers to compare them.
	waitFor(t, "the shadow workers", func() bool {
		rep = report("?window=5m")
		return len(rep.Targets) == 1 && rep.Targets[0].Requests == n
	})
	c := rep.Targets[0]
	// 2.0.0 is the same model as 1.0.0: every answer agrees.
	if rep.Window != "5m0s" || rep.Mirrored != n || rep.Dropped != 0 || c.Compared != n || c.Agreement != 1 || len(c.Errors) != 0 {
		t.Errorf("after %d requests: %+v", n, rep)
	}
	var st routeStatusJSON
	decode(t, do(t, s.admin, fasthttp.MethodGet, "/v1/routes/"+routeAnalysed, ""), &st)
	if st.Shadow == nil || st.Shadow.Mirrored != n || st.Shadow.Dropped != 0 {
		t.Errorf("GET /v1/routes/%s: shadow %+v, want %d mirrored", routeAnalysed, st.Shadow, n)
	}

	f := func(path string, status int, code, field string) {
		t.Helper()
		wantError(t, do(t, s.admin, fasthttp.MethodGet, path, ""), status, code, field)
	}
	for _, w := range []string{"", "5", "abc", "-1m", "0s"} {
		f("/v1/routes/"+routeAnalysed+"/shadow?window="+w, fasthttp.StatusBadRequest, "invalid_field", "query.window")
	}
	f("/v1/routes/"+routePlain+"/shadow", fasthttp.StatusNotFound, "not_found", "")
}
