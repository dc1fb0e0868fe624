package router

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/cespare/xxhash/v2"
	"github.com/infergate/infergate/registry"
)

// weightScale is the resolution of a canary's weight: basis points, so that
// a weight of 0.5% is exact.
const weightScale = 10000

// Canary states, as the admin API shows them.
const (
	CanaryManual     = "manual"      // the weight is set by config or admin call; no analysis runs
	CanaryAnalysing  = "analysing"   // analysis steps the weight up
	CanaryPromoted   = "promoted"    // every step passed; the alias moved
	CanaryRolledBack = "rolled_back" // a step failed; the weight is 0
	CanaryIdle       = "idle"        // the candidate serves the primary's version: nothing to analyse, the weight is 0
)

// canary is a route's candidate, its weight and its analysis. The request
// path reads the weight and records outcomes with atomics only; the analysis
// goroutine (one per analysed canary) judges the window on a ticker.
type canary struct {
	route        *Route
	candidate    *Target
	weight       atomic.Int64 // basis points
	stickyHeader string
	stickyFeat   string
	salt         uint64 // per route, so two routes split users differently
	cfg          *AnalysisConfig
	store        *registry.Store

	window atomic.Pointer[canaryWindow]

	mu       sync.Mutex // guards the fields below and the step moves
	state    string
	step     int
	since    time.Time
	reason   string
	baseline *sideStats // the primary's figures of the previous step
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	promotions, rollbacks *metrics.Counter
}

// canaryWindow holds one step's outcomes, replaced whole when a step starts.
type canaryWindow struct {
	sides     [2]sideStats // 0 primary, 1 candidate
	compared  atomic.Uint64
	agreed    atomic.Uint64
	startedAt time.Time
}

type sideStats struct {
	requests atomic.Uint64
	errors   atomic.Uint64
	latency  logHist // nanoseconds
}

func newCanary(r *Route, candidate *Target, cfg *CanaryConfig, store *registry.Store, set *metrics.Set) *canary {
	c := &canary{
		route:        r,
		candidate:    candidate,
		stickyHeader: cfg.Sticky.Header,
		stickyFeat:   cfg.Sticky.Feature,
		salt:         xxhash.Sum64String(r.name),
		cfg:          cfg.Analysis,
		store:        store,
		state:        CanaryManual,
		done:         make(chan struct{}),
	}
	c.weight.Store(int64(math.Round(cfg.Weight * weightScale / 100)))
	c.window.Store(&canaryWindow{startedAt: time.Now()})
	if c.cfg != nil {
		c.state, c.since = CanaryAnalysing, time.Now()
		if c.idle() {
			// A route whose candidate follows an alias (staging) that names
			// the primary's version waits there until a new version is
			// registered under it; the reload then starts the analysis.
			c.weight.Store(0)
			c.state = CanaryIdle
			c.reason = "the candidate serves the primary's version (" + candidate.model.Version() + "); the analysis starts when it serves another"
		}
	}
	lbl := `{route=` + strconv.Quote(r.name) + `}`
	set.NewGauge(`infergate_canary_weight_percent`+lbl, func() float64 { return float64(c.weight.Load()) * 100 / weightScale })
	c.promotions = set.NewCounter(`infergate_canary_promotions_total` + lbl)
	c.rollbacks = set.NewCounter(`infergate_canary_rollbacks_total` + lbl)
	return c
}

func (c *canary) analysed() bool { return c.cfg != nil }

// idle reports whether the candidate is the primary's own model version, so
// that comparing the two would measure nothing and promoting it would move
// nothing.
func (c *canary) idle() bool {
	return c.candidate.model != nil && c.candidate.model == c.route.primary.model
}

// pick returns the target for req: the candidate when req's key (or, without
// one, a random draw) falls within the weight. Hashing the key keeps each
// user on one side, and raising the weight only moves users from the primary
// to the candidate, never back.
func (r *Route) pick(req *Request) *Target {
	if req.pinned != nil {
		return req.pinned
	}
	c := r.canary
	if c == nil {
		return r.primary
	}
	w := c.weight.Load()
	switch {
	case w <= 0:
		return r.primary
	case w >= weightScale:
		return c.candidate
	}
	key := req.StickyKey
	if c.stickyFeat != "" {
		if f := req.Features.Get(c.stickyFeat); f != nil {
			req.keyBuf = f.AppendKey(req.keyBuf[:0])
			key = req.keyBuf
		}
	}
	var bucket int64
	if len(key) == 0 {
		bucket = rand.Int64N(weightScale)
	} else {
		bucket = stickyBucket(key, c.salt)
	}
	if bucket < w {
		return c.candidate
	}
	return r.primary
}

// stickyBucket maps a key to [0, weightScale) uniformly.
func stickyBucket(key []byte, salt uint64) int64 {
	h := xxhash.Sum64(key) ^ salt
	// A multiplicative mix so that the salt changes every bit of the
	// bucket, not only the low ones.
	h *= 0x9e3779b97f4a7c15
	return int64((h >> 32) % weightScale)
}

// record counts one request for the analysis: which side answered it first,
// whether that target failed, and how long it took.
func (c *canary) record(candidate bool, why reason, d time.Duration) {
	w := c.window.Load()
	s := &w.sides[0]
	if candidate {
		s = &w.sides[1]
	}
	s.requests.Add(1)
	if why != reasonOK && why != reasonInvalidInput {
		s.errors.Add(1)
	}
	s.latency.record(uint64(d))
}

// recordAgreement counts one shadow comparison of the candidate with the
// primary.
func (c *canary) recordAgreement(agreed bool) {
	w := c.window.Load()
	w.compared.Add(1)
	if agreed {
		w.agreed.Add(1)
	}
}

// SetWeight sets the candidate's share in percent and stops the analysis:
// an operator's weight wins over the analysis' steps.
func (c *canary) SetWeight(percent float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.weight.Store(int64(math.Round(percent * weightScale / 100)))
	c.state, c.reason, c.since = CanaryManual, "", time.Now()
	c.newWindow()
}

// restart starts the analysis again from its first step.
func (c *canary) restart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state, c.step, c.reason, c.since, c.baseline = CanaryAnalysing, 0, "", time.Now(), nil
	c.weight.Store(int64(math.Round(c.cfg.Steps[0] * weightScale / 100)))
	c.newWindow()
}

func (c *canary) newWindow() {
	c.window.Store(&canaryWindow{startedAt: time.Now()})
}

func (c *canary) start() {
	if c.cfg == nil || c.state == CanaryIdle {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(c.cfg.Interval)
		defer tick.Stop()
		for {
			select {
			case <-c.done:
				return
			case now := <-tick.C:
				c.evaluate(now)
			}
		}
	}()
}

func (c *canary) stop() {
	c.stopOnce.Do(func() { close(c.done) })
	c.wg.Wait()
}

// evaluate judges the current step: a breach rolls back at once, as soon as
// the candidate has served MinRequests; a step that held for Dwell moves on.
func (c *canary) evaluate(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != CanaryAnalysing {
		return
	}
	w := c.window.Load()
	cand := &w.sides[1]
	if cand.requests.Load() < uint64(c.cfg.MinRequests) {
		return
	}
	base := &w.sides[0]
	if base.requests.Load() < uint64(c.cfg.MinRequests) && c.baseline != nil {
		// At 100% (or near it) the primary serves too little in this
		// step to compare with: use its figures of the step before.
		base = c.baseline
	}
	if why := c.breach(cand, base, w); why != "" {
		c.rollback(why)
		return
	}
	if now.Sub(w.startedAt) < c.cfg.Dwell {
		return
	}
	if c.step == len(c.cfg.Steps)-1 {
		c.promote()
		return
	}
	c.step++
	if w.sides[0].requests.Load() >= uint64(c.cfg.MinRequests) {
		c.baseline = &w.sides[0]
	}
	c.weight.Store(int64(math.Round(c.cfg.Steps[c.step] * weightScale / 100)))
	slog.Info("canary step passed", "route", c.route.name, "candidate", c.candidate.name,
		"weight_percent", c.cfg.Steps[c.step])
	c.newWindow()
}

// breach says why the candidate does worse than the primary, or "".
func (c *canary) breach(cand, base *sideStats, w *canaryWindow) string {
	rate := func(s *sideStats) float64 {
		n := s.requests.Load()
		if n == 0 {
			return 0
		}
		return float64(s.errors.Load()) / float64(n)
	}
	if cr, br := rate(cand), rate(base); cr-br > c.cfg.MaxErrorRate {
		return fmt.Sprintf("error rate %.2f%% against the primary's %.2f%% (max_error_rate %.2f%%)", cr*100, br*100, c.cfg.MaxErrorRate*100)
	}
	if base.requests.Load() >= uint64(c.cfg.MinRequests) {
		cp, bp := time.Duration(cand.latency.quantile(0.99)), time.Duration(base.latency.quantile(0.99))
		if float64(cp) > c.cfg.MaxP99Ratio*float64(bp) && cp-bp > c.cfg.P99Slack {
			return fmt.Sprintf("p99 latency %s against the primary's %s (max_p99_ratio %g)", cp, bp, c.cfg.MaxP99Ratio)
		}
	}
	if n := w.compared.Load(); n >= uint64(c.cfg.MinRequests) {
		if a := float64(w.agreed.Load()) / float64(n); a < c.cfg.MinAgreement {
			return fmt.Sprintf("label agreement with the primary %.1f%% (min_agreement %.1f%%)", a*100, c.cfg.MinAgreement*100)
		}
	}
	return ""
}

func (c *canary) rollback(why string) {
	c.weight.Store(0)
	c.state, c.reason, c.since = CanaryRolledBack, why, time.Now()
	c.rollbacks.Inc()
	slog.Warn("canary rolled back", "route", c.route.name, "candidate", c.candidate.name,
		"step_percent", c.cfg.Steps[c.step], "reason", why)
}

// promote moves the alias to the candidate's version. The candidate keeps
// all the traffic, so nothing changes for clients until the routes reload
// and the primary's alias resolves to it.
func (c *canary) promote() {
	m := c.candidate.model
	_, err := c.store.Promote(m.Name(), m.Version(), c.cfg.PromoteAlias, registry.PromoteOptions{
		By:     "canary",
		Reason: fmt.Sprintf("route %s: the candidate passed every analysis step %v", c.route.name, c.cfg.Steps),
	})
	if err != nil {
		c.state, c.reason, c.since = CanaryRolledBack, "cannot move alias: "+err.Error(), time.Now()
		c.weight.Store(0)
		c.rollbacks.Inc()
		slog.Error("canary promotion failed; rolled back", "route", c.route.name, "err", err)
		return
	}
	c.state, c.reason, c.since = CanaryPromoted, fmt.Sprintf("alias %q now names %s %s", c.cfg.PromoteAlias, m.Name(), m.Version()), time.Now()
	c.promotions.Inc()
	slog.Info("canary promoted", "route", c.route.name, "candidate", c.candidate.name,
		"model", m.Name(), "version", m.Version(), "alias", c.cfg.PromoteAlias)
}

// CanaryStatus is a canary's state as the admin API shows it.
type CanaryStatus struct {
	Candidate     string    `json:"candidate"`
	WeightPercent float64   `json:"weight_percent"`
	State         string    `json:"state"`
	Since         time.Time `json:"since"`
	Reason        string    `json:"reason,omitempty"`
	Sticky        string    `json:"sticky,omitempty"`
	// Analysis figures of the current step.
	Step          int              `json:"step,omitempty"`
	Steps         []float64        `json:"steps,omitempty"`
	Primary       *CanarySideStats `json:"primary,omitempty"`
	CandidateSide *CanarySideStats `json:"candidate_stats,omitempty"`
	Agreement     *float64         `json:"agreement,omitempty"`
}

// CanarySideStats are one side's figures over the current step.
type CanarySideStats struct {
	Requests  uint64  `json:"requests"`
	ErrorRate float64 `json:"error_rate"`
	P99Ms     float64 `json:"p99_ms"`
}

func sideFigures(s *sideStats) *CanarySideStats {
	n := s.requests.Load()
	out := &CanarySideStats{Requests: n, P99Ms: float64(s.latency.quantile(0.99)) / 1e6}
	if n > 0 {
		out.ErrorRate = float64(s.errors.Load()) / float64(n)
	}
	return out
}

// Canary is the route's canary status, or nil when it has none.
func (r *Route) Canary() *CanaryStatus {
	c := r.canary
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &CanaryStatus{
		Candidate:     c.candidate.name,
		WeightPercent: float64(c.weight.Load()) * 100 / weightScale,
		State:         c.state,
		Since:         c.since,
		Reason:        c.reason,
	}
	switch {
	case c.stickyHeader != "":
		st.Sticky = "header " + c.stickyHeader
	case c.stickyFeat != "":
		st.Sticky = "feature " + c.stickyFeat
	}
	if c.cfg != nil {
		w := c.window.Load()
		st.Step, st.Steps = c.step, c.cfg.Steps
		st.Primary, st.CandidateSide = sideFigures(&w.sides[0]), sideFigures(&w.sides[1])
		if n := w.compared.Load(); n > 0 {
			a := float64(w.agreed.Load()) / float64(n)
			st.Agreement = &a
		}
	}
	return st
}

// SetCanaryWeight sets the route's canary weight in percent at run time and
// stops its analysis. It fails when the route has no canary or the weight is
// outside [0, 100].
func (r *Route) SetCanaryWeight(percent float64) error {
	if r.canary == nil {
		return fmt.Errorf("route %q has no canary; add a canary block to its config", r.name)
	}
	if !(percent >= 0 && percent <= 100) {
		return fmt.Errorf("weight must be a percentage from 0 to 100, got %g", percent)
	}
	r.canary.SetWeight(percent)
	return nil
}

// RestartCanaryAnalysis starts the route's canary analysis again from its
// first step.
func (r *Route) RestartCanaryAnalysis() error {
	if r.canary == nil || r.canary.cfg == nil {
		return fmt.Errorf("route %q has no canary analysis; add canary.analysis to its config and reload", r.name)
	}
	if r.canary.idle() {
		return fmt.Errorf("route %q: the canary's candidate serves the primary's version %s, so there is nothing to analyse; register a new version under the candidate's alias", r.name, r.primary.model.Version())
	}
	r.canary.restart()
	return nil
}
