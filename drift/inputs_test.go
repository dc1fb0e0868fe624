package drift

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/tensor"
)

// image is a request of an image model: x, float32 [1, n], drawn from
// N(mean, std) with a share nan of NaNs, and a string input the profile
// leaves out.
func image(rng *rand.Rand, n int, mean, std, nan float64) []tensor.Tensor {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64()*std + mean)
		if rng.Float64() < nan {
			x[i] = float32(math.NaN())
		}
	}
	return []tensor.Tensor{
		{Name: "x", DType: tensor.Float32, Shape: []int64{1, int64(n)}, Data: tensor.BytesOf(x)},
		{Name: "lang", DType: tensor.String, Shape: []int64{1}, Strings: [][]byte{[]byte("en")}},
	}
}

func TestBuildInputProfile(t *testing.T) {
	steps := []tensor.Tensor{{Name: "steps", DType: tensor.Int64, Shape: []int64{4}, Data: tensor.BytesOf([]int64{1, 2, 3, 4})}}
	nan := float32(math.NaN())
	x := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{2, 2}, Data: tensor.BytesOf([]float32{1e6 + 1, 1e6 - 1, nan, 1e6 + 1})}}
	p, err := BuildInputProfile([][]tensor.Tensor{append(x, steps...), steps})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Inputs) != 2 || p.Inputs[0].Name != "steps" || p.Inputs[1].Name != "x" || p.Rows != 2 {
		t.Fatalf("inputs %+v", p.Inputs)
	}
	s := p.Inputs[0]
	if s.DType != "int64" || s.Requests != 2 || s.Elements != 8 || math.Abs(s.Mean-2.5) > 1e-12 || math.Abs(s.Std-math.Sqrt(1.25)) > 1e-12 || s.Min != 1 || s.Max != 4 || s.NaNShare != 0 {
		t.Errorf("steps %+v", s)
	}
	// Three finite elements around a large mean: no cancellation.
	x0 := p.Inputs[1]
	if x0.Elements != 3 || math.Abs(x0.Mean-(1e6+1.0/3)) > 1e-9 || math.Abs(x0.Std-math.Sqrt(8.0/9)) > 1e-9 || x0.NaNShare != 0.25 {
		t.Errorf("x %+v, want mean 1e6+1/3, std √(8/9), nan share 0.25", x0)
	}
	data, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeProfile(data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if strings.Contains(string(data), `"score"`) || strings.Contains(string(data), `"features"`) {
		t.Errorf("a profile of tensor inputs has no score or features:\n%s", data)
	}

	for _, bad := range [][][]tensor.Tensor{
		{{{Name: "s", DType: tensor.String, Shape: []int64{1}, Strings: [][]byte{[]byte("a")}}}},
		{{{Name: "x", DType: tensor.Float32, Shape: []int64{1}, Data: tensor.BytesOf([]float32{nan})}}},
		{x, {{Name: "x", DType: tensor.Float64, Shape: []int64{1}, Data: tensor.BytesOf([]float64{1})}}},
	} {
		if _, err := BuildInputProfile(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestInputProfileValidate(t *testing.T) {
	good := InputProfile{Name: "x", DType: "float32", Requests: 1, Elements: 4, Mean: 1, Std: 1, Min: 0, Max: 2}
	for _, tc := range []struct {
		edit func(p *Profile)
		want string
	}{
		{func(p *Profile) { p.Inputs[0].DType = "string" }, "datatype"},
		{func(p *Profile) { p.Inputs[0].Std = -1 }, "std"},
		{func(p *Profile) { p.Inputs[0].Min = 3 }, "min at most max"},
		{func(p *Profile) { p.Inputs[0].NaNShare = 1 }, "nan_share"},
		{func(p *Profile) { p.Inputs = append(p.Inputs, good) }, "ascending"},
		{func(p *Profile) { p.Score = FeatureProfile{Name: ScoreName, Type: Numeric, Proportions: []float64{0}} }, "no features or score"},
	} {
		p := &Profile{Format: ProfileFormat, Rows: 1, Inputs: []InputProfile{good}}
		tc.edit(p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v", tc.want, err)
		}
	}
}

// TestInputDrift: traffic like the samples has no drift; a shifted mean,
// a wider spread and NaNs each drift, with the shift in reference
// standard deviations; too few requests are insufficient data.
func TestInputDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var samples [][]tensor.Tensor
	for range 50 {
		samples = append(samples, image(rng, 500, 0.5, 0.2, 0))
	}
	p, err := BuildInputProfile(samples)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		requests       int
		mean, std, nan float64
		verdict        Verdict
	}{
		{"like the samples", 150, 0.5, 0.2, 0, None},
		{"too few", 99, 0.9, 0.2, 0, Insufficient},
		{"brighter by 0.12 (0.6 std)", 150, 0.62, 0.2, 0, Drift},
		{"brighter by 0.06 (0.3 std)", 150, 0.56, 0.2, 0, Warn},
		{"twice the spread", 150, 0.5, 0.4, 0, Drift},
		{"2% NaN", 150, 0.5, 0.2, 0.02, Warn},
		{"10% NaN", 150, 0.5, 0.2, 0.1, Drift},
	} {
		m, err := NewMonitor(p, MonitorConfig{SampleRate: 1})
		if err != nil {
			t.Fatal(err)
		}
		m.now = func() time.Time { return testStart }
		for range tc.requests {
			m.ObserveInputs(image(rng, 500, tc.mean, tc.std, tc.nan))
		}
		r := m.Report(testStart)
		in := r.Inputs[0]
		t.Logf("%s: mean %.4f std %.4f nan %.3f; shift %.3f, std change %.3f: %s", tc.name, in.Live.Mean, in.Live.Std, in.Live.NaNShare, in.MeanShift, in.StdChange, in.Verdict)
		if in.Verdict != tc.verdict || r.Verdict != tc.verdict || in.Samples != uint64(tc.requests) || len(r.Inputs) != 1 {
			t.Errorf("%s: verdict %s (overall %s), samples %d; want %s, %d", tc.name, in.Verdict, r.Verdict, in.Samples, tc.verdict, tc.requests)
		}
		if want := math.Abs(tc.mean-0.5) / p.Inputs[0].Std; math.Abs(in.MeanShift-want) > 0.05 {
			t.Errorf("%s: mean shift %.3f, want about %.3f", tc.name, in.MeanShift, want)
		}
		if tc.verdict == Drift && (len(r.Drifted) != 1 || r.Drifted[0] != "x") {
			t.Errorf("%s: drifted %v", tc.name, r.Drifted)
		}
	}
}

func TestObserveInputsWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p, err := BuildInputProfile([][]tensor.Tensor{image(rng, 100, 0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMonitor(p, MonitorConfig{SampleRate: 1, Window: time.Minute, Buckets: 2})
	if err != nil {
		t.Fatal(err)
	}
	now := testStart
	m.now = func() time.Time { return now }
	m.ObserveInputs(image(rng, 100, 5, 1, 0))
	if r := m.Report(now); r.Samples != 1 || r.Inputs[0].Live == nil || r.Inputs[0].Live.Min < 0 {
		t.Fatalf("one request: %+v", r.Inputs[0])
	}
	now = now.Add(2 * time.Minute)
	m.ObserveInputs(image(rng, 100, 0, 1, 0))
	r := m.Report(now)
	if r.Samples != 1 || r.Inputs[0].MeanShift > 1 || r.SampledTotal != 2 {
		t.Fatalf("after the window: samples %d, shift %.3f: the old request must have aged out", r.Samples, r.Inputs[0].MeanShift)
	}
	var b strings.Builder
	m.WriteMetrics(&b, "ocr", "1")
	for _, want := range []string{`infergate_drift_input_verdict{route="ocr",version="1",input="x"} -1`, `infergate_drift_input_mean_shift{route="ocr",version="1",input="x"}`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "score") {
		t.Errorf("a tensor model has no score metrics:\n%s", b.String())
	}
}

func TestInputsConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  InputsConfig
		want string
	}{
		{InputsConfig{ShiftWarn: -1}, "shift_warn"},
		{InputsConfig{ShiftWarn: 1, ShiftAlert: 0.5}, "shift_alert"},
		{InputsConfig{NaNShareWarn: 2}, "nan_share_warn"},
		{InputsConfig{NaNShareWarn: 0.1, NaNShareAlert: 0.05}, "nan_share_alert"},
	} {
		c := MonitorConfig{InputsConfig: tc.cfg}
		c.ApplyDefaults()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %s", tc.cfg, err, tc.want)
		}
	}
}

func TestObserveInputsAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	req := image(rng, 1000, 0, 1, 0.01)
	p, err := BuildInputProfile([][]tensor.Tensor{req})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMonitor(p, MonitorConfig{SampleRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { m.ObserveInputs(req) }); n != 0 {
		t.Errorf("ObserveInputs allocates %v times a request", n)
	}
}

// Under -race: inputs observed from many goroutines while reports read the
// window are each counted once.
func TestConcurrentObserveInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	req := image(rng, 64, 0, 1, 0)
	p, err := BuildInputProfile([][]tensor.Tensor{req})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMonitor(p, MonitorConfig{SampleRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				m.ObserveInputs(req)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			_ = m.Report(time.Now())
		}
	}()
	wg.Wait()
	<-done
	r := m.Report(time.Now())
	if in := r.Inputs[0]; in.Samples != 800 || in.Live.Elements != 800*64 || math.Abs(in.Live.Mean-p.Inputs[0].Mean) > 1e-9 {
		t.Errorf("after 800 requests: samples %d, elements %d, mean %v (reference %v)", in.Samples, in.Live.Elements, in.Live.Mean, p.Inputs[0].Mean)
	}
}
