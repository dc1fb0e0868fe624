// Package runtime runs ONNX models through ONNX Runtime (via
// github.com/yalue/onnxruntime_go): it finds and loads the shared library,
// owns the process's one ONNX Runtime environment, loads models into
// sessions, and keeps each session's tensors ready so that serving a batch
// costs one call into ONNX Runtime and no Go allocation. It places sessions
// on the CPU or on a GPU through ONNX Runtime's CUDA provider, and lists and
// watches the machine's GPUs through NVML. It knows nothing of batching,
// routing or HTTP; package batcher drives it. (The name shadows the
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
// NewSession accepts any model whose inputs and outputs are tensors of an
// element type package internal/tensor names (float32, float16, bfloat16,
// float64, int8 to int64, uint8 to uint64, bool, string), of any rank,
// scalars included, with fixed, dynamic or symbolic dimensions; anything else
// (a sequence or map, complex or 8-bit floats, a string or half-precision
// scalar, which onnxruntime_go cannot make) is ErrUnsupportedModel naming the
// tensor. SessionOptions.Shapes narrows dynamic dimensions as a signature
// says (PaddleOCR's classifier declares x [-1,3,-1,-1] and is fed
// [-1,3,48,192]). A model is Batchable when every input and output has a
// dynamic first dimension: then Input takes 1 to MaxBatch rows; any other
// model (openWakeWord's [1,25,96], or one whose signature sets NoBatch) runs
// whatever shape fits it, one request at a time.
//
// The worker gives each input's shape to Input, writes the elements into the
// tensor it returns (the session's own buffer, which only grows), calls Run
// and reads each Output. Most models run through an IoBinding: when no tensor
// is a string or a scalar and every output's shape follows from the inputs'
// (fixed, or the batch), the session binds ONNX Runtime tensors over its
// buffers, once per set of input shapes, and caches the binding (at most 64,
// oldest dropped). A steady shape therefore allocates nothing per Run, and
// the output lands directly in the Go memory Output returns. Other models
// (outputs whose size only the run tells, strings, scalars) run through
// DynamicAdvancedSession.Run with values made for that run; ONNX Runtime
// allocates the outputs whose shapes are unknown, and they are copied into
// the session's buffers. Warm-up at load runs zeros at batch 1 and MaxBatch
// (once, for a model that does not batch) when every dimension but the batch
// is known, paying ONNX Runtime's first-run costs before any request does.
// Inspect reads a model's inputs and outputs without a session, for
// `registry import`.
//
// # Concurrency model
//
// Open, Environment.Close and every Environment method are safe for
// concurrent use, as are NVML, StaticInventory and Telemetry. A Session is
// not: exactly one goroutine (the batcher worker that owns the model
// instance) may call Input, Run, Output and Close, and the tensors Input and
// Output return are that goroutine's until its next Run.
// Parallelism comes from running several sessions (instances) of a model,
// each with its own worker, not from sharing one; this is also why the
// default ONNX Runtime thread pools are one thread per session. Sessions on
// the CPU need no OS-thread locking; the worker driving a GPU session locks
// itself to its OS thread. NVML's XID watcher and Telemetry's sampler are
// the package's only goroutines, each stopped and waited for by its Close.
//
// # Devices
//
// SessionOptions.Device places a session: the zero Device is the CPU, and
// Device{Kind: "gpu", ID: n} is CUDA device n, through ONNX Runtime's CUDA
// execution provider (configureProvider in provider.go, the one place that
// appends it), tuned by Device.CUDA (arena limit and growth, cuDNN
// convolution search, copy stream; ONNX Runtime's defaults where unset).
// ONNX Runtime still runs the operators CUDA lacks on the CPU. A session
// reports where it runs with Session.Device. Inputs and outputs stay in the
// session's Go buffers, so a GPU session copies them to and from the device
// on every Run; Run allocates nothing either way.
//
// The library installed by `make setup` is a CPU-only build. Whether the
// loaded one can use CUDA is Environment.HasCUDA: a CUDA build ships
// libonnxruntime_providers_cuda.so beside libonnxruntime.so, and the first
// time HasCUDA, Providers or a GPU session asks, the package appends the CUDA
// provider to throw-away session options, which loads it and the CUDA and
// cuDNN libraries it needs (no device is touched). Without it, NewSession on
// a GPU fails with ErrNoCUDA before reading the model, naming the library and
// what to do: point runtime.library_path or INFERGATE_ORT_LIB at a
// CUDA-enabled build, or install the CUDA libraries it was built for. The
// package never falls back to the CPU by itself; the batcher decides that,
// by policy and loudly. It also locks each GPU worker to its OS thread.
// onnxruntime_go warns that loading CUDA may replace Go's signal handlers
// (yalue/onnxruntime_go#140).
//
// The GPUs themselves are NVML's business. OpenNVML loads libnvidia-ml at run
// time, so the gateway builds and runs on machines without it, where
// OpenNVML returns ErrNoNVML. go-nvml achieves this by linking with its NVML
// symbols left undefined and resolved lazily: a binary linked with
// -Wl,-z,now (BIND_NOW, "full RELRO") resolves them at start and will not
// start without the library, so do not add that flag. NVML.Devices reads each
// device's name, UUID, memory, utilization, temperature, power and
// uncorrected ECC count into a DeviceInfo, and judges its health: a query that
// should work and fails, less than 1% of memory free, or a critical XID error
// since OpenNVML (counted by a goroutine that waits on NVML's event set;
// application XIDs such as 13 and 31 are counted but not held against the
// device) make it unhealthy, with the reason in Problem. Fields a device does
// not report are 0. Devices are numbered as NVML numbers them (PCI bus
// order), which is CUDA's ordinal only with CUDA_DEVICE_ORDER=PCI_BUS_ID.
//
// Inventory is what NVML, StaticInventory (tests, machines without GPUs) and
// any other source of DeviceInfo implement. Telemetry samples an Inventory
// every few seconds on its own goroutine and publishes each sample with one
// atomic store: Healthy(index), one atomic load with no allocation, is what a
// batcher worker asks before each batch, Latest is the sample itself, and
// RegisterMetrics exports it as infergate_gpu_* series. A failed sample keeps
// the previous one and is counted (infergate_gpu_telemetry_errors_total);
// each distinct failure and each change of a device's health is logged once.
package runtime
