package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/infergate/infergate/internal/defaults"
)

// Defaults applied by Config.ApplyDefaults.
//
// One thread per session is the default because the gateway scales by running
// several sessions (model instances) side by side, each driven by its own
// batcher worker; ORT thread pools inside every instance would fight those
// workers for the same cores. Raise them for a single large model.
const (
	DefaultIntraOpThreads = 1
	DefaultInterOpThreads = 1
)

// LibraryVersion is the ONNX Runtime release scripts/install-ort.sh installs
// and the tests run against. A user-supplied library (a CUDA build, say) may
// be another release; Environment.Version reports what was actually loaded.
const LibraryVersion = "1.30.0"

// LibraryEnv is the environment variable that overrides the default library
// location when the configuration does not name one.
const LibraryEnv = "INFERGATE_ORT_LIB"

// libraryFile is the file name the install script writes.
const libraryFile = "libonnxruntime.so.1"

// setupHint ends every library error, so the reader learns how to fix it.
const setupHint = "run `make setup` to install ONNX Runtime, or set " + LibraryEnv + " / runtime.library_path"

// Config is the `runtime` section of the infergate configuration.
type Config struct {
	// LibraryPath is the ONNX Runtime shared library. Default "": the
	// INFERGATE_ORT_LIB environment variable, then the project's install
	// folder ($XDG_CACHE_HOME/infergate/onnxruntime-1.30.0/libonnxruntime.so.1,
	// else ~/.cache/infergate/...). Point it at a CUDA-enabled build to use GPUs.
	LibraryPath string `yaml:"library_path"`

	// IntraOpThreads is the number of threads one session uses inside an
	// operator (default 1).
	IntraOpThreads int `yaml:"intra_op_threads"`

	// InterOpThreads is the number of threads one session uses to run
	// independent operators in parallel (default 1).
	InterOpThreads int `yaml:"inter_op_threads"`

	// GPUTelemetryInterval is how often serve samples the GPUs through
	// NVML (memory, utilization, temperature, power, health), when NVML is
	// there. Default 5s.
	GPUTelemetryInterval time.Duration `yaml:"gpu_telemetry_interval"`
}

// ApplyDefaults fills the zero fields with their documented defaults.
// LibraryPath stays empty: it is resolved at Open, so that an environment
// variable set after the configuration was loaded still counts.
func (c *Config) ApplyDefaults() {
	defaults.Set(&c.IntraOpThreads, DefaultIntraOpThreads)
	defaults.Set(&c.InterOpThreads, DefaultInterOpThreads)
	defaults.Set(&c.GPUTelemetryInterval, DefaultTelemetryInterval)
}

// Validate reports every invalid field at once, each prefixed with its path in
// the configuration file. Call it after ApplyDefaults.
func (c *Config) Validate() error {
	var errs []error
	if c.IntraOpThreads < 1 {
		errs = append(errs, fmt.Errorf("runtime.intra_op_threads: must be >= 1, got %d", c.IntraOpThreads))
	}
	if c.InterOpThreads < 1 {
		errs = append(errs, fmt.Errorf("runtime.inter_op_threads: must be >= 1, got %d", c.InterOpThreads))
	}
	if c.GPUTelemetryInterval < 0 {
		errs = append(errs, fmt.Errorf("runtime.gpu_telemetry_interval: must be positive, got %s", c.GPUTelemetryInterval))
	}
	if strings.ContainsRune(c.LibraryPath, 0) {
		errs = append(errs, errors.New("runtime.library_path: must not contain a NUL byte"))
	}
	return errors.Join(errs...)
}

// DefaultLibraryPath is where scripts/install-ort.sh puts the library. It
// follows the script's rule exactly ($XDG_CACHE_HOME if set, else
// ~/.cache, on every OS) rather than os.UserCacheDir, which differs on macOS:
// the two must agree or a fresh clone would not find what `make setup` put
// there. It returns "" when neither $XDG_CACHE_HOME nor the home folder is known.
func DefaultLibraryPath() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "infergate", "onnxruntime-"+LibraryVersion, libraryFile)
}

// FindLibrary resolves the ONNX Runtime library: configured if non-empty,
// else $INFERGATE_ORT_LIB if set, else DefaultLibraryPath(). The first source
// that is set decides; a set source that points nowhere is an error rather
// than a silent fall-through, so a typo in the configuration cannot end up
// running another library than the one the user named.
func FindLibrary(configured string) (string, error) {
	var source, path string
	switch {
	case configured != "":
		source, path = "runtime.library_path", configured
	case os.Getenv(LibraryEnv) != "":
		source, path = "$"+LibraryEnv, os.Getenv(LibraryEnv)
	default:
		source, path = "the default install folder", DefaultLibraryPath()
		if path == "" {
			return "", fmt.Errorf("runtime: %w: tried the default install folder, but neither $XDG_CACHE_HOME nor $HOME is set; %s",
				ErrLibraryNotFound, setupHint)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("runtime: %w: tried %s %q: %w; %s", ErrLibraryNotFound, source, path, err, setupHint)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("runtime: %w: tried %s %q: is a directory, not the library file; %s",
			ErrLibraryNotFound, source, path, setupHint)
	}
	return path, nil
}
