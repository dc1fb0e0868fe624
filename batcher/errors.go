package batcher

import (
	"errors"
	"fmt"
)

// Errors returned by Do. Check them with errors.Is: the errors returned may
// wrap them with more context.
//
// ErrRejected is a class: a rejected request was never given to an instance,
// so it is safe to retry it elsewhere (the router's fallback chain). The
// members of the class are ErrQueueFull, ErrDeadlineExceeded (and
// ErrDeadlineUnreachable in it) and ErrClosed.
var (
	// ErrRejected is the class of requests that were not computed because of
	// load, time or shutdown.
	ErrRejected = errors.New("batcher: request rejected")

	// ErrQueueFull: the queue held max_queue_size requests. Do returns it
	// at once, without waiting for room.
	ErrQueueFull = fmt.Errorf("%w: queue is full", ErrRejected)

	// ErrDeadlineExceeded: the request's deadline passed before its batch
	// ran; it was never given to an instance. (A deadline that passes while
	// the batch computes gives ErrComputeTimeout.)
	ErrDeadlineExceeded = fmt.Errorf("%w: deadline exceeded before the request ran", ErrRejected)

	// ErrDeadlineUnreachable: the request's deadline is nearer than the
	// estimated wait for the rows queued ahead of it plus its own run, so
	// Do returns at once rather than queue it. It is an
	// ErrDeadlineExceeded: the router moves on to the next tier, now,
	// with the time the caller still has.
	ErrDeadlineUnreachable = fmt.Errorf("%w: the estimated queue wait and run end after the deadline", ErrDeadlineExceeded)

	// ErrClosed: the Batcher was closed before the request was queued.
	ErrClosed = fmt.Errorf("%w: batcher is closed", ErrRejected)
)

// ErrComputeTimeout: the request's deadline passed while its batch was
// computing; the caller stopped waiting and the answer, when the instance
// produces it, is dropped. It is not in the ErrRejected class: the model did
// (or does) the work, so a retry elsewhere is extra load, not a free second
// chance.
var ErrComputeTimeout = errors.New("batcher: deadline exceeded while the model computed the request")

// ErrModelFailed is the class of errors from an instance: the batch ran and
// failed (or the instance broke its contract). Every request of the batch
// gets an error that matches ErrModelFailed and wraps the instance's error.
var ErrModelFailed = errors.New("batcher: model failed")

// ErrShape: Do was given tensors that do not fit the model (their number,
// element types, shapes or sizes); the message names the input. It is the
// caller's mistake, reported as an error; it is not in the ErrRejected
// class because retrying the same request cannot succeed.
var ErrShape = errors.New("batcher: request does not fit the model")
