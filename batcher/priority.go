package batcher

import (
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/internal/promtext"
)

// Priority levels and the deadline order (batching.priority_levels,
// batching.order). With either, the queue is ordered: the one former the
// workers share drains the arrival channel whole and keeps its requests
// sorted by level, then by arrival or by deadline, so the batch it forms
// next starts with the most urgent request, whatever arrived before it.
// The arrival channel no longer bounds the queue then (its requests move
// into the former at once): each level counts its waiting requests and
// rejects a new one once its own queue is full.

// level is the queue state of one priority level.
type level struct {
	size int64 // the most requests that may wait
	// queued counts the requests accepted and not yet taken into a batch
	// (or dropped as expired or abandoned); rows counts their rows, the
	// work ahead of a new request.
	queued, rows atomic.Int64

	// With more than one level (nil otherwise): requests rejected because
	// the level's queue was full, and their wait.
	shed          *metrics.Counter
	queueDuration *metrics.PrometheusHistogram
}

// levelOf maps a request's priority to its level index (0 is level 1, the
// highest): 0 and priorities above the levels are the default, as in
// Triton.
func (b *Batcher) levelOf(priority int) uint8 {
	if priority < 1 || priority > len(b.levels) {
		return b.defaultLevel
	}
	return uint8(priority - 1)
}

// rowsAhead is the rows queued that a new request of level lv waits
// behind: every higher level's, and, in arrival order, its own level's.
func (b *Batcher) rowsAhead(lv uint8) int64 {
	last := int(lv)
	if b.byDeadline {
		last-- // its place in its level depends on its deadline: count none
	}
	var n int64
	for i := 0; i <= last; i++ {
		n += b.levels[i].rows.Load()
	}
	return n
}

// admit counts r into its level's queue, or reports the level full.
func (b *Batcher) admit(r *request) bool {
	lv := &b.levels[r.level]
	if b.ordered && lv.queued.Add(1) > lv.size {
		lv.queued.Add(-1)
		if lv.shed != nil {
			lv.shed.Inc()
		}
		return false
	}
	lv.rows.Add(int64(r.rows))
	return true
}

// unadmit takes r out of its level's counts: it left the queue.
func (b *Batcher) unadmit(r *request) {
	lv := &b.levels[r.level]
	lv.rows.Add(-int64(r.rows))
	if b.ordered {
		lv.queued.Add(-1)
	}
}

// insert puts r in f.pending at its place: after every request of its
// level or a higher one and, by deadline, before the first of its level
// with a later deadline (or none).
func (f *former) insert(r *request) {
	lo, hi := 0, len(f.pending)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if f.goesAfter(f.pending[mid], r) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	f.pending = append(f.pending, nil)
	copy(f.pending[lo+1:], f.pending[lo:])
	f.pending[lo] = r
}

// goesAfter reports whether queued request q is served after r.
func (f *former) goesAfter(q, r *request) bool {
	if q.level != r.level {
		return q.level > r.level
	}
	return f.byDeadline && earlier(r.deadline, q.deadline)
}

// earlier reports whether deadline a comes before b, none being last.
func earlier(a, b time.Time) bool {
	return !a.IsZero() && (b.IsZero() || a.Before(b))
}

// rescue moves lower levels' requests to the front of f.pending while
// they are owed rows (the starvation credit), the oldest first, up to
// limit rows: the batch takes them, then fills with the higher levels'
// rows as usual. It returns how many it moved.
func (f *former) rescue(limit int) (moved int) {
	if f.credit < 1 || len(f.pending) < 2 {
		return 0
	}
	top := f.pending[0].level
	for rows := 0; f.credit >= 1 && moved < len(f.pending); moved++ {
		pick := -1
		for i := moved; i < len(f.pending); i++ {
			if r := f.pending[i]; r.level > top && (pick < 0 || r.enqueued.Before(f.pending[pick].enqueued)) {
				pick = i
			}
		}
		if pick < 0 || (moved > 0 && rows+f.pending[pick].rows > limit) {
			break
		}
		r := f.pending[pick]
		copy(f.pending[moved+1:pick+1], f.pending[moved:pick])
		f.pending[moved] = r
		f.credit -= float64(r.rows)
		rows += r.rows
	}
	return moved
}

// lowerWaiting reports whether f.pending holds requests of more than one
// level (it is sorted: the first is of the highest level, the last of the
// lowest).
func (f *former) lowerWaiting() bool {
	n := len(f.pending)
	return n > 1 && f.pending[n-1].level > f.pending[0].level
}

// earn adds the starvation credit of a batch of rows rows dispatched while
// lower levels waited: a share of them, up to a batch's worth.
func (f *former) earn(rows, maxBatch int) {
	f.credit = min(f.credit+f.share*float64(rows), float64(maxBatch))
}

// resort puts back in order the requests rescue moved that the batch did
// not take (of another shape, or beyond its rows).
func (f *former) resort() {
	slices.SortStableFunc(f.pending, func(q, r *request) int {
		switch {
		case f.goesAfter(q, r):
			return 1
		case f.goesAfter(r, q):
			return -1
		}
		return 0
	})
}

// levelMetrics creates the per-level series of a batcher with more than
// one level.
func (b *Batcher) levelMetrics(s *metrics.Set, labels string) {
	if len(b.levels) < 2 {
		return
	}
	for i := range b.levels {
		lv := &b.levels[i]
		l := labels + `,level="` + strconv.Itoa(i+1) + `"`
		lv.shed = s.NewCounter(`infergate_batcher_level_rejected_total{` + l + `,reason="queue_full"}`)
		lv.queueDuration = s.NewPrometheusHistogramExt(`infergate_batcher_level_queue_duration_seconds{`+l+`}`, promtext.LatencyBuckets)
		s.NewGauge(`infergate_batcher_level_queue_depth{`+l+`}`, func() float64 { return float64(lv.queued.Load()) })
	}
}
