package auth_test

import (
	"testing"
	"time"

	"github.com/infergate/infergate/gateway/auth"
)

// TestRequestPathDoesNotAllocate guards the calls the gateway makes on every
// request. Not parallel: AllocsPerRun counts every goroutine's allocations.
func TestRequestPathDoesNotAllocate(t *testing.T) {
	a := newAuthenticator(t, testConfig())
	bearer, apiKey := []byte("Bearer "+keyA1), []byte(keyA2)
	wrong := []byte("Bearer " + keyA1 + "x")
	route, other := []byte("fraud"), []byte("ranker")
	k, err := a.Authenticate(bearer, nil)
	if err != nil {
		t.Fatal(err)
	}
	unlimited, err := a.Authenticate(nil, []byte(keyB))
	if err != nil {
		t.Fatal(err)
	}
	limited := rateKey(t, auth.RateConfig{RPS: 1e6, Burst: 10})
	now := testStart
	l := auth.NewLimiter(4, time.Second)
	f := func(name string, run func()) {
		t.Helper()
		if allocs := testing.AllocsPerRun(1000, run); allocs != 0 {
			t.Errorf("%s: %.2f allocations per call, want 0", name, allocs)
		}
	}
	f("Authenticate Bearer", func() { _, _ = a.Authenticate(bearer, nil) })
	f("Authenticate X-API-Key", func() { _, _ = a.Authenticate(nil, apiKey) })
	f("Authenticate unknown key", func() { _, _ = a.Authenticate(wrong, nil) })
	f("Authenticate no key", func() { _, _ = a.Authenticate(nil, nil) })
	f("MayCall listed", func() { _ = k.MayCall(route) })
	f("MayCall not listed", func() { _ = k.MayCall(other) })
	f("Allow", func() { now = now.Add(time.Microsecond); _, _ = limited.Allow(now) })
	f("Allow refused", func() { _, _ = limited.Allow(testStart) })
	f("Allow unlimited", func() { _, _ = unlimited.Allow(now) })
	f("Limiter Acquire+Release", func() {
		if l.Acquire(time.Time{}) == nil {
			l.Release()
		}
	})
}
