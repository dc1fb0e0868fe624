package featurefetch_test

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/featurefetch"
	"github.com/infergate/infergate/internal/features"
	"github.com/infergate/infergate/internal/redistest"
)

// BenchmarkFetchCached is a lookup the local cache answers, merged into a
// request's features: the cost a feature view adds to a request once its
// rows are warm.
func BenchmarkFetchCached(b *testing.B) {
	f := embeddedFetcher(b, statsView(), featurefetch.SnapshotRow{Key: "C1", EventTime: time.Now(), Values: []any{24, 89.99, "month-to-month"}})
	vf := f.View("customer_stats")
	name, key := []byte("customer_id"), []byte("C1")
	s := &features.Set{}
	for deadline := time.Now().Add(10 * time.Second); ; {
		s.Reset()
		s.AddString(name, key)
		if res, _ := vf.Fetch(s, time.Time{}); res.Lookup == "cache_hit" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("no cache hit")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := &features.Set{}
		for pb.Next() {
			s.Reset()
			s.AddString(name, key)
			if _, err := vf.Fetch(s, time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFetchRedis is a lookup the cache does not answer: one entity's
// row from a real redis-server on loopback. "serial" is one request at a
// time; the others are 64 concurrent requests, whose lookups the readers
// batch into shared round trips (max_batch 128), or not (max_batch 1). It
// reports p50 and p99 per lookup in µs and the keys per round trip.
func BenchmarkFetchRedis(b *testing.B) {
	srv := redistest.Start(b)
	const entities = 1000
	writeRows(b, srv.Addr(), entities)
	for _, bc := range []struct {
		name        string
		parallelism int
		maxBatch    int
	}{{"serial", 1, 128}, {"concurrent=64/batched", 32, 128}, {"concurrent=64/unbatched", 32, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			view := statsView()
			view.NoCache = true
			cfg := featurefetch.StoreConfig{Kind: featurefetch.StoreRedis, Timeout: time.Second, MaxBatch: bc.maxBatch}
			cfg.Redis.Addr, cfg.Redis.Project = srv.Addr(), "churn"
			f, err := featurefetch.New(featurefetch.Config{Store: cfg, Views: []featurefetch.ViewConfig{view}}, quiet)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			vf := f.View("customer_stats")
			name := []byte("customer_id")
			keys := make([][]byte, entities)
			for i := range keys {
				keys[i] = []byte("C" + strconv.Itoa(i))
			}
			lat := newLatencies(b.N)
			start := f.Stats()
			b.ReportAllocs()
			b.SetParallelism(bc.parallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := &features.Set{}
				i := 0
				for pb.Next() {
					s.Reset()
					s.AddString(name, keys[i%entities])
					i++
					t0 := time.Now()
					res, err := vf.Fetch(s, time.Time{})
					lat.add(time.Since(t0))
					if err != nil || res.Lookup != "store_hit" {
						b.Errorf("%+v %v", res, err)
						return
					}
				}
			})
			b.StopTimer()
			st := f.Stats()
			p50, p99 := lat.quantiles()
			b.ReportMetric(float64(p50.Nanoseconds())/1000, "p50-µs")
			b.ReportMetric(float64(p99.Nanoseconds())/1000, "p99-µs")
			b.ReportMetric(float64(st.Keys-start.Keys)/float64(max(st.Reads-start.Reads, 1)), "keys/read")
		})
	}
}

// latencies records durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func newLatencies(n int) *latencies { return &latencies{d: make([]time.Duration, 0, n)} }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) quantiles() (p50, p99 time.Duration) {
	if len(l.d) == 0 {
		return 0, 0
	}
	slices.Sort(l.d)
	return l.d[len(l.d)/2], l.d[len(l.d)*99/100]
}
