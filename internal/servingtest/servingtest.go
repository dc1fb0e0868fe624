// Package servingtest builds the real serving stack for tests and benchmarks:
// the demo churn model trained by package trainer, registered in a temporary
// registry, loaded on real ONNX Runtime sessions behind real batchers. There
// is no mock of any part: a test that passes here passed against the stack
// `infergate serve` runs.
package servingtest

import (
	"sync"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
	"github.com/infergate/infergate/trainer"
)

// Route is the demo route's name.
const Route = trainer.DemoModel

var (
	demoOnce  sync.Once
	demoModel *trainer.Model
	demoData  *trainer.Dataset
	demoErr   error
)

// Demo returns the demo model and its dataset, trained once per test binary.
func Demo(tb testing.TB) (*trainer.Model, *trainer.Dataset) {
	tb.Helper()
	demoOnce.Do(func() {
		demoData = trainer.GenerateChurn(trainer.DemoRows, trainer.DemoSeed)
		demoModel, demoErr = trainer.Train(demoData, trainer.DemoConfig())
	})
	if demoErr != nil {
		tb.Fatalf("cannot train the demo model: %v", demoErr)
	}
	return demoModel, demoData
}

// Store returns a registry in a temporary folder holding the demo model as
// version 1.0.0, aliased production.
func Store(tb testing.TB) *registry.Store {
	tb.Helper()
	m, _ := Demo(tb)
	store, err := registry.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := trainer.Register(store, Route, m, trainer.RegisterOptions{Aliases: []string{registry.ProductionAlias}}); err != nil {
		tb.Fatal(err)
	}
	return store
}

// Env opens the process's ONNX Runtime environment for the test.
func Env(tb testing.TB) *runtime.Environment {
	tb.Helper()
	var cfg runtime.Config
	cfg.ApplyDefaults()
	env, err := runtime.Open(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = env.Close() })
	return env
}

// Table loads the demo route with the given batching over a fresh registry.
// The table is closed (drained) when the test ends.
func Table(tb testing.TB, batching batcher.Config) *router.Table {
	tb.Helper()
	return LoadTable(tb, router.RouteConfig{Name: Route, Batching: batching}, batcher.ONNXOpener{Env: Env(tb)})
}

// LoadTable loads one route over the demo model in a fresh registry, opening
// it with opener. rc.Model defaults to the demo model, so a test may serve it
// under a route name of its own (and find its own metric series). The table
// is closed (drained) when the test ends.
func LoadTable(tb testing.TB, rc router.RouteConfig, opener router.Opener) *router.Table {
	tb.Helper()
	if rc.Model == "" {
		rc.Model = Route
	}
	table, err := router.Load([]router.RouteConfig{rc}, Store(tb), opener)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = table.Close() })
	return table
}

// GatedTable is Table over instances a Gate controls: the sessions are real
// ONNX Runtime sessions, and only when a batch runs, or whether it fails, is
// the test's to decide.
func GatedTable(tb testing.TB, rc router.RouteConfig) (*router.Table, *Gate) {
	tb.Helper()
	gate := NewGate()
	// Released before the table drains, so a test that fails while holding
	// the gate does not hang its cleanup.
	tb.Cleanup(gate.Release)
	return LoadTable(tb, rc, GatedOpener{Env: Env(tb), Gate: gate}), gate
}

// RegisterVersion registers the demo model once more in store, as version
// with the given aliases: a second version for a route to split, mirror or
// fall back between. Its answers equal the first version's.
func RegisterVersion(tb testing.TB, store *registry.Store, version string, aliases ...string) {
	tb.Helper()
	m, _ := Demo(tb)
	if _, err := trainer.Register(store, Route, m, trainer.RegisterOptions{Version: version, Aliases: aliases}); err != nil {
		tb.Fatal(err)
	}
}

// Gates opens real ONNX Runtime instances as GatedOpener does, with one Gate
// per model version (made on first use), so a test can fail or hold one
// version of a route while another serves. It implements router.Opener.
type Gates struct {
	env   *runtime.Environment
	mu    sync.Mutex
	gates map[string]*Gate
}

var _ router.Opener = (*Gates)(nil)

// NewGates returns an opener whose gates are released when the test ends,
// before the tables it opened drain.
func NewGates(tb testing.TB) *Gates {
	tb.Helper()
	g := &Gates{env: Env(tb), gates: map[string]*Gate{}}
	tb.Cleanup(g.Release)
	return g
}

// Release releases every gate. A test's cleanup calls it before it closes
// a table whose batches a gate may hold (Close waits for them); NewGates
// registers it too, but cleanups run last-registered first, so it would
// run only after a table loaded later had closed.
func (g *Gates) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, gate := range g.gates {
		gate.Release()
	}
}

// Gate returns the gate of version.
func (g *Gates) Gate(version string) *Gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	gate, ok := g.gates[version]
	if !ok {
		gate = NewGate()
		g.gates[version] = gate
	}
	return gate
}

// Open opens version's instances behind its gate.
func (g *Gates) Open(path, model, version string, cfg batcher.Config, opts batcher.ModelOptions) (*batcher.Batcher, error) {
	return GatedOpener{Env: g.env, Gate: g.Gate(version)}.Open(path, model, version, cfg, opts)
}

// DemoRequest is row i of the demo data d as a request of the route's
// signature features, missing cells left out, as the gateway reads a /v1
// body. The caller releases it (router.ReleaseRequest).
func DemoRequest(route *router.Route, d *trainer.Dataset, i int) *router.Request {
	req := router.AcquireRequest()
	for _, f := range route.Target().Meta().Signature.Features {
		c := d.Column(f.Name)
		switch {
		case c.Missing(i):
		case c.Kind == trainer.Numeric:
			req.Features.AddNumber([]byte(f.Name), c.Numbers[i])
		default:
			req.Features.AddString([]byte(f.Name), []byte(c.Strings[i]))
		}
	}
	return req
}
