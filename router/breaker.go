package router

import "github.com/infergate/infergate/internal/breaker"

// BreakerState is a target's breaker state as the admin API shows it.
type BreakerState = breaker.State

// errBreakerOpen is what a call returns when the target's breaker refused it.
var errBreakerOpen = breaker.ErrOpen

// newBreaker returns a target's breaker. A request the target refused
// because of its input (ours, or a remote's 4xx) says nothing about the
// target's health, so it does not count as a failure.
func newBreaker(name string, cfg BreakerConfig) *breaker.Breaker {
	return breaker.New(name, cfg, func(err error) bool {
		r := classify(err)
		return r == reasonOK || r == reasonInvalidInput
	}, nil)
}
