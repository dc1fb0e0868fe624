package router

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// AnswerKind is what a tabular model answers a row with.
type AnswerKind uint8

// The kinds of answer.
const (
	// AnswerBinary is a binary classifier's: the probability of the
	// positive class, and its label (by the signature's thresholds, its
	// two labels, or a label output).
	AnswerBinary AnswerKind = iota
	// AnswerClasses is a classifier's over its classes: a probability per
	// class, the predicted class (the most probable, or the label output's)
	// and its probability.
	AnswerClasses
	// AnswerValue is a regression's: a number.
	AnswerValue
)

// String names the kind as answers and metrics do.
func (k AnswerKind) String() string {
	switch k {
	case AnswerClasses:
		return "classes"
	case AnswerValue:
		return "value"
	}
	return "binary"
}

// answerSpec says where a tabular model's answer is in its outputs.
type answerSpec struct {
	kind AnswerKind
	// prob, label and value index the model's outputs: its probabilities,
	// label and score; -1 where it has none.
	prob, label, value int
	// positive is the element of a binary classifier's probabilities that
	// is the positive class's: 0 of one, 1 of two (the second of a
	// classifier's two classes, as skl2onnx and onnxmltools order them).
	positive int
	// classes name the classes (AnswerClasses), in the probabilities'
	// order, or the values of an integer label output.
	classes []string
	// binary labels a binary classifier's probability.
	binary registry.OutputSpec
}

// bindAnswer finds a tabular model's answer among its outputs, as its
// signature's kinds say: a probabilities output (one or two per row:
// binary, as registry.Signature.Task says; one per class: classes), a label
// output, or a score (value).
func (m *Model) bindAnswer() error {
	sig := &m.meta.Signature
	a := answerSpec{prob: -1, label: -1, value: -1}
	index := func(name string) int {
		return slices.IndexFunc(m.spec.Outputs, func(t TensorInfo) bool { return t.Name == name })
	}
	var probs *registry.OutputSpec
	specs := sig.OutputSpecs()
	for i := range specs {
		o := &specs[i]
		j := index(o.Name)
		if j < 0 {
			return fmt.Errorf("%w: the signature reads output %q, the model has %s", ErrUnsupportedModel, o.Name, describe(m.spec.Outputs))
		}
		switch o.Kind {
		case registry.KindProbabilities:
			if a.prob < 0 {
				a.prob, probs = j, o
			}
		case registry.KindLabel:
			if a.label < 0 {
				a.label = j
				if len(o.Labels) > 0 {
					a.classes = o.Labels
				}
			}
		case registry.KindScore:
			if a.value < 0 {
				a.value = j
			}
		}
	}
	switch {
	case probs != nil:
		info := m.spec.Outputs[a.prob]
		width := int64(1)
		if len(info.Shape) == 2 {
			width = info.Shape[1]
		}
		if !info.DType.IsFloat() || len(info.Shape) > 2 || width < 1 {
			return fmt.Errorf("%w: output %q must be floats of shape [-1,1] or [-1,classes], got %s %s",
				ErrUnsupportedModel, info.Name, info.DType, tensor.ShapeString(info.Shape))
		}
		if width <= 2 {
			a.kind, a.binary, a.positive = AnswerBinary, *probs, int(width)-1
			break
		}
		a.kind = AnswerClasses
		if len(probs.Labels) > 0 {
			a.classes = probs.Labels
		}
		if int64(len(a.classes)) != width {
			a.classes = make([]string, width)
			for k := range a.classes {
				a.classes[k] = strconv.Itoa(k)
			}
		}
	case a.label >= 0:
		a.kind = AnswerClasses
	case a.value >= 0:
		a.kind = AnswerValue
	default:
		return fmt.Errorf("%w: a model that takes features answers from a probabilities, label or score output; its signature marks none (its outputs are %s)",
			ErrUnsupportedModel, describe(m.spec.Outputs))
	}
	for _, j := range []int{a.label, a.value} {
		if j >= 0 && len(m.spec.Outputs[j].Shape) > 2 {
			return fmt.Errorf("%w: output %q must hold one value per row", ErrUnsupportedModel, m.spec.Outputs[j].Name)
		}
	}
	m.answer = a
	return nil
}

// Answer is what the model's signature says it answers a row with.
func (m *Model) Answer() AnswerKind { return m.answer.kind }

// Classes are the model's classes in its probabilities' order (AnswerClasses);
// nil otherwise. The slice must not be modified.
func (m *Model) Classes() []string { return m.answer.classes }

// read fills res with the answer of row 0 of outs, the model's outputs.
// probs is scratch for the class probabilities, which res then views.
func (m *Model) read(outs []tensor.Tensor, res *Result, probs *[]float32) error {
	a := &m.answer
	res.Kind = a.kind
	res.Probability, res.Value = math.NaN(), math.NaN()
	res.Probabilities, res.Label = nil, ""
	switch a.kind {
	case AnswerValue:
		res.Value = outs[a.value].Float64At(0)
		if math.IsNaN(res.Value) || math.IsInf(res.Value, 0) {
			return m.outOfRange()
		}
	case AnswerBinary:
		p := outs[a.prob].Float64At(a.positive)
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return m.outOfRange()
		}
		res.Probability = p
		if a.label >= 0 {
			res.Label = labelAt(&outs[a.label], a.classes)
		} else if a.binary.Thresholds != nil || len(a.binary.Labels) == 2 {
			res.Label = a.binary.LabelFor(p)
		} else {
			res.Label = m.meta.Signature.Output.LabelFor(p)
		}
	case AnswerClasses:
		best := -1
		if a.prob >= 0 {
			t := &outs[a.prob]
			*probs = (*probs)[:0]
			for k := range t.RowElements() {
				p := t.Float64At(k)
				if math.IsNaN(p) || math.IsInf(p, 0) {
					return m.outOfRange()
				}
				*probs = append(*probs, float32(p))
				if best < 0 || p > float64((*probs)[best]) {
					best = k
				}
			}
			res.Probabilities = *probs
		}
		switch {
		case a.label >= 0:
			res.Label = labelAt(&outs[a.label], a.classes)
			if k := slices.Index(a.classes, res.Label); k >= 0 && k < len(res.Probabilities) {
				best = k
			} else if v, ok := outs[a.label].Int64At(0); ok && v >= 0 && int(v) < len(res.Probabilities) {
				best = int(v)
			}
		case best >= 0:
			res.Label = a.classes[best]
		}
		if best >= 0 && best < len(res.Probabilities) {
			res.Probability = float64(res.Probabilities[best])
		}
	}
	return nil
}

// labelAt is the label of row 0 of a label output: its string, or its
// integer by classes (the integer itself when classes do not name it).
func labelAt(t *tensor.Tensor, classes []string) string {
	if t.DType == tensor.String {
		s := t.Strings[0]
		return unsafe.String(unsafe.SliceData(s), len(s))
	}
	v, ok := t.Int64At(0)
	if !ok {
		v = int64(t.Float64At(0))
	}
	if v >= 0 && v < int64(len(classes)) {
		return classes[v]
	}
	return strconv.FormatInt(v, 10)
}

func (m *Model) outOfRange() error {
	// Finite inputs can still overflow inside the model (w·x summed in
	// float32); the request's values are at fault, not the model.
	return &InputError{Field: "features",
		Msg: "the feature values are too far out of range for model " + strconv.Quote(m.Name()) + ": its output is not a number"}
}
