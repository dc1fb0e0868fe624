package batcher

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/infergate/infergate/internal/tensor"
)

// worker owns one instance: it forms batches from the shared queue, runs
// them and completes their requests. The instance is used only by whoever
// holds tok: the worker, while it forms and runs a batch, or a caller
// running its request directly. batch, shape and arenas are touched by the
// holder of tok only (the worker's goroutine for batch); directReq and
// directBatch by the holder of tok.
type worker struct {
	b      *Batcher
	index  int
	inst   Instance
	health HealthReporter // nil when inst is not one
	pinned bool           // the worker's goroutine is locked to its OS thread: no direct runs

	// forms hands out the former this worker forms its batches in: its own
	// (fixed batching) or the one the workers share (adaptive batching).
	forms chan *former
	// own is the worker's own former in fixed batching, nil in adaptive.
	own *former

	tok         chan struct{} // capacity 1: holds the token while the instance is idle
	directReq   request
	directBatch []*request // {&directReq}

	batch  []*request // the requests of the batch being run
	shape  []int64    // a batch input's shape, reused
	arenas [][]byte   // per input: the bytes of a string input's elements
	// copied is when run finished copying the batch's inputs in.
	copied time.Time
}

// former is a batch being formed: the requests taken from the queue and not
// yet dispatched. Only the goroutine that took it from its channel (see
// worker.forms) touches it, and it gives it back before it runs the batch,
// so another worker may form the next one meanwhile.
type former struct {
	pending     []*request  // dequeued, not yet dispatched: the batch being formed, then any carry-over
	pendingRows int         // the rows of pending
	timer       *time.Timer // the wait for more requests, reused for every batch
	held        atomic.Int64

	// An ordered queue (priority.go): pending is sorted by level, then by
	// arrival or, byDeadline, by deadline, and holds every queued request.
	ordered, byDeadline bool
	// share is batching.starvation_share; credit, the rows lower levels
	// are owed.
	share, credit float64
}

func newFormer(maxBatch int) *former {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &former{pending: make([]*request, 0, maxBatch), timer: t}
}

func newWorker(b *Batcher, index int, inst Instance, forms chan *former) *worker {
	w := &worker{
		b:      b,
		index:  index,
		inst:   inst,
		forms:  forms,
		tok:    make(chan struct{}, 1),
		batch:  make([]*request, 0, b.maxBatch),
		arenas: make([][]byte, len(b.spec.Inputs)),
	}
	if forms == nil {
		w.own = newFormer(b.maxBatch)
		w.forms = make(chan *former, 1)
		w.forms <- w.own
	}
	w.health, _ = inst.(HealthReporter)
	if p, ok := inst.(ThreadPinner); ok && p.PinOSThread() {
		w.pinned = true
	}
	w.tok <- struct{}{}
	w.directBatch = []*request{&w.directReq}
	return w
}

// loop forms and runs batches until the queue is closed and empty.
func (w *worker) loop() {
	defer w.b.running.Done()
	if w.pinned {
		runtime.LockOSThread()
		// The goroutine exits locked: its thread ends with it, as a thread
		// that held a device context should.
	}
	open := true
	for {
		// An unhealthy instance takes no new requests; in fixed batching
		// its worker still runs the ones it holds.
		if w.health != nil && (w.own == nil || len(w.own.pending) == 0) {
			w.awaitHealthy(w.health)
		}
		f := <-w.forms
		if len(f.pending) == 0 {
			r, ok := <-w.b.queue
			if !ok {
				w.forms <- f
				return
			}
			f.add(r)
		}
		// Take the instance before forming the batch: rows that queue
		// while a direct run ends join it.
		w.takeToken()
		var target int
		if w.b.adapt != nil {
			target, open = w.formAdaptive(f, open)
		} else {
			target, open = w.form(f, open)
		}
		rows := w.take(f, target)
		drained := !open && len(f.pending) == 0
		w.forms <- f
		w.runBatch(rows)
		if drained {
			return
		}
	}
}

// add appends a dequeued request to pending, or, in an ordered queue,
// inserts it at its place.
func (f *former) add(r *request) {
	if f.ordered {
		f.insert(r)
	} else {
		f.pending = append(f.pending, r)
	}
	f.pendingRows += r.rows
}

// healthPoll is how often a worker whose instance is unhealthy asks again.
const healthPoll = 100 * time.Millisecond

// awaitHealthy returns once the instance is healthy, or the batcher closes
// (then the worker drains the queue as every worker does: a request should
// get an answer, even an error, rather than be left behind).
func (w *worker) awaitHealthy(h HealthReporter) {
	if h.Healthy() {
		return
	}
	w.b.metrics.unhealthy.Add(1)
	defer w.b.metrics.unhealthy.Add(-1)
	t := time.NewTimer(healthPoll)
	defer t.Stop()
	for !h.Healthy() {
		t.Reset(healthPoll)
		select {
		case <-w.b.closing:
			return
		case <-t.C:
		}
	}
}

// form gathers requests into f (fixed batching) and returns how many rows,
// at most, the next batch takes from its front. It waits for more requests
// only while f holds fewer rows than max_batch_size and every preferred
// size, the queue is open, and the oldest pending request has waited less
// than max_queue_delay.
func (w *worker) form(f *former, open bool) (target int, stillOpen bool) {
	b := w.b
	open = f.gather(b.queue, open, b.gatherUpTo)
	if n := b.readySize(f.pendingRows); n > 0 {
		return n, open
	}
	if !open || b.maxDelay <= 0 {
		return b.maxBatch, open
	}
	if d := time.Until(f.pending[0].enqueued.Add(b.maxDelay)); d > 0 {
		f.timer.Reset(d)
	wait:
		for {
			select {
			case r, ok := <-b.queue:
				if !ok {
					f.timer.Stop()
					return b.maxBatch, false
				}
				f.add(r)
				open = f.gather(b.queue, open, b.gatherUpTo)
				if n := b.readySize(f.pendingRows); n > 0 {
					f.timer.Stop()
					return n, open
				}
				if !open {
					f.timer.Stop()
					return b.maxBatch, false
				}
			case <-f.timer.C:
				break wait
			}
		}
	}
	// The delay is over: take whatever is queued, up to max_batch_size.
	open = f.gather(b.queue, open, b.maxBatch)
	return b.maxBatch, open
}

// formAdaptive gathers requests into f (adaptive batching): it waits for
// more while the policy says the rows at hand are too few to run
// efficiently and the oldest can still wait for more (see adaptive.plan).
// The batch then takes what is queued, up to max_batch_size.
func (w *worker) formAdaptive(f *former, open bool) (target int, stillOpen bool) {
	b := w.b
	open = f.gather(b.queue, open, b.maxBatch)
	for open && f.pendingRows < b.maxBatch {
		now := time.Now()
		until, wait := b.adapt.plan(f.pendingRows, f.pending[0].enqueued, now)
		if !wait {
			break
		}
		f.timer.Reset(until.Sub(now))
		select {
		case r, ok := <-b.queue:
			f.timer.Stop()
			if !ok {
				return b.maxBatch, false
			}
			f.add(r)
			open = f.gather(b.queue, open, b.maxBatch)
		case <-f.timer.C:
			return b.maxBatch, f.gather(b.queue, open, b.maxBatch)
		}
	}
	return b.maxBatch, open
}

// gather moves requests from queue to f without blocking until f holds
// limit rows or the queue is empty (in an ordered queue, until it is
// empty). It reports whether the queue is still open.
func (f *former) gather(queue chan *request, open bool, limit int) bool {
	if f.ordered {
		limit = math.MaxInt
	}
loop:
	for open && f.pendingRows < limit {
		select {
		case r, ok := <-queue:
			if !ok {
				open = false
				break loop
			}
			f.add(r)
		default:
			break loop
		}
	}
	f.held.Store(int64(len(f.pending)))
	return open
}

// readySize returns the most rows of the batch to dispatch at once from
// rows pending: max_batch_size when reached, else the largest preferred
// size reached, else 0 (wait for more).
func (b *Batcher) readySize(rows int) int {
	if rows >= b.maxBatch {
		return b.maxBatch
	}
	for i := len(b.preferred) - 1; i >= 0; i-- {
		if b.preferred[i] <= rows {
			return b.preferred[i]
		}
	}
	return 0
}

// take moves the next batch from f into w.batch and returns its rows: the
// first live request, then, in order, every other whose inputs have its
// dimensions (after the first) and whose rows still fit in target; the rest
// stay pending for the next batch. Requests abandoned by their callers are
// released, and expired ones completed with ErrDeadlineExceeded. The worker
// holds the instance's token, taken before any request moves to running (a
// caller whose deadline passes leaves a queued request at once but waits for
// a running one).
func (w *worker) take(f *former, target int) (rows int) {
	b, m := w.b, w.b.metrics
	now := time.Now()
	batch := w.batch[:0]
	keep := 0
	var queued time.Duration
	// In an ordered queue, lower levels owed rows go first (priority.go).
	lower, rescued := false, 0
	if f.ordered {
		lower = f.lowerWaiting()
		rescued = f.rescue(target)
	}
	for _, r := range f.pending {
		if len(batch) > 0 && (rows+r.rows > target || !sameShape(batch[0], r)) {
			f.pending[keep] = r
			keep++
			continue
		}
		f.pendingRows -= r.rows
		b.unadmit(r)
		if !r.state.CompareAndSwap(stateQueued, stateRunning) {
			// Abandoned by its caller at its deadline: nobody waits for it.
			b.release(r)
			continue
		}
		// A row that cannot finish before its deadline is not computed.
		if !r.deadline.IsZero() && !now.Add(time.Duration(b.costs.estimate(r.rows))).Before(r.deadline) {
			m.rejectedDeadline.Inc()
			r.state.Store(stateDone)
			r.complete(ErrDeadlineExceeded)
			continue
		}
		waited := now.Sub(r.enqueued)
		queued += waited
		wait := waited.Seconds()
		m.queueDuration.Update(wait)
		if q := b.levels[r.level].queueDuration; q != nil {
			q.Update(wait)
		}
		batch = append(batch, r)
		rows += r.rows
	}
	b.stats.queue.add(len(batch), queued)
	clear(f.pending[keep:])
	f.pending = f.pending[:keep]
	f.held.Store(int64(keep))
	if lower {
		f.earn(rows, b.maxBatch)
	}
	if rescued > 0 {
		f.resort()
	}
	w.batch = batch
	return rows
}

// runBatch runs w.batch, of rows rows, and completes each of its requests;
// with an empty batch it only gives the token back. It gives the
// instance's token back once the outputs are copied.
func (w *worker) runBatch(rows int) {
	b, m := w.b, w.b.metrics
	batch := w.batch
	if len(batch) == 0 {
		w.giveToken()
		return
	}
	m.batchSize.Update(float64(rows))
	b.countSingles(rows)
	start := time.Now()
	err := w.run(batch, rows)
	end := time.Now()
	copied := w.copied // read while the worker holds the instance: a direct run may take it once freed
	elapsed := end.Sub(start)
	m.computeDuration.Update(elapsed.Seconds())
	if err != nil {
		err = w.failed(err)
		m.failed.Add(len(batch))
	} else {
		b.observeRun(rows, elapsed, end)
	}
	off := 0
	for i, r := range batch {
		from := off
		off += r.rows
		// From running too: a batch that failed before its inputs were
		// copied never reached computing (and its callers wait, as a
		// caller never gives up a running request).
		if !r.state.CompareAndSwap(stateComputing, stateDone) && !r.state.CompareAndSwap(stateRunning, stateDone) {
			// Abandoned by its caller while the batch computed.
			b.release(r)
			batch[i] = nil
		} else if err == nil {
			w.collect(r, from)
		}
	}
	// The outputs are copied out of the instance: free it before any
	// caller wakes, so that a caller's next request finds it idle.
	w.giveToken()
	done := time.Now()
	if err == nil {
		b.stats.ran(b.batchSize(rows), rows, len(batch), copied.Sub(start), end.Sub(copied), done.Sub(end), end)
	}
	var answered int
	var waited time.Duration
	for _, r := range batch {
		if r != nil {
			answered++
			waited += done.Sub(r.enqueued)
			r.complete(err)
		}
	}
	if err == nil {
		b.stats.success.add(answered, waited)
	} else {
		b.stats.fail.add(answered, waited)
	}
	clear(batch)
	w.batch = batch[:0]
}

// runDirect runs one request on the caller's goroutine, which holds w.tok:
// a batch of one, as the worker would have dispatched it (the queue is
// empty and max_queue_delay is 0), without the two goroutine hand-offs.
// The request is computed before it returns, whatever the caller's deadline.
// start is when Do took the request, a moment before: the clock is read
// once for both.
func (w *worker) runDirect(in, out []tensor.Tensor, rows int, lv uint8, start time.Time) error {
	b, m := w.b, w.b.metrics
	m.direct.Inc()
	m.queueDuration.Update(0)
	if q := b.levels[lv].queueDuration; q != nil {
		q.Update(0)
	}
	m.batchSize.Update(float64(rows))
	r := &w.directReq
	r.in, r.out, r.rows = in, out, rows
	defer func() { r.in, r.out = nil, nil }()
	err := w.run(w.directBatch, rows)
	end := time.Now()
	elapsed := end.Sub(start)
	m.computeDuration.Update(elapsed.Seconds())
	if err != nil {
		m.failed.Inc()
		b.stats.fail.add(1, elapsed)
		return w.failed(err)
	}
	b.observeRun(rows, elapsed, end)
	w.collect(r, 0)
	done := time.Now()
	b.stats.queue.add(1, 0)
	b.stats.ran(b.batchSize(rows), rows, 1, w.copied.Sub(start), end.Sub(w.copied), done.Sub(end), end)
	b.stats.success.add(1, done.Sub(start))
	return nil
}

// failed wraps an error of the instance's Input or Run.
func (w *worker) failed(err error) error {
	return fmt.Errorf("%w: model %q version %q instance %d: %w", ErrModelFailed, w.b.model, w.b.version, w.index, err)
}

// errInstancePanicked wraps the value of a panic in Input or Run.
var errInstancePanicked = errors.New("instance panicked")

// run copies the batch's inputs into the instance, one request's rows after
// another, runs it and checks its outputs. A panic in the instance becomes
// an error, so one bad batch cannot take the process down from a goroutine
// no handler can recover.
func (w *worker) run(batch []*request, rows int) (err error) {
	defer func() {
		switch p := recover().(type) {
		case nil:
		case error:
			err = fmt.Errorf("%w: %w", errInstancePanicked, p)
		default:
			err = fmt.Errorf("%w: %v", errInstancePanicked, p)
		}
	}()
	b := w.b
	head := batch[0]
	for i := range b.spec.Inputs {
		w.shape = append(w.shape[:0], head.in[i].Shape...)
		if b.spec.Batch {
			w.shape[0] = int64(rows)
		}
		t, err := w.inst.Input(i, w.shape)
		if err != nil {
			return err
		}
		if t.DType == tensor.String {
			w.copyStrings(i, t, batch)
			continue
		}
		off := 0
		for _, r := range batch {
			off += copy(t.Data[off:], r.in[i].Data)
		}
		if off != len(t.Data) {
			return fmt.Errorf("input %q: the instance's buffer holds %d bytes, the batch %d", b.spec.Inputs[i].Name, len(t.Data), off)
		}
	}
	// The inputs are copied: from now on a caller may give up at its
	// deadline (see the request states).
	w.copied = time.Now()
	for _, r := range batch {
		r.state.Store(stateComputing)
	}
	if err := w.inst.Run(); err != nil {
		return err
	}
	return w.checkOutputs(rows)
}

// copyStrings copies the batch's elements of string input i into the
// worker's own memory: the instance reads them after the callers may have
// left (state computing), so it must not point at theirs.
func (w *worker) copyStrings(i int, t *tensor.Tensor, batch []*request) {
	n := 0
	for _, r := range batch {
		for _, s := range r.in[i].Strings {
			n += len(s)
		}
	}
	if cap(w.arenas[i]) < n {
		w.arenas[i] = make([]byte, 0, n)
	}
	arena := w.arenas[i][:0]
	k := 0
	for _, r := range batch {
		for _, s := range r.in[i].Strings {
			arena = append(arena, s...)
			t.Strings[k] = arena[len(arena)-len(s) : len(arena) : len(arena)]
			k++
		}
	}
}

// checkOutputs refuses outputs a batch's requests cannot be answered
// from: a batched model must give one output row per input row.
func (w *worker) checkOutputs(rows int) error {
	if !w.b.spec.Batch {
		return nil
	}
	for j := range w.b.spec.Outputs {
		o := w.inst.Output(j)
		if len(o.Shape) == 0 || o.Shape[0] != int64(rows) {
			return fmt.Errorf("output %q has shape %s for a batch of %d rows: its first dimension is not the batch (set the signature's batch: false)",
				w.b.spec.Outputs[j].Name, tensor.ShapeString(o.Shape), rows)
		}
	}
	return nil
}

// collect copies r's rows of every output, from row off of the batch, into
// r's outputs.
func (w *worker) collect(r *request, off int) {
	for j := range r.out {
		o := w.inst.Output(j)
		if w.b.spec.Batch {
			r.out[j].CopyRows(o, off, off+r.rows)
		} else {
			r.out[j].CopyFrom(o)
		}
	}
}

// complete ends a running request with err and wakes its caller, who then
// owns r again.
func (r *request) complete(err error) {
	r.err = err
	r.done <- struct{}{}
}

// tokenSpins bounds how often the worker yields, waiting for a direct run to
// end, before it parks: a direct run is one row, usually shorter than a park
// and the wake-up that ends it.
const tokenSpins = 32

// takeToken takes the instance's token, waiting for a direct run to end.
func (w *worker) takeToken() {
	for range tokenSpins {
		select {
		case <-w.tok:
			return
		default:
			runtime.Gosched()
		}
	}
	<-w.tok
}

// giveToken gives the instance's token back: the instance is idle.
func (w *worker) giveToken() { w.tok <- struct{}{} }
