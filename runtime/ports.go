package runtime

import (
	"fmt"
	"math"
	"slices"

	"github.com/infergate/infergate/internal/tensor"
)

// maxTensorBytes caps one input or output buffer (8 GiB): a larger tensor
// is a mistake, and the cap keeps every size product far from overflow.
const maxTensorBytes = 1 << 33

// port is one input or output of a session: what the model declares and
// the tensor the session exchanges through it now, whose memory the session
// owns.
type port struct {
	info TensorInfo
	t    tensor.Tensor // Shape and Data (or Strings) of the current run
	// buf backs t.Data; it only grows. ONNX Runtime tensors made over it
	// (the cached bindings) keep raw pointers into it, which is sound
	// because they keep it reachable and Go's collector never moves heap
	// objects; when it grows, the bindings are dropped.
	buf []byte
	// unknownShape marks an output whose shape ONNX Runtime decides at
	// each run however the inputs' look (see narrow).
	unknownShape bool
}

func newPorts(infos []TensorInfo) []port {
	ports := make([]port, len(infos))
	for i, info := range infos {
		ports[i] = port{info: info, t: tensor.Tensor{Name: info.Name, DType: info.DType, Shape: slices.Clone(info.Shape)}}
	}
	return ports
}

func portNames(ports []port) []string {
	names := make([]string, len(ports))
	for i := range ports {
		names[i] = ports[i].info.Name
	}
	return names
}

func portInfos(ports []port) []TensorInfo {
	infos := make([]TensorInfo, len(ports))
	for i := range ports {
		infos[i] = ports[i].info
		infos[i].Shape = slices.Clone(infos[i].Shape)
	}
	return infos
}

// rowsShape is the port's shape with rows as its first dimension (when
// batch is true), or false when another dimension is dynamic.
func (p *port) rowsShape(rows int, batch bool) ([]int64, bool) {
	shape := slices.Clone(p.info.Shape)
	for d, n := range shape {
		switch {
		case d == 0 && batch:
			shape[0] = int64(rows)
		case n < 0:
			return nil, false
		}
	}
	return shape, true
}

// Input readies input i for the next Run with shape and returns the tensor
// to fill: Data holds the shape's bytes (Strings its elements, for a string
// input), in the session's own memory, valid until the next Input of i or
// Close. Data keeps whatever was written last, so every element must be
// written for each Run.
//
// shape must fit the model (as narrowed): its rank, every fixed dimension,
// and, for a batchable model, a first dimension from 1 to MaxBatch; other
// dynamic dimensions take any positive size. Errors are ErrShape or, for the
// batch, ErrBatchSize. Input allocates only when its buffer must grow.
func (s *Session) Input(i int, shape []int64) (*tensor.Tensor, error) {
	if s.closed {
		return nil, fmt.Errorf("runtime: cannot fill an input of model %q: session %w", s.path, ErrClosed)
	}
	p := &s.inputs[i]
	n, err := s.checkShape(p, shape)
	if err != nil {
		return nil, err
	}
	p.t.Shape = append(p.t.Shape[:0], shape...)
	if p.info.DType == tensor.String {
		if cap(p.t.Strings) < n {
			p.t.Strings = make([][]byte, n)
		}
		p.t.Strings = p.t.Strings[:n]
		return &p.t, nil
	}
	if p.grow(n * p.info.DType.Size()) {
		s.unbindQuietly()
	}
	return &p.t, nil
}

func (s *Session) checkShape(p *port, shape []int64) (int, error) {
	want := p.info.Shape
	if len(shape) != len(want) {
		return 0, fmt.Errorf("runtime: %w: input %q of model %q has %d dimensions %s, got %d: %s",
			ErrShape, p.info.Name, s.path, len(want), tensor.ShapeString(want), len(shape), tensor.ShapeString(shape))
	}
	for d, n := range shape {
		switch {
		case d == 0 && s.batchable:
			if n < 1 || n > int64(s.maxBatch) {
				return 0, fmt.Errorf("runtime: cannot run model %q on %d rows: %w [1, %d]", s.path, n, ErrBatchSize, s.maxBatch)
			}
		case n < 1:
			return 0, fmt.Errorf("runtime: %w: input %q of model %q: dimension %d of %s must be positive",
				ErrShape, p.info.Name, s.path, d, tensor.ShapeString(shape))
		case want[d] != -1 && n != want[d]:
			return 0, fmt.Errorf("runtime: %w: input %q of model %q has shape %s, got %s: dimension %d must be %d",
				ErrShape, p.info.Name, s.path, tensor.ShapeString(want), tensor.ShapeString(shape), d, want[d])
		}
	}
	n, ok := tensor.Elements(shape)
	if size := max(p.info.DType.Size(), 8); !ok || n > maxTensorBytes/size {
		return 0, fmt.Errorf("runtime: %w: input %q of model %q: shape %s is too large",
			ErrShape, p.info.Name, s.path, tensor.ShapeString(shape))
	}
	return n, nil
}

// grow makes the port's Data size bytes, reallocating its buffer when it is
// too small; it reports whether it did (bindings over the old one are then
// stale).
func (p *port) grow(size int) bool {
	grew := false
	if cap(p.buf) < size {
		p.buf = make([]byte, size)
		grew = true
	}
	p.t.Data = p.buf[:size]
	return grew
}

// Output returns output j as the last Run computed it: its shape and data
// (or strings) are the session's own memory, valid until the next Run, and
// must not be retained or modified.
func (s *Session) Output(j int) *tensor.Tensor { return &s.outputs[j].t }

// preallocate sizes the buffers for MaxBatch rows where the shapes allow,
// so that the first batches do not grow them one size after another.
func (s *Session) preallocate() {
	for _, ports := range [][]port{s.inputs, s.outputs} {
		for i := range ports {
			p := &ports[i]
			if p.info.DType == tensor.String {
				continue
			}
			if shape, ok := p.rowsShape(s.maxBatch, s.batchable); ok {
				if n, ok := tensor.Elements(shape); ok && n <= maxTensorBytes/8 {
					p.buf = make([]byte, n*p.info.DType.Size())
				}
			}
		}
	}
}

// canBind reports whether every Run can go through an IoBinding over the
// session's buffers: no string or scalar tensors (onnxruntime_go makes
// neither over a buffer), and every output's shape known from the inputs'
// (fixed, or the batch of a batchable model).
func (s *Session) canBind() bool {
	for _, ports := range [][]port{s.inputs, s.outputs} {
		for i := range ports {
			info := &ports[i].info
			if info.DType == tensor.String || len(info.Shape) == 0 {
				return false
			}
		}
	}
	for i := range s.outputs {
		if _, ok := s.outputs[i].rowsShape(1, s.batchable); !ok {
			return false
		}
	}
	return true
}

// setOutputShape sets output p's shape for a batch of rows when it is known
// before the run (see canBind) and sizes its buffer; it reports whether the
// shape is known and whether the buffer grew.
func (p *port) setOutputShape(rows int, batch bool) (known, grew bool) {
	p.t.Shape = p.t.Shape[:0]
	if p.unknownShape {
		return false, false
	}
	for d, n := range p.info.Shape {
		switch {
		case d == 0 && batch:
			n = int64(rows)
		case n < 0:
			return false, false
		}
		p.t.Shape = append(p.t.Shape, n)
	}
	if p.info.DType == tensor.String {
		return false, false
	}
	n, ok := tensor.Elements(p.t.Shape)
	if !ok || n > math.MaxInt32 {
		return false, false
	}
	return true, p.grow(n * p.info.DType.Size())
}
