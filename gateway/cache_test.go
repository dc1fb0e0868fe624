package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/trainer"
)

// cached is a server whose demo route caches its answers.
func cached(t *testing.T, cc gateway.CacheConfig, o options) *server {
	t.Helper()
	cc.Enabled = true
	o.cfg.Caches = map[string]gateway.CacheConfig{servingtest.Route: cc}
	return newServer(t, o)
}

// predictUntilHit posts body until an answer comes from the cache (ristretto
// applies a new entry asynchronously, within microseconds), bounded.
func predictUntilHit(t *testing.T, s *server, body string) reply {
	t.Helper()
	var r reply
	waitFor(t, "a cache hit", func() bool {
		r = do(t, s.public, "POST", "/v1/predictions", body)
		return r.get("X-Infergate-Cache") == "hit"
	})
	return r
}

func probability(t *testing.T, r reply) float64 {
	t.Helper()
	var p prediction
	if err := json.Unmarshal(r.body, &p); err != nil || p.Probability == nil {
		t.Fatalf("status %d, body %s: %v", r.status, r.body, err)
	}
	return *p.Probability
}

func TestCacheHit(t *testing.T) {
	t.Parallel()
	s := cached(t, gateway.CacheConfig{}, options{})
	first := do(t, s.public, "POST", "/v1/predictions", validBody)
	if first.status != 200 || first.get("X-Infergate-Cache") != "miss" || strings.Contains(string(first.body), `"cached"`) {
		t.Fatalf("first request: status %d, cache %q, body %s", first.status, first.get("X-Infergate-Cache"), first.body)
	}
	hit := predictUntilHit(t, s, validBody)
	if !strings.Contains(string(hit.body), `"cached":true`) || probability(t, hit) != probability(t, first) {
		t.Errorf("hit: body %s, want the first answer marked cached (first: %s)", hit.body, first.body)
	}
	// The same features in another order, with an extra non-feature and a
	// number spelled differently, are the same request.
	same := `{"features":{"paperless_billing":"yes","payment_method":"electronic-check","support_calls":4.0,` +
		`"contract":"month-to-month","total_charges":268.5,"monthly_charges":89.50,"tenure_months":3,"customer_id":"C999"},` +
		`"model_id":"customer-churn"}`
	computed := s.gate.Rows()
	if r := do(t, s.public, "POST", "/v1/predictions", same); r.get("X-Infergate-Cache") != "hit" {
		t.Errorf("the same features written differently: cache %q, want hit", r.get("X-Infergate-Cache"))
	}
	if s.gate.Rows() != computed {
		t.Error("a cache hit reached the model")
	}
	other := strings.Replace(validBody, `"tenure_months":3`, `"tenure_months":4`, 1)
	if r := do(t, s.public, "POST", "/v1/predictions", other); r.get("X-Infergate-Cache") != "miss" {
		t.Errorf("different features: cache %q, want miss", r.get("X-Infergate-Cache"))
	}
	metrics := string(do(t, s.admin, "GET", "/metrics", "").body)
	if !strings.Contains(metrics, `infergate_cache_requests_total{route="customer-churn",result="hit"}`) {
		t.Error("/metrics lacks the cache hit counter")
	}
}

// TestCacheCollision: with every key hashed alike, ristretto holds one entry
// for all requests; different requests must still never share an answer.
func TestCacheCollision(t *testing.T) {
	t.Parallel()
	s := cached(t, gateway.CacheConfig{}, options{cacheHash: func([]byte) (uint64, uint64) { return 1, 2 }})
	low := strings.Replace(strings.Replace(validBody, `"tenure_months":3`, `"tenure_months":70`, 1), `"month-to-month"`, `"two-year"`, 1)
	pHigh := probability(t, do(t, s.public, "POST", "/v1/predictions", validBody))
	predictUntilHit(t, s, validBody) // the one slot now holds the high-risk answer
	r := do(t, s.public, "POST", "/v1/predictions", low)
	if r.get("X-Infergate-Cache") != "miss" {
		t.Fatalf("a request whose key collides with a cached one: cache %q, want miss", r.get("X-Infergate-Cache"))
	}
	if pLow := probability(t, r); pLow == pHigh {
		t.Fatalf("the colliding request got the cached request's answer %v", pHigh)
	}
	metrics := string(do(t, s.admin, "GET", "/metrics", "").body)
	// Parallel tests' gateways export the same series too; this one's is
	// the one above zero.
	counted := false
	for _, l := range strings.Split(grepLines(metrics, `infergate_cache_collisions_total{route="customer-churn"} `), "\n") {
		counted = counted || (l != "" && !strings.HasSuffix(l, " 0"))
	}
	if !counted {
		t.Errorf("/metrics does not count the collision:\n%s", grepLines(metrics, "infergate_cache"))
	}
}

// TestCacheNewVersion: a table serving a new version has its own cache, and
// its answers come from the new version, never from the old one's entries.
func TestCacheNewVersion(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	m, _ := servingtest.Demo(t)
	if _, err := trainer.Register(store, servingtest.Route, m, trainer.RegisterOptions{Version: "1.1.0", Aliases: []string{"candidate"}}); err != nil {
		t.Fatal(err)
	}
	opener := batcher.ONNXOpener{Env: servingtest.Env(t)}
	load := func(version string) *router.Table {
		table, err := router.Load([]router.RouteConfig{{Name: servingtest.Route, Version: version}}, store, opener)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = table.Close() })
		return table
	}
	cfg := gateway.Config{Caches: map[string]gateway.CacheConfig{servingtest.Route: {Enabled: true}}}
	g, err := newTestGateway(cfg, load(registry.ProductionAlias))
	if err != nil {
		t.Fatal(err)
	}
	s := serveGateway(t, g)
	predictUntilHit(t, s, validBody)
	if _, err := g.SetTable(load("candidate")); err != nil {
		t.Fatal(err)
	}
	r := do(t, s.public, "POST", "/v1/predictions", validBody)
	if r.get("X-Infergate-Cache") != "miss" || r.get("X-Infergate-Model-Version") != "1.1.0" {
		t.Errorf("after the new version: cache %q, version %q; want a miss computed by 1.1.0",
			r.get("X-Infergate-Cache"), r.get("X-Infergate-Model-Version"))
	}
}

// TestCacheSimilarity: with monthly_charges rounded to steps of 10, requests
// that differ only within a step share one answer.
func TestCacheSimilarity(t *testing.T) {
	t.Parallel()
	s := cached(t, gateway.CacheConfig{Round: map[string]float64{"monthly_charges": 10}}, options{})
	at := func(charges string) string {
		return strings.Replace(validBody, `"monthly_charges":89.5`, `"monthly_charges":`+charges, 1)
	}
	predictUntilHit(t, s, at("81"))
	if r := do(t, s.public, "POST", "/v1/predictions", at("84.9")); r.get("X-Infergate-Cache") != "hit" {
		t.Errorf("84.9 (rounds to 80 like 81): cache %q, want hit", r.get("X-Infergate-Cache"))
	}
	if r := do(t, s.public, "POST", "/v1/predictions", at("86")); r.get("X-Infergate-Cache") != "miss" {
		t.Errorf("86 (rounds to 90): cache %q, want miss", r.get("X-Infergate-Cache"))
	}
}

func TestCacheRejectsUnknownRoundFeature(t *testing.T) {
	t.Parallel()
	table := servingtest.Table(t, batcher.Config{})
	cfg := gateway.Config{Caches: map[string]gateway.CacheConfig{servingtest.Route: {Enabled: true, Round: map[string]float64{"tenure": 1}}}}
	_, err := newTestGateway(cfg, table)
	if err == nil || !strings.Contains(err.Error(), "routes[customer-churn].cache.round[tenure]: the model has no such feature") {
		t.Errorf("New: %v, want an error naming routes[customer-churn].cache.round[tenure]", err)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
