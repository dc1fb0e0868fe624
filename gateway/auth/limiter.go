package auth

import (
	"sync"
	"sync/atomic"
	"time"
)

// Limiter bounds the requests in flight (admission control): Acquire takes
// a slot, waiting a bounded time for one when all are taken, and Release
// gives it back. It is a channel semaphore, as VictoriaMetrics'
// lib/writeconcurrencylimiter: a slot is taken without blocking when one is
// free, else a request waits on a pooled timer, so that a burst is absorbed
// and a sustained overload is refused quickly instead of queueing without
// bound. It is safe for concurrent use.
type Limiter struct {
	// slots holds one value per request in flight; nil when unlimited.
	slots   chan struct{}
	maxWait time.Duration
	// unlimited counts the requests in flight when slots is nil.
	unlimited atomic.Int64

	limitReached atomic.Uint64
	timeouts     atomic.Uint64

	// timers are stopped timers for waits. The pool is the limiter's own,
	// so that its timers belong to the limiter's users (synctest bubbles
	// included).
	timers sync.Pool
}

// NewLimiter returns a limiter of maxInFlight requests in flight, whose
// Acquire waits at most maxWait for a slot (0: refuses at once when all are
// taken). maxInFlight 0 is unlimited: Acquire always succeeds at once.
func NewLimiter(maxInFlight int, maxWait time.Duration) *Limiter {
	l := &Limiter{maxWait: maxWait}
	if maxInFlight > 0 {
		l.slots = make(chan struct{}, maxInFlight)
	}
	return l
}

// Acquire takes a slot. When none is free it waits for one, at most
// min(maxWait, time until deadline) (a zero deadline is none), and then
// fails with an error of class ErrOverloaded. A free slot is taken even
// when the deadline has passed: the caller owns its deadline. Every
// successful Acquire needs one Release.
func (l *Limiter) Acquire(deadline time.Time) error {
	if l.slots == nil {
		l.unlimited.Add(1)
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	l.limitReached.Add(1)
	wait := l.maxWait
	if !deadline.IsZero() {
		wait = min(wait, time.Until(deadline))
	}
	if wait <= 0 {
		l.timeouts.Add(1)
		return errOverloaded
	}
	t := l.getTimer(wait)
	defer l.putTimer(t)
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-t.C:
		l.timeouts.Add(1)
		return errOverloaded
	}
}

// Release gives back a slot taken by Acquire.
func (l *Limiter) Release() {
	if l.slots == nil {
		if l.unlimited.Add(-1) < 0 {
			panic("BUG: Limiter.Release without Acquire")
		}
		return
	}
	select {
	case <-l.slots:
	default:
		panic("BUG: Limiter.Release without Acquire")
	}
}

// InFlight returns the number of slots taken.
func (l *Limiter) InFlight() int {
	if l.slots == nil {
		return int(l.unlimited.Load())
	}
	return len(l.slots)
}

// Max returns the number of slots; 0 is unlimited.
func (l *Limiter) Max() int { return cap(l.slots) }

// LimitReached counts the Acquire calls that found every slot taken and
// had to wait (or fail).
func (l *Limiter) LimitReached() uint64 { return l.limitReached.Load() }

// Timeouts counts the Acquire calls that failed with ErrOverloaded.
func (l *Limiter) Timeouts() uint64 { return l.timeouts.Load() }

func (l *Limiter) getTimer(d time.Duration) *time.Timer {
	if t, ok := l.timers.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

// putTimer stops t and pools it. Since Go 1.23 a stopped or reset timer
// never delivers a stale value, so no draining is needed.
func (l *Limiter) putTimer(t *time.Timer) {
	t.Stop()
	l.timers.Put(t)
}
