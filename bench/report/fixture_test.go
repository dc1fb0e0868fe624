package report

import (
	"math"
	"time"

	"github.com/infergate/infergate/bench/loadgen"
)

const us1 = time.Microsecond

// result builds a trusted result with a latency curve that runs through
// p50, p99 and max (all in µs).
// For a closed-loop result, offered is the concurrency.
func result(mode loadgen.Mode, offered, achieved float64, p50, p99, maxUS int64) *loadgen.Result {
	load := loadgen.Load{Mode: mode, Window: 5 * time.Second, Warmup: 2 * time.Second, MaxWindows: 6, Tolerance: 0.1}
	if mode == loadgen.Open {
		load.Rate = offered
	} else {
		load.Concurrency = int(offered)
		offered = 0
	}
	count := int64(achieved * 15)
	pts := []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100}
	curve := make([]loadgen.Percentile, 0, len(pts))
	lat := func(p float64) time.Duration {
		if p >= 100 {
			return time.Duration(maxUS) * us1
		}
		// Log-linear in nines through (0.301, p50), (2, p99) and
		// (log10(count), max).
		n := -math.Log10(1 - p/100)
		v := float64(p50) * math.Pow(float64(p99)/float64(p50), (n-math.Log10(2))/(2-math.Log10(2)))
		if n > 2 {
			v = float64(p99) * math.Pow(float64(maxUS)/float64(p99), min((n-2)/(math.Log10(float64(count))-2), 1))
		}
		return time.Duration(math.Round(v)) * us1
	}
	for _, p := range pts {
		curve = append(curve, loadgen.Percentile{Percentile: p, Latency: lat(p)})
	}
	return &loadgen.Result{
		Load:      load,
		Offered:   offered,
		Achieved:  achieved,
		Sent:      uint64(count),
		Completed: uint64(count),
		Statuses:  map[int]uint64{200: uint64(count)},
		Errors:    map[string]uint64{},
		Latency: loadgen.Summary{
			Count: count, Min: lat(0), Mean: time.Duration((p50+p99)/3) * us1,
			P50: lat(50), P90: lat(90), P99: lat(99), P999: lat(99.9), Max: lat(100),
			Percentiles: curve,
		},
		Windows: 3,
		Stable:  true,
		Elapsed: 15 * time.Second,
		SendLag: 40 * us1,
	}
}

// fixture is a run of a gateway against a fixed-body baseline, with one
// step that fell behind, one unstable step, one step with errors and one
// label only the gateway ran to the end.
func fixture() *Report {
	closed := loadgen.Closed
	open := loadgen.Open

	fbUnstable := result(closed, 64, 182000, 230, 4840, 21000)
	fbUnstable.Stable = false
	fbUnstable.Windows = 6

	gwBehind := result(open, 100000, 88000, 2900, 48000, 250000)
	gwBehind.FellBehind = true
	gwBehind.FellBehindReason = "p99 send lag 31ms, 9% of requests late"

	gwErrors := result(open, 20000, 19990, 180, 1200, 9000)
	gwErrors.Statuses[429] = 1200
	gwErrors.Statuses[503] = 34
	gwErrors.Errors["connection reset by peer"] = 3
	gwErrors.Errors["timeout"] = 11

	return &Report{
		Title:    "gateway vs fasthttp baseline",
		Scenario: "demo-batch, 2 instances, max_batch_size 64",
		Started:  time.Date(2026, 11, 25, 1, 50, 57, 0, time.UTC),
		Duration: 8*time.Minute + 12*time.Second + 400*time.Millisecond,
		Machine: Machine{
			Hostname: "bench-1", OS: "linux", Arch: "amd64",
			CPU: "Intel(R) Xeon(R) Processor", Cores: 2, GoVersion: "go1.26.8",
			InfergateVersion: "v0.4.0", ORTVersion: "1.30.0",
		},
		Steps: []Step{
			{Target: "gateway", Label: "closed c=16", Result: result(closed, 16, 80000, 150, 8600, 41000)},
			{Target: "fixedbody", Label: "closed c=16", Result: result(closed, 16, 160000, 60, 3840, 12000)},
			{Target: "gateway", Label: "closed c=64", Result: result(closed, 64, 91000, 580, 11700, 62000)},
			{Target: "fixedbody", Label: "closed c=64", Result: fbUnstable},
			{Target: "gateway", Label: "open 20000/s", Result: gwErrors},
			{Target: "fixedbody", Label: "open 20000/s", Result: result(open, 20000, 20000, 41, 310, 2500)},
			{Target: "gateway", Label: "open 100000/s", Result: gwBehind},
			{Target: "fixedbody", Label: "open 100000/s", Result: result(open, 100000, 99800, 95, 1900, 14000)},
			{Target: "gateway", Label: "closed c=256", Result: result(closed, 256, 90700, 2910, 17400, 95000)},
			{Target: "fixedbody", Label: "closed c=256"}, // did not run
		},
		Comparisons: []Comparison{
			{Name: "gateway vs fixed-body fasthttp", A: "gateway", B: "fixedbody"},
		},
		Notes: []string{"Load generator and servers share one 2-core machine."},
	}
}
