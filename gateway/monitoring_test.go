package gateway_test

import (
	"strings"
	"testing"

	"github.com/infergate/infergate/drift"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// driftReply is the body of GET /v1/models/{route}/drift.
type driftReply struct {
	Route    string `json:"route"`
	Versions []struct {
		Version string       `json:"version"`
		Report  drift.Report `json:"report"`
	} `json:"versions"`
}

// TestAdminDrift: the admin API reports the drift of what a route served,
// answers from its response cache included (they are live traffic too), and
// says why when there is no report.
func TestAdminDrift(t *testing.T) {
	t.Parallel()
	const route, off = "churn-drift", "churn-drift-off"
	gates := servingtest.NewGates(t)
	table := loadTable(t, servingtest.Store(t), gates,
		router.RouteConfig{Name: route, Model: servingtest.Route},
		router.RouteConfig{Name: off, Model: servingtest.Route},
	)
	releaseGates(t, gates)
	s := serveTable(t, table, gateway.Config{Caches: map[string]gateway.CacheConfig{route: {Enabled: true}}, Drift: map[string]drift.RouteConfig{
		route: {MonitorConfig: drift.MonitorConfig{SampleRate: 1, MinSamples: 1 << 20}},
		off:   {Disabled: true},
	}})

	// Ristretto applies a new entry asynchronously: send until an answer
	// comes from the cache, then a few more.
	n, hits := 0, 0
	predict := func() {
		r := s.predict(t, bodyFor(route))
		if r.status != fasthttp.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		n++
		if r.get("X-Infergate-Cache") == "hit" {
			hits++
		}
	}
	waitFor(t, "a cache hit", func() bool { predict(); return hits > 0 })
	for range 20 {
		predict()
	}

	r := do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+route+"/drift", "")
	if r.status != fasthttp.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var rep driftReply
	decode(t, r, &rep)
	if rep.Route != route || len(rep.Versions) != 1 || rep.Versions[0].Version != "1.0.0" {
		t.Fatalf("report of %q with versions %+v, want %s and 1.0.0", rep.Route, rep.Versions, route)
	}
	got := rep.Versions[0].Report
	if got.Samples != uint64(n) || got.SampledTotal != uint64(n) {
		t.Errorf("samples %d (total %d), want %d: every answer, %d of them from the cache", got.Samples, got.SampledTotal, n, hits)
	}
	if len(got.Features) != 7 || got.Verdict != drift.Insufficient {
		t.Errorf("%d features, verdict %s; want 7 and insufficient_data (%d samples, fewer than min_samples)", len(got.Features), got.Verdict, n)
	}

	// The same report as a table for a terminal: a line per feature and
	// one for the score.
	r = do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+route+"/drift?format=text", "")
	text := string(r.body)
	if r.status != fasthttp.StatusOK || !strings.HasPrefix(r.get("Content-Type"), "text/plain") ||
		!strings.HasPrefix(text, "route "+route+", version 1.0.0: insufficient_data (drifted: none)") ||
		strings.Count(text, "\n") != 2+7+1 || !strings.Contains(text, "\nmonthly_charges ") || !strings.Contains(text, "\nscore ") {
		t.Errorf("text report: status %d, Content-Type %q:\n%s", r.status, r.get("Content-Type"), text)
	}
	wantError(t, do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+route+"/drift?format=xml", ""), fasthttp.StatusBadRequest, "invalid_field", "query.format")

	e := wantError(t, do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+off+"/drift", ""), fasthttp.StatusNotFound, "not_found", "")
	if !strings.Contains(e.Error.Message, "drift.disabled") {
		t.Errorf("message %q does not say why", e.Error.Message)
	}
	wantError(t, do(t, s.admin, fasthttp.MethodGet, "/v1/models/nope/drift", ""), fasthttp.StatusNotFound, "model_not_found", "")
	wantError(t, do(t, s.admin, fasthttp.MethodGet, "/v1/models/"+route+"/other", ""), fasthttp.StatusNotFound, "not_found", "")
	if r := do(t, s.admin, fasthttp.MethodPost, "/v1/models/"+route+"/drift", ""); r.status != fasthttp.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", r.status)
	}
	// The public listener does not serve it.
	if r := do(t, s.public, fasthttp.MethodGet, "/v1/models/"+route+"/drift", ""); r.status != fasthttp.StatusNotFound {
		t.Errorf("public listener: status %d, want 404", r.status)
	}
}
