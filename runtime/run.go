package runtime

import (
	"errors"
	"fmt"
	"slices"

	"github.com/infergate/infergate/internal/tensor"
	ort "github.com/yalue/onnxruntime_go"
)

// maxBindings bounds the IoBindings a session caches: one per distinct set
// of input shapes, which for most models means one per batch size.
const maxBindings = 64

// binding is one set of input shapes' ONNX Runtime tensors, over the
// session's buffers, and the IoBinding that feeds them to the session. An
// IoBinding, unlike DynamicAdvancedSession.Run, takes no Go slices per call:
// Run allocates nothing and is measurably faster (see TestRunDoesNotAllocate).
// One ort.AdvancedSession per shape would also allocate nothing, but each
// would load its own copy of the model.
type binding struct {
	key    []int64 // the inputs' dimensions, one input after another
	io     *ort.IoBinding
	values []ort.Value
}

// Run runs the model on the inputs Input readied and leaves the outputs
// where Output finds them. Every input must have been given a shape since
// the session was made; for a batchable model their first dimensions must
// agree. ONNX Runtime's errors are wrapped. A steady set of input shapes
// allocates nothing per Run for models whose output shapes follow from the
// inputs' and that have no string or scalar tensors; other models allocate
// their ONNX Runtime values on each Run.
func (s *Session) Run() error {
	if s.closed {
		return fmt.Errorf("runtime: cannot run model %q: session %w", s.path, ErrClosed)
	}
	rows := 1
	for i := range s.inputs {
		p := &s.inputs[i]
		if !p.t.Check() {
			return fmt.Errorf("runtime: %w: input %q of model %q was not given a shape (call Input first)", ErrShape, p.info.Name, s.path)
		}
		if !s.batchable {
			continue
		}
		if i == 0 {
			rows = int(p.t.Shape[0])
		} else if int(p.t.Shape[0]) != rows {
			return fmt.Errorf("runtime: %w: model %q: input %q has %d rows, input %q has %d",
				ErrShape, s.path, s.inputs[0].info.Name, rows, p.info.Name, p.t.Shape[0])
		}
	}
	var err error
	if s.bindable {
		err = s.runBound(rows)
	} else {
		err = s.runDynamic(rows)
	}
	if err != nil {
		return fmt.Errorf("runtime: model %q failed on inputs %s: %w", s.path, s.shapes(), err)
	}
	return nil
}

// shapes lists the inputs' shapes, for messages.
func (s *Session) shapes() string {
	b := []byte{}
	for i := range s.inputs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, s.inputs[i].info.Name...)
		b = append(b, ' ')
		b = append(b, tensor.ShapeString(s.inputs[i].t.Shape)...)
	}
	return string(b)
}

func (s *Session) runBound(rows int) error {
	grew := false
	for j := range s.outputs {
		_, g := s.outputs[j].setOutputShape(rows, s.batchable)
		grew = grew || g
	}
	if grew {
		s.unbindQuietly()
	}
	s.key = s.key[:0]
	for i := range s.inputs {
		s.key = append(s.key, s.inputs[i].t.Shape...)
	}
	var b *binding
	for _, c := range s.bound {
		if slices.Equal(c.key, s.key) {
			b = c
			break
		}
	}
	if b == nil {
		var err error
		if b, err = s.bind(); err != nil {
			return fmt.Errorf("cannot prepare its tensors: %w", err)
		}
		if len(s.bound) == maxBindings {
			_ = s.bound[0].destroy()
			s.bound = slices.Delete(s.bound, 0, 1)
		}
		s.bound = append(s.bound, b)
	}
	return s.sess.RunWithBinding(b.io)
}

// bind creates tensors over the buffers, shaped as they are now, and binds
// them.
func (s *Session) bind() (b *binding, err error) {
	b = &binding{key: slices.Clone(s.key), values: make([]ort.Value, 0, len(s.inputs)+len(s.outputs))}
	defer func() {
		if err != nil {
			_ = b.destroy()
			b = nil
		}
	}()
	if b.io, err = s.sess.CreateIoBinding(); err != nil {
		return nil, err
	}
	add := func(p *port, bindTo func(string, ort.Value) error) error {
		v, err := newValue(&p.t)
		if err != nil {
			return fmt.Errorf("cannot make tensor %q: %w", p.info.Name, err)
		}
		b.values = append(b.values, v)
		if err := bindTo(p.info.Name, v); err != nil {
			return fmt.Errorf("cannot bind %q: %w", p.info.Name, err)
		}
		return nil
	}
	for i := range s.inputs {
		if err := add(&s.inputs[i], b.io.BindInput); err != nil {
			return nil, err
		}
	}
	for j := range s.outputs {
		if err := add(&s.outputs[j], b.io.BindOutput); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// runDynamic runs through DynamicAdvancedSession.Run with values made for
// this run: ONNX Runtime allocates the outputs whose shapes are unknown
// until it has run, and those are copied into the session's buffers.
func (s *Session) runDynamic(rows int) error {
	values := make([]ort.Value, len(s.inputs)+len(s.outputs))
	defer func() {
		for _, v := range values {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()
	ins, outs := values[:len(s.inputs)], values[len(s.inputs):]
	for i := range s.inputs {
		p := &s.inputs[i]
		v, err := newValue(&p.t)
		if err != nil {
			return fmt.Errorf("cannot make input %q: %w", p.info.Name, err)
		}
		ins[i] = v
	}
	for j := range s.outputs {
		p := &s.outputs[j]
		var err error
		switch known, _ := p.setOutputShape(rows, s.batchable); {
		case len(p.info.Shape) == 0:
			outs[j], err = scalars[p.info.DType].out()
		case known:
			outs[j], err = newValue(&p.t)
		}
		if err != nil {
			return fmt.Errorf("cannot make output %q: %w", p.info.Name, err)
		}
	}
	allocated := make([]bool, len(outs))
	for j, v := range outs {
		allocated[j] = v == nil
	}
	if err := s.sess.Run(ins, outs); err != nil {
		return err
	}
	for j := range s.outputs {
		p := &s.outputs[j]
		switch {
		case len(p.info.Shape) == 0:
			p.t.Shape = p.t.Shape[:0]
			p.grow(p.info.DType.Size())
			scalars[p.info.DType].read(outs[j], p.t.Data)
		case allocated[j]:
			if err := p.readValue(outs[j]); err != nil {
				return fmt.Errorf("cannot read output %q: %w", p.info.Name, err)
			}
		}
	}
	return nil
}

func (b *binding) destroy() error {
	var errs []error
	if b.io != nil {
		errs = append(errs, b.io.Destroy())
		b.io = nil
	}
	for _, v := range b.values {
		errs = append(errs, v.Destroy())
	}
	b.values = nil
	return errors.Join(errs...)
}

// unbind destroys every cached binding.
func (s *Session) unbind() error {
	var errs []error
	for _, b := range s.bound {
		errs = append(errs, b.destroy())
	}
	clear(s.bound)
	s.bound = s.bound[:0]
	return errors.Join(errs...)
}

// unbindQuietly drops the bindings when a buffer they point into is
// replaced; destroying a binding or a tensor cannot fail in onnxruntime_go.
func (s *Session) unbindQuietly() { _ = s.unbind() }
