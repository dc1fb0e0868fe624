package gateway_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/infergate/infergate/batcher"
	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
)

// TestOffline answers chunks through the offline pipeline from several
// goroutines: each row gets what Route.Serve gives it alone, a nil request
// is skipped, and a row the model cannot take gets its input error.
func TestOffline(t *testing.T) {
	t.Parallel()
	route := servingtest.Table(t, batcher.Config{MaxBatchSize: 8}).Lookup([]byte(servingtest.Route))
	_, d := servingtest.Demo(t)
	const rows = 12
	want := make([]float64, rows)
	for i := range rows {
		req := servingtest.DemoRequest(route, d, i)
		if _, err := route.Prepare(req); err != nil {
			t.Fatal(err)
		}
		var res router.Result
		if err := route.Serve(req, &res); err != nil {
			t.Fatal(err)
		}
		want[i] = res.Probability
		router.ReleaseRequest(req)
	}

	p := gateway.NewOffline(route)
	if p.Route() != route {
		t.Fatal("Route() is not the route")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			reqs := make([]*router.Request, rows+2)
			for i := range rows {
				reqs[i] = servingtest.DemoRequest(route, d, i)
			}
			// reqs[rows] stays nil; reqs[rows+1] has no features at all.
			reqs[rows+1] = router.AcquireRequest()
			defer func() {
				for _, req := range reqs {
					if req != nil {
						router.ReleaseRequest(req)
					}
				}
			}()
			res := make([]router.Result, len(reqs))
			errs := make([]error, len(reqs))
			p.AnswerAll(reqs, res, errs)
			for i := range rows {
				if errs[i] != nil || res[i].Probability != want[i] || res[i].ModelVersion != "1.0.0" {
					t.Errorf("row %d: %+v, %v; want probability %v from 1.0.0", i, res[i], errs[i], want[i])
				}
			}
			if errs[rows] != nil || res[rows].Target != nil {
				t.Errorf("the nil request was answered: %+v, %v", res[rows], errs[rows])
			}
			var ie *router.InputError
			if !errors.As(errs[rows+1], &ie) || !ie.Missing {
				t.Errorf("a row without features: %v, want a missing-feature input error", errs[rows+1])
			}
		})
	}
	wg.Wait()
}
