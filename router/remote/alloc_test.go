package remote_test

import (
	"testing"

	"github.com/infergate/infergate/router/remote"
)

// TestCallDoesNotAllocate guards the call path: in steady state a call,
// from encoding the request to parsing the answer into a reused Answer,
// allocates nothing (nor does the loopback server). Not parallel:
// AllocsPerRun counts every goroutine's allocations.
func TestCallDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects")
	}
	f := func(name string, call func(a *remote.Answer) error) {
		t.Helper()
		var a remote.Answer
		run := func() {
			if err := call(&a); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		run() // fill the pools and the Answer's strings
		if allocs := testing.AllocsPerRun(200, run); allocs != 0 {
			t.Errorf("%s: %.2f allocations per call, want 0", name, allocs)
		}
	}
	ig := listen(t, canned(cannedInfergate), false)
	c := newClient(t, remote.Config{URL: ig.url, Model: "churn", Headers: map[string]string{"Authorization": "Bearer x", "Host": "churn.example.com"}})
	set := benchFeatures()
	f("infergate", func(a *remote.Answer) error { return c.PredictFeatures(set, deadline(), a) })

	tv := listen(t, canned(cannedV2), false)
	cv := newClient(t, remote.Config{URL: tv.url, Model: "churn", Protocol: remote.ProtocolV2, Output: "probability"})
	row := []float32{0.1, -1.3, 0.27, 1}
	f("v2", func(a *remote.Answer) error { return cv.PredictTensor(row, deadline(), a) })
}
