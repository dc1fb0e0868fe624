package registry

import (
	"errors"
	"fmt"
	"slices"

	"github.com/infergate/infergate/internal/tensor"
)

// PadRule declares one input dimension paddable: a request whose length
// there is not a multiple of ToMultipleOf is padded with Value up to the
// next multiple, so that requests of nearby lengths share a batch (an OCR
// recognizer's image widths). Padding changes what a model computes near
// the padded edge, so infergate pads only where the signature says it may;
// Crop cuts the outputs back to the length the unpadded input gives.
type PadRule struct {
	Input string `json:"input"`
	// Dim is the dimension padded: not the first (the batch), and dynamic
	// in the input's shape.
	Dim   int     `json:"dim"`
	Value float64 `json:"value"`
	// ToMultipleOf is the step lengths are padded to: 2 or more.
	ToMultipleOf int64      `json:"to_multiple_of"`
	Crop         []CropRule `json:"crop,omitempty"`
}

// CropRule cuts output dimension Dim of a padded request's answer to
// floor((L + Add) / Divide), L being the input's unpadded length: a
// convolution or pooling's output length, as its stride (Divide) and its
// kernel and padding (Add) give it. PaddleOCR's v4 recognizer gives
// floor((width + 3) / 8) time steps.
type CropRule struct {
	Output string `json:"output"`
	Dim    int    `json:"dim"`
	// Divide is 1 or more; 0 means 1.
	Divide int64 `json:"divide,omitempty"`
	Add    int64 `json:"add,omitempty"`
}

// Length is the output length the rule keeps of an unpadded input length.
func (c *CropRule) Length(unpadded int64) int64 {
	return (unpadded + c.Add) / max(c.Divide, 1)
}

// PadTo is the length a request of length n is padded to.
func (p *PadRule) PadTo(n int64) int64 {
	m := p.ToMultipleOf
	return (n + m - 1) / m * m
}

// validatePads checks the pad rules against the signature's tensors.
func (s *Signature) validatePads() error {
	var errs []error
	padded := map[string]bool{}
	for i := range s.Pad {
		p := &s.Pad[i]
		path := fmt.Sprintf("signature.pad[%d]", i)
		k := slices.IndexFunc(s.Inputs, func(t TensorSpec) bool { return t.Name == p.Input })
		if k < 0 {
			errs = append(errs, fmt.Errorf("%s.input: the model has no input %q; its inputs are %s", path, p.Input, specNames(s.Inputs)))
			continue
		}
		in := s.Inputs[k]
		if padded[p.Input] {
			errs = append(errs, fmt.Errorf("%s.input: %q has a pad rule already: one per input", path, p.Input))
		}
		padded[p.Input] = true
		dt := tensor.Parse(in.DType)
		switch {
		case p.Dim < 1 || p.Dim >= len(in.Shape):
			errs = append(errs, fmt.Errorf("%s.dim: %d is not a dimension after the batch of %s %s (1 to %d)", path, p.Dim, p.Input, tensor.ShapeString(in.Shape), len(in.Shape)-1))
		case in.Shape[p.Dim] != -1:
			errs = append(errs, fmt.Errorf("%s.dim: dimension %d of %s %s is fixed: only a dynamic one varies between requests", path, p.Dim, p.Input, tensor.ShapeString(in.Shape)))
		}
		if p.ToMultipleOf < 2 {
			errs = append(errs, fmt.Errorf("%s.to_multiple_of: must be 2 or more, got %d", path, p.ToMultipleOf))
		}
		if dt == tensor.String || dt == tensor.Invalid {
			errs = append(errs, fmt.Errorf("%s.input: %q holds %s: only numbers pad", path, p.Input, in.DType))
		} else if _, err := PadElement(dt, p.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s.value: %w", path, err))
		}
		for j := range p.Crop {
			errs = append(errs, s.validateCrop(fmt.Sprintf("%s.crop[%d]", path, j), &p.Crop[j]))
		}
	}
	return errors.Join(errs...)
}

func (s *Signature) validateCrop(path string, c *CropRule) error {
	k := slices.IndexFunc(s.Outputs, func(o OutputSpec) bool { return o.Name == c.Output })
	if k < 0 {
		names := make([]TensorSpec, len(s.Outputs))
		for i := range s.Outputs {
			names[i] = s.Outputs[i].TensorSpec
		}
		return fmt.Errorf("%s.output: the model has no output %q; its outputs are %s", path, c.Output, specNames(names))
	}
	out := s.Outputs[k]
	switch {
	case c.Dim < 1 || c.Dim >= len(out.Shape):
		return fmt.Errorf("%s.dim: %d is not a dimension after the batch of %s %s (1 to %d)", path, c.Dim, c.Output, tensor.ShapeString(out.Shape), len(out.Shape)-1)
	case out.Shape[c.Dim] != -1:
		return fmt.Errorf("%s.dim: dimension %d of %s %s is fixed: padding cannot change it", path, c.Dim, c.Output, tensor.ShapeString(out.Shape))
	case c.Divide < 0:
		return fmt.Errorf("%s.divide: must be 1 or more, got %d", path, c.Divide)
	case tensor.Parse(out.DType) == tensor.String:
		return fmt.Errorf("%s.output: %q holds strings: only numbers crop", path, c.Output)
	}
	return nil
}

// PadElement is value as one element of dt, in the tensors' byte layout.
func PadElement(dt tensor.DType, value float64) ([]byte, error) {
	t := tensor.Tensor{DType: dt, Shape: []int64{1}, Data: make([]byte, dt.Size())}
	if err := tensor.SetFloat64(&t, 0, value); err != nil {
		return nil, err
	}
	return t.Data, nil
}
