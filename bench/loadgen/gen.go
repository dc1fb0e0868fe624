package loadgen

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// gen is the state the load's goroutines share.
type gen struct {
	t      Target
	l      Load
	parent context.Context // Run's ctx: once done, nothing more is sent
	ctx    context.Context // passed to Do; cancelled once the run gives up waiting
	rec    *recorder
	base   time.Time
	wg     sync.WaitGroup // workers
	abort  atomic.Bool    // start no more requests, queued ones included
	stopc  chan struct{}  // closed at the end of the last window

	// closed model
	stopping atomic.Bool
	seq      atomic.Uint64

	// open model
	open *openGen
}

func newGen(parent, ctx context.Context, t Target, l Load) *gen {
	g := &gen{t: t, l: l, parent: parent, ctx: ctx, rec: newRecorder(), stopc: make(chan struct{})}
	if l.Mode == Open {
		g.open = newOpenGen(g)
		g.rec.onRecord = g.open.release
	}
	return g
}

// now is the monotonic time since the start of the run, ns.
func (g *gen) now() int64 { return int64(time.Since(g.base)) }

func (g *gen) start() {
	g.base = time.Now()
	if g.open != nil {
		g.open.start()
		return
	}
	g.wg.Add(g.l.Concurrency)
	for range g.l.Concurrency {
		go g.client(g.rec.newShard())
	}
}

// client is one closed-model client: send, wait, record, repeat.
func (g *gen) client(s *shard) {
	defer g.wg.Done()
	for !g.stopping.Load() && g.parent.Err() == nil {
		seq := g.seq.Add(1) - 1
		s.sent.Add(1)
		t0 := g.now()
		status, err := g.t.Do(g.ctx, seq)
		g.rec.record(s, g.now()-t0, -1, status, err)
	}
}

// stop ends sending: no request intended at or after endNs starts. It
// returns once no goroutine will start another request.
func (g *gen) stop(endNs int64) {
	g.stopping.Store(true)
	if g.open != nil {
		g.open.endAt.Store(endNs)
	}
	close(g.stopc)
	if g.open != nil {
		<-g.open.done
	}
}

// inFlight is how many requests are unanswered: sent or, in the open
// model, due and queued.
func (g *gen) inFlight() uint64 {
	if g.open != nil {
		return uint64(max(g.open.inFlight.Load(), 0))
	}
	sent, done := g.rec.counts()
	return sent - done
}

type job struct {
	seq uint64
	at  int64 // intended send time, ns since start
}

// openGen is the open model: one scheduler goroutine hands due requests to
// a pool of workers and never waits for answers.
type openGen struct {
	g         *gen
	sched     *schedule
	jobs      chan job
	cap       int64
	workers   int64 // started; owned by the scheduler
	inFlight  atomic.Int64
	slotFreed chan struct{}
	endAt     atomic.Int64 // no request intended at or after it is sent
	capWaits  atomic.Uint64
	done      chan struct{} // closed when the scheduler has exited
}

func newOpenGen(g *gen) *openGen {
	o := &openGen{
		g:         g,
		sched:     newSchedule(g.l),
		jobs:      make(chan job, g.l.Concurrency),
		cap:       int64(g.l.Concurrency),
		slotFreed: make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	o.endAt.Store(math.MaxInt64)
	return o
}

func (o *openGen) start() {
	// Enough workers for 1ms of requests, 16 to 1024; more start on demand.
	n := min(o.cap, int64(min(max(o.g.l.Rate/1000, 16), 1024)))
	for range n {
		o.startWorker()
	}
	go o.run()
}

func (o *openGen) startWorker() {
	o.workers++
	o.g.wg.Add(1)
	go o.worker(o.g.rec.newShard())
}

func (o *openGen) worker(s *shard) {
	g := o.g
	defer g.wg.Done()
	for j := range o.jobs {
		if g.abort.Load() {
			continue // never sent; stays in flight, so counted unfinished
		}
		if g.parent.Err() != nil {
			o.inFlight.Add(-1) // cancelled before it was sent: not counted
			continue
		}
		start := g.now()
		s.sent.Add(1)
		status, err := g.t.Do(g.ctx, j.seq)
		end := g.now()
		g.rec.record(s, end-j.at, start-j.at, status, err)
	}
}

// release frees an in-flight slot; it runs inside the recorder's busy
// section of each recorded completion.
func (o *openGen) release() {
	if o.inFlight.Add(-1) == o.cap-1 {
		select {
		case o.slotFreed <- struct{}{}:
		default:
		}
	}
}

// run is the scheduler: it sends every request whose intended time has
// come, in a batch, then sleeps until the next one is due.
func (o *openGen) run() {
	defer close(o.done)
	defer close(o.jobs)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := o.g.now()
		for at := o.sched.peek(); at <= now; at = o.sched.peek() {
			if at >= o.endAt.Load() || o.g.parent.Err() != nil || !o.dispatch(at) {
				return
			}
			o.sched.advance()
		}
		if !o.sleepUntil(o.sched.peek(), timer) {
			return
		}
	}
}

// preciseSleepMax is the longest wait left to preciseSleep; longer ones
// first wait on a timer, which can be interrupted but wakes up to a few ms
// late, until timerMargin before the intended time.
const (
	preciseSleepMax = 3 * time.Millisecond
	timerMargin     = 2500 * time.Microsecond
)

// sleepUntil waits until at (ns since start). It returns false if the run
// stopped first.
func (o *openGen) sleepUntil(at int64, timer *time.Timer) bool {
	for {
		d := time.Duration(at - o.g.now())
		switch {
		case o.g.stopping.Load():
			return false
		case d <= 0:
			return true
		case d <= preciseSleepMax:
			preciseSleep(d)
			continue
		}
		timer.Reset(d - timerMargin)
		select {
		case <-timer.C:
		case <-o.g.stopc:
			return false
		case <-o.g.parent.Done():
			return false
		}
	}
}

// dispatch hands request k, intended at at, to a worker, first waiting for
// an in-flight slot if the cap is reached. It returns false if the run
// stopped while waiting.
func (o *openGen) dispatch(at int64) bool {
	if o.inFlight.Load() >= o.cap {
		if at >= int64(o.g.l.Warmup) {
			o.capWaits.Add(1)
		}
		for o.inFlight.Load() >= o.cap {
			select {
			case <-o.slotFreed:
			case <-o.g.stopc:
				return false
			}
		}
	}
	if n := o.inFlight.Add(1); n > o.workers && o.workers < o.cap {
		o.startWorker()
	}
	o.jobs <- job{seq: o.sched.k, at: at}
	return true
}
