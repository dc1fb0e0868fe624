package drift

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestBuildProfileNumeric(t *testing.T) {
	t.Parallel()
	f := func(col []float64, bins int, wantEdges, wantProps []float64, wantMissing float64) {
		t.Helper()
		p := BuildProfile(map[string][]float64{"x": col}, nil, nil, bins)
		if err := p.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		fp := p.Features[0]
		if !floatsClose(fp.Edges, wantEdges) {
			t.Errorf("edges = %v, want %v", fp.Edges, wantEdges)
		}
		if !floatsClose(fp.Proportions, wantProps) {
			t.Errorf("proportions = %v, want %v", fp.Proportions, wantProps)
		}
		if fp.Missing != wantMissing {
			t.Errorf("missing = %g, want %g", fp.Missing, wantMissing)
		}
	}
	seq := func(from, to int) []float64 {
		var s []float64
		for i := from; i <= to; i++ {
			s = append(s, float64(i))
		}
		return s
	}
	// 1…100 in quartiles: numpy.quantile(range(1, 101), [.25, .5, .75],
	// method="inverted_cdf") = 25, 50, 75; 25 values in each bin.
	f(seq(1, 100), 4, []float64{25, 50, 75}, []float64{0.25, 0.25, 0.25, 0.25}, 0)
	// 1…10 in deciles: 1, 2, …, 9, one value per bin.
	f(seq(1, 10), 10, seq(1, 9), slices.Repeat([]float64{0.1}, 10), 0)
	// 1…7 in quartiles: ⌈7/4⌉ = 2nd, ⌈14/4⌉ = 4th, ⌈21/4⌉ = 6th value.
	f(seq(1, 7), 4, []float64{2, 4, 6}, []float64{2.0 / 7, 2.0 / 7, 2.0 / 7, 1.0 / 7}, 0)
	// Shuffled input, missing values (NaN, ±Inf) and the default of 10
	// bins give the same edges.
	shuffled := seq(1, 10)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	shuffled = append(shuffled, math.NaN(), math.Inf(1), math.Inf(-1), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN())
	f(shuffled, 0, seq(1, 9), slices.Repeat([]float64{0.1}, 10), 0.5)
	// Ties: 60 zeros then 1…40. The deciles 1…6 are all 0, so they merge
	// into one edge; the bins are right-closed, so the zeros are all in
	// the first bin.
	ties := append(make([]float64, 60), seq(1, 40)...)
	f(ties, 10, []float64{0, 10, 20, 30}, []float64{0.6, 0.1, 0.1, 0.1, 0.1}, 0)
	// A binary feature: the deciles at the maximum are dropped.
	binary := append(make([]float64, 70), slices.Repeat([]float64{1}, 30)...)
	f(binary, 10, []float64{0}, []float64{0.7, 0.3}, 0)
	// A constant: one bin.
	f([]float64{3, 3, 3, 3}, 10, nil, []float64{1}, 0)
	// Nothing: one empty bin.
	f([]float64{math.NaN()}, 10, nil, []float64{0}, 1)
}

func TestBuildProfileCDFAndRange(t *testing.T) {
	t.Parallel()
	col := make([]float64, 0, 1001)
	for i := 0; i <= 1000; i++ {
		col = append(col, float64(i))
	}
	p := BuildProfile(map[string][]float64{"x": col}, nil, nil, 10)
	fp := p.Features[0]
	if fp.Min != 0 || fp.Max != 1000 || fp.Count != 1001 {
		t.Errorf("min, max, count = %g, %g, %d; want 0, 1000, 1001", fp.Min, fp.Max, fp.Count)
	}
	if len(fp.CDF.Values) != 101 {
		t.Fatalf("%d CDF points, want 101", len(fp.CDF.Values))
	}
	for k, v := range fp.CDF.Values {
		// The k-th percentile of 0…1000 is 10k, and 10k+1 of the 1001
		// values are ≤ it.
		if v != float64(10*k) || !closeTo(fp.CDF.Shares[k], float64(10*k+1)/1001, 1e-15) {
			t.Errorf("cdf[%d] = (%g, %g), want (%d, %g)", k, v, fp.CDF.Shares[k], 10*k, float64(10*k+1)/1001)
		}
	}
}

func TestBuildProfileCategorical(t *testing.T) {
	t.Parallel()
	col := []string{"b", "a", "c", "a", "", "b", "a", "c", "", "d"}
	p := BuildProfile(nil, map[string][]string{"plan": col}, nil, 0)
	fp := p.Features[0]
	// By descending count, ties by name; then "other".
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(fp.Categories, want) {
		t.Errorf("categories = %q, want %q", fp.Categories, want)
	}
	if want := []float64{3.0 / 8, 2.0 / 8, 2.0 / 8, 1.0 / 8, 0}; !floatsClose(fp.Proportions, want) {
		t.Errorf("proportions = %v, want %v", fp.Proportions, want)
	}
	if fp.Missing != 0.2 || fp.Count != 8 || p.Rows != 10 {
		t.Errorf("missing, count, rows = %g, %d, %d; want 0.2, 8, 10", fp.Missing, fp.Count, p.Rows)
	}

	// Past MaxCategories, the rarest share the other bucket.
	var many []string
	for i := range MaxCategories + 5 {
		for range 1 + i%3 {
			many = append(many, "v"+string(rune('0'+i%10))+strings.Repeat("x", i/10))
		}
	}
	p = BuildProfile(nil, map[string][]string{"id": many}, nil, 0)
	fp = p.Features[0]
	if len(fp.Categories) != MaxCategories || fp.Proportions[MaxCategories] == 0 {
		t.Errorf("%d categories, other %g; want %d and a positive other", len(fp.Categories), fp.Proportions[MaxCategories], MaxCategories)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestBuildProfileDeterministic(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	numeric := map[string][]float64{}
	categorical := map[string][]string{}
	for i := range 20 {
		col := make([]float64, 500)
		for j := range col {
			col[j] = rng.NormFloat64() * float64(i+1)
		}
		numeric["n"+string(rune('a'+i))] = col
		cats := make([]string, 500)
		for j := range cats {
			cats[j] = string(rune('p' + rng.IntN(5)))
		}
		categorical["c"+string(rune('a'+i))] = cats
	}
	scores := make([]float64, 500)
	for j := range scores {
		scores[j] = rng.Float64()
	}
	first, err := BuildProfile(numeric, categorical, scores, 10).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 { // map iteration order differs from run to run
		again, err := BuildProfile(numeric, categorical, scores, 10).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("the same columns gave different profile bytes")
		}
	}
	p, err := DecodeProfile(first)
	if err != nil {
		t.Fatalf("DecodeProfile: %v", err)
	}
	if again, _ := p.Encode(); !bytes.Equal(first, again) {
		t.Error("a decoded profile encodes to other bytes")
	}
	names := make([]string, len(p.Features))
	for i := range p.Features {
		names[i] = p.Features[i].Name
	}
	if !slices.IsSorted(names) {
		t.Errorf("features are not sorted by name: %q", names)
	}
	for _, fp := range append(p.Features, p.Score) {
		var sum float64
		for _, x := range fp.Proportions {
			sum += x
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("%s: proportions sum to %g", fp.Name, sum)
		}
	}
}

func TestProfileValidate(t *testing.T) {
	t.Parallel()
	good := func() *Profile {
		return BuildProfile(map[string][]float64{"a": {1, 2, 3, 4}}, map[string][]string{"c": {"x", "y"}}, []float64{0.1, 0.9}, 2)
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	f := func(change func(p *Profile), want string) {
		t.Helper()
		p := good()
		change(p)
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want an error containing %q", err, want)
		}
	}
	f(func(p *Profile) { p.Format = 2 }, "profile.format: 2 is not supported")
	f(func(p *Profile) { p.Features[1].Name = "a" }, `profile.features[1].name: duplicate feature "a"`)
	f(func(p *Profile) { p.Features[0].Name = "" }, "profile.features[0].name: must not be empty")
	f(func(p *Profile) { p.Features[0].Type = "text" }, `profile.features[a].type: unknown type "text"`)
	f(func(p *Profile) { p.Features[0].Edges = []float64{2, 2} }, "profile.features[a].edges: [1]: 2 does not exceed 2")
	f(func(p *Profile) { p.Features[0].Proportions = []float64{0.5, 0.6} }, "profile.features[a].proportions: sum to 1.1")
	f(func(p *Profile) { p.Features[0].Proportions = []float64{1} }, "profile.features[a].proportions: 1 entries, want 2")
	f(func(p *Profile) { p.Features[0].CDF = nil }, "profile.features[a].cdf: must be present")
	f(func(p *Profile) { p.Features[0].CDF.Shares[0] = 2 }, "profile.features[a].cdf.shares[0]: 2 must be in")
	f(func(p *Profile) { p.Features[0].Min = 9 }, "profile.features[a].min: 9 exceeds max 4")
	f(func(p *Profile) { p.Features[1].Categories[1] = "x" }, `profile.features[c].categories[1]: duplicate category "x"`)
	f(func(p *Profile) { p.Features[1].Missing = -1 }, "profile.features[c].missing: -1 must be in [0, 1]")
	f(func(p *Profile) { p.Score.Type = Categorical }, `profile.score.type: "categorical", want numeric`)
	f(func(p *Profile) { p.Features = make([]FeatureProfile, MaxFeatures+1) }, "at most 512")
}

func TestDecodeProfileStrict(t *testing.T) {
	t.Parallel()
	b, _ := BuildProfile(map[string][]float64{"a": {1, 2}}, nil, nil, 0).Encode()
	f := func(data, want string) {
		t.Helper()
		_, err := DecodeProfile([]byte(data))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeProfile(%.40q…) = %v, want an error containing %q", data, err, want)
		}
	}
	f(strings.Replace(string(b), `"rows"`, `"rowz"`, 1), `unknown field "rowz"`)
	f(string(b)+"{}", "data after the JSON object")
	f(`{"format": 1, "features": [], "score": {"type": "numeric", "proportions": [0.5]}}`, "profile.score.proportions: must be all 0")
	f("", "cannot decode drift profile")
}

func FuzzDecodeProfile(f *testing.F) {
	b, _ := BuildProfile(map[string][]float64{"a": {1, 2, 3}}, map[string][]string{"c": {"x"}}, []float64{0.5}, 2).Encode()
	f.Add(b)
	f.Add([]byte(`{"format":1,"features":[],"score":{"type":"numeric","proportions":[0]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeProfile(data)
		if err != nil {
			return
		}
		// A profile that validates must be usable.
		m, err := NewMonitor(p, MonitorConfig{SampleRate: 1})
		if err != nil {
			t.Fatalf("NewMonitor on a valid profile: %v", err)
		}
		r := m.Report(testStart)
		if _, err := jsonMarshal(r); err != nil {
			t.Fatalf("report does not encode: %v", err)
		}
	})
}

func floatsClose(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !closeTo(a[i], b[i], 1e-12) {
			return false
		}
	}
	return true
}
