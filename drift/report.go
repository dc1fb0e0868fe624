package drift

import (
	"time"
)

// Verdict is a feature's (or the whole version's) drift status.
type Verdict string

// The verdicts, from the least to the most severe.
const (
	// Insufficient: fewer than MinSamples live values in the window (or no
	// reference values): no statistic is meaningful yet.
	Insufficient Verdict = "insufficient_data"
	// None: no drift.
	None Verdict = "none"
	// Warn: the test is significant and PSI is at least PSIWarn.
	Warn Verdict = "warn"
	// Drift: the test is significant and PSI is at least PSIAlert.
	Drift Verdict = "drift"
)

// rank orders verdicts by severity.
func (v Verdict) rank() int {
	switch v {
	case None:
		return 1
	case Warn:
		return 2
	case Drift:
		return 3
	}
	return 0
}

// Value is the verdict as a metric: −1 insufficient data, 0 none, 1 warn,
// 2 drift.
func (v Verdict) Value() float64 { return float64(v.rank() - 1) }

// Report is the drift of a model version's live traffic against its
// reference profile, over the window ending at Time.
type Report struct {
	// Time is the report's time; the window is [From, Time].
	Time time.Time `json:"time"`
	From time.Time `json:"from"`
	// Samples is the number of sampled requests in the window.
	Samples uint64 `json:"samples"`
	// SampledTotal is the number of sampled requests since start.
	SampledTotal uint64 `json:"sampled_total"`
	// Verdict is the most severe verdict of the features and the score, or
	// insufficient_data when all of them have too few samples.
	Verdict Verdict `json:"verdict"`
	// Drifted names the features (or tensor inputs) whose verdict is drift.
	Drifted []string `json:"drifted"`
	// Features in the profile's order (ascending name).
	Features []FeatureReport `json:"features"`
	// Score is the drift of the model's probability; absent for a model
	// that takes tensors.
	Score FeatureReport `json:"score,omitzero"`
	// Inputs are the tensor inputs of a model that takes tensors, in the
	// profile's order (ascending name).
	Inputs []InputReport `json:"inputs,omitempty"`
	// Thresholds are the monitor's settings that the verdicts used.
	Thresholds Thresholds `json:"thresholds"`
}

// Thresholds are the levels verdicts are judged by.
type Thresholds struct {
	PSIWarn    float64 `json:"psi_warn"`
	PSIAlert   float64 `json:"psi_alert"`
	KSAlpha    float64 `json:"ks_alpha"`
	ChiAlpha   float64 `json:"chi_alpha"`
	MinSamples int     `json:"min_samples"`
	// The tensor inputs' (a model that takes tensors).
	ShiftWarn     float64 `json:"shift_warn,omitempty"`
	ShiftAlert    float64 `json:"shift_alert,omitempty"`
	NaNShareWarn  float64 `json:"nan_share_warn,omitempty"`
	NaNShareAlert float64 `json:"nan_share_alert,omitempty"`
}

// FeatureReport is the drift of one feature, or of the score.
type FeatureReport struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Samples is the number of live values in the window (missing ones
	// left out).
	Samples uint64 `json:"samples"`
	// MissingShare is the share of the window's sampled requests without a
	// usable value; ReferenceMissing is the reference's.
	MissingShare     float64 `json:"missing_share"`
	ReferenceMissing float64 `json:"reference_missing"`
	// Proportions are the live shares per bin or category, as in the
	// profile; absent without samples.
	Proportions []float64 `json:"proportions,omitempty"`
	// PSI against the reference proportions; 0 when Samples is 0.
	PSI float64 `json:"psi"`
	// KS is the two-sample Kolmogorov–Smirnov test (numeric).
	KS *Test `json:"ks,omitempty"`
	// ChiSquare is the chi-square test of homogeneity (categorical).
	ChiSquare *Test   `json:"chi_square,omitempty"`
	Verdict   Verdict `json:"verdict"`
	// Schema counts problems in every request since start (features only).
	Schema *SchemaCounts `json:"schema,omitempty"`
}

// Test is the result of a statistical test.
type Test struct {
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"p_value"`
	// DF is the chi-square test's degrees of freedom.
	DF int `json:"df,omitempty"`
}

// SchemaCounts are one feature's schema problems since the monitor started,
// counted on every request (not only sampled ones).
type SchemaCounts struct {
	// Missing: the request had no value for the feature.
	Missing uint64 `json:"missing"`
	// OutOfRange: a numeric value outside the reference's [min, max].
	OutOfRange uint64 `json:"out_of_range"`
	// UnknownCategory: a categorical value outside the profile's
	// categories.
	UnknownCategory uint64 `json:"unknown_category"`
	// Invalid: a value of the wrong JSON type, or a non-finite number.
	Invalid uint64 `json:"invalid"`
}

// Report computes the drift over the window that ends at now: the slices of
// the last Window/Buckets·Buckets, the current one included (so the window
// spans between Window−Window/Buckets and Window of traffic). It only reads
// counters, and may run concurrently with Observe and other Reports;
// counts added meanwhile may or may not be in it. It also clears the slice
// after now's ahead of time, so that the request path seldom has to: now is
// the clock's time, not one ahead of the observations' (which would age
// them out).
func (m *Monitor) Report(now time.Time) Report {
	k := m.epochOf(now)
	sum := make([]uint64, m.stride)
	tmp := make([]uint64, m.stride)
	inputs := make([]moments, len(m.prof.Inputs))
	tmpInputs := make([]moments, len(m.prof.Inputs))
	var samples uint64
	for i := range m.ring {
		s := &m.ring[i]
		e := s.epoch.Load()
		if e&1 != 0 || e>>1 > k || e>>1 <= k-int64(m.cfg.Buckets) {
			continue
		}
		n := s.n.Load()
		for j := range s.counts {
			tmp[j] = s.counts[j].Load()
		}
		s.inputs.mu.Lock()
		copy(tmpInputs, s.inputs.moments)
		s.inputs.mu.Unlock()
		if s.epoch.Load() != e {
			continue // cleared for a newer interval while we read
		}
		for j, c := range tmp {
			sum[j] += c
		}
		for j := range tmpInputs {
			inputs[j].merge(&tmpInputs[j])
		}
		samples += n
	}
	if k >= 0 {
		m.advance(&m.ring[(k+1)%int64(len(m.ring))], k+1)
	}

	r := Report{
		Time:         now,
		From:         time.Unix(0, (k-int64(m.cfg.Buckets)+1)*m.width),
		Samples:      samples,
		SampledTotal: m.sampled.Load(),
		Drifted:      []string{},
		Features:     make([]FeatureReport, len(m.feats)),
		Thresholds: Thresholds{
			PSIWarn: m.cfg.PSIWarn, PSIAlert: m.cfg.PSIAlert,
			KSAlpha: m.cfg.KSAlpha, ChiAlpha: m.cfg.ChiAlpha, MinSamples: m.cfg.MinSamples,
		},
	}
	if len(m.prof.Inputs) > 0 {
		c := &m.cfg.InputsConfig
		r.Thresholds.ShiftWarn, r.Thresholds.ShiftAlert = c.ShiftWarn, c.ShiftAlert
		r.Thresholds.NaNShareWarn, r.Thresholds.NaNShareAlert = c.NaNShareWarn, c.NaNShareAlert
	}
	if !now.IsZero() {
		r.From = r.From.In(now.Location())
	}
	r.Verdict = Insufficient
	for i := range m.feats {
		fr := m.judge(&m.feats[i], sum)
		sc := &m.schema[i]
		fr.Schema = &SchemaCounts{
			Missing:         sc.missing.Load(),
			OutOfRange:      sc.outOfRange.Load(),
			UnknownCategory: sc.unknown.Load(),
			Invalid:         sc.invalid.Load(),
		}
		r.Features[i] = fr
		if fr.Verdict == Drift {
			r.Drifted = append(r.Drifted, fr.Name)
		}
		r.Verdict = worse(r.Verdict, fr.Verdict)
	}
	if m.score.prof != nil {
		r.Score = m.judge(&m.score, sum)
		r.Verdict = worse(r.Verdict, r.Score.Verdict)
	}
	if len(m.prof.Inputs) > 0 {
		r.Inputs = m.judgeInputs(inputs, sum[m.inputOff:])
		for _, in := range r.Inputs {
			if in.Verdict == Drift {
				r.Drifted = append(r.Drifted, in.Name)
			}
			r.Verdict = worse(r.Verdict, in.Verdict)
		}
	}
	return r
}

func worse(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// judge computes one feature's statistics from the window's summed counters.
func (m *Monitor) judge(st *featState, sum []uint64) FeatureReport {
	fp := st.prof
	fr := FeatureReport{Name: fp.Name, Type: fp.Type, ReferenceMissing: fp.Missing, Verdict: Insufficient}
	bins := sum[st.off : st.off+len(fp.Proportions)]
	var n uint64
	for _, c := range bins {
		n += c
	}
	fr.Samples = n
	if missing := sum[st.missing]; n+missing > 0 {
		fr.MissingShare = float64(missing) / float64(n+missing)
	}
	if n == 0 || fp.Count == 0 {
		return fr
	}
	live := make([]float64, len(bins))
	for i, c := range bins {
		live[i] = float64(c) / float64(n)
	}
	fr.Proportions = live
	fr.PSI = PSI(fp.Proportions, live)

	var p, alpha float64
	if st.numeric {
		d := ksGrid(fp.CDF.Shares, sum[st.cdfOff:st.cdfOff+len(st.cdf)+1], n)
		p = KSPValue(d, fp.Count, int(n))
		alpha = m.cfg.KSAlpha
		fr.KS = &Test{Statistic: d, PValue: p}
	} else {
		ref := make([]float64, len(fp.Proportions))
		for i, x := range fp.Proportions {
			ref[i] = x * float64(fp.Count)
		}
		liveCounts := make([]float64, len(bins))
		for i, c := range bins {
			liveCounts[i] = float64(c)
		}
		stat, df, pv := ChiSquareHomogeneity(ref, liveCounts)
		p = pv
		alpha = m.cfg.ChiAlpha
		fr.ChiSquare = &Test{Statistic: stat, PValue: pv, DF: df}
	}
	if n < uint64(m.cfg.MinSamples) {
		return fr
	}
	fr.Verdict = m.verdict(fr.PSI, p, alpha)
	return fr
}

// verdict combines the size of a shift (PSI) with its significance (the
// test's p-value): PSI alone is noisy on small samples, and a test alone
// flags shifts too small to matter on large ones.
func (m *Monitor) verdict(psi, p, alpha float64) Verdict {
	switch {
	case p >= alpha || psi < m.cfg.PSIWarn:
		return None
	case psi < m.cfg.PSIAlert:
		return Warn
	}
	return Drift
}

// ksGrid returns the two-sample KS statistic evaluated at the reference CDF's
// points: max |F_ref(vᵢ) − F_live(vᵢ)|, where counts holds the live values
// per interval (−∞, v₀], (v₀, v₁], …, (v_last, +∞) and n is their total.
// Between grid points the live distribution is unknown, so this is a lower
// bound of the exact statistic, off by at most the larger mass of one
// interval (1% of the reference): the p-value errs on the side of no drift.
func ksGrid(refShares []float64, counts []uint64, n uint64) float64 {
	var d float64
	var cum uint64
	for i, s := range refShares {
		cum += counts[i]
		diff := s - float64(cum)/float64(n)
		if diff < 0 {
			diff = -diff
		}
		d = max(d, diff)
	}
	return d
}
