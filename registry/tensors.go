package registry

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/infergate/infergate/internal/tensor"
)

// TensorSpec is one input or output of a model's graph, as ONNX Runtime
// reads it and a signature narrows it.
type TensorSpec struct {
	Name string `json:"name"`
	// DType is the element type's Go-style name: float32, int64, string…
	DType string `json:"dtype"`
	// Shape has -1 for a dynamic dimension; it is empty for a scalar.
	Shape []int64 `json:"shape"`
}

// OutputKind says what an output means, for the answers, comparisons and
// metrics that depend on it.
type OutputKind string

// The kinds of output. An output whose signature gives none is raw.
const (
	// KindRaw is a tensor with no meaning infergate knows: returned as it
	// is, compared element by element.
	KindRaw OutputKind = "raw"
	// KindProbabilities are class probabilities, [N, K] (Labels name the
	// K classes), or [N, 1] / [N] of a binary classifier's positive class
	// (Thresholds label it).
	KindProbabilities OutputKind = "probabilities"
	// KindLabel is the predicted class, [N] or [N, 1]: integers (Labels
	// may name them) or strings.
	KindLabel OutputKind = "label"
	// KindScore is a number per row, [N] or [N, 1]: a regression's value
	// or any other score. Signature files may call it regression.
	KindScore OutputKind = "score"
	// KindEmbedding is a vector per row, [N, D].
	KindEmbedding OutputKind = "embedding"
)

// OutputSpec is one output and what it means.
type OutputSpec struct {
	TensorSpec
	// Kind is what the output means; default raw.
	Kind OutputKind `json:"kind,omitempty"`
	// Labels name the classes of a probabilities output, in index order,
	// or the integer values of a label output (0, 1, … in order).
	Labels []string `json:"labels,omitempty"`
	// Thresholds label the probability of a binary classifier's positive
	// class: p gets the label of the last entry with Min <= p, in
	// ascending order of Min.
	Thresholds []Label `json:"thresholds,omitempty"`
}

// Batch modes of a signature.
const (
	// BatchAuto batches requests along the first dimension when every
	// input and output has it dynamic.
	BatchAuto = ""
	// BatchNone runs every request alone, whatever the shapes say (a
	// dynamic first dimension that is not a batch: a sequence, a state).
	BatchNone = "none"
)

// Tabular reports whether the signature encodes request features into the
// input tensor (a model the trainer wrote, or one imported with a feature
// mapping), rather than taking tensors by input name.
func (s *Signature) Tabular() bool { return len(s.Features) > 0 }

// OutputSpecs are the outputs the signature describes: Outputs, or for a
// signature written before they existed, the one output Output names, a
// binary classifier's probability labelled by thresholds.
func (s *Signature) OutputSpecs() []OutputSpec {
	if len(s.Outputs) > 0 || s.Output.Name == "" {
		return s.Outputs
	}
	return []OutputSpec{{
		TensorSpec: TensorSpec{Name: s.Output.Name, DType: "float32", Shape: []int64{-1, 1}},
		Kind:       KindProbabilities,
		Thresholds: s.Output.Labels,
	}}
}

// InputSpecs are the inputs the signature describes: Inputs, or for a
// tabular signature written before they existed, the one float32 input its
// features encode into.
func (s *Signature) InputSpecs() []TensorSpec {
	if len(s.Inputs) > 0 || !s.Tabular() {
		return s.Inputs
	}
	return []TensorSpec{{Name: s.Input, DType: "float32", Shape: []int64{-1, int64(s.Width())}}}
}

// Batched reports whether requests to the model batch along the first
// dimension: every input and output has it dynamic, and Batch is not none.
func (s *Signature) Batched() bool {
	if s.Batch == BatchNone {
		return false
	}
	for _, t := range s.InputSpecs() {
		if len(t.Shape) == 0 || t.Shape[0] != -1 {
			return false
		}
	}
	for _, o := range s.OutputSpecs() {
		if len(o.Shape) == 0 || o.Shape[0] != -1 {
			return false
		}
	}
	return true
}

// Shapes are the input and output shapes by name, to narrow a model's
// dynamic dimensions when it loads (nil when the signature lists none).
func (s *Signature) Shapes() map[string][]int64 {
	if len(s.Inputs) == 0 && len(s.Outputs) == 0 {
		return nil
	}
	m := make(map[string][]int64, len(s.Inputs)+len(s.Outputs))
	for _, t := range s.Inputs {
		m[t.Name] = slices.Clone(t.Shape)
	}
	for _, o := range s.Outputs {
		m[o.Name] = slices.Clone(o.Shape)
	}
	return m
}

// FindOutput returns the output named name.
func (s *Signature) FindOutput(name string) (OutputSpec, bool) {
	for _, o := range s.OutputSpecs() {
		if o.Name == name {
			return o, true
		}
	}
	return OutputSpec{}, false
}

// validateTensors checks Inputs, Outputs and Batch.
func (s *Signature) validateTensors() error {
	var errs []error
	seen := map[string]bool{}
	check := func(path string, t *TensorSpec) {
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: must name a tensor of the model", path))
		case seen[t.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q is listed twice", path, t.Name))
		}
		seen[t.Name] = true
		if tensor.Parse(t.DType) == tensor.Invalid {
			errs = append(errs, fmt.Errorf("%s.dtype: %q is not an element type infergate exchanges (%v)", path, t.DType, tensor.Names()))
		}
		for d, n := range t.Shape {
			if n == 0 || n < -1 {
				errs = append(errs, fmt.Errorf("%s.shape: dimension %d of %s must be -1 (dynamic) or positive", path, d, tensor.ShapeString(t.Shape)))
				break
			}
		}
	}
	for i := range s.Inputs {
		check(fmt.Sprintf("signature.inputs[%d]", i), &s.Inputs[i])
	}
	for i := range s.Outputs {
		o := &s.Outputs[i]
		path := fmt.Sprintf("signature.outputs[%s]", o.Name)
		check(path, &o.TensorSpec)
		if err := o.validateKind(path); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Batch != BatchAuto && s.Batch != BatchNone {
		errs = append(errs, fmt.Errorf("signature.batch: %q must be auto (or empty) or none", s.Batch))
	}
	return errors.Join(errs...)
}

// validateKind checks that the output's type and shape fit its kind.
func (o *OutputSpec) validateKind(path string) error {
	dt := tensor.Parse(o.DType)
	rowDims := o.Shape
	if len(rowDims) > 0 {
		rowDims = rowDims[1:]
	}
	width := int64(1)
	for _, n := range rowDims {
		width *= n
	}
	perRow := len(rowDims) == 0 || len(rowDims) == 1 && rowDims[0] == 1
	switch o.Kind {
	case "", KindRaw:
	case KindProbabilities:
		switch {
		case !dt.IsFloat():
			return fmt.Errorf("%s.kind: probabilities must be floats, the output is %s", path, o.DType)
		case len(rowDims) > 1:
			return fmt.Errorf("%s.kind: probabilities are [N, classes] or [N], the output is %s", path, tensor.ShapeString(o.Shape))
		case len(o.Labels) > 0 && width > 0 && int64(len(o.Labels)) != width:
			return fmt.Errorf("%s.labels: %d labels for %d classes", path, len(o.Labels), width)
		case len(o.Thresholds) > 0 && !perRow:
			return fmt.Errorf("%s.thresholds: apply to one probability per row, the output is %s", path, tensor.ShapeString(o.Shape))
		case perRow && len(o.Labels) > 0 && len(o.Labels) != 2:
			return fmt.Errorf("%s.labels: one probability per row is a binary classifier's: name 2 classes (negative, positive), or give thresholds", path)
		}
	case KindLabel:
		if !dt.IsInteger() && dt != tensor.String && dt != tensor.Bool {
			return fmt.Errorf("%s.kind: a label is an integer, bool or string, the output is %s", path, o.DType)
		}
		if !perRow {
			return fmt.Errorf("%s.kind: a label is one value per row ([N] or [N,1]), the output is %s", path, tensor.ShapeString(o.Shape))
		}
	case KindScore:
		if !dt.IsFloat() && !dt.IsInteger() {
			return fmt.Errorf("%s.kind: a score is a number, the output is %s", path, o.DType)
		}
		if !perRow {
			return fmt.Errorf("%s.kind: a score is one value per row ([N] or [N,1]), the output is %s", path, tensor.ShapeString(o.Shape))
		}
	case KindEmbedding:
		if !dt.IsFloat() || len(rowDims) != 1 {
			return fmt.Errorf("%s.kind: an embedding is [N, D] floats, the output is %s %s", path, o.DType, tensor.ShapeString(o.Shape))
		}
	default:
		return fmt.Errorf("%s.kind: unknown kind %q; want probabilities, label, score (or regression), embedding or raw", path, o.Kind)
	}
	if len(o.Thresholds) > 0 && o.Kind != KindProbabilities {
		return fmt.Errorf("%s.thresholds: only a probabilities output has thresholds", path)
	}
	if !sort.SliceIsSorted(o.Thresholds, func(i, j int) bool { return o.Thresholds[i].Min < o.Thresholds[j].Min }) {
		return fmt.Errorf("%s.thresholds: must be in ascending order of min", path)
	}
	return nil
}

// LabelFor returns the label a binary classifier's probability p gets by
// the output's thresholds (or, with two Labels, the second when p >= 0.5),
// or "" when the output has neither.
func (o *OutputSpec) LabelFor(p float64) string {
	if len(o.Thresholds) > 0 {
		t := Output{Labels: o.Thresholds}
		return t.LabelFor(p)
	}
	if len(o.Labels) == 2 {
		if p >= 0.5 {
			return o.Labels[1]
		}
		return o.Labels[0]
	}
	return ""
}

// Tasks a model's signature can say it does, for the metrics that fit it.
const (
	// TaskBinary: a binary classifier (metrics auc, log_loss).
	TaskBinary = "binary"
	// TaskMulticlass: a classifier over more classes (log_loss, accuracy).
	TaskMulticlass = "multiclass"
	// TaskRegression: a number per row (rmse, mae).
	TaskRegression = "regression"
	// TaskOther: outputs infergate does not interpret (raw, embedding).
	TaskOther = ""
)

// Task is what the signature's outputs say the model does: a probabilities
// output of one or two values per row, or a label with two labels, is a
// binary classifier's; of more, a multi-class one's; a score is a
// regression's.
func (s *Signature) Task() string {
	var label *OutputSpec
	score := false
	outs := s.OutputSpecs()
	for i := range outs {
		o := &outs[i]
		switch o.Kind {
		case KindProbabilities:
			if len(o.Shape) < 2 || o.Shape[1] >= 1 && o.Shape[1] <= 2 {
				return TaskBinary
			}
			return TaskMulticlass
		case KindLabel:
			label = o
		case KindScore:
			score = true
		}
	}
	switch {
	case label != nil && len(label.Labels) == 2:
		return TaskBinary
	case label != nil:
		return TaskMulticlass
	case score:
		return TaskRegression
	}
	return TaskOther
}
