package batcher

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/runtime"
)

// Batcher is the dynamic batcher of one model version: a bounded queue in
// front of its instances, each owned by one worker goroutine. Its methods are
// safe for concurrent use.
type Batcher struct {
	model, version string
	spec           Spec
	cfg            Config // as it runs: defaults applied, Config's copies handed out

	maxBatch   int
	maxDelay   time.Duration
	preferred  []int // sorted ascending, no repeats
	gatherUpTo int   // rows gathered before deciding: the largest preferred size, else maxBatch

	// costs learns the run time of each batch size.
	costs *runCosts
	// levels holds each priority level's queue counts (one level without
	// priority_levels); defaultLevel is the level of a request that names
	// none. ordered: the queue is sorted by level, then by arrival or,
	// byDeadline, by deadline (priority.go).
	levels              []level
	defaultLevel        uint8
	ordered, byDeadline bool

	// adapt is the adaptive batching policy (batching.target_latency),
	// nil in fixed batching.
	adapt *adaptive

	// direct says whether a request that finds the queue empty and an
	// instance idle may run on its caller's goroutine (see Do).
	direct bool
	// rowNanos estimates one single-row run, in nanoseconds: it follows
	// a slower run at once and a faster one slowly. 0 until the first.
	rowNanos atomic.Int64
	// singles counts the workers' batches of one row in a row, up to
	// quietBatches; a larger batch resets it (see quietBatches).
	singles atomic.Int32

	// mu guards closed and the sends on queue: Do sends under a read lock,
	// Close sets closed under the write lock and only then closes queue, so
	// no send can meet a closed channel.
	mu     sync.RWMutex
	closed bool
	queue  chan *request
	// closing is closed when Close begins: a worker waiting for its
	// instance's device to recover stops waiting and drains.
	closing chan struct{}

	pool sync.Pool // of *request

	workers   []*worker
	formers   []*former // every batch being formed: one per worker, or one shared
	placement []string  // where each instance runs ("cpu", "gpu 0")
	running   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	metrics *batcherMetrics
	stats   *stats
}

// TensorInfo describes one model input or output: package runtime's, so
// that the batcher's users need not import it.
type TensorInfo = runtime.TensorInfo

// ErrUnsupportedModel is package runtime's: a model whose tensors a
// session, or its user, cannot drive.
var ErrUnsupportedModel = runtime.ErrUnsupportedModel

// Spec is what a batcher's instances take and give: the model's inputs and
// outputs, in the order Instance indexes them, with -1 for a dynamic
// dimension, and whether requests may be concatenated along their first
// dimension (runtime.Batchable, unless a signature says otherwise).
type Spec struct {
	Inputs, Outputs []TensorInfo
	// Batch: requests whose other dimensions agree run together, their rows
	// one after another; without it every batch is one request.
	Batch bool
}

// New returns a Batcher for one model version and starts one worker goroutine
// per instance. model and version label its metrics. cfg is copied, with
// defaults applied, and validated; len(instances) must equal its Instances.
// spec says what every request holds (see Do).
//
// On success the Batcher owns the instances and closes them in Close; on
// error they stay the caller's.
//
// The metrics are registered for export (metrics.WritePrometheus) until
// Close. Two running Batchers with the same model and version would export
// the same series twice.
func New(model, version string, cfg Config, spec Spec, instances []Instance) (*Batcher, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("batcher: invalid config for model %q version %q: %w", model, version, err)
	}
	if len(spec.Inputs) == 0 || len(spec.Outputs) == 0 {
		return nil, fmt.Errorf("batcher: model %q version %q: a model needs inputs and outputs, got %d and %d",
			model, version, len(spec.Inputs), len(spec.Outputs))
	}
	if spec.Batch && !runtime.Batchable(spec.Inputs, spec.Outputs) {
		return nil, fmt.Errorf("batcher: model %q version %q: requests cannot be batched: some input or output has no dynamic first dimension",
			model, version)
	}
	if len(cfg.InstanceGroups) == 0 && len(instances) != cfg.Instances {
		return nil, fmt.Errorf("batcher: model %q version %q: got %d instances, but batching.instances is %d",
			model, version, len(instances), cfg.Instances)
	}
	if len(instances) == 0 {
		return nil, fmt.Errorf("batcher: model %q version %q: no instances", model, version)
	}
	for i, inst := range instances {
		if inst == nil {
			return nil, fmt.Errorf("batcher: model %q version %q: instance %d is nil", model, version, i)
		}
	}

	preferred := slices.Clone(cfg.PreferredBatchSizes)
	slices.Sort(preferred)
	gatherUpTo := cfg.MaxBatchSize
	if len(preferred) > 0 {
		gatherUpTo = preferred[len(preferred)-1]
	}
	maxBatch := cfg.MaxBatchSize
	if !spec.Batch {
		// One request per batch, as Triton's max_batch_size 0: preferred
		// sizes and the delay have nothing to gather.
		maxBatch, preferred, gatherUpTo, cfg.MaxQueueDelay, cfg.TargetLatency = 1, nil, 1, 0, 0
		cfg.MaxBatchSize = 1
	}
	cfg.PreferredBatchSizes = preferred
	b := &Batcher{
		model:        model,
		version:      version,
		spec:         cloneSpec(spec),
		cfg:          cfg,
		maxBatch:     maxBatch,
		maxDelay:     cfg.MaxQueueDelay,
		preferred:    preferred,
		gatherUpTo:   gatherUpTo,
		direct:       !cfg.AlwaysQueue && cfg.MaxQueueDelay == 0,
		defaultLevel: uint8(cfg.DefaultPriorityLevel - 1),
		ordered:      cfg.PriorityLevels > 1 || cfg.Order == OrderDeadline,
		byDeadline:   cfg.Order == OrderDeadline,
		closing:      make(chan struct{}),
	}
	capacity := cfg.MaxQueueSize
	sizes := cfg.queueSizes()
	b.levels = make([]level, len(sizes))
	if b.ordered {
		// The levels bound the queue; the channel only carries arrivals
		// to the former, and holds all the levels' requests at most.
		capacity = 0
		for i, size := range sizes {
			capacity += size
			b.levels[i].size = int64(size)
		}
	}
	b.queue = make(chan *request, capacity)
	b.costs = newRunCosts(maxBatch)
	b.stats = newStats(maxBatch)
	if cfg.TargetLatency > 0 && maxBatch > 1 {
		b.adapt = newAdaptive(cfg.TargetLatency, maxBatch, len(instances), b.costs)
	}
	b.pool.New = func() any { return &request{done: make(chan struct{}, 1)} }
	b.metrics = newBatcherMetrics(b, model, version)

	// Adaptive batching: the workers share one former, so the queue is
	// formed into one batch at a time rather than split among idle
	// instances (ADR 17). An ordered queue lives in the one former.
	var shared chan *former
	if b.adapt != nil || b.ordered {
		f := newFormer(maxBatch)
		f.ordered, f.byDeadline, f.share = b.ordered, b.byDeadline, cfg.StarvationShare
		b.formers = []*former{f}
		shared = make(chan *former, 1)
		shared <- f
	}
	b.workers = make([]*worker, len(instances))
	for i, inst := range instances {
		b.workers[i] = newWorker(b, i, inst, shared)
		if shared == nil {
			b.formers = append(b.formers, b.workers[i].own)
		}
		where := "cpu"
		if w, ok := inst.(interface{ Where() string }); ok {
			where = w.Where()
		}
		b.placement = append(b.placement, where)
	}
	if b.adapt != nil {
		b.adapt.onCPU = !slices.ContainsFunc(b.placement, func(p string) bool { return p != "cpu" })
	}
	b.running.Add(len(b.workers))
	for _, w := range b.workers {
		go w.loop()
	}
	metrics.RegisterSet(b.metrics.set)
	return b, nil
}

// Placement says where each instance runs: "cpu", or "gpu N".
func (b *Batcher) Placement() []string { return slices.Clone(b.placement) }

// Do runs one request and blocks until it is computed or rejected.
//
// in holds one tensor per model input, in the Spec's order, each of the
// input's element type and rank, with every dimension the model fixes; for
// a batched model their first dimensions are the request's rows and agree.
// out must have one element per model output: on success each is set to
// that output's rows for this request (its name, type, shape and data,
// reusing the element's slices), and only then. Neither slice, nor what its
// tensors point at, is retained after Do returns.
//
// A request of more rows than max_batch_size is split into batches of at
// most that many rows, run on whichever instances are free, and answered as
// one. A zero deadline means none; otherwise a request still queued at its
// deadline returns ErrDeadlineExceeded and is never computed, while one whose
// batch is already running is waited for.
//
// Errors: ErrQueueFull, ErrDeadlineExceeded and ErrClosed (all ErrRejected),
// ErrModelFailed wrapping the instance's error, ErrComputeTimeout, ErrShape.
func (b *Batcher) Do(in, out []tensor.Tensor, deadline time.Time) error {
	return b.DoPriority(in, out, deadline, 0)
}

// DoPriority is Do at a priority level: 1 is the highest; 0, or a level
// above batching.priority_levels, is batching.default_priority_level (as
// Triton's priority). Without priority levels it is Do.
func (b *Batcher) DoPriority(in, out []tensor.Tensor, deadline time.Time, priority int) error {
	rows, err := b.check(in, out)
	if err != nil {
		return err
	}
	m := b.metrics
	m.requests.Inc()
	now := time.Now()
	if !deadline.IsZero() && !now.Before(deadline) {
		m.rejectedDeadline.Inc()
		return ErrDeadlineExceeded
	}
	if b.adapt != nil {
		b.adapt.arrived.Add(int64(rows))
	}
	lv := b.levelOf(priority)
	if !deadline.IsZero() && now.Add(b.waitEstimate(rows, lv)).After(deadline) {
		// It would miss its deadline in the queue: say so now, while the
		// caller's time is still whole (the router's next tier gets it).
		m.rejectedUnreachable.Inc()
		return ErrDeadlineUnreachable
	}
	if rows > b.maxBatch {
		return b.doSplit(in, out, rows, lv, now, deadline)
	}

	if b.direct && b.queueEmpty() && (b.adapt == nil || b.adapt.dispatchAtOnce()) && b.singles.Load() >= quietBatches && b.directFits(now, deadline) {
		if w := b.idleWorker(); w != nil {
			err := w.runDirect(in, out, rows, lv, now)
			w.giveToken()
			return err
		}
	}

	r := b.acquire(in, out, rows, lv, now, deadline)
	if err := b.enqueue(r); err != nil {
		b.release(r)
		return err
	}
	if err := b.wait(r, deadline); err != nil {
		return err
	}
	err = r.err
	b.release(r)
	return err
}

// wait waits for r until deadline. On a deadline error r is abandoned: the
// worker that holds it puts it back in the pool. Otherwise r is the
// caller's again, holding the result.
func (b *Batcher) wait(r *request, deadline time.Time) error {
	if deadline.IsZero() {
		<-r.done
		return nil
	}
	if err := r.waitUntil(deadline); err != nil {
		b.metrics.rejectedDeadline.Inc()
		return err
	}
	return nil
}

// waitEstimate is how long a request of rows rows at level lv would take
// from now to the end of its run: the batches of the rows queued ahead of
// it and its own, run by the instances side by side, each as long as the
// learned run of a full one (or of all those rows, when fewer). 0 before
// any run. A batch running now is not counted, nor are rows that may come
// ahead of it later (a higher level's): the estimate errs short, so that
// only requests sure to miss their deadline are turned away.
func (b *Batcher) waitEstimate(rows int, lv uint8) time.Duration {
	total := int(b.rowsAhead(lv)) + rows
	per := b.maxBatch * len(b.workers)
	batches := (total + per - 1) / per
	return time.Duration(int64(batches) * b.costs.estimate(min(total, b.maxBatch)))
}

// queueEmpty reports whether no request waits: none in the channel and,
// in an ordered queue, none in the former (which drains the channel whole,
// so a direct run would pass ahead of them).
func (b *Batcher) queueEmpty() bool {
	return len(b.queue) == 0 && (!b.ordered || b.formers[0].held.Load() == 0)
}

// directHeadroom is how many estimated single-row runs must fit before a
// request's deadline for it to run directly: a run that takes a few times
// its usual time still ends before the caller would have given up.
const directHeadroom = 4

// directFits reports whether a request with deadline may run directly: once
// a single-row run has been measured, when it has no deadline or its
// deadline is directHeadroom estimated runs away or more.
func (b *Batcher) directFits(now, deadline time.Time) bool {
	est := time.Duration(b.rowNanos.Load())
	if est == 0 {
		return false
	}
	return deadline.IsZero() || deadline.Sub(now) >= directHeadroom*est
}

// idleWorker returns a worker whose instance is idle, healthy and may be run
// by a caller, holding its token, or nil when there is none. The caller
// must give the token back.
func (b *Batcher) idleWorker() *worker {
	for _, w := range b.workers {
		if w.pinned || (w.health != nil && !w.health.Healthy()) {
			continue
		}
		select {
		case <-w.tok:
			return w
		default:
		}
	}
	return nil
}

// quietBatches is how many batches of one row in a row the workers must run
// before rows run directly again. A larger batch means requests arrive faster
// than the instances run them; a direct run would then take an instance for
// one row while others queue behind it, and batches would shrink.
const quietBatches = 8

// countSingles records the size of a batch a worker is about to run.
func (b *Batcher) countSingles(rows int) {
	switch n := b.singles.Load(); {
	case rows > 1 && n != 0:
		b.singles.Store(0)
	case rows == 1 && n < quietBatches:
		b.singles.Store(n + 1) // a lost race only delays direct runs
	}
}

// observeRun records a successful run of rows rows that took d and ended
// at end.
func (b *Batcher) observeRun(rows int, d time.Duration, end time.Time) {
	if rows == 1 {
		b.observeRow(d)
	}
	b.costs.observe(rows, d)
	if b.adapt != nil {
		b.adapt.observe(rows, d, end)
	}
}

// observeRow folds the duration of a single-row run into rowNanos.
func (b *Batcher) observeRow(d time.Duration) {
	n, old := max(int64(d), 1), b.rowNanos.Load() // 1: measured, if too fast for the clock
	if n < old {
		n = old - (old-n)/8
	}
	// Concurrent updates may lose one another: it is an estimate.
	b.rowNanos.Store(n)
}

// enqueue puts r on the queue without blocking.
func (b *Batcher) enqueue(r *request) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.metrics.rejectedClosed.Inc()
		return ErrClosed
	}
	if !b.admit(r) {
		b.metrics.rejectedFull.Inc()
		return ErrQueueFull
	}
	select {
	case b.queue <- r:
		return nil
	default:
		b.unadmit(r)
		b.metrics.rejectedFull.Inc()
		return ErrQueueFull
	}
}

// QueueDepth returns the number of requests accepted and not yet given to an
// instance (or completed as expired): those in the queue and those held by
// workers while a batch forms. It is a snapshot, not exact under load.
func (b *Batcher) QueueDepth() int {
	n := len(b.queue)
	for _, f := range b.formers {
		n += int(f.held.Load())
	}
	return n
}

// Close stops accepting requests (Do returns ErrClosed), lets the workers run
// every queued request (graceful drain), then closes the instances and
// unregisters the metrics. It returns the instances' Close errors, joined.
// Close is safe to call more than once and concurrently; later calls wait for
// the first and return its result.
func (b *Batcher) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.closing)
		// No Do holds the read lock now, and none will send again.
		close(b.queue)
		b.running.Wait()
		// A direct run in progress holds its instance's token: wait for
		// it, and keep the tokens so that no run starts again.
		for _, w := range b.workers {
			<-w.tok
		}

		var errs []error
		for i, w := range b.workers {
			if err := w.inst.Close(); err != nil {
				errs = append(errs, fmt.Errorf("batcher: cannot close instance %d of model %q version %q: %w",
					i, b.model, b.version, err))
			}
		}
		b.closeErr = errors.Join(errs...)
		metrics.UnregisterSet(b.metrics.set, true)
	})
	return b.closeErr
}

// Request states. Each move is a compare-and-swap (or a store by the only
// side that may make it), so exactly one side ends a request:
//
//   - queued → running (worker, at dispatch) or → abandoned (caller, at its
//     deadline);
//   - running → computing (worker, once the batch's inputs are copied: from
//     here the caller's input slice is no longer read);
//   - computing → done (worker, after Run, before it writes the output) or
//     → abandoned (caller, at its deadline: a hung or slow instance cannot
//     hold a caller past its deadline).
const (
	stateQueued uint32 = iota
	stateRunning
	stateComputing
	stateDone
	stateAbandoned
)

// request is one request (or one piece of a split one) in flight. Requests
// are pooled per Batcher and must not be retained after release.
type request struct {
	in    []tensor.Tensor // the caller's, read only in state running
	out   []tensor.Tensor // written only on the way to done
	rows  int             // the first dimension of in (1 when the model does not batch)
	level uint8           // the priority level's index: 0 is level 1, the highest

	enqueued time.Time
	deadline time.Time // zero = none
	state    atomic.Uint32
	err      error         // the result, written by the worker before done
	done     chan struct{} // capacity 1; the worker sends once when it completes a running request
	timer    *time.Timer   // the caller's deadline timer, created on first use, reused

	// piece is the memory of one piece of a split request: views of the
	// caller's inputs and the piece's own outputs, copied into the
	// caller's when every piece is done.
	piece piece
}

func (b *Batcher) acquire(in, out []tensor.Tensor, rows int, lv uint8, now, deadline time.Time) *request {
	r := b.pool.Get().(*request)
	r.in, r.out, r.rows, r.level = in, out, rows, lv
	r.enqueued = now
	r.deadline = deadline
	r.state.Store(stateQueued)
	return r
}

// release resets r and puts it back in the pool. Its done channel is empty:
// every completion sent on it has been received.
func (b *Batcher) release(r *request) {
	r.in, r.out = nil, nil
	r.err = nil
	r.piece.trim()
	b.pool.Put(r)
}

// waitUntil waits for r to be completed or for deadline. At the deadline it
// abandons r, unless the worker is completing it, and returns
// ErrDeadlineExceeded (r was queued) or ErrComputeTimeout (r was computing);
// r then belongs to the worker and the caller must not touch it again.
func (r *request) waitUntil(deadline time.Time) error {
	d := time.Until(deadline)
	if r.timer == nil {
		r.timer = time.NewTimer(d)
	} else {
		r.timer.Reset(d)
	}
	select {
	case <-r.done:
		// Since Go 1.23 Stop leaves no stale tick for the next Reset.
		r.timer.Stop()
		return nil
	case <-r.timer.C:
		for {
			switch r.state.Load() {
			case stateQueued:
				if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
					return ErrDeadlineExceeded
				}
			case stateComputing:
				if r.state.CompareAndSwap(stateComputing, stateAbandoned) {
					return ErrComputeTimeout
				}
			case stateRunning:
				// The worker is copying the batch's inputs, ours
				// included: microseconds, and then it computes.
				goruntime.Gosched()
			default: // done: the output is being written
				<-r.done
				return nil
			}
		}
	}
}
