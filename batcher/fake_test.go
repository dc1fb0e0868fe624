package batcher_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/runtime"
)

var _ batcher.Instance = (*fakeInstance)(nil)

// fakeInstance is an in-memory Instance of a model with one float32 input
// [-1, inWidth] and one float32 output [-1, outWidth]. Row r's output j is
// sum(row r) + j, so every output depends on its own input. It records every
// batch it runs, can be held on a gate channel and can fail chosen batches.
type fakeInstance struct {
	inWidth, outWidth int
	maxBatch          int
	in, out           tensor.Tensor
	rows              int

	// gate, when not nil, is received from at the start of every Run: close
	// it to let every batch through.
	gate chan struct{}
	// failOn maps a batch number (from 0) to the error Run returns for it.
	failOn map[int]error
	// noRecord keeps Run from recording batches, so that it does not
	// allocate (allocation tests and benchmarks).
	noRecord bool
	// runCost, when set, makes every Run busy for that long, like a model
	// with a fixed cost per call (benchmarks).
	runCost time.Duration
	// sleep, when set, makes every Run sleep that long: under synctest a
	// wait on the fake clock, which lets every other runnable goroutine
	// go first.
	sleep time.Duration
	// sleepPerRow adds that much sleep per row of the batch: with sleep, a
	// model whose run costs sleep + rows × sleepPerRow.
	sleepPerRow time.Duration

	mu      sync.Mutex
	batches []fakeBatch

	closed atomic.Int32
	// runs and runRows count the batches run and their rows, recorded or not.
	runs, runRows atomic.Int64
}

// fakeBatch is one Run call: its rows, copied, and when it began.
type fakeBatch struct {
	rows [][]float32
	at   time.Time
}

func newFake(inWidth, outWidth, maxBatch int) *fakeInstance {
	return &fakeInstance{
		inWidth:  inWidth,
		outWidth: outWidth,
		maxBatch: maxBatch,
		in:       tensor.Tensor{Name: "x", DType: tensor.Float32, Data: make([]byte, 4*maxBatch*inWidth)},
		out:      tensor.Tensor{Name: "y", DType: tensor.Float32, Data: make([]byte, 4*maxBatch*outWidth)},
	}
}

// floatSpec is the Spec of a fake: one float32 input of inWidth columns,
// one output of outWidth.
func floatSpec(inWidth, outWidth int) batcher.Spec {
	return batcher.Spec{
		Inputs:  []runtime.TensorInfo{{Name: "x", DType: tensor.Float32, Shape: []int64{-1, int64(inWidth)}}},
		Outputs: []runtime.TensorInfo{{Name: "y", DType: tensor.Float32, Shape: []int64{-1, int64(outWidth)}}},
		Batch:   true,
	}
}

func (f *fakeInstance) Input(i int, shape []int64) (*tensor.Tensor, error) {
	if i != 0 || len(shape) != 2 || shape[1] != int64(f.inWidth) {
		return nil, fmt.Errorf("fake: input %d of shape %v", i, shape)
	}
	rows := int(shape[0])
	if rows > f.maxBatch {
		panic("fake: batch above the max batch size it was built for")
	}
	f.rows = rows
	f.in.Shape = append(f.in.Shape[:0], shape...)
	f.in.Data = f.in.Data[:cap(f.in.Data)][:4*rows*f.inWidth]
	return &f.in, nil
}

func (f *fakeInstance) Output(int) *tensor.Tensor { return &f.out }

func (f *fakeInstance) Run() error {
	rows := f.rows
	in := tensor.Float32s(f.in.Data)
	f.out.Shape = append(f.out.Shape[:0], int64(rows), int64(f.outWidth))
	f.out.Data = f.out.Data[:cap(f.out.Data)][:4*rows*f.outWidth]
	out := tensor.Float32s(f.out.Data)
	if f.gate != nil {
		<-f.gate
	}
	f.runs.Add(1)
	f.runRows.Add(int64(rows))
	if d := f.sleep + time.Duration(rows)*f.sleepPerRow; d > 0 {
		time.Sleep(d)
	}
	if f.runCost > 0 {
		for start := time.Now(); time.Since(start) < f.runCost; {
		}
	}
	if !f.noRecord {
		f.mu.Lock()
		n := len(f.batches)
		recorded := fakeBatch{at: time.Now()}
		for r := range rows {
			recorded.rows = append(recorded.rows, append([]float32(nil), in[r*f.inWidth:(r+1)*f.inWidth]...))
		}
		f.batches = append(f.batches, recorded)
		err := f.failOn[n]
		f.mu.Unlock()
		if err != nil {
			return err
		}
	}
	for r := range rows {
		sum := rowSum(in[r*f.inWidth : (r+1)*f.inWidth])
		for j := range f.outWidth {
			out[r*f.outWidth+j] = sum + float32(j)
		}
	}
	return nil
}

func (f *fakeInstance) Close() error {
	f.closed.Add(1)
	return nil
}

// Batches returns a copy of the batches run so far.
func (f *fakeInstance) Batches() []fakeBatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeBatch(nil), f.batches...)
}

// sawRow reports whether any batch held a row whose first float is id.
func (f *fakeInstance) sawRow(id float32) bool {
	for _, b := range f.Batches() {
		for _, row := range b.rows {
			if row[0] == id {
				return true
			}
		}
	}
	return false
}

func rowSum(row []float32) float32 {
	var s float32
	for _, v := range row {
		s += v
	}
	return s
}

// wantOutput returns the output the fake computes for row.
func wantOutput(row []float32, outWidth int) []float32 {
	out := make([]float32, outWidth)
	for j := range out {
		out[j] = rowSum(row) + float32(j)
	}
	return out
}

var errBoom = errors.New("boom")

// rowDo runs one row through b as a [1, len(in)] tensor and copies the
// output row into out on success.
func rowDo(b *batcher.Batcher, in, out []float32, deadline time.Time) error {
	ins := []tensor.Tensor{{Name: "x", DType: tensor.Float32, Shape: []int64{1, int64(len(in))}, Data: tensor.BytesOf(in)}}
	outs := make([]tensor.Tensor, 1)
	err := b.Do(ins, outs, deadline)
	if err == nil {
		if got := tensor.Float32s(outs[0].Data); len(got) != len(out) {
			return fmt.Errorf("output of %d floats, want %d", len(got), len(out))
		} else {
			copy(out, got)
		}
	}
	return err
}
