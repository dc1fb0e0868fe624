package batcher

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// worker owns one instance: it forms batches from the shared queue, runs
// them and completes their requests. The instance is used only by whoever
// holds tok: the worker, while it forms and runs a batch, or a caller
// running its row directly. pending, batch and timer are touched by the
// worker's goroutine only; directReq and directBatch by the holder of tok.
type worker struct {
	b      *Batcher
	index  int
	inst   Instance
	health HealthReporter // nil when inst is not one
	pinned bool           // the worker's goroutine is locked to its OS thread: no direct runs

	tok         chan struct{} // capacity 1: holds the token while the instance is idle
	directReq   request
	directBatch []*request // {&directReq}

	pending []*request  // dequeued, not yet dispatched: the batch being formed, then any carry-over
	batch   []*request  // the requests of the batch being run
	timer   *time.Timer // the max_queue_delay timer, reused for every batch
	held    atomic.Int64
}

func newWorker(b *Batcher, index int, inst Instance) *worker {
	t := time.NewTimer(time.Hour)
	t.Stop()
	w := &worker{
		b:       b,
		index:   index,
		inst:    inst,
		tok:     make(chan struct{}, 1),
		pending: make([]*request, 0, b.maxBatch),
		batch:   make([]*request, 0, b.maxBatch),
		timer:   t,
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
		if len(w.pending) == 0 {
			if w.health != nil {
				w.awaitHealthy(w.health)
			}
			r, ok := <-w.b.queue
			if !ok {
				return
			}
			w.pending = append(w.pending, r)
		}
		// Take the instance before forming the batch: rows that queue
		// while a direct run ends join it.
		w.takeToken()
		var n int
		n, open = w.form(open)
		w.dispatch(n)
		if !open && len(w.pending) == 0 {
			return
		}
	}
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
	for !h.Healthy() {
		w.timer.Reset(healthPoll)
		select {
		case <-w.b.closing:
			w.timer.Stop()
			return
		case <-w.timer.C:
		}
	}
}

// form gathers requests into pending and returns how many of them, from the
// front, make the next batch. It waits for more requests only while the
// batch is below max_batch_size and every preferred size, the queue is open,
// and the oldest pending request has waited less than max_queue_delay.
func (w *worker) form(open bool) (n int, stillOpen bool) {
	b := w.b
	open = w.gather(open, b.gatherUpTo)
	if n := b.readySize(len(w.pending)); n > 0 {
		return n, open
	}
	if !open || b.maxDelay <= 0 {
		return len(w.pending), open
	}
	if d := time.Until(w.pending[0].enqueued.Add(b.maxDelay)); d > 0 {
		w.timer.Reset(d)
	wait:
		for {
			select {
			case r, ok := <-b.queue:
				if !ok {
					w.timer.Stop()
					return len(w.pending), false
				}
				w.pending = append(w.pending, r)
				open = w.gather(open, b.gatherUpTo)
				if n := b.readySize(len(w.pending)); n > 0 {
					w.timer.Stop()
					return n, open
				}
				if !open {
					w.timer.Stop()
					return len(w.pending), false
				}
			case <-w.timer.C:
				break wait
			}
		}
	}
	// The delay is over: take whatever is queued, up to max_batch_size.
	open = w.gather(open, b.maxBatch)
	return len(w.pending), open
}

// gather moves requests from the queue to pending without blocking until
// pending holds limit requests or the queue is empty. It reports whether the
// queue is still open.
func (w *worker) gather(open bool, limit int) bool {
loop:
	for open && len(w.pending) < limit {
		select {
		case r, ok := <-w.b.queue:
			if !ok {
				open = false
				break loop
			}
			w.pending = append(w.pending, r)
		default:
			break loop
		}
	}
	w.held.Store(int64(len(w.pending)))
	return open
}

// readySize returns the size of the batch to dispatch at once from n pending
// requests: max_batch_size when reached, else the largest preferred size
// reached, else 0 (wait for more).
func (b *Batcher) readySize(n int) int {
	if n >= b.maxBatch {
		return b.maxBatch
	}
	for i := len(b.preferred) - 1; i >= 0; i-- {
		if b.preferred[i] <= n {
			return b.preferred[i]
		}
	}
	return 0
}

// dispatch runs the first n pending requests as one batch and completes each
// of them; the rest stay pending for the next batch. The worker holds the
// instance's token, taken before any request moves to running (a caller
// whose deadline passes leaves a queued request at once but waits for a
// running one); dispatch gives it back once the outputs are copied.
func (w *worker) dispatch(n int) {
	b, m := w.b, w.b.metrics
	now := time.Now()
	batch := w.batch[:0]
	for _, r := range w.pending[:n] {
		if !r.state.CompareAndSwap(stateQueued, stateRunning) {
			// Abandoned by its caller at its deadline: nobody waits for it.
			b.release(r)
			continue
		}
		if !r.deadline.IsZero() && !now.Before(r.deadline) {
			m.rejectedDeadline.Inc()
			r.state.Store(stateDone)
			r.complete(ErrDeadlineExceeded)
			continue
		}
		m.queueDuration.Update(now.Sub(r.enqueued).Seconds())
		batch = append(batch, r)
	}
	rest := copy(w.pending, w.pending[n:])
	clear(w.pending[rest:])
	w.pending = w.pending[:rest]
	w.held.Store(int64(rest))
	if len(batch) == 0 {
		w.giveToken()
		return
	}

	m.batchSize.Update(float64(len(batch)))
	b.countSingles(len(batch))
	start := time.Now()
	out, err := w.run(batch)
	elapsed := time.Since(start)
	m.computeDuration.Update(elapsed.Seconds())
	if err != nil {
		err = w.failed(err)
		m.failed.Add(len(batch))
	} else if len(batch) == 1 {
		b.observeRow(elapsed)
	}
	for i, r := range batch {
		// From running too: a batch that failed before its inputs were
		// copied never reached computing (and its callers wait, as a
		// caller never gives up a running request).
		if !r.state.CompareAndSwap(stateComputing, stateDone) && !r.state.CompareAndSwap(stateRunning, stateDone) {
			// Abandoned by its caller while the batch computed.
			b.release(r)
			batch[i] = nil
			continue
		}
		if err == nil {
			copy(r.out, out[i*b.outWidth:(i+1)*b.outWidth])
		}
	}
	// The outputs are copied out of the instance: free it before any
	// caller wakes, so that a caller's next request finds it idle.
	w.giveToken()
	for _, r := range batch {
		if r != nil {
			r.complete(err)
		}
	}
	clear(batch)
	w.batch = batch[:0]
}

// runDirect runs one row on the caller's goroutine, which holds w.tok: a
// batch of one, as the worker would have dispatched it (the queue is empty
// and max_queue_delay is 0), without the two goroutine hand-offs. The row
// is computed before it returns, whatever the caller's deadline.
func (w *worker) runDirect(input, output []float32) error {
	b, m := w.b, w.b.metrics
	m.direct.Inc()
	m.queueDuration.Update(0)
	m.batchSize.Update(1)
	r := &w.directReq
	r.in = input
	start := time.Now()
	out, err := w.run(w.directBatch)
	elapsed := time.Since(start)
	r.in = nil
	m.computeDuration.Update(elapsed.Seconds())
	if err != nil {
		m.failed.Inc()
		return w.failed(err)
	}
	b.observeRow(elapsed)
	copy(output, out[:b.outWidth])
	return nil
}

// failed wraps an error of the instance's Input or Run.
func (w *worker) failed(err error) error {
	return fmt.Errorf("%w: model %q version %q instance %d: %w", ErrModelFailed, w.b.model, w.b.version, w.index, err)
}

// errInstancePanicked wraps the value of a panic in Input or Run.
var errInstancePanicked = errors.New("instance panicked")

// run copies the batch's inputs into the instance and runs it. A panic in
// the instance becomes an error, so one bad batch cannot take the process
// down from a goroutine no handler can recover.
func (w *worker) run(batch []*request) (out []float32, err error) {
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
	rows := len(batch)
	in := w.inst.Input(rows)
	if len(in) < rows*b.inWidth {
		return nil, fmt.Errorf("input buffer holds %d floats, want %d rows of %d", len(in), rows, b.inWidth)
	}
	for i, r := range batch {
		copy(in[i*b.inWidth:(i+1)*b.inWidth], r.in)
	}
	// The inputs are copied: from now on a caller may give up at its
	// deadline (see the request states).
	for _, r := range batch {
		r.state.Store(stateComputing)
	}
	out, err = w.inst.Run(rows)
	if err != nil {
		return nil, err
	}
	if len(out) < rows*b.outWidth {
		return nil, fmt.Errorf("output holds %d floats, want %d rows of %d", len(out), rows, b.outWidth)
	}
	return out, nil
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
