//go:build unix

package loadgen

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRun runs l against a no-op target until it has answered b.N
// requests, and reports the process's CPU time per request: the
// generator's own cost, the target costing nothing.
func benchRun(b *testing.B, l Load) {
	b.ReportAllocs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	target := int64(b.N)
	noop := targetFunc(func(context.Context, uint64) (int, error) {
		if n.Add(1) == target {
			cancel()
		}
		return 200, nil
	})
	l.Window, l.MaxWindows = time.Hour, 1
	cpu0 := cpuTime(b)
	b.ResetTimer()
	r, _ := Run(ctx, noop, l, nil)
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/req")
	if r.Completed < uint64(b.N) {
		b.Fatalf("completed %d of %d", r.Completed, b.N)
	}
	if l.Mode == Open {
		b.ReportMetric(float64(r.SendLag.Microseconds()), "lag-p99-µs")
	}
}

// BenchmarkClosedNoop: the closed model's cost per request at saturation,
// one client per CPU.
func BenchmarkClosedNoop(b *testing.B) {
	benchRun(b, Load{Mode: Closed, Concurrency: 2})
}

// BenchmarkOpenNoop: the open model at fixed rates; ns/op is the schedule's
// interval, cpu-ns/req the generator's cost.
func BenchmarkOpenNoop(b *testing.B) {
	for _, rate := range []float64{10_000, 100_000, 500_000} {
		b.Run(formatRate(rate), func(b *testing.B) {
			benchRun(b, Load{Mode: Open, Rate: rate})
		})
	}
}

func formatRate(r float64) string {
	switch {
	case r >= 1000:
		return itoa(int(r/1000)) + "k/s"
	default:
		return itoa(int(r)) + "/s"
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// BenchmarkRecord: one completion's bookkeeping, from many goroutines.
func BenchmarkRecord(b *testing.B) {
	b.ReportAllocs()
	rec := newRecorder()
	into := newStats()
	b.RunParallel(func(pb *testing.PB) {
		s := rec.newShard()
		var i int64
		for pb.Next() {
			i++
			rec.record(s, 1000+i%5000, i%100, 200, nil)
		}
	})
	b.StopTimer()
	rec.rotate(into, true)
	if into.completed != uint64(b.N) {
		b.Fatalf("recorded %d of %d", into.completed, b.N)
	}
}

// TestRecordAllocs guards the hot path: recording a completion allocates
// nothing, flushes included.
func TestRecordAllocs(t *testing.T) {
	rec := newRecorder()
	s := rec.newShard()
	var i int64
	if a := testing.AllocsPerRun(10*bufSamples, func() {
		i++
		rec.record(s, i*1000, i, 200, nil)
	}); a != 0 {
		t.Errorf("record: %.2f allocs, want 0", a)
	}
}
