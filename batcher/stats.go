package batcher

import (
	"sync/atomic"
	"time"
)

// Stats are a batcher's cumulative counts and durations since it started,
// what Triton's statistics extension reports per model version. A
// request's durations count once per request: a batch of 8 rows from 3
// requests adds its compute time 3 times, as Triton does.
type Stats struct {
	// LastInference is when the last batch ended; zero before any.
	LastInference time.Time
	// Inferences are the rows computed; Executions the batches run.
	Inferences, Executions int64
	// Success: requests answered, from their arrival to their answer.
	// Fail: requests that got an error (the model failed, or the queue
	// turned them away), and the time of those that ran.
	Success, Fail Duration
	// Queue: the requests' waits from arrival to dispatch.
	Queue Duration
	// ComputeInput copies the inputs into the instance, ComputeInfer runs
	// it, ComputeOutput copies each request's rows of the outputs back.
	ComputeInput, ComputeInfer, ComputeOutput Duration
	// Batches are the executions by batch size (rows), sizes never run
	// left out, smallest first; their durations count once per batch.
	Batches []BatchStats
}

// Duration is a count and the total time of what it counts.
type Duration struct {
	Count int64
	Total time.Duration
}

// BatchStats are the executions of one batch size.
type BatchStats struct {
	Size                                      int
	ComputeInput, ComputeInfer, ComputeOutput Duration
}

// counter is a Duration updated with atomics.
type counter struct{ n, ns atomic.Int64 }

func (c *counter) add(n int, d time.Duration) {
	c.n.Add(int64(n))
	c.ns.Add(int64(d))
}

func (c *counter) load() Duration {
	return Duration{Count: c.n.Load(), Total: time.Duration(c.ns.Load())}
}

// batchCounters are one batch size's executions.
type batchCounters struct{ in, infer, out counter }

// stats accumulates a batcher's Stats.
type stats struct {
	last                 atomic.Int64 // unix nanoseconds
	rows, executions     atomic.Int64
	success, fail, queue counter
	input, infer, output counter
	bySize               []batchCounters // by batch size, 1..maxBatch
}

func newStats(maxBatch int) *stats { return &stats{bySize: make([]batchCounters, maxBatch+1)} }

// ran records one execution of rows rows for requests requests, its three
// phases taking in, infer and out, ending at end; size is its batch size
// (1 for a model whose requests do not batch, whatever their rows).
func (s *stats) ran(size, rows, requests int, in, infer, out time.Duration, end time.Time) {
	s.last.Store(end.UnixNano())
	s.rows.Add(int64(rows))
	s.executions.Add(1)
	s.input.add(requests, in*time.Duration(requests))
	s.infer.add(requests, infer*time.Duration(requests))
	s.output.add(requests, out*time.Duration(requests))
	if size >= 1 && size < len(s.bySize) {
		c := &s.bySize[size]
		c.in.add(1, in)
		c.infer.add(1, infer)
		c.out.add(1, out)
	}
}

// batchSize is an execution's batch size for its stats: its rows, or 1 for
// a model whose requests do not batch.
func (b *Batcher) batchSize(rows int) int {
	if !b.spec.Batch {
		return 1
	}
	return rows
}

// Stats returns the batcher's statistics so far.
func (b *Batcher) Stats() Stats {
	s := b.stats
	out := Stats{
		Inferences: s.rows.Load(), Executions: s.executions.Load(),
		Success: s.success.load(), Fail: s.fail.load(), Queue: s.queue.load(),
		ComputeInput: s.input.load(), ComputeInfer: s.infer.load(), ComputeOutput: s.output.load(),
	}
	// Requests the batcher turned away never ran: counted, without time.
	m := b.metrics
	out.Fail.Count += int64(m.rejectedFull.Get() + m.rejectedDeadline.Get() + m.rejectedClosed.Get() + m.rejectedUnreachable.Get())
	if ns := s.last.Load(); ns != 0 {
		out.LastInference = time.Unix(0, ns)
	}
	for size := 1; size < len(s.bySize); size++ {
		c := &s.bySize[size]
		bs := BatchStats{Size: size, ComputeInput: c.in.load(), ComputeInfer: c.infer.load(), ComputeOutput: c.out.load()}
		if bs.ComputeInfer.Count > 0 {
			out.Batches = append(out.Batches, bs)
		}
	}
	return out
}
