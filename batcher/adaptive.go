package batcher

import (
	"math"
	goruntime "runtime"
	"sync/atomic"
	"time"
)

// Adaptive batching (batching.target_latency, ADR 17). The policy answers
// one question each time the former holds rows and an instance is free:
// dispatch now, or wait for more? Waiting costs the rows at hand latency
// and saves compute only when a larger batch runs more rows per second,
// which matters only while compute is scarce. So it:
//
//   - learns the run time of each batch size (a moving average per size);
//   - counts the rows that arrive, and the instances' busy time and the
//     process's CPU time, sampled every sampleEvery;
//   - calls compute scarce while the busier of the two (instances busy,
//     or CPUs busy out of GOMAXPROCS) is above busyOn, and no longer once
//     it falls below busyOff;
//   - while it is scarce, waits for want rows: the smallest batch whose
//     run time per row is within efficientWithin of the best measured
//     (one row more than the largest measured while that one is the best,
//     to find out whether larger batches pay);
//   - dispatches what it has, waiting no more, once the oldest row could
//     not wait for the rest (the rows still missing, at the measured
//     arrival rate) and still see its batch's run end within the target,
//     or once no row has arrived for overdueGaps mean gaps (in a closed
//     loop the clients whose rows would fill the batch wait for answers).
const (
	sampleEvery     = 5 * time.Millisecond
	busyOn          = 0.6
	busyOff         = 0.4
	efficientWithin = 1.10
	// targetSlack is the share of the target kept back for what the
	// estimates miss: timer wake-ups, a run slower than its average.
	targetSlack = 0.1
	// overdueGaps is how many mean gaps between arrivals without a row end
	// a wait.
	overdueGaps = 2
)

// adaptive is the state of one Batcher's adaptive policy. The workers and
// the callers update it with atomics; one goroutine at a time samples it
// (sampling), and every decision reads what the last sample published.
type adaptive struct {
	target    time.Duration
	maxBatch  int
	instances int
	// cpu returns the process's CPU time so far (processCPU; tests under
	// a fake clock set it to nil: then only the instances count).
	cpu func() (time.Duration, bool)
	// onCPU: every instance computes on the CPU, so the time batching
	// saves is CPU time.
	onCPU bool

	*runCosts
	arrived   atomic.Int64 // rows Do has taken
	busyNanos atomic.Int64 // run time of every instance, summed
	// soloNanos is what busyNanos would be had every row run alone (rows
	// times the run time of one row): how busy compute would be without
	// batching, the measure that says whether batching is needed; the
	// busy time itself drops once it batches.
	soloNanos atomic.Int64

	sampling   atomic.Bool  // held by the goroutine sampling
	nextSample atomic.Int64 // unix nanoseconds of the next sample
	// Guarded by sampling:
	last                            time.Time
	lastArrived, lastBusy, lastSolo int64
	lastCPU                         time.Duration
	rate                            float64 // rows per second, smoothed
	scarce                          bool

	// Published by each sample for the decisions:
	want      atomic.Int64  // rows to wait for; 1: dispatch at once
	wantNanos atomic.Int64  // the estimated run time of want rows
	rateBits  atomic.Uint64 // rate, as math.Float64bits
}

func newAdaptive(target time.Duration, maxBatch, instances int, costs *runCosts) *adaptive {
	a := &adaptive{target: target, maxBatch: maxBatch, instances: instances, runCosts: costs, cpu: processCPU}
	a.want.Store(1)
	return a
}

// observe records a run of rows rows that took d and ended at end.
func (a *adaptive) observe(rows int, d time.Duration, end time.Time) {
	a.busyNanos.Add(int64(d))
	solo := a.runNanos[1].Load()
	if solo == 0 || rows == 1 {
		solo = int64(d) / int64(rows)
	}
	a.soloNanos.Add(solo * int64(rows))
	if end.UnixNano() >= a.nextSample.Load() {
		a.sample(end)
	}
}

// dispatchAtOnce reports whether a request should run without waiting for
// others: compute is not scarce.
func (a *adaptive) dispatchAtOnce() bool { return a.want.Load() <= 1 }

// plan decides for a former of rows rows whose oldest request was queued at
// oldest: wait for more until until, or (wait false) dispatch now.
func (a *adaptive) plan(rows int, oldest, now time.Time) (until time.Time, wait bool) {
	if now.UnixNano() >= a.nextSample.Load() {
		a.sample(now)
	}
	want := int(a.want.Load())
	if rows >= want {
		return time.Time{}, false
	}
	slack := time.Duration(float64(a.target) * targetSlack)
	until = oldest.Add(a.target - slack - time.Duration(a.wantNanos.Load()))
	rate := math.Float64frombits(a.rateBits.Load())
	if rate <= 0 {
		return time.Time{}, false
	}
	gap := time.Duration(float64(time.Second) / rate)
	if !now.Add(time.Duration(want-rows) * gap).Before(until) {
		return time.Time{}, false
	}
	// Rows that stop coming (every client waits for an answer) end the
	// wait early: the next one is overdue after a few gaps.
	if overdue := now.Add(overdueGaps * gap); overdue.Before(until) {
		return overdue, true
	}
	return until, true
}

// sample measures the arrival rate and how busy compute is since the last
// sample, and publishes the rows to wait for. Only one goroutine samples at
// a time; the others go on with the last published plan.
func (a *adaptive) sample(now time.Time) {
	if !a.sampling.CompareAndSwap(false, true) {
		return
	}
	defer a.sampling.Store(false)
	a.nextSample.Store(now.Add(sampleEvery).UnixNano())
	arrived, busy, solo := a.arrived.Load(), a.busyNanos.Load(), a.soloNanos.Load()
	var cpu time.Duration
	cpuKnown := false
	if a.cpu != nil {
		cpu, cpuKnown = a.cpu()
	}
	if a.last.IsZero() {
		a.last, a.lastArrived, a.lastBusy, a.lastSolo, a.lastCPU = now, arrived, busy, solo, cpu
		return
	}
	elapsed := now.Sub(a.last)
	if elapsed <= 0 {
		return
	}
	rate := float64(arrived-a.lastArrived) / elapsed.Seconds()
	a.rate = (a.rate + rate) / 2
	// How busy would compute be, rows running alone: the instances, and,
	// when they compute on the CPU, the CPUs with the time batching saved
	// added back.
	saved := (solo - a.lastSolo) - (busy - a.lastBusy)
	load := float64(solo-a.lastSolo) / float64(elapsed) / float64(a.instances)
	if cpuKnown {
		if !a.onCPU {
			saved = 0
		}
		load = max(load, float64(cpu-a.lastCPU+time.Duration(saved))/float64(elapsed)/float64(goruntime.GOMAXPROCS(0)))
	}
	a.last, a.lastArrived, a.lastBusy, a.lastSolo, a.lastCPU = now, arrived, busy, solo, cpu
	switch {
	case load >= busyOn:
		a.scarce = true
	case load < busyOff:
		a.scarce = false
	}
	want := 1
	if a.scarce {
		want = a.efficientSize()
	}
	a.rateBits.Store(math.Float64bits(a.rate))
	a.wantNanos.Store(a.estimate(want))
	a.want.Store(int64(want))
}

// efficientSize returns the smallest batch size whose run time per row is
// within efficientWithin of the best measured one; one more than the
// largest size measured while that one is the best (larger batches may
// pay, and only running one tells); 1 before any run.
func (a *runCosts) efficientSize() int {
	best, largest := math.Inf(1), 0
	for n := 1; n <= a.maxBatch; n++ {
		if t := a.runNanos[n].Load(); t > 0 {
			best = min(best, float64(t)/float64(n))
			largest = n
		}
	}
	if largest == 0 {
		return 1
	}
	for n := 1; n <= largest; n++ {
		t := a.runNanos[n].Load()
		if t > 0 && float64(t)/float64(n) <= best*efficientWithin {
			if n == largest && n < a.maxBatch && float64(t)/float64(n) == best {
				return n + 1
			}
			return n
		}
	}
	return largest
}

// runCosts is the run time of each batch size, learned from the runs: a
// moving average per size, by both batching modes (adaptive batching
// plans with it; Do diverts requests whose deadline it cannot meet).
type runCosts struct {
	maxBatch int
	runNanos []atomic.Int64 // by batch size; 0 until measured
}

func newRunCosts(maxBatch int) *runCosts {
	return &runCosts{maxBatch: maxBatch, runNanos: make([]atomic.Int64, maxBatch+1)}
}

// observe folds a run of rows rows that took d into the average of its size.
func (a *runCosts) observe(rows int, d time.Duration) {
	if rows < 1 || rows > a.maxBatch {
		return
	}
	n, old := max(int64(d), 1), a.runNanos[rows].Load()
	if old != 0 {
		n = old + (n-old)/8 // concurrent updates may lose one: an estimate
	}
	a.runNanos[rows].Store(n)
}

// estimate returns the estimated run time of rows rows: measured, or
// interpolated between the nearest sizes measured, or scaled from the
// largest below at its time per row; 0 before any run.
func (a *runCosts) estimate(rows int) int64 {
	lo, hi := 0, 0
	for n := rows; n >= 1; n-- {
		if a.runNanos[n].Load() > 0 {
			lo = n
			break
		}
	}
	if lo == rows {
		return a.runNanos[rows].Load()
	}
	for n := rows + 1; n <= a.maxBatch; n++ {
		if a.runNanos[n].Load() > 0 {
			hi = n
			break
		}
	}
	switch {
	case lo == 0 && hi == 0:
		return 0
	case hi == 0:
		return a.runNanos[lo].Load() * int64(rows) / int64(lo)
	case lo == 0:
		return a.runNanos[hi].Load()
	}
	tl, th := a.runNanos[lo].Load(), a.runNanos[hi].Load()
	return tl + (th-tl)*int64(rows-lo)/int64(hi-lo)
}
