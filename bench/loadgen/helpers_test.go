package loadgen

import (
	"context"
	"sync/atomic"
	"time"
)

// targetFunc adapts a function to Target.
type targetFunc func(ctx context.Context, seq uint64) (int, error)

func (f targetFunc) Do(ctx context.Context, seq uint64) (int, error) { return f(ctx, seq) }

var _ Target = targetFunc(nil)

// instant answers 200 at once.
var instant = targetFunc(func(context.Context, uint64) (int, error) { return 200, nil })

// spin busy-waits for d: a CPU-bound target.
func spin(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}

// sleepCtx waits for d or ctx.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inFlightMeter counts the Do calls in progress and remembers the most.
type inFlightMeter struct{ cur, peak atomic.Int64 }

func (m *inFlightMeter) enter() {
	n := m.cur.Add(1)
	for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
	}
}

func (m *inFlightMeter) leave() { m.cur.Add(-1) }
