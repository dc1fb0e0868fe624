package drift

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/golden"
)

var testStart = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var (
	nameA     = []byte("a")
	nameB     = []byte("b")
	nameC     = []byte("c")
	nameUser  = []byte("user_id")
	valueUser = []byte("u-1")
	valueStr  = map[string][]byte{"x": []byte("x"), "y": []byte("y"), "z": []byte("z"), "w": []byte("w")}
)

// row is one request of the test model: a and b numeric, c categorical.
type row struct {
	a, b float64
	c    string
}

func (r row) score() float64 { return 1 / (1 + math.Exp(-(r.a + 0.5*r.b))) }

func (r row) fill(s *features.Set) {
	s.Reset()
	s.AddString(nameUser, valueUser) // not a model input
	s.AddNumber(nameA, r.a)
	s.AddNumber(nameB, r.b)
	s.AddString(nameC, valueStr[r.c])
}

// genRows draws n rows: a ~ N(shiftA, 1), b ~ N(0, 1), c over x, y, z with
// the probabilities cp.
func genRows(rng *rand.Rand, n int, shiftA float64, cp [3]float64) []row {
	rows := make([]row, n)
	for i := range rows {
		u := rng.Float64()
		c := "z"
		switch {
		case u < cp[0]:
			c = "x"
		case u < cp[0]+cp[1]:
			c = "y"
		}
		rows[i] = row{a: rng.NormFloat64() + shiftA, b: rng.NormFloat64(), c: c}
	}
	return rows
}

var refMix = [3]float64{0.5, 0.3, 0.2}

// testProfile is the profile of 20 000 reference rows.
func testProfile(tb testing.TB) *Profile {
	tb.Helper()
	rows := genRows(rand.New(rand.NewPCG(1, 1)), 20000, 0, refMix)
	a, b := make([]float64, len(rows)), make([]float64, len(rows))
	c, scores := make([]string, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		a[i], b[i], c[i], scores[i] = r.a, r.b, r.c, r.score()
	}
	p := BuildProfile(map[string][]float64{"a": a, "b": b}, map[string][]string{"c": c}, scores, 0)
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	return p
}

func newTestMonitor(tb testing.TB, cfg MonitorConfig) *Monitor {
	tb.Helper()
	m, err := NewMonitor(testProfile(tb), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	m.now = func() time.Time { return testStart }
	return m
}

func feed(m *Monitor, rows []row, now time.Time) {
	var s features.Set
	for _, r := range rows {
		r.fill(&s)
		m.ObserveAt(&s, r.score(), now)
	}
}

func featureReport(tb testing.TB, r Report, name string) FeatureReport {
	tb.Helper()
	for _, f := range r.Features {
		if f.Name == name {
			return f
		}
	}
	tb.Fatalf("no feature %q in the report", name)
	return FeatureReport{}
}

func pvalue(f FeatureReport) float64 {
	if f.KS != nil {
		return f.KS.PValue
	}
	if f.ChiSquare != nil {
		return f.ChiSquare.PValue
	}
	return math.NaN()
}

func logReport(tb testing.TB, r Report) {
	tb.Helper()
	for _, f := range append(r.Features, r.Score) {
		tb.Logf("%-5s n=%d psi=%.4f p=%.3g verdict=%s", f.Name, f.Samples, f.PSI, pvalue(f), f.Verdict)
	}
}

// The done-when test: a known shift of one feature raises its PSI above the
// alert level and its verdict to drift, and only its; an unshifted sample
// stays below the warning level everywhere.
func TestShiftedFeatureDrifts(t *testing.T) {
	t.Parallel()
	m := newTestMonitor(t, MonitorConfig{SampleRate: 1})
	feed(m, genRows(rand.New(rand.NewPCG(2, 2)), 5000, 1, refMix), testStart)
	r := m.Report(testStart)
	logReport(t, r)
	if r.Samples != 5000 {
		t.Errorf("samples = %d, want 5000", r.Samples)
	}
	a := featureReport(t, r, "a")
	if a.PSI <= 0.25 || a.Verdict != Drift || a.KS.PValue >= 1e-10 {
		t.Errorf("a: psi %g, KS p %g, verdict %s; want psi > 0.25, p ≈ 0, drift", a.PSI, a.KS.PValue, a.Verdict)
	}
	for _, name := range []string{"b", "c"} {
		if f := featureReport(t, r, name); f.PSI >= 0.1 || f.Verdict != None {
			t.Errorf("%s: psi %g, verdict %s; want < 0.1, none", name, f.PSI, f.Verdict)
		}
	}
	// The score follows a: it drifts too.
	if r.Score.Verdict != Drift || r.Verdict != Drift {
		t.Errorf("score verdict %s, overall %s; want drift, drift", r.Score.Verdict, r.Verdict)
	}
	if len(r.Drifted) != 1 || r.Drifted[0] != "a" {
		t.Errorf("drifted = %q, want [a]", r.Drifted)
	}

	m = newTestMonitor(t, MonitorConfig{SampleRate: 1})
	feed(m, genRows(rand.New(rand.NewPCG(3, 3)), 5000, 0, refMix), testStart)
	r = m.Report(testStart)
	logReport(t, r)
	for _, f := range append(r.Features, r.Score) {
		if f.PSI >= 0.1 || f.Verdict != None {
			t.Errorf("unshifted %s: psi %g, verdict %s; want < 0.1, none", f.Name, f.PSI, f.Verdict)
		}
	}
	if r.Verdict != None || len(r.Drifted) != 0 {
		t.Errorf("unshifted: verdict %s, drifted %q; want none, []", r.Verdict, r.Drifted)
	}
}

func TestCategoricalShift(t *testing.T) {
	t.Parallel()
	f := func(mix [3]float64, want Verdict, minPSI, maxPSI, maxP float64) {
		t.Helper()
		m := newTestMonitor(t, MonitorConfig{SampleRate: 1})
		feed(m, genRows(rand.New(rand.NewPCG(4, 4)), 5000, 0, mix), testStart)
		r := m.Report(testStart)
		c := featureReport(t, r, "c")
		t.Logf("c %v: psi=%.4f chi2=%.1f df=%d p=%.3g verdict=%s", mix, c.PSI, c.ChiSquare.Statistic, c.ChiSquare.DF, c.ChiSquare.PValue, c.Verdict)
		if c.Verdict != want || c.PSI < minPSI || c.PSI > maxPSI || c.ChiSquare.PValue > maxP || c.ChiSquare.DF != 2 {
			t.Errorf("c %v: psi %g, p %g, df %d, verdict %s; want psi in [%g, %g], p ≤ %g, df 2, %s",
				mix, c.PSI, c.ChiSquare.PValue, c.ChiSquare.DF, c.Verdict, minPSI, maxPSI, maxP, want)
		}
		for _, name := range []string{"a", "b"} {
			if f := featureReport(t, r, name); f.Verdict != None {
				t.Errorf("%s: verdict %s, want none", name, f.Verdict)
			}
		}
	}
	// Reversed: PSI = 0.3·ln 6.25 = 0.55.
	f([3]float64{0.2, 0.3, 0.5}, Drift, 0.45, 0.65, 1e-10)
	// PSI = 0.15·ln 2.5 = 0.137: a warning.
	f([3]float64{0.35, 0.3, 0.35}, Warn, 0.1, 0.2, 1e-10)
	// Significant at 5000 samples, but PSI 0.016: too small to matter.
	f([3]float64{0.45, 0.3, 0.25}, None, 0.005, 0.04, 1e-3)
	// Unshifted.
	f(refMix, None, 0, 0.01, 1)
}

func TestInsufficientData(t *testing.T) {
	t.Parallel()
	m := newTestMonitor(t, MonitorConfig{SampleRate: 1, MinSamples: 200})
	r := m.Report(testStart)
	if r.Verdict != Insufficient || r.Samples != 0 || r.Features[0].KS != nil {
		t.Errorf("empty window: verdict %s, samples %d, ks %v; want insufficient_data, 0, nil", r.Verdict, r.Samples, r.Features[0].KS)
	}
	// 199 shifted samples: the statistics are there, the verdict waits.
	feed(m, genRows(rand.New(rand.NewPCG(5, 5)), 199, 3, refMix), testStart)
	r = m.Report(testStart)
	if a := featureReport(t, r, "a"); a.Verdict != Insufficient || a.PSI < 1 || a.KS == nil {
		t.Errorf("199 samples: a verdict %s, psi %g; want insufficient_data with psi > 1", a.Verdict, a.PSI)
	}
	feed(m, genRows(rand.New(rand.NewPCG(5, 6)), 1, 3, refMix), testStart)
	if r = m.Report(testStart); r.Verdict != Drift {
		t.Errorf("200 samples: verdict %s, want drift", r.Verdict)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("report does not encode: %v", err)
	}
}

func TestWindowRotation(t *testing.T) {
	t.Parallel()
	m := newTestMonitor(t, MonitorConfig{SampleRate: 1, Window: time.Hour, Buckets: 12})
	shifted := genRows(rand.New(rand.NewPCG(6, 6)), 2000, 1, refMix)
	plain := genRows(rand.New(rand.NewPCG(7, 7)), 2000, 0, refMix)
	t0 := testStart.Add(time.Second)
	feed(m, shifted, t0)
	if r := m.Report(t0); r.Samples != 2000 || r.Verdict != Drift {
		t.Fatalf("at t0: samples %d, verdict %s; want 2000, drift", r.Samples, r.Verdict)
	}
	// 30 minutes on, plain traffic joins the window: a is still shifted
	// on half of it.
	t1 := t0.Add(30 * time.Minute)
	feed(m, plain, t1)
	r := m.Report(t1)
	if r.Samples != 4000 || featureReport(t, r, "a").Verdict == None {
		t.Errorf("at t0+30m: samples %d, a %s; want 4000 and a shift", r.Samples, featureReport(t, r, "a").Verdict)
	}
	// The window spans the last 12 slices of 5 minutes, the current one
	// included: at t0+55m (t0's slice is 11 back) the shifted slice is in;
	// at t0+60m it has aged out.
	if r := m.Report(t0.Add(55 * time.Minute)); r.Samples != 4000 {
		t.Errorf("at t0+55m: samples %d, want 4000", r.Samples)
	}
	r = m.Report(t0.Add(60 * time.Minute))
	if r.Samples != 2000 || r.Verdict != None {
		t.Errorf("at t0+60m: samples %d, verdict %s; want 2000 (plain only), none", r.Samples, r.Verdict)
	}
	if !r.From.Equal(t0.Add(5*time.Minute).Truncate(5*time.Minute)) || !r.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("window [%s, %s], want [%s, %s]", r.From, r.Time, t0.Add(5*time.Minute).Truncate(5*time.Minute), t0.Add(time.Hour))
	}
	if r := m.Report(t1.Add(time.Hour)); r.Samples != 0 || r.Verdict != Insufficient {
		t.Errorf("at t1+1h: samples %d, verdict %s; want 0, insufficient_data", r.Samples, r.Verdict)
	}
	// A slot is reused by the interval one ring later: observing there
	// clears what it held.
	ring := time.Duration(len(m.ring)) * 5 * time.Minute
	feed(m, plain[:300], t0.Add(ring))
	if r := m.Report(t0.Add(ring)); r.Samples != 300 || featureReport(t, r, "a").Verdict == Drift {
		t.Errorf("after reuse: samples %d, a %s; want 300 unshifted ones", r.Samples, featureReport(t, r, "a").Verdict)
	}
	// A stale clock does not write into a newer slice.
	feed(m, shifted[:10], t0)
	if r := m.Report(t0.Add(ring)); r.Samples != 300 {
		t.Errorf("after a stale observation: samples %d, want 300", r.Samples)
	}
	if got := m.Report(t0.Add(ring)).SampledTotal; got != 4300 {
		t.Errorf("sampled total = %d, want 4300 (the stale ones are dropped)", got)
	}
}

// Report clears the next slice ahead, so the request path does not have to.
func TestReportClearsNextSlice(t *testing.T) {
	t.Parallel()
	m := newTestMonitor(t, MonitorConfig{SampleRate: 1, Window: time.Hour, Buckets: 12})
	feed(m, genRows(rand.New(rand.NewPCG(8, 8)), 10, 0, refMix), testStart)
	next := testStart.Add(5 * time.Minute)
	m.Report(testStart)
	s := &m.ring[m.epochOf(next)%int64(len(m.ring))]
	if s.epoch.Load() != m.epochOf(next)<<1 {
		t.Errorf("the next slice's epoch is %d, want %d", s.epoch.Load(), m.epochOf(next)<<1)
	}
}

func TestSchemaCounts(t *testing.T) {
	t.Parallel()
	// Schema problems count on every request: with a sample rate this
	// small, none is sampled.
	m := newTestMonitor(t, MonitorConfig{SampleRate: 1e-12})
	var s features.Set
	observe := func(add func()) {
		s.Reset()
		add()
		m.Observe(&s, 0.5)
	}
	observe(func() { s.AddNumber(nameA, 0); s.AddNumber(nameB, 0); s.AddString(nameC, valueStr["x"]) }) // fine
	observe(func() { s.AddNumber(nameA, 100); s.AddString(nameC, valueStr["w"]) })                      // a out of range, b missing, c unknown
	observe(func() { s.AddNumber(nameA, -100); s.AddNumber(nameB, math.NaN()) })                        // a out of range, b invalid, c missing
	observe(func() { s.AddString(nameA, valueStr["x"]); s.AddNumber(nameC, 1) })                        // a, c invalid, b missing
	observe(func() { s.AddNumber(nameA, 100); s.AddNumber(nameA, 0) })                                  // the last a counts: fine; b, c missing
	r := m.Report(testStart)
	f := func(name string, want SchemaCounts) {
		t.Helper()
		if got := *featureReport(t, r, name).Schema; got != want {
			t.Errorf("%s: schema %+v, want %+v", name, got, want)
		}
	}
	f("a", SchemaCounts{OutOfRange: 2, Invalid: 1})
	f("b", SchemaCounts{Missing: 3, Invalid: 1})
	f("c", SchemaCounts{Missing: 2, UnknownCategory: 1, Invalid: 1})
	if r.Samples != 0 || r.Score.Schema != nil {
		t.Errorf("samples %d, score schema %v; want 0, nil", r.Samples, r.Score.Schema)
	}
}

func TestMissingShare(t *testing.T) {
	t.Parallel()
	m := newTestMonitor(t, MonitorConfig{SampleRate: 1})
	var s features.Set
	for i := range 400 {
		s.Reset()
		s.AddNumber(nameA, 0.1)
		if i%4 != 0 {
			s.AddNumber(nameB, 0.1)
		}
		s.AddString(nameC, valueStr["x"])
		m.ObserveAt(&s, math.NaN(), testStart)
	}
	r := m.Report(testStart)
	if b := featureReport(t, r, "b"); b.MissingShare != 0.25 || b.Samples != 300 {
		t.Errorf("b: missing share %g, samples %d; want 0.25, 300", b.MissingShare, b.Samples)
	}
	if r.Score.MissingShare != 1 || r.Score.Samples != 0 || r.Score.Verdict != Insufficient {
		t.Errorf("score: missing share %g, samples %d, verdict %s; want 1, 0, insufficient_data", r.Score.MissingShare, r.Score.Samples, r.Score.Verdict)
	}
}

func TestSampleRate(t *testing.T) {
	t.Parallel()
	m := newTestMonitor(t, MonitorConfig{SampleRate: 0.1})
	rows := genRows(rand.New(rand.NewPCG(9, 9)), 1000, 0, refMix)
	for range 100 {
		feed(m, rows, testStart)
	}
	// 100 000 draws at 10%: σ ≈ 95, so 5σ either side.
	if n := m.Report(testStart).Samples; n < 9525 || n > 10475 {
		t.Errorf("sampled %d of 100000 at 10%%, want about 10000", n)
	}
}

// KS on the grid equals the exact two-sample statistic when every live value
// is a grid point.
func TestKSGridExact(t *testing.T) {
	t.Parallel()
	ref := make([]float64, 0, 1000)
	for i := range 1000 {
		ref = append(ref, float64(i%100)) // 0…99, ten times each
	}
	p := BuildProfile(map[string][]float64{"a": ref}, nil, nil, 0)
	m, err := NewMonitor(p, MonitorConfig{SampleRate: 1, MinSamples: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(10, 10))
	var live []float64
	var s features.Set
	for range 700 {
		x := float64(min(rng.IntN(100)+rng.IntN(20), 99))
		live = append(live, x)
		s.Reset()
		s.AddNumber(nameA, x)
		m.ObserveAt(&s, 0.5, testStart)
	}
	got := featureReport(t, m.Report(testStart), "a").KS
	want := bruteKS(ref, live)
	if math.Abs(got.Statistic-want) > 1e-12 {
		t.Errorf("grid KS D = %g, exact %g", got.Statistic, want)
	}
	if wantP := KSPValue(want, 1000, 700); got.PValue != wantP {
		t.Errorf("KS p = %g, want %g", got.PValue, wantP)
	}
	t.Logf("KS D = %.4f, p = %.3g", got.Statistic, got.PValue)
}

// bruteKS is the two-sample KS statistic by definition: the largest gap of
// the empirical distribution functions, at every sample value.
func bruteKS(x, y []float64) float64 {
	cdf := func(s []float64, v float64) float64 {
		n := 0
		for _, u := range s {
			if u <= v {
				n++
			}
		}
		return float64(n) / float64(len(s))
	}
	var d float64
	for _, v := range append(append([]float64{}, x...), y...) {
		d = max(d, math.Abs(cdf(x, v)-cdf(y, v)))
	}
	return d
}

// Many goroutines observe while reports run; under -race this checks that
// the counters are only touched atomically, and at the end no count is lost.
func TestConcurrentObserveAndReport(t *testing.T) {
	t.Parallel()
	const workers, each = 16, 2000
	f := func(rotate bool) {
		m := newTestMonitor(t, MonitorConfig{SampleRate: 1, Window: time.Minute, Buckets: 6})
		var clock atomic.Int64 // ms since testStart
		now := func() time.Time { return testStart.Add(time.Duration(clock.Load()) * time.Millisecond) }
		var wg, readers sync.WaitGroup
		stop := make(chan struct{})
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := m.Report(now())
				if _, err := json.Marshal(r); err != nil {
					t.Error(err)
					return
				}
				var w bytes.Buffer
				m.WriteMetrics(&w, "churn", "1.0.0")
			}
		})
		for g := range workers {
			rows := genRows(rand.New(rand.NewPCG(11, uint64(g))), each, 0, refMix)
			wg.Go(func() {
				var s features.Set
				for i, r := range rows {
					if rotate && i%100 == 0 {
						clock.Add(1000) // a second: a slice every 10s
					}
					r.fill(&s)
					m.ObserveAt(&s, r.score(), now())
				}
			})
		}
		wg.Wait()
		close(stop)
		readers.Wait()
		r := m.Report(now())
		if !rotate {
			// One interval: every sample arrives, whoever clears the slice
			// first (the others wait for the clear).
			if r.Samples != workers*each || featureReport(t, r, "a").Samples != r.Samples {
				t.Errorf("samples %d, a %d; want %d", r.Samples, featureReport(t, r, "a").Samples, workers*each)
			}
		} else if r.SampledTotal > workers*each || r.Samples > r.SampledTotal {
			t.Errorf("sampled total %d, window %d; want ≤ %d", r.SampledTotal, r.Samples, workers*each)
		}
	}
	f(false)
	f(true)
}

// The request path allocates nothing, sampled or not, with or without
// schema problems. Not parallel: AllocsPerRun counts every goroutine's
// allocations.
func TestObserveAllocs(t *testing.T) {
	for _, rate := range []float64{1, 0.1} {
		m := newTestMonitor(t, MonitorConfig{SampleRate: rate})
		var good, bad features.Set
		row{a: 0.3, b: -1, c: "y"}.fill(&good)
		bad.AddNumber(nameA, 1e9)
		bad.AddString(nameB, valueStr["x"])
		bad.AddString(nameC, valueStr["w"])
		if n := testing.AllocsPerRun(1000, func() { m.Observe(&good, 0.4) }); n != 0 {
			t.Errorf("rate %g: Observe allocates %g times", rate, n)
		}
		if n := testing.AllocsPerRun(1000, func() { m.Observe(&bad, math.NaN()) }); n != 0 {
			t.Errorf("rate %g: Observe with schema problems allocates %g times", rate, n)
		}
		if n := testing.AllocsPerRun(1000, func() { m.ObserveAt(&good, 0.4, testStart) }); n != 0 {
			t.Errorf("rate %g: ObserveAt allocates %g times", rate, n)
		}
	}
}

func TestMonitorConfigValidate(t *testing.T) {
	t.Parallel()
	f := func(cfg MonitorConfig, want string) {
		t.Helper()
		cfg.ApplyDefaults()
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", cfg, err, want)
		}
	}
	f(MonitorConfig{SampleRate: 1.5}, "drift.sample_rate: 1.5 must be in (0, 1]")
	f(MonitorConfig{SampleRate: -0.1}, "drift.sample_rate")
	f(MonitorConfig{Buckets: 5000}, "drift.buckets: 5000 must be in [1, 1440]")
	f(MonitorConfig{Window: time.Millisecond}, "drift.window: 1ms is too short for 12 buckets")
	f(MonitorConfig{PSIWarn: 0.3}, "drift.psi_alert: 0.25 must be at least psi_warn (0.3)")
	f(MonitorConfig{KSAlpha: 1}, "drift.ks_alpha")
	f(MonitorConfig{ChiAlpha: 2}, "drift.chi_alpha")
	f(MonitorConfig{MinSamples: -1}, "drift.min_samples")

	var cfg MonitorConfig
	cfg.ApplyDefaults()
	want := MonitorConfig{SampleRate: 0.1, Window: time.Hour, Buckets: 12, PSIWarn: 0.1, PSIAlert: 0.25, KSAlpha: 0.05, ChiAlpha: 0.05, MinSamples: 100,
		InputsConfig: InputsConfig{ShiftWarn: 0.25, ShiftAlert: 0.5, NaNShareWarn: 0.01, NaNShareAlert: 0.05}}
	if cfg != want {
		t.Errorf("defaults = %+v, want %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	if _, err := NewMonitor(nil, cfg); err == nil {
		t.Error("NewMonitor(nil) succeeded")
	}
}

func TestWriteMetrics(t *testing.T) {
	t.Parallel()
	m := newTestMonitor(t, MonitorConfig{SampleRate: 1})
	feed(m, genRows(rand.New(rand.NewPCG(12, 12)), 1000, 1, refMix), testStart)
	var s features.Set
	s.AddNumber(nameA, 1e6)
	s.AddString(nameC, valueStr["w"])
	m.ObserveAt(&s, 0.5, testStart)
	var w bytes.Buffer
	m.WriteMetrics(&w, `ch"urn`, "1.0.0")
	golden.Check(t, "metrics.txt", w.Bytes())
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
