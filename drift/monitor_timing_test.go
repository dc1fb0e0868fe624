package drift

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/features"
)

// BenchmarkObserveParallel is the request path: every goroutine observes
// its own requests into one monitor, as the gateway's handlers do.
func BenchmarkObserveParallel(b *testing.B) {
	for _, rate := range []float64{0.1, 1} {
		b.Run(fmt.Sprintf("sample=%g", rate), func(b *testing.B) {
			m := newTestMonitor(b, MonitorConfig{SampleRate: rate})
			m.now = time.Now
			rows := genRows(rand.New(rand.NewPCG(1, 2)), 1024, 0, refMix)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var s features.Set
				i := 0
				for pb.Next() {
					r := rows[i&1023]
					i++
					r.fill(&s)
					m.Observe(&s, r.score())
				}
			})
		})
	}
}

// BenchmarkObserve is one goroutine's cost, without contention.
func BenchmarkObserve(b *testing.B) {
	for _, rate := range []float64{0.1, 1} {
		b.Run(fmt.Sprintf("sample=%g", rate), func(b *testing.B) {
			m := newTestMonitor(b, MonitorConfig{SampleRate: rate})
			m.now = time.Now
			var s features.Set
			row{a: 0.3, b: -1, c: "y"}.fill(&s)
			b.ReportAllocs()
			for b.Loop() {
				m.Observe(&s, 0.4)
			}
		})
	}
}

// BenchmarkReport is the cost of one report (a scrape, a watcher check):
// off the request path.
func BenchmarkReport(b *testing.B) {
	m := newTestMonitor(b, MonitorConfig{SampleRate: 1})
	feed(m, genRows(rand.New(rand.NewPCG(1, 2)), 10000, 0, refMix), testStart)
	b.ReportAllocs()
	for b.Loop() {
		m.Report(testStart)
	}
}
