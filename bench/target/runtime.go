package target

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"slices"

	"github.com/infergate/infergate/bench/loadgen"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/runtime"
)

// Defaults of RuntimeConfig.
const (
	// DefaultRuntimeRows is the number of precomputed input rows.
	DefaultRuntimeRows = 1024
	// DefaultRuntimeIntraOpThreads keeps one ONNX Runtime thread per
	// session, as the gateway's own sessions run.
	DefaultRuntimeIntraOpThreads = 1
)

// RuntimeConfig configures a Runtime target.
type RuntimeConfig struct {
	// ModelPath is the ONNX model file. Required.
	ModelPath string
	// Sessions is the number of sessions, each a copy of the model that
	// one caller at a time runs; default GOMAXPROCS. More concurrent
	// callers than sessions wait for one.
	Sessions int
	// IntraOpThreads is each session's ONNX Runtime thread count; default
	// DefaultRuntimeIntraOpThreads.
	IntraOpThreads int
	// Rows is the number of precomputed input rows Do cycles through;
	// default DefaultRuntimeRows.
	Rows int
	// Seed seeds the rows' random values.
	Seed uint64
	// Library is the ONNX Runtime library (runtime.Config.LibraryPath);
	// default "": $INFERGATE_ORT_LIB, then the project's install folder.
	Library string
	// Shapes fixes the model's dynamic dimensions other than the batch, by
	// input name (runtime.SessionOptions.Shapes), e.g. x: [-1, 3, 48, 192].
	Shapes map[string][]int64
	// Batch is the rows each Do runs at once; default 1.
	Batch int
}

// Runtime is a loadgen.Target that runs the model in process, through
// package runtime directly: no HTTP, no batcher, Batch rows a call. It is
// the floor under which no gateway can go: the model's own cost per request.
// Every input must be float32.
type Runtime struct {
	env    *runtime.Environment
	all    []*runtimeSlot
	free   chan *runtimeSlot // idle sessions
	done   chan struct{}     // closed by Close: waiters give up
	rows   [][]float32       // per model input: Rows rows, row-major
	width  []int             // per model input: values per row
	shapes [][]int64         // per model input: the shape of one call's batch
	nrows  uint64
	// hook, if set (by tests), is called with a session's index just after
	// Do takes it (enter) and just before Do gives it back (!enter).
	hook func(slot int, enter bool)
}

// runtimeSlot is one session and its index.
type runtimeSlot struct {
	sess *runtime.Session
	id   int
}

var _ loadgen.Target = (*Runtime)(nil)

// NewRuntime opens the ONNX Runtime environment (or joins the process's
// open one), loads cfg.Sessions sessions of the model, each at MaxBatch 1
// and warmed up, and precomputes cfg.Rows rows of uniform random values in
// [-1, 1) for every model input. A model's cost does not depend on its
// input values, so random rows time it as well as real ones. On error,
// whatever was opened is closed.
func NewRuntime(cfg RuntimeConfig) (*Runtime, error) {
	if cfg.ModelPath == "" {
		return nil, errors.New("runtime target: ModelPath is required")
	}
	var errs []error
	if cfg.Sessions < 0 {
		errs = append(errs, fmt.Errorf("runtime target: Sessions: must be >= 0, got %d", cfg.Sessions))
	}
	if cfg.IntraOpThreads < 0 {
		errs = append(errs, fmt.Errorf("runtime target: IntraOpThreads: must be >= 0, got %d", cfg.IntraOpThreads))
	}
	if cfg.Rows < 0 {
		errs = append(errs, fmt.Errorf("runtime target: Rows: must be >= 0, got %d", cfg.Rows))
	}
	if cfg.Batch < 0 {
		errs = append(errs, fmt.Errorf("runtime target: Batch: must be >= 0, got %d", cfg.Batch))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Sessions == 0 {
		cfg.Sessions = goruntime.GOMAXPROCS(0)
	}
	if cfg.IntraOpThreads == 0 {
		cfg.IntraOpThreads = DefaultRuntimeIntraOpThreads
	}
	if cfg.Rows == 0 {
		cfg.Rows = DefaultRuntimeRows
	}
	if cfg.Batch == 0 {
		cfg.Batch = 1
	}
	cfg.Rows = max(cfg.Rows, cfg.Batch)

	env, err := runtime.Open(runtime.Config{LibraryPath: cfg.Library, IntraOpThreads: cfg.IntraOpThreads})
	if err != nil {
		return nil, fmt.Errorf("runtime target: %w", err)
	}
	r := &Runtime{
		env:   env,
		free:  make(chan *runtimeSlot, cfg.Sessions),
		done:  make(chan struct{}),
		nrows: uint64(cfg.Rows),
	}
	for i := range cfg.Sessions {
		s, err := env.NewSession(cfg.ModelPath, runtime.SessionOptions{MaxBatch: cfg.Batch, Shapes: cfg.Shapes})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("runtime target: session %d of %d: %w", i+1, cfg.Sessions, err), r.Close())
		}
		slot := &runtimeSlot{sess: s, id: i}
		r.all = append(r.all, slot)
		r.free <- slot
	}
	s := r.all[0].sess
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x72756e74696d65)) // "runtime"
	ins := s.Inputs()
	r.rows, r.width, r.shapes = make([][]float32, len(ins)), make([]int, len(ins)), make([][]int64, len(ins))
	for i, in := range ins {
		shape := slices.Clone(in.Shape)
		if s.Batchable() {
			shape[0] = int64(cfg.Batch)
		}
		n, ok := tensor.Elements(shape)
		if in.DType != tensor.Float32 || !ok || slices.Contains(shape, -1) {
			return nil, errors.Join(fmt.Errorf("runtime target: input %q (%s %s) must be float32 with every dimension but the batch known: give it in Shapes",
				in.Name, in.DType, tensor.ShapeString(in.Shape)), r.Close())
		}
		r.shapes[i] = shape
		r.width[i] = n / cfg.Batch
		r.rows[i] = make([]float32, cfg.Rows*r.width[i])
		for k := range r.rows[i] {
			r.rows[i][k] = rng.Float32()*2 - 1
		}
	}
	return r, nil
}

// Do runs precomputed row seq modulo Rows through the model on an idle
// session, waiting for one if all are busy (or until ctx is done, or the
// target is closed). It returns 200, or 500 if ONNX Runtime failed; err is
// ctx's error, or ErrClosed after Close.
func (r *Runtime) Do(ctx context.Context, seq uint64) (int, error) {
	var slot *runtimeSlot
	select {
	case slot = <-r.free:
	default:
		select {
		case slot = <-r.free:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-r.done:
			return 0, fmt.Errorf("runtime target: %w", runtime.ErrClosed)
		}
	}
	if r.hook != nil {
		r.hook(slot.id, true)
	}
	status := r.run(slot.sess, seq)
	if r.hook != nil {
		r.hook(slot.id, false)
	}
	r.free <- slot
	return status, nil
}

// run copies the batch that starts at row seq modulo Rows into the
// session and runs it: 200, or 500 when ONNX Runtime failed.
func (r *Runtime) run(s *runtime.Session, seq uint64) int {
	for i, w := range r.width {
		in, err := s.Input(i, r.shapes[i])
		if err != nil {
			return 500
		}
		dst := tensor.Float32s(in.Data)
		for k := 0; k < len(dst); k += w {
			row := (seq + uint64(k/w)) % r.nrows
			copy(dst[k:k+w], r.rows[i][row*uint64(w):(row+1)*uint64(w)])
		}
	}
	if err := s.Run(); err != nil {
		return 500
	}
	return 200
}

// Close waits for the sessions in use to come back, then closes every
// session and the environment handle: when no one else in the process holds
// the environment, ONNX Runtime is shut down. Do calls waiting for a session
// return ErrClosed. Close is safe after a failed NewRuntime and a second
// Close is a no-op.
func (r *Runtime) Close() error {
	if r.env == nil {
		return nil
	}
	close(r.done)
	var errs []error
	for range r.all {
		slot := <-r.free
		errs = append(errs, slot.sess.Close())
	}
	errs = append(errs, r.env.Close())
	r.env, r.all = nil, nil
	return errors.Join(errs...)
}
