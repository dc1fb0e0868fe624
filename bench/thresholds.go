package bench

import (
	"fmt"
	"slices"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
	"github.com/infergate/infergate/bench/report"
)

// Thresholds are a step's pass marks, as k6's are: checked on the step's
// targets at every load of the step once the run ends. A run that breaks
// one exits non-zero (infergate bench), so that a CI job can gate a release
// on it.
type Thresholds struct {
	// Targets are those the bounds apply to; every target when empty.
	Targets []string `yaml:"targets"`
	// P99 bounds the p99 latency: it must stay below.
	P99 time.Duration `yaml:"p99"`
	// ErrorRatio bounds the share of completed requests that got no 2xx
	// answer (or no answer): at most this, from 0 to 1.
	ErrorRatio *float64 `yaml:"error_ratio"`
	// Ratios bound how fast one target is against another of the same run:
	// A's achieved req/s divided by B's, at least Min.
	Ratios []RatioThreshold `yaml:"ratios"`
}

// RatioThreshold is a lower bound on A ÷ B in achieved req/s.
type RatioThreshold struct {
	A   string  `yaml:"a"`
	B   string  `yaml:"b"`
	Min float64 `yaml:"min"`
}

// Check is one threshold checked on one target at one load.
type Check struct {
	Load, Target string
	// What says what was checked and what it measured:
	// "p99 24.6ms < 25ms", "error ratio 0.00% ≤ 1.00%", "req/s ÷ ocr-v2-json 6.67 ≥ 3".
	What string
	OK   bool
}

// CheckThresholds checks every step's thresholds against rep, in the
// scenario's order. A target or load that did not run breaks its bounds.
func CheckThresholds(sc *Scenario, rep *report.Report) []Check {
	var out []Check
	for _, step := range sc.Steps {
		th := step.Thresholds
		if th == nil {
			continue
		}
		loads, err := step.Loads()
		if err != nil {
			continue // Validate refused it
		}
		for _, l := range loads {
			name := label(l)
			for _, t := range sc.Targets {
				if len(th.Targets) > 0 && !slices.Contains(th.Targets, t.Name) {
					continue
				}
				res := resultOf(rep, t.Name, name)
				if th.P99 > 0 {
					c := Check{Load: name, Target: t.Name}
					if res == nil {
						c.What = fmt.Sprintf("p99 below %s: did not run", th.P99)
					} else {
						c.OK = res.Latency.P99 < th.P99
						c.What = fmt.Sprintf("p99 %s %s %s", res.Latency.P99, mark(c.OK, "<", "not below"), th.P99)
					}
					out = append(out, c)
				}
				if th.ErrorRatio != nil {
					c := Check{Load: name, Target: t.Name}
					if res == nil {
						c.What = fmt.Sprintf("error ratio at most %.2f%%: did not run", 100**th.ErrorRatio)
					} else {
						ratio := errorRatio(res)
						c.OK = ratio <= *th.ErrorRatio
						c.What = fmt.Sprintf("error ratio %.2f%% %s %.2f%%", 100*ratio, mark(c.OK, "≤", "above"), 100**th.ErrorRatio)
					}
					out = append(out, c)
				}
			}
			for _, r := range th.Ratios {
				c := Check{Load: name, Target: r.A}
				a, b := resultOf(rep, r.A, name), resultOf(rep, r.B, name)
				if a == nil || b == nil || b.Achieved <= 0 {
					c.What = fmt.Sprintf("req/s ÷ %s at least %g: not measured", r.B, r.Min)
				} else {
					ratio := a.Achieved / b.Achieved
					c.OK = ratio >= r.Min
					c.What = fmt.Sprintf("req/s ÷ %s %.2f %s %g", r.B, ratio, mark(c.OK, "≥", "below"), r.Min)
				}
				out = append(out, c)
			}
		}
	}
	return out
}

func mark(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// resultOf is target's result at load label, nil if it did not run.
func resultOf(rep *report.Report, target, label string) *loadgen.Result {
	for i := range rep.Steps {
		if s := &rep.Steps[i]; s.Target == target && s.Label == label {
			return s.Result
		}
	}
	return nil
}

// errorRatio is the share of completed requests without a 2xx answer.
func errorRatio(res *loadgen.Result) float64 {
	if res.Completed == 0 {
		return 1
	}
	var bad uint64
	for status, n := range res.Statuses {
		if status < 200 || status > 299 {
			bad += n
		}
	}
	for _, n := range res.Errors {
		bad += n
	}
	return float64(bad) / float64(res.Completed)
}
