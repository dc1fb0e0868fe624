package runtime

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultWarmupRuns is the number of warm-up passes NewSession makes when
// SessionOptions.WarmupRuns is 0.
const DefaultWarmupRuns = 1

// TensorInfo describes one model input or output.
type TensorInfo struct {
	Name string
	// ElemType is the Go name of the element type; a Session only accepts "float32".
	ElemType string
	// Shape has -1 for a dynamic dimension (the batch dimension, normally).
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

	// MaxBatch is the largest number of rows Run accepts; required, >= 1. The
	// session's buffers are sized for it once, at load.
	MaxBatch int

	// WarmupRuns is the number of passes made at load, each at batch 1 and at
	// MaxBatch, so that the first real request does not pay for ONNX
	// Runtime's lazy kernel set-up nor for creating the tensors of those two
	// batch sizes. 0 means DefaultWarmupRuns; a negative value disables warm-up.
	WarmupRuns int
}

// Session runs one loaded model. It is not safe for concurrent use: one
// goroutine (a batcher worker) owns it, writes a batch with Input, calls Run,
// then reads Output. See the package documentation.
type Session struct {
	path     string
	sess     *ort.DynamicAdvancedSession
	inputs   []TensorInfo
	outputs  []TensorInfo
	inRow    []int // elements per row of each input
	outRow   []int
	inData   [][]float32 // one MaxBatch-row backing slice per input
	outData  [][]float32
	maxBatch int
	device   Device
	// fixedBatch is the batch size the model was exported with when that is
	// fixed (then it equals maxBatch); 0 when the batch dimension is dynamic.
	fixedBatch int
	// bound[n] binds the backing slices, viewed as tensors of n rows, to the
	// model's inputs and outputs. Created on first use and kept, so a steady
	// batch size creates nothing per Run.
	bound    []*binding
	holdsEnv bool
	closed   bool
}

// binding is one batch size's ORT tensors and the IoBinding that feeds them
// to the session. An IoBinding, unlike DynamicAdvancedSession.Run, takes no
// Go slices per call: Run allocates nothing and is measurably faster (see
// TestRunDoesNotAllocate). One ort.AdvancedSession per batch size would also
// allocate nothing, but each would load its own copy of the model.
type binding struct {
	io      *ort.IoBinding
	tensors []*ort.Tensor[float32]
}

// NewSession loads the ONNX model at modelPath on opts.Device (the CPU by
// default), checks that a Session can drive it, preallocates its buffers and
// warms it up. Every input and output must be a float32 tensor whose first
// dimension is the batch (dynamic, or fixed at MaxBatch) and whose other
// dimensions are fixed. Errors match ErrModelLoad (also fs.ErrNotExist for a
// missing file) or ErrUnsupportedModel, and name the offending tensor; a GPU
// device on a library without CUDA is ErrNoCUDA, before the model is read.
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
	// A clear "no such file" beats ONNX Runtime's message for the same thing,
	// and lets callers match fs.ErrNotExist.
	if _, err := os.Stat(s.path); err != nil {
		return fmt.Errorf("runtime: %w %q: %w", ErrModelLoad, s.path, err)
	}

	// onnxruntime_go reads input and output metadata only through a
	// throw-away session; with graph optimisations off, that one loads fast.
	probe, err := ort.NewSessionOptions()
	if err != nil {
		return fmt.Errorf("runtime: cannot create session options: %w", err)
	}
	err = probe.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll)
	var ins, outs []ort.InputOutputInfo
	if err == nil {
		ins, outs, err = ort.GetInputOutputInfoWithOptions(s.path, probe)
	}
	_ = probe.Destroy()
	if err != nil {
		return fmt.Errorf("runtime: %w %q: %w", ErrModelLoad, s.path, err)
	}
	if len(ins) == 0 {
		return fmt.Errorf("runtime: %w %q: the model has no inputs", ErrUnsupportedModel, s.path)
	}
	if s.inputs, s.inRow, err = s.describe("input", ins); err != nil {
		return err
	}
	if s.outputs, s.outRow, err = s.describe("output", outs); err != nil {
		return err
	}

	so, err := newORTOptions(opts)
	if err != nil {
		return fmt.Errorf("runtime: cannot configure session for model %q: %w", s.path, err)
	}
	s.sess, err = ort.NewDynamicAdvancedSession(s.path, tensorNames(s.inputs), tensorNames(s.outputs), so)
	_ = so.Destroy()
	if err != nil {
		return fmt.Errorf("runtime: %w %q: %w", ErrModelLoad, s.path, err)
	}

	// ONNX Runtime keeps raw pointers into these slices (the tensors of every
	// cached batch size view them). That is sound because the ort.Tensor
	// values keep them reachable and Go's collector never moves heap objects.
	s.inData = make([][]float32, len(s.inputs))
	for i, n := range s.inRow {
		s.inData[i] = make([]float32, s.maxBatch*n)
	}
	s.outData = make([][]float32, len(s.outputs))
	for j, n := range s.outRow {
		s.outData[j] = make([]float32, s.maxBatch*n)
	}
	s.bound = make([]*binding, s.maxBatch+1)

	// The backing slices are freshly allocated, so warm-up runs on zeros.
	for range opts.WarmupRuns {
		for _, rows := range []int{1, s.maxBatch} {
			if err := s.Run(rows); err != nil {
				return fmt.Errorf("runtime: warm-up of model %q: %w", s.path, err)
			}
			if s.maxBatch == 1 {
				break
			}
		}
	}
	return nil
}

// describe checks the model's inputs or outputs (kind says which) and
// returns their descriptions and row sizes. It also records a fixed batch
// dimension.
func (s *Session) describe(kind string, infos []ort.InputOutputInfo) ([]TensorInfo, []int, error) {
	tensors := make([]TensorInfo, len(infos))
	rows := make([]int, len(infos))
	for k, info := range infos {
		unsupported := func(format string, args ...any) error {
			return fmt.Errorf("runtime: %w %q: %s %q %s", ErrUnsupportedModel, s.path, kind, info.Name, fmt.Sprintf(format, args...))
		}
		if info.OrtValueType != ort.ONNXTypeTensor {
			return nil, nil, unsupported("is a %s, not a tensor", info.OrtValueType)
		}
		elem := elemTypeName(info.DataType)
		if info.DataType != ort.TensorElementDataTypeFloat {
			return nil, nil, unsupported("has element type %s; a Session runs float32 tensors only", elem)
		}
		dims := info.Dimensions
		if len(dims) == 0 {
			return nil, nil, unsupported("is a scalar; its first dimension must be the batch")
		}
		switch batch := dims[0]; {
		case batch == -1:
		case batch == int64(s.maxBatch):
			s.fixedBatch = s.maxBatch
		default:
			return nil, nil, unsupported("has a fixed batch dimension of %d but MaxBatch is %d; export the model with a dynamic batch dimension, or set MaxBatch to %d",
				batch, s.maxBatch, batch)
		}
		// Buffers are capped at 2^31 elements (8 GiB): a larger one is a
		// MaxBatch typo, and the cap keeps every size product far from overflow.
		row := 1
		for d, n := range dims[1:] {
			if n < 1 {
				return nil, nil, unsupported("has shape %v: dimension %d must be fixed and positive; only the batch dimension (0) may be dynamic", []int64(dims), d+1)
			}
			if int64(row) > math.MaxInt32/n {
				return nil, nil, unsupported("has shape %v: a row is too large", []int64(dims))
			}
			row *= int(n)
		}
		if row > math.MaxInt32/s.maxBatch {
			return nil, nil, unsupported("has %d elements per row: MaxBatch %d rows would not fit in one buffer", row, s.maxBatch)
		}
		tensors[k] = TensorInfo{Name: info.Name, ElemType: elem, Shape: slices.Clone([]int64(dims))}
		rows[k] = row
	}
	return tensors, rows, nil
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

// Inputs describes the model's inputs in the order Input indexes them. The
// result is a copy.
func (s *Session) Inputs() []TensorInfo { return cloneInfos(s.inputs) }

// Outputs describes the model's outputs in the order Output indexes them.
// The result is a copy.
func (s *Session) Outputs() []TensorInfo { return cloneInfos(s.outputs) }

// Device is where the session runs: Kind "cpu" (with no ID or CUDA options)
// or "gpu" with the CUDA ordinal and options it was created with.
func (s *Session) Device() Device { return s.device }

// MaxBatch is the largest row count Run accepts.
func (s *Session) MaxBatch() int { return s.maxBatch }

// InputRowSize is the number of float32 values in one row of input i: the
// product of its non-batch dimensions.
func (s *Session) InputRowSize(i int) int { return s.inRow[i] }

// OutputRowSize is the number of float32 values in one row of output j.
func (s *Session) OutputRowSize(j int) int { return s.outRow[j] }

// Input returns the first rows rows of input i's buffer, row-major. The
// caller writes the batch there before Run; the buffer keeps whatever was
// written last, so every row up to rows must be written for each batch. It
// panics, like a slice expression, if i or rows is out of range.
func (s *Session) Input(i, rows int) []float32 {
	return s.inData[i][:rows*s.inRow[i]]
}

// Output returns the first rows rows of output j, as computed by the last
// Run. The slice is the session's own buffer: it is valid until the next Run
// and must not be retained after that. It panics, like a slice expression, if
// j or rows is out of range.
func (s *Session) Output(j, rows int) []float32 {
	return s.outData[j][:rows*s.outRow[j]]
}

// Run runs the model on the first rows rows of the input buffers and leaves
// the result in the output buffers. A row count outside [1, MaxBatch] is
// ErrBatchSize; a model exported with a fixed batch size always computes
// MaxBatch rows, of which the caller reads the first rows. ONNX Runtime's
// errors are wrapped. Once a batch size has been run, running it again
// allocates nothing.
func (s *Session) Run(rows int) error {
	if s.closed {
		return fmt.Errorf("runtime: cannot run model %q: session %w", s.path, ErrClosed)
	}
	if rows < 1 || rows > s.maxBatch {
		return fmt.Errorf("runtime: cannot run model %q on %d rows: %w [1, %d]", s.path, rows, ErrBatchSize, s.maxBatch)
	}
	n := rows
	if s.fixedBatch > 0 {
		n = s.fixedBatch
	}
	b := s.bound[n]
	if b == nil {
		var err error
		if b, err = s.bind(n); err != nil {
			return fmt.Errorf("runtime: cannot prepare tensors of %d rows for model %q: %w", n, s.path, err)
		}
		s.bound[n] = b
	}
	if err := s.sess.RunWithBinding(b.io); err != nil {
		return fmt.Errorf("runtime: model %q failed on %d rows: %w", s.path, rows, err)
	}
	return nil
}

// bind creates the tensors of n rows over the backing slices and binds them.
func (s *Session) bind(n int) (b *binding, err error) {
	b = &binding{tensors: make([]*ort.Tensor[float32], 0, len(s.inputs)+len(s.outputs))}
	defer func() {
		if err != nil {
			_ = b.destroy()
			b = nil
		}
	}()
	if b.io, err = s.sess.CreateIoBinding(); err != nil {
		return nil, err
	}
	add := func(info TensorInfo, data []float32, input bool) error {
		// A copy: ort.NewShape would alias info.Shape, whose -1 must stay.
		shape := ort.Shape(slices.Clone(info.Shape))
		shape[0] = int64(n)
		t, err := ort.NewTensor(shape, data)
		if err != nil {
			return err
		}
		b.tensors = append(b.tensors, t)
		if input {
			err = b.io.BindInput(info.Name, t)
		} else {
			err = b.io.BindOutput(info.Name, t)
		}
		if err != nil {
			return fmt.Errorf("cannot bind %q: %w", info.Name, err)
		}
		return nil
	}
	for i, info := range s.inputs {
		if err := add(info, s.inData[i], true); err != nil {
			return nil, err
		}
	}
	for j, info := range s.outputs {
		if err := add(info, s.outData[j], false); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *binding) destroy() error {
	var errs []error
	if b.io != nil {
		errs = append(errs, b.io.Destroy())
		b.io = nil
	}
	for _, t := range b.tensors {
		errs = append(errs, t.Destroy())
	}
	b.tensors = nil
	return errors.Join(errs...)
}

// Close frees the tensors, the ONNX Runtime session and the session's
// reference to the environment. It is safe on a session that failed half-way
// through NewSession, and a second Close is a no-op.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	// Tensors point into the backing slices and the bindings into the
	// session, so they go first.
	for _, b := range s.bound {
		if b != nil {
			errs = append(errs, b.destroy())
		}
	}
	s.bound = nil
	if s.sess != nil {
		errs = append(errs, s.sess.Destroy())
		s.sess = nil
	}
	s.inData, s.outData = nil, nil
	if s.holdsEnv {
		s.holdsEnv = false
		errs = append(errs, release())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runtime: closing session of model %q: %w", s.path, err)
	}
	return nil
}

func tensorNames(infos []TensorInfo) []string {
	names := make([]string, len(infos))
	for i, info := range infos {
		names[i] = info.Name
	}
	return names
}

func cloneInfos(infos []TensorInfo) []TensorInfo {
	out := slices.Clone(infos)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// elemTypeName gives ONNX element types their Go names for messages and
// TensorInfo; exotic types keep ONNX Runtime's own name.
func elemTypeName(t ort.TensorElementDataType) string {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return "float32"
	case ort.TensorElementDataTypeDouble:
		return "float64"
	case ort.TensorElementDataTypeFloat16:
		return "float16"
	case ort.TensorElementDataTypeBFloat16:
		return "bfloat16"
	case ort.TensorElementDataTypeInt8:
		return "int8"
	case ort.TensorElementDataTypeUint8:
		return "uint8"
	case ort.TensorElementDataTypeInt16:
		return "int16"
	case ort.TensorElementDataTypeUint16:
		return "uint16"
	case ort.TensorElementDataTypeInt32:
		return "int32"
	case ort.TensorElementDataTypeUint32:
		return "uint32"
	case ort.TensorElementDataTypeInt64:
		return "int64"
	case ort.TensorElementDataTypeUint64:
		return "uint64"
	case ort.TensorElementDataTypeBool:
		return "bool"
	case ort.TensorElementDataTypeString:
		return "string"
	}
	return t.String()
}
