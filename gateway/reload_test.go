package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// TestHotSwapUnderLoad promotes a new version 10 times while clients send
// requests at a steady rate: the reloader loads each, swaps it in and closes
// the old table once its requests are done. No request fails, and every
// answer's model_version was live while the request ran: the version the
// alias named before its move, or after.
func TestHotSwapUnderLoad(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	const promotions = 10
	versions := []string{"1.0.0"}
	for i := 1; i <= promotions; i++ {
		v := fmt.Sprintf("1.%d.0", i)
		servingtest.RegisterVersion(t, store, v)
		versions = append(versions, v)
	}
	routes := []router.RouteConfig{{Name: servingtest.Route, Batching: batcher.Config{MaxBatchSize: 8}}}
	opener := batcher.ONNXOpener{Env: servingtest.Env(t)}
	table, err := router.Load(routes, store, opener)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := router.Fingerprint(routes, store)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newTestGateway(gateway.Config{}, table)
	if err != nil {
		t.Fatal(err)
	}
	s := serveGateway(t, g)
	t.Cleanup(func() { _ = g.Table().Close() })
	reloader := gateway.NewReloader(g, routes, store, opener, fp, slog.New(slog.NewTextHandler(io.Discard, nil)))

	// live[i] is when versions[i] started serving (the swap's end) and
	// stopped (the next swap's end); a request may see versions[i] if it
	// overlapped [moved[i], swapped[i+1]].
	type window struct{ from, to time.Time }
	live := make([]window, len(versions))
	live[0].from = time.Now()
	var mu sync.Mutex

	type answer struct {
		start, end time.Time
		status     int
		version    string
	}
	var (
		answers []answer
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			tick := time.NewTicker(2 * time.Millisecond) // ~2,000 requests/s in all
			defer tick.Stop()
			for !stop.Load() {
				<-tick.C
				a := answer{start: time.Now()}
				r := s.predict(t, validBody)
				a.end, a.status = time.Now(), r.status
				var p prediction
				if r.status == fasthttp.StatusOK {
					decode(t, r, &p)
					a.version = p.ModelVersion
				}
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
			}
		})
	}
	for i := 1; i <= promotions; i++ {
		time.Sleep(30 * time.Millisecond) // traffic on version i-1 between promotions
		moved := time.Now()
		if err := store.SetAlias(servingtest.Route, registry.ProductionAlias, versions[i]); err != nil {
			t.Fatal(err)
		}
		swapped, err := reloader.Check(context.Background())
		if err != nil || !swapped {
			t.Fatalf("promotion %d: swapped %v, %v", i, swapped, err)
		}
		mu.Lock()
		live[i-1].to = time.Now()
		live[i].from = moved
		mu.Unlock()
	}
	time.Sleep(30 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	live[promotions].to = time.Now()

	index := map[string]int{}
	for i, v := range versions {
		index[v] = i
	}
	seen := map[string]int{}
	for _, a := range answers {
		if a.status != fasthttp.StatusOK {
			t.Errorf("a request failed with %d during the swaps", a.status)
			continue
		}
		i, ok := index[a.version]
		if !ok {
			t.Errorf("answered by version %q, which was never promoted", a.version)
			continue
		}
		if w := live[i]; a.end.Before(w.from) || a.start.After(w.to) {
			t.Errorf("answered by %s between %s and %s, but it served from %s to %s",
				a.version, a.start.Format(time.StampMicro), a.end.Format(time.StampMicro), w.from.Format(time.StampMicro), w.to.Format(time.StampMicro))
		}
		seen[a.version]++
	}
	t.Logf("%d requests during %d promotions, none failed; answers per version: %v", len(answers), promotions, seen)
	if len(seen) != len(versions) {
		t.Errorf("%d versions answered, want all %d", len(seen), len(versions))
	}

	// Unchanged registry: nothing to do.
	if swapped, err := reloader.Check(context.Background()); swapped || err != nil {
		t.Errorf("Check with nothing new: swapped %v, %v", swapped, err)
	}
}

// TestReloadRefusesABadVersion: an alias moved to a version that cannot
// load (not an ONNX model) is refused with an error, the old version keeps
// serving, the same registry state is not tried again, and the next good
// version is taken.
func TestReloadRefusesABadVersion(t *testing.T) {
	t.Parallel()
	store := servingtest.Store(t)
	good, err := store.Resolve(servingtest.Route, registry.ProductionAlias)
	if err != nil {
		t.Fatal(err)
	}
	bad := *good
	bad.Version, bad.CreatedAt, bad.ModelSHA256 = "2.0.0", time.Time{}, ""
	if err := store.Register(&bad, []byte("these bytes are not an ONNX model")); err != nil {
		t.Fatal(err)
	}
	servingtest.RegisterVersion(t, store, "3.0.0")

	routes := []router.RouteConfig{{Name: servingtest.Route}}
	opener := batcher.ONNXOpener{Env: servingtest.Env(t)}
	table, err := router.Load(routes, store, opener)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := router.Fingerprint(routes, store)
	g, err := newTestGateway(gateway.Config{}, table)
	if err != nil {
		t.Fatal(err)
	}
	s := serveGateway(t, g)
	t.Cleanup(func() { _ = g.Table().Close() })
	reloader := gateway.NewReloader(g, routes, store, opener, fp, slog.New(slog.NewTextHandler(io.Discard, nil)))
	version := func() string {
		t.Helper()
		var p prediction
		decode(t, s.predict(t, validBody), &p)
		return p.ModelVersion
	}

	if err := store.SetAlias(servingtest.Route, registry.ProductionAlias, "2.0.0"); err != nil {
		t.Fatal(err)
	}
	swapped, err := reloader.Check(context.Background())
	if swapped || err == nil || !strings.Contains(err.Error(), "refusing the registry's new versions") || !strings.Contains(err.Error(), "2.0.0") {
		t.Fatalf("Check with a broken version: swapped %v, %v", swapped, err)
	}
	t.Logf("refused: %v", err)
	if v := version(); v != "1.0.0" {
		t.Fatalf("after the refusal, answered by %s, want the old 1.0.0", v)
	}
	if swapped, err := reloader.Check(context.Background()); swapped || err != nil {
		t.Fatalf("the same broken state again: swapped %v, %v; want it left alone", swapped, err)
	}
	if err := store.SetAlias(servingtest.Route, registry.ProductionAlias, "3.0.0"); err != nil {
		t.Fatal(err)
	}
	if swapped, err := reloader.Check(context.Background()); !swapped || err != nil {
		t.Fatalf("a good version after a bad one: swapped %v, %v", swapped, err)
	}
	if v := version(); v != "3.0.0" {
		t.Fatalf("answered by %s, want 3.0.0", v)
	}
}
