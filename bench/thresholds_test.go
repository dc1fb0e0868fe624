package bench_test

import (
	"strings"
	"testing"
	"time"

	"github.com/infergate/infergate/bench"
	"github.com/infergate/infergate/bench/loadgen"
	"github.com/infergate/infergate/bench/report"
)

func ptr[T any](v T) *T { return &v }

// TestCheckThresholds: each bound is checked on each target at each load
// of its step, held or broken by the figures, and a target that did not
// run breaks them.
func TestCheckThresholds(t *testing.T) {
	t.Parallel()
	sc := &bench.Scenario{
		Targets: []bench.TargetConfig{{Name: "binary", URL: "http://x/"}, {Name: "json", URL: "http://x/"}, {Name: "missing", URL: "http://x/"}},
		Steps: []bench.StepConfig{
			{Mode: loadgen.Closed, Concurrency: []int{1}},
			{Mode: loadgen.Closed, Concurrency: []int{16}, Thresholds: &bench.Thresholds{
				Targets: []string{"binary", "json"}, P99: 25 * time.Millisecond, ErrorRatio: ptr(0.01),
				Ratios: []bench.RatioThreshold{{A: "binary", B: "json", Min: 3}, {A: "json", B: "binary", Min: 1}, {A: "missing", B: "json", Min: 1}},
			}},
		},
	}
	result := func(rps float64, p99 time.Duration, ok, bad uint64) *loadgen.Result {
		return &loadgen.Result{Achieved: rps, Completed: ok + bad, Statuses: map[int]uint64{200: ok, 503: bad}, Latency: loadgen.Summary{P99: p99}}
	}
	rep := &report.Report{Steps: []report.Step{
		{Target: "binary", Label: "closed c=1", Result: result(1000, time.Second, 10, 10)}, // no thresholds at c=1
		{Target: "binary", Label: "closed c=16", Result: result(2200, 24*time.Millisecond, 1000, 5)},
		{Target: "json", Label: "closed c=16", Result: result(330, 130*time.Millisecond, 990, 10)},
	}}
	var got []string
	for _, c := range bench.CheckThresholds(sc, rep) {
		got = append(got, c.Load+" "+c.Target+" "+map[bool]string{true: "ok", false: "BROKEN"}[c.OK]+" "+c.What)
	}
	want := []string{
		"closed c=16 binary ok p99 24ms < 25ms",
		"closed c=16 binary ok error ratio 0.50% ≤ 1.00%",
		"closed c=16 json BROKEN p99 130ms not below 25ms",
		"closed c=16 json ok error ratio 1.00% ≤ 1.00%",
		"closed c=16 binary ok req/s ÷ json 6.67 ≥ 3",
		"closed c=16 json BROKEN req/s ÷ binary 0.15 below 1",
		"closed c=16 missing BROKEN req/s ÷ json at least 1: not measured",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
