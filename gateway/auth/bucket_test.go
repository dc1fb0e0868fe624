package auth_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergate/infergate/gateway/auth"
)

// testStart is the time the tests' injected clocks start from.
var testStart = time.Now()

// rateKey returns a key limited to rate, in an Authenticator of its own.
func rateKey(tb testing.TB, rate auth.RateConfig) *auth.Key {
	tb.Helper()
	c := testConfig()
	c.Tenants[1].Rate = rate
	c.ApplyDefaults()
	k, err := newAuthenticator(tb, c).Authenticate(nil, []byte(keyB))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// TestAllow checks the bucket step by step on an injected clock: burst
// requests at once, then one per 1/rps, and retryAfter the time until the
// next token.
func TestAllow(t *testing.T) {
	t.Parallel()
	type call struct {
		at         time.Duration // since testStart
		ok         bool
		retryAfter time.Duration
	}
	f := func(name string, rate auth.RateConfig, calls ...call) {
		t.Helper()
		k := rateKey(t, rate)
		for i, c := range calls {
			ok, retryAfter := k.Allow(testStart.Add(c.at))
			if ok != c.ok || retryAfter != c.retryAfter {
				t.Errorf("%s: call %d at %s: Allow = %t, %s; want %t, %s", name, i, c.at, ok, retryAfter, c.ok, c.retryAfter)
			}
		}
	}
	const ms = time.Millisecond
	f("burst 3 then 2 per second", auth.RateConfig{RPS: 2, Burst: 3},
		call{0, true, 0}, call{0, true, 0}, call{0, true, 0},
		call{0, false, 500 * ms},
		call{250 * ms, false, 250 * ms},
		call{500 * ms, true, 0},
		call{500 * ms, false, 500 * ms},
		call{999 * ms, false, 1 * ms},
		call{1000 * ms, true, 0},
		call{1000 * ms, false, 500 * ms},
		// Idle for long: the bucket refills to burst, no more.
		call{time.Minute, true, 0}, call{time.Minute, true, 0}, call{time.Minute, true, 0},
		call{time.Minute, false, 500 * ms},
	)
	f("default burst of 2.5 rps is 3", auth.RateConfig{RPS: 2.5},
		call{0, true, 0}, call{0, true, 0}, call{0, true, 0},
		call{0, false, 400 * ms},
		call{400 * ms, true, 0},
		call{400 * ms, false, 400 * ms},
	)
	f("one every 2s", auth.RateConfig{RPS: 0.5, Burst: 1},
		call{0, true, 0},
		call{0, false, 2 * time.Second},
		call{1500 * ms, false, 500 * ms},
		call{2 * time.Second, true, 0},
	)
	f("a third of a second, rounded to the nanosecond", auth.RateConfig{RPS: 3, Burst: 1},
		call{0, true, 0},
		call{0, false, 333333333},
		call{333333333, true, 0},
	)
	f("a clock going back is not a refill", auth.RateConfig{RPS: 1, Burst: 1},
		call{time.Second, true, 0},
		call{0, false, 2 * time.Second},
		call{2 * time.Second, true, 0},
	)
	f("unlimited", auth.RateConfig{},
		call{0, true, 0}, call{0, true, 0}, call{0, true, 0}, call{0, true, 0},
	)
}

// TestAllowRefillRate: at 100 rps with a burst of 1, calls every
// millisecond for 10s are let through once every 10ms, exactly.
func TestAllowRefillRate(t *testing.T) {
	t.Parallel()
	k := rateKey(t, auth.RateConfig{RPS: 100, Burst: 1})
	granted := 0
	for i := range 10_000 {
		ok, retryAfter := k.Allow(testStart.Add(time.Duration(i) * time.Millisecond))
		if ok != (i%10 == 0) {
			t.Fatalf("call at %dms: ok = %t", i, ok)
		}
		if !ok && retryAfter != time.Duration(10-i%10)*time.Millisecond {
			t.Fatalf("call at %dms: retryAfter = %s", i, retryAfter)
		}
		if ok {
			granted++
		}
	}
	if granted != 1000 {
		t.Errorf("granted %d, want 1000", granted)
	}
}

// TestAllowConcurrent: N goroutines × M calls never get more tokens than
// burst + rps × elapsed, whatever the interleaving (run it with -race).
func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	const goroutines, calls = 16, 2000
	rate := auth.RateConfig{RPS: 1000, Burst: 50}
	interval := time.Second / time.Duration(rate.RPS)

	// run calls Allow goroutines×calls times with clock's times and
	// returns how many were granted and the times' span.
	run := func(clock func() time.Time) (granted int64, span time.Duration) {
		k := rateKey(t, rate)
		var first, last atomic.Int64
		first.Store(1<<63 - 1)
		var wg sync.WaitGroup
		var n atomic.Int64
		for range goroutines {
			wg.Go(func() {
				for range calls {
					now := clock()
					d := int64(now.Sub(testStart))
					for v := first.Load(); d < v && !first.CompareAndSwap(v, d); v = first.Load() {
					}
					for v := last.Load(); d > v && !last.CompareAndSwap(v, d); v = last.Load() {
					}
					if ok, _ := k.Allow(now); ok {
						n.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return n.Load(), time.Duration(last.Load() - first.Load())
	}
	bound := func(span time.Duration) int64 {
		return int64(rate.Burst) + int64(span/interval)
	}

	// All at one instant: exactly burst.
	if granted, _ := run(func() time.Time { return testStart }); granted != int64(rate.Burst) {
		t.Errorf("one instant: granted %d, want %d", granted, rate.Burst)
	}
	// A shared clock that every call moves on by 100µs, read in any order
	// by the goroutines: 3.2s of calls, about 10 per token.
	var tick atomic.Int64
	granted, span := run(func() time.Time { return testStart.Add(time.Duration(tick.Add(1)) * 100 * time.Microsecond) })
	if granted > bound(span) || granted < bound(span)/2 {
		t.Errorf("shared clock: granted %d over %s, want at most %d and not far below", granted, span, bound(span))
	}
	// The real clock.
	granted, span = run(time.Now)
	if granted > bound(span) || granted < int64(rate.Burst) {
		t.Errorf("real clock: granted %d over %s, want %d to %d", granted, span, rate.Burst, bound(span))
	}
}
