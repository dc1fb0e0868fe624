package batcher_test

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/tensor"
)

// doAt runs request id through b at priority p, checking its answer.
func doAt(t *testing.T, b *batcher.Batcher, id, p int, deadline time.Time) error {
	in := row(id)
	ins := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, int64(len(in))}, Data: tensor.BytesOf(in)}}
	outs := make([]tensor.Tensor, 1)
	err := b.DoPriority(ins, outs, deadline, p)
	if err == nil {
		if got, want := tensor.Float32s(outs[0].Data), wantOutput(in, testOutWidth); !slices.Equal(got, want) {
			t.Errorf("request %d: output %v, want %v", id, got, want)
		}
	}
	return err
}

func goDoAt(t *testing.T, b *batcher.Batcher, id, p int, deadline time.Time) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- doAt(t, b, id, p, deadline) }()
	return errc
}

// batchIDs lists the ids (first floats) of every batch f ran.
func batchIDs(f *fakeInstance) [][]int {
	var ids [][]int
	for _, b := range f.Batches() {
		var batch []int
		for _, r := range b.rows {
			batch = append(batch, int(r[0]))
		}
		ids = append(ids, batch)
	}
	return ids
}

// holdInstance starts request 0, which holds f's only instance on its
// gate until the test closes it, and waits for it to run.
func holdInstance(t *testing.T, b *batcher.Batcher, f *fakeInstance) <-chan error {
	t.Helper()
	f.gate = make(chan struct{})
	errc := goDoAt(t, b, 0, 1, time.Time{})
	synctest.Wait()
	return errc
}

func TestPriorityLevelsRunFirst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		b := start(t, batcher.Config{MaxBatchSize: 4, PriorityLevels: 3, StarvationShare: 0.01}, f)
		first := holdInstance(t, b, f)

		// Queued in this order while the instance is busy: four of level 3,
		// two that name no level or one above the levels (the default,
		// level 3), then two of level 2 and two of level 1.
		var errcs []<-chan error
		queue := func(id, p int) {
			errcs = append(errcs, goDoAt(t, b, id, p, time.Time{}))
			synctest.Wait()
		}
		for id := 30; id < 34; id++ {
			queue(id, 3)
		}
		queue(35, 0)
		queue(36, 9)
		queue(20, 2)
		queue(21, 2)
		queue(10, 1)
		queue(11, 1)
		if got := metricValue(t, "infergate_batcher_level_queue_depth", t.Name(), `level="3"`); got != "6" {
			t.Errorf("level 3 queue depth = %s, want 6", got)
		}
		close(f.gate)
		mustSucceed(t, first)
		mustSucceed(t, errcs...)

		want := [][]int{{0}, {10, 11, 20, 21}, {30, 31, 32, 33}, {35, 36}}
		if got := batchIDs(f); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v (level 1, then 2, then 3, each in arrival order)", got, want)
		}
	})
}

func TestPriorityLevelQueueFullShedsThatLevel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		b := start(t, batcher.Config{MaxBatchSize: 4, PriorityLevels: 2, PriorityQueueSizes: []int{4, 2}}, f)
		first := holdInstance(t, b, f)

		ok := []<-chan error{goDoAt(t, b, 20, 2, time.Time{}), goDoAt(t, b, 21, 2, time.Time{})}
		synctest.Wait()
		if err := doAt(t, b, 22, 2, time.Time{}); !errors.Is(err, batcher.ErrQueueFull) {
			t.Errorf("a third request of level 2 (queue size 2): %v, want ErrQueueFull", err)
		}
		for id := 10; id < 14; id++ {
			ok = append(ok, goDoAt(t, b, id, 1, time.Time{}))
		}
		synctest.Wait()
		if err := doAt(t, b, 14, 1, time.Time{}); !errors.Is(err, batcher.ErrQueueFull) {
			t.Errorf("a fifth request of level 1 (queue size 4): %v, want ErrQueueFull", err)
		}
		if got := b.QueueDepth(); got != 6 {
			t.Errorf("QueueDepth = %d, want 6", got)
		}
		for level, want := range map[string]string{"1": "1", "2": "1"} {
			if got := metricValue(t, "infergate_batcher_level_rejected_total", t.Name(), `level="`+level+`"`); got != want {
				t.Errorf("level %s rejected_total = %s, want %s", level, got, want)
			}
		}
		close(f.gate)
		mustSucceed(t, first)
		mustSucceed(t, ok...)
		if got := metricValue(t, "infergate_batcher_level_queue_depth", t.Name(), `level="1"`); got != "0" {
			t.Errorf("level 1 queue depth after the run = %s, want 0", got)
		}
	})
}

func TestDeadlineOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 2)
		b := start(t, batcher.Config{MaxBatchSize: 2, Order: batcher.OrderDeadline}, f)
		first := holdInstance(t, b, f)
		now := time.Now()
		// Arrival order 1…5; deadlines 40s, none, 10s, 30s, none.
		deadlines := map[int]time.Duration{1: 40 * time.Second, 3: 10 * time.Second, 4: 30 * time.Second}
		var errcs []<-chan error
		for id := 1; id <= 5; id++ {
			var d time.Time
			if dl, ok := deadlines[id]; ok {
				d = now.Add(dl)
			}
			errcs = append(errcs, goDoAt(t, b, id, 0, d))
			synctest.Wait()
		}
		close(f.gate)
		mustSucceed(t, first)
		mustSucceed(t, errcs...)
		want := [][]int{{0}, {3, 4}, {1, 2}, {5}}
		if got := batchIDs(f); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v (nearest deadline first, none last in arrival order)", got, want)
		}
	})
}

// TestStarvationShare saturates one instance with level-1 requests while
// four clients send level-2 requests, each one after another, so that one
// is always waiting: with strict priority none would run; instead level 2
// gets its share of the rows.
func TestStarvationShare(t *testing.T) {
	t.Parallel()
	for _, share := range []float64{0.05, 0.2} {
		synctest.Test(t, func(t *testing.T) {
			fakes := costlyFakes(1, 8)
			b := start(t, batcher.Config{MaxBatchSize: 8, PriorityLevels: 2, StarvationShare: share, AlwaysQueue: true}, fakes...)
			var stop atomic.Bool
			var high, low atomic.Int64
			var wg sync.WaitGroup
			client := func(p int, n *atomic.Int64) {
				for id := 0; !stop.Load(); id++ {
					if err := doAt(t, b, id, p, time.Time{}); err != nil {
						t.Errorf("level %d: %s", p, err)
						return
					}
					n.Add(1)
				}
			}
			for range 16 {
				wg.Go(func() { client(1, &high) })
			}
			for range 4 {
				wg.Go(func() { client(2, &low) })
			}
			time.Sleep(time.Second)
			stop.Store(true)
			wg.Wait()
			got := float64(low.Load()) / float64(low.Load()+high.Load())
			t.Logf("share %.2f: %d rows of level 1, %d of level 2 (%.3f)", share, high.Load(), low.Load(), got)
			if got < share*0.9 || got > share*1.1 {
				t.Errorf("level 2 got %.3f of the rows, want about %.2f", got, share)
			}
		})
	}
}

// TestDeadlineUnreachableCountsHigherLevelsOnly: a level-1 request waits
// only behind level 1, so a deadline that a level-2 request behind a long
// queue cannot meet is one a level-1 request meets.
func TestDeadlineUnreachableCountsHigherLevelsOnly(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFake(testInWidth, testOutWidth, 4)
		f.sleep = time.Millisecond
		b := start(t, batcher.Config{MaxBatchSize: 4, PriorityLevels: 2, AlwaysQueue: true}, f)
		for id := range 3 { // learn the run time of a batch
			if err := doAt(t, b, 100+id, 1, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		first := holdInstance(t, b, f)
		var queued []<-chan error
		for id := range 40 { // ten batches of level 2 ahead: about 10ms
			queued = append(queued, goDoAt(t, b, 200+id, 2, time.Time{}))
		}
		synctest.Wait()
		if err := doAt(t, b, 1, 2, time.Now().Add(5*time.Millisecond)); !errors.Is(err, batcher.ErrDeadlineUnreachable) {
			t.Errorf("level 2 with 5ms behind 10ms of level 2: %v, want ErrDeadlineUnreachable", err)
		}
		high := goDoAt(t, b, 2, 1, time.Now().Add(5*time.Millisecond))
		synctest.Wait()
		close(f.gate)
		mustSucceed(t, first, high)
		mustSucceed(t, queued...)
	})
}
