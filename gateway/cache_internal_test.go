package gateway

import (
	"sync"
	"testing"

	"github.com/VictoriaMetrics/metrics"
	"github.com/infergate/infergate/registry"
	"github.com/infergate/infergate/router"
)

// TestCacheCloseWhileInUse: a request may outlive its routing snapshot, so
// get and put can run while the snapshot's cache closes. They must neither
// panic (ristretto's channels close) nor race, and afterwards find nothing.
func TestCacheCloseWhileInUse(t *testing.T) {
	t.Parallel()
	enc, err := registry.NewEncoder(&registry.Signature{
		Input:    "features",
		Features: []registry.Feature{{Name: "x", Type: registry.Numeric, Std: 1}},
		Output:   registry.Output{Name: "probability", Labels: []registry.Label{{Min: 0, Label: "any"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		c, err := newRouteCache(metrics.NewSet(), "r", CacheConfig{Enabled: true}, enc, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				key := appendKey(nil, "1.0.0", []float32{float32(w)})
				for range 200 {
					c.put(key, &router.Request{}, &router.Result{Probability: 0.5, Label: "churn"})
					c.get(key)
				}
			}()
		}
		close(start)
		c.close()
		wg.Wait()
		if _, hit := c.get(appendKey(nil, "1.0.0", []float32{0})); hit {
			t.Fatal("a closed cache answered")
		}
	}
}
