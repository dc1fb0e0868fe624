package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBenchScenarioEndToEnd runs `infergate bench` as `make bench` does, on a
// small scenario: it starts a real gateway (this binary, serving the demo
// model) and a fixed-body server, loads both side by side plus the
// in-process runtime baseline, and writes the table, report.json and
// report.html.
func TestBenchScenarioEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeConfig(t, dir)
	if r := run(t, "", "train", "--demo", "--config", config, "--demo-data", filepath.Join(dir, "churn.csv")); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	scenario := filepath.Join(dir, "scenario.yaml")
	yaml := fmt.Sprintf(`name: e2e
warmup: 200ms
window: 300ms
max_windows: 3
servers:
  - {name: gw, infergate: %[1]s}
  - {name: fixed, fixed_body: '{"ok":true}'}
targets:
  - name: gateway
    server: gw
    body: {dataset: %[2]s, model_id: customer-churn, drop: [churned]}
  - {name: fixed-body, server: fixed, path: /}
  - name: runtime
    runtime: {model: %[3]s}
steps:
  - {mode: closed, concurrency: [4]}
  - {mode: open, rate: [300]}
comparisons:
  - {name: "gateway vs fixed-body", a: gateway, b: fixed-body}
  - {name: "gateway vs direct runtime", a: gateway, b: runtime}
`, config, filepath.Join(dir, "churn.csv"), filepath.Join(dir, "registry", "customer-churn", "1.0.0", "model.onnx"))
	if err := os.WriteFile(scenario, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := run(t, "", "bench", "--scenario", scenario, "--out", out)
	if r.code != 0 {
		t.Fatalf("bench: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"gateway", "fixed-body", "runtime", "closed c=4", "open 300/s", "gateway vs direct runtime"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, r.stdout)
		}
	}

	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Steps []struct {
			Target string         `json:"target"`
			Label  string         `json:"label"`
			Result map[string]any `json:"result"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if len(rep.Steps) != 6 {
		t.Fatalf("report.json has %d steps, want 3 targets × 2 loads", len(rep.Steps))
	}
	for _, s := range rep.Steps {
		if s.Result == nil {
			t.Errorf("step %s %s did not run", s.Target, s.Label)
		}
	}
	// Every request through the gateway succeeded: the dataset rows are
	// valid predictions for the served model.
	if !strings.Contains(string(data), `"200"`) || strings.Contains(string(data), `"400"`) {
		t.Errorf("report.json statuses are not all 200:\n%.2000s", data)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(string(html), "<svg") {
		t.Errorf("report.html: %v, %d bytes, has a plot: %v", err, len(html), strings.Contains(string(html), "<svg"))
	}
	if _, err := os.Stat(filepath.Join(out, "gw.log")); err != nil {
		t.Errorf("the gateway's log was not kept: %v", err)
	}
}

// TestBenchHeadersAndThresholds: --header reaches every request, on a
// one-target run and on a scenario's targets; a scenario whose thresholds
// break exits 1 and says which, one whose thresholds hold exits 0.
func TestBenchHeadersAndThresholds(t *testing.T) {
	t.Parallel()
	var with, without atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k-1" || r.Header.Get("X-Tenant") != "t" {
			without.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		with.Add(1)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	dir := t.TempDir()

	r := run(t, "", "bench", "--url", srv.URL, "--concurrency", "2", "--warmup", "100ms", "--window", "200ms", "--max-windows", "3",
		"--header", "Authorization: Bearer k-1", "--header", "X-Tenant: t", "--out", filepath.Join(dir, "one"))
	if r.code != 0 || with.Load() == 0 || without.Load() != 0 {
		t.Fatalf("one target: exit %d, %d requests with the headers, %d without\n%s%s", r.code, with.Load(), without.Load(), r.stdout, r.stderr)
	}
	if r := run(t, "", "bench", "--url", srv.URL, "--concurrency", "1", "--header", "no colon"); r.code != 2 || !strings.Contains(r.stderr, `"no colon" is not a header`) {
		t.Errorf("a bad --header: exit %d\n%s", r.code, r.stderr)
	}

	scenario := func(name, thresholds string) string {
		p := filepath.Join(dir, name+".yaml")
		yaml := fmt.Sprintf(`name: %s
warmup: 100ms
window: 200ms
max_windows: 3
targets:
  - {name: api, url: %q}
  - {name: api-again, url: %q}
steps:
  - mode: closed
    concurrency: [2]
    thresholds: %s
`, name, srv.URL, srv.URL, thresholds)
		if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	broken := run(t, "", "bench", "--scenario", scenario("broken", "{p99: 1ns, error_ratio: 0, targets: [api]}"), "--out", filepath.Join(dir, "b"),
		"--header", "Authorization: Bearer k-1", "--header", "X-Tenant: t")
	if broken.code != 1 || !strings.Contains(broken.stdout, "BROKEN  closed c=2     api                p99") ||
		!strings.Contains(broken.stdout, "ok      closed c=2     api                error ratio 0.00% ≤ 0.00%") ||
		!strings.Contains(broken.stderr, "1 of 2 thresholds broken") {
		t.Errorf("a broken threshold: exit %d\n%s%s", broken.code, broken.stdout, broken.stderr)
	}
	held := run(t, "", "bench", "--scenario", scenario("held", "{p99: 10s, error_ratio: 0, ratios: [{a: api, b: api-again, min: 0.01}]}"), "--out", filepath.Join(dir, "h"),
		"--header", "Authorization: Bearer k-1", "--header", "X-Tenant: t")
	if held.code != 0 || !strings.Contains(held.stdout, "all 5 held") {
		t.Errorf("thresholds that hold: exit %d\n%s%s", held.code, held.stdout, held.stderr)
	}
	if without.Load() != 0 {
		t.Errorf("%d requests reached the server without the headers", without.Load())
	}
}
