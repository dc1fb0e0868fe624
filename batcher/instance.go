package batcher

import "github.com/infergate/infergate/internal/tensor"

// Instance runs one batch at a time. Input, Run and Output are never called
// concurrently, but not always from the same goroutine: its worker's, or a
// caller's making a direct run (unless it is a ThreadPinner that pins).
// Close is called once, after the worker has stopped.
type Instance interface {
	// Input readies input i for a batch whose input i has shape and
	// returns the tensor the worker fills: its Data sized for the shape (its
	// Strings, for a string input), the instance's own memory.
	Input(i int, shape []int64) (*tensor.Tensor, error)
	// Run computes the batch written through Input.
	Run() error
	// Output returns output j of the last Run, valid until the next Run.
	Output(j int) *tensor.Tensor
	// Close releases the instance.
	Close() error
}

// HealthReporter is an optional capability of an Instance. Its worker asks
// Healthy before it takes the requests of a batch; while it reports false
// (the instance's GPU is unhealthy) the worker takes none, so the shared
// queue's requests go to the other instances (or, when none is healthy, wait
// and meet their deadlines, which the router's breaker sees), and it asks
// again every healthPoll. Healthy must be cheap: an atomic load.
type HealthReporter interface {
	Healthy() bool
}

// ThreadPinner is an optional capability of an Instance. When PinOSThread
// reports true, the instance's worker goroutine locks itself to its OS
// thread (runtime.LockOSThread) before the first Input and keeps it until it
// exits, as a CUDA session bound to one device wants.
type ThreadPinner interface {
	PinOSThread() bool
}
