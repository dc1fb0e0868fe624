package drift

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/features"
)

// Defaults of MonitorConfig; the thresholds are Evidently's.
const (
	DefaultSampleRate = 0.1
	DefaultWindow     = time.Hour
	DefaultBuckets    = 12
	DefaultPSIWarn    = 0.1
	DefaultPSIAlert   = 0.25
	DefaultKSAlpha    = 0.05
	DefaultChiAlpha   = 0.05
	DefaultMinSamples = 100
)

// MaxBuckets bounds MonitorConfig.Buckets: every bucket holds a full set of
// counters.
const MaxBuckets = 1440

// MonitorConfig configures the drift monitoring of a served model version.
type MonitorConfig struct {
	// SampleRate is the share of requests whose features and score are
	// counted into the window, in (0, 1]. Default 0.1. Schema problems are
	// counted on every request.
	SampleRate float64 `yaml:"sample_rate"`
	// Window is how far back a report looks. Default 1h.
	Window time.Duration `yaml:"window"`
	// Buckets is the number of slices the window is kept in: the window
	// moves by Window/Buckets at a time. Default 12 (5 minutes of a 1h
	// window).
	Buckets int `yaml:"buckets"`
	// PSIWarn and PSIAlert are the PSI levels of a warning and of drift.
	// Default 0.1 and 0.25.
	PSIWarn  float64 `yaml:"psi_warn"`
	PSIAlert float64 `yaml:"psi_alert"`
	// KSAlpha is the significance level of the KS test (numeric features
	// and the score). Default 0.05.
	KSAlpha float64 `yaml:"ks_alpha"`
	// ChiAlpha is the significance level of the chi-square test
	// (categorical features). Default 0.05.
	ChiAlpha float64 `yaml:"chi_alpha"`
	// MinSamples is the number of live values in the window below which a
	// feature's verdict is "insufficient_data". Default 100.
	MinSamples int `yaml:"min_samples"`
	// The thresholds of a tensor input's summary statistics.
	InputsConfig `yaml:",inline"`
}

// ApplyDefaults fills the fields left at zero.
func (c *MonitorConfig) ApplyDefaults() {
	defaults.Set(&c.SampleRate, DefaultSampleRate)
	defaults.Set(&c.Window, DefaultWindow)
	defaults.Set(&c.Buckets, DefaultBuckets)
	defaults.Set(&c.PSIWarn, DefaultPSIWarn)
	defaults.Set(&c.PSIAlert, DefaultPSIAlert)
	defaults.Set(&c.KSAlpha, DefaultKSAlpha)
	defaults.Set(&c.ChiAlpha, DefaultChiAlpha)
	defaults.Set(&c.MinSamples, DefaultMinSamples)
	c.InputsConfig.ApplyDefaults()
}

// Validate reports the first invalid field of a config with defaults applied.
func (c *MonitorConfig) Validate() error {
	switch {
	case !(c.SampleRate > 0 && c.SampleRate <= 1):
		return fmt.Errorf("drift.sample_rate: %g must be in (0, 1]", c.SampleRate)
	case c.Buckets < 1 || c.Buckets > MaxBuckets:
		return fmt.Errorf("drift.buckets: %d must be in [1, %d]", c.Buckets, MaxBuckets)
	case c.Window < time.Duration(c.Buckets)*time.Millisecond:
		return fmt.Errorf("drift.window: %s is too short for %d buckets of at least 1ms", c.Window, c.Buckets)
	case !(c.PSIWarn > 0):
		return fmt.Errorf("drift.psi_warn: %g must be positive", c.PSIWarn)
	case !(c.PSIAlert >= c.PSIWarn):
		return fmt.Errorf("drift.psi_alert: %g must be at least psi_warn (%g)", c.PSIAlert, c.PSIWarn)
	case !(c.KSAlpha > 0 && c.KSAlpha < 1):
		return fmt.Errorf("drift.ks_alpha: %g must be in (0, 1)", c.KSAlpha)
	case !(c.ChiAlpha > 0 && c.ChiAlpha < 1):
		return fmt.Errorf("drift.chi_alpha: %g must be in (0, 1)", c.ChiAlpha)
	case c.MinSamples < 1:
		return fmt.Errorf("drift.min_samples: %d must be at least 1", c.MinSamples)
	}
	return c.InputsConfig.Validate()
}

// Monitor counts live observations of one served model version against its
// profile. It is safe for concurrent use: Observe takes no lock and
// allocates nothing; Report and WriteMetrics read the counters (and clear
// the next slice ahead of time) without blocking it.
type Monitor struct {
	prof  *Profile
	cfg   MonitorConfig
	feats []featState
	score featState
	index map[string]int // feature name → index in feats

	// sampleAll skips the random draw; otherwise a request is sampled when
	// a uniform uint64 falls below threshold.
	sampleAll bool
	threshold uint64

	width    int64   // a slice's duration, ns
	ring     []slice // Buckets+1 slices: the window, and the next one cleared ahead
	stride   int     // counters per slice
	inputOff int     // where the requests holding each tensor input are counted

	schema  []schemaCounters // per feature, for every request
	sampled atomic.Uint64    // sampled requests since start

	now func() time.Time // the clock of Observe and WriteMetrics
}

// featState is a feature's immutable lookup state and where its counters
// lie in a slice: bins [off, off+bins), then CDF steps [cdfOff,
// cdfOff+len(cdf)+1) for a numeric feature, then the missing count.
type featState struct {
	prof     *FeatureProfile
	numeric  bool
	edges    []float64
	cdf      []float64 // the CDF's values
	cats     map[string]int
	min, max float64
	off      int
	cdfOff   int
	missing  int
}

// slice counts the sampled observations of one Window/Buckets interval.
// epoch is the interval's number (unix time / width) shifted left by one;
// its low bit is set while the slice is being cleared for a new interval.
type slice struct {
	epoch  atomic.Int64
	n      atomic.Uint64 // sampled requests
	counts []atomic.Uint64
	inputs inputSlice // a profile of tensor inputs only
	_      [32]byte   // keep neighbouring slices' epochs off one cache line
}

// schemaCounters counts one feature's schema problems since start.
type schemaCounters struct {
	missing    atomic.Uint64
	outOfRange atomic.Uint64
	unknown    atomic.Uint64
	invalid    atomic.Uint64
	_          [32]byte // one feature per cache line
}

// NewMonitor returns a monitor of live traffic against p. cfg's zero fields
// take their defaults. p must not change afterwards.
func NewMonitor(p *Profile, cfg MonitorConfig) (*Monitor, error) {
	if p == nil {
		return nil, errors.New("drift: no profile")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Monitor{
		prof:   p,
		cfg:    cfg,
		feats:  make([]featState, len(p.Features)),
		index:  make(map[string]int, len(p.Features)),
		schema: make([]schemaCounters, len(p.Features)),
		width:  int64(cfg.Window) / int64(cfg.Buckets),
		now:    time.Now,
	}
	if t := cfg.SampleRate * (1 << 64); t >= 1<<64 {
		m.sampleAll = true
	} else {
		m.threshold = uint64(t)
	}
	for i := range p.Features {
		m.feats[i] = m.layout(&p.Features[i])
		m.index[p.Features[i].Name] = i
	}
	if p.Score.Type != "" {
		m.score = m.layout(&p.Score)
	}
	m.inputOff = m.stride
	m.stride += len(p.Inputs)
	m.ring = make([]slice, cfg.Buckets+1)
	for i := range m.ring {
		m.ring[i].counts = make([]atomic.Uint64, m.stride)
		m.ring[i].inputs.moments = make([]moments, len(p.Inputs))
	}
	return m, nil
}

// layout places a feature's counters after those placed so far.
func (m *Monitor) layout(fp *FeatureProfile) featState {
	st := featState{prof: fp, numeric: fp.Type == Numeric, min: fp.Min, max: fp.Max, off: m.stride}
	m.stride += len(fp.Proportions)
	if st.numeric {
		st.edges = fp.Edges
		st.cdfOff = m.stride
		if fp.CDF != nil {
			st.cdf = fp.CDF.Values
			m.stride += len(st.cdf) + 1
		}
	} else {
		st.cats = make(map[string]int, len(fp.Categories))
		for i, c := range fp.Categories {
			st.cats[c] = i
		}
	}
	st.missing = m.stride
	m.stride++
	return st
}

// Profile returns the monitor's reference profile.
func (m *Monitor) Profile() *Profile { return m.prof }

// Config returns the monitor's configuration, defaults applied.
func (m *Monitor) Config() MonitorConfig { return m.cfg }

// Observe counts one answered request: its raw features and the model's
// score (probability; NaN if none). Schema problems are counted for every
// request; features and score are counted into the current slice for a
// SampleRate share of requests. It takes no lock and allocates nothing; f
// is only read, and not retained.
func (m *Monitor) Observe(f *features.Set, score float64) {
	var s *slice
	if m.sample() {
		s = m.current(m.now())
	}
	m.count(f, score, s)
}

// ObserveAt is Observe for a caller that has read the clock already (the
// request's start time will do: the window moves in minutes).
func (m *Monitor) ObserveAt(f *features.Set, score float64, now time.Time) {
	var s *slice
	if m.sample() {
		s = m.current(now)
	}
	m.count(f, score, s)
}

// sample draws whether this request is sampled. math/rand/v2's top-level
// functions use the runtime's per-thread generator: no lock, no shared
// cache line.
func (m *Monitor) sample() bool {
	return m.sampleAll || rand.Uint64() < m.threshold
}

// epochOf returns the number of the slice that holds time now.
func (m *Monitor) epochOf(now time.Time) int64 {
	return now.UnixNano() / m.width
}

// current returns the slice to count an observation at now into, clearing
// it first when it still holds an older interval; or nil, dropping the
// observation, when the slice already holds a newer interval (a caller with
// a stale clock).
func (m *Monitor) current(now time.Time) *slice {
	k := m.epochOf(now)
	if k < 0 {
		return nil
	}
	s := &m.ring[k%int64(len(m.ring))]
	if s.epoch.Load() == k<<1 || m.advance(s, k) {
		return s
	}
	return nil
}

// advance moves slice s to interval k when it holds an older one: the
// goroutine whose CAS marks it busy clears it and publishes k. The others
// wait for the clear, yielding: it takes microseconds, once per slice
// interval (Report usually does it ahead of time), and dropping their
// observations instead lost most of them when the clearing goroutine was
// descheduled (TestConcurrentObserveAndReport under -race on a loaded
// machine). It reports whether s holds k afterwards: false when s holds a
// newer interval.
func (m *Monitor) advance(s *slice, k int64) bool {
	for {
		e := s.epoch.Load()
		switch {
		case e == k<<1:
			return true
		case e>>1 > k:
			return false
		case e&1 != 0:
			runtime.Gosched() // being cleared, for k or an older interval
		case s.epoch.CompareAndSwap(e, k<<1|1):
			s.n.Store(0)
			for i := range s.counts {
				s.counts[i].Store(0)
			}
			s.inputs.clear()
			s.epoch.Store(k << 1)
			return true
		}
	}
}

// count counts f's schema problems, and when s is not nil its features and
// score into s.
func (m *Monitor) count(f *features.Set, score float64, s *slice) {
	var seen [MaxFeatures / 64]uint64
	found := 0
	// Backwards, so that a repeated name counts its last value, as
	// features.Set.Get reads it.
	for i := f.Len() - 1; i >= 0; i-- {
		ft := f.At(i)
		j, ok := m.index[string(ft.Name)] // no allocation: the conversion is only the key
		if !ok || seen[j>>6]&(1<<(j&63)) != 0 {
			continue
		}
		seen[j>>6] |= 1 << (j & 63)
		found++
		st, sc := &m.feats[j], &m.schema[j]
		if st.numeric {
			x := ft.Num
			if ft.Kind != features.Number || math.IsNaN(x) || math.IsInf(x, 0) {
				sc.invalid.Add(1)
				if s != nil {
					s.counts[st.missing].Add(1)
				}
				continue
			}
			if x < st.min || x > st.max {
				sc.outOfRange.Add(1)
			}
			if s != nil {
				st.countNumber(s, x)
			}
			continue
		}
		if ft.Kind != features.String {
			sc.invalid.Add(1)
			if s != nil {
				s.counts[st.missing].Add(1)
			}
			continue
		}
		c, ok := st.cats[string(ft.Str)]
		if !ok {
			sc.unknown.Add(1)
			c = len(st.prof.Categories)
		}
		if s != nil {
			s.counts[st.off+c].Add(1)
		}
	}
	if found < len(m.feats) {
		for j := range m.feats {
			if seen[j>>6]&(1<<(j&63)) == 0 {
				m.schema[j].missing.Add(1)
				if s != nil {
					s.counts[m.feats[j].missing].Add(1)
				}
			}
		}
	}
	if s == nil || m.score.prof == nil {
		return
	}
	if math.IsNaN(score) || math.IsInf(score, 0) {
		s.counts[m.score.missing].Add(1)
	} else {
		m.score.countNumber(s, score)
	}
	s.n.Add(1)
	m.sampled.Add(1)
}

func (st *featState) countNumber(s *slice, x float64) {
	s.counts[st.off+binOf(st.edges, x)].Add(1)
	if st.cdf != nil {
		s.counts[st.cdfOff+binOf(st.cdf, x)].Add(1)
	}
}
