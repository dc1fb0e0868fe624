package runtime

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDeviceValidate(t *testing.T) {
	t.Parallel()
	f := func(d Device, want ...string) {
		t.Helper()
		err := d.Validate()
		if len(want) == 0 {
			if err != nil {
				t.Errorf("Validate(%+v) = %q, want nil", d, err)
			}
			return
		}
		if err == nil {
			t.Fatalf("Validate(%+v) = nil, want %q", d, want)
		}
		if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
			t.Errorf("Validate(%+v):\n got %q\nwant %q", d, got, want)
		}
	}
	yes := true
	f(Device{})
	f(Device{Kind: DeviceCPU})
	// A cpu device ignores what applies to GPUs, so a fallback changes Kind only.
	f(Device{Kind: DeviceCPU, ID: -1, CUDA: CUDAOptions{CudnnConvAlgoSearch: "FAST"}})
	f(Device{Kind: DeviceGPU})
	f(Device{Kind: DeviceGPU, ID: 3, CUDA: CUDAOptions{
		GPUMemLimit: 1 << 30, ArenaExtendStrategy: ArenaSameAsRequested,
		CudnnConvAlgoSearch: ConvAlgoHeuristic, CopyInDefaultStream: &yes,
	}})
	f(Device{Kind: "tpu"}, `kind: "tpu" is not cpu or gpu`)
	f(Device{Kind: "GPU"}, `kind: "GPU" is not cpu or gpu`)
	f(Device{Kind: DeviceGPU, CUDA: CUDAOptions{CudnnConvAlgoSearch: "FAST"}},
		`cuda.cudnn_conv_algo_search: "FAST" is not EXHAUSTIVE, HEURISTIC or DEFAULT`)
	f(Device{Kind: DeviceGPU, ID: -1, CUDA: CUDAOptions{GPUMemLimit: -5, ArenaExtendStrategy: "grow"}},
		"id: must not be negative, got -1",
		"cuda.gpu_mem_limit: must not be negative, got -5",
		`cuda.arena_extend_strategy: "grow" is not kNextPowerOfTwo or kSameAsRequested`)
}

func TestCUDAOptionsValidateNamesFieldsByYAMLKey(t *testing.T) {
	t.Parallel()
	err := CUDAOptions{CudnnConvAlgoSearch: "heuristic"}.Validate()
	want := `cudnn_conv_algo_search: "heuristic" is not EXHAUSTIVE, HEURISTIC or DEFAULT`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}

// TestProviderOptions checks the key-value pairs handed to ONNX Runtime (its
// own names, from cuda_execution_provider_info.cc): a CPU-only library
// cannot check them, since it refuses every update.
func TestProviderOptions(t *testing.T) {
	t.Parallel()
	f := func(d Device, want map[string]string) {
		t.Helper()
		if got := d.providerOptions(); !maps.Equal(got, want) {
			t.Errorf("providerOptions(%+v) = %v, want %v", d, got, want)
		}
	}
	yes, no := true, false
	f(Device{Kind: DeviceGPU}, map[string]string{"device_id": "0"})
	f(Device{Kind: DeviceGPU, ID: 2, CUDA: CUDAOptions{
		GPUMemLimit: 2 << 30, ArenaExtendStrategy: ArenaSameAsRequested,
		CudnnConvAlgoSearch: ConvAlgoDefault, CopyInDefaultStream: &no,
	}}, map[string]string{
		"device_id": "2", "gpu_mem_limit": "2147483648", "arena_extend_strategy": "kSameAsRequested",
		"cudnn_conv_algo_search": "DEFAULT", "do_copy_in_default_stream": "0",
	})
	f(Device{Kind: DeviceGPU, ID: 1, CUDA: CUDAOptions{CopyInDefaultStream: &yes}},
		map[string]string{"device_id": "1", "do_copy_in_default_stream": "1"})
}

// TestGPUSessionWithoutCUDA runs against the CPU-only library `make setup`
// installs: a GPU session fails with ErrNoCUDA and says what to do, and the
// CPU still works.
func TestGPUSessionWithoutCUDA(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	if e.HasCUDA() {
		t.Skipf("the ONNX Runtime library at %s has CUDA (providers %v); this test needs a CPU-only build", e.LibraryPath(), e.Providers())
	}
	if p := e.Providers(); slices.Contains(p, CUDAExecutionProvider) {
		t.Errorf("Providers() = %v lists CUDA, but HasCUDA is false", p)
	}
	model := newLogistic(4, 3).model(t)

	_, err := e.NewSession(model, SessionOptions{MaxBatch: 4, Device: Device{Kind: DeviceGPU, ID: 1}})
	if !errors.Is(err, ErrNoCUDA) {
		t.Fatalf("NewSession on gpu 1: got %v, want ErrNoCUDA", err)
	}
	t.Log(err)
	for _, part := range []string{
		model, "gpu 1", e.LibraryPath(), "version " + e.Version(), "offers only [CPUExecutionProvider]",
		"runtime.library_path", LibraryEnv, "CUDA-enabled build",
	} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}

	// Invalid options are reported before CUDA is looked at.
	_, err = e.NewSession(model, SessionOptions{MaxBatch: 4, Device: Device{Kind: DeviceGPU, CUDA: CUDAOptions{CudnnConvAlgoSearch: "FAST"}}})
	if err == nil || errors.Is(err, ErrNoCUDA) || !strings.Contains(err.Error(), `Device.cuda.cudnn_conv_algo_search: "FAST"`) {
		t.Errorf("NewSession with an invalid CUDA option: got %v", err)
	}

	f := func(d Device) {
		t.Helper()
		s := testSession(t, e, model, SessionOptions{MaxBatch: 4, Device: d})
		if got := s.Device(); got != (Device{Kind: DeviceCPU}) {
			t.Errorf("Device() of a session placed on %+v = %+v, want cpu", d, got)
		}
		copy(floatRows(t, s, 1)[0], []float32{0.5, -1, 2})
		if err := s.Run(); err != nil {
			t.Errorf("Run on %+v: %s", d, err)
		}
	}
	f(Device{})
	f(Device{Kind: DeviceCPU, ID: -1, CUDA: CUDAOptions{GPUMemLimit: 1 << 20}}) // a GPU instance fallen back to the CPU
}

// TestCUDAProviderThatDoesNotLoad puts a file named like the CUDA provider
// beside the library, as a CUDA build whose CUDA libraries are missing would
// have: the probe tries it, ONNX Runtime fails to load it, and the error says
// so rather than asking for a CUDA build. It opens its own environment from
// a symlink in a temporary folder, so it must not run beside other tests.
func TestCUDAProviderThatDoesNotLoad(t *testing.T) {
	lib, err := FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := filepath.Join(dir, libraryFile)
	if err := os.Symlink(canonicalPath(lib), link); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(dir, cudaProviderLibrary))
	e, err := Open(Config{LibraryPath: link})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	if e.LibraryPath() != link {
		t.Fatalf("another environment is open (%s): this test must run alone", e.LibraryPath())
	}
	if e.HasCUDA() {
		t.Fatal("HasCUDA with a provider library that is not one")
	}
	_, err = e.NewSession(newLogistic(1, 3).model(t), SessionOptions{MaxBatch: 1, Device: Device{Kind: DeviceGPU}})
	if !errors.Is(err, ErrNoCUDA) {
		t.Fatalf("NewSession on gpu 0: got %v, want ErrNoCUDA", err)
	}
	t.Log(err)
	for _, part := range []string{filepath.Join(dir, cudaProviderLibrary), "cannot be loaded", "cuDNN"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e.HasCUDA() {
		t.Error("HasCUDA on a closed handle")
	}
}
