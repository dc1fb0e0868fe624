package runtime

import "errors"

// Errors a caller may need to tell apart, checked with errors.Is. Every error
// the package returns wraps at most one of them, plus the underlying cause.
var (
	// ErrLibraryNotFound means no ONNX Runtime shared library exists where
	// FindLibrary looked.
	ErrLibraryNotFound = errors.New("ONNX Runtime library not found")

	// ErrLibraryLoad means the library exists but ONNX Runtime could not be
	// started from it (not a shared library, wrong architecture, an ABI that
	// onnxruntime_go does not support).
	ErrLibraryLoad = errors.New("cannot start ONNX Runtime")

	// ErrLibraryConflict means Open was asked for a library other than the one
	// the process already runs: onnxruntime_go keeps a single global
	// environment, so one process can hold only one library at a time.
	ErrLibraryConflict = errors.New("another ONNX Runtime library is already open")

	// ErrModelLoad means the model file is missing or ONNX Runtime rejected it.
	// A missing file also matches fs.ErrNotExist.
	ErrModelLoad = errors.New("cannot load model")

	// ErrUnsupportedModel means ONNX Runtime loaded the model but a Session
	// cannot exchange one of its inputs or outputs (a sequence or map, an
	// element type infergate lacks), or a shape given for it contradicts the
	// model; the message names the offending tensor.
	ErrUnsupportedModel = errors.New("unsupported model")

	// ErrBatchSize means Run was given a row count outside [1, MaxBatch]. It is
	// a caller bug, not a model failure, so a batcher should not count it
	// against the model's health.
	ErrBatchSize = errors.New("batch size out of range")

	// ErrClosed means the Environment handle, Session, NVML or Telemetry was
	// already closed.
	ErrClosed = errors.New("already closed")

	// ErrNoCUDA means a session was asked to run on a GPU but the loaded ONNX
	// Runtime library cannot use CUDA: it is a CPU-only build, or its CUDA
	// provider's libraries (CUDA, cuDNN) do not load. The message says which,
	// and how to fix it.
	ErrNoCUDA = errors.New("CUDA execution provider not available")

	// ErrNoNVML means NVML, the NVIDIA driver's management library, cannot be
	// used: libnvidia-ml is not installed (a machine without an NVIDIA GPU),
	// or it is but the driver is not loaded or does not match it. GPUs can
	// then be neither listed nor watched.
	ErrNoNVML = errors.New("NVML not available")
)

// ErrShape means a tensor given to a Session does not fit the model: the
// wrong rank, a dimension other than the one the model fixes, or inputs
// whose batch sizes disagree. Like ErrBatchSize, it is the caller's mistake.
var ErrShape = errors.New("tensor does not fit the model")
