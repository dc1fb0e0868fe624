package router

import (
	"fmt"
	"slices"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// padder applies one of a tensor model's pad rules (registry.PadRule): it
// pads the request's input along the rule's dimension up to the next
// multiple, before the batcher sees it, so that requests of nearby
// lengths have one shape and batch together; after the run it crops the
// rule's outputs back to the unpadded length. The batcher itself never
// pads: it batches equal shapes only.
type padder struct {
	input int // index in the model's inputs
	dim   int
	elem  []byte // the padding value, one element
	crops []cropper
	rule  registry.PadRule
}

// cropper is one crop rule, with its output's index.
type cropper struct {
	output int
	rule   registry.CropRule
}

// maxPaddings bounds the pad rules of a model: one per input, and a
// request keeps its unpadded lengths in a fixed array.
const maxPaddings = 4

// bindPads builds the model's padders from its signature's pad rules.
func (m *Model) bindPads() error {
	rules := m.meta.Signature.Pad
	if len(rules) > maxPaddings {
		return fmt.Errorf("%w: the signature has %d pad rules, more than %d", ErrUnsupportedModel, len(rules), maxPaddings)
	}
	for _, rule := range rules {
		k := slices.IndexFunc(m.spec.Inputs, func(t TensorInfo) bool { return t.Name == rule.Input })
		if k < 0 {
			return fmt.Errorf("%w: pad rule for input %q: the model has %s", ErrUnsupportedModel, rule.Input, describe(m.spec.Inputs))
		}
		elem, err := registry.PadElement(m.spec.Inputs[k].DType, rule.Value)
		if err != nil {
			return fmt.Errorf("%w: pad rule for input %q: %w", ErrUnsupportedModel, rule.Input, err)
		}
		p := padder{input: k, dim: rule.Dim, elem: elem, rule: rule}
		for _, c := range rule.Crop {
			j := slices.IndexFunc(m.spec.Outputs, func(t TensorInfo) bool { return t.Name == c.Output })
			if j < 0 {
				return fmt.Errorf("%w: crop rule for output %q: the model has %s", ErrUnsupportedModel, c.Output, describe(m.spec.Outputs))
			}
			p.crops = append(p.crops, cropper{output: j, rule: c})
		}
		m.pads = append(m.pads, p)
	}
	return nil
}

// pad replaces in[p.input] by its padded copy in buf when its length is
// not a multiple, and returns that length (0: not padded). The input has
// passed no shape check yet: one of another rank is left for the batcher
// to refuse.
func (p *padder) pad(in []tensor.Tensor, buf *tensor.Tensor) int64 {
	t := &in[p.input]
	if len(t.Shape) <= p.dim || t.DType.Size() != len(p.elem) {
		return 0
	}
	n := t.Shape[p.dim]
	to := p.rule.PadTo(n)
	if n <= 0 || to == n {
		return 0
	}
	outer, ok1 := tensor.Elements(t.Shape[:p.dim])
	inner, ok2 := tensor.Elements(t.Shape[p.dim+1:])
	total, ok3 := tensor.Elements(t.Shape)
	if !ok1 || !ok2 || !ok3 || len(t.Data) != total*len(p.elem) {
		return 0 // the batcher names what is wrong with it
	}
	size := len(p.elem)
	from, into := int(n)*inner*size, int(to)*inner*size
	buf.Name, buf.DType = t.Name, t.DType
	buf.Shape = append(buf.Shape[:0], t.Shape...)
	buf.Shape[p.dim] = to
	if cap(buf.Data) < outer*into {
		buf.Data = make([]byte, outer*into)
	}
	buf.Data = buf.Data[:outer*into]
	for i := range outer {
		dst := buf.Data[i*into : (i+1)*into]
		copy(dst, t.Data[i*from:(i+1)*from])
		fill(dst[from:], p.elem)
	}
	*t = *buf
	return n
}

// fill repeats elem over dst.
func fill(dst, elem []byte) {
	if len(dst) == 0 {
		return
	}
	n := copy(dst, elem)
	for n < len(dst) {
		n += copy(dst[n:], dst[:n])
	}
}

// crop cuts the outputs of a request whose input was padded from
// unpadded back to the length each crop rule gives.
func (p *padder) crop(outs []tensor.Tensor, unpadded int64) error {
	for _, c := range p.crops {
		o := &outs[c.output]
		if len(o.Shape) <= c.rule.Dim {
			return fmt.Errorf("output %q has shape %s: no dimension %d to crop", o.Name, tensor.ShapeString(o.Shape), c.rule.Dim)
		}
		have, keep := o.Shape[c.rule.Dim], c.rule.Length(unpadded)
		if keep >= have {
			continue
		}
		if keep < 0 {
			keep = 0
		}
		outer, _ := tensor.Elements(o.Shape[:c.rule.Dim])
		inner, _ := tensor.Elements(o.Shape[c.rule.Dim+1:])
		row := inner * o.DType.Size()
		from, into := int(have)*row, int(keep)*row
		// Forward, in place: each block moves to an offset at or before
		// its own.
		for i := range outer {
			copy(o.Data[i*into:(i+1)*into], o.Data[i*from:i*from+into])
		}
		o.Data = o.Data[:outer*into]
		o.Shape[c.rule.Dim] = keep
	}
	return nil
}
