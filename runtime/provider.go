package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	ort "github.com/yalue/onnxruntime_go"
)

// Execution provider names, as ONNX Runtime spells them.
const (
	CPUExecutionProvider  = "CPUExecutionProvider"
	CUDAExecutionProvider = "CUDAExecutionProvider"
)

// cudaProviderLibrary is the file a CUDA-enabled ONNX Runtime build loads its
// CUDA provider from, beside libonnxruntime.so (Linux, the platform the
// project's CUDA builds target).
const cudaProviderLibrary = "libonnxruntime_providers_cuda.so"

// configureProvider is the one place that decides where a session's kernels
// run. A cpu device needs nothing: ONNX Runtime uses its CPU provider when no
// other is appended. A gpu device appends the CUDA provider bound to the
// device's ordinal, with its options; ONNX Runtime still places the operators
// CUDA lacks on the CPU. NewSession has already checked that the library can
// load the CUDA provider (requireCUDA), so a failure here is about the options
// or the device (an ordinal the machine does not have, say).
//
// The per-batch-size IoBindings in session.go bind host memory, so ONNX
// Runtime copies inputs to the device and outputs back on every Run; binding
// outputs to device memory is where a later change could save a copy.
func configureProvider(so *ort.SessionOptions, opts SessionOptions) error {
	d := opts.Device
	if !d.IsGPU() {
		return nil
	}
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("cannot create CUDA provider options: %w", err)
	}
	defer func() { _ = cuda.Destroy() }()
	if err := cuda.Update(d.providerOptions()); err != nil {
		return fmt.Errorf("cannot set CUDA provider options %v for %s: %w", d.providerOptions(), d, err)
	}
	if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
		return fmt.Errorf("cannot append the CUDA execution provider for %s: %w", d, err)
	}
	return nil
}

// cudaSupport is what the CUDA probe found; see probeCUDA.
type cudaSupport struct {
	probed bool
	// provider is the CUDA provider library found beside ONNX Runtime, or ""
	// when there is none (a CPU-only build).
	provider string
	// err is why the provider cannot be used; nil when it can.
	err error
}

// probeCUDA finds out whether the library loaded from lib (canonical: the
// same, symlinks resolved) can run sessions on CUDA. onnxruntime_go does not
// wrap OrtApi::GetAvailableProviders, and GetEpDevices lists only providers
// registered as plugins, which a CUDA build's provider is not. So the probe
// looks for the provider library beside ONNX Runtime, where ONNX Runtime
// loads it from, and only if it is there appends the CUDA provider to
// throw-away session options: that loads the provider and the CUDA, cuBLAS
// and cuDNN libraries it links (no device is touched), which fails when they
// are missing. A CPU-only build is thus recognised without asking ONNX
// Runtime anything, and without the error it would print. The caller holds
// global.mu and the environment is initialised.
func probeCUDA(lib, canonical string) cudaSupport {
	found := cudaSupport{probed: true}
	for _, dir := range []string{filepath.Dir(lib), filepath.Dir(canonical)} {
		p := filepath.Join(dir, cudaProviderLibrary)
		if _, err := os.Stat(p); err == nil {
			found.provider = p
			break
		}
	}
	if found.provider == "" {
		found.err = fmt.Errorf("no %s beside it", cudaProviderLibrary)
		return found
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		found.err = err
		return found
	}
	defer func() { _ = so.Destroy() }()
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		found.err = err
		return found
	}
	defer func() { _ = cuda.Destroy() }()
	found.err = so.AppendExecutionProviderCUDA(cuda)
	return found
}

// cuda probes the CUDA provider the first time it is asked about in the
// environment's lifetime, and returns what the probe found. A closed handle
// reports no CUDA: the environment may be gone.
func (e *Environment) cuda() cudaSupport {
	global.mu.Lock()
	defer global.mu.Unlock()
	if e.closed.Load() {
		return cudaSupport{probed: true, err: ErrClosed}
	}
	if !global.cuda.probed {
		global.cuda = probeCUDA(global.library, global.canonical)
	}
	return global.cuda
}

// HasCUDA reports whether the loaded ONNX Runtime library can run sessions on
// CUDA: it is a CUDA-enabled build and the CUDA libraries it needs load. It
// says nothing of GPUs being present or healthy; NVML does. The first call (or
// the first of Providers, or the first GPU session) loads the CUDA provider
// if the library has one, which can take a second; later calls are cheap.
func (e *Environment) HasCUDA() bool { return e.cuda().err == nil }

// requireCUDA returns nil when sessions can be placed on CUDA, else an
// ErrNoCUDA error that says what to do about it.
func (e *Environment) requireCUDA() error {
	c := e.cuda()
	switch {
	case c.err == nil:
		return nil
	case errors.Is(c.err, ErrClosed):
		return c.err
	case c.provider == "":
		return fmt.Errorf("%w: the ONNX Runtime library at %q (version %s) offers only %v; point runtime.library_path or %s at a CUDA-enabled build",
			ErrNoCUDA, e.library, e.version, e.baseProviders(), LibraryEnv)
	default:
		return fmt.Errorf("%w: the ONNX Runtime library at %q (version %s) has a CUDA provider (%s) that cannot be loaded: %w; install the CUDA and cuDNN versions that build was made for (on the loader path), or point runtime.library_path or %s at a build that matches the installed CUDA",
			ErrNoCUDA, e.library, e.version, c.provider, c.err, LibraryEnv)
	}
}

// baseProviders are the providers known without the CUDA probe.
func (e *Environment) baseProviders() []string { return slices.Clone(e.providers) }
