package registry

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
)

// FeatureType says how a request feature is encoded into the input tensor.
type FeatureType string

// The feature types a signature may hold.
const (
	// Numeric features are standardised: (x - Mean) / Std, one column.
	Numeric FeatureType = "numeric"
	// Categorical features are one-hot encoded over Vocabulary, plus one
	// trailing column for values outside it (the unknown bucket).
	Categorical FeatureType = "categorical"
)

// Signature describes how a model version is called. Every model has
// Inputs and Outputs: its graph's tensors (names, element types, shapes as
// the signature narrows them) and what each output means (OutputSpec).
// A tabular model also has Features: which request features it takes and
// how each becomes columns of its one float32 input tensor (in tensor
// order). The trainer writes it with the statistics it learned, and the
// gateway applies the same encoding at serving time, so training and
// serving cannot drift apart (docs/adr/0004-feature-encoding-in-signature.md);
// `registry import` writes it from the model and the user's signature file.
//
// Versions trained before Inputs and Outputs existed have Input, Features
// and Output alone; InputSpecs and OutputSpecs derive the rest.
type Signature struct {
	// Input is a tabular model's input tensor: [batch, width] float32.
	Input string `json:"input,omitempty"`
	// Features in tensor order; none for a model that takes tensors.
	Features []Feature `json:"features,omitempty"`
	// Output is how a binary classifier's output maps to a response, as
	// the trainer writes it; OutputSpecs reads it as a probabilities output
	// with thresholds.
	Output Output `json:"output,omitzero"`

	// Inputs are the model's inputs, in its order.
	Inputs []TensorSpec `json:"inputs,omitempty"`
	// Outputs are the model's outputs, in its order, with their kinds.
	Outputs []OutputSpec `json:"outputs,omitempty"`
	// Batch is BatchAuto ("") or BatchNone.
	Batch string `json:"batch,omitempty"`
	// Pad declares input dimensions that requests may be padded along, so
	// that requests of nearby lengths batch together (see PadRule).
	Pad []PadRule `json:"pad,omitempty"`
}

// Feature is one request feature and its encoding.
type Feature struct {
	Name string      `json:"name"`
	Type FeatureType `json:"type"`
	// Required features must be present in a request; others take Impute
	// (numeric) or the unknown bucket (categorical) when absent.
	Required bool `json:"required"`

	// Numeric encoding: (x - Mean) / Std; Std 0 is treated as 1.
	Mean   float64 `json:"mean,omitempty"`
	Std    float64 `json:"std,omitempty"`
	Impute float64 `json:"impute,omitempty"`

	// Categorical encoding: one column per entry, then the unknown bucket.
	Vocabulary []string `json:"vocabulary,omitempty"`
}

// Width is the number of tensor columns the feature encodes into.
func (f *Feature) Width() int {
	if f.Type == Categorical {
		return len(f.Vocabulary) + 1
	}
	return 1
}

// Output maps the model's output tensor to a response.
type Output struct {
	// Name of the output tensor: [batch, 1] float32 holding the probability of
	// the positive class.
	Name string `json:"name"`
	// Labels in ascending order of Min: a probability p gets the label of the
	// last entry with Min <= p.
	Labels []Label `json:"labels"`
}

// Label names a probability range.
type Label struct {
	Min   float64 `json:"min"`
	Label string  `json:"label"`
}

// LabelFor returns the label of probability p.
func (o *Output) LabelFor(p float64) string {
	label := ""
	for i := range o.Labels {
		if p < o.Labels[i].Min {
			break
		}
		label = o.Labels[i].Label
	}
	return label
}

// Width is the number of input tensor columns.
func (s *Signature) Width() int {
	w := 0
	for i := range s.Features {
		w += s.Features[i].Width()
	}
	return w
}

// Validate reports the inconsistencies of s, naming the fields: a tabular
// signature needs its input, features and an output (Output or Outputs);
// another needs its inputs and outputs.
func (s *Signature) Validate() error {
	if err := s.validateTensors(); err != nil {
		return err
	}
	if err := s.validatePads(); err != nil {
		return err
	}
	if !s.Tabular() {
		switch {
		case s.Input != "":
			return errors.New("signature.features: must list at least one feature when signature.input is set")
		case len(s.Inputs) == 0:
			return errors.New("signature.inputs: must list the model's inputs")
		case len(s.Outputs) == 0:
			return errors.New("signature.outputs: must list the model's outputs")
		}
		return nil
	}
	if s.Input == "" {
		return errors.New("signature.input: must name the model's input tensor")
	}
	seen := make(map[string]bool, len(s.Features))
	for i := range s.Features {
		f := &s.Features[i]
		switch {
		case f.Name == "":
			return fmt.Errorf("signature.features[%d].name: must not be empty", i)
		case seen[f.Name]:
			return fmt.Errorf("signature.features[%d].name: duplicate feature %q", i, f.Name)
		}
		seen[f.Name] = true
		switch f.Type {
		case Numeric:
			if f.Std < 0 || math.IsNaN(f.Std) || math.IsInf(f.Std, 0) || math.IsNaN(f.Mean) || math.IsInf(f.Mean, 0) {
				return fmt.Errorf("signature.features[%s]: mean and std must be finite, std >= 0", f.Name)
			}
		case Categorical:
			if len(f.Vocabulary) == 0 {
				return fmt.Errorf("signature.features[%s].vocabulary: must not be empty", f.Name)
			}
		default:
			return fmt.Errorf("signature.features[%s].type: unknown type %q (want numeric or categorical)", f.Name, f.Type)
		}
	}
	if len(s.Inputs) > 1 || len(s.Inputs) == 1 && s.Inputs[0].Name != s.Input {
		return fmt.Errorf("signature.inputs: a tabular model has one input, %q, that its features encode into", s.Input)
	}
	if len(s.Outputs) > 0 {
		return nil
	}
	if s.Output.Name == "" {
		return errors.New("signature.output.name: must name the model's output tensor")
	}
	if len(s.Output.Labels) == 0 {
		return errors.New("signature.output.labels: must list at least one label")
	}
	if !sort.SliceIsSorted(s.Output.Labels, func(i, j int) bool { return s.Output.Labels[i].Min < s.Output.Labels[j].Min }) {
		return errors.New("signature.output.labels: must be in ascending order of min")
	}
	return nil
}

// ErrMissingFeature is returned by Row.Finish for an absent required feature.
var ErrMissingFeature = errors.New("missing required feature")

// Encoder turns request features into input tensor rows, as the signature
// says. It is immutable and safe for concurrent use; each request uses its own
// Row.
type Encoder struct {
	sig      *Signature
	index    map[string]int // feature name → index in sig.Features
	offsets  []int          // first tensor column of each feature
	vocab    []map[string]int
	width    int
	required int
	rows     sync.Pool // of *Row, so the request path reuses rows
}

// NewEncoder validates sig, a tabular signature, and prepares its encoding.
func NewEncoder(sig *Signature) (*Encoder, error) {
	if err := sig.Validate(); err != nil {
		return nil, err
	}
	if !sig.Tabular() {
		return nil, errors.New("signature.features: the model takes tensors, not features: it has no encoder")
	}
	e := &Encoder{
		sig:     sig,
		index:   make(map[string]int, len(sig.Features)),
		offsets: make([]int, len(sig.Features)),
		vocab:   make([]map[string]int, len(sig.Features)),
	}
	for i := range sig.Features {
		f := &sig.Features[i]
		e.index[f.Name] = i
		e.offsets[i] = e.width
		e.width += f.Width()
		if f.Type == Categorical {
			m := make(map[string]int, len(f.Vocabulary))
			for j, v := range f.Vocabulary {
				m[v] = j
			}
			e.vocab[i] = m
		}
		if f.Required {
			e.required++
		}
	}
	return e, nil
}

// Signature returns the signature e encodes.
func (e *Encoder) Signature() *Signature { return e.sig }

// Width is the number of float32 columns of a row.
func (e *Encoder) Width() int { return e.width }

// Lookup returns the index of the named feature. Names the signature does
// not hold (such as an entity key) are not model inputs: the caller skips
// them. Converting the name in the map index does not allocate.
func (e *Encoder) Lookup(name []byte) (int, bool) {
	i, ok := e.index[string(name)]
	return i, ok
}

// Feature returns the feature at index i.
func (e *Encoder) Feature(i int) *Feature { return &e.sig.Features[i] }

// Row is one request's encoded features. A Row is reused across requests
// (Reset) and is not safe for concurrent use.
type Row struct {
	enc    *Encoder
	values []float32
	seen   []bool
}

// NewRow returns an empty row for e.
func (e *Encoder) NewRow() *Row {
	r := &Row{enc: e, values: make([]float32, e.width), seen: make([]bool, len(e.sig.Features))}
	r.Reset()
	return r
}

// AcquireRow returns a cleared row from e's pool. Pass it to ReleaseRow when
// done; it must not be used after that.
func (e *Encoder) AcquireRow() *Row {
	if v := e.rows.Get(); v != nil {
		r := v.(*Row)
		r.Reset()
		return r
	}
	return e.NewRow()
}

// ReleaseRow returns r to e's pool.
func (e *Encoder) ReleaseRow(r *Row) { e.rows.Put(r) }

// Reset clears the row for the next request.
func (r *Row) Reset() {
	clear(r.values)
	clear(r.seen)
}

// SetNumber sets numeric feature i to v, standardised.
func (r *Row) SetNumber(i int, v float64) {
	f := &r.enc.sig.Features[i]
	r.values[r.enc.offsets[i]] = float32(standardise(f, v))
	r.seen[i] = true
}

// SetCategory sets categorical feature i to value: its one-hot column, or the
// unknown bucket for values outside the vocabulary.
func (r *Row) SetCategory(i int, value []byte) {
	f := &r.enc.sig.Features[i]
	off := r.enc.offsets[i]
	cols := r.values[off : off+f.Width()]
	clear(cols)
	j, ok := r.enc.vocab[i][string(value)]
	if !ok {
		j = len(f.Vocabulary)
	}
	cols[j] = 1
	r.seen[i] = true
}

// Finish fills absent optional features and returns the encoded row, valid
// until the next Reset. It fails with ErrMissingFeature, naming the first
// absent required feature in signature order.
func (r *Row) Finish() ([]float32, error) {
	for i := range r.seen {
		if r.seen[i] {
			continue
		}
		f := &r.enc.sig.Features[i]
		if f.Required {
			return nil, &FeatureError{Feature: f.Name, Err: ErrMissingFeature}
		}
		off := r.enc.offsets[i]
		if f.Type == Categorical {
			r.values[off+len(f.Vocabulary)] = 1
		} else {
			r.values[off] = float32(standardise(f, f.Impute))
		}
	}
	return r.values, nil
}

// FeatureError is an error about one named feature.
type FeatureError struct {
	Feature string
	Err     error
}

func (e *FeatureError) Error() string { return e.Err.Error() + " " + fmt.Sprintf("%q", e.Feature) }

// Unwrap returns the error class, such as ErrMissingFeature.
func (e *FeatureError) Unwrap() error { return e.Err }

func standardise(f *Feature, v float64) float64 {
	std := f.Std
	if std == 0 {
		std = 1
	}
	return (v - f.Mean) / std
}
