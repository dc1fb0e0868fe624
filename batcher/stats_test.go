package batcher_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infergate/infergate/batcher"
)

// TestStats: the statistics count what ran: requests answered and their
// waits, rows and executions, each batch size's executions (once per
// batch, and once per request in the totals), and a request the full queue
// turned away as a failure.
func TestStats(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		f.gate = make(chan struct{})
		f.sleep = time.Millisecond
		b := start(t, batcher.Config{MaxBatchSize: 4, MaxQueueSize: 3, AlwaysQueue: true}, f)
		first := goDo(t, b, 1, time.Time{})
		synctest.Wait() // running alone, held at the gate
		queued := []<-chan error{goDo(t, b, 2, time.Time{}), goDo(t, b, 3, time.Time{}), goDo(t, b, 4, time.Time{})}
		synctest.Wait()
		if err := do(t, b, 5, time.Time{}); !errors.Is(err, batcher.ErrQueueFull) {
			t.Fatalf("a fourth queued request: %v, want ErrQueueFull", err)
		}
		time.Sleep(2 * time.Millisecond) // the three wait 2ms more
		close(f.gate)
		mustSucceed(t, first)
		mustSucceed(t, queued...)

		s := b.Stats()
		if s.Success.Count != 4 || s.Fail.Count != 1 || s.Fail.Total != 0 || s.Inferences != 4 || s.Executions != 2 || s.Queue.Count != 4 {
			t.Errorf("stats %+v: want 4 answered, 1 turned away, 4 rows, 2 executions", s)
		}
		if len(s.Batches) != 2 || s.Batches[0].Size != 1 || s.Batches[1].Size != 3 || s.Batches[1].ComputeInfer != (batcher.Duration{Count: 1, Total: time.Millisecond}) {
			t.Errorf("batch stats %+v: want one execution of 1 row and one of 3, each 1ms", s.Batches)
		}
		// The first's run took 3ms (held 2ms at the gate, then 1ms); the
		// three's took 1ms, counted once for each of them.
		if s.ComputeInfer != (batcher.Duration{Count: 4, Total: 6 * time.Millisecond}) {
			t.Errorf("compute_infer %+v", s.ComputeInfer)
		}
		if s.Queue.Total < 3*2*time.Millisecond || s.Success.Total < s.Queue.Total+s.ComputeInfer.Total-2*time.Millisecond {
			t.Errorf("queue %v, success %v: the three queued waited at least 2ms each", s.Queue, s.Success)
		}
		if !s.LastInference.Equal(time.Now()) {
			t.Errorf("last inference %v, now %v", s.LastInference, time.Now())
		}
	})
}
