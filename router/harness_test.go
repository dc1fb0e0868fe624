package router_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
	"github.com/infergate/infergate/trainer"
)

// The harness of the chain, breaker, canary and shadow tests: a registry with
// the demo model as 1.0.0 (production) and 1.1.0 (staging), opened behind one
// gate per version, and requests whose features are rows of the demo dataset.

// errInjected is the error a gate fails batches with.
var errInjected = errors.New("injected instance failure")

// waitFor is how long a bounded poll waits for what it expects before the
// test fails: long, so that a slow (race-instrumented, 2-core) run passes.
const waitFor = 10 * time.Second

func probability(p float64) *float64 { return &p }

// twoVersions returns a registry holding the demo model as 1.0.0
// (production) and 1.1.0 (staging), and an opener with a gate per version.
func twoVersions(t *testing.T) (*registry.Store, *servingtest.Gates) {
	t.Helper()
	store := servingtest.Store(t)
	servingtest.RegisterVersion(t, store, "1.1.0", "staging")
	return store, servingtest.NewGates(t)
}

// load loads routes (their model defaulting to the demo's) and closes the
// table when the test ends, releasing every gate first: Close waits for a
// held batch.
func load(t *testing.T, store *registry.Store, gates *servingtest.Gates, routes ...router.RouteConfig) *router.Table {
	t.Helper()
	for i := range routes {
		if routes[i].Model == "" {
			routes[i].Model = demo
		}
	}
	table, err := router.Load(routes, store, gates)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		gates.Release()
		if err := table.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return table
}

// lookup returns the route named name of table.
func lookup(t *testing.T, table *router.Table, name string) *router.Route {
	t.Helper()
	r := table.Lookup([]byte(name))
	if r == nil {
		t.Fatalf("no route %q", name)
	}
	return r
}

// dataset is the demo dataset as request features.
type dataset struct {
	cols  []*trainer.Column
	names [][]byte
}

// demoRows returns the demo dataset's feature columns (the label left out,
// the customer_id entity key kept, as a client sends it).
func demoRows(t *testing.T) *dataset {
	t.Helper()
	_, data := servingtest.Demo(t)
	d := &dataset{}
	for _, c := range data.Columns {
		if c.Name == trainer.ChurnTarget {
			continue
		}
		d.cols = append(d.cols, c)
		d.names = append(d.names, []byte(c.Name))
	}
	return d
}

// fill adds row i's features (modulo the row count) to req, leaving out the
// missing cells as a client does.
func (d *dataset) fill(req *router.Request, i int) {
	i %= d.cols[0].Len()
	for j, c := range d.cols {
		switch {
		case c.Missing(i):
		case c.Kind == trainer.Categorical:
			req.Features.AddString(d.names[j], []byte(c.Strings[i]))
		default:
			req.Features.AddNumber(d.names[j], c.Numbers[i])
		}
	}
}

// number returns row i's value of the numeric column name (NaN: missing).
func (d *dataset) number(i int, name string) float64 {
	i %= d.cols[0].Len()
	for _, c := range d.cols {
		if c.Name == name {
			return c.Numbers[i]
		}
	}
	panic("no column " + name)
}

// text returns row i's value of the categorical column name ("": missing).
func (d *dataset) text(i int, name string) string {
	i %= d.cols[0].Len()
	for _, c := range d.cols {
		if c.Name == name {
			return c.Strings[i]
		}
	}
	panic("no column " + name)
}

// ask is one request as the gateway makes it: Prepare, Serve and, when it
// was answered, Mirror.
type ask struct {
	row      int           // the demo dataset row whose features it carries
	sticky   string        // Request.StickyKey
	timeout  time.Duration // the deadline, from now; 0: none
	priority int           // Request.Priority
}

// answer is what became of an ask.
type answer struct {
	res  router.Result
	err  error
	took time.Duration
}

func (a *answer) target() string {
	if a.res.Target == nil {
		return "<none>"
	}
	return a.res.Target.Name()
}

// do sends a through route.
func (d *dataset) do(route *router.Route, a ask) answer {
	req := router.AcquireRequest()
	defer router.ReleaseRequest(req)
	d.fill(req, a.row)
	if a.sticky != "" {
		req.StickyKey = []byte(a.sticky)
	}
	req.Priority = a.priority
	start := time.Now()
	if a.timeout > 0 {
		req.Deadline = start.Add(a.timeout)
	}
	var out answer
	if _, out.err = route.Prepare(req); out.err != nil {
		return out
	}
	out.err = route.Serve(req, &out.res)
	out.took = time.Since(start)
	if out.err == nil {
		route.Mirror(req, &out.res, out.took)
	}
	return out
}

// median returns the median of ds (which it sorts).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// poll calls done every few milliseconds until it reports true, and fails
// the test with what it says it waited for when waitFor passes first.
func poll(t *testing.T, what string, done func() bool) {
	t.Helper()
	for stop := time.Now().Add(waitFor); !done(); {
		if time.Now().After(stop) {
			t.Fatalf("waited %s for %s", waitFor, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
