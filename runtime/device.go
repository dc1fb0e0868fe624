package runtime

import (
	"errors"
	"fmt"
	"strconv"
)

// Device kinds: where a session's kernels run.
const (
	DeviceCPU = "cpu"
	DeviceGPU = "gpu"
)

// Values ONNX Runtime's CUDA provider accepts for CUDAOptions.
const (
	ArenaNextPowerOfTwo  = "kNextPowerOfTwo"
	ArenaSameAsRequested = "kSameAsRequested"

	ConvAlgoExhaustive = "EXHAUSTIVE"
	ConvAlgoHeuristic  = "HEURISTIC"
	ConvAlgoDefault    = "DEFAULT"
)

// Device is where one session runs. The zero value is the CPU.
type Device struct {
	// Kind is DeviceCPU ("cpu", also the empty string) or DeviceGPU ("gpu").
	Kind string
	// ID is the CUDA device ordinal of a gpu device, as CUDA numbers the
	// devices this process sees (CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER
	// apply). It is ignored on the cpu, as CUDA is, so that falling back to
	// the CPU only means changing Kind.
	ID int
	// CUDA tunes ONNX Runtime's CUDA execution provider on a gpu device.
	CUDA CUDAOptions
}

// IsGPU reports whether d is a GPU.
func (d Device) IsGPU() bool { return d.Kind == DeviceGPU }

// String is "cpu" or "gpu N".
func (d Device) String() string {
	if d.IsGPU() {
		return "gpu " + strconv.Itoa(d.ID)
	}
	return DeviceCPU
}

// Validate reports every invalid field at once, each prefixed with its path
// (kind, id, cuda.gpu_mem_limit…). The ID and CUDA options of a cpu device are
// not checked: they are ignored there.
func (d Device) Validate() error {
	switch d.Kind {
	case "", DeviceCPU:
		return nil
	case DeviceGPU:
	default:
		return fmt.Errorf("kind: %q is not %s or %s", d.Kind, DeviceCPU, DeviceGPU)
	}
	var errs []error
	if d.ID < 0 {
		errs = append(errs, fmt.Errorf("id: must not be negative, got %d", d.ID))
	}
	if err := d.CUDA.Validate(); err != nil {
		errs = append(errs, prefixErrors("cuda.", err))
	}
	return errors.Join(errs...)
}

// placed is d as a session reports it: the kind spelled out, and nothing
// that does not apply to the kind.
func (d Device) placed() Device {
	if d.IsGPU() {
		return d
	}
	return Device{Kind: DeviceCPU}
}

// CUDAOptions are the settings of ONNX Runtime's CUDA execution provider that
// a deployment may need to change, with ONNX Runtime's names. The zero value
// of each field keeps ONNX Runtime's default.
type CUDAOptions struct {
	// GPUMemLimit caps the provider's memory arena on the device, in bytes.
	// The device's total use can be somewhat higher (cuDNN and cuBLAS
	// workspaces live outside the arena). Default 0: no limit.
	GPUMemLimit int64 `yaml:"gpu_mem_limit"`

	// ArenaExtendStrategy is how the arena grows: kNextPowerOfTwo (fewer,
	// larger allocations) or kSameAsRequested (exactly what is asked, for
	// sharing a device tightly). Default "": ONNX Runtime's, kNextPowerOfTwo.
	ArenaExtendStrategy string `yaml:"arena_extend_strategy"`

	// CudnnConvAlgoSearch is how cuDNN picks convolution algorithms:
	// EXHAUSTIVE (benchmark them all on first use), HEURISTIC or DEFAULT.
	// Default "": ONNX Runtime's, EXHAUSTIVE. It matters only for models
	// with convolutions.
	CudnnConvAlgoSearch string `yaml:"cudnn_conv_algo_search"`

	// CopyInDefaultStream makes host-device copies use the compute stream
	// (true) or streams of their own (false). Default nil: ONNX Runtime's,
	// true.
	CopyInDefaultStream *bool `yaml:"do_copy_in_default_stream"`
}

// Validate reports every invalid field at once, each named by its YAML key
// (cudnn_conv_algo_search: "FAST" is not …). A caller that embeds the options
// in its configuration prefixes the section's path.
func (o CUDAOptions) Validate() error {
	var errs []error
	if o.GPUMemLimit < 0 {
		errs = append(errs, fmt.Errorf("gpu_mem_limit: must not be negative, got %d", o.GPUMemLimit))
	}
	switch o.ArenaExtendStrategy {
	case "", ArenaNextPowerOfTwo, ArenaSameAsRequested:
	default:
		errs = append(errs, fmt.Errorf("arena_extend_strategy: %q is not %s or %s",
			o.ArenaExtendStrategy, ArenaNextPowerOfTwo, ArenaSameAsRequested))
	}
	switch o.CudnnConvAlgoSearch {
	case "", ConvAlgoExhaustive, ConvAlgoHeuristic, ConvAlgoDefault:
	default:
		errs = append(errs, fmt.Errorf("cudnn_conv_algo_search: %q is not %s, %s or %s",
			o.CudnnConvAlgoSearch, ConvAlgoExhaustive, ConvAlgoHeuristic, ConvAlgoDefault))
	}
	return errors.Join(errs...)
}

// providerOptions are the key-value pairs handed to ONNX Runtime's
// UpdateCUDAProviderOptions for device d (names as in ONNX Runtime's
// cuda_execution_provider_info.cc). Unset fields are left out so that ONNX
// Runtime's defaults apply.
func (d Device) providerOptions() map[string]string {
	m := map[string]string{"device_id": strconv.Itoa(d.ID)}
	o := d.CUDA
	if o.GPUMemLimit > 0 {
		m["gpu_mem_limit"] = strconv.FormatInt(o.GPUMemLimit, 10)
	}
	if o.ArenaExtendStrategy != "" {
		m["arena_extend_strategy"] = o.ArenaExtendStrategy
	}
	if o.CudnnConvAlgoSearch != "" {
		m["cudnn_conv_algo_search"] = o.CudnnConvAlgoSearch
	}
	if o.CopyInDefaultStream != nil {
		// ONNX Runtime parses booleans as 0 or 1.
		m["do_copy_in_default_stream"] = "0"
		if *o.CopyInDefaultStream {
			m["do_copy_in_default_stream"] = "1"
		}
	}
	return m
}

// prefixErrors prefixes every error joined in err with prefix, keeping them
// separate so that each still reads as "path: problem".
func prefixErrors(prefix string, err error) error {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return fmt.Errorf("%s%w", prefix, err)
	}
	errs := joined.Unwrap()
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s%w", prefix, e)
	}
	return errors.Join(out...)
}
