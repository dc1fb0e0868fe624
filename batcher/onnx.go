package batcher

import (
	"fmt"

	"github.com/infergate/infergate/runtime"
)

// ONNXOpener starts batchers over ONNX models on Env's CPU execution
// provider. It implements router.Opener.
type ONNXOpener struct {
	Env *runtime.Environment
}

// Open loads cfg.Instances sessions of the model at path (NewONNXInstances)
// and starts a batcher over them. On error, every session opened so far is
// closed.
func (o ONNXOpener) Open(path, model, version string, cfg Config, inWidth, outWidth int) (*Batcher, error) {
	instances, err := NewONNXInstances(o.Env, path, cfg, inWidth, outWidth)
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
	instances := make([]Instance, 0, cfg.Instances)
	for range cfg.Instances {
		s, err := env.NewSession(path, runtime.SessionOptions{MaxBatch: cfg.MaxBatchSize})
		if err != nil {
			closeInstances(instances)
			return nil, err
		}
		instances = append(instances, sessionInstance{s})
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
