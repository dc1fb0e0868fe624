package batcher_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infergate/infergate/batcher"
)

// directRuns returns the batcher's infergate_batcher_direct_total.
func directRuns(t *testing.T) string {
	t.Helper()
	return metricValue(t, "infergate_batcher_direct_total", t.Name())
}

// wantDirectRuns fails the test unless infergate_batcher_direct_total is
// want; why says what the test expected of the requests so far.
func wantDirectRuns(t *testing.T, want, why string) {
	t.Helper()
	if got := directRuns(t); got != want {
		t.Fatalf("direct_total = %s, want %s: %s", got, want, why)
	}
}

// quiet sends the batches of one row that let the next rows run directly
// (eight: batcher.quietBatches), one after another.
func quiet(t *testing.T, b *batcher.Batcher) {
	t.Helper()
	for i := range 8 {
		if err := do(t, b, 100+i, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDirectRun: once the workers have run eight batches of one row in a
// row (and measured them), a request that finds the queue empty and the
// instance idle runs on its caller's goroutine; always_queue and a
// max_queue_delay turn that off.
func TestDirectRun(t *testing.T) {
	t.Parallel()
	f := func(cfg batcher.Config, wantDirect string) {
		t.Run(wantDirect, func(t *testing.T) {
			t.Parallel()
			fake := newFake(testInWidth, testOutWidth, 4)
			b := start(t, cfg, fake)
			for i := range 10 { // 8 through the worker, then 2 direct
				// do checks every output.
				if err := do(t, b, i, time.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			wantDirectRuns(t, wantDirect, "10 requests one after another")
			if got := len(fake.Batches()); got != 10 {
				t.Errorf("the instance ran %d batches, want 10", got)
			}
			// Every request is counted as run, direct ones with no queueing.
			if got := metricValue(t, "infergate_batcher_queue_duration_seconds_count", t.Name()); got != "10" {
				t.Errorf("queue_duration_seconds_count = %s, want 10", got)
			}
		})
	}
	f(batcher.Config{MaxBatchSize: 4}, "2")
	f(batcher.Config{MaxBatchSize: 4, AlwaysQueue: true}, "0")
	f(batcher.Config{MaxBatchSize: 4, MaxQueueDelay: time.Microsecond}, "0")
}

// TestDirectRunNeedsHeadroom: a request runs directly only when its
// deadline is at least four estimated runs away.
func TestDirectRunNeedsHeadroom(t *testing.T) {
	t.Parallel()
	fake := newFake(testInWidth, testOutWidth, 1)
	fake.runCost = 5 * time.Millisecond
	b := start(t, batcher.Config{}, fake)
	quiet(t, b) // measured: 5ms or more
	// 10ms is under four runs: queued. It may meet its deadline on a
	// loaded machine; what matters is that it was not run directly.
	if err := do(t, b, 2, time.Now().Add(10*time.Millisecond)); err != nil && !errors.Is(err, batcher.ErrComputeTimeout) && !errors.Is(err, batcher.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	wantDirectRuns(t, "0", "the deadline was under four runs away")
	// The queued row may still hold the instance (a caller that left at
	// its deadline does not stop the run): send until one runs directly.
	waitUntil(t, "a request with a distant deadline to run directly", func() bool {
		if err := do(t, b, 3, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		return directRuns(t) == "1"
	})
	if err := do(t, b, 4, time.Time{}); err != nil {
		t.Fatal(err)
	}
	wantDirectRuns(t, "2", "a request without a deadline runs directly")
}

// TestDirectRunHang shows what a direct run costs when the model hangs: the
// caller running when the hang begins waits for it to end, past its
// deadline; every other caller queues and leaves at its own deadline; the
// worker takes the instance back when the run ends. Close waits for the
// direct run.
func TestDirectRunHang(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := newFake(testInWidth, testOutWidth, 1)
		b, err := batcher.New(t.Name(), "1", batcher.Config{}, floatSpec(testInWidth, testOutWidth), []batcher.Instance{fake})
		if err != nil {
			t.Fatal(err)
		}
		quiet(t, b)
		if err := do(t, b, 1, time.Time{}); err != nil { // direct
			t.Fatal(err)
		}
		fake.gate = make(chan struct{}) // the model hangs from now on

		t0 := time.Now()
		held := goDo(t, b, 10, t0.Add(10*time.Millisecond))
		synctest.Wait()
		wantDirectRuns(t, "2", "the held request runs directly")
		if err := do(t, b, 11, t0.Add(20*time.Millisecond)); !errors.Is(err, batcher.ErrDeadlineExceeded) {
			t.Errorf("a request behind the hung direct run: %v, want ErrDeadlineExceeded at its deadline", err)
		}
		if took := time.Since(t0); took != 20*time.Millisecond {
			t.Errorf("it returned at +%s, want +20ms", took)
		}
		waiting := goDo(t, b, 12, time.Time{}) // no deadline: queued, it waits
		synctest.Wait()
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		time.Sleep(30 * time.Millisecond)
		select {
		case err := <-held:
			t.Fatalf("the held direct run returned %v during the hang", err)
		case <-closed:
			t.Fatal("Close returned during a direct run")
		default:
		}

		close(fake.gate)
		mustSucceed(t, held, waiting)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if fake.sawRow(11) {
			t.Error("the instance computed the expired row")
		}
		if err := do(t, b, 13, time.Time{}); !errors.Is(err, batcher.ErrClosed) {
			t.Errorf("Do after Close: %v, want ErrClosed", err)
		}
	})
}

// TestDirectRunThenQueuesAfterAHang: after a slow run the estimate follows
// it at once, so a request whose deadline is under four such runs queues
// (and can leave at its deadline) instead of running directly.
func TestDirectRunThenQueuesAfterAHang(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := newFake(testInWidth, testOutWidth, 1)
		b := start(t, batcher.Config{}, fake)
		quiet(t, b)
		fake.gate = make(chan struct{})
		held := goDo(t, b, 2, time.Time{}) // direct, hangs 50ms
		time.Sleep(50 * time.Millisecond)
		close(fake.gate)
		mustSucceed(t, held)
		fake.gate = make(chan struct{})
		t0 := time.Now()
		if err := do(t, b, 3, t0.Add(100*time.Millisecond)); !errors.Is(err, batcher.ErrComputeTimeout) {
			t.Errorf("a request with a deadline under four 50ms runs: %v, want ErrComputeTimeout (queued, left at its deadline)", err)
		}
		close(fake.gate)
		wantDirectRuns(t, "1", "the request after the hang queued")
	})
}

// pinnedFake is a fake instance whose worker locks its OS thread, as a CUDA
// session's does.
type pinnedFake struct{ *fakeInstance }

func (pinnedFake) PinOSThread() bool { return true }

func TestDirectRunNeverOnAPinnedInstance(t *testing.T) {
	t.Parallel()
	fake := newFake(testInWidth, testOutWidth, 1)
	b, err := batcher.New(t.Name(), "1", batcher.Config{InstanceGroups: []batcher.InstanceGroup{{Kind: batcher.KindGPU}}},
		floatSpec(testInWidth, testOutWidth), []batcher.Instance{pinnedFake{fake}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 5 {
		if err := do(t, b, i, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	wantDirectRuns(t, "0", "a thread-pinned instance runs nothing directly")
}

// TestDirectRunStopsWhileBatchesForm: a batch of more than one row means
// requests arrive faster than they run; rows then queue (and batch) until
// eight batches of one row in a row show the load has gone.
func TestDirectRunStopsWhileBatchesForm(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		fake := newFake(testInWidth, testOutWidth, 4)
		b := start(t, batcher.Config{MaxBatchSize: 4}, fake)
		quiet(t, b)
		fake.gate = make(chan struct{})
		held := goDo(t, b, 1, time.Time{}) // direct, held
		synctest.Wait()
		queued := []<-chan error{goDo(t, b, 2, time.Time{}), goDo(t, b, 3, time.Time{})}
		synctest.Wait()
		close(fake.gate)
		mustSucceed(t, append(queued, held)...)
		sizes := batchSizes(fake)
		if got := sizes[len(sizes)-1]; got != 2 {
			t.Fatalf("batch sizes %v: want the two queued rows in one batch last", sizes)
		}
		for i := range 8 {
			if err := do(t, b, 10+i, time.Time{}); err != nil {
				t.Fatal(err)
			}
			wantDirectRuns(t, "1", fmt.Sprintf("request %d after a batch of 2 queues", i))
		}
		if err := do(t, b, 20, time.Time{}); err != nil {
			t.Fatal(err)
		}
		wantDirectRuns(t, "2", "after eight batches of one, a row runs directly")
	})
}
