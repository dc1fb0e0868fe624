package gateway_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/trainer"
	"github.com/valyala/fasthttp"
)

// everyAnswer samples every answer into the drift window, so that counts
// are exact.
var everyAnswer = drift.RouteConfig{MonitorConfig: drift.MonitorConfig{SampleRate: 1, MinSamples: 100}}

// demoBody returns the /v1 body of row i (modulo the rows) of the demo
// data for route, its missing cells left out as a client does; shift
// scales monthly_charges.
func demoBody(t *testing.T, route string, i int, shift float64) string {
	t.Helper()
	_, data := servingtest.Demo(t)
	i %= data.Rows()
	f := map[string]any{}
	for _, c := range data.Columns {
		switch {
		case c.Name == trainer.ChurnTarget || c.Missing(i):
		case c.Kind == trainer.Categorical:
			f[c.Name] = c.Strings[i]
		case c.Name == "monthly_charges":
			f[c.Name] = c.Numbers[i] * shift
		default:
			f[c.Name] = c.Numbers[i]
		}
	}
	b, err := json.Marshal(map[string]any{"model_id": route, "features": f})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// driftReports returns the route's drift report by version.
func driftReports(t *testing.T, s *server, route string) map[string]drift.Report {
	t.Helper()
	var rep driftReply
	decode(t, do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+route+"/drift", ""), &rep)
	out := map[string]drift.Report{}
	for _, v := range rep.Versions {
		out[v.Version] = v.Report
	}
	return out
}

// TestDriftCountsServedAnswers: each model version a route serves is
// monitored on its own, and only the answers it gave are counted: a failed
// primary's requests count for the backup that answered them, a static
// answer for no version.
func TestDriftCountsServedAnswers(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	servingtest.RegisterVersion(t, store, "1.1.0", "staging")
	gates := servingtest.NewGates(t)
	const route = "watched"
	table := loadTable(t, store, gates, router.RouteConfig{
		Name: route, Model: servingtest.Route,
		Breaker: router.BreakerConfig{Disabled: true},
		Targets: []router.TargetConfig{
			{Name: "backup", Version: "1.1.0"},
			{Name: "static", Static: &router.StaticConfig{Probability: ptr(0.1)}},
		},
		Fallbacks: []string{"backup", "static"},
	})
	releaseGates(t, gates)
	s := serveTable(t, table, gateway.Config{Drift: map[string]drift.RouteConfig{route: everyAnswer}})
	serve := func(from, n int, want string) {
		t.Helper()
		for i := from; i < from+n; i++ {
			r := s.predict(t, demoBody(t, route, i, 1))
			if r.status != fasthttp.StatusOK || r.get("X-Infergate-Target") != want {
				t.Fatalf("row %d: status %d, target %s; want %s (%s)", i, r.status, r.get("X-Infergate-Target"), want, r.body)
			}
		}
	}
	serve(0, 600, router.PrimaryTarget)
	reports := driftReports(t, s, route)
	if len(reports) != 2 {
		t.Fatalf("versions %v, want 1.0.0 and 1.1.0", reports)
	}
	if p := reports["1.0.0"]; p.Samples != 600 || p.Verdict != drift.None || len(p.Drifted) != 0 {
		t.Fatalf("1.0.0 after 600 training rows: samples %d, verdict %s, drifted %v; want 600, none, []", p.Samples, p.Verdict, p.Drifted)
	}
	if n := reports["1.1.0"].Samples; n != 0 {
		t.Fatalf("1.1.0 answered nothing yet, but %d samples", n)
	}
	gates.Gate("1.0.0").Fail(errInjected)
	serve(600, 300, "backup")
	gates.Gate("1.1.0").Fail(errInjected)
	serve(900, 50, "static")
	reports = driftReports(t, s, route)
	if p, b := reports["1.0.0"].Samples, reports["1.1.0"].Samples; p != 600 || b != 300 {
		t.Fatalf("samples 1.0.0 %d, 1.1.0 %d; want 600 (its failures and static answers not counted) and 300", p, b)
	}
}

// TestDriftFindsTheShiftedFeature: traffic whose monthly_charges are
// raised by half drifts on that feature; the other features do not.
func TestDriftFindsTheShiftedFeature(t *testing.T) {
	t.Parallel()
	const route = "shifted"
	gates := servingtest.NewGates(t)
	table := loadTable(t, servingtest.Store(t), gates, router.RouteConfig{Name: route, Model: servingtest.Route})
	releaseGates(t, gates)
	s := serveTable(t, table, gateway.Config{Drift: map[string]drift.RouteConfig{route: everyAnswer}})
	for i := range 1000 {
		if r := s.predict(t, demoBody(t, route, i, 1.5)); r.status != fasthttp.StatusOK {
			t.Fatalf("row %d: %d %s", i, r.status, r.body)
		}
	}
	r := driftReports(t, s, route)["1.0.0"]
	if !slices.Equal(r.Drifted, []string{"monthly_charges"}) || r.Verdict != drift.Drift {
		for _, f := range r.Features {
			t.Logf("%s: psi %.3f verdict %s", f.Name, f.PSI, f.Verdict)
		}
		t.Fatalf("drifted %v, verdict %s; want [monthly_charges], drift", r.Drifted, r.Verdict)
	}
	if math.IsNaN(r.Score.PSI) {
		t.Errorf("score PSI is NaN")
	}
}

// TestDriftOff: a route with monitoring disabled, and a version registered
// without a reference profile, have no report.
func TestDriftOff(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	m, _ := servingtest.Demo(t)
	bare := *m
	bare.Profile = nil
	if _, err := trainer.Register(store, servingtest.Route, &bare, trainer.RegisterOptions{Version: "2.0.0"}); err != nil {
		t.Fatal(err)
	}
	gates := servingtest.NewGates(t)
	table := loadTable(t, store, gates,
		router.RouteConfig{Name: "off", Model: servingtest.Route},
		router.RouteConfig{Name: "unprofiled", Model: servingtest.Route, Version: "2.0.0"})
	releaseGates(t, gates)
	s := serveTable(t, table, gateway.Config{Drift: map[string]drift.RouteConfig{"off": {Disabled: true}}})
	for _, name := range []string{"off", "unprofiled"} {
		if r := s.predict(t, demoBody(t, name, 1, 1)); r.status != fasthttp.StatusOK {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		wantError(t, do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+name+"/drift", ""), fasthttp.StatusNotFound, "not_found", "")
	}
}
