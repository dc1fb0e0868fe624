package auth_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infergate/infergate/gateway/auth"
)

// BenchmarkAuthenticate: the cost of a request's key lookup, which hashes
// the key once and compares with every configured hash, by number of keys.
func BenchmarkAuthenticate(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			c := testConfig()
			for i := len(c.Keys); i < n; i++ {
				c.Keys = append(c.Keys, auth.KeyConfig{ID: fmt.Sprintf("k%d", i), SHA256: auth.HashKey(fmt.Sprintf("ig_bench_%d", i)), Tenant: "team-b"})
			}
			c.Keys = c.Keys[:n]
			a := newAuthenticator(b, c)
			header := []byte("Bearer " + keyA1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(header, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAllowParallel: the rate bucket under parallel requests. The rate
// is high enough for every call to be granted, so that it measures taking a
// token, not refusing one; granted/op says how many were.
//
// key-per-goroutine is many clients: each goroutine has a key of its own,
// next to the others' in the Authenticator, with a clock of its own that
// moves on by 1µs a call. It shows what the bucket's cache-line padding is
// for: without it, the keys' counters share cache lines and this case was
// 3 times slower (14-18 ns/op against 5 on 2 cores).
//
// shared-key is one client on every core: every grant is a compare-and-swap
// on one cache line. Its goroutines read the real clock, as only a shared
// clock keeps their times in step; clock is the cost of that read alone.
func BenchmarkAllowParallel(b *testing.B) {
	rate := auth.RateConfig{RPS: 1e9, Burst: 1_000_000}
	run := func(b *testing.B, key func() *auth.Key, clock func(time.Time) time.Time) {
		var granted atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			k, now, n := key(), time.Now(), int64(0)
			for pb.Next() {
				now = clock(now)
				if ok, _ := k.Allow(now); ok {
					n++
				}
			}
			granted.Add(n)
		})
		b.ReportMetric(float64(granted.Load())/float64(b.N), "granted/op")
	}
	b.Run("key-per-goroutine", func(b *testing.B) {
		c := testConfig()
		c.Tenants[1].Rate = rate
		c.Keys = c.Keys[:0]
		for i := range 256 {
			c.Keys = append(c.Keys, auth.KeyConfig{ID: fmt.Sprintf("k%d", i), SHA256: auth.HashKey(fmt.Sprintf("ig_bench_%d", i)), Tenant: "team-b"})
		}
		a := newAuthenticator(b, c)
		var next atomic.Int64
		run(b, func() *auth.Key {
			k, err := a.Authenticate(nil, fmt.Appendf(nil, "ig_bench_%d", (next.Add(1)-1)%256))
			if err != nil {
				panic(err)
			}
			return k
		}, func(now time.Time) time.Time { return now.Add(time.Microsecond) })
	})
	b.Run("shared-key", func(b *testing.B) {
		k := rateKey(b, rate)
		run(b, func() *auth.Key { return k }, func(time.Time) time.Time { return time.Now() })
	})
	b.Run("clock", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = time.Now()
			}
		})
	})
}
