package batcher

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/infergate/infergate/runtime"
)

// ONNXOpener starts batchers over ONNX models on Env, placing each model's
// instances on the CPU or the GPUs its batching.instance_groups ask for
// (Place). It implements router.Opener.
type ONNXOpener struct {
	Env *runtime.Environment
	// Telemetry is the GPU inventory placement reads and the health GPU
	// instances report to their workers; nil when there is none (no NVML:
	// NoGPU says why).
	Telemetry *runtime.Telemetry
	NoGPU     error
	// Log gets placement's warnings (prefer_gpu falling back to the CPU).
	// Default slog.Default().
	Log *slog.Logger
}

// Open places and loads the model's instances (NewONNXInstances) and
// starts a batcher over them. On error, every session opened so far is
// closed.
func (o ONNXOpener) Open(path, model, version string, cfg Config, inWidth, outWidth int) (*Batcher, error) {
	instances, err := o.instances(path, model, version, cfg, inWidth, outWidth)
	if err != nil {
		return nil, err
	}
	b, err := New(model, version, cfg, inWidth, outWidth, instances)
	if err != nil {
		closeInstances(instances)
		return nil, err
	}
	return b, nil
}

// Devices returns what placement knows of the machine now.
func (o ONNXOpener) Devices() Devices {
	d := Devices{Err: o.NoGPU, HasCUDA: o.Env.HasCUDA()}
	if o.Telemetry == nil {
		if d.Err == nil {
			d.Err = errors.New("GPU telemetry is off")
		}
		return d
	}
	for _, g := range o.Telemetry.Latest() {
		d.GPUs = append(d.GPUs, GPU{Index: g.Index, Name: g.Name, MemoryFree: g.MemoryFree, MemoryTotal: g.MemoryTotal, Healthy: g.Healthy, Problem: g.Problem})
	}
	return d
}

func (o ONNXOpener) instances(path, model, version string, cfg Config, inWidth, outWidth int) ([]Instance, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	slots, warnings, err := Place(cfg, o.Devices())
	if err != nil {
		return nil, fmt.Errorf("model %s %s: %w", model, version, err)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	for _, w := range warnings {
		log.Warn("GPU instance placed on the CPU", "model", model, "version", version, "why", w)
	}
	return newInstances(o.Env, path, cfg.MaxBatchSize, slots, o.Telemetry, inWidth, outWidth)
}

// NewONNXInstances opens cfg.Instances sessions of the model at path on env's
// CPU execution provider, each able to run cfg.MaxBatchSize rows and warmed
// up, and checks that the model takes inWidth float32 columns and gives
// outWidth. cfg is copied and defaulted. The instances are the caller's until
// it hands them to New; a caller may wrap them (to observe or delay Run)
// before it does. On error, every session opened so far is closed.
func NewONNXInstances(env *runtime.Environment, path string, cfg Config, inWidth, outWidth int) ([]Instance, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	slots, _, err := Place(Config{Instances: cfg.Instances}, Devices{})
	if err != nil {
		return nil, err
	}
	return newInstances(env, path, cfg.MaxBatchSize, slots, nil, inWidth, outWidth)
}

// newInstances opens one session per slot.
func newInstances(env *runtime.Environment, path string, maxBatch int, slots []Slot, tel *runtime.Telemetry, inWidth, outWidth int) ([]Instance, error) {
	instances := make([]Instance, 0, len(slots))
	for _, slot := range slots {
		opts := runtime.SessionOptions{MaxBatch: maxBatch}
		if slot.Kind == KindGPU {
			opts.Device = runtime.Device{Kind: runtime.DeviceGPU, ID: slot.Device, CUDA: slot.CUDA}
		}
		s, err := env.NewSession(path, opts)
		if err != nil {
			closeInstances(instances)
			return nil, err
		}
		var inst Instance = sessionInstance{s}
		if slot.Kind == KindGPU {
			inst = gpuInstance{sessionInstance{s}, slot.Device, tel}
		}
		instances = append(instances, inst)
		if err := checkWidths(s, path, inWidth, outWidth); err != nil {
			closeInstances(instances)
			return nil, err
		}
	}
	return instances, nil
}

func closeInstances(instances []Instance) {
	for _, inst := range instances {
		_ = inst.Close()
	}
}

// checkWidths refuses a model whose tensors do not match its signature, which
// would otherwise compute garbage from misaligned rows.
func checkWidths(s *runtime.Session, path string, inWidth, outWidth int) error {
	if len(s.Inputs()) != 1 || len(s.Outputs()) < 1 {
		return fmt.Errorf("%s: want one input and at least one output tensor, got %d and %d: %w",
			path, len(s.Inputs()), len(s.Outputs()), runtime.ErrUnsupportedModel)
	}
	if got := s.InputRowSize(0); got != inWidth {
		return fmt.Errorf("%s: input %q has %d columns but the signature encodes %d: %w",
			path, s.Inputs()[0].Name, got, inWidth, runtime.ErrUnsupportedModel)
	}
	if got := s.OutputRowSize(0); got != outWidth {
		return fmt.Errorf("%s: output %q has %d columns, want %d: %w",
			path, s.Outputs()[0].Name, got, outWidth, runtime.ErrUnsupportedModel)
	}
	return nil
}

// sessionInstance adapts a single-input session to Instance, using its first
// output.
type sessionInstance struct{ s *runtime.Session }

var _ Instance = sessionInstance{}

func (i sessionInstance) Input(rows int) []float32 { return i.s.Input(0, rows) }

func (i sessionInstance) Run(rows int) ([]float32, error) {
	if err := i.s.Run(rows); err != nil {
		return nil, err
	}
	return i.s.Output(0, rows), nil
}

func (i sessionInstance) Close() error { return i.s.Close() }

// Where says where the instance runs.
func (i sessionInstance) Where() string { return i.s.Device().String() }

// gpuInstance is a session on a GPU: its worker is locked to its OS thread,
// and takes no batches while telemetry says the device is unhealthy.
type gpuInstance struct {
	sessionInstance
	device int
	tel    *runtime.Telemetry
}

var (
	_ ThreadPinner   = gpuInstance{}
	_ HealthReporter = gpuInstance{}
)

func (g gpuInstance) PinOSThread() bool { return true }

func (g gpuInstance) Healthy() bool { return g.tel == nil || g.tel.Healthy(g.device) }
