package batcher_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/infergate/infergate/batcher"
)

var _ batcher.Instance = (*fakeInstance)(nil)

// fakeInstance is an in-memory Instance. Row r's output j is
// sum(row r) + j, so every output depends on its own input. It records every
// batch it runs, can be held on a gate channel and can fail chosen batches.
type fakeInstance struct {
	inWidth, outWidth int
	in, out           []float32

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

	mu      sync.Mutex
	batches []fakeBatch

	closed atomic.Int32
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
		in:       make([]float32, maxBatch*inWidth),
		out:      make([]float32, maxBatch*outWidth),
	}
}

func (f *fakeInstance) Input(rows int) []float32 {
	if rows*f.inWidth > len(f.in) {
		panic("fake: batch above the max batch size it was built for")
	}
	return f.in[:rows*f.inWidth]
}

func (f *fakeInstance) Run(rows int) ([]float32, error) {
	if f.gate != nil {
		<-f.gate
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
			recorded.rows = append(recorded.rows, append([]float32(nil), f.in[r*f.inWidth:(r+1)*f.inWidth]...))
		}
		f.batches = append(f.batches, recorded)
		err := f.failOn[n]
		f.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	for r := range rows {
		sum := rowSum(f.in[r*f.inWidth : (r+1)*f.inWidth])
		for j := range f.outWidth {
			f.out[r*f.outWidth+j] = sum + float32(j)
		}
	}
	return f.out[:rows*f.outWidth], nil
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
