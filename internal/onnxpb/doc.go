// Package onnxpb writes ONNX model files (the ModelProto protobuf) without
// generated code or the onnx Go bindings.
//
// The project makes every model it serves in tests and demos itself: the
// trainer exports logistic regressions and small MLPs, and tests build tiny
// graphs to exercise the runtime. Those graphs need a handful of operators
// (Gemm, MatMul, Add, Relu, Sigmoid, Softmax), so a direct encoder of the few
// ONNX messages involved is smaller and easier to audit than a dependency on
// the full ONNX schema.
//
// Output is deterministic: the same Model value always encodes to the same
// bytes (fields are written in a fixed order, floats as little-endian raw
// data), which lets the trainer promise byte-identical exports for the same
// data and seed.
package onnxpb
