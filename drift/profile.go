package drift

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ProfileFile is the name of a profile beside a model version's metadata in
// the registry.
const ProfileFile = "drift-profile.json"

// ProfileFormat is the version of the profile file format this package
// writes and reads.
const ProfileFormat = 1

// Limits and defaults of a profile.
const (
	// DefaultBins is the number of quantile bins of a numeric feature.
	DefaultBins = 10
	// MaxBins bounds the bins of a numeric feature.
	MaxBins = 1000
	// CDFPoints is the number of steps of the reference distribution
	// function kept for the KS test: the percentiles 0, 1, …, 100, so up to
	// 101 points.
	CDFPoints = 100
	// MaxCategories bounds a categorical feature's categories: the most
	// frequent are kept and the rest share the "other" bucket.
	MaxCategories = 1000
	// MaxFeatures bounds the features of a profile: Observe tracks which
	// features a request holds in a fixed bitmap on the stack.
	MaxFeatures = 512
	// ScoreName is the name of the score's profile.
	ScoreName = "score"
)

// Feature types, as in the registry's signature.
const (
	Numeric     = "numeric"
	Categorical = "categorical"
)

// Profile is a reference distribution of a model version's inputs and
// output, computed from its training data; it is stored beside the version's
// metadata as drift-profile.json. See the package documentation for the file
// format.
type Profile struct {
	// Format is ProfileFormat.
	Format int `json:"format"`
	// Rows is the number of reference rows.
	Rows int `json:"rows"`
	// Features in ascending order of name.
	Features []FeatureProfile `json:"features,omitempty"`
	// Score is the distribution of the model's probability on the
	// reference rows (numeric, named "score"); absent for a model that
	// takes tensors.
	Score FeatureProfile `json:"score,omitzero"`
	// Inputs are the tensor inputs of a model that takes tensors, in
	// ascending order of name, from sample requests (BuildInputProfile).
	// A profile has Inputs or Features and Score.
	Inputs []InputProfile `json:"inputs,omitempty"`
}

// FeatureProfile is the reference distribution of one feature or of the
// score.
type FeatureProfile struct {
	Name string `json:"name"`
	// Type is "numeric" or "categorical".
	Type string `json:"type"`
	// Count is the number of non-missing reference values.
	Count int `json:"count"`
	// Missing is the share of reference rows without a value.
	Missing float64 `json:"missing"`

	// Edges (numeric) are the interior bin edges, strictly increasing: the
	// quantiles k/bins of the reference, k = 1…bins−1 (values of the
	// reference: the smallest with at least k/bins of the values ≤ it),
	// with repeats (ties) and the maximum dropped, so that no bin of the
	// reference is empty. Bins are right-closed:
	// (−∞, e₀], (e₀, e₁], …, (e_last, +∞).
	Edges []float64 `json:"edges,omitempty"`
	// Categories (categorical) in descending order of reference frequency,
	// ties by name.
	Categories []string `json:"categories,omitempty"`
	// Proportions is the share of the non-missing reference values in each
	// bin (numeric, len(Edges)+1) or category (categorical,
	// len(Categories)+1, the last one the "other" bucket of values outside
	// Categories). They sum to 1, or are all 0 when Count is 0.
	Proportions []float64 `json:"proportions"`

	// Min and Max (numeric) are the range of the reference values; a live
	// value outside it counts as out of range.
	Min float64 `json:"min,omitempty"`
	Max float64 `json:"max,omitempty"`
	// CDF (numeric) is the reference's distribution function at up to 101
	// points, for the KS test.
	CDF *CDF `json:"cdf,omitempty"`
}

// CDF is an empirical distribution function known at a few points: Shares[i]
// is the share of the non-missing reference values ≤ Values[i]. Values are
// the reference's percentiles 0, 1, …, 100 (its minimum and maximum
// included), strictly increasing after ties are dropped; Shares are
// non-decreasing and the last is 1.
type CDF struct {
	Values []float64 `json:"values"`
	Shares []float64 `json:"shares"`
}

// BuildProfile computes a profile from reference columns: numeric maps a
// feature name to its values (NaN or ±Inf: missing), categorical to its
// values ("" missing), and scores holds the model's probability on each
// reference row (NaN missing; nil for none). Rows is the longest column.
// bins ≤ 0 means DefaultBins, and bins is capped at MaxBins. A name in both
// maps, or more than MaxFeatures features, makes a profile that Validate
// rejects. The result depends only on the input: the same columns give the
// same Encode bytes.
func BuildProfile(numeric map[string][]float64, categorical map[string][]string, scores []float64, bins int) *Profile {
	if bins <= 0 {
		bins = DefaultBins
	}
	bins = min(bins, MaxBins)
	p := &Profile{Format: ProfileFormat, Rows: len(scores)}
	for name, col := range numeric {
		p.Rows = max(p.Rows, len(col))
		p.Features = append(p.Features, numericProfile(name, col, bins))
	}
	for name, col := range categorical {
		p.Rows = max(p.Rows, len(col))
		p.Features = append(p.Features, categoricalProfile(name, col))
	}
	slices.SortFunc(p.Features, func(a, b FeatureProfile) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type))
	})
	p.Score = numericProfile(ScoreName, scores, bins)
	return p
}

func numericProfile(name string, col []float64, bins int) FeatureProfile {
	fp := FeatureProfile{Name: name, Type: Numeric}
	vals := make([]float64, 0, len(col))
	for _, x := range col {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			vals = append(vals, x)
		}
	}
	fp.Count = len(vals)
	fp.Missing = share(len(col)-len(vals), len(col))
	if len(vals) == 0 {
		fp.Proportions = []float64{0}
		return fp
	}
	slices.Sort(vals)
	fp.Min, fp.Max = vals[0], vals[len(vals)-1]
	for k := 1; k < bins; k++ {
		// An edge at the maximum would bound an empty last bin; values
		// above the reference's range are out of range anyway.
		if e := quantile(vals, k, bins); e < fp.Max {
			fp.Edges = appendIncreasing(fp.Edges, e)
		}
	}
	counts := make([]int, len(fp.Edges)+1)
	for _, x := range vals {
		counts[binOf(fp.Edges, x)]++
	}
	fp.Proportions = make([]float64, len(counts))
	for i, c := range counts {
		fp.Proportions[i] = share(c, len(vals))
	}
	cdf := &CDF{}
	for k := 0; k <= CDFPoints; k++ {
		cdf.Values = appendIncreasing(cdf.Values, quantile(vals, k, CDFPoints))
	}
	cdf.Shares = make([]float64, len(cdf.Values))
	for i, v := range cdf.Values {
		// The number of values ≤ v: the first index holding a larger one.
		n, _ := slices.BinarySearchFunc(vals, v, func(x, v float64) int {
			if x <= v {
				return -1
			}
			return 1
		})
		cdf.Shares[i] = share(n, len(vals))
	}
	fp.CDF = cdf
	return fp
}

func categoricalProfile(name string, col []string) FeatureProfile {
	fp := FeatureProfile{Name: name, Type: Categorical}
	counts := make(map[string]int)
	for _, v := range col {
		if v != "" {
			counts[v]++
			fp.Count++
		}
	}
	fp.Missing = share(len(col)-fp.Count, len(col))
	cats := make([]string, 0, len(counts))
	for v := range counts {
		cats = append(cats, v)
	}
	slices.SortFunc(cats, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	other := 0
	if len(cats) > MaxCategories {
		for _, v := range cats[MaxCategories:] {
			other += counts[v]
		}
		cats = cats[:MaxCategories]
	}
	fp.Categories = cats
	fp.Proportions = make([]float64, len(cats)+1)
	for i, v := range cats {
		fp.Proportions[i] = share(counts[v], fp.Count)
	}
	fp.Proportions[len(cats)] = share(other, fp.Count)
	return fp
}

// quantile returns the k/n quantile of sorted (not empty) by the inverse of
// the empirical distribution function: the smallest value v with at least
// k/n of the values ≤ v (Hyndman and Fan's type 1, numpy's
// method="inverted_cdf"). Quantiles are then values of the reference, so
// every right-closed bin they bound holds at least its upper edge. The
// position is computed in integers, so that the k/n and the 2k/2n
// quantiles are the same value.
func quantile(sorted []float64, k, n int) float64 {
	i := (k*len(sorted)+n-1)/n - 1 // ⌈k·len/n⌉ − 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// appendIncreasing appends x unless it does not exceed the last element, so
// the slice stays strictly increasing.
func appendIncreasing(s []float64, x float64) []float64 {
	if len(s) > 0 && x <= s[len(s)-1] {
		return s
	}
	return append(s, x)
}

// binOf returns the bin of x among the right-closed bins that edges bound:
// the number of edges below x.
func binOf(edges []float64, x float64) int {
	lo, hi := 0, len(edges)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if edges[mid] < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func share(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// Encode returns the profile file's bytes: indented JSON and a newline.
func (p *Profile) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot encode drift profile: %w", err)
	}
	return append(b, '\n'), nil
}

// DecodeProfile parses and validates a profile file. Unknown fields are
// errors.
func DecodeProfile(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("cannot decode drift profile: %w", err)
	}
	if dec.More() {
		return nil, errors.New("cannot decode drift profile: data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// proportionTolerance is how far from 1 a sum of proportions may be: they
// are counts divided by a count, so rounding is all that separates them.
const proportionTolerance = 1e-6

// Validate reports the first inconsistency in p, naming the field.
func (p *Profile) Validate() error {
	if p.Format != ProfileFormat {
		return fmt.Errorf("profile.format: %d is not supported (want %d); rebuild the profile with this version of infergate", p.Format, ProfileFormat)
	}
	if p.Rows < 0 {
		return fmt.Errorf("profile.rows: %d must not be negative", p.Rows)
	}
	if len(p.Features) > MaxFeatures {
		return fmt.Errorf("profile.features: %d features, at most %d are supported", len(p.Features), MaxFeatures)
	}
	seen := make(map[string]bool, len(p.Features))
	for i := range p.Features {
		f := &p.Features[i]
		if f.Name == "" {
			return fmt.Errorf("profile.features[%d].name: must not be empty", i)
		}
		if seen[f.Name] {
			return fmt.Errorf("profile.features[%d].name: duplicate feature %q", i, f.Name)
		}
		seen[f.Name] = true
		if err := f.validate(); err != nil {
			return fmt.Errorf("profile.features[%s].%w", f.Name, err)
		}
	}
	if len(p.Inputs) > 0 {
		if len(p.Features) > 0 || p.Score.Type != "" {
			return errors.New("profile.inputs: a profile of tensor inputs has no features or score")
		}
		return validateInputs(p.Inputs)
	}
	if p.Score.Type != Numeric {
		return fmt.Errorf("profile.score.type: %q, want numeric", p.Score.Type)
	}
	if err := p.Score.validate(); err != nil {
		return fmt.Errorf("profile.score.%w", err)
	}
	return nil
}

func validateInputs(ins []InputProfile) error {
	if len(ins) > MaxFeatures {
		return fmt.Errorf("profile.inputs: %d inputs, at most %d are supported", len(ins), MaxFeatures)
	}
	for i := range ins {
		if err := ins[i].validate(); err != nil {
			return fmt.Errorf("profile.inputs[%d].%w", i, err)
		}
		if i > 0 && ins[i].Name <= ins[i-1].Name {
			return fmt.Errorf("profile.inputs[%d].name: %q must follow %q (ascending, no repeats)", i, ins[i].Name, ins[i-1].Name)
		}
	}
	return nil
}

// validate returns errors that start with the field name, for the caller to
// prefix with the feature's path.
func (f *FeatureProfile) validate() error {
	if f.Count < 0 {
		return fmt.Errorf("count: %d must not be negative", f.Count)
	}
	if !(f.Missing >= 0 && f.Missing <= 1) {
		return fmt.Errorf("missing: %g must be in [0, 1]", f.Missing)
	}
	var want int
	switch f.Type {
	case Numeric:
		if len(f.Categories) > 0 {
			return errors.New("categories: a numeric feature has edges, not categories")
		}
		if len(f.Edges) > MaxBins-1 {
			return fmt.Errorf("edges: %d edges, at most %d are supported", len(f.Edges), MaxBins-1)
		}
		if err := checkIncreasing(f.Edges); err != nil {
			return fmt.Errorf("edges: %w", err)
		}
		if f.Min > f.Max {
			return fmt.Errorf("min: %g exceeds max %g", f.Min, f.Max)
		}
		if f.Count > 0 && f.CDF == nil {
			return errors.New("cdf: must be present when count > 0")
		}
		if f.CDF != nil {
			if err := f.CDF.validate(); err != nil {
				return fmt.Errorf("cdf.%w", err)
			}
		}
		want = len(f.Edges) + 1
	case Categorical:
		if len(f.Edges) > 0 || f.CDF != nil {
			return errors.New("edges: a categorical feature has categories, not edges or a cdf")
		}
		if len(f.Categories) > MaxCategories {
			return fmt.Errorf("categories: %d categories, at most %d are supported", len(f.Categories), MaxCategories)
		}
		cats := make(map[string]bool, len(f.Categories))
		for i, c := range f.Categories {
			if c == "" {
				return fmt.Errorf("categories[%d]: must not be empty (empty means missing)", i)
			}
			if cats[c] {
				return fmt.Errorf("categories[%d]: duplicate category %q", i, c)
			}
			cats[c] = true
		}
		want = len(f.Categories) + 1
	default:
		return fmt.Errorf("type: unknown type %q (want numeric or categorical)", f.Type)
	}
	if len(f.Proportions) != want {
		return fmt.Errorf("proportions: %d entries, want %d (one per bin or category, plus other)", len(f.Proportions), want)
	}
	var sum float64
	for i, x := range f.Proportions {
		if !(x >= 0 && x <= 1) {
			return fmt.Errorf("proportions[%d]: %g must be in [0, 1]", i, x)
		}
		sum += x
	}
	if f.Count > 0 && math.Abs(sum-1) > proportionTolerance {
		return fmt.Errorf("proportions: sum to %g, want 1", sum)
	}
	if f.Count == 0 && sum != 0 {
		return errors.New("proportions: must be all 0 when count is 0")
	}
	return nil
}

func (c *CDF) validate() error {
	if len(c.Values) == 0 || len(c.Values) > CDFPoints+1 {
		return fmt.Errorf("values: %d points, want 1 to %d", len(c.Values), CDFPoints+1)
	}
	if len(c.Shares) != len(c.Values) {
		return fmt.Errorf("shares: %d entries, want %d (one per value)", len(c.Shares), len(c.Values))
	}
	if err := checkIncreasing(c.Values); err != nil {
		return fmt.Errorf("values: %w", err)
	}
	prev := 0.0
	for i, s := range c.Shares {
		if !(s >= prev && s <= 1) {
			return fmt.Errorf("shares[%d]: %g must be in [%g, 1]", i, s, prev)
		}
		prev = s
	}
	if prev != 1 {
		return fmt.Errorf("shares: the last is %g, want 1 (the maximum's share)", prev)
	}
	return nil
}

func checkIncreasing(s []float64) error {
	for i, x := range s {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("[%d]: %g is not finite", i, x)
		}
		if i > 0 && x <= s[i-1] {
			return fmt.Errorf("[%d]: %g does not exceed %g; edges must be strictly increasing", i, x, s[i-1])
		}
	}
	return nil
}
