package router

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/tensor"
)

// shadow mirrors a sample of a route's requests to its shadow targets and
// compares their answers with the client's.
//
// # Concurrency model
//
// The request goroutine only samples, copies the features into a pooled job
// and offers it to a bounded channel without blocking; a full queue drops the
// job and counts it. Workers (shadow.workers of them) take jobs, call each
// shadow target with the job's own deadline (the client's budget, counted
// from when the worker starts), and record the comparison under the stats'
// mutex. Nothing a worker does can delay or change the client's answer.
type shadow struct {
	route   *Route
	targets []*Target
	sample  int64 // basis points
	queue   chan *shadowJob
	workers int
	stats   []*shadowStats
	// The counters are the metrics themselves: one atomic add each.
	mirrored, dropped, skipped *metrics.Counter
	startedAt                  time.Time

	// compare compares a tensor route's answers; nil on a route that takes
	// features (label agreement and probability difference).
	compare *comparator

	// candidate and onCandidate feed the canary's analysis with the
	// agreement of its candidate, when the candidate is also shadowed.
	candidate   *Target
	onCandidate func(agreed bool)

	// mu orders offers against close: an offer holds it shared, close
	// exclusively, so no job is sent on a closed queue.
	mu     sync.RWMutex
	closed bool
	// stopping makes the workers drop the jobs still queued at close: a
	// shadow that hangs would otherwise hold the shutdown for a queue's
	// worth of timeouts.
	stopping atomic.Bool
	wg       sync.WaitGroup
}

// shadowJob is one mirrored request. Jobs are pooled.
type shadowJob struct {
	req     Request
	label   string
	p       float64
	latency time.Duration
	budget  time.Duration
	// inputs and primary are a tensor request's own copies of its tensors
	// and of the primary's answer.
	inputs, primary []tensor.Tensor
}

var shadowJobPool = sync.Pool{New: func() any { return new(shadowJob) }}

// shadowWindowSpan is the granularity of the windowed shadow report, and
// shadowWindows how many spans it keeps (one hour).
const (
	shadowWindowSpan = time.Minute
	shadowWindows    = 60
)

func newShadow(r *Route, targets []*Target, cfg *ShadowConfig, set *metrics.Set) *shadow {
	s := &shadow{
		route:     r,
		targets:   targets,
		sample:    int64(math.Round(cfg.Sample * weightScale / 100)),
		queue:     make(chan *shadowJob, cfg.Queue),
		workers:   cfg.Workers,
		startedAt: time.Now(),
	}
	lbl := `route=` + strconv.Quote(r.name)
	s.mirrored = set.NewCounter(`infergate_shadow_mirrored_total{` + lbl + `}`)
	s.dropped = set.NewCounter(`infergate_shadow_dropped_total{` + lbl + `}`)
	s.skipped = set.NewCounter(`infergate_shadow_skipped_total{` + lbl + `}`)
	for _, t := range targets {
		s.stats = append(s.stats, newShadowStats(set, r.name, t.name, s.startedAt))
	}
	return s
}

func (s *shadow) start() {
	for range s.workers {
		s.wg.Add(1)
		go s.work()
	}
}

// close stops taking jobs, drops the queued ones, and waits for the calls
// in flight (each bounded by its deadline).
func (s *shadow) close() {
	s.stopping.Store(true)
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// offer mirrors req when it is sampled; see the concurrency model. The
// cheap refusals come first, before the features are copied: every shadow
// target's breaker open (skipped), or the queue full (dropped).
func (s *shadow) offer(req *Request, res *Result, latency time.Duration) {
	if s.sample < weightScale && rand.Int64N(weightScale) >= s.sample {
		return
	}
	if s.allOpen() {
		s.skipped.Inc()
		return
	}
	if len(s.queue) == cap(s.queue) {
		// A racy look, so the send below must still not block.
		s.dropped.Inc()
		return
	}
	job := shadowJobPool.Get().(*shadowJob)
	job.req.Features.CopyFrom(&req.Features)
	if req.Tensors != nil {
		job.inputs = copyTensors(job.inputs, req.Tensors)
		job.primary = copyTensors(job.primary, res.Outputs)
		job.req.Tensors = job.inputs
	}
	job.req.Priority = req.Priority
	job.label, job.p, job.latency = res.Label, res.Probability, latency
	job.budget = 0
	if !req.Deadline.IsZero() {
		job.budget = time.Until(req.Deadline) + latency
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.drop(job)
		return
	}
	select {
	case s.queue <- job:
		s.mirrored.Inc()
	default:
		s.drop(job)
	}
}

// allOpen reports whether every shadow target's breaker is open: a
// mirrored request would only be refused by each.
func (s *shadow) allOpen() bool {
	for _, t := range s.targets {
		if !t.breaker.Open() {
			return false
		}
	}
	return true
}

func (s *shadow) drop(job *shadowJob) {
	s.dropped.Inc()
	s.release(job)
}

func (s *shadow) release(job *shadowJob) {
	job.req.reset()
	shadowJobPool.Put(job)
}

// copyTensors makes dst an owned copy of src, reusing its memory.
func copyTensors(dst, src []tensor.Tensor) []tensor.Tensor {
	for len(dst) < len(src) {
		dst = append(dst, tensor.Tensor{})
	}
	dst = dst[:len(src)]
	for i := range src {
		dst[i].CopyFrom(&src[i])
	}
	return dst
}

func (s *shadow) work() {
	defer s.wg.Done()
	var res Result
	for job := range s.queue {
		if s.stopping.Load() {
			s.drop(job)
			continue
		}
		for i, t := range s.targets {
			start := time.Now()
			var deadline time.Time
			if job.budget > 0 {
				deadline = start.Add(job.budget)
			}
			if t.timeout > 0 && (deadline.IsZero() || deadline.Sub(start) > t.timeout) {
				deadline = start.Add(t.timeout)
			}
			res = Result{}
			why, _ := t.invoke(&job.req, &res, deadline, start)
			took := time.Since(start)
			var agreed bool
			var diff float64
			switch {
			case why != reasonOK:
			case s.compare != nil:
				agreed, diff = s.compare.compare(job.primary, res.Outputs)
			default:
				agreed, diff = res.Label == job.label, math.Abs(res.Probability-job.p)
			}
			s.stats[i].record(why, diff, agreed, job.latency, took)
			if t == s.candidate && why == reasonOK && s.onCandidate != nil {
				s.onCandidate(agreed)
			}
			// Each target encodes the features itself; drop the
			// previous target's row.
			job.req.releaseRow()
		}
		s.release(job)
	}
}

// shadowStats are one shadow target's comparison figures: since start, and
// per minute for the last hour.
type shadowStats struct {
	mu      sync.Mutex
	total   shadowCounts
	windows [shadowWindows]shadowCounts
	// epoch is the span index of windows[0] at start; span i lives in
	// windows[i % shadowWindows] and is reset when reused.
	spans   [shadowWindows]int64
	started time.Time

	calls    [numReasons]*metrics.Counter
	diff     *metrics.Histogram
	latency  *metrics.Histogram
	agreeSum atomic.Uint64 // for the agreement gauge, read without the lock
	okSum    atomic.Uint64
}

type shadowCounts struct {
	requests uint64
	errors   [numReasons]uint64
	agreed   uint64
	diff     logHist // |p_shadow - p_primary| in units of 1e-9
	primary  logHist // latency, ns
	shadow   logHist // latency, ns
}

func newShadowStats(set *metrics.Set, route, target string, started time.Time) *shadowStats {
	s := &shadowStats{started: started}
	lbl := `route=` + strconv.Quote(route) + `,target=` + strconv.Quote(target)
	for r := range numReasons {
		s.calls[r] = set.NewCounter(`infergate_shadow_calls_total{` + lbl + `,result="` + r.String() + `"}`)
	}
	s.diff = set.NewHistogram(`infergate_shadow_probability_diff{` + lbl + `}`)
	s.latency = set.NewHistogram(`infergate_shadow_duration_seconds{` + lbl + `}`)
	set.NewGauge(`infergate_shadow_agreement_ratio{`+lbl+`}`, func() float64 {
		n := s.okSum.Load()
		if n == 0 {
			return 0
		}
		return float64(s.agreeSum.Load()) / float64(n)
	})
	for i := range s.spans {
		s.spans[i] = -1
	}
	return s
}

// record counts one shadow call: its outcome, and when it answered,
// whether it agreed with the primary and by how much they differ.
func (s *shadowStats) record(why reason, diff float64, agreed bool, primaryLatency, shadowLatency time.Duration) {
	s.calls[why].Inc()
	if why == reasonOK {
		s.diff.Update(diff)
		s.latency.Update(shadowLatency.Seconds())
		s.okSum.Add(1)
		if agreed {
			s.agreeSum.Add(1)
		}
	}
	span := int64(time.Since(s.started) / shadowWindowSpan)
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.windows[span%shadowWindows]
	if s.spans[span%shadowWindows] != span {
		*w = shadowCounts{}
		s.spans[span%shadowWindows] = span
	}
	for _, c := range [2]*shadowCounts{&s.total, w} {
		c.requests++
		c.errors[why]++
		if why != reasonOK {
			continue
		}
		if agreed {
			c.agreed++
		}
		c.diff.record(uint64(min(diff, 1e9) * 1e9))
		c.primary.record(uint64(primaryLatency))
		c.shadow.record(uint64(shadowLatency))
	}
}

// ShadowReport is a route's shadow comparison as the admin API shows it.
type ShadowReport struct {
	Route string `json:"route"`
	// Window is how far back the figures go: "since start" or a duration.
	Window   string    `json:"window"`
	Since    time.Time `json:"since"`
	Mirrored uint64    `json:"mirrored"`
	// Dropped counts sampled requests not mirrored because the queue was
	// full; Skipped those not mirrored because every shadow target's
	// breaker was open.
	Dropped uint64               `json:"dropped"`
	Skipped uint64               `json:"skipped"`
	Targets []ShadowTargetReport `json:"targets"`
}

// ShadowTargetReport compares one shadow target with the primary.
type ShadowTargetReport struct {
	Target   string            `json:"target"`
	Requests uint64            `json:"requests"`
	Errors   map[string]uint64 `json:"errors"`
	// Compared counts the answers compared (requests the shadow answered).
	Compared  uint64  `json:"compared"`
	Agreement float64 `json:"agreement"`
	// Method is how answers were compared: "label" on a route that takes
	// features, else shadow.compare's (label, absolute, relative, cosine,
	// max_abs) and Output the output compared.
	Method string `json:"method"`
	Output string `json:"output,omitempty"`
	// ProbabilityDiff is the distribution of the differences: |shadow -
	// primary| of the probability (of a route that takes features, or a
	// label comparison), or the comparison's difference (see Method).
	ProbabilityDiff DiffFigures `json:"probability_diff"`
	LatencyMs       struct {
		Primary Latency `json:"primary"`
		Shadow  Latency `json:"shadow"`
	} `json:"latency_ms"`
}

// DiffFigures summarise the absolute probability differences.
type DiffFigures struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Latency summarises a latency distribution in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// ShadowReport returns the route's shadow report over the last window (at
// minute granularity, up to an hour), or since start when window is 0; nil
// when the route mirrors nothing.
func (r *Route) ShadowReport(window time.Duration) *ShadowReport {
	s := r.shadow
	if s == nil {
		return nil
	}
	rep := &ShadowReport{Route: r.name, Window: "since start", Since: s.startedAt,
		Mirrored: s.mirrored.Get(), Dropped: s.dropped.Get(), Skipped: s.skipped.Get()}
	if window > 0 {
		window = min(window, shadowWindows*shadowWindowSpan)
		rep.Window = window.String()
		rep.Since = time.Now().Add(-window)
		if rep.Since.Before(s.startedAt) {
			rep.Since = s.startedAt
		}
	}
	for i, t := range s.targets {
		tr := s.stats[i].report(t.name, window)
		tr.Method = CompareLabel
		if s.compare != nil {
			tr.Method, tr.Output = s.compare.by, s.compare.output
		}
		rep.Targets = append(rep.Targets, tr)
	}
	return rep
}

func (s *shadowStats) report(target string, window time.Duration) ShadowTargetReport {
	var c shadowCounts
	s.mu.Lock()
	if window <= 0 {
		c.add(&s.total)
	} else {
		now := int64(time.Since(s.started) / shadowWindowSpan)
		// The current span counts in full, so a 1m window covers 1–2m.
		first := now - int64((window+shadowWindowSpan-1)/shadowWindowSpan)
		for i := range s.windows {
			if span := s.spans[i]; span >= first && span <= now {
				c.add(&s.windows[i])
			}
		}
	}
	s.mu.Unlock()

	rep := ShadowTargetReport{Target: target, Requests: c.requests, Errors: map[string]uint64{}, Compared: c.errors[reasonOK]}
	for r := reasonBreakerOpen; r < numReasons; r++ {
		if n := c.errors[r]; n > 0 {
			rep.Errors[r.String()] = n
		}
	}
	if rep.Compared > 0 {
		rep.Agreement = float64(c.agreed) / float64(rep.Compared)
	}
	rep.ProbabilityDiff = DiffFigures{
		Mean: c.diff.mean() / 1e9,
		P50:  float64(c.diff.quantile(0.5)) / 1e9,
		P90:  float64(c.diff.quantile(0.9)) / 1e9,
		P99:  float64(c.diff.quantile(0.99)) / 1e9,
		Max:  float64(c.diff.max.Load()) / 1e9,
	}
	rep.LatencyMs.Primary = Latency{P50: float64(c.primary.quantile(0.5)) / 1e6, P99: float64(c.primary.quantile(0.99)) / 1e6}
	rep.LatencyMs.Shadow = Latency{P50: float64(c.shadow.quantile(0.5)) / 1e6, P99: float64(c.shadow.quantile(0.99)) / 1e6}
	return rep
}

func (c *shadowCounts) add(src *shadowCounts) {
	c.requests += src.requests
	for i := range c.errors {
		c.errors[i] += src.errors[i]
	}
	c.agreed += src.agreed
	c.diff.add(&src.diff)
	c.primary.add(&src.primary)
	c.shadow.add(&src.shadow)
}
