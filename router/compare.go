package router

import (
	"fmt"
	"math"
	"slices"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// Ways a tensor route's shadow compares a shadow's answer with the
// primary's (shadow.compare.by).
const (
	// CompareLabel: a classifier's rows agree when they name the same class
	// (the highest probability, or for one probability per row the side of
	// 0.5 or of the thresholds); a label output's when the labels are
	// equal. The difference is the largest probability difference.
	CompareLabel = "label"
	// CompareAbsolute: scores agree within tolerance; the difference is
	// the largest |shadow - primary|.
	CompareAbsolute = "absolute"
	// CompareRelative: scores agree when |shadow - primary| / |primary| is
	// within tolerance; the difference is the largest such ratio.
	CompareRelative = "relative"
	// CompareCosine: vectors agree when each row's cosine similarity is at
	// least 1 - tolerance; the difference is the largest 1 - cosine.
	CompareCosine = "cosine"
	// CompareMaxAbs: tensors agree when every element is within
	// tolerance; the difference is the largest absolute one.
	CompareMaxAbs = "max_abs"
)

// Default tolerances by comparison.
const (
	DefaultAbsoluteTolerance = 1e-3
	DefaultRelativeTolerance = 0.01
	DefaultCosineTolerance   = 0.01
)

// CompareConfig says how a tensor route's shadow compares answers.
type CompareConfig struct {
	// Output is the output compared. Default: the primary model's first
	// output whose kind is not raw, else its first output.
	Output string `yaml:"output"`
	// By is label, absolute, relative, cosine or max_abs. Default by the
	// output's kind: label for probabilities and label outputs, absolute
	// for a score, cosine for an embedding, max_abs for a raw tensor.
	By string `yaml:"by"`
	// Tolerance is how far answers may differ and still agree. Default
	// 0.001 (absolute, max_abs), 0.01 (relative), 0.01 (cosine: a
	// similarity of 0.99 or more); unused by label.
	Tolerance float64 `yaml:"tolerance"`
}

// validate checks c after its defaults.
func (c *CompareConfig) validate(errs []error, path string) []error {
	switch c.By {
	case "", CompareLabel, CompareAbsolute, CompareRelative, CompareCosine, CompareMaxAbs:
	default:
		errs = append(errs, fmt.Errorf("%sby: %q; want label, absolute, relative, cosine or max_abs", path, c.By))
	}
	if c.Tolerance < 0 || math.IsNaN(c.Tolerance) {
		errs = append(errs, fmt.Errorf("%stolerance: must not be negative, got %g", path, c.Tolerance))
	}
	return errs
}

// comparator compares one output of two answers of a tensor route.
type comparator struct {
	output    string
	by        string
	tolerance float64
	spec      registry.OutputSpec
}

// newComparator resolves cfg against the primary model's outputs.
func newComparator(primary *Model, cfg CompareConfig) (*comparator, error) {
	var j int
	if cfg.Output != "" {
		j = slices.IndexFunc(primary.spec.Outputs, func(t TensorInfo) bool { return t.Name == cfg.Output })
		if j < 0 {
			return nil, fmt.Errorf("shadow.compare.output: the model has no output %q; its outputs are %s", cfg.Output, describeNames(primary.spec.Outputs))
		}
	} else {
		j = 0
		for k := range primary.spec.Outputs {
			if kind := primary.OutputSpec(k).Kind; kind != registry.KindRaw && kind != "" {
				j = k
				break
			}
		}
	}
	c := &comparator{output: primary.spec.Outputs[j].Name, by: cfg.By, tolerance: cfg.Tolerance, spec: primary.OutputSpec(j)}
	if c.by == "" {
		switch c.spec.Kind {
		case registry.KindProbabilities, registry.KindLabel:
			c.by = CompareLabel
		case registry.KindScore:
			c.by = CompareAbsolute
		case registry.KindEmbedding:
			c.by = CompareCosine
		default:
			c.by = CompareMaxAbs
		}
	}
	if c.tolerance == 0 {
		switch c.by {
		case CompareRelative:
			c.tolerance = DefaultRelativeTolerance
		case CompareCosine:
			c.tolerance = DefaultCosineTolerance
		default:
			c.tolerance = DefaultAbsoluteTolerance
		}
	}
	return c, nil
}

// compare compares the shadow's answer s with the primary's p: whether
// they agree, and the comparison's difference (see the Compare constants).
// Answers that lack the output or differ in shape or type disagree, with
// an infinite difference.
func (c *comparator) compare(p, s []tensor.Tensor) (agreed bool, diff float64) {
	a, b := find(p, c.output), find(s, c.output)
	if a == nil || b == nil || a.DType != b.DType || !tensor.SameDims(a.Shape, b.Shape) {
		return false, math.Inf(1)
	}
	if a.DType == tensor.String {
		return slices.EqualFunc(a.Strings, b.Strings, func(x, y []byte) bool { return string(x) == string(y) }), 0
	}
	rows, width := 1, a.Len()
	if len(a.Shape) > 0 {
		rows, width = a.Rows(), a.RowElements()
	}
	agreed = true
	for r := range rows {
		agree, d := c.row(a, b, r*width, width)
		agreed = agreed && agree
		diff = max(diff, d)
	}
	return agreed, diff
}

// row compares one row of width elements starting at off.
func (c *comparator) row(a, b *tensor.Tensor, off, width int) (bool, float64) {
	var maxAbs, maxRel, dot, na, nb float64
	for i := off; i < off+width; i++ {
		x, y := a.Float64At(i), b.Float64At(i)
		d := math.Abs(x - y)
		maxAbs = max(maxAbs, d)
		maxRel = max(maxRel, d/max(math.Abs(x), 1e-12))
		dot, na, nb = dot+x*y, na+x*x, nb+y*y
	}
	switch c.by {
	case CompareLabel:
		if c.spec.Kind == registry.KindLabel || a.DType.IsInteger() || a.DType == tensor.Bool {
			return maxAbs == 0, maxAbs
		}
		return c.class(a, off, width) == c.class(b, off, width), maxAbs
	case CompareRelative:
		return maxRel <= c.tolerance, maxRel
	case CompareCosine:
		cos := 1.0
		if na > 0 || nb > 0 {
			cos = dot / math.Sqrt(na*nb)
		}
		return 1-cos <= c.tolerance, 1 - cos
	}
	return maxAbs <= c.tolerance, maxAbs
}

// class is the class a row of probabilities names: the index of the
// highest, or for one probability its label by the thresholds (by 0.5 when
// it has none).
func (c *comparator) class(t *tensor.Tensor, off, width int) string {
	if width == 1 {
		p := t.Float64At(off)
		if label := c.spec.LabelFor(p); label != "" {
			return label
		}
		if p >= 0.5 {
			return "1"
		}
		return "0"
	}
	best := off
	for i := off + 1; i < off+width; i++ {
		if t.Float64At(i) > t.Float64At(best) {
			best = i
		}
	}
	return fmt.Sprint(best - off)
}

func find(ts []tensor.Tensor, name string) *tensor.Tensor {
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i]
		}
	}
	return nil
}
