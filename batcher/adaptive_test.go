package batcher_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/tensor"
)

// costlyFakes returns n fakes whose runs take 200µs plus 10µs per row (on
// the fake clock): a model whose batches pay, as the heavy MLP's do.
func costlyFakes(n, maxBatch int) []*fakeInstance {
	fakes := make([]*fakeInstance, n)
	for i := range fakes {
		fakes[i] = newFake(testInWidth, testOutWidth, maxBatch)
		fakes[i].sleep, fakes[i].sleepPerRow = 200*time.Microsecond, 10*time.Microsecond
		fakes[i].noRecord = true
	}
	return fakes
}

// loadStats is what a load did: the requests' latencies and the batches
// the instances ran.
type loadStats struct {
	latencies     []time.Duration
	batches, rows int
}

func (s loadStats) meanBatch() float64 { return float64(s.rows) / float64(s.batches) }

func (s loadStats) maxLatency() time.Duration { return slices.Max(s.latencies) }

// countBatches sums the batches the fakes ran.
func (s *loadStats) countBatches(fakes []*fakeInstance) {
	for _, f := range fakes {
		s.batches += int(f.runs.Load())
		s.rows += int(f.runRows.Load())
	}
}

// openLoop sends n one-row requests through b, one every gap, and waits
// for them all.
func openLoop(t *testing.T, b *batcher.Batcher, fakes []*fakeInstance, n int, gap time.Duration) loadStats {
	t.Helper()
	s := loadStats{latencies: make([]time.Duration, n)}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			t0 := time.Now()
			if err := do(t, b, i, time.Time{}); err != nil {
				t.Errorf("request %d: %s", i, err)
			}
			s.latencies[i] = time.Since(t0)
		})
		time.Sleep(gap)
	}
	wg.Wait()
	s.countBatches(fakes)
	return s
}

// closedLoop runs clients clients, each sending n one-row requests one
// after another.
func closedLoop(t *testing.T, b *batcher.Batcher, fakes []*fakeInstance, clients, n int) loadStats {
	t.Helper()
	s := loadStats{latencies: make([]time.Duration, clients*n)}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range n {
				t0 := time.Now()
				if err := do(t, b, c*n+i, time.Time{}); err != nil {
					t.Errorf("client %d request %d: %s", c, i, err)
				}
				s.latencies[c*n+i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	s.countBatches(fakes)
	return s
}

func adaptiveConfig(target time.Duration) batcher.Config {
	return batcher.Config{MaxBatchSize: 32, TargetLatency: target}
}

// startAdaptive starts a Batcher over fakes that judges compute by its
// instances alone (the fake clock says nothing of real CPU time).
func startAdaptive(t *testing.T, cfg batcher.Config, fakes []*fakeInstance) *batcher.Batcher {
	b := start(t, cfg, fakes...)
	batcher.IgnoreProcessCPU(b)
	return b
}

func TestAdaptiveBatchesWhileComputeIsScarce(t *testing.T) {
	t.Parallel()
	// One row every 70µs on 4 instances of 200µs + 10µs a row: batches of
	// one keep 3 of the 4 busy, and an idle instance takes every row as it
	// comes. Adaptive batching waits for rows instead, within 5ms.
	const n, gap, target = 3000, 70 * time.Microsecond, 5 * time.Millisecond
	var fixed, adaptive loadStats
	synctest.Test(t, func(t *testing.T) {
		fakes := costlyFakes(4, 32)
		b := start(t, batcher.Config{MaxBatchSize: 32}, fakes...)
		fixed = openLoop(t, b, fakes, n, gap)
	})
	synctest.Test(t, func(t *testing.T) {
		fakes := costlyFakes(4, 32)
		b := startAdaptive(t, adaptiveConfig(target), fakes)
		adaptive = openLoop(t, b, fakes, n, gap)
	})
	t.Logf("fixed: %d batches, %.2f rows each, latency max %s; adaptive: %d batches, %.2f rows each, latency max %s",
		fixed.batches, fixed.meanBatch(), fixed.maxLatency(), adaptive.batches, adaptive.meanBatch(), adaptive.maxLatency())
	if adaptive.meanBatch() < 2*fixed.meanBatch() {
		t.Errorf("adaptive batches hold %.2f rows, fixed ones %.2f: want at least twice as many", adaptive.meanBatch(), fixed.meanBatch())
	}
	if got := adaptive.maxLatency(); got > target {
		t.Errorf("adaptive: a request took %s, above the target %s", got, target)
	}
}

func TestAdaptiveRunsAtOnceWhenComputeIsIdle(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// One row every 2ms on an instance of 210µs a row: 10% busy.
		fakes := costlyFakes(1, 32)
		b := startAdaptive(t, adaptiveConfig(5*time.Millisecond), fakes)
		s := openLoop(t, b, fakes, 200, 2*time.Millisecond)
		for i, d := range s.latencies {
			if d != 210*time.Microsecond {
				t.Fatalf("request %d took %s, want 210µs: the run alone, no wait", i, d)
			}
		}
	})
}

func TestAdaptiveClosedLoopKeepsFlowing(t *testing.T) {
	t.Parallel()
	// 16 clients that each wait for their answer: once every client's row
	// is queued or running, no more come, and a wait for more would only
	// stall them.
	const target = 5 * time.Millisecond
	var fixedTook, adaptiveTook time.Duration
	var adaptive loadStats
	synctest.Test(t, func(t *testing.T) {
		fakes := costlyFakes(2, 32)
		b := start(t, batcher.Config{MaxBatchSize: 32}, fakes...)
		t0 := time.Now()
		closedLoop(t, b, fakes, 16, 200)
		fixedTook = time.Since(t0)
	})
	synctest.Test(t, func(t *testing.T) {
		fakes := costlyFakes(2, 32)
		b := startAdaptive(t, adaptiveConfig(target), fakes)
		t0 := time.Now()
		adaptive = closedLoop(t, b, fakes, 16, 200)
		adaptiveTook = time.Since(t0)
	})
	t.Logf("3200 requests: fixed %s, adaptive %s (%.2f rows a batch, latency max %s)",
		fixedTook, adaptiveTook, adaptive.meanBatch(), adaptive.maxLatency())
	if adaptiveTook > fixedTook*11/10 {
		t.Errorf("adaptive took %s, fixed %s: more than 10%% slower", adaptiveTook, fixedTook)
	}
	if got := adaptive.maxLatency(); got > target {
		t.Errorf("a request took %s, above the target %s", got, target)
	}
}

func TestAdaptiveCloseDrainsAndSplits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// Two instances sharing the one batch being formed: every request
		// queued before Close is answered, and a request of 10 rows with
		// max_batch_size 4 runs as 3 batches.
		fakes := []*fakeInstance{newFake(testInWidth, testOutWidth, 4), newFake(testInWidth, testOutWidth, 4)}
		gate := make(chan struct{})
		for _, f := range fakes {
			f.gate = gate
		}
		cfg := batcher.Config{MaxBatchSize: 4, TargetLatency: time.Second, Instances: 2}
		b, err := batcher.New(t.Name(), "1", cfg, floatSpec(testInWidth, testOutWidth), []batcher.Instance{fakes[0], fakes[1]})
		if err != nil {
			t.Fatal(err)
		}
		batcher.IgnoreProcessCPU(b)
		var errcs []<-chan error
		for id := range 9 {
			errcs = append(errcs, goDo(t, b, id, time.Time{}))
		}
		split := make(chan error, 1)
		out := make([]tensor.Tensor, 1)
		go func() { split <- b.Do(rows(100, 10), out, time.Time{}) }()
		synctest.Wait()
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		synctest.Wait()
		close(gate)
		mustSucceed(t, errcs...)
		if err := <-split; err != nil {
			t.Errorf("the 10-row request: %s", err)
		} else {
			checkRows(t, out, 100, 10)
		}
		if err := <-closed; err != nil {
			t.Errorf("Close: %s", err)
		}
		rows := 0
		for _, f := range fakes {
			for _, size := range batchSizes(f) {
				if size > 4 {
					t.Errorf("a batch of %d rows, above max_batch_size 4", size)
				}
				rows += size
			}
		}
		if rows != 19 {
			t.Errorf("the instances ran %d rows, want 19", rows)
		}
	})
}

// TestDeadlineUnreachable: a request whose deadline is nearer than the
// estimated wait for the rows queued ahead plus its own run is turned away
// at once, with ErrDeadlineUnreachable (an ErrDeadlineExceeded, so the
// router moves on to its next tier with the caller's time still whole), and
// is never computed; one with time enough queues as usual. In both modes.
func TestDeadlineUnreachable(t *testing.T) {
	t.Parallel()
	for _, cfg := range []batcher.Config{{MaxBatchSize: 4}, {MaxBatchSize: 4, TargetLatency: 5 * time.Millisecond}} {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 4)
			f.sleep = 10 * time.Millisecond // every run, whatever its rows
			b := start(t, cfg, f)
			if err := do(t, b, 1, time.Time{}); err != nil { // learns a run: 10ms
				t.Fatal(err)
			}
			var queued []<-chan error
			for id := range 9 { // one runs, 8 wait: two batches of 4 ahead
				queued = append(queued, goDo(t, b, 10+id, time.Time{}))
			}
			synctest.Wait()
			t0 := time.Now()
			err := do(t, b, 99, t0.Add(15*time.Millisecond))
			if !errors.Is(err, batcher.ErrDeadlineUnreachable) || !errors.Is(err, batcher.ErrDeadlineExceeded) || !errors.Is(err, batcher.ErrRejected) {
				t.Errorf("a 15ms deadline behind two 10ms batches: %v, want ErrDeadlineUnreachable", err)
			}
			if took := time.Since(t0); took != 0 {
				t.Errorf("the unreachable request took %s, want an answer at once", took)
			}
			late := goDo(t, b, 98, t0.Add(time.Second))
			mustSucceed(t, queued...)
			mustSucceed(t, late)
			if f.sawRow(99) {
				t.Error("the request turned away was computed")
			}
			if !f.sawRow(98) {
				t.Error("the request with time enough was not computed")
			}
		})
	}
}
