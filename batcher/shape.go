package batcher

import (
	"fmt"
	"slices"

	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/runtime"
)

// check reports how many rows the request's inputs hold, or why they do not
// fit the model: the gateway's codecs check the same with field names
// first, so this is the guard that keeps a caller's mistake from reaching
// an instance.
func (b *Batcher) check(in, out []tensor.Tensor) (rows int, err error) {
	sp := &b.spec
	if len(in) != len(sp.Inputs) || len(out) != len(sp.Outputs) {
		return 0, fmt.Errorf("%w: model %q version %q takes %d inputs and gives %d outputs, got %d and room for %d",
			ErrShape, b.model, b.version, len(sp.Inputs), len(sp.Outputs), len(in), len(out))
	}
	rows = 1
	for i := range in {
		t, info := &in[i], &sp.Inputs[i]
		if msg := fits(t, info, sp.Batch); msg != "" {
			return 0, fmt.Errorf("%w: model %q version %q: input %q: %s", ErrShape, b.model, b.version, info.Name, msg)
		}
		if !sp.Batch {
			continue
		}
		if i == 0 {
			rows = int(t.Shape[0])
		} else if int(t.Shape[0]) != rows {
			return 0, fmt.Errorf("%w: model %q version %q: input %q has %d rows, input %q has %d",
				ErrShape, b.model, b.version, sp.Inputs[0].Name, rows, info.Name, t.Shape[0])
		}
	}
	return rows, nil
}

// fits says what is wrong with t as the model input info, or "".
func fits(t *tensor.Tensor, info *runtime.TensorInfo, batch bool) string {
	switch {
	case t.DType != info.DType:
		return "element type " + t.DType.String() + ", want " + info.DType.String()
	case len(t.Shape) != len(info.Shape):
		return "shape " + tensor.ShapeString(t.Shape) + ", want " + tensor.ShapeString(info.Shape)
	}
	for d, n := range t.Shape {
		batchDim := d == 0 && batch
		if n < 1 || !batchDim && info.Shape[d] != -1 && n != info.Shape[d] {
			return "shape " + tensor.ShapeString(t.Shape) + ", want " + tensor.ShapeString(info.Shape)
		}
	}
	if !t.Check() {
		if t.DType == tensor.String {
			return fmt.Sprintf("shape %s holds %d elements, got %d strings", tensor.ShapeString(t.Shape), t.Len(), len(t.Strings))
		}
		return fmt.Sprintf("shape %s of %s holds %d bytes, got %d", tensor.ShapeString(t.Shape), t.DType, t.Len()*t.DType.Size(), len(t.Data))
	}
	return ""
}

// sameShape reports whether a and b may run in one batch: every input has
// the same dimensions after the first.
func sameShape(a, b *request) bool {
	for i := range a.in {
		if !slices.Equal(a.in[i].Shape[1:], b.in[i].Shape[1:]) {
			return false
		}
	}
	return true
}

func cloneSpec(s Spec) Spec {
	clone := func(infos []runtime.TensorInfo) []runtime.TensorInfo {
		out := slices.Clone(infos)
		for i := range out {
			out[i].Shape = slices.Clone(out[i].Shape)
		}
		return out
	}
	return Spec{Inputs: clone(s.Inputs), Outputs: clone(s.Outputs), Batch: s.Batch}
}

// Spec is what the batcher's instances take and give.
func (b *Batcher) Spec() Spec { return cloneSpec(b.spec) }

// Config is the batcher's configuration as it runs: defaults applied,
// preferred sizes sorted, and, for a model whose requests do not batch,
// max_batch_size 1 with no delay, preferred sizes or target latency.
func (b *Batcher) Config() Config {
	c := b.cfg
	c.PreferredBatchSizes = slices.Clone(c.PreferredBatchSizes)
	c.PriorityQueueSizes = slices.Clone(c.PriorityQueueSizes)
	c.InstanceGroups = slices.Clone(c.InstanceGroups)
	return c
}

// MaxBatch is the most rows one batch holds: max_batch_size, or 1 for a
// model whose requests do not batch.
func (b *Batcher) MaxBatch() int { return b.maxBatch }
