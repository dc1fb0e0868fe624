// Package batcher groups prediction requests into batches for the instances
// of one model version (dynamic batching).
//
// A Batcher is a bounded queue in front of N instances. Callers submit one
// request each with Do, as tensors (one per model input, package
// internal/tensor), and block until it is computed or rejected; every
// instance has one worker goroutine that takes requests from the shared
// queue, forms a batch, copies the requests' rows one after another into the
// instance's inputs, runs it and hands each caller its own rows of every
// output. An instance is anything that implements Instance; ONNXOpener
// adapts ONNX Runtime sessions to it.
//
// # Shapes
//
// A Spec says what the model takes: its inputs and outputs and whether
// requests batch. They batch along the first dimension when every input and
// output has it dynamic (runtime.Batchable) and the signature does not say
// otherwise: a request then holds any number of rows, and only requests whose
// inputs agree on every other dimension share a batch (a model that takes
// images of any size batches the 48×192 ones together and the others apart).
// The batcher never pads a request to another's shape; a signature's pad
// rules (ADR 18) make the router pad before Do. Do checks every request against the Spec (ErrShape names the input). A
// request of more rows than max_batch_size is split into pieces of at most
// that many, queued together so free instances take them at once, and its
// outputs are concatenated once every piece is done; a piece that misses the
// deadline fails the request. A model that does not batch (a fixed first
// dimension, a state tensor) runs one request per batch, as Triton's
// max_batch_size 0: its max_batch_size, preferred sizes and delay do not
// apply. Sizes below count rows, not requests.
//
// # Direct runs
//
// With max_queue_delay 0 a worker that finds one request queued runs a batch
// of it at once. When the queue is empty and an instance is idle, Do
// therefore runs the request itself, on its caller's goroutine, and saves the two
// goroutine hand-offs (and the thread wake-ups they cause), which cost more
// than a small model's run (ADR 0014). Conditions: batching.always_queue is
// false (the default), max_queue_delay is 0, the workers' last eight batches
// held one row each (a larger batch means rows arrive faster than they run:
// they should batch, not take an instance one at a time), the instance is
// healthy and its worker is not locked to an OS thread (GPU instances never
// run directly), and the caller's deadline is at least four estimated
// single-row runs away (the estimate follows a slower run at once, a faster
// one slowly). A version's first eight requests therefore go through a
// worker. A direct run cannot be left at the deadline: if the
// model hangs during one, that one caller waits for the run to end (every
// other caller queues and leaves at its deadline); models that may hang set
// always_queue.
//
// # Triton semantics
//
// The behaviour follows the dynamic batcher of Triton Inference Server,
// field for field:
//
//	batching.max_batch_size        max_batch_size (1 turns batching off)
//	batching.max_queue_delay       dynamic_batching.max_queue_delay_microseconds
//	batching.preferred_batch_sizes dynamic_batching.preferred_batch_size
//	batching.max_queue_size        dynamic_batching.default_queue_policy.max_queue_size
//	batching.instances             instance_group count (kind CPU)
//	batching.instance_groups       instance_group: kind, count (per device), gpus
//	batching.gpu_policy            (prefer_gpu falls back to the CPU; require_gpu refuses)
//	Do's deadline                  a per-request timeout with timeout_action REJECT
//
// Batch formation, per worker, when its instance is free:
//
//  1. Take the oldest queued request, waiting for one if the queue is empty.
//  2. Take more without waiting, up to max_batch_size rows (up to the
//     largest preferred size when preferred sizes are set).
//  3. Dispatch at once when the requests at hand hold max_batch_size rows,
//     or the largest preferred size they can: with preferred sizes [4, 8]
//     and 6 rows at hand, 4 go now and 2 start the next batch.
//  4. Otherwise, with max_queue_delay 0, dispatch what is at hand. With a
//     delay, wait for more until the oldest request of the batch has waited
//     max_queue_delay since it was queued, dispatching as soon as step 3
//     applies; when the delay is over, take what is queued, up to
//     max_batch_size rows, and dispatch it.
//
// A batch is the oldest live request, then, in queue order, every other
// request whose shape agrees with it and whose rows still fit; the others
// wait for the next batch (requests are never cut between batches). A batch
// never exceeds max_batch_size rows. Differences from Triton: the default
// max_queue_size is 1024 rather than unbounded, so overload is rejected at
// once rather than queued without end; a full queue, an expired deadline and
// shutdown are distinct errors (ErrQueueFull, ErrDeadlineExceeded,
// ErrClosed, all of class ErrRejected); lower priority levels are owed a
// share of the rows (see Priority levels); and, without priority levels,
// each worker forms its batch itself, so a request left over from step 3
// waits for that worker's next batch rather than for the first free
// instance.
//
// # Adaptive batching
//
// With batching.target_latency set, the fixed rules above give way to a
// policy that decides, each time rows are at hand and an instance is free,
// whether to dispatch them or wait for more (adaptive.go, ADR 17). It
// learns the run time of every batch size it runs (a moving average per
// size), the rate at which rows arrive, and how busy compute would be if
// every row ran alone: the instances' busy share, and, for instances on
// the CPU, the process's CPU share of GOMAXPROCS with the time batching
// saved added back (sampled every 5ms). While that is above 0.6 (and until
// it falls below 0.4) compute is scarce, and the policy waits for the
// smallest batch whose time per row is within 10% of the best measured (one
// row more than the largest measured while that one is the cheapest, so
// that it finds out whether larger batches pay). It stops waiting when the
// rows still missing would not arrive, at the measured rate, before the
// oldest row must run for its wait plus its batch's estimated run to stay
// within 90% of the target, or when no row has come for two mean gaps
// between arrivals (a closed loop whose clients all wait for answers).
// While compute is not scarce it dispatches at once, and direct runs apply
// as with max_queue_delay 0. A dispatched batch takes every queued row of
// its shape, up to max_batch_size.
//
// The workers of an adaptive batcher form their batches in turn: one
// former (the requests dequeued and not yet dispatched) passes between
// them, so a free instance never splits the queue with another into tiny
// batches; Triton's single scheduler thread gets the same effect. The
// worker that holds it forms a batch, hands it on, then runs the batch,
// while the next free worker forms the next one. In fixed batching each
// worker has a former of its own.
//
// # Priority levels
//
// With batching.priority_levels N above 1 (Triton's priority_levels),
// DoPriority queues a request at level 1 (the highest) to N; 0, or a level
// above N, is batching.default_priority_level, as Triton does. Each level
// has its own bound (priority_queue_sizes, default max_queue_size each):
// a level whose queue is full rejects with ErrQueueFull while the others
// still queue, so a low level's flood is shed before a high level waits.
// The workers then share one former, as in adaptive batching, and it
// drains the queue's channel whole into one list sorted by level, then by
// arrival; a batch starts with the first request of that list and takes
// the others of its shape in list order, so a level's rows go only where
// no higher level's fit. Starvation is bounded by batching.starvation_share
// s (default 0.05): every batch dispatched while a lower level has
// requests waiting earns s of its rows as credit, and while the credit is
// a row or more, the oldest requests below the first one's level move to
// the front of the next batch, each spending its rows. Lower levels thus
// get at least s of the rows while they wait (a test measures 0.050 for
// 0.05 and 0.200 for 0.2 under saturation), and a lower-level row takes a
// place in a batch rather than a batch of its own.
//
// batching.order deadline sorts each level by deadline, nearest first and
// none last (arrival order among equals); it uses the same shared former,
// with one level or more.
//
// # Deadlines
//
// Both modes learn the run time of each batch size. Do turns a request
// away at once with ErrDeadlineUnreachable (an ErrDeadlineExceeded) when
// its deadline is nearer than the estimated wait: the batches of the rows
// queued ahead of it (its own level's and the higher ones'; in deadline
// order, only the higher ones') and its own, run by the instances side by side, each
// as long as the learned run of a full batch (a batch running now is not
// counted, so the estimate errs short). The router then tries its next
// tier with the caller's time still whole. At dispatch, a request whose
// deadline is nearer than the learned run of its rows is completed with
// ErrDeadlineExceeded and not computed. Before any run nothing is
// estimated, and only a deadline already past turns a request away.
//
// # Concurrency model
//
// Do may be called from any number of goroutines. It checks the tensors
// against the Spec, takes a request object from the Batcher's pool, and sends it on the queue,
// a buffered channel of capacity max_queue_size (with priority levels or
// the deadline order, the sum of the levels' bounds, which counters
// enforce), without blocking: a full queue rejects at once. The send happens under a read lock that Close takes
// for writing before it closes the channel, so no send can meet a closed
// channel.
//
// Each instance has exactly one worker goroutine and a token, a channel of
// capacity 1. Only the holder of the token calls Input and Run: the worker,
// from before it forms a batch until the batch's outputs are copied out
// (before any request leaves the queued state, and before it wakes the
// callers), or a caller making a direct run. A worker waiting for the token
// yields a few times before it parks. Close calls the
// instance's Close after the worker has stopped and any direct run has
// ended. Workers share the queue; a worker only takes requests when its
// instance is free, so load goes to idle instances. The requests a worker holds while a batch forms are its
// own (a slice no other goroutine touches). The max_queue_delay timer is one
// per worker, reused for every batch.
//
// A caller with a deadline waits on its request's done channel and on a timer
// that belongs to the pooled request object, reused by later requests. An
// instance that implements HealthReporter is asked before each batch whether
// its device is healthy; while it is not, its worker takes no requests (the
// other workers take them) and asks again every 100ms, until Close, when it
// drains with the others. Placement (placement.go) decides which instances
// go on which GPU from a device snapshot; ONNXOpener opens them there. An
// instance that implements ThreadPinner can ask for its worker to be locked
// to one OS thread (a CUDA session bound to a device).
//
// # Request lifecycle
//
// A request object is completed exactly once, and its state (an atomic)
// says who may complete it:
//
//	queued ──worker CAS──▶ running ──inputs copied──▶ computing ──worker CAS──▶ done ──caller releases it
//	   │                                                 │
//	   └──caller CAS (deadline)──▶ abandoned ◀──caller CAS (deadline)──┘   worker releases it
//
// Step by step:
//
//   - Rejected before the queue (closed, queue full, deadline already
//     passed): Do returns the error and puts the object back in the pool
//     itself; no worker ever sees it. Tensors that do not fit the model are
//     rejected before any object is taken.
//   - Queued: only the caller and the one worker that dequeues it may touch
//     it. When the worker dispatches a batch it moves each request from
//     queued to running with a compare-and-swap. If its caller's deadline
//     timer fires first, the caller moves it from queued to abandoned with a
//     compare-and-swap and returns ErrDeadlineExceeded at once; exactly one of
//     the two swaps succeeds.
//   - Running: the worker won and is copying the batch's inputs (or finds
//     the request expired, and completes it with ErrDeadlineExceeded without
//     giving the row to the instance). A caller whose deadline passes now
//     waits the few microseconds the copy takes.
//   - Computing: the inputs are copied and the instance runs. If the
//     caller's deadline passes, it moves the request to abandoned and
//     returns ErrDeadlineExceeded: a hung or slow instance cannot hold a
//     caller past its deadline (the router's fallback chain relies on it).
//     Otherwise the worker, after Run, moves it to done, copies the
//     caller's rows of every output into the caller's out tensors on success
//     (an error wrapping ErrModelFailed on failure), and signals the done
//     channel (capacity 1). String inputs are copied into the worker's own
//     memory before computing, so the instance never reads a caller's after
//     it may have left. The caller receives the
//     signal, reads the error, and puts the object back in the pool.
//   - Abandoned: the caller has returned and no longer owns its input and
//     output slices. The worker, on finding its swap lost, never reads the
//     input (queued) nor writes the output (computing); it puts the object
//     back in the pool.
//
// So the object goes back to the pool exactly once: by the caller when the
// request was rejected early or completed, by the worker when the caller
// abandoned it. Neither the input nor the output tensors are retained after
// Do returns. Each piece of a split request is a request object of its own,
// with views of the caller's rows and outputs of its own; the caller waits
// for every piece it queued (a running piece reads its inputs) before it
// returns.
//
// # Drain
//
// Close marks the Batcher closed (Do returns ErrClosed from then on), closes
// the queue, and waits for the workers. A worker keeps taking requests until
// the queue is closed and empty; once it is closed, partial batches are
// dispatched without waiting for max_queue_delay. Every request accepted
// before Close is therefore completed — computed, or rejected with
// ErrDeadlineExceeded if it expired. Then Close closes each instance once and
// unregisters the metrics. Calling Close again returns the first result.
//
// # Metrics
//
// Each Batcher registers its own metrics.Set, labelled model and version:
//
//	infergate_batcher_queue_depth                 gauge: requests accepted, not yet dispatched
//	infergate_batcher_queue_duration_seconds      histogram: enqueue to dispatch, per request run
//	infergate_batcher_compute_duration_seconds    histogram: Input copy and Run, per batch
//	infergate_batcher_batch_size                  histogram: rows per batch run
//	infergate_batcher_requests_total              counter: Do calls whose tensors fit the model
//	infergate_batcher_rejected_total{reason=...}  counter: queue_full, deadline, deadline_unreachable, closed
//	infergate_batcher_failed_total                counter: requests whose batch failed
//	infergate_batcher_direct_total                counter: requests run on their caller's goroutine
//	infergate_batcher_unhealthy_instances         gauge: instances whose worker waits for its device
//	infergate_batcher_adaptive_wait_rows          gauge: rows the adaptive policy waits for (1: none), adaptive only
//	infergate_batcher_adaptive_arrival_rows_per_second  gauge: the arrival rate it measures, adaptive only
//
// With more than one priority level, per level (label level="1"…):
//
//	infergate_batcher_level_queue_depth           gauge: requests waiting at the level
//	infergate_batcher_level_queue_duration_seconds  histogram: enqueue to dispatch
//	infergate_batcher_level_rejected_total{reason="queue_full"}  counter: the level's queue was full
//
// Stats gives the same cumulative figures as Triton's statistics extension
// reports them (stats.go): requests answered and failed with their time
// from arrival to answer, queue waits, and the three phases of a run
// (copying the inputs in, Run, copying each request's outputs back),
// counted once per request, and per batch size once per execution. Config
// gives the configuration as it runs.
package batcher
