package gateway_test

import (
	"strings"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/valyala/fasthttp"
)

// TestPriorityReachesTheBatcher: X-Priority on /v1 and v2, and v2's
// priority parameter (which wins over the header), set the level each
// request queues at; 0, none, or a level above the model's levels is the
// default level, as in Triton. The batcher's per-level wait counts show
// where each went.
func TestPriorityReachesTheBatcher(t *testing.T) {
	t.Parallel()
	const route = "churn-priority"
	s := newServer(t, options{route: route, batching: batcher.Config{PriorityLevels: 2}})
	_, d := servingtest.Demo(t)
	v2 := func(params string) string {
		body := v2Infer(t, d, 0)
		if params != "" {
			body = `{"parameters":` + params + `,` + body[1:]
		}
		return body
	}
	ok := func(r reply) {
		t.Helper()
		if r.status != fasthttp.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	v2Path := "/v2/models/" + route + "/infer"
	// Level 1: three requests.
	ok(s.predict(t, bodyFor(route), "X-Priority", "1"))
	ok(do(t, s.public, fasthttp.MethodPost, v2Path, v2(""), "X-Priority", "1"))
	ok(do(t, s.public, fasthttp.MethodPost, v2Path, v2(`{"priority":1}`), "X-Priority", "2"))
	// Level 2, the default: five.
	ok(s.predict(t, bodyFor(route)))
	ok(s.predict(t, bodyFor(route), "X-Priority", "0"))
	ok(s.predict(t, bodyFor(route), "X-Priority", "99999999999999999999"))
	ok(do(t, s.public, fasthttp.MethodPost, v2Path, v2(`{"priority":7}`), "X-Priority", "1"))
	ok(do(t, s.public, fasthttp.MethodPost, v2Path, v2(""), "X-Priority", "2"))

	m := do(t, s.admin, fasthttp.MethodGet, "/metrics", "")
	for level, want := range map[string]float64{"1": 3, "2": 5} {
		series := `infergate_batcher_level_queue_duration_seconds_count{model="customer-churn",version="1.0.0",level="` + level + `"}`
		if got, found := metricValue(m.body, series); !found || got != want {
			t.Errorf("%s = %v (found %v), want %v", series, got, found, want)
		}
	}

	for _, bad := range []string{"-1", "high", "1.5", "+1"} {
		e := wantError(t, s.predict(t, bodyFor(route), "X-Priority", bad), fasthttp.StatusBadRequest, "invalid_field", "header.X-Priority")
		if !strings.Contains(e.Error.Message, "integer >= 0") {
			t.Errorf("X-Priority %q: message %q does not say what is expected", bad, e.Error.Message)
		}
		r := do(t, s.public, fasthttp.MethodPost, v2Path, v2(""), "X-Priority", bad)
		if r.status != fasthttp.StatusBadRequest || !strings.Contains(string(r.body), "X-Priority must be an integer") {
			t.Errorf("v2 with X-Priority %q: %d %s, want 400 naming X-Priority", bad, r.status, r.body)
		}
	}
	r := do(t, s.public, fasthttp.MethodPost, v2Path, v2(`{"priority":-1}`))
	if r.status != fasthttp.StatusBadRequest || !strings.Contains(string(r.body), "parameters.priority") {
		t.Errorf("v2 with priority -1: %d %s, want 400 naming parameters.priority", r.status, r.body)
	}
}
