package router

import (
	"fmt"
	"github.com/infergate/infergate/router/remote"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/registry"
)

// A route serves one kind of request, as its primary model takes them: a
// tabular model's routes take features (Request.Features, encoded by each
// model's signature), any other model's take tensors by input name
// (Request.Tensors). Every model target of a route takes the same kind, and
// a tensor route's models the same inputs; Load refuses a route where they
// do not.

// Tabular reports whether the route takes features (its primary model is
// tabular) rather than tensors.
func (r *Route) Tabular() bool { return r.primary.model.Tabular() }

// Tabular reports whether the model encodes request features into its
// input (a signature with features).
func (m *Model) Tabular() bool { return m.meta.Signature.Tabular() }

// Inputs are the model's inputs as its batcher runs them: names, element
// types, shapes with -1 for dynamic dimensions (narrowed by the signature).
func (m *Model) Inputs() []TensorInfo { return m.spec.Inputs }

// Outputs are the model's outputs as its batcher runs them.
func (m *Model) Outputs() []TensorInfo { return m.spec.Outputs }

// Batched reports whether the model's requests batch along their first
// dimension, so that a request holds any number of rows.
func (m *Model) Batched() bool { return m.spec.Batch }

// OutputSpec is what the model's signature says of output j: its kind and
// labels.
func (m *Model) OutputSpec(j int) registry.OutputSpec {
	if o, ok := m.meta.Signature.FindOutput(m.spec.Outputs[j].Name); ok {
		return o
	}
	return registry.OutputSpec{Kind: registry.KindRaw}
}

// bindTensors checks a tensor model's batcher against its signature.
func (m *Model) bindTensors() error {
	sig := &m.meta.Signature
	for _, want := range sig.InputSpecs() {
		if !slices.ContainsFunc(m.spec.Inputs, func(t TensorInfo) bool { return t.Name == want.Name }) {
			return fmt.Errorf("%w: the signature names input %q, the model has %s", ErrUnsupportedModel, want.Name, describe(m.spec.Inputs))
		}
	}
	m.outputs = len(m.spec.Outputs)
	return m.bindPads()
}

// callTensors runs req's tensors through m: each of the model's inputs is
// the request's tensor of that name, in the model's order.
func (t *Target) callTensors(req *Request, res *Result, deadline time.Time) error {
	m := t.model
	in := req.mapped[:0]
	for _, info := range m.spec.Inputs {
		k := slices.IndexFunc(req.Tensors, func(x tensor.Tensor) bool { return x.Name == info.Name })
		if k < 0 {
			req.mapped = in
			return &InputError{Field: "inputs." + info.Name, Missing: true,
				Msg: fmt.Sprintf("input %q is required: model %s %s takes %s", info.Name, m.Name(), m.Version(), describe(m.spec.Inputs))}
		}
		in = append(in, req.Tensors[k])
	}
	req.mapped = in
	var unpadded [maxPaddings]int64
	for len(req.padded) < len(m.pads) {
		req.padded = append(req.padded, tensor.Tensor{})
	}
	for i := range m.pads {
		unpadded[i] = m.pads[i].pad(in, &req.padded[i])
	}
	for len(req.outs) < m.outputs {
		req.outs = append(req.outs, tensor.Tensor{})
	}
	if err := m.batcher.DoPriority(in, req.outs[:m.outputs], deadline, req.Priority); err != nil {
		return err
	}
	for i := range m.pads {
		if unpadded[i] == 0 {
			continue
		}
		if err := m.pads[i].crop(req.outs[:m.outputs], unpadded[i]); err != nil {
			return fmt.Errorf("%w: model %s %s: %w", ErrModelFailed, m.Name(), m.Version(), err)
		}
	}
	res.Outputs = req.outs[:m.outputs]
	res.ModelVersion = m.meta.Version
	res.Target = t
	return nil
}

// Rows is the number of rows of a tensor request: the first dimension of
// its first input, or 1 when it has no dimension or no input.
func (req *Request) Rows() int {
	if len(req.Tensors) == 0 || len(req.Tensors[0].Shape) == 0 {
		return 1
	}
	return int(req.Tensors[0].Shape[0])
}

// StaticOutput is one output of a static answer on a tensor route: the
// elements of one row, which every row of a request gets.
type StaticOutput struct {
	// Name is the output, one of the route's primary model's. Required.
	Name string `yaml:"name"`
	// Data are one row's elements, row-major: numbers, true or false, or
	// strings for a string output. Required.
	Data []any `yaml:"data"`
}

// staticTensors makes a static target's answer of a tensor route: one row
// of each output the config names, in the primary model's output order
// (an output the config leaves out is answered as zeros).
func staticTensors(primary *Model, outs []StaticOutput) ([]tensor.Tensor, error) {
	for _, o := range outs {
		if !slices.ContainsFunc(primary.spec.Outputs, func(t TensorInfo) bool { return t.Name == o.Name }) {
			return nil, fmt.Errorf("static.outputs[%s]: the model has no output %q; its outputs are %s", o.Name, o.Name, describe(primary.spec.Outputs))
		}
	}
	answer := make([]tensor.Tensor, len(primary.spec.Outputs))
	for j, info := range primary.spec.Outputs {
		shape := slices.Clone(info.Shape)
		if primary.spec.Batch {
			shape[0] = 1
		}
		n, ok := tensor.Elements(shape)
		if !ok || slices.Contains(shape, -1) {
			return nil, fmt.Errorf("static: output %q has shape %s: a static answer needs every dimension but the batch fixed", info.Name, tensor.ShapeString(info.Shape))
		}
		t := tensor.Tensor{Name: info.Name, DType: info.DType, Shape: shape}
		if info.DType == tensor.String {
			t.Strings = make([][]byte, n)
		} else {
			t.Data = make([]byte, n*info.DType.Size())
		}
		k := slices.IndexFunc(outs, func(o StaticOutput) bool { return o.Name == info.Name })
		if k >= 0 {
			if len(outs[k].Data) != n {
				return nil, fmt.Errorf("static.outputs[%s].data: %d elements, but a row of %s %s holds %d", info.Name, len(outs[k].Data), info.DType, tensor.ShapeString(info.Shape), n)
			}
			for i, v := range outs[k].Data {
				if err := setElement(&t, i, v); err != nil {
					return nil, fmt.Errorf("static.outputs[%s].data[%d]: %w", info.Name, i, err)
				}
			}
		}
		answer[j] = t
	}
	return answer, nil
}

// setElement writes one configured value into element i of t.
func setElement(t *tensor.Tensor, i int, v any) error {
	if t.DType == tensor.String {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %v", v)
		}
		t.Strings[i] = []byte(s)
		return nil
	}
	var x float64
	switch v := v.(type) {
	case int:
		x = float64(v)
	case float64:
		x = v
	case bool:
		if t.DType != tensor.Bool {
			return fmt.Errorf("want a number, got %v", v)
		}
		if v {
			x = 1
		}
	default:
		return fmt.Errorf("want a number, got %v", v)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("want a finite number, got %v", v)
	}
	return tensor.SetFloat64(t, i, x)
}

// callStatic answers a tensor request with the static rows, one per row of
// the request.
func (t *Target) callStatic(req *Request, res *Result) {
	rows := req.Rows()
	for len(req.outs) < len(t.static.outputs) {
		req.outs = append(req.outs, tensor.Tensor{})
	}
	for j := range t.static.outputs {
		row := &t.static.outputs[j]
		out := &req.outs[j]
		out.Name, out.DType = row.Name, row.DType
		out.Shape = append(out.Shape[:0], row.Shape...)
		out.Data, out.Strings = out.Data[:0], out.Strings[:0]
		if t.static.batched {
			out.Shape[0] = int64(rows)
		} else {
			rows = 1
		}
		for range rows {
			out.Data = append(out.Data, row.Data...)
			out.Strings = append(out.Strings, row.Strings...)
		}
	}
	res.Outputs = req.outs[:len(t.static.outputs)]
	res.ModelVersion, res.Target = "", t
}

// checkTensorRoute refuses a tensor route whose targets cannot take its
// requests.
func checkTensorRoute(rc *RouteConfig, primary *Model, targets []*Target) error {
	if rc.Canary != nil && rc.Canary.Sticky.Feature != "" {
		return fmt.Errorf("route %q: canary.sticky.feature: the route takes tensors, not features; keep users on one side by header", rc.Name)
	}
	for _, t := range targets {
		switch t.kind {
		case KindRules:
			return fmt.Errorf("route %q: target %q: rules read features; the route takes tensors (its model %s has no feature signature): answer with a static target",
				rc.Name, t.name, primary.Name())
		case KindRemote:
			if t.remote.Protocol() != remote.ProtocolV2 {
				return fmt.Errorf("route %q: target %q: an infergate remote's /v1 takes features; the route takes tensors: set protocol: v2 (the remote's v2 endpoint gets the tensors by name)", rc.Name, t.name)
			}
		case KindStatic:
			if t.static.outputs == nil {
				return fmt.Errorf("route %q: target %q: static: the route takes tensors: give static.outputs, a row of each output, not a probability", rc.Name, t.name)
			}
		case KindModel:
			m := t.model
			if m == primary {
				continue
			}
			if m.Tabular() {
				return fmt.Errorf("route %q: target %q: model %s %s takes features, the route's %s takes tensors", rc.Name, t.name, m.Name(), m.Version(), primary.Name())
			}
			for _, in := range primary.spec.Inputs {
				k := slices.IndexFunc(m.spec.Inputs, func(x TensorInfo) bool { return x.Name == in.Name })
				if k < 0 || m.spec.Inputs[k].DType != in.DType {
					return fmt.Errorf("route %q: target %q: model %s %s takes %s, the primary %s: a route's models take the same inputs",
						rc.Name, t.name, m.Name(), m.Version(), describe(m.spec.Inputs), describe(primary.spec.Inputs))
				}
			}
		}
	}
	return nil
}

// checkTabularRoute refuses tensor models and tensor static answers on a
// route that takes features.
func checkTabularRoute(rc *RouteConfig, targets []*Target) error {
	for _, t := range targets {
		switch {
		case t.kind == KindModel && !t.model.Tabular():
			return fmt.Errorf("route %q: target %q: model %s %s takes tensors, the route takes features", rc.Name, t.name, t.model.Name(), t.model.Version())
		case t.kind == KindStatic && t.static.outputs != nil:
			return fmt.Errorf("route %q: target %q: static.outputs answer a tensor route; this route takes features: give static.probability", rc.Name, t.name)
		}
	}
	return nil
}

// describeNames lists tensor names for messages.
func describeNames(infos []TensorInfo) string {
	names := make([]string, len(infos))
	for i, t := range infos {
		names[i] = strconv.Quote(t.Name)
	}
	return strings.Join(names, ", ")
}
