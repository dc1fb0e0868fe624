package router

import "github.com/infergate/infergate/internal/breaker"

// BreakerState is a target's breaker state as the admin API shows it.
type BreakerState = breaker.State

// errBreakerOpen is what a call returns when the target's breaker refused it.
var errBreakerOpen = breaker.ErrOpen

// newBreaker returns a target's breaker. A request the target refused
// because of its input (ours, or a remote's 4xx) says nothing about the
// target's health, so it does not count as a failure; nor does one its
// model's full queue turned away: shedding load is the batcher working,
// the rejection cost nothing, and an open breaker would turn away the
// requests the queue still has room for (with priority levels, a flood of
// the lowest level would shut out the highest).
func newBreaker(name string, cfg BreakerConfig) *breaker.Breaker {
	return breaker.New(name, cfg, func(err error) bool {
		switch classify(err) {
		case reasonOK, reasonInvalidInput, reasonQueueFull:
			return true
		}
		return false
	}, nil)
}
