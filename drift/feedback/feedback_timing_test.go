package feedback

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRecord is the request path: every goroutine records its own
// requests' predictions into one store of the default capacity, as the
// gateway's handlers do; the table is full after the first 100 000.
func BenchmarkRecord(b *testing.B) {
	s := newTestStore(b, Config{})
	tr := s.Tracker("churn", "1.0.0")
	var worker atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer() // not the table's allocation
	b.RunParallel(func(pb *testing.PB) {
		// ids like a gateway's: a worker prefix and a counter.
		id := strconv.AppendUint(append(make([]byte, 0, 64), "req-"...), worker.Add(1), 10)
		id = append(id, '-')
		prefix := len(id)
		now := time.Now()
		var i uint64
		for pb.Next() {
			id = strconv.AppendUint(id[:prefix], i, 10)
			i++
			s.Record(id, tr, 0.42, now)
		}
	})
}

// BenchmarkRecordSerial is one goroutine's cost, without contention.
func BenchmarkRecordSerial(b *testing.B) {
	s := newTestStore(b, Config{})
	tr := s.Tracker("churn", "1.0.0")
	id := []byte("0123456789abcdef0123456789abcdef") // a UUID's length
	now := time.Now()
	b.ReportAllocs()
	var i int
	for b.Loop() {
		id = strconv.AppendInt(id[:20], int64(i), 10)
		i++
		s.Record(id, tr, 0.42, now)
	}
}

// BenchmarkLabel is the feedback path: labels for recorded predictions, a
// pool of them recorded again (outside the timer) once all are labelled.
func BenchmarkLabel(b *testing.B) {
	const pool = 1 << 12
	s := newTestStore(b, Config{Capacity: pool * 32}) // sparse: no set overflows
	tr := s.Tracker("churn", "1.0.0")
	ids := make([][]byte, pool)
	for i := range ids {
		ids[i] = []byte("req-" + strconv.Itoa(i) + "-0123456789abcdef")
	}
	now := time.Now()
	record := func() {
		for i, id := range ids {
			s.Record(id, tr, float64(i%100)/100, now)
		}
	}
	record()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%pool == 0 && i > 0 {
			b.StopTimer()
			record()
			b.StartTimer()
		}
		if _, err := s.Label(ids[i%pool], bin(i%3 == 0), now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport is a tracker's report (a scrape, an admin request): off
// the request path.
func BenchmarkReport(b *testing.B) {
	s := newTestStore(b, Config{})
	tr := s.Tracker("churn", "1.0.0")
	for i := range 1000 {
		tr.addBinary(float64(i)/1000, i%3 == 0)
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Report()
	}
}
