package batcher

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/infergate/infergate/internal/tensor"
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

// ModelOptions say how a model's tensors are used, as its signature gives
// them: runtime.SessionOptions' Shapes and NoBatch.
type ModelOptions struct {
	// Shapes narrows dynamic dimensions by input or output name.
	Shapes map[string][]int64
	// NoBatch: the first dimension is not a batch, even where it is dynamic
	// everywhere; each request runs alone.
	NoBatch bool
}

// Open places and loads the model's instances and starts a batcher over
// them, its Spec read from the sessions. On error, every session opened so
// far is closed.
func (o ONNXOpener) Open(path, model, version string, cfg Config, opts ModelOptions) (*Batcher, error) {
	instances, spec, err := o.instances(path, model, version, cfg, opts)
	if err != nil {
		return nil, err
	}
	b, err := New(model, version, cfg, spec, instances)
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

func (o ONNXOpener) instances(path, model, version string, cfg Config, opts ModelOptions) ([]Instance, Spec, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, Spec{}, err
	}
	slots, warnings, err := Place(cfg, o.Devices())
	if err != nil {
		return nil, Spec{}, fmt.Errorf("model %s %s: %w", model, version, err)
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	for _, w := range warnings {
		log.Warn("GPU instance placed on the CPU", "model", model, "version", version, "why", w)
	}
	return newInstances(o.Env, path, cfg.MaxBatchSize, slots, o.Telemetry, opts)
}

// NewONNXInstances opens cfg.Instances sessions of the model at path on env's
// CPU execution provider, each able to run cfg.MaxBatchSize rows and warmed
// up, and returns them with the Spec to give New. cfg is copied and
// defaulted. The instances are the caller's until it hands them to New; a
// caller may wrap them (to observe or delay Run) before it does. On error,
// every session opened so far is closed.
func NewONNXInstances(env *runtime.Environment, path string, cfg Config, opts ModelOptions) ([]Instance, Spec, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, Spec{}, err
	}
	slots, _, err := Place(Config{Instances: cfg.Instances}, Devices{})
	if err != nil {
		return nil, Spec{}, err
	}
	return newInstances(env, path, cfg.MaxBatchSize, slots, nil, opts)
}

// newInstances opens one session per slot; the first session's tensors make
// the Spec.
func newInstances(env *runtime.Environment, path string, maxBatch int, slots []Slot, tel *runtime.Telemetry, mo ModelOptions) ([]Instance, Spec, error) {
	instances := make([]Instance, 0, len(slots))
	var spec Spec
	for _, slot := range slots {
		opts := runtime.SessionOptions{MaxBatch: maxBatch, Shapes: mo.Shapes, NoBatch: mo.NoBatch}
		if slot.Kind == KindGPU {
			opts.Device = runtime.Device{Kind: runtime.DeviceGPU, ID: slot.Device, CUDA: slot.CUDA}
		}
		s, err := env.NewSession(path, opts)
		if err != nil {
			closeInstances(instances)
			return nil, Spec{}, err
		}
		var inst Instance = sessionInstance{s}
		if slot.Kind == KindGPU {
			inst = gpuInstance{sessionInstance{s}, slot.Device, tel}
		}
		instances = append(instances, inst)
		if len(instances) == 1 {
			spec = Spec{Inputs: s.Inputs(), Outputs: s.Outputs(), Batch: s.Batchable()}
		}
	}
	return instances, spec, nil
}

func closeInstances(instances []Instance) {
	for _, inst := range instances {
		_ = inst.Close()
	}
}

// sessionInstance adapts a session to Instance.
type sessionInstance struct{ s *runtime.Session }

var _ Instance = sessionInstance{}

func (i sessionInstance) Input(n int, shape []int64) (*tensor.Tensor, error) {
	return i.s.Input(n, shape)
}

func (i sessionInstance) Run() error { return i.s.Run() }

func (i sessionInstance) Output(j int) *tensor.Tensor { return i.s.Output(j) }

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
