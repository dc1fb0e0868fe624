package runtime

import ort "github.com/yalue/onnxruntime_go"

// CPUExecutionProvider is ONNX Runtime's name for its built-in CPU provider.
const CPUExecutionProvider = "CPUExecutionProvider"

// configureProvider is the one place that decides where a session's kernels
// run. Today every session runs on the CPU provider, which ONNX Runtime uses
// when no other provider is appended, so there is nothing to do.
//
// The CUDA issue fills this seam: SessionOptions gains a device field (kind
// and device id, set by the batcher from the model's instance group), this
// function appends the CUDA provider for that device
// (ort.NewCUDAProviderOptions with "device_id", then
// AppendExecutionProviderCUDA) and reports a clear error when the library is
// a CPU-only build, and the per-batch-size IoBindings in session.go bind
// outputs to device memory where that pays. Nothing outside this function and
// SessionOptions needs to change.
func configureProvider(_ *ort.SessionOptions, _ SessionOptions) error {
	return nil
}
