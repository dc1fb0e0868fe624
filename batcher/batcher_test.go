package batcher_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/tensor"
)

const (
	testInWidth  = 3
	testOutWidth = 2
)

// start returns a running Batcher over fakes, closed when the test ends.
// cfg.Instances is set to len(fakes).
func start(t *testing.T, cfg batcher.Config, fakes ...*fakeInstance) *batcher.Batcher {
	t.Helper()
	cfg.Instances = len(fakes)
	instances := make([]batcher.Instance, len(fakes))
	for i, f := range fakes {
		instances[i] = f
	}
	b, err := batcher.New(t.Name(), "1", cfg, floatSpec(testInWidth, testOutWidth), instances)
	if err != nil {
		t.Fatalf("New: %s", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %s", err)
		}
	})
	return b
}

// row returns an input row whose first float is its id.
func row(id int) []float32 {
	return []float32{float32(id), float32(2 * id), 0.5}
}

// do runs one request for row(id) and checks the output on success.
func do(t *testing.T, b *batcher.Batcher, id int, deadline time.Time) error {
	in := row(id)
	out := make([]float32, testOutWidth)
	err := rowDo(b, in, out, deadline)
	if err == nil {
		if want := wantOutput(in, testOutWidth); !slices.Equal(out, want) {
			t.Errorf("request %d: output %v, want %v (another caller's result?)", id, out, want)
		}
	}
	return err
}

// goDo starts do in a goroutine and returns a channel with its error.
func goDo(t *testing.T, b *batcher.Batcher, id int, deadline time.Time) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- do(t, b, id, deadline) }()
	return errc
}

func mustSucceed(t *testing.T, errcs ...<-chan error) {
	t.Helper()
	for i, errc := range errcs {
		if err := <-errc; err != nil {
			t.Errorf("request %d: %s", i, err)
		}
	}
}

func batchSizes(f *fakeInstance) []int {
	var sizes []int
	for _, b := range f.Batches() {
		sizes = append(sizes, len(b.rows))
	}
	return sizes
}

func TestBatchFormationUnderConcurrency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const maxBatch, callers = 8, 40
		f := newFake(testInWidth, testOutWidth, maxBatch)
		f.gate = make(chan struct{})
		b := start(t, batcher.Config{MaxBatchSize: maxBatch, MaxQueueSize: 64}, f)

		// The first request occupies the instance; the others queue behind it.
		first := goDo(t, b, 0, time.Time{})
		synctest.Wait()
		var errcs []<-chan error
		for id := 1; id <= callers; id++ {
			errcs = append(errcs, goDo(t, b, id, time.Time{}))
		}
		synctest.Wait()
		if got := b.QueueDepth(); got != callers {
			t.Fatalf("QueueDepth = %d, want %d", got, callers)
		}
		close(f.gate)
		mustSucceed(t, first)
		mustSucceed(t, errcs...)

		sizes := batchSizes(f)
		if want := []int{1, 8, 8, 8, 8, 8}; !slices.Equal(sizes, want) {
			t.Errorf("batch sizes %v, want %v", sizes, want)
		}
		seen := map[float32]int{}
		for _, batch := range f.Batches() {
			for _, r := range batch.rows {
				seen[r[0]]++
			}
		}
		for id := 0; id <= callers; id++ {
			if seen[float32(id)] != 1 {
				t.Errorf("row %d computed %d times, want once", id, seen[float32(id)])
			}
		}
		if got := b.QueueDepth(); got != 0 {
			t.Errorf("QueueDepth after the run = %d, want 0", got)
		}
	})
}

// TestConcurrentStress runs many callers in real time over several
// instances, some with deadlines short enough to expire, and checks exactly
// once: a success was computed once with its own row, a deadline error
// never.
func TestConcurrentStress(t *testing.T) {
	t.Parallel()
	const maxBatch, instances, callers, perCaller = 16, 4, 32, 200
	fakes := make([]*fakeInstance, instances)
	for i := range fakes {
		fakes[i] = newFake(testInWidth, testOutWidth, maxBatch)
	}
	b := start(t, batcher.Config{
		MaxBatchSize:        maxBatch,
		MaxQueueDelay:       100 * time.Microsecond,
		PreferredBatchSizes: []int{4, 8},
		MaxQueueSize:        callers * 2,
	}, fakes...)

	var mu sync.Mutex
	outcome := map[int]error{}
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range perCaller {
				id := 1 + c*perCaller + i
				var deadline time.Time
				if i%3 == 0 {
					deadline = time.Now().Add(time.Duration(rand.IntN(200)) * time.Microsecond)
				}
				err := do(t, b, id, deadline)
				if err != nil && !errors.Is(err, batcher.ErrDeadlineExceeded) && !errors.Is(err, batcher.ErrComputeTimeout) {
					t.Errorf("request %d: %s", id, err)
				}
				mu.Lock()
				outcome[id] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	computed := map[float32]int{}
	for _, f := range fakes {
		for _, batch := range f.Batches() {
			if len(batch.rows) > maxBatch {
				t.Errorf("batch of %d rows, above max_batch_size %d", len(batch.rows), maxBatch)
			}
			for _, r := range batch.rows {
				computed[r[0]]++
			}
		}
	}
	var expired, abandoned int
	for id, err := range outcome {
		got := computed[float32(id)]
		switch {
		case err == nil && got != 1:
			t.Errorf("request %d succeeded but was computed %d times, want 1", id, got)
		case errors.Is(err, batcher.ErrDeadlineExceeded) && got != 0:
			t.Errorf("request %d expired before it ran but was computed %d times, want 0", id, got)
		case errors.Is(err, batcher.ErrComputeTimeout) && got > 1:
			t.Errorf("request %d timed out while computing but was computed %d times, want at most 1", id, got)
		}
		if errors.Is(err, batcher.ErrDeadlineExceeded) {
			expired++
		}
		if errors.Is(err, batcher.ErrComputeTimeout) {
			abandoned++
		}
	}
	t.Logf("%d requests, %d expired in the queue, %d abandoned while computing", len(outcome), expired, abandoned)
}

func TestMaxQueueDelay(t *testing.T) {
	t.Parallel()
	t.Run("lone request waits exactly the delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 8)
			b := start(t, batcher.Config{MaxBatchSize: 8, MaxQueueDelay: 5 * time.Millisecond}, f)
			t0 := time.Now()
			if err := do(t, b, 1, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if got := f.Batches()[0].at.Sub(t0); got != 5*time.Millisecond {
				t.Errorf("batch ran at +%s, want +5ms", got)
			}
		})
	})
	t.Run("delay counts from the oldest request", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 8)
			b := start(t, batcher.Config{MaxBatchSize: 8, MaxQueueDelay: 5 * time.Millisecond}, f)
			t0 := time.Now()
			first := goDo(t, b, 1, time.Time{})
			time.Sleep(3 * time.Millisecond)
			second := goDo(t, b, 2, time.Time{})
			mustSucceed(t, first, second)
			batches := f.Batches()
			if len(batches) != 1 || len(batches[0].rows) != 2 {
				t.Fatalf("batch sizes %v, want [2]", batchSizes(f))
			}
			if got := batches[0].at.Sub(t0); got != 5*time.Millisecond {
				t.Errorf("batch ran at +%s, want +5ms", got)
			}
		})
	})
	t.Run("delay counts from enqueue, not from when the instance frees", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 2)
			f.gate = make(chan struct{})
			b := start(t, batcher.Config{MaxBatchSize: 2, MaxQueueDelay: 5 * time.Millisecond}, f)
			t0 := time.Now()
			busy := []<-chan error{goDo(t, b, 1, time.Time{}), goDo(t, b, 2, time.Time{})}
			synctest.Wait() // a full batch runs, held on the gate
			waiting := goDo(t, b, 3, time.Time{})
			time.Sleep(3 * time.Millisecond)
			close(f.gate)
			mustSucceed(t, busy...)
			mustSucceed(t, waiting)
			batches := f.Batches()
			if sizes := batchSizes(f); !slices.Equal(sizes, []int{2, 1}) {
				t.Fatalf("batch sizes %v, want [2 1]", sizes)
			}
			if got := batches[1].at.Sub(t0); got != 5*time.Millisecond {
				t.Errorf("queued request ran at +%s, want +5ms", got)
			}
		})
	})
	t.Run("zero delay dispatches at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 8)
			b := start(t, batcher.Config{MaxBatchSize: 8}, f)
			t0 := time.Now()
			if err := do(t, b, 1, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if got := f.Batches()[0].at.Sub(t0); got != 0 {
				t.Errorf("batch ran at +%s, want +0s", got)
			}
		})
	})
	t.Run("max batch size dispatches without waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 4)
			b := start(t, batcher.Config{MaxBatchSize: 4, MaxQueueDelay: time.Hour}, f)
			t0 := time.Now()
			var errcs []<-chan error
			for id := range 4 {
				errcs = append(errcs, goDo(t, b, id, time.Time{}))
			}
			mustSucceed(t, errcs...)
			if got := f.Batches()[0].at.Sub(t0); got != 0 || len(f.Batches()) != 1 {
				t.Errorf("batches %v, first at +%s; want one batch of 4 at +0s", batchSizes(f), got)
			}
		})
	})
}

func TestPreferredBatchSize(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 8)
		b := start(t, batcher.Config{
			MaxBatchSize:        8,
			PreferredBatchSizes: []int{4},
			MaxQueueDelay:       10 * time.Millisecond,
		}, f)
		t0 := time.Now()
		var errcs []<-chan error
		for id := range 6 {
			errcs = append(errcs, goDo(t, b, id, time.Time{}))
		}
		mustSucceed(t, errcs...)
		batches := f.Batches()
		if sizes := batchSizes(f); !slices.Equal(sizes, []int{4, 2}) {
			t.Fatalf("batch sizes %v, want [4 2]", sizes)
		}
		if got := batches[0].at.Sub(t0); got != 0 {
			t.Errorf("preferred batch ran at +%s, want +0s (no wait)", got)
		}
		if got := batches[1].at.Sub(t0); got != 10*time.Millisecond {
			t.Errorf("partial batch ran at +%s, want +10ms", got)
		}
	})
}

func TestQueueFull(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 1)
		f.gate = make(chan struct{})
		b := start(t, batcher.Config{MaxBatchSize: 1, MaxQueueSize: 2}, f)
		running := goDo(t, b, 1, time.Time{})
		synctest.Wait() // the worker took it: the queue is empty
		queued := []<-chan error{goDo(t, b, 2, time.Time{}), goDo(t, b, 3, time.Time{})}
		synctest.Wait()

		t0 := time.Now()
		err := do(t, b, 4, time.Time{})
		if !errors.Is(err, batcher.ErrQueueFull) || !errors.Is(err, batcher.ErrRejected) {
			t.Errorf("Do on a full queue: %v, want ErrQueueFull and ErrRejected", err)
		}
		if waited := time.Since(t0); waited != 0 {
			t.Errorf("Do on a full queue waited %s", waited)
		}
		close(f.gate)
		mustSucceed(t, running)
		mustSucceed(t, queued...)
		if f.sawRow(4) {
			t.Error("the rejected row was computed")
		}
	})
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	t.Run("caller leaves at its deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 1)
			f.gate = make(chan struct{})
			b := start(t, batcher.Config{MaxBatchSize: 1}, f)
			running := goDo(t, b, 1, time.Time{})
			synctest.Wait()

			t0 := time.Now()
			err := do(t, b, 2, t0.Add(10*time.Millisecond))
			if !errors.Is(err, batcher.ErrDeadlineExceeded) || !errors.Is(err, batcher.ErrRejected) {
				t.Errorf("Do past its deadline: %v, want ErrDeadlineExceeded and ErrRejected", err)
			}
			if waited := time.Since(t0); waited != 10*time.Millisecond {
				t.Errorf("Do returned after %s, want 10ms", waited)
			}
			close(f.gate)
			mustSucceed(t, running)
			// The abandoned request is recycled by the worker; the next one runs.
			if err := do(t, b, 3, time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if f.sawRow(2) {
				t.Error("the instance computed the expired row")
			}
			if got := metricValue(t, "infergate_batcher_rejected_total", t.Name(), `reason="deadline"`); got != "1" {
				t.Errorf("rejected_total{reason=deadline} = %s, want 1 (counted once)", got)
			}
			if got := b.QueueDepth(); got != 0 {
				t.Errorf("QueueDepth = %d, want 0", got)
			}
		})
	})
	t.Run("worker drops an expired request", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 1)
			f.gate = make(chan struct{})
			b := start(t, batcher.Config{MaxBatchSize: 1}, f)
			running := goDo(t, b, 1, time.Time{})
			synctest.Wait()

			out := make([]float32, testOutWidth)
			wait, err := batcher.EnqueueNoWait(b, row(2), out, time.Now().Add(10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			close(f.gate)
			mustSucceed(t, running)
			if err := wait(); !errors.Is(err, batcher.ErrDeadlineExceeded) {
				t.Errorf("expired request: %v, want ErrDeadlineExceeded", err)
			}
			if f.sawRow(2) {
				t.Error("the instance computed the expired row")
			}
			if !slices.Equal(out, make([]float32, testOutWidth)) {
				t.Errorf("the expired request's output was written: %v", out)
			}
		})
	})
	t.Run("deadline already passed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 1)
			b := start(t, batcher.Config{}, f)
			if err := do(t, b, 1, time.Now()); !errors.Is(err, batcher.ErrDeadlineExceeded) {
				t.Errorf("Do with a passed deadline: %v, want ErrDeadlineExceeded", err)
			}
			if len(f.Batches()) != 0 {
				t.Error("the instance ran a batch")
			}
		})
	})
	t.Run("computing batch is abandoned at the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(testInWidth, testOutWidth, 1)
			f.gate = make(chan struct{})
			b := start(t, batcher.Config{}, f)
			t0 := time.Now()
			errc := goDo(t, b, 1, t0.Add(10*time.Millisecond))
			err := <-errc
			if !errors.Is(err, batcher.ErrComputeTimeout) || errors.Is(err, batcher.ErrRejected) {
				t.Errorf("Do = %v, want ErrComputeTimeout (not in the ErrRejected class)", err)
			}
			if got := time.Since(t0); got != 10*time.Millisecond {
				t.Errorf("Do returned at +%s, want +10ms (its deadline), not when the hung batch ends", got)
			}
			// The batch ends later; its answer goes nowhere and the next
			// request is served as usual.
			close(f.gate)
			mustSucceed(t, goDo(t, b, 2, time.Time{}))
		})
	})
}

func TestCloseDrains(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		f.gate = make(chan struct{})
		cfg := batcher.Config{MaxBatchSize: 4, MaxQueueDelay: time.Hour, Instances: 1}
		b, err := batcher.New(t.Name(), "1", cfg, floatSpec(testInWidth, testOutWidth), []batcher.Instance{f})
		if err != nil {
			t.Fatal(err)
		}
		var errcs []<-chan error
		for id := range 10 {
			errcs = append(errcs, goDo(t, b, id, time.Time{}))
		}
		synctest.Wait() // one batch of 4 runs (blocked), 6 wait

		t0 := time.Now()
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		synctest.Wait()
		if err := do(t, b, 100, time.Time{}); !errors.Is(err, batcher.ErrClosed) || !errors.Is(err, batcher.ErrRejected) {
			t.Errorf("Do during Close: %v, want ErrClosed and ErrRejected", err)
		}
		close(f.gate)
		mustSucceed(t, errcs...)
		if err := <-closed; err != nil {
			t.Errorf("Close: %s", err)
		}
		if got := time.Since(t0); got != 0 {
			t.Errorf("drain took %s: the last partial batch waited for max_queue_delay", got)
		}
		if err := b.Close(); err != nil {
			t.Errorf("second Close: %s", err)
		}
		if err := do(t, b, 101, time.Time{}); !errors.Is(err, batcher.ErrClosed) {
			t.Errorf("Do after Close: %v, want ErrClosed", err)
		}
		if n := f.closed.Load(); n != 1 {
			t.Errorf("instance closed %d times, want once", n)
		}
		if sizes := batchSizes(f); !slices.Equal(sizes, []int{4, 4, 2}) {
			t.Errorf("batch sizes %v, want [4 4 2]", sizes)
		}
	})
}

func TestInstanceFailure(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		f.gate = make(chan struct{})
		f.failOn = map[int]error{1: errBoom}
		b := start(t, batcher.Config{MaxBatchSize: 4}, f)
		first := goDo(t, b, 0, time.Time{})
		synctest.Wait()
		var failing []<-chan error
		for id := 1; id <= 4; id++ {
			failing = append(failing, goDo(t, b, id, time.Time{}))
		}
		synctest.Wait()
		close(f.gate)
		mustSucceed(t, first)
		for i, errc := range failing {
			err := <-errc
			if !errors.Is(err, batcher.ErrModelFailed) || !errors.Is(err, errBoom) {
				t.Errorf("request %d of the failed batch: %v, want ErrModelFailed wrapping %v", i, err, errBoom)
			}
			if errors.Is(err, batcher.ErrRejected) {
				t.Errorf("request %d: a failure is classed as rejected: %v", i, err)
			}
		}
		// The worker goes on.
		if err := do(t, b, 5, time.Time{}); err != nil {
			t.Errorf("request after the failure: %s", err)
		}
		if sizes := batchSizes(f); !slices.Equal(sizes, []int{1, 4, 1}) {
			t.Errorf("batch sizes %v, want [1 4 1]", sizes)
		}
	})
}

// panicInstance panics in Run.
type panicInstance struct{ fakeInstance }

func (p *panicInstance) Run() error { panic(errBoom) }

func TestInstancePanicIsAFailure(t *testing.T) {
	t.Parallel()
	b, err := batcher.New(t.Name(), "1", batcher.Config{MaxBatchSize: 1}, floatSpec(testInWidth, testOutWidth),
		[]batcher.Instance{&panicInstance{*newFake(testInWidth, testOutWidth, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for range 2 {
		if err := do(t, b, 1, time.Time{}); !errors.Is(err, batcher.ErrModelFailed) || !errors.Is(err, errBoom) {
			t.Errorf("Do on a panicking instance: %v, want ErrModelFailed wrapping %v", err, errBoom)
		}
	}
}

// TestShapeChecks: a request whose tensors do not fit the model is refused
// with ErrShape, naming what is wrong, and never reaches an instance.
func TestShapeChecks(t *testing.T) {
	t.Parallel()
	f := newFake(testInWidth, testOutWidth, 4)
	b := start(t, batcher.Config{MaxBatchSize: 4}, f)
	x := func(dt tensor.DType, shape []int64, data []byte) tensor.Tensor {
		return tensor.Tensor{Name: "x", DType: dt, Shape: shape, Data: data}
	}
	good := tensor.BytesOf([]float32{1, 2, 3})
	check := func(in []tensor.Tensor, outs int, want string) {
		t.Helper()
		err := b.Do(in, make([]tensor.Tensor, outs), time.Time{})
		if !errors.Is(err, batcher.ErrShape) || errors.Is(err, batcher.ErrRejected) || !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("Do: %v, want ErrShape saying %q", err, want)
		}
	}
	check([]tensor.Tensor{x(tensor.Float32, []int64{1, 2}, good[:8])}, 1, `input "x": shape [1,2], want [-1,3]`)
	check([]tensor.Tensor{x(tensor.Float32, []int64{3}, good)}, 1, `shape [3], want [-1,3]`)
	check([]tensor.Tensor{x(tensor.Float64, []int64{1, 3}, make([]byte, 24))}, 1, "element type float64, want float32")
	check([]tensor.Tensor{x(tensor.Float32, []int64{1, 3}, good[:8])}, 1, "shape [1,3] of float32 holds 12 bytes, got 8")
	check([]tensor.Tensor{x(tensor.Float32, []int64{0, 3}, nil)}, 1, "shape [0,3], want [-1,3]")
	check(nil, 1, "takes 1 inputs and gives 1 outputs, got 0 and room for 1")
	check([]tensor.Tensor{x(tensor.Float32, []int64{1, 3}, good)}, 0, "got 1 and room for 0")
	if len(f.Batches()) != 0 {
		t.Error("the instance ran a batch")
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	fake := func() batcher.Instance { return newFake(testInWidth, testOutWidth, 1) }
	f := func(cfg batcher.Config, spec batcher.Spec, instances []batcher.Instance, want string) {
		t.Helper()
		b, err := batcher.New("churn", "3", cfg, spec, instances)
		if err == nil {
			_ = b.Close()
			t.Fatalf("New succeeded, want error %q", want)
		}
		if err.Error() != want {
			t.Errorf("New error:\n got %q\nwant %q", err, want)
		}
	}
	spec := floatSpec(3, 2)
	f(batcher.Config{MaxQueueSize: -1}, spec, []batcher.Instance{fake()},
		"batcher: invalid config for model \"churn\" version \"3\": batching.max_queue_size: must be at least 1, got -1")
	f(batcher.Config{Instances: 2}, spec, []batcher.Instance{fake()},
		`batcher: model "churn" version "3": got 1 instances, but batching.instances is 2`)
	f(batcher.Config{}, batcher.Spec{Inputs: spec.Inputs}, []batcher.Instance{fake()},
		`batcher: model "churn" version "3": a model needs inputs and outputs, got 1 and 0`)
	fixed := floatSpec(3, 2)
	fixed.Inputs[0].Shape[0] = 1
	f(batcher.Config{}, fixed, []batcher.Instance{fake()},
		`batcher: model "churn" version "3": requests cannot be batched: some input or output has no dynamic first dimension`)
	f(batcher.Config{}, spec, []batcher.Instance{nil},
		`batcher: model "churn" version "3": instance 0 is nil`)
}

func ExampleBatcher_Do() {
	inst := newFake(3, 2, 8)
	b, err := batcher.New("churn", "3", batcher.Config{MaxBatchSize: 8, Instances: 1}, floatSpec(3, 2), []batcher.Instance{inst})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	in := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{2, 3}, Data: tensor.BytesOf([]float32{1, 2, 3, 0, 0, 1})}}
	out := make([]tensor.Tensor, 1)
	err = b.Do(in, out, time.Now().Add(time.Second))
	fmt.Println(out[0].Name, out[0].Shape, tensor.Float32s(out[0].Data), err)
	// Output: y [2 2] [6 7 1 2] <nil>
}
