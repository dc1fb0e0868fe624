package runtime

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/infergate/infergate/internal/tensor"
	ort "github.com/yalue/onnxruntime_go"
)

// DefaultWarmupRuns is the number of warm-up passes NewSession makes when
// SessionOptions.WarmupRuns is 0.
const DefaultWarmupRuns = 1

// TensorInfo describes one model input or output.
type TensorInfo struct {
	Name  string
	DType tensor.DType
	// Shape has -1 for a dynamic (or symbolic) dimension; it is empty for a
	// scalar.
	Shape []int64
}

// SessionOptions tunes one Session.
type SessionOptions struct {
	// IntraOpThreads and InterOpThreads override the Environment's Config for
	// this session; 0 keeps the Environment's value.
	IntraOpThreads, InterOpThreads int

	// Device is where the session runs: the CPU (the zero value) or a GPU by
	// CUDA ordinal, through ONNX Runtime's CUDA execution provider. A GPU
	// needs a CUDA-enabled library (Environment.HasCUDA), else NewSession
	// fails with ErrNoCUDA. The caller (the batcher) locks the goroutine that
	// drives a GPU session to its OS thread.
	Device Device

	// MaxBatch is the largest first dimension a batchable model's inputs
	// may have in one Run; required, >= 1. Warm-up runs at 1 and MaxBatch
	// rows, and buffers are sized for MaxBatch rows at load when the other
	// dimensions are known.
	MaxBatch int

	// Shapes narrows the model's dynamic dimensions, by input or output
	// name, as a signature does: a dimension the model declares -1 and
	// Shapes gives as n > 0 is n from then on (every input must have it);
	// -1 keeps it dynamic. A shape must have the model's rank and may not
	// contradict an input's fixed dimension; an output's fixed dimension
	// may be given as -1, for the converters that declare a batch of
	// outputs as [1] (onnxmltools' LightGBM label). Names the model lacks
	// are an error.
	Shapes map[string][]int64

	// NoBatch says the first dimension is not a batch even where every
	// input and output has it dynamic (a sequence model, say): the session
	// is then not Batchable and runs whatever shapes it is given.
	NoBatch bool

	// WarmupRuns is the number of passes made at load, each at batch 1 and
	// at MaxBatch (once, for a model that is not batchable), so that the
	// first real request does not pay for ONNX Runtime's lazy kernel set-up
	// nor for creating the tensors of those sizes. Warm-up runs on zeros and
	// needs every dimension but the batch known; a model whose inputs keep a
	// dynamic dimension is not warmed up. 0 means DefaultWarmupRuns; a
	// negative value disables warm-up.
	WarmupRuns int
}

// Session runs one loaded model. It is not safe for concurrent use: one
// goroutine (a batcher worker) owns it, fills each input with Input, calls
// Run, then reads Output. See the package documentation.
type Session struct {
	path      string
	sess      *ort.DynamicAdvancedSession
	inputs    []port
	outputs   []port
	maxBatch  int
	batchable bool
	// bindable says Run can use an IoBinding over the session's buffers:
	// no string or scalar tensor, and every output's shape follows from
	// the inputs' (see bindable).
	bindable bool
	device   Device
	// bound caches IoBindings by the inputs' shapes, so that a steady
	// shape creates nothing per Run. key is the scratch key of the shapes
	// set now.
	bound    []*binding
	key      []int64
	holdsEnv bool
	closed   bool
}

// NewSession loads the ONNX model at modelPath on opts.Device (the CPU by
// default), reads its inputs and outputs, narrows their shapes by
// opts.Shapes, preallocates what it can and warms it up. Every input and
// output must be a tensor of an element type package tensor names (float32,
// float16, bfloat16, float64, int8 to int64, uint8 to uint64, bool or
// string); a sequence or map, or a float16, bfloat16 or string scalar, is
// ErrUnsupportedModel naming the tensor. Errors match ErrModelLoad (also
// fs.ErrNotExist for a missing file) or ErrUnsupportedModel; a GPU device on
// a library without CUDA is ErrNoCUDA, before the model is read.
//
// A model with external data (weights in files beside it) loads them from
// modelPath's folder, as ONNX Runtime does.
//
// The session holds a reference to the ONNX Runtime environment until it is
// closed, even if e is closed first.
func (e *Environment) NewSession(modelPath string, opts SessionOptions) (*Session, error) {
	opts, err := e.sessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("runtime: invalid options for model %q: %w", modelPath, err)
	}
	if err := e.retain(); err != nil {
		return nil, fmt.Errorf("runtime: cannot load model %q: environment %w", modelPath, err)
	}
	s := &Session{path: modelPath, maxBatch: opts.MaxBatch, device: opts.Device.placed(), holdsEnv: true}
	if s.device.IsGPU() {
		if err := e.requireCUDA(); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("runtime: cannot place model %q on %s: %w", modelPath, s.device, err)
		}
	}
	if err := s.load(opts); err != nil {
		// Close frees whatever load got to, and the environment reference.
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// sessionOptions fills opts from the environment's defaults and checks it.
func (e *Environment) sessionOptions(opts SessionOptions) (SessionOptions, error) {
	if opts.IntraOpThreads == 0 {
		opts.IntraOpThreads = e.cfg.IntraOpThreads
	}
	if opts.InterOpThreads == 0 {
		opts.InterOpThreads = e.cfg.InterOpThreads
	}
	if opts.WarmupRuns == 0 {
		opts.WarmupRuns = DefaultWarmupRuns
	}
	var errs []error
	if opts.MaxBatch < 1 {
		errs = append(errs, fmt.Errorf("MaxBatch: must be >= 1, got %d", opts.MaxBatch))
	}
	if opts.IntraOpThreads < 1 {
		errs = append(errs, fmt.Errorf("IntraOpThreads: must be >= 0, got %d", opts.IntraOpThreads))
	}
	if opts.InterOpThreads < 1 {
		errs = append(errs, fmt.Errorf("InterOpThreads: must be >= 0, got %d", opts.InterOpThreads))
	}
	if err := opts.Device.Validate(); err != nil {
		errs = append(errs, prefixErrors("Device.", err))
	}
	return opts, errors.Join(errs...)
}

// retain takes an environment reference for a new session, unless the handle
// is closed. Checking under global.mu orders it against Close's release.
func (e *Environment) retain() error {
	global.mu.Lock()
	defer global.mu.Unlock()
	if e.closed.Load() {
		return ErrClosed
	}
	global.refs++
	return nil
}

func (s *Session) load(opts SessionOptions) error {
	ins, outs, err := readInfo(s.path)
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		return fmt.Errorf("runtime: %w %q: the model has no inputs", ErrUnsupportedModel, s.path)
	}
	if len(outs) == 0 {
		return fmt.Errorf("runtime: %w %q: the model has no outputs", ErrUnsupportedModel, s.path)
	}
	widened, err := narrow(s.path, ins, outs, opts.Shapes)
	if err != nil {
		return err
	}
	s.batchable = !opts.NoBatch && Batchable(ins, outs)
	if !s.batchable {
		s.maxBatch = 1
	}
	s.inputs, s.outputs = newPorts(ins), newPorts(outs)
	for j := range s.outputs {
		// ONNX Runtime checks an output it is given against the graph's
		// declared shape: one the signature declares dynamic must be one
		// it allocates itself.
		s.outputs[j].unknownShape = slices.Contains(widened, s.outputs[j].info.Name)
	}
	s.bindable = len(widened) == 0 && s.canBind()

	so, err := newORTOptions(opts)
	if err != nil {
		return fmt.Errorf("runtime: cannot configure session for model %q: %w", s.path, err)
	}
	s.sess, err = ort.NewDynamicAdvancedSession(s.path, portNames(s.inputs), portNames(s.outputs), so)
	_ = so.Destroy()
	if err != nil {
		return fmt.Errorf("runtime: %w %q: %w", ErrModelLoad, s.path, err)
	}
	s.preallocate()
	return s.warmUp(opts.WarmupRuns)
}

// readInfo reads the model's inputs and outputs and checks that a Session
// can exchange them.
func readInfo(path string) (ins, outs []TensorInfo, err error) {
	// A clear "no such file" beats ONNX Runtime's message for the same
	// thing, and lets callers match fs.ErrNotExist.
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("runtime: %w %q: %w", ErrModelLoad, path, err)
	}
	// onnxruntime_go reads input and output metadata only through a
	// throw-away session; with graph optimisations off, that one loads fast.
	probe, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("runtime: cannot create session options: %w", err)
	}
	err = probe.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll)
	var rawIns, rawOuts []ort.InputOutputInfo
	if err == nil {
		rawIns, rawOuts, err = ort.GetInputOutputInfoWithOptions(path, probe)
	}
	_ = probe.Destroy()
	if err != nil {
		return nil, nil, fmt.Errorf("runtime: %w %q: %w", ErrModelLoad, path, err)
	}
	if ins, err = describe(path, "input", rawIns); err != nil {
		return nil, nil, err
	}
	if outs, err = describe(path, "output", rawOuts); err != nil {
		return nil, nil, err
	}
	return ins, outs, nil
}

// describe checks the model's inputs or outputs (kind says which).
func describe(path, kind string, infos []ort.InputOutputInfo) ([]TensorInfo, error) {
	tensors := make([]TensorInfo, len(infos))
	for k, info := range infos {
		unsupported := func(format string, args ...any) error {
			return fmt.Errorf("runtime: %w %q: %s %q %s", ErrUnsupportedModel, path, kind, info.Name, fmt.Sprintf(format, args...))
		}
		if info.OrtValueType != ort.ONNXTypeTensor {
			return nil, unsupported("is a %s, not a tensor; infergate serves tensors only", info.OrtValueType)
		}
		dt := fromORT(info.DataType)
		if dt == tensor.Invalid {
			return nil, unsupported("has element type %s, which infergate cannot exchange (it takes %v)", info.DataType, tensor.Names())
		}
		dims := slices.Clone([]int64(info.Dimensions))
		for d, n := range dims {
			if n < 0 {
				dims[d] = -1 // symbolic dimensions come back negative too
			}
		}
		if len(dims) == 0 && (dt == tensor.Float16 || dt == tensor.BFloat16 || dt == tensor.String) {
			return nil, unsupported("is a %s scalar, which onnxruntime_go cannot make", dt)
		}
		tensors[k] = TensorInfo{Name: info.Name, DType: dt, Shape: dims}
	}
	return tensors, nil
}

// Batchable reports whether a model with these inputs and outputs can run
// several requests as one, concatenated along the first dimension: every
// input and output has at least one dimension and its first is dynamic.
func Batchable(ins, outs []TensorInfo) bool {
	for _, list := range [][]TensorInfo{ins, outs} {
		for _, t := range list {
			if len(t.Shape) == 0 || t.Shape[0] != -1 {
				return false
			}
		}
	}
	return true
}

// narrow applies the shapes a signature gives to the model's declared ones,
// in place, and names the outputs where it declared a fixed dimension
// dynamic.
func narrow(path string, ins, outs []TensorInfo, shapes map[string][]int64) (widened []string, _ error) {
	if len(shapes) == 0 {
		return nil, nil
	}
	used := 0
	var errs []error
	for l, list := range [][]TensorInfo{ins, outs} {
		for k := range list {
			t := &list[k]
			want, ok := shapes[t.Name]
			if !ok {
				continue
			}
			used++
			check := NarrowShape
			if l == 1 {
				check = NarrowOutputShape
			}
			if err := check(t.Shape, want); err != nil {
				errs = append(errs, fmt.Errorf("runtime: %w %q: tensor %q: %w", ErrUnsupportedModel, path, t.Name, err))
				continue
			}
			for d, n := range want {
				if n == -1 && t.Shape[d] != -1 {
					widened = append(widened, t.Name)
					break
				}
			}
			copy(t.Shape, want)
		}
	}
	if used < len(shapes) {
		for name := range shapes {
			if !slices.ContainsFunc(ins, func(t TensorInfo) bool { return t.Name == name }) &&
				!slices.ContainsFunc(outs, func(t TensorInfo) bool { return t.Name == name }) {
				errs = append(errs, fmt.Errorf("runtime: %w %q: a shape is given for %q, which is not an input or output of the model", ErrUnsupportedModel, path, name))
			}
		}
	}
	return widened, errors.Join(errs...)
}

// NarrowShape checks that want may narrow the declared shape model: the
// same rank, and each dimension either what the model fixes or, where the
// model's is dynamic, -1 or a positive size.
func NarrowShape(model, want []int64) error {
	if len(want) != len(model) {
		return fmt.Errorf("shape %s has %d dimensions, the model's %s has %d",
			tensor.ShapeString(want), len(want), tensor.ShapeString(model), len(model))
	}
	for d, n := range want {
		switch {
		case n == 0 || n < -1:
			return fmt.Errorf("shape %s: dimension %d must be -1 (dynamic) or positive", tensor.ShapeString(want), d)
		case model[d] != -1 && n != model[d]:
			return fmt.Errorf("shape %s: dimension %d is fixed at %d by the model", tensor.ShapeString(want), d, model[d])
		}
	}
	return nil
}

// NarrowOutputShape is NarrowShape for an output, whose fixed dimensions
// may also be declared dynamic (-1).
func NarrowOutputShape(model, want []int64) error {
	widened := slices.Clone(model)
	for d := range widened {
		if d < len(want) && want[d] == -1 {
			widened[d] = -1
		}
	}
	return NarrowShape(widened, want)
}

// newORTOptions translates opts into ONNX Runtime's session options. The
// caller destroys them.
func newORTOptions(opts SessionOptions) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	err = so.SetIntraOpNumThreads(opts.IntraOpThreads)
	if err == nil {
		err = so.SetInterOpNumThreads(opts.InterOpThreads)
	}
	if err == nil {
		err = configureProvider(so, opts)
	}
	if err != nil {
		_ = so.Destroy()
		return nil, err
	}
	return so, nil
}

// warmUp runs the model on zeros, runs times, at 1 and MaxBatch rows.
func (s *Session) warmUp(runs int) error {
	for range runs {
		for _, rows := range []int{1, s.maxBatch} {
			ok, err := s.setZeros(rows)
			if err != nil || !ok {
				return err
			}
			if err := s.Run(); err != nil {
				return fmt.Errorf("runtime: warm-up of model %q on %d rows: %w", s.path, rows, err)
			}
			if s.maxBatch == 1 {
				break
			}
		}
	}
	return nil
}

// setZeros sets every input to rows rows of zeros (empty strings), or
// reports false when an input has a dynamic dimension besides the batch.
func (s *Session) setZeros(rows int) (bool, error) {
	for i := range s.inputs {
		p := &s.inputs[i]
		shape, ok := p.rowsShape(rows, s.batchable)
		if !ok {
			return false, nil
		}
		t, err := s.Input(i, shape)
		if err != nil {
			return false, err
		}
		clear(t.Data)
		clear(t.Strings)
	}
	return true, nil
}

// Inputs describes the model's inputs in the order Input indexes them,
// with the shapes SessionOptions.Shapes narrowed. The result is a copy.
func (s *Session) Inputs() []TensorInfo { return portInfos(s.inputs) }

// Outputs describes the model's outputs in the order Output indexes them.
// The result is a copy.
func (s *Session) Outputs() []TensorInfo { return portInfos(s.outputs) }

// Batchable reports whether Run takes several requests concatenated along
// the first dimension (see the package function Batchable, and
// SessionOptions.NoBatch).
func (s *Session) Batchable() bool { return s.batchable }

// Device is where the session runs: Kind "cpu" (with no ID or CUDA options)
// or "gpu" with the CUDA ordinal and options it was created with.
func (s *Session) Device() Device { return s.device }

// MaxBatch is the largest first dimension Run accepts; 1 for a model that is
// not batchable.
func (s *Session) MaxBatch() int { return s.maxBatch }

// Path is the model file the session loaded.
func (s *Session) Path() string { return s.path }

// Close frees the tensors, the ONNX Runtime session and the session's
// reference to the environment. It is safe on a session that failed half-way
// through NewSession, and a second Close is a no-op.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	// Bindings point into the buffers and into the session, so they go
	// first.
	errs := []error{s.unbind()}
	if s.sess != nil {
		errs = append(errs, s.sess.Destroy())
		s.sess = nil
	}
	s.inputs, s.outputs = nil, nil
	if s.holdsEnv {
		s.holdsEnv = false
		errs = append(errs, release())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runtime: closing session of model %q: %w", s.path, err)
	}
	return nil
}

// Inspect reads the inputs and outputs of the model at path without making
// a session to serve it: what `registry import` shows and checks. Errors are
// NewSession's.
func (e *Environment) Inspect(path string) (ins, outs []TensorInfo, err error) {
	if err := e.retain(); err != nil {
		return nil, nil, fmt.Errorf("runtime: cannot inspect model %q: environment %w", path, err)
	}
	defer func() { err = errors.Join(err, release()) }()
	return readInfo(path)
}

// Check proves the model at path serves: it loads it as NewSession does,
// with opts' Shapes and NoBatch (MaxBatch 1, no warm-up), runs it once on
// zeros (empty strings) with every dynamic dimension at 1, and returns its
// inputs and outputs as narrowed. The error names what failed: the file, an
// input or output a Session cannot exchange, or the run and the shapes it
// was given.
func (e *Environment) Check(path string, opts SessionOptions) (ins, outs []TensorInfo, err error) {
	opts.MaxBatch, opts.WarmupRuns = 1, -1
	s, err := e.NewSession(path, opts)
	if err != nil {
		return nil, nil, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	for i := range s.inputs {
		shape := slices.Clone(s.inputs[i].info.Shape)
		for d, n := range shape {
			if n < 0 {
				shape[d] = 1
			}
		}
		t, err := s.Input(i, shape)
		if err != nil {
			return nil, nil, err
		}
		clear(t.Data)
		clear(t.Strings)
	}
	if err := s.Run(); err != nil {
		return nil, nil, err
	}
	return s.Inputs(), s.Outputs(), nil
}
