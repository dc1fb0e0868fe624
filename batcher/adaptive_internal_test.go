package batcher

import (
	"math"
	"testing"
	"time"
)

func TestAdaptiveCostModel(t *testing.T) {
	t.Parallel()
	a := newAdaptive(5*time.Millisecond, 64, 1, newRunCosts(64))
	if got := a.efficientSize(); got != 1 {
		t.Errorf("efficientSize before any run = %d, want 1", got)
	}
	// The heavy MLP's runs on one core (cmd/heavymodel --measure): a
	// batch of one costs a weight read, and from 4 rows on a row costs
	// 21-22µs.
	for rows, us := range map[int]int64{1: 59, 2: 62, 4: 85, 8: 174, 16: 352} {
		a.runNanos[rows].Store(us * 1000)
	}
	if got := a.efficientSize(); got != 4 {
		t.Errorf("efficientSize = %d, want 4: the smallest batch within 10%% of the best time per row", got)
	}
	for rows, want := range map[int]int64{4: 85_000, 3: 73_500, 12: 263_000, 32: 704_000} {
		if got := a.estimate(rows); got != want {
			t.Errorf("estimate(%d) = %d, want %d", rows, got, want)
		}
	}
	// While the largest size run is the cheapest per row, one more row is
	// worth trying.
	b := newAdaptive(5*time.Millisecond, 64, 1, newRunCosts(64))
	b.runNanos[1].Store(100_000)
	b.runNanos[2].Store(120_000)
	if got := b.efficientSize(); got != 3 {
		t.Errorf("efficientSize with 2 the cheapest and largest = %d, want 3", got)
	}
}

func TestAdaptivePlan(t *testing.T) {
	t.Parallel()
	a := newAdaptive(5*time.Millisecond, 64, 1, newRunCosts(64))
	a.cpu = nil
	now := time.Unix(1000, 0)
	a.nextSample.Store(now.Add(time.Hour).UnixNano()) // no sampling here
	a.want.Store(8)
	a.wantNanos.Store(int64(500 * time.Microsecond))
	a.rateBits.Store(floatBits(10_000)) // a row every 100µs
	if _, wait := a.plan(8, now, now); wait {
		t.Error("8 rows of 8 wanted: waits, want dispatch")
	}
	until, wait := a.plan(2, now, now)
	if !wait || until != now.Add(2*100*time.Microsecond) {
		t.Errorf("2 rows, the next due in 100µs: until +%s wait %t, want +200µs (overdue after 2 gaps) and wait", until.Sub(now), wait)
	}
	// The oldest has waited 3.8ms: 4.5ms - 500µs leaves 200µs, too little
	// for 6 more rows.
	if _, wait := a.plan(2, now.Add(-3800*time.Microsecond), now); wait {
		t.Error("6 rows missing, 200µs left: waits, want dispatch")
	}
	a.want.Store(1)
	if _, wait := a.plan(1, now, now); wait {
		t.Error("compute not scarce: waits, want dispatch")
	}
}

func floatBits(f float64) uint64 { return math.Float64bits(f) }
