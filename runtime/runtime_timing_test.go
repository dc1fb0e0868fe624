package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchModels are the shapes the gateway serves most: a 14-feature logistic
// regression and a small MLP (14 → 32 Relu → 1 Sigmoid).
func benchModels() []struct {
	name string
	p    predictor
} {
	return []struct {
		name string
		p    predictor
	}{
		{"logistic14", newLogistic(1, 14)},
		{"mlp14x32", newMLP(2, 14, 32)},
	}
}

const benchMaxBatch = 64

// fillRows readies rows rows of random features and returns the shape to
// give Input for them.
func fillRows(b *testing.B, s *Session, rows int) []int64 {
	rng := rand.New(rand.NewPCG(1, 1))
	in := floatRows(b, s, rows)[0]
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	return rowShape(b, s, 0, rows)
}

// BenchmarkRun is the cost of one Run by the worker that owns the session:
// what a batch pays for inference, without queueing or copying features in
// (Input with the same shape only returns the buffer).
func BenchmarkRun(b *testing.B) {
	e := testEnv(b)
	for _, m := range benchModels() {
		s := testSession(b, e, m.p.model(b), SessionOptions{MaxBatch: benchMaxBatch})
		for _, batch := range []int{1, benchMaxBatch} {
			b.Run(fmt.Sprintf("model=%s/batch=%d", m.name, batch), func(b *testing.B) {
				shape := fillRows(b, s, batch)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Input(0, shape); err != nil {
						b.Fatal(err)
					}
					if err := s.Run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
			})
		}
	}
}

// BenchmarkRunParallel runs one session per goroutine, as several instances
// of a model each driven by its own batcher worker do: it shows how Run
// scales across cores when sessions share nothing but the environment.
func BenchmarkRunParallel(b *testing.B) {
	e := testEnv(b)
	for _, m := range benchModels() {
		path := m.p.model(b)
		for _, batch := range []int{1, benchMaxBatch} {
			b.Run(fmt.Sprintf("model=%s/batch=%d", m.name, batch), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					s, err := e.NewSession(path, SessionOptions{MaxBatch: benchMaxBatch})
					if err != nil {
						b.Error(err)
						return
					}
					defer func() { _ = s.Close() }()
					shape := fillRows(b, s, batch)
					for pb.Next() {
						if _, err := s.Input(0, shape); err != nil {
							b.Error(err)
							return
						}
						if err := s.Run(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
