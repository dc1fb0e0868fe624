package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
