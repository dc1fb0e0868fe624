package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactPercentile is HDR's rank rule on a sorted array: the value of rank
// round(p/100·n), at least 1.
func exactPercentile(sorted []int64, p float64) int64 {
	r := max(int(p/100*float64(len(sorted))+0.5), 1)
	return sorted[r-1]
}

// near reports whether got is within HDR's precision (3 digits: 0.1%) plus
// 1µs (values are truncated to µs) of want.
func near(got, want time.Duration) bool {
	return math.Abs(float64(got-want)) <= 0.001*float64(want)+float64(time.Microsecond)
}

// latencyDistributions are named generators of latencies in ns.
var latencyDistributions = []struct {
	name string
	gen  func(r *rand.Rand) int64
}{
	{"uniform 100µs-10ms", func(r *rand.Rand) int64 { return int64(100e3 + r.Float64()*9.9e6) }},
	{"exponential mean 2ms", func(r *rand.Rand) int64 { return int64(r.ExpFloat64() * 2e6) }},
	{"lognormal median 1ms", func(r *rand.Rand) int64 { return int64(1e6 * math.Exp(r.NormFloat64())) }},
	{"pareto heavy tail", func(r *rand.Rand) int64 { return int64(200e3 / math.Pow(1-r.Float64(), 1/1.1)) }},
	{"bimodal 300µs / 250ms 1%", func(r *rand.Rand) int64 {
		if r.IntN(100) == 0 {
			return int64(250e6 + r.NormFloat64()*10e6)
		}
		return int64(300e3 + r.NormFloat64()*20e3)
	}},
	{"sub-µs and µs", func(r *rand.Rand) int64 { return r.Int64N(5000) }},
}

// TestRecordedPercentiles feeds known latencies through the recorder, the
// path every completion takes, and compares the summary with exact values
// from a sorted array.
func TestRecordedPercentiles(t *testing.T) {
	t.Parallel()
	const n = 100_000
	for i, d := range latencyDistributions {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			rec := newRecorder()
			shards := []*shard{rec.newShard(), rec.newShard(), rec.newShard()}
			got := newStats()
			vals := make([]int64, n)
			var sum float64
			for j := range vals {
				v := min(max(d.gen(r), 0), int64(time.Hour))
				vals[j] = v
				sum += float64(v)
				rec.record(shards[j%len(shards)], v, -1, 200, nil)
				if j%7919 == 0 {
					rec.rotate(got, false) // windows cut mid-stream lose nothing
				}
			}
			rec.rotate(got, true)
			slices.Sort(vals)
			s := got.summary()
			if s.Count != n || got.completed != n || got.statuses[200] != n {
				t.Fatalf("count %d, completed %d, 200s %d; want %d", s.Count, got.completed, got.statuses[200], n)
			}
			check := func(name string, got, want time.Duration) {
				t.Helper()
				if !near(got, want) {
					t.Errorf("%s = %s, exact %s", name, got, want)
				}
			}
			check("p50", s.P50, time.Duration(exactPercentile(vals, 50)))
			check("p90", s.P90, time.Duration(exactPercentile(vals, 90)))
			check("p99", s.P99, time.Duration(exactPercentile(vals, 99)))
			check("p99.9", s.P999, time.Duration(exactPercentile(vals, 99.9)))
			// Min, Max and Mean are exact, not histogram figures.
			if s.Min != time.Duration(vals[0]) || s.Max != time.Duration(vals[n-1]) {
				t.Errorf("min, max = %s, %s; exact %s, %s", s.Min, s.Max, time.Duration(vals[0]), time.Duration(vals[n-1]))
			}
			if mean := time.Duration(sum / n); math.Abs(float64(s.Mean-mean)) > 1 {
				t.Errorf("mean = %s, exact %s", s.Mean, mean)
			}
			for k, p := range s.Percentiles {
				if k > 0 && p.Latency < s.Percentiles[k-1].Latency {
					t.Errorf("percentiles not monotonic: %v", s.Percentiles)
				}
				if p.Percentile > 0 && p.Percentile < 100 {
					check("plot point", p.Latency, time.Duration(exactPercentile(vals, p.Percentile)))
				}
			}

			// Summarize on a bare histogram: its Min, Max and Mean are the
			// histogram's, within the same precision.
			h := NewHistogram()
			for _, v := range vals {
				if err := h.RecordValue(v / 1000); err != nil {
					t.Fatal(err)
				}
			}
			hs := Summarize(h)
			check("Summarize p99", hs.P99, s.P99)
			check("Summarize max", hs.Max, time.Duration(vals[n-1]))
			check("Summarize min", hs.Min, time.Duration(vals[0]))
			check("Summarize mean", hs.Mean, time.Duration(sum/n))
		})
	}
}

func TestSummarizeEdges(t *testing.T) {
	t.Parallel()
	if s := Summarize(NewHistogram()); s.Count != 0 || s.Percentiles != nil {
		t.Errorf("empty histogram: %+v", s)
	}
	h := NewHistogram()
	// Histogram.Min alone would skip the 0 and say 7.
	if h.RecordValue(0) != nil || h.RecordValue(7) != nil {
		t.Fatal("cannot record")
	}
	if s := Summarize(h); s.Min != 0 || s.Max != 7*time.Microsecond || s.P50 != 0 {
		t.Errorf("Summarize({0, 7µs}) = %+v", s)
	}
	st := newStats()
	st.add(int64(2*time.Hour), -1, 200, nil) // beyond the range: clamped, still counted
	if s := st.summary(); s.Count != 1 || s.P99 < 59*time.Minute || s.Max != 2*time.Hour {
		t.Errorf("2h latency: %+v", s)
	}
}

func TestStatsErrorsAndStatuses(t *testing.T) {
	t.Parallel()
	st := newStats()
	st.add(1000, -1, 200, nil)
	st.add(1000, -1, 503, nil)
	st.add(1000, -1, 700, nil)
	for i := range maxErrKinds + 5 {
		st.add(1000, -1, 0, errorString(rune('a'+i%26))+errorString(rune('0'+i/26)))
	}
	m := st.statusMap()
	if m[200] != 1 || m[503] != 1 || m[700] != 1 || len(m) != 3 {
		t.Errorf("statuses = %v", m)
	}
	e := st.errorMap()
	if len(e) != maxErrKinds+1 || e[otherErrors] != 5 {
		t.Errorf("%d error kinds, %d other; want %d and 5", len(e), e[otherErrors], maxErrKinds+1)
	}
	if st.ok() != 1 || st.completed != maxErrKinds+8 {
		t.Errorf("ok %d, completed %d", st.ok(), st.completed)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestStable(t *testing.T) {
	t.Parallel()
	w := func(p50 time.Duration, rate float64) WindowStat {
		return WindowStat{P50: p50, Achieved: rate, Completed: 1}
	}
	ms := time.Millisecond
	f := func(want bool, ws ...WindowStat) {
		t.Helper()
		if got := stable(ws, 0.10); got != want {
			t.Errorf("stable(%v) = %v, want %v", ws, got, want)
		}
	}
	f(false)
	f(false, w(ms, 100), w(ms, 100))
	f(true, w(ms, 100), w(ms, 100), w(ms, 100))
	f(true, w(ms, 100), w(1050*time.Microsecond, 95), w(950*time.Microsecond, 105))
	f(false, w(ms, 100), w(ms, 100), w(2*ms, 100))                                            // p50 moved
	f(false, w(ms, 100), w(ms, 100), w(ms, 150))                                              // throughput moved
	f(true, w(ms, 500), w(ms, 100), w(ms, 100), w(ms, 100))                                   // only the last 3 count
	f(true, w(time.Microsecond, 100), w(3*time.Microsecond, 100), w(2*time.Microsecond, 100)) // within the µs slack
	f(false, WindowStat{}, WindowStat{}, WindowStat{})                                        // nothing completed is not stable
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	t.Run("constant", func(t *testing.T) {
		t.Parallel()
		s := newSchedule(Load{Rate: 3000, Arrival: Constant, Warmup: time.Second})
		for k := range 30_000 {
			// k/rate exactly, to the ns: no drift accumulates.
			if want := float64(k) * 1e9 / 3000; math.Abs(float64(s.peek())-want) > 1 {
				t.Fatalf("request %d at %dns, want %.0f", k, s.peek(), want)
			}
			s.advance()
		}
		// 3000 intended per second; the warm-up's first second not counted.
		s = newSchedule(Load{Rate: 3000, Arrival: Constant, Warmup: time.Second})
		if n := s.scheduledUntil(int64(5 * time.Second)); n != 12_000 {
			t.Errorf("scheduled in [1s, 5s) = %d, want 12000", n)
		}
	})
	t.Run("poisson", func(t *testing.T) {
		t.Parallel()
		const rate, n = 1000.0, 200_000
		s := newSchedule(Load{Rate: rate, Arrival: Poisson, Seed: 7})
		var sum float64
		var long int
		prev := s.peek()
		for range n {
			s.advance()
			gap := float64(s.peek() - prev)
			prev = s.peek()
			sum += gap
			if gap > 1e9/rate {
				long++
			}
		}
		mean := sum / n
		if math.Abs(mean-1e9/rate)/(1e9/rate) > 0.02 {
			t.Errorf("mean gap %.0fns, want 1ms ±2%%", mean)
		}
		// Exponential gaps: P(gap > mean) = 1/e.
		if frac := float64(long) / n; math.Abs(frac-1/math.E) > 0.01 {
			t.Errorf("%.3f of gaps exceed the mean, want %.3f", frac, 1/math.E)
		}
		// The same seed gives the same schedule.
		a, b := newSchedule(Load{Rate: rate, Arrival: Poisson, Seed: 7}), newSchedule(Load{Rate: rate, Arrival: Poisson, Seed: 7})
		c := newSchedule(Load{Rate: rate, Arrival: Poisson, Seed: 8})
		same := true
		for range 100 {
			a.advance()
			b.advance()
			c.advance()
			if a.peek() != b.peek() {
				t.Fatal("same seed, different schedules")
			}
			same = same && a.peek() == c.peek()
		}
		if same {
			t.Error("seeds 7 and 8 gave the same schedule")
		}
	})
}
