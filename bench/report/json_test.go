package report

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/infergate/infergate/internal/golden"
)

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	r := fixture()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "report.golden.json", b.Bytes())

	// It decodes back, with the documented units.
	var doc struct {
		Format     int    `json:"format"`
		Started    string `json:"started"`
		DurationUS int64  `json:"duration_us"`
		Steps      []struct {
			Target string `json:"target"`
			Label  string `json:"label"`
			Result *struct {
				AchievedRPS float64           `json:"achieved_rps"`
				Statuses    map[string]uint64 `json:"statuses"`
				ErrorCount  uint64            `json:"error_count"`
				ElapsedUS   int64             `json:"elapsed_us"`
				Trusted     bool              `json:"trusted"`
				Why         string            `json:"why"`
				Load        struct {
					WindowUS int64 `json:"window_us"`
				} `json:"load"`
				Latency struct {
					P50US       int64 `json:"p50_us"`
					P99US       int64 `json:"p99_us"`
					Percentiles []struct {
						Percentile float64 `json:"percentile"`
						LatencyUS  int64   `json:"latency_us"`
					} `json:"percentiles"`
				} `json:"latency"`
			} `json:"result"`
		} `json:"steps"`
		Ratios []struct {
			Label      string  `json:"label"`
			Throughput float64 `json:"throughput_ratio"`
			P50DiffUS  int64   `json:"p50_diff_us"`
			P99DiffUS  int64   `json:"p99_diff_us"`
			Trusted    bool    `json:"trusted"`
			Why        string  `json:"why"`
		} `json:"ratios"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Format != 1 || doc.Started != "2026-11-25T01:50:57Z" || doc.DurationUS != 492_400_000 {
		t.Errorf("header: format %d, started %q, duration_us %d", doc.Format, doc.Started, doc.DurationUS)
	}
	if len(doc.Steps) != len(r.Steps) {
		t.Fatalf("got %d steps, want %d", len(doc.Steps), len(r.Steps))
	}
	if doc.Steps[9].Result != nil {
		t.Errorf("step that did not run has a result: %+v", doc.Steps[9].Result)
	}
	for i, s := range doc.Steps[:9] {
		want := r.Steps[i].Result
		if s.Target != r.Steps[i].Target || s.Result == nil {
			t.Fatalf("step %d: %+v", i, s)
		}
		got := s.Result
		if got.AchievedRPS != want.Achieved || got.Latency.P50US != want.Latency.P50.Microseconds() ||
			got.Latency.P99US != want.Latency.P99.Microseconds() || got.ElapsedUS != 15_000_000 || got.Load.WindowUS != 5_000_000 {
			t.Errorf("step %d: got %+v", i, got)
		}
		if len(got.Latency.Percentiles) != len(want.Latency.Percentiles) {
			t.Errorf("step %d: %d percentiles, want %d", i, len(got.Latency.Percentiles), len(want.Latency.Percentiles))
		}
		for j, p := range got.Latency.Percentiles {
			w := want.Latency.Percentiles[j]
			if p.Percentile != w.Percentile || p.LatencyUS != w.Latency.Microseconds() {
				t.Errorf("step %d percentile %d: got %+v, want %+v", i, j, p, w)
			}
		}
	}
	if g := doc.Steps[4].Result; g.ErrorCount != 1248 || g.Statuses["429"] != 1200 || !g.Trusted {
		t.Errorf("errors: %+v", g)
	}
	if g := doc.Steps[6].Result; g.Trusted || g.Why == "" {
		t.Errorf("fell behind step trusted: %+v", g)
	}
	ratios := r.Ratios()
	if len(doc.Ratios) != len(ratios) {
		t.Fatalf("got %d ratios, want %d", len(doc.Ratios), len(ratios))
	}
	for i, q := range doc.Ratios {
		w := ratios[i]
		if q.Label != w.Label || math.Abs(q.Throughput-w.Throughput) > 1e-12 || q.P50DiffUS != w.P50Diff.Microseconds() ||
			q.P99DiffUS != w.P99Diff.Microseconds() || q.Trusted != w.Trusted || q.Why != w.Why {
			t.Errorf("ratio %d: got %+v, want %+v", i, q, w)
		}
	}
}

func TestWriteJSONNotRun(t *testing.T) {
	t.Parallel()
	r := &Report{Steps: []Step{{Target: "gateway", Label: "closed c=1"}}}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	step := doc["steps"].([]any)[0].(map[string]any)
	if step["result"] != nil {
		t.Errorf("result of a step that did not run: %v", step["result"])
	}
	if _, ok := doc["started"]; ok {
		t.Errorf("zero start time written: %v", doc["started"])
	}
}
