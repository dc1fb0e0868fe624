package runtime

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	ort "github.com/yalue/onnxruntime_go"
)

// global is the process's one ONNX Runtime environment. onnxruntime_go keeps
// its OrtEnv and the loaded library in package variables, so there is nothing
// to hold per Environment value: handles and sessions only count references
// here, and the last release tears the environment down.
var global struct {
	mu        sync.Mutex
	refs      int    // open Environment handles plus open Sessions
	library   string // the path as FindLibrary returned it
	canonical string // library with symlinks resolved, to compare Opens
	version   string
	providers []string
	cuda      cudaSupport // probed on first use: see probeCUDA
}

// Environment is a handle to the process's ONNX Runtime environment. Its
// methods are safe for concurrent use.
type Environment struct {
	cfg       Config // defaults applied; session options fall back to it
	library   string
	version   string
	providers []string
	closed    atomic.Bool
}

// Open initialises the process's ONNX Runtime environment, or joins it if it
// is already open with the same library (compared after resolving symlinks);
// asking for a different library fails with ErrLibraryConflict. Each handle
// must be closed; the environment lives until the last handle and the last
// Session made from any handle are closed, so closing a handle never pulls
// ONNX Runtime from under a running session.
//
// The thread settings of cfg belong to the handle: two handles may give their
// sessions different defaults.
func Open(cfg Config) (*Environment, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lib, err := FindLibrary(cfg.LibraryPath)
	if err != nil {
		return nil, err
	}
	canonical := canonicalPath(lib)

	global.mu.Lock()
	defer global.mu.Unlock()
	if global.refs > 0 {
		if canonical != global.canonical {
			return nil, fmt.Errorf("runtime: %w: this process runs %q and cannot also load %q; use one runtime.library_path for every model",
				ErrLibraryConflict, global.library, lib)
		}
	} else if err := initialize(lib); err != nil {
		return nil, err
	}
	global.refs++
	if global.refs == 1 {
		global.library, global.canonical = lib, canonical
	}
	cfg.LibraryPath = global.library
	return &Environment{
		cfg:       cfg,
		library:   global.library,
		version:   global.version,
		providers: global.providers,
	}, nil
}

// initialize starts ONNX Runtime from lib. The caller holds global.mu.
func initialize(lib string) error {
	if ort.IsInitialized() {
		// Someone in this process called onnxruntime_go directly; sharing an
		// environment we did not create would let either side destroy it
		// under the other.
		return fmt.Errorf("runtime: %w: onnxruntime_go was initialised outside package runtime", ErrLibraryConflict)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		return fmt.Errorf("runtime: %w from %q: %w; check that it is an ONNX Runtime %s build for this platform, or %s",
			ErrLibraryLoad, lib, err, LibraryVersion, setupHint)
	}
	global.version = ort.GetVersion()
	global.providers = listProviders()
	return nil
}

// release drops one reference and destroys the environment with the last.
func release() error {
	global.mu.Lock()
	defer global.mu.Unlock()
	if global.refs <= 0 {
		panic("BUG: runtime: environment released more often than acquired")
	}
	global.refs--
	if global.refs > 0 {
		return nil
	}
	global.library, global.canonical, global.version, global.providers = "", "", "", nil
	global.cuda = cudaSupport{}
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("runtime: cannot shut down ONNX Runtime: %w", err)
	}
	return nil
}

// canonicalPath makes two spellings of one file compare equal. A path that
// cannot be resolved is compared as written: FindLibrary has just seen the
// file, so this only loses precision, never correctness.
func canonicalPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if resolved, err := filepath.EvalSymlinks(p); err == nil {
		p = resolved
	}
	return p
}

// Close releases this handle. Closing a handle twice is a no-op.
func (e *Environment) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	return release()
}

// Version is the release of the loaded ONNX Runtime library, e.g. "1.30.0".
func (e *Environment) Version() string { return e.version }

// LibraryPath is the shared library the environment was loaded from.
func (e *Environment) LibraryPath() string { return e.library }

// Providers lists the execution providers the loaded library offers, e.g.
// ["CPUExecutionProvider"], or ["CUDAExecutionProvider",
// "CPUExecutionProvider"] when HasCUDA, in ONNX Runtime's order of
// preference. Like HasCUDA, it probes the CUDA provider on first use. The
// returned slice is a copy.
func (e *Environment) Providers() []string {
	p := e.baseProviders()
	if e.HasCUDA() && !slices.Contains(p, CUDAExecutionProvider) {
		p = slices.Insert(p, 0, CUDAExecutionProvider)
	}
	return p
}

// listProviders asks ONNX Runtime which execution providers it can place work
// on. onnxruntime_go does not wrap OrtApi::GetAvailableProviders; its nearest
// equivalent is GetEpDevices (ORT >= 1.22), which lists (provider, device)
// pairs registered with the environment. A CPU build reports the CPU provider
// there; a provider compiled in but not surfaced as a device, like a CUDA
// build's, is missed, which is why probeCUDA finds CUDA by appending it to
// session options rather than trusting this list. If the call fails or
// returns nothing, the CPU provider is reported alone because ONNX Runtime
// always has it.
func listProviders() []string {
	devices, err := ort.GetEpDevices()
	var names []string
	if err == nil {
		for _, d := range devices {
			if n := d.EpName(); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		names = []string{CPUExecutionProvider}
	}
	return names
}
