package batcher_test

import (
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/tensor"
)

// TestDoDoesNotAllocate guards the request path: in steady state Do takes
// its request from the pool, and neither it nor the worker allocates.
func TestDoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	f := func(name string, cfg batcher.Config, deadline func() time.Time) {
		t.Helper()
		inst := newFake(testInWidth, testOutWidth, cfg.MaxBatchSize)
		inst.noRecord = true
		cfg.Instances = 1
		b, err := batcher.New(name, "1", cfg, floatSpec(testInWidth, testOutWidth), []batcher.Instance{inst})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		in := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, testInWidth}, Data: tensor.BytesOf(row(1))}}
		out := make([]tensor.Tensor, 1)
		run := func() {
			if err := b.Do(in, out, deadline()); err != nil {
				t.Fatal(err)
			}
		}
		run() // fill the pool
		if allocs := testing.AllocsPerRun(200, run); allocs != 0 {
			t.Errorf("%s: Do allocates %.1f times per call, want 0", name, allocs)
		}
	}
	none := func() time.Time { return time.Time{} }
	inAMinute := func() time.Time { return time.Now().Add(time.Minute) }
	f("unbatched", batcher.Config{MaxBatchSize: 1}, none)
	f("batched", batcher.Config{MaxBatchSize: 32}, none)
	f("with deadline", batcher.Config{MaxBatchSize: 32}, inAMinute)
	f("with delay", batcher.Config{MaxBatchSize: 32, MaxQueueDelay: 10 * time.Microsecond}, inAMinute)
	f("priority levels", batcher.Config{MaxBatchSize: 32, PriorityLevels: 3, AlwaysQueue: true}, inAMinute)
	f("deadline order", batcher.Config{MaxBatchSize: 32, Order: batcher.OrderDeadline, TargetLatency: time.Millisecond}, inAMinute)
}
