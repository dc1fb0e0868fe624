package loadgen

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The recorder gathers completions from many workers without a shared lock
// per request. Time is cut into epochs (one per window, and more often for
// progress reports); each worker owns a shard with one small sample buffer
// per epoch parity, and writes only the current epoch's buffer, inside a
// "busy" section announced on its shard. To close an epoch the collector
// moves the epoch counter on and waits until no shard is busy in the old
// epoch (a few ns at most: sections never block); the old buffers are then
// quiescent, and the collector drains them. A full buffer is flushed by its
// worker, inside its busy section, into the epoch's shared stats under that
// epoch's mutex: one lock per bufSamples requests.
//
// Per-worker HDR histograms were the alternative: 188 KB each at 1µs–1h and
// 3 digits, so 1.9 GB for the open model's default 10000 workers.

const (
	bufSamples = 32
	// epochClosed ends recording: completions after it are not counted
	// (Run has returned, or is about to).
	epochClosed = ^uint64(0)
)

type sample struct {
	latNs  int64
	lagUs  int32 // -1: not measured (closed model)
	status int32
	err    error
}

type sampleBuf struct {
	n       int
	samples [bufSamples]sample
}

// shard is one worker's recording state. Only its worker writes busy, sent,
// done and bufs[e&1] for the current epoch e.
type shard struct {
	busy atomic.Uint64 // the epoch being recorded into, 0 outside a record
	sent atomic.Uint64 // Do calls started
	done atomic.Uint64 // completions recorded
	bufs [2]sampleBuf
}

// epochStats is an epoch's shared stats, filled by flushes of full buffers.
type epochStats struct {
	mu sync.Mutex
	s  *stats
}

type recorder struct {
	epoch  atomic.Uint64 // starts at 1
	acc    [2]epochStats
	mu     sync.Mutex // guards shards
	shards []*shard
	// onRecord runs inside the busy section of each recorded completion
	// (the open model releases its in-flight slot there), so that after
	// close every completion was either recorded and released, or neither.
	onRecord func()
}

func newRecorder() *recorder {
	r := &recorder{}
	r.epoch.Store(1)
	r.acc[0].s = newStats()
	r.acc[1].s = newStats()
	return r
}

func (r *recorder) newShard() *shard {
	s := &shard{}
	r.mu.Lock()
	r.shards = append(r.shards, s)
	r.mu.Unlock()
	return s
}

// record counts one completion on s. It returns false once the recorder is
// closed: the completion was not counted.
func (r *recorder) record(s *shard, latNs, lagNs int64, status int, err error) bool {
	var e uint64
	for {
		e = r.epoch.Load()
		if e == epochClosed {
			return false
		}
		s.busy.Store(e)
		if r.epoch.Load() == e {
			break
		}
		s.busy.Store(0)
	}
	b := &s.bufs[e&1]
	lagUs := int32(-1)
	if lagNs >= 0 {
		lagUs = int32(min(lagNs/1000, 1<<31-1))
	}
	b.samples[b.n] = sample{latNs: max(latNs, 0), lagUs: lagUs, status: int32(status), err: err}
	b.n++
	if b.n == bufSamples {
		a := &r.acc[e&1]
		a.mu.Lock()
		b.drainTo(a.s)
		a.mu.Unlock()
	}
	s.done.Add(1)
	if r.onRecord != nil {
		r.onRecord()
	}
	s.busy.Store(0)
	return true
}

func (b *sampleBuf) drainTo(st *stats) {
	for i := range b.samples[:b.n] {
		x := &b.samples[i]
		lagNs := int64(-1)
		if x.lagUs >= 0 {
			lagNs = int64(x.lagUs) * 1000
		}
		st.add(x.latNs, lagNs, int(x.status), x.err)
		x.err = nil
	}
	b.n = 0
}

// rotate closes the current epoch, opening the next (or closing recording
// for good when last), and adds everything recorded in the closed epoch to
// into. Only the collector goroutine calls it.
func (r *recorder) rotate(into *stats, last bool) {
	e := r.epoch.Load()
	next := e + 1
	if last {
		next = epochClosed
	}
	r.epoch.Store(next)
	r.mu.Lock()
	shards := r.shards
	r.mu.Unlock()
	for _, s := range shards {
		for s.busy.Load() == e {
			runtime.Gosched()
		}
	}
	a := &r.acc[e&1]
	for _, s := range shards {
		s.bufs[e&1].drainTo(a.s)
	}
	into.merge(a.s)
	a.s.reset()
}

// counts sums the shards' counters.
func (r *recorder) counts() (sent, done uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.shards {
		sent += s.sent.Load()
		done += s.done.Load()
	}
	return sent, done
}
