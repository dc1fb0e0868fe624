// Package runtime runs ONNX models through ONNX Runtime (via
// github.com/yalue/onnxruntime_go): it finds and loads the shared library,
// owns the process's one ONNX Runtime environment, loads models into
// sessions, and keeps each session's tensors ready so that serving a batch
// costs one call into ONNX Runtime and no Go allocation. It knows nothing of
// batching, routing or HTTP; package batcher drives it. (The name shadows the
// standard library's runtime; import that one as goruntime where both are
// needed.)
//
// # Library discovery
//
// ONNX Runtime is a C++ shared library loaded at run time, not a Go module.
// FindLibrary takes the first of these that is set:
//
//  1. runtime.library_path in the configuration (Config.LibraryPath);
//  2. the INFERGATE_ORT_LIB environment variable;
//  3. DefaultLibraryPath(): $XDG_CACHE_HOME/infergate/onnxruntime-1.30.0/libonnxruntime.so.1,
//     or ~/.cache/infergate/... when XDG_CACHE_HOME is unset, which is where
//     `make setup` (scripts/install-ort.sh) installs the pinned CPU build.
//
// A source that is set but names no file is an error that says what was
// tried and how to fix it (ErrLibraryNotFound); it does not fall through to
// the next source, so the library that runs is always the one the user named.
//
// # Environment
//
// onnxruntime_go keeps one global ONNX Runtime environment per process, so
// Open is reference counted: every Open with the same library returns a new
// handle onto that environment, an Open with another library fails with
// ErrLibraryConflict, and the environment is destroyed when the last handle
// and the last Session are closed. A Session holds its own reference, so
// closing handles in any order never unloads ONNX Runtime under a running
// model.
//
// # Sessions and tensors
//
// NewSession accepts models whose inputs and outputs are all float32 tensors
// with the batch as first dimension (dynamic, or fixed at MaxBatch) and fixed
// other dimensions; anything else is ErrUnsupportedModel naming the tensor.
// At load it allocates, per input and per output, one []float32 of MaxBatch
// rows. Run(rows) views the first rows rows of each as ONNX Runtime tensors,
// bound to the session with an IoBinding; those tensors and bindings are made
// the first time a batch size is seen and cached by batch size. A worker that
// sees a steady batch size therefore allocates nothing per Run, and the
// output lands directly in the Go slice that Output returns. Warm-up at load
// creates the tensors for batch 1 and MaxBatch and pays ONNX Runtime's
// first-run costs before any request does.
//
// # Concurrency model
//
// Open, Environment.Close and every Environment method are safe for
// concurrent use. A Session is not: exactly one goroutine (the batcher worker
// that owns the model instance) may call Input, Run, Output and Close, and
// the slices Input and Output return are that goroutine's until its next Run.
// Parallelism comes from running several sessions (instances) of a model,
// each with its own worker, not from sharing one; this is also why the
// default ONNX Runtime thread pools are one thread per session. Sessions on
// the CPU need no OS-thread locking.
//
// # Execution providers and the CUDA seam
//
// Today every session runs on ONNX Runtime's CPU execution provider.
// Environment.Providers reports what the loaded library offers. GPU support
// arrives in a later issue and touches two places only: SessionOptions gains
// the device an instance is pinned to, and configureProvider (provider.go)
// appends the CUDA execution provider for that device id, failing clearly on
// a CPU-only library. The batcher, not this package, locks a GPU worker to
// its OS thread. The IoBinding used for every Run is the hook through which
// a GPU session can later keep its tensors in device memory.
package runtime
