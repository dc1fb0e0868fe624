package router_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/trainer"
)

// everyRequest samples every answer into the drift window, so that counts
// are exact.
var everyRequest = router.DriftConfig{MonitorConfig: drift.MonitorConfig{SampleRate: 1, MinSamples: 100}}

// driftOf returns the report of version in reports, failing the test when
// there is none.
func driftOf(t *testing.T, reports []router.VersionDrift, version string) drift.Report {
	t.Helper()
	for _, r := range reports {
		if r.Version == version {
			return r.Report
		}
	}
	t.Fatalf("no drift report of version %s in %+v", version, reports)
	return drift.Report{}
}

// report returns the route's drift reports now.
func report(t *testing.T, route *router.Route) []router.VersionDrift {
	t.Helper()
	reports, err := route.DriftReport(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return reports
}

// TestDriftCountsServedAnswers: each model version a route serves is
// monitored on its own, and only the answers it gave are counted: a failed
// primary's requests count for the backup that answered them, a static
// answer for no version.
func TestDriftCountsServedAnswers(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{
		Name:    "watched",
		Breaker: router.BreakerConfig{Disabled: true},
		Drift:   everyRequest,
		Targets: []router.TargetConfig{
			{Name: "backup", Version: "1.1.0"},
			{Name: "static", Static: &router.StaticConfig{Probability: probability(0.1)}},
		},
		Fallbacks: []string{"backup", "static"},
	})
	route := lookup(t, table, "watched")
	d := demoRows(t)
	serve := func(from, n int, want string) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if a := d.do(route, ask{row: i}); a.err != nil || a.target() != want {
				t.Fatalf("row %d: target %s, err %v; want %s", i, a.target(), a.err, want)
			}
		}
	}

	serve(0, 600, router.PrimaryTarget)
	reports := report(t, route)
	if got := []string{reports[0].Version, reports[1].Version}; len(reports) != 2 || !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("versions %v, want [1.0.0 1.1.0]", got)
	}
	primary := driftOf(t, reports, "1.0.0")
	if primary.Samples != 600 || primary.Verdict != drift.None || len(primary.Drifted) != 0 {
		t.Fatalf("1.0.0 after 600 training rows: samples %d, verdict %s, drifted %v; want 600, none, []",
			primary.Samples, primary.Verdict, primary.Drifted)
	}
	if s := driftOf(t, reports, "1.1.0").Samples; s != 0 {
		t.Fatalf("1.1.0 answered nothing yet, but %d samples", s)
	}

	gates.Gate("1.0.0").Fail(errInjected)
	serve(600, 300, "backup")
	gates.Gate("1.1.0").Fail(errInjected)
	serve(900, 50, "static")

	reports = report(t, route)
	if p, b := driftOf(t, reports, "1.0.0").Samples, driftOf(t, reports, "1.1.0").Samples; p != 600 || b != 300 {
		t.Fatalf("samples 1.0.0 %d, 1.1.0 %d; want 600 (its failures and static answers not counted) and 300", p, b)
	}
}

// TestDriftFindsTheShiftedFeature: traffic whose monthly_charges are
// raised by half drifts on that feature; the other features do not.
func TestDriftFindsTheShiftedFeature(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	table := load(t, store, gates, router.RouteConfig{Name: "shifted", Drift: everyRequest})
	route := lookup(t, table, "shifted")
	d := demoRows(t)
	for i := range d.cols {
		if d.cols[i].Name == "monthly_charges" {
			c := *d.cols[i]
			c.Numbers = slices.Clone(c.Numbers)
			for j := range c.Numbers {
				c.Numbers[j] *= 1.5
			}
			d.cols[i] = &c
		}
	}
	for i := range 1000 {
		if a := d.do(route, ask{row: i}); a.err != nil {
			t.Fatal(a.err)
		}
	}
	r := driftOf(t, report(t, route), "1.0.0")
	if !slices.Equal(r.Drifted, []string{"monthly_charges"}) || r.Verdict != drift.Drift {
		for _, f := range r.Features {
			t.Logf("%s: psi %.3f verdict %s", f.Name, f.PSI, f.Verdict)
		}
		t.Fatalf("drifted %v, verdict %s; want [monthly_charges], drift", r.Drifted, r.Verdict)
	}
}

// TestDriftOff: a route with monitoring disabled, and a version registered
// without a reference profile, have no report.
func TestDriftOff(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	m, _ := servingtest.Demo(t)
	bare := *m
	bare.Profile = nil
	if _, err := trainer.Register(store, demo, &bare, trainer.RegisterOptions{Version: "2.0.0"}); err != nil {
		t.Fatal(err)
	}
	if v, err := store.Get(demo, "2.0.0"); err != nil || len(v.Files) != 0 {
		t.Fatalf("2.0.0 files %v (err %v), want none", v.Files, err)
	}
	table := load(t, store, gates,
		router.RouteConfig{Name: "off", Drift: router.DriftConfig{Disabled: true}},
		router.RouteConfig{Name: "unprofiled", Version: "2.0.0"},
	)
	for _, name := range []string{"off", "unprofiled"} {
		route := lookup(t, table, name)
		if a := demoRows(t).do(route, ask{row: 1}); a.err != nil {
			t.Fatal(a.err)
		}
		if _, err := route.DriftReport(time.Now()); !errors.Is(err, router.ErrNoDriftProfile) {
			t.Errorf("route %s: err %v, want ErrNoDriftProfile", name, err)
		}
	}
}

// TestDriftProfileCorrupted: a version whose stored profile no longer
// matches its registered hash is refused at load, as a corrupted model
// file is.
func TestDriftProfileCorrupted(t *testing.T) {
	t.Parallel()
	store, gates := twoVersions(t)
	path := filepath.Join(filepath.Dir(store.ModelPath(demo, "1.1.0")), registry.DriftProfileFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	table, err := router.Load([]router.RouteConfig{{Name: "bad", Model: demo, Version: "1.1.0"}}, store, gates)
	if err == nil {
		_ = table.Close()
		t.Fatal("a version with a corrupted drift profile was loaded")
	}
	if !errors.Is(err, registry.ErrChecksum) || !strings.Contains(err.Error(), registry.DriftProfileFile) {
		t.Fatalf("err %v, want ErrChecksum naming %s", err, registry.DriftProfileFile)
	}
}
