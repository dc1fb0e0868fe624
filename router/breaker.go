package router

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// breaker guards one target. It wraps gobreaker so the rest of the router
// sees only "may I call?" and the outcome, and so a target with its breaker
// disabled costs nothing.
type breaker struct {
	cb *gobreaker.CircuitBreaker[struct{}] // nil when disabled
	// openUntil is when the open state's cool-down ends (Unix ns), 0 when
	// not open: the request path and the shadow's offer test it without
	// gobreaker's mutex and, when it is 0, without reading the clock.
	openUntil atomic.Int64
}

// errBreakerOpen is what a call returns when the breaker refused it: open, or
// half-open with all its probes in flight.
var errBreakerOpen = errors.New("circuit breaker is open")

func newBreaker(name string, cfg BreakerConfig) *breaker {
	b := &breaker{}
	if cfg.Disabled {
		return b
	}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: cfg.Probes,
		Interval:    cfg.Window,
		// Ten buckets make the window roll rather than reset at once, so
		// a burst of failures just before a reset still counts.
		BucketPeriod: max(cfg.Window/10, 1),
		Timeout:      cfg.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= cfg.MinRequests &&
				float64(c.TotalFailures) >= cfg.FailureRatio*float64(c.Requests)
		},
		// A request the target refused because of its input (ours, or a
		// remote's 4xx) says nothing about the target's health.
		IsSuccessful: func(err error) bool {
			r := classify(err)
			return r == reasonOK || r == reasonInvalidInput
		},
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openUntil.Store(time.Now().Add(cfg.Cooldown).UnixNano())
			} else {
				b.openUntil.Store(0)
			}
		},
	})
	return b
}

// open reports whether the breaker is open and its cool-down still runs.
// After the cool-down it reports false, so that the next call reaches
// gobreaker, which moves to half-open.
func (b *breaker) open() bool {
	until := b.openUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// do runs c.attempt through the breaker. The method value does not escape
// (Execute only calls it), so guarding a call allocates nothing.
func (b *breaker) do(c *call) error {
	if b.cb == nil {
		return c.attempt()
	}
	if b.open() {
		return errBreakerOpen
	}
	_, err := b.cb.Execute(c.run)
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return errBreakerOpen
	}
	return err
}

// BreakerState is a breaker's state as the admin API shows it. The counts
// are those of the current state: gobreaker starts them again at every
// change, so an open breaker shows none.
type BreakerState struct {
	State    string `json:"state"` // closed, half-open, open or disabled
	Requests uint32 `json:"requests"`
	Failures uint32 `json:"failures"`
}

func (b *breaker) state() BreakerState {
	if b.cb == nil {
		return BreakerState{State: "disabled"}
	}
	c := b.cb.Counts()
	return BreakerState{State: b.cb.State().String(), Requests: c.Requests, Failures: c.TotalFailures}
}

// stateValue is the breaker's state as a number for the
// infergate_breaker_state gauge: 0 closed, 1 half-open, 2 open.
func (b *breaker) stateValue() float64 {
	if b.cb == nil {
		return 0
	}
	switch b.cb.State() {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}
