package batcher_test

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/tensor"
)

// BenchmarkDo measures Do against an instance that costs nothing, so it
// shows the batcher's own overhead per row: with few callers mostly direct
// runs (the copies in and out, metrics), with many mostly queueing and two
// goroutine hand-offs. callers is the number of concurrent goroutines
// calling Do; direct/row and rows/batch say how the rows ran.
func BenchmarkDo(b *testing.B) {
	for _, maxBatch := range []int{1, 32} {
		for _, callers := range []int{runtime.GOMAXPROCS(0), 64} {
			name := fmt.Sprintf("max_batch_size=%d/callers=%d", maxBatch, callers)
			b.Run(name, func(b *testing.B) { benchmarkDo(b, maxBatch, callers, 0) })
		}
	}
}

// BenchmarkDoFixedRunCost gives every Run a fixed cost of 20µs, as a model
// session has per call, to show what batching buys: the cost is shared by
// the rows of a batch.
func BenchmarkDoFixedRunCost(b *testing.B) {
	for _, maxBatch := range []int{1, 32} {
		name := fmt.Sprintf("max_batch_size=%d/callers=64", maxBatch)
		b.Run(name, func(b *testing.B) { benchmarkDo(b, maxBatch, 64, 20*time.Microsecond) })
	}
}

func benchmarkDo(b *testing.B, maxBatch, callers int, runCost time.Duration) {
	inst := newFake(testInWidth, testOutWidth, maxBatch)
	inst.noRecord = true
	inst.runCost = runCost
	cfg := batcher.Config{MaxBatchSize: maxBatch, Instances: 1}
	bt, err := batcher.New(b.Name(), "1", cfg, floatSpec(testInWidth, testOutWidth), []batcher.Instance{inst})
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	// RunParallel starts parallelism*GOMAXPROCS goroutines.
	b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		in := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, testInWidth}, Data: tensor.BytesOf(row(1))}}
		out := make([]tensor.Tensor, 1)
		for pb.Next() {
			if err := bt.Do(in, out, time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	// How the rows ran: directly on their callers' goroutines, or in
	// batches of what mean size.
	count := func(family string) float64 {
		v, _ := strconv.ParseFloat(metricValue(b, family, b.Name()), 64)
		return v
	}
	rows := count("infergate_batcher_batch_size_sum")
	b.ReportMetric(count("infergate_batcher_direct_total")/rows, "direct/row")
	b.ReportMetric(rows/count("infergate_batcher_batch_size_count"), "rows/batch")
}
