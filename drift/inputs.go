package drift

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/infergate/infergate/internal/defaults"
	"github.com/infergate/infergate/internal/tensor"
)

// Defaults of the thresholds on a tensor input's summary statistics.
const (
	// DefaultShiftWarn and DefaultShiftAlert bound the change of an
	// input's mean or standard deviation, in reference standard
	// deviations: 0.25 and 0.5, between Cohen's small (0.2) and medium
	// (0.5) effects.
	DefaultShiftWarn  = 0.25
	DefaultShiftAlert = 0.5
	// DefaultNaNShareWarn and DefaultNaNShareAlert bound the change of the
	// share of an input's elements that are NaN or infinite.
	DefaultNaNShareWarn  = 0.01
	DefaultNaNShareAlert = 0.05
)

// InputProfile is the reference of one input of a model that takes tensors:
// summary statistics of its elements over the sample requests given at
// import. Bools count as 0 and 1; a string input has no profile.
type InputProfile struct {
	Name string `json:"name"`
	// DType is the element type, as the registry names it (float32).
	DType string `json:"datatype"`
	// Requests is the number of sample requests; Elements the number of
	// finite elements they held.
	Requests int   `json:"requests"`
	Elements int64 `json:"elements"`
	// Mean, Std (population), Min and Max are over the finite elements.
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	// NaNShare is the share of the elements that are NaN or infinite.
	NaNShare float64 `json:"nan_share"`
}

// scale is what shifts of the input are measured in: its standard
// deviation, or 1 for an input that is constant in the reference.
func (p *InputProfile) scale() float64 {
	if p.Std > 0 {
		return p.Std
	}
	return 1
}

// BuildInputProfile computes the profile of a model's tensor inputs from
// sample requests, each a list of tensors by input name. String tensors are
// left out. It refuses samples without a numeric input or without a
// finite element.
func BuildInputProfile(samples [][]tensor.Tensor) (*Profile, error) {
	byName := map[string]*InputProfile{}
	acc := map[string]*welford{}
	for _, req := range samples {
		for i := range req {
			t := &req[i]
			if t.DType == tensor.String {
				continue
			}
			p := byName[t.Name]
			if p == nil {
				p = &InputProfile{Name: t.Name, DType: t.DType.String()}
				byName[t.Name], acc[t.Name] = p, &welford{min: math.Inf(1), max: math.Inf(-1)}
			}
			if p.DType != t.DType.String() {
				return nil, fmt.Errorf("drift: input %q is %s in one sample and %s in another", t.Name, p.DType, t.DType)
			}
			p.Requests++
			a := acc[t.Name]
			for k := range t.Len() {
				a.add(t.Float64At(k))
			}
		}
	}
	if len(byName) == 0 {
		return nil, errors.New("drift: the samples hold no numeric input to profile")
	}
	prof := &Profile{Format: ProfileFormat, Rows: len(samples)}
	for name, p := range byName {
		a := acc[name]
		if a.n == 0 {
			return nil, fmt.Errorf("drift: input %q has no finite element in the samples", name)
		}
		p.Elements, p.Mean, p.Min, p.Max = a.n, a.mean, a.min, a.max
		p.Std = math.Sqrt(a.m2 / float64(a.n))
		p.NaNShare = float64(a.nonFinite) / float64(a.n+a.nonFinite)
		prof.Inputs = append(prof.Inputs, *p)
	}
	slices.SortFunc(prof.Inputs, func(a, b InputProfile) int { return cmp.Compare(a.Name, b.Name) })
	return prof, nil
}

// welford accumulates a reference's moments exactly enough for any scale
// (Welford's update).
type welford struct {
	n, nonFinite int64
	mean, m2     float64
	min, max     float64
}

func (w *welford) add(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		w.nonFinite++
		return
	}
	w.n++
	d := x - w.mean
	w.mean += d / float64(w.n)
	w.m2 += d * (x - w.mean)
	w.min, w.max = min(w.min, x), max(w.max, x)
}

func (p *InputProfile) validate() error {
	switch {
	case p.Name == "":
		return errors.New("name: must not be empty")
	case tensor.Parse(p.DType) == tensor.Invalid || tensor.Parse(p.DType) == tensor.String:
		return fmt.Errorf("datatype: %q is not a numeric element type", p.DType)
	case p.Requests < 1 || p.Elements < 1:
		return fmt.Errorf("requests, elements: %d and %d must be positive", p.Requests, p.Elements)
	case !finite(p.Mean) || !finite(p.Std) || p.Std < 0 || !finite(p.Min) || !finite(p.Max) || p.Min > p.Max:
		return errors.New("mean, std, min, max: must be finite, std not negative and min at most max")
	case !(p.NaNShare >= 0 && p.NaNShare < 1):
		return fmt.Errorf("nan_share: %g must be in [0, 1)", p.NaNShare)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// moments are one interval's sums over an input's sampled elements: the
// finite ones as their difference from the reference mean (so that the sum
// of squares does not cancel), and the others counted.
type moments struct {
	n, nonFinite uint64
	sum, sumSq   float64
	min, max     float64
}

func (m *moments) merge(o *moments) {
	if o.n > 0 {
		if m.n == 0 {
			m.min, m.max = o.min, o.max
		} else {
			m.min, m.max = min(m.min, o.min), max(m.max, o.max)
		}
	}
	m.n += o.n
	m.nonFinite += o.nonFinite
	m.sum += o.sum
	m.sumSq += o.sumSq
}

// summarize sums t's elements around shift.
func summarize(t *tensor.Tensor, shift float64) moments {
	m := moments{min: math.Inf(1), max: math.Inf(-1)}
	add := func(x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			m.nonFinite++
			return
		}
		d := x - shift
		m.n++
		m.sum += d
		m.sumSq += d * d
		m.min, m.max = min(m.min, x), max(m.max, x)
	}
	if t.DType == tensor.Float32 {
		// The common case, without Float64At's switch per element.
		for _, x := range tensor.Float32s(t.Data)[:t.Len()] {
			add(float64(x))
		}
		return m
	}
	for k := range t.Len() {
		add(t.Float64At(k))
	}
	return m
}

// inputSlice is the tensor inputs' part of a slice: their moments, under a
// lock (a sampled request adds one short merge per input).
type inputSlice struct {
	mu      sync.Mutex
	moments []moments
}

func (s *inputSlice) clear() {
	s.mu.Lock()
	clear(s.moments)
	s.mu.Unlock()
}

// InputsConfig are the thresholds of a tensor input's verdict. There is no
// test of significance: the elements of one request are not independent
// draws, so the changes are judged as effect sizes, once MinSamples
// requests are in the window.
type InputsConfig struct {
	// ShiftWarn and ShiftAlert bound the change of an input's mean and of
	// its standard deviation, in reference standard deviations. Default
	// 0.25 and 0.5.
	ShiftWarn  float64 `yaml:"shift_warn"`
	ShiftAlert float64 `yaml:"shift_alert"`
	// NaNShareWarn and NaNShareAlert bound the change of the share of
	// elements that are NaN or infinite. Default 0.01 and 0.05.
	NaNShareWarn  float64 `yaml:"nan_share_warn"`
	NaNShareAlert float64 `yaml:"nan_share_alert"`
}

// ApplyDefaults fills the fields left at zero.
func (c *InputsConfig) ApplyDefaults() {
	defaults.Set(&c.ShiftWarn, DefaultShiftWarn)
	defaults.Set(&c.ShiftAlert, DefaultShiftAlert)
	defaults.Set(&c.NaNShareWarn, DefaultNaNShareWarn)
	defaults.Set(&c.NaNShareAlert, DefaultNaNShareAlert)
}

// Validate reports the first invalid field of a config with defaults
// applied.
func (c *InputsConfig) Validate() error {
	switch {
	case !(c.ShiftWarn > 0):
		return fmt.Errorf("drift.shift_warn: %g must be positive", c.ShiftWarn)
	case !(c.ShiftAlert >= c.ShiftWarn):
		return fmt.Errorf("drift.shift_alert: %g must be at least shift_warn (%g)", c.ShiftAlert, c.ShiftWarn)
	case !(c.NaNShareWarn > 0 && c.NaNShareWarn <= 1):
		return fmt.Errorf("drift.nan_share_warn: %g must be in (0, 1]", c.NaNShareWarn)
	case !(c.NaNShareAlert >= c.NaNShareWarn && c.NaNShareAlert <= 1):
		return fmt.Errorf("drift.nan_share_alert: %g must be in [nan_share_warn (%g), 1]", c.NaNShareAlert, c.NaNShareWarn)
	}
	return nil
}

// InputReport is the drift of one tensor input.
type InputReport struct {
	Name  string `json:"name"`
	DType string `json:"datatype"`
	// Samples is the number of sampled requests in the window that held
	// the input.
	Samples uint64 `json:"samples"`
	// Reference is the profile's statistics; Live the window's, absent
	// without samples.
	Reference InputStats  `json:"reference"`
	Live      *InputStats `json:"live,omitempty"`
	// MeanShift and StdChange are |live − reference| of the mean and of
	// the standard deviation, in reference standard deviations (in the
	// input's units where the reference is constant); NaNShareChange is
	// live − reference.
	MeanShift      float64 `json:"mean_shift"`
	StdChange      float64 `json:"std_change"`
	NaNShareChange float64 `json:"nan_share_change"`
	Verdict        Verdict `json:"verdict"`
}

// InputStats are summary statistics of an input's elements.
type InputStats struct {
	Elements uint64  `json:"elements"`
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	NaNShare float64 `json:"nan_share"`
}

// ObserveInputs counts one answered request to a model that takes tensors:
// for a SampleRate share of requests, the summary of each profiled input
// (by name; one the request lacks is skipped) goes into the current slice.
// The tensors are only read.
func (m *Monitor) ObserveInputs(ins []tensor.Tensor) {
	if len(m.prof.Inputs) == 0 || !m.sample() {
		return
	}
	s := m.current(m.now())
	if s == nil {
		return
	}
	var seen bool
	for i := range m.prof.Inputs {
		p := &m.prof.Inputs[i]
		j := slices.IndexFunc(ins, func(t tensor.Tensor) bool { return t.Name == p.Name })
		if j < 0 || ins[j].DType == tensor.String {
			continue
		}
		sum := summarize(&ins[j], p.Mean)
		s.inputs.mu.Lock()
		s.inputs.moments[i].merge(&sum)
		s.inputs.mu.Unlock()
		s.counts[m.inputOff+i].Add(1) // requests that held input i
		seen = true
	}
	if seen {
		s.n.Add(1)
		m.sampled.Add(1)
	}
}

// judgeInputs computes each input's report from the window's moments and
// request counts.
func (m *Monitor) judgeInputs(sum []moments, requests []uint64) []InputReport {
	c := &m.cfg.InputsConfig
	out := make([]InputReport, len(m.prof.Inputs))
	for i := range m.prof.Inputs {
		p := &m.prof.Inputs[i]
		r := InputReport{Name: p.Name, DType: p.DType, Samples: requests[i], Verdict: Insufficient,
			Reference: InputStats{Elements: uint64(p.Elements), Mean: p.Mean, Std: p.Std, Min: p.Min, Max: p.Max, NaNShare: p.NaNShare}}
		s := &sum[i]
		if total := s.n + s.nonFinite; total > 0 {
			live := InputStats{Elements: s.n, NaNShare: float64(s.nonFinite) / float64(total)}
			if s.n > 0 {
				d := s.sum / float64(s.n) // mean − reference mean
				live.Mean = p.Mean + d
				live.Std = math.Sqrt(max(s.sumSq/float64(s.n)-d*d, 0))
				live.Min, live.Max = s.min, s.max
				r.MeanShift = math.Abs(d) / p.scale()
				r.StdChange = math.Abs(live.Std-p.Std) / p.scale()
			}
			r.NaNShareChange = live.NaNShare - p.NaNShare
			r.Live = &live
		}
		if r.Samples >= uint64(m.cfg.MinSamples) {
			shift := max(r.MeanShift, r.StdChange)
			nan := math.Abs(r.NaNShareChange)
			switch {
			case shift >= c.ShiftAlert || nan >= c.NaNShareAlert:
				r.Verdict = Drift
			case shift >= c.ShiftWarn || nan >= c.NaNShareWarn:
				r.Verdict = Warn
			default:
				r.Verdict = None
			}
		}
		out[i] = r
	}
	return out
}
