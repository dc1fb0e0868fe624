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
	table, err := router.Load([]router.RouteConfig{{Name: Route, Batching: batching}}, Store(tb), batcher.ONNXOpener{Env: Env(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = table.Close() })
	return table
}
