// Package tensor is the vocabulary every stage of a prediction shares: a
// named n-dimensional array of one element type, its bytes laid out as ONNX
// Runtime reads them (row-major, the machine's little-endian order).
//
// A codec decodes a request into Tensors, the batcher concatenates them
// along the first dimension, the runtime hands their bytes to ONNX Runtime,
// and the outputs come back the same way. Nothing here copies unless it says
// so: the views (Float32s, BytesOf) reinterpret memory in place, which is
// why infergate builds for little-endian machines only (amd64, arm64).
//
// The package knows nothing of models; the element types are ONNX's, with
// the Open Inference Protocol's names beside the Go ones (DType.V2),
// because both ends of the pipeline speak one or the other. For the same
// reason wire.go holds the protocol's binary tensor layout and a tensor's
// v2 JSON head, which the gateway's v2 codec and the router's v2 remote
// client both write.
package tensor
