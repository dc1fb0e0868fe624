package auth_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/infergate/infergate/gateway/auth"
)

// The limiter's tests run in synctest bubbles: time stands still while a
// goroutine runs and jumps to the next timer when all are blocked, so the
// waits are exact and take no real time.

func TestLimiterAcquire(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := auth.NewLimiter(2, time.Second)
		if l.Max() != 2 {
			t.Errorf("Max() = %d, want 2", l.Max())
		}
		start := time.Now()
		for i := range 2 {
			if err := l.Acquire(time.Time{}); err != nil {
				t.Fatalf("Acquire %d: %v", i, err)
			}
		}
		if time.Since(start) != 0 || l.InFlight() != 2 || l.LimitReached() != 0 {
			t.Errorf("free slots: waited %s, InFlight %d, LimitReached %d; want 0, 2, 0", time.Since(start), l.InFlight(), l.LimitReached())
		}
		// Full: the third waits maxWait, then fails.
		err := l.Acquire(time.Time{})
		if !errors.Is(err, auth.ErrOverloaded) || err.Error() != "the gateway is at its limit of concurrent requests; retry after the Retry-After delay" {
			t.Errorf("Acquire when full: %v", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("waited %s, want maxWait 1s", waited)
		}
		if l.InFlight() != 2 || l.LimitReached() != 1 || l.Timeouts() != 1 {
			t.Errorf("InFlight %d, LimitReached %d, Timeouts %d; want 2, 1, 1", l.InFlight(), l.LimitReached(), l.Timeouts())
		}
		l.Release()
		if l.InFlight() != 1 {
			t.Errorf("InFlight after Release = %d, want 1", l.InFlight())
		}
		if err := l.Acquire(time.Time{}); err != nil || time.Since(start) != time.Second {
			t.Errorf("Acquire after Release: %v after %s", err, time.Since(start))
		}
	})
}

func TestLimiterDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := auth.NewLimiter(1, time.Second)
		if err := l.Acquire(time.Time{}); err != nil {
			t.Fatal(err)
		}
		f := func(name string, deadline time.Time, wantWait time.Duration) {
			t.Helper()
			start := time.Now()
			err := l.Acquire(deadline)
			if !errors.Is(err, auth.ErrOverloaded) || time.Since(start) != wantWait {
				t.Errorf("%s: Acquire = %v after %s; want ErrOverloaded after %s", name, err, time.Since(start), wantWait)
			}
		}
		f("deadline before maxWait", time.Now().Add(300*time.Millisecond), 300*time.Millisecond)
		f("deadline after maxWait", time.Now().Add(time.Hour), time.Second)
		f("deadline passed", time.Now().Add(-time.Second), 0)
		f("deadline now", time.Now(), 0)
		if l.Timeouts() != 4 || l.LimitReached() != 4 {
			t.Errorf("Timeouts %d, LimitReached %d; want 4, 4", l.Timeouts(), l.LimitReached())
		}
		// A free slot is taken even past the deadline.
		l.Release()
		if err := l.Acquire(time.Now().Add(-time.Second)); err != nil {
			t.Errorf("a free slot past the deadline: %v", err)
		}
	})
}

// TestLimiterReleaseWakesWaiter: a waiter gets the slot as soon as it is
// released, not at the end of its wait.
func TestLimiterReleaseWakesWaiter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := auth.NewLimiter(1, time.Second)
		if err := l.Acquire(time.Time{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		done := make(chan error)
		go func() { done <- l.Acquire(time.Time{}) }()
		synctest.Wait() // the waiter is blocked
		if l.LimitReached() != 1 {
			t.Fatalf("LimitReached = %d, want 1", l.LimitReached())
		}
		time.Sleep(200 * time.Millisecond)
		l.Release()
		if err := <-done; err != nil {
			t.Fatalf("the waiter: %v", err)
		}
		if waited := time.Since(start); waited != 200*time.Millisecond {
			t.Errorf("the waiter waited %s, want 200ms", waited)
		}
		if l.InFlight() != 1 || l.Timeouts() != 0 {
			t.Errorf("InFlight %d, Timeouts %d; want 1, 0", l.InFlight(), l.Timeouts())
		}
		// Its pooled timer, stopped, does not fire into the next wait.
		time.Sleep(2 * time.Second)
		start = time.Now()
		if err := l.Acquire(time.Time{}); !errors.Is(err, auth.ErrOverloaded) || time.Since(start) != time.Second {
			t.Errorf("the next wait: %v after %s, want ErrOverloaded after 1s", err, time.Since(start))
		}
	})
}

// TestLimiterManyWaiters: under a burst of waiters each slot serves one
// waiter at a time and the rest time out; the count never exceeds max.
func TestLimiterManyWaiters(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const slots, waiters = 3, 20
		l := auth.NewLimiter(slots, time.Second)
		errs := make(chan error, waiters)
		for range waiters {
			go func() {
				err := l.Acquire(time.Time{})
				if err == nil {
					if n := l.InFlight(); n > slots {
						t.Errorf("InFlight %d above %d", n, slots)
					}
					time.Sleep(400 * time.Millisecond) // work
					l.Release()
				}
				errs <- err
			}()
		}
		served := 0
		for range waiters {
			if <-errs == nil {
				served++
			}
		}
		// Each slot serves at 0, 400ms and 800ms; the waiters left at 1s
		// time out.
		if served != 3*slots || l.Timeouts() != waiters-3*slots || l.InFlight() != 0 {
			t.Errorf("served %d, Timeouts %d, InFlight %d; want %d, %d, 0", served, l.Timeouts(), l.InFlight(), 3*slots, waiters-3*slots)
		}
	})
}

func TestLimiterUnlimited(t *testing.T) {
	t.Parallel()
	l := auth.NewLimiter(0, time.Second)
	for range 1000 {
		if err := l.Acquire(time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if l.InFlight() != 1000 || l.Max() != 0 {
		t.Errorf("InFlight %d, Max %d; want 1000, 0", l.InFlight(), l.Max())
	}
	for range 1000 {
		l.Release()
	}
	if l.InFlight() != 0 || l.LimitReached() != 0 {
		t.Errorf("InFlight %d, LimitReached %d; want 0, 0", l.InFlight(), l.LimitReached())
	}
}

func TestLimiterReleaseWithoutAcquirePanics(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1} {
		func() {
			defer func() {
				if r := recover(); r != "BUG: Limiter.Release without Acquire" {
					t.Errorf("NewLimiter(%d): recovered %v", n, r)
				}
			}()
			auth.NewLimiter(n, time.Second).Release()
		}()
	}
}

func TestLimiterNoWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		l := auth.NewLimiter(1, 0)
		if err := l.Acquire(time.Time{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := l.Acquire(time.Time{}); !errors.Is(err, auth.ErrOverloaded) || time.Since(start) != 0 {
			t.Errorf("maxWait 0: %v after %s, want ErrOverloaded at once", err, time.Since(start))
		}
	})
}
