package loadgen

import (
	"context"
	"time"
)

// Target sends one request and reports its outcome. Implementations must be
// safe for concurrent use: the generator calls Do from many goroutines.
type Target interface {
	// Do sends request number seq (0, 1, 2, … in send order) and returns
	// its status: an HTTP status for HTTP targets, 200 for success
	// elsewhere. err is for failures with no status (connection refused,
	// timeout); status is then ignored.
	Do(ctx context.Context, seq uint64) (status int, err error)
}

// Mode is how load is applied.
type Mode string

const (
	// Open sends at a fixed arrival rate whatever the target does, and
	// measures each latency from the request's intended send time, so a
	// stalled target cannot hide the queue it builds (no coordinated
	// omission).
	Open Mode = "open"
	// Closed runs N clients that each send their next request when the
	// previous one answers.
	Closed Mode = "closed"
)

// Arrival is the open model's inter-arrival distribution.
type Arrival string

const (
	// Constant arrivals are evenly spaced at 1/rate.
	Constant Arrival = "constant"
	// Poisson arrivals have exponentially distributed gaps of mean 1/rate.
	Poisson Arrival = "poisson"
)

// Load is one load step: how much load, for how long, and when the
// measurement is trusted.
type Load struct {
	Mode Mode
	// Rate is the open model's target in requests per second.
	Rate    float64
	Arrival Arrival // open model only; default Constant
	// Concurrency is the closed model's client count. In the open model it
	// caps requests in flight (default 10000); a request that finds the cap
	// reached waits, its latency still counted from its intended time.
	Concurrency int
	// Warmup runs first and is not counted (default none).
	Warmup time.Duration
	// Window is the length of one measurement window (default 5s).
	Window time.Duration
	// MaxWindows bounds the repetition: windows repeat until the last 3
	// agree within Tolerance (p50 latency and achieved throughput, each
	// relative to their mean) or MaxWindows have run. 1 means one window.
	// Default 5.
	MaxWindows int
	Tolerance  float64 // default 0.10
	// Seed drives Poisson arrivals.
	Seed uint64
	// Drain bounds the wait for requests still in flight when the last
	// window ends (default 5s); those still unanswered then are counted as
	// errors ("unfinished"). Once ctx is cancelled the bound is 100ms.
	Drain time.Duration
}

// Summary is a latency distribution, in microsecond resolution.
type Summary struct {
	Count                               int64
	Min, Mean, P50, P90, P99, P999, Max time.Duration
	// Percentiles is the distribution for plotting: (percentile, latency)
	// points from 0 to 100, dense near the tail (90, 99, 99.9, 99.99, …).
	Percentiles []Percentile
}

// Percentile is one point of a latency distribution.
type Percentile struct {
	Percentile float64 // 0–100
	Latency    time.Duration
}

// Result is one load step's measurement: the windows counted, merged.
type Result struct {
	Load Load
	// Offered is the target rate in req/s (open model; 0 for closed).
	Offered float64
	// Achieved is the rate of completed requests in req/s over the counted
	// windows.
	Achieved float64
	// Sent counts the requests started after the warm-up; Completed, the
	// answers (a status or an error) counted in the windows and in the final
	// drain, whose completions count in no window's Achieved.
	Sent      uint64
	Completed uint64
	// Statuses counts completed requests by status (200, 429, …).
	Statuses map[int]uint64
	// Errors counts failures without a status by message.
	Errors map[string]uint64
	// Latency of every completed request, successful or not.
	Latency Summary
	// Windows counted, and whether the last 3 agreed within Tolerance.
	Windows int
	Stable  bool
	// Elapsed is the counted time (warm-up excluded).
	Elapsed time.Duration
	// FellBehind is set when the generator itself could not keep the
	// offered schedule (it sent late, or ran out of in-flight slots), so
	// the run measures the generator as much as the target and is not to
	// be trusted. FellBehindReason says how far behind, in words.
	FellBehind       bool
	FellBehindReason string
	// SendLag is the generator's own lateness at p99: how long after its
	// intended time a request actually went out (open model).
	SendLag time.Duration
	// Scheduled is how many requests the open model's schedule had due in
	// the counted time; Sent below it means the generator fell behind.
	Scheduled uint64
	// PerWindow is each counted window's own figures, in order: what the
	// stability rule compared.
	PerWindow []WindowStat
}

// WindowStat is one measurement window's figures.
type WindowStat struct {
	Elapsed   time.Duration
	Completed uint64
	// Achieved is completed req/s in this window.
	Achieved float64
	P50, P99 time.Duration
}

// Progress is reported about every 250ms while a step runs.
type Progress struct {
	Load      Load
	Phase     string // "warmup" or "window N"
	Elapsed   time.Duration
	Completed uint64
	Rate      float64 // completed req/s so far in this phase
	P50, P99  time.Duration
	Errors    uint64 // completed without a 2xx status, or with an error
}
