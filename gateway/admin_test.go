package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// metricValue returns the value of the series named exactly series (name and
// labels) in a Prometheus exposition, and whether it is there.
func metricValue(exposition []byte, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(string(exposition)))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func TestAdminMetrics(t *testing.T) {
	t.Parallel()
	// A route name of its own: the exposition holds every registered set,
	// those of the tests running beside this one included.
	const route = "churn-admin-metrics"
	s := newServer(t, options{route: route})
	for range 3 {
		if r := s.predict(t, bodyFor(route)); r.status != fasthttp.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
	}
	wantError(t, s.predict(t, strings.Replace(bodyFor(route), `"contract":"month-to-month",`, "", 1)),
		fasthttp.StatusBadRequest, "missing_feature", "features.contract")

	r := do(t, s.admin, fasthttp.MethodGet, "/metrics", "")
	if r.status != fasthttp.StatusOK || !strings.HasPrefix(r.get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: status %d, Content-Type %q", r.status, r.get("Content-Type"))
	}
	f := func(series string, want float64) {
		t.Helper()
		got, ok := metricValue(r.body, series)
		if !ok {
			t.Errorf("no series %s in /metrics", series)
		} else if want >= 0 && got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	f(`infergate_http_requests_total{route="`+route+`",code="200"}`, 3)
	f(`infergate_http_requests_total{route="`+route+`",code="400"}`, 1)
	f(`infergate_http_request_duration_seconds_count{route="`+route+`"}`, 4)
	f(`infergate_http_request_duration_seconds_bucket{route="`+route+`",le="+Inf"}`, 4)
	f(`infergate_http_request_duration_seconds_bucket{route="`+route+`",le="10"}`, 4)
	f(`infergate_batcher_batch_size_bucket{model="customer-churn",version="1.0.0",le="+Inf"}`, -1)
	f(`infergate_http_panics_total`, -1)
}

func TestAdminModels(t *testing.T) {
	t.Parallel()
	const route = "churn-admin-models"
	s := newServer(t, options{route: route})
	r := do(t, s.admin, fasthttp.MethodGet, "/v1/models", "")
	if r.status != fasthttp.StatusOK || r.get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/models: status %d, Content-Type %q, body %s", r.status, r.get("Content-Type"), r.body)
	}
	var list struct {
		Models []struct {
			Route      string             `json:"route"`
			Model      string             `json:"model"`
			Version    string             `json:"version"`
			Ref        string             `json:"ref"`
			Aliases    map[string]string  `json:"aliases"`
			State      string             `json:"state"`
			QueueDepth int                `json:"queue_depth"`
			CreatedAt  time.Time          `json:"created_at"`
			Features   []map[string]any   `json:"features"`
			Output     map[string]any     `json:"output"`
			Metrics    map[string]float64 `json:"metrics"`
			Instances  []string           `json:"instances"`
		} `json:"models"`
	}
	decode(t, r, &list)
	if len(list.Models) != 1 || len(list.Models[0].Instances) != 1 || list.Models[0].Instances[0] != "cpu" {
		t.Fatalf("%d models, want 1: %s", len(list.Models), r.body)
	}
	m := list.Models[0]
	got := fmt.Sprintf("%s %s %s %s %v %s", m.Route, m.Model, m.Version, m.Ref, m.Aliases, m.State)
	if want := route + " customer-churn 1.0.0 production map[production:1.0.0] ready"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(m.Features) != 7 || m.CreatedAt.IsZero() || m.Metrics["auc"] < 0.7 {
		t.Errorf("features %d, created_at %v, auc %v: want the signature and metadata", len(m.Features), m.CreatedAt, m.Metrics["auc"])
	}
}

func TestAdminRouting(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	f := func(method, path string, status int) {
		t.Helper()
		r := do(t, s.admin, method, path, "")
		if r.status != status {
			t.Errorf("%s %s: status %d, want %d; body %s", method, path, r.status, status, r.body)
		}
		switch status {
		case fasthttp.StatusMethodNotAllowed:
			wantError(t, r, status, "method_not_allowed", "")
			if r.get("Allow") != fasthttp.MethodGet {
				t.Errorf("%s %s: Allow %q, want GET", method, path, r.get("Allow"))
			}
		case fasthttp.StatusNotFound:
			wantError(t, r, status, "not_found", "")
		}
	}
	f(fasthttp.MethodGet, "/healthz", fasthttp.StatusOK)
	f(fasthttp.MethodGet, "/readyz", fasthttp.StatusOK)
	f(fasthttp.MethodHead, "/metrics", fasthttp.StatusOK)
	f(fasthttp.MethodPost, "/metrics", fasthttp.StatusMethodNotAllowed)
	f(fasthttp.MethodPost, "/v1/models", fasthttp.StatusMethodNotAllowed)
	f(fasthttp.MethodDelete, "/v1/models", fasthttp.StatusMethodNotAllowed)
	f(fasthttp.MethodGet, "/v1/predictions", fasthttp.StatusNotFound)
	f(fasthttp.MethodGet, "/nope", fasthttp.StatusNotFound)
}

// serveDirect runs h on a RequestCtx built without a server.
func serveDirect(h fasthttp.RequestHandler, method, path, body string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.SetBodyString(body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	h(ctx)
	return ctx
}

// TestReadiness: /readyz is 503 until SetReady(true), 200 then, and 503 from
// the moment Shutdown starts, while in-flight requests still complete.
func TestReadiness(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{notReady: true})
	f := func(status int) {
		t.Helper()
		for _, c := range []struct {
			name string
			r    reply
		}{
			{"public", do(t, s.public, fasthttp.MethodGet, "/readyz", "")},
			{"admin", do(t, s.admin, fasthttp.MethodGet, "/readyz", "")},
		} {
			if c.r.status != status {
				t.Errorf("%s /readyz: status %d, want %d", c.name, c.r.status, status)
			}
			if status == fasthttp.StatusServiceUnavailable {
				wantError(t, c.r, status, "unavailable", "")
			}
		}
		if r := do(t, s.public, fasthttp.MethodGet, "/healthz", ""); r.status != fasthttp.StatusOK {
			t.Errorf("/healthz: status %d, want 200 whether ready or not", r.status)
		}
	}
	f(fasthttp.StatusServiceUnavailable)
	s.g.SetReady(true)
	f(fasthttp.StatusOK)

	// A request in flight when Shutdown starts.
	s.gate.Hold()
	var wg sync.WaitGroup
	wg.Go(func() {
		if r := s.predict(t, validBody); r.status != fasthttp.StatusOK {
			t.Errorf("in-flight request: status %d, body %s", r.status, r.body)
		}
	})
	waitFor(t, "the request to reach the model", func() bool { return s.gate.Blocked() == 1 })
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shutdown <- s.g.Shutdown(ctx)
	}()
	// The listeners are closing: ask the handlers themselves.
	waitFor(t, "/readyz to turn 503", func() bool {
		return serveDirect(s.g.Handler(), fasthttp.MethodGet, "/readyz", "").Response.StatusCode() == fasthttp.StatusServiceUnavailable
	})
	if c := serveDirect(s.g.AdminHandler(), fasthttp.MethodGet, "/readyz", ""); c.Response.StatusCode() != fasthttp.StatusServiceUnavailable {
		t.Errorf("admin /readyz during shutdown: status %d, want 503", c.Response.StatusCode())
	}
	s.gate.Release()
	wg.Wait()
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if c := serveDirect(s.g.Handler(), fasthttp.MethodGet, "/readyz", ""); c.Response.StatusCode() != fasthttp.StatusServiceUnavailable {
		t.Errorf("/readyz after shutdown: status %d, want 503", c.Response.StatusCode())
	}
}
