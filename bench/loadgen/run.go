package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ErrNilTarget is returned by Run when it is given no target.
var ErrNilTarget = errors.New("loadgen: nil target")

// errUnfinished is the Errors key of requests still unanswered when Run
// stopped waiting for them.
const errUnfinished = "unfinished"

// Run applies one load step to t and returns its measurement. progress, if
// non-nil, is called about every 250ms from one goroutine (Run's own). ctx
// cancels the run: Run then returns what was measured so far, with an
// error wrapping ctx.Err().
func Run(ctx context.Context, t Target, l Load, progress func(Progress)) (*Result, error) {
	l.ApplyDefaults()
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("invalid load: %w", err)
	}
	if t == nil {
		return nil, ErrNilTarget
	}
	// Requests in flight must not fail the moment the caller cancels: they
	// get the (short) drain, and are cancelled only when it gives up.
	doCtx, cancelDo := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDo()
	g := newGen(ctx, doCtx, t, l)
	c := &collector{g: g, l: l, progress: progress, phase: newStats(), total: newStats()}
	g.start()
	cancelled := c.measure(ctx)
	c.finish(ctx, cancelled, cancelDo)
	res := c.result()
	if cancelled || c.drainCancelled {
		return res, fmt.Errorf("load run cancelled after %d windows: %w", res.Windows, ctx.Err())
	}
	return res, nil
}

// collector is Run's side of the run: it cuts time into the warm-up and
// windows, gathers each from the recorder, and reports progress.
type collector struct {
	g        *gen
	l        Load
	progress func(Progress)

	phase      *stats // the warm-up or window in progress
	phaseStart int64
	total      *stats // the counted windows, then the drain
	windows    []WindowStat

	counting   bool  // the warm-up is over
	countStart int64 // ns since start
	countEnd   int64
	sentStart  uint64 // sent before countStart
	sentEnd    uint64 // sent before countEnd
	sentFinal  uint64
	unfinished uint64
	scheduled  uint64
	capWaits   uint64

	drainCancelled bool // ctx was cancelled while waiting for the last answers
}

// measure runs the warm-up and the windows. It returns true if ctx was
// cancelled first.
func (c *collector) measure(ctx context.Context) (cancelled bool) {
	phaseLen := c.l.Warmup
	if phaseLen == 0 {
		c.startCounting(0)
		phaseLen = c.l.Window
	}
	nextTick := int64(progressEvery)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		end := c.phaseStart + int64(phaseLen)
		wake := end
		if c.progress != nil {
			wake = min(wake, nextTick)
		}
		if d := wake - c.g.now(); d > 0 {
			timer.Reset(time.Duration(d))
			select {
			case <-timer.C:
			case <-ctx.Done():
				cancelled = true
			}
		}
		now := c.g.now()
		c.g.rec.rotate(c.phase, false)
		if cancelled {
			if c.counting && now > c.phaseStart {
				c.endWindow(now) // a partial window, counted
			}
			c.countEnd = now
			return true
		}
		if now >= end {
			if !c.counting {
				c.startCounting(now)
			} else if c.endWindow(now) {
				c.countEnd = now
				return false
			}
			phaseLen = c.l.Window
		}
		if c.progress != nil && now >= nextTick {
			c.report(now)
			nextTick = now + int64(progressEvery)
		}
	}
}

func (c *collector) startCounting(now int64) {
	c.phase.reset()
	c.counting = true
	c.countStart, c.phaseStart = now, now
	if c.l.Warmup > 0 { // else counting started before the first request
		c.sentStart, _ = c.g.rec.counts()
	}
}

// endWindow closes the window in progress and reports whether the run is
// over: stable, or MaxWindows reached.
func (c *collector) endWindow(now int64) bool {
	d := time.Duration(now - c.phaseStart)
	w := WindowStat{Elapsed: d, Completed: c.phase.completed}
	if d > 0 {
		w.Achieved = float64(w.Completed) / d.Seconds()
	}
	if w.Completed > 0 {
		w.P50 = time.Duration(c.phase.lat.ValueAtPercentile(50)) * time.Microsecond
		w.P99 = time.Duration(c.phase.lat.ValueAtPercentile(99)) * time.Microsecond
	}
	c.windows = append(c.windows, w)
	c.total.merge(c.phase)
	c.phase.reset()
	c.phaseStart = now
	return len(c.windows) >= c.l.MaxWindows || stable(c.windows, c.l.Tolerance)
}

// p50Slack is the p50 difference that always counts as agreement: the
// histogram's resolution, so sub-10µs medians do not look unstable.
const p50Slack = 2 * time.Microsecond

// stable reports whether the last 3 windows' p50 and achieved throughput
// each lie within ±tol of their mean. A window that completed nothing is
// never stable.
func stable(ws []WindowStat, tol float64) bool {
	if len(ws) < stableWindows {
		return false
	}
	last := ws[len(ws)-stableWindows:]
	var p50, thr [stableWindows]float64
	for i, w := range last {
		if w.Completed == 0 {
			return false
		}
		p50[i], thr[i] = float64(w.P50), w.Achieved
	}
	return agree(p50[:], tol, float64(p50Slack)) && agree(thr[:], tol, 0)
}

func agree(xs []float64, tol, slack float64) bool {
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		if math.Abs(x-mean) > max(tol*mean, slack) {
			return false
		}
	}
	return true
}

func (c *collector) report(now int64) {
	name := "warmup"
	if c.counting {
		name = fmt.Sprintf("window %d", len(c.windows)+1)
	}
	d := time.Duration(now - c.phaseStart)
	p := Progress{
		Load:      c.l,
		Phase:     name,
		Elapsed:   d,
		Completed: c.phase.completed,
		P50:       time.Duration(c.phase.lat.ValueAtPercentile(50)) * time.Microsecond,
		P99:       time.Duration(c.phase.lat.ValueAtPercentile(99)) * time.Microsecond,
		Errors:    c.phase.completed - c.phase.ok(),
	}
	if d > 0 {
		p.Rate = float64(p.Completed) / d.Seconds()
	}
	c.progress(p)
}

// finish stops sending and waits, boundedly, for requests in flight; their
// completions are counted (in no window). Whatever is still unanswered at
// the bound is counted as an error, "unfinished".
func (c *collector) finish(ctx context.Context, cancelled bool, cancelDo context.CancelFunc) {
	g := c.g
	c.sentEnd, _ = g.rec.counts()
	g.stop(c.countEnd)
	if g.open != nil && c.counting {
		c.scheduled = g.open.sched.scheduledUntil(c.countEnd)
		c.capWaits = g.open.capWaits.Load()
	}
	allDone := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(allDone)
	}()
	bound := c.l.Drain
	if cancelled {
		bound = min(bound, cancelDrain)
	}
	timer := time.NewTimer(bound)
	defer timer.Stop()
	ctxDone := ctx.Done()
wait:
	for {
		select {
		case <-allDone:
			break wait
		case <-timer.C:
			break wait
		case <-ctxDone:
			ctxDone = nil
			c.drainCancelled = true
			if bound > cancelDrain {
				timer.Reset(cancelDrain)
			}
		}
	}
	g.abort.Store(true)
	// Close recording before cancelling what is left, so a request that
	// returns because of the cancel is "unfinished", not a failure with a
	// latency of the drain bound.
	c.phase.reset()
	g.rec.rotate(c.phase, true)
	if c.counting {
		c.total.merge(c.phase)
	}
	c.unfinished = g.inFlight()
	c.sentFinal, _ = g.rec.counts()
	cancelDo()
}

func (c *collector) result() *Result {
	r := &Result{
		Load:      c.l,
		Completed: c.total.completed,
		Statuses:  c.total.statusMap(),
		Errors:    c.total.errorMap(),
		Latency:   c.total.summary(),
		Windows:   len(c.windows),
		Stable:    stable(c.windows, c.l.Tolerance),
		PerWindow: c.windows,
	}
	if !c.counting {
		return r
	}
	r.Sent = c.sentFinal - c.sentStart
	if c.unfinished > 0 {
		r.Errors[errUnfinished] += c.unfinished
	}
	var inWindows uint64
	for _, w := range c.windows {
		r.Elapsed += w.Elapsed
		inWindows += w.Completed
	}
	if r.Elapsed > 0 {
		r.Achieved = float64(inWindows) / r.Elapsed.Seconds()
	}
	if c.l.Mode == Open {
		r.Offered = c.l.Rate
		r.Scheduled = c.scheduled
		r.SendLag = time.Duration(c.total.lag.ValueAtPercentile(99)) * time.Microsecond
		r.FellBehind, r.FellBehindReason = c.fellBehind(r)
	}
	return r
}

// lagLimit is the send lag p99 above which the open model fell behind: 1ms,
// or a tenth of the mean inter-arrival interval where that is longer.
func lagLimit(rate float64) time.Duration {
	return max(fellBehindLagFloor, time.Duration(fellBehindLagFraction*1e9/rate))
}

func (c *collector) fellBehind(r *Result) (bool, string) {
	var why []string
	if limit := lagLimit(r.Offered); r.SendLag > limit {
		why = append(why, fmt.Sprintf("send lag p99 %s is over the %s limit", r.SendLag, limit))
	}
	if c.capWaits > 0 {
		why = append(why, fmt.Sprintf("the in-flight cap (concurrency %d) was reached %d times, so requests waited for a slot",
			c.l.Concurrency, c.capWaits))
	}
	sent := c.sentEnd - c.sentStart
	if c.scheduled > 0 && float64(sent) < fellBehindSendRatio*float64(c.scheduled) {
		why = append(why, fmt.Sprintf("sent %d of %d scheduled requests (%.1f%%, %.0f of %.0f req/s)",
			sent, c.scheduled, 100*float64(sent)/float64(c.scheduled),
			float64(sent)/r.Elapsed.Seconds(), float64(c.scheduled)/r.Elapsed.Seconds()))
	}
	if len(why) == 0 {
		return false, ""
	}
	return true, "generator fell behind: " + strings.Join(why, "; ")
}

// OK counts the completed requests with a 2xx status.
func (r *Result) OK() uint64 {
	var n uint64
	for code, c := range r.Statuses {
		if code >= 200 && code < 300 {
			n += c
		}
	}
	return n
}

// Failed counts the requests without a 2xx status: other statuses, errors
// and unfinished requests.
func (r *Result) Failed() uint64 {
	var n uint64
	for code, c := range r.Statuses {
		if code < 200 || code >= 300 {
			n += c
		}
	}
	for _, c := range r.Errors {
		n += c
	}
	return n
}
