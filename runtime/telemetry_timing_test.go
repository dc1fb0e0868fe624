package runtime

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHealthy is the check a batcher worker makes before each batch:
// one atomic load and a bounds check, no allocation, and no contention when
// every worker asks at once.
func BenchmarkHealthy(b *testing.B) {
	tel := NewTelemetry(StaticInventory(twoGPUs()), time.Hour, nil)
	tel.Start()
	defer func() { _ = tel.Close() }()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if tel.Healthy(n & 1) {
				n++
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := 0
			for pb.Next() {
				if tel.Healthy(n & 1) {
					n++
				}
			}
		})
	})
}

// BenchmarkSessionRunWithTelemetry is a worker's batch (the health check,
// then Run) while a Telemetry samples in the background every millisecond,
// against Run alone: sampling must cost the request path nothing measurable.
func BenchmarkSessionRunWithTelemetry(b *testing.B) {
	e := testEnv(b)
	s := testSession(b, e, newLogistic(1, 14).model(b), SessionOptions{MaxBatch: benchMaxBatch})
	for _, batch := range []int{1, benchMaxBatch} {
		shape := fillRows(b, s, batch)
		b.Run(fmt.Sprintf("telemetry=off/batch=%d", batch), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Input(0, shape); err != nil {
					b.Fatal(err)
				}
				if err := s.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("telemetry=on/batch=%d", batch), func(b *testing.B) {
			inv := &countedInventory{Inventory: StaticInventory(twoGPUs())}
			tel := NewTelemetry(inv, time.Millisecond, nil)
			tel.Start()
			b.ReportAllocs()
			for b.Loop() {
				if !tel.Healthy(0) {
					b.Fatal("device 0 unhealthy")
				}
				if _, err := s.Input(0, shape); err != nil {
					b.Fatal(err)
				}
				if err := s.Run(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = tel.Close()
			b.ReportMetric(float64(inv.calls.Load())/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// countedInventory counts the samples taken, to show the sampler ran.
type countedInventory struct {
	Inventory
	calls atomic.Int64
}

func (c *countedInventory) Devices() ([]DeviceInfo, error) {
	c.calls.Add(1)
	return c.Inventory.Devices()
}
