package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/redistest"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/trainer"
	"github.com/valyala/fasthttp"
)

// demoView is the demo model's features as a feature view keyed by
// customer_id.
func demoView() featurefetch.ViewConfig {
	return featurefetch.ViewConfig{
		Name: "customer_stats", JoinKey: "customer_id",
		Features: []featurefetch.FeatureConfig{
			{Name: "tenure_months", Type: "double"}, {Name: "monthly_charges", Type: "double"},
			{Name: "total_charges", Type: "double"}, {Name: "contract", Type: "string"},
			{Name: "support_calls", Type: "double"}, {Name: "payment_method", Type: "string"},
			{Name: "paperless_billing", Type: "string"},
		},
	}
}

// demoSnapshot materializes the demo dataset into an embedded store's
// snapshot file, as `infergate features materialize` does.
func demoSnapshot(t testing.TB, d *trainer.Dataset) string {
	t.Helper()
	cols := make([]featurefetch.Column, 0, len(d.Columns))
	for _, c := range d.Columns {
		cols = append(cols, featurefetch.Column{Name: c.Name, Numbers: c.Numbers, Strings: c.Strings})
	}
	m, err := featurefetch.Materialize(cols, demoView(), featurefetch.MaterializeOptions{EventTime: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := featurefetch.WriteSnapshot(&b, &featurefetch.Snapshot{Views: []featurefetch.SnapshotView{m.SnapshotView()}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "features.json")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// featureServer serves the demo model on route with the demo features
// fetched from an embedded store.
func featureServer(t testing.TB, route string, view featurefetch.ViewConfig, report bool) *server {
	t.Helper()
	_, d := servingtest.Demo(t)
	gates := servingtest.NewGates(t)
	table := loadTable(t, servingtest.Store(t), gates, router.RouteConfig{
		Name: route, Model: servingtest.Route,
		Targets:   []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: ptr(0.5)}}},
		Fallbacks: []string{"static"},
	})
	releaseGates(t, gates)
	return serveTable(t, table, gateway.Config{
		Features:      featurefetch.Config{Store: featurefetch.StoreConfig{Snapshot: demoSnapshot(t, d)}, Views: []featurefetch.ViewConfig{view}},
		RouteFeatures: map[string]gateway.RouteFeaturesConfig{route: {View: view.Name, ReportDefaulted: report}},
	})
}

// TestFeaturesByEntityKey: a request carrying only customer_id is answered
// as the same row sent with every feature, for 300 rows of the demo data.
func TestFeaturesByEntityKey(t *testing.T) {
	t.Parallel()
	const route, rows = "churn-features", 300
	s := featureServer(t, route, demoView(), false)
	_, d := servingtest.Demo(t)
	ids := d.Column("customer_id")
	for i := range rows {
		full := s.predict(t, strings.Replace(requestBody(t, d, i), `"customer-churn"`, `"`+route+`"`, 1))
		byKey := s.predict(t, `{"model_id":"`+route+`","features":{"customer_id":"`+ids.Strings[i]+`"}}`)
		if full.status != 200 || byKey.status != 200 {
			t.Fatalf("row %d: %d %s / %d %s", i, full.status, full.body, byKey.status, byKey.body)
		}
		var a, b prediction
		decode(t, full, &a)
		decode(t, byKey, &b)
		if *a.Probability != *b.Probability {
			t.Fatalf("row %d (%s): all features %v, customer_id only %v", i, ids.Strings[i], *a.Probability, *b.Probability)
		}
	}
	// The request's own value wins over the store's.
	var base, own prediction
	decode(t, s.predict(t, `{"model_id":"`+route+`","features":{"customer_id":"`+ids.Strings[0]+`"}}`), &base)
	decode(t, s.predict(t, `{"model_id":"`+route+`","features":{"customer_id":"`+ids.Strings[0]+`","support_calls":9}}`), &own)
	if *base.Probability == *own.Probability {
		t.Errorf("support_calls 9 in the request changed nothing (%v)", *own.Probability)
	}
	// Instances: each row by its key.
	r := s.predict(t, `{"model_id":"`+route+`","instances":[{"customer_id":"`+ids.Strings[0]+`"},{"customer_id":"`+ids.Strings[1]+`"}]}`)
	if r.status != 200 || bytes.Count(r.body, []byte(`"probability"`)) != 2 {
		t.Fatalf("instances: %d %s", r.status, r.body)
	}
}

// TestFeaturePolicies: an unknown customer gets each policy's answer: the
// model imputes what is missing (default policy, 400 for a required
// feature), a fail policy answers 400 naming the feature, a fallback policy
// sends it to the static fallback; defaulted features are reported when
// asked.
func TestFeaturePolicies(t *testing.T) {
	t.Parallel()
	unknown := func(route string) string {
		return `{"model_id":"` + route + `","features":{"customer_id":"nobody"}}`
	}
	// Defaults for every required feature: the model answers.
	view := demoView()
	for i, def := range map[string]any{"tenure_months": 12, "monthly_charges": 70, "contract": "month-to-month", "support_calls": 1} {
		for j := range view.Features {
			if view.Features[j].Name == i {
				view.Features[j].Default = def
			}
		}
	}
	s := featureServer(t, "churn-feat-defaults", view, true)
	r := s.predict(t, unknown("churn-feat-defaults"))
	var p struct {
		Probability *float64
		Defaulted   []string `json:"defaulted_features"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 || len(p.Defaulted) != 7 {
		t.Fatalf("defaults: %d %s", r.status, r.body)
	}

	// No defaults: a required feature is missing → 400 from the model.
	s = featureServer(t, "churn-feat-nodefaults", demoView(), false)
	wantError(t, s.predict(t, unknown("churn-feat-nodefaults")), 400, "missing_feature", "features.tenure_months")

	failing := demoView()
	failing.Features[3].OnMissing = featurefetch.PolicyFail
	s = featureServer(t, "churn-feat-fail", failing, false)
	e := wantError(t, s.predict(t, unknown("churn-feat-fail")), 400, "missing_feature", "features.contract")
	if !strings.Contains(e.Error.Message, "on_missing: fail") {
		t.Errorf("message %q does not name the policy", e.Error.Message)
	}

	fallback := demoView()
	fallback.OnMissing = featurefetch.PolicyFallback
	s = featureServer(t, "churn-feat-fallback", fallback, false)
	r = s.predict(t, unknown("churn-feat-fallback"))
	if r.status != 200 || r.get("X-Infergate-Target") != "static" || r.get("X-Infergate-Fallback") != "features_unavailable" {
		t.Fatalf("fallback: %d %s target %q fallback %q", r.status, r.body, r.get("X-Infergate-Target"), r.get("X-Infergate-Fallback"))
	}
	if got := do(t, s.admin, fasthttp.MethodGet, "/metrics", "").body; !bytes.Contains(got, []byte(`infergate_features_lookups_total{view="customer_stats",result="not_found"}`)) {
		t.Error("no lookups metric in /metrics")
	}
}

// TestFeatureConfigErrors: a route naming a view that does not exist is
// refused at start.
func TestFeatureConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := newTestGateway(gateway.Config{RouteFeatures: map[string]gateway.RouteFeaturesConfig{"r": {View: "nope"}}}, servingtest.Table(t, batcher.Config{}))
	if err == nil || !strings.Contains(err.Error(), `routes[r].features.view: no view "nope"`) {
		t.Fatalf("err %v", err)
	}
}

// TestFeaturesV2: an Open Inference Protocol client sends the entity key as
// an input of its own (the model metadata lists it): each row's features
// are looked up, and the answer equals the /v1 answer of the same rows.
func TestFeaturesV2(t *testing.T) {
	t.Parallel()
	const route = "churn-feat-v2"
	s := featureServer(t, route, demoView(), false)
	_, d := servingtest.Demo(t)
	ids := d.Column("customer_id").Strings[:3]
	var meta struct {
		Inputs []struct{ Name, Datatype string }
	}
	if err := json.Unmarshal(do(t, s.public, fasthttp.MethodGet, "/v2/models/"+route, "").body, &meta); err != nil {
		t.Fatal(err)
	}
	if last := meta.Inputs[len(meta.Inputs)-1]; last.Name != "customer_id" || last.Datatype != "BYTES" {
		t.Fatalf("metadata inputs %+v, want customer_id (BYTES) among them", meta.Inputs)
	}
	r := do(t, s.public, fasthttp.MethodPost, "/v2/models/"+route+"/infer",
		`{"inputs":[{"name":"customer_id","shape":[3],"datatype":"BYTES","data":["`+strings.Join(ids, `","`)+`"]}],"outputs":[{"name":"probability"}]}`)
	var out struct {
		Outputs []struct {
			Name string
			Data []float64
		}
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	if r.status != 200 || len(out.Outputs) != 1 || len(out.Outputs[0].Data) != 3 {
		t.Fatalf("v2 infer: %d %s", r.status, r.body)
	}
	for i, id := range ids {
		var p prediction
		decode(t, s.predict(t, `{"model_id":"`+route+`","features":{"customer_id":"`+id+`"}}`), &p)
		if float32(*p.Probability) != float32(out.Outputs[0].Data[i]) {
			t.Errorf("row %d (%s): v2 %v, /v1 %v", i, id, out.Outputs[0].Data[i], *p.Probability)
		}
	}
	// An unknown customer whose required features cannot be found: 400.
	r = do(t, s.public, fasthttp.MethodPost, "/v2/models/"+route+"/infer", `{"inputs":[{"name":"customer_id","shape":[1],"datatype":"BYTES","data":["nobody"]}]}`)
	if r.status != 400 || !strings.Contains(string(r.body), "tenure_months") {
		t.Fatalf("unknown customer over v2: %d %s", r.status, r.body)
	}
}

// TestFeaturesRedisKilledUnderLoad: clients keep asking by customer_id
// while the Redis the features come from is killed and restarted. Every
// request is answered 200 — by the model while Redis answers, by the
// static fallback (on_error: fallback) while it is down — none waits much
// past the lookup timeout, and the model answers again once Redis is back.
func TestFeaturesRedisKilledUnderLoad(t *testing.T) {
	t.Parallel()
	const route = "churn-feat-redis"
	srv := redistest.Start(t)
	_, d := servingtest.Demo(t)
	view := demoView()
	view.NoCache = true
	// Down, or back but still empty: the static fallback answers.
	view.OnError, view.OnMissing = featurefetch.PolicyFallback, featurefetch.PolicyFallback
	materialize := func() {
		t.Helper()
		cols := make([]featurefetch.Column, 0, len(d.Columns))
		for _, c := range d.Columns {
			cols = append(cols, featurefetch.Column{Name: c.Name, Numbers: c.Numbers, Strings: c.Strings})
		}
		m, err := featurefetch.Materialize(cols, view, featurefetch.MaterializeOptions{EventTime: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		store, err := featurefetch.NewRedisStore(featurefetch.RedisConfig{Addr: srv.Addr(), Project: "demo", KeyVersion: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if _, err := m.WriteRedis(context.Background(), store, 0); err != nil {
			t.Fatal(err)
		}
	}
	materialize()
	gates := servingtest.NewGates(t)
	table := loadTable(t, servingtest.Store(t), gates, router.RouteConfig{
		Name: route, Model: servingtest.Route,
		Targets:   []router.TargetConfig{{Name: "static", Static: &router.StaticConfig{Probability: ptr(0.5)}}},
		Fallbacks: []string{"static"},
	})
	releaseGates(t, gates)
	const timeout = 25 * time.Millisecond
	store := featurefetch.StoreConfig{Kind: featurefetch.StoreRedis, Timeout: timeout, Breaker: featurefetch.BreakerConfig{MinRequests: 10, Cooldown: 200 * time.Millisecond}}
	store.Redis.Addr, store.Redis.Project = srv.Addr(), "demo"
	s := serveTable(t, table, gateway.Config{
		Features:      featurefetch.Config{Store: store, Views: []featurefetch.ViewConfig{view}},
		RouteFeatures: map[string]gateway.RouteFeaturesConfig{route: {View: view.Name}},
	})
	ids := d.Column("customer_id").Strings

	var mu sync.Mutex
	targets := map[string]int{}
	var slowest time.Duration
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; ; i += 8 {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				r, err := send(s.public, "POST", "/v1/predictions", `{"model_id":"`+route+`","features":{"customer_id":"`+ids[i%len(ids)]+`"}}`)
				took := time.Since(start)
				if err != nil || r.status != 200 {
					if failed.Add(1) == 1 {
						t.Logf("first failure: %v %d %s", err, r.status, r.body)
					}
					continue
				}
				mu.Lock()
				targets[r.get("X-Infergate-Target")]++
				slowest = max(slowest, took)
				mu.Unlock()
			}
		})
	}
	seen := func(target string) int {
		mu.Lock()
		defer mu.Unlock()
		return targets[target]
	}
	waitFor(t, "answers from the model", func() bool { return seen("primary") > 50 })
	srv.Kill()
	waitFor(t, "answers from the static fallback", func() bool { return seen("static") > 200 })
	srv.Restart()
	materialize()
	before := seen("primary")
	waitFor(t, "the model to answer again", func() bool { return seen("primary") > before+50 })
	close(stop)
	wg.Wait()
	t.Logf("answers by target %v, %d failed, slowest %s (lookup timeout %s)", targets, failed.Load(), slowest, timeout)
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	if slowest > time.Second {
		t.Fatalf("a request took %s with the lookup timeout at %s", slowest, timeout)
	}
}
