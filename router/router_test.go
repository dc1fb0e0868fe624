package router_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/runtime"
)

const demo = servingtest.Route // "customer-churn", registered as 1.0.0, aliased production

func TestValidate(t *testing.T) {
	t.Parallel()
	f := func(routes []router.RouteConfig, wantLines ...string) {
		t.Helper()
		for i := range routes {
			routes[i].ApplyDefaults()
		}
		err := router.Validate(routes)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if want := strings.Join(wantLines, "\n"); got != want {
			t.Fatalf("Validate(%+v):\ngot:\n%s\nwant:\n%s", routes, got, want)
		}
	}
	f(nil)
	f([]router.RouteConfig{{Name: "a"}, {Name: "b", Model: "a", Version: "2.0.0"}})
	// Every line of a batching block with several problems carries the
	// route's path, not only the first.
	f([]router.RouteConfig{{Name: "a", Batching: batcher.Config{MaxBatchSize: 2, PreferredBatchSizes: []int{4, 0}, Instances: -1}}},
		"routes[a].batching.preferred_batch_sizes[0]: 4 is above max_batch_size 2",
		"routes[a].batching.preferred_batch_sizes[1]: must be at least 1, got 0",
		"routes[a].batching.instances: must be at least 1, got -1")
	f([]router.RouteConfig{{Name: "a"}, {Name: ""}, {Name: "a", Batching: batcher.Config{MaxQueueSize: -1}}},
		"routes[1].name: must not be empty",
		`routes[2].name: duplicate route "a" (routes[0] has it already); route names must be unique`,
		"routes[2].batching.max_queue_size: must be at least 1, got -1")
	f([]router.RouteConfig{{Name: "x", Model: "a/b", Version: "production!"}},
		`routes[x].model: model name "a/b": invalid name: must match [a-z0-9][a-z0-9._-]* (at most 128 bytes)`,
		`routes[x].version: "production!" is neither a version (MAJOR.MINOR.PATCH such as "1.0.0") nor an alias (such as "production"): invalid name`)

	// Version errors wrap registry.ErrInvalidName.
	r := []router.RouteConfig{{Name: "x", Version: "01.0.0"}}
	r[0].ApplyDefaults()
	if err := router.Validate(r); !errors.Is(err, registry.ErrInvalidName) {
		t.Fatalf("Validate: got %v, want registry.ErrInvalidName", err)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	table, err := router.Load([]router.RouteConfig{
		{Name: demo},
		// The same version as customer-churn's, with the same batching
		// spelled out: one batcher serves both.
		{Name: "churn-pinned", Model: demo, Version: "1.0.0", Batching: batcher.Config{MaxBatchSize: batcher.DefaultMaxBatchSize, PreferredBatchSizes: []int{}}},
		{Name: "churn-latest", Model: demo, Version: registry.LatestAlias},
	}, store, batcher.ONNXOpener{Env: servingtest.Env(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := table.Close(); err != nil {
			t.Error(err)
		}
	})

	var names []string
	for _, r := range table.Routes() {
		names = append(names, r.Name())
	}
	if got, want := strings.Join(names, ","), "churn-latest,churn-pinned,customer-churn"; got != want {
		t.Fatalf("Routes() in order %s, want %s", got, want)
	}

	f := func(name, wantRef string) {
		t.Helper()
		r := table.Lookup([]byte(name))
		if r == nil {
			t.Fatalf("Lookup(%q) = nil", name)
		}
		m := r.Target()
		if r.Name() != name || r.Ref() != wantRef || m.Name() != demo || m.Version() != "1.0.0" {
			t.Fatalf("route %q: got name %q ref %q model %q version %q; want ref %q, %s 1.0.0",
				name, r.Name(), r.Ref(), m.Name(), m.Version(), wantRef, demo)
		}
		if got := r.Aliases()[registry.ProductionAlias]; got != "1.0.0" || len(r.Aliases()) != 1 {
			t.Fatalf("route %q: aliases %v, want production → 1.0.0", name, r.Aliases())
		}
		if m.Meta().Version != "1.0.0" || m.Encoder().Width() != m.Meta().Signature.Width() {
			t.Fatalf("route %q: meta %s, encoder width %d, signature width %d",
				name, m.Meta().Version, m.Encoder().Width(), m.Meta().Signature.Width())
		}
		if m.QueueDepth() != 0 {
			t.Fatalf("route %q: queue depth %d on an idle model", name, m.QueueDepth())
		}

		// The model computes: a probability for an encoded request.
		enc := m.Encoder()
		row := enc.NewRow()
		for i := range enc.Signature().Features {
			ft := enc.Feature(i)
			if ft.Type == registry.Categorical {
				row.SetCategory(i, []byte(ft.Vocabulary[0]))
			} else {
				row.SetNumber(i, ft.Mean)
			}
		}
		in, err := row.Finish()
		if err != nil {
			t.Fatal(err)
		}
		var res router.Result
		if err := m.Predict(in, &res, time.Now().Add(5*time.Second)); err != nil {
			t.Fatalf("route %q: Predict: %v", name, err)
		}
		if res.Probability <= 0 || res.Probability >= 1 || res.Kind != router.AnswerBinary || res.Label == "" {
			t.Fatalf("route %q: answer %+v: want a probability in (0, 1) and a label", name, res)
		}
	}
	f(demo, router.DefaultVersion)
	f("churn-pinned", "1.0.0")
	f("churn-latest", registry.LatestAlias)

	for _, name := range []string{"", "nope", "Customer-Churn", "customer-churn ", "1.0.0"} {
		if r := table.Lookup([]byte(name)); r != nil {
			t.Errorf("Lookup(%q) = route %q, want nil", name, r.Name())
		}
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	opener := batcher.ONNXOpener{Env: servingtest.Env(t)}
	f := func(routes []router.RouteConfig, wantErr error, wantParts ...string) {
		t.Helper()
		table, err := router.Load(routes, store, opener)
		if err == nil {
			_ = table.Close()
			t.Fatalf("Load(%+v): no error", routes)
		}
		if table != nil {
			t.Fatalf("Load(%+v): a table with the error %v", routes, err)
		}
		if wantErr != nil && !errors.Is(err, wantErr) {
			t.Fatalf("Load(%+v): got %v, want errors.Is %v", routes, err, wantErr)
		}
		for _, part := range wantParts {
			if !strings.Contains(err.Error(), part) {
				t.Fatalf("Load(%+v):\ngot  %v\nwant it to contain %q", routes, err, part)
			}
		}
	}
	f([]router.RouteConfig{{Name: "churn", Model: "nope"}}, registry.ErrNotFound,
		`route "churn": cannot resolve nope@production in the registry`)
	f([]router.RouteConfig{{Name: "nope"}}, registry.ErrNotFound,
		`route "nope": cannot resolve nope@production in the registry`)
	f([]router.RouteConfig{{Name: "churn", Model: demo, Version: "staging"}}, registry.ErrNotFound,
		`route "churn": cannot resolve customer-churn@staging in the registry`, `alias "staging"`)
	f([]router.RouteConfig{{Name: "churn", Model: demo, Version: "9.9.9"}}, registry.ErrNotFound,
		`route "churn": cannot resolve customer-churn@9.9.9 in the registry`, `9.9.9`)
	// A model file changed after registering is refused.
	tampered := servingtest.Store(t)
	path := tampered.ModelPath(demo, "1.0.0")
	onnx, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(onnx, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if table, err := router.Load([]router.RouteConfig{{Name: demo}}, tampered, opener); !errors.Is(err, registry.ErrChecksum) ||
		!strings.Contains(fmt.Sprint(err), `route "customer-churn": refusing model customer-churn 1.0.0`) {
		if table != nil {
			_ = table.Close()
		}
		t.Errorf("Load of a tampered model file: %v, want ErrChecksum naming the route", err)
	}
	// Two routes on one version with other batching: refused, naming both,
	// rather than one silently getting the other's batcher.
	f([]router.RouteConfig{{Name: demo}, {Name: "fast", Model: demo, Batching: batcher.Config{MaxBatchSize: 1, MaxQueueSize: 2}}}, nil,
		`route "fast": model customer-churn 1.0.0 is also served by route "customer-churn", with other batching settings`,
		"MaxBatchSize:1", "MaxBatchSize:32", "give both the same batching")
	// A failing route after a good one: the good one is closed again (its
	// leaks are checked in TestLoadLeaksNothing).
	f([]router.RouteConfig{{Name: demo}, {Name: "second", Model: "missing"}}, registry.ErrNotFound,
		`route "second": cannot resolve missing@production`)
	// Invalid routes are refused before anything is opened, every problem
	// on its own line.
	f([]router.RouteConfig{{Name: demo}, {Name: demo, Batching: batcher.Config{Instances: -1, MaxBatchSize: -2}}}, nil,
		"invalid routes:\n"+
			`routes[1].name: duplicate route "customer-churn" (routes[0] has it already); route names must be unique`+"\n"+
			"routes[1].batching.max_batch_size: must be at least 1, got -2\n"+
			"routes[1].batching.instances: must be at least 1, got -1")
}

// registerMismatched registers the demo model as version 2.0.0 of demo with a
// signature one column wider than its ONNX input.
func registerMismatched(t *testing.T, store *registry.Store) {
	t.Helper()
	m, _ := servingtest.Demo(t)
	v := m.Version(demo, "2.0.0", registry.Lineage{})
	v.Signature.Features = append(v.Signature.Features[:len(v.Signature.Features):len(v.Signature.Features)],
		registry.Feature{Name: "extra", Type: registry.Numeric, Std: 1})
	if err := store.Register(v, m.ONNX()); err != nil {
		t.Fatal(err)
	}
}

// TestLoadLeaksNothing is not parallel: it checks that no ONNX Runtime
// session outlives a failed Load by closing the process's only environment
// handle and asking for another library, which package runtime refuses
// (ErrLibraryConflict) while any session is still open, and tries to load
// (ErrLibraryLoad, on a file that is no library) once none is. Parallel
// tests of this package have not opened an environment yet when it runs.
func TestLoadLeaksNothing(t *testing.T) {
	store := servingtest.Store(t)
	registerMismatched(t, store)
	var cfg runtime.Config
	env, err := runtime.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Close() }) // in case of an early failure; closing twice is a no-op
	opener := batcher.ONNXOpener{Env: env}

	// The good route opens two sessions, then the mismatched one opens its
	// first of three and finds the widths wrong.
	table, err := router.Load([]router.RouteConfig{
		{Name: demo, Version: "1.0.0", Batching: batcher.Config{Instances: 2}},
		{Name: "wide", Model: demo, Version: "2.0.0", Batching: batcher.Config{Instances: 3}},
	}, store, opener)
	if err == nil {
		_ = table.Close()
		t.Fatal("Load of a model narrower than its signature: no error")
	}
	if !errors.Is(err, runtime.ErrUnsupportedModel) {
		t.Fatalf("got %v, want runtime.ErrUnsupportedModel", err)
	}
	for _, part := range []string{`route "wide": cannot load model customer-churn 2.0.0`, "want one float32 input of shape [-1,17] (the signature's 17 columns), got features float32 [-1,16]"} {
		if !strings.Contains(err.Error(), part) {
			t.Fatalf("got %v, want it to contain %q", err, part)
		}
	}

	// The same registry and environment still serve a good Load, and its
	// Close drains and releases it.
	table, err = router.Load([]router.RouteConfig{{Name: demo, Batching: batcher.Config{Instances: 2}}}, store, opener)
	if err != nil {
		t.Fatalf("Load after a failed Load: %v", err)
	}
	if err := table.Close(); err != nil {
		t.Fatal(err)
	}
	if err := env.Close(); err != nil {
		t.Fatalf("closing the last environment handle: %v", err)
	}

	junk := filepath.Join(t.TempDir(), "libnot-onnxruntime.so")
	if err := os.WriteFile(junk, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	probe, err := runtime.Open(runtime.Config{LibraryPath: junk})
	switch {
	case err == nil:
		_ = probe.Close()
		t.Fatal("BUG: the probe loaded a file that is no library")
	case errors.Is(err, runtime.ErrLibraryConflict):
		t.Fatalf("ONNX Runtime is still held after every handle and table was closed: a session leaked: %v", err)
	case !errors.Is(err, runtime.ErrLibraryLoad):
		t.Fatalf("probe: got %v, want runtime.ErrLibraryLoad", err)
	}
}

func TestCloseDrains(t *testing.T) {
	t.Parallel()
	// A long queue delay holds every request while the batch forms; Close
	// must compute them at once rather than wait for the delay.
	table := servingtest.Table(t, batcher.Config{MaxBatchSize: 64, MaxQueueDelay: time.Minute})
	m := table.Lookup([]byte(demo)).Target()
	width := m.Encoder().Width()

	const callers = 32
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var res router.Result
			errs[i] = m.Predict(make([]float32, width), &res, time.Time{})
		})
	}
	for deadline := time.Now().Add(10 * time.Second); m.QueueDepth() < callers; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests queued after 10s", m.QueueDepth(), callers)
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := table.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Close took %s: it waited for max_queue_delay instead of draining", took)
	}
	if d := m.QueueDepth(); d != 0 {
		t.Fatalf("queue depth %d after Close, want 0", d)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d, queued before Close: %v, want it computed", i, err)
		}
	}
	var res router.Result
	err := m.Predict(make([]float32, width), &res, time.Time{})
	if !errors.Is(err, router.ErrClosed) || !errors.Is(err, router.ErrRejected) {
		t.Fatalf("Predict after Close: got %v, want ErrClosed (ErrRejected)", err)
	}
	if err := table.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestEmptyTable(t *testing.T) {
	t.Parallel()
	table, err := router.Load(nil, servingtest.Store(t), batcher.ONNXOpener{})
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Routes()) != 0 || table.Lookup([]byte(demo)) != nil {
		t.Fatalf("empty table: routes %d", len(table.Routes()))
	}
	if err := table.Close(); err != nil {
		t.Fatal(err)
	}
}
