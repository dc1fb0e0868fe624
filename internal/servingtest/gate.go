package servingtest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/tensor"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
)

// Gate controls the instances a GatedOpener opens, for tests of timing and
// failure: it can hold every batch before it runs (to fill a queue or let a
// deadline pass), make batches fail, and it counts what the model computed.
// The instances stay real ONNX Runtime sessions; a batch that is let through
// is computed by ONNX Runtime as usual. A Gate is safe for concurrent use.
type Gate struct {
	mu   sync.Mutex
	held chan struct{} // non-nil while holding: closed by Release
	err  error         // returned by every Run while set
	// failNext batches from now on fail with nextErr, before err applies.
	failNext int
	nextErr  error
	// slow is added to every run, before it computes.
	slow time.Duration

	blocked  atomic.Int64 // rows of the batches waiting at the gate
	failed   atomic.Int64 // batches failed by Fail or FailNext
	rows     atomic.Int64 // rows computed successfully
	batches  atomic.Int64 // batches computed successfully
	maxBatch atomic.Int64 // largest batch computed
}

// NewGate returns an open gate.
func NewGate() *Gate { return &Gate{} }

// Hold makes every batch that reaches Run from now on wait until Release.
func (g *Gate) Hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(chan struct{})
	}
}

// Release lets the held batches, and every later one, run.
func (g *Gate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

// Fail makes every batch from now on fail with err without being computed;
// Fail(nil) lets batches compute again.
func (g *Gate) Fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

// FailNext makes the next n batches that pass the gate fail with err
// without being computed; later batches run (or fail with Fail's error) as
// before. A test of retries fails one call and lets the next one through.
func (g *Gate) FailNext(n int, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failNext, g.nextErr = n, err
}

// Slow makes every batch from now on take d longer: a model whose runs
// cost that much, for tests of what the batcher learns of run times.
func (g *Gate) Slow(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.slow = d
}

// Failed is the number of batches the gate failed (Fail or FailNext).
func (g *Gate) Failed() int { return int(g.failed.Load()) }

// Blocked is the number of rows whose batch waits at the gate.
func (g *Gate) Blocked() int { return int(g.blocked.Load()) }

// Rows is the number of rows the model computed successfully.
func (g *Gate) Rows() int { return int(g.rows.Load()) }

// Batches is the number of batches the model computed successfully.
func (g *Gate) Batches() int { return int(g.batches.Load()) }

// MaxBatch is the size of the largest batch computed.
func (g *Gate) MaxBatch() int { return int(g.maxBatch.Load()) }

// pass waits while the gate holds, then returns the injected error, if any:
// FailNext's while it lasts, else Fail's.
func (g *Gate) pass(rows int) error {
	g.mu.Lock()
	held := g.held
	g.mu.Unlock()
	if held != nil {
		g.blocked.Add(int64(rows))
		<-held
		g.blocked.Add(-int64(rows))
	}
	g.mu.Lock()
	err, slow := g.err, g.slow
	if g.failNext > 0 {
		g.failNext--
		err = g.nextErr
	}
	g.mu.Unlock()
	if err != nil {
		g.failed.Add(1)
		return err
	}
	time.Sleep(slow)
	return nil
}

func (g *Gate) computed(rows int) {
	g.rows.Add(int64(rows))
	g.batches.Add(1)
	for {
		m := g.maxBatch.Load()
		if int64(rows) <= m || g.maxBatch.CompareAndSwap(m, int64(rows)) {
			return
		}
	}
}

// GatedOpener opens real ONNX Runtime instances (batcher.NewONNXInstances)
// and puts Gate in front of each one's Run. It implements router.Opener.
type GatedOpener struct {
	Env  *runtime.Environment
	Gate *Gate
}

var _ router.Opener = GatedOpener{}

// Open opens the gated instances and starts a batcher over them.
func (o GatedOpener) Open(path, model, version string, cfg batcher.Config, opts batcher.ModelOptions) (*batcher.Batcher, error) {
	instances, spec, err := batcher.NewONNXInstances(o.Env, path, cfg, opts)
	if err != nil {
		return nil, err
	}
	for i, inst := range instances {
		instances[i] = &gatedInstance{inst: inst, gate: o.Gate}
	}
	b, err := batcher.New(model, version, cfg, spec, instances)
	if err != nil {
		for _, inst := range instances {
			_ = inst.Close()
		}
		return nil, err
	}
	return b, nil
}

// gatedInstance runs its real instance when its gate lets it.
type gatedInstance struct {
	inst batcher.Instance
	gate *Gate
	rows int // of the batch being filled
}

var _ batcher.Instance = (*gatedInstance)(nil)

func (i *gatedInstance) Input(n int, shape []int64) (*tensor.Tensor, error) {
	if n == 0 && len(shape) > 0 {
		i.rows = int(shape[0])
	}
	return i.inst.Input(n, shape)
}

func (i *gatedInstance) Run() error {
	if err := i.gate.pass(i.rows); err != nil {
		return err
	}
	err := i.inst.Run()
	if err == nil {
		i.gate.computed(i.rows)
	}
	return err
}

func (i *gatedInstance) Output(j int) *tensor.Tensor { return i.inst.Output(j) }

func (i *gatedInstance) Close() error { return i.inst.Close() }
