package breaker

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/infergate/infergate/internal/defaults"
)

// Config configures a breaker: it opens when, over the last Window, at
// least MinRequests calls were made and FailureRatio of them failed; an open
// breaker refuses calls for Cooldown, then lets Probes calls through
// (half-open) and closes when they all succeed. Each user applies its own
// defaults (ApplyDefaults).
type Config struct {
	// Disabled turns the breaker off.
	Disabled bool `yaml:"disabled"`
	// FailureRatio in (0, 1].
	FailureRatio float64 `yaml:"failure_ratio"`
	// MinRequests before the ratio counts.
	MinRequests uint32 `yaml:"min_requests"`
	// Window is the rolling window the counts cover.
	Window time.Duration `yaml:"window"`
	// Cooldown is how long the breaker stays open.
	Cooldown time.Duration `yaml:"cooldown"`
	// Probes is how many calls a half-open breaker lets through.
	Probes uint32 `yaml:"probes"`
}

// ApplyDefaults sets the fields of c left at zero to those of d: each user
// has defaults of its own.
func (c *Config) ApplyDefaults(d Config) {
	defaults.Set(&c.FailureRatio, d.FailureRatio)
	defaults.Set(&c.MinRequests, d.MinRequests)
	defaults.Set(&c.Window, d.Window)
	defaults.Set(&c.Cooldown, d.Cooldown)
	defaults.Set(&c.Probes, d.Probes)
}

// Validate returns an error per invalid field of an enabled breaker (after
// ApplyDefaults), each prefixed with path, the block's field path and a
// dot, e.g. "routes[churn].breaker.".
func (c *Config) Validate(path string) []error {
	if c.Disabled {
		return nil
	}
	var errs []error
	if !(c.FailureRatio > 0 && c.FailureRatio <= 1) {
		errs = append(errs, fmt.Errorf("%sfailure_ratio: must be in (0, 1], got %g", path, c.FailureRatio))
	}
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("%swindow: must be positive, got %s", path, c.Window))
	}
	if c.Cooldown <= 0 {
		errs = append(errs, fmt.Errorf("%scooldown: must be positive, got %s", path, c.Cooldown))
	}
	return errs
}

// ErrOpen is what a call returns when the breaker refused it: open, or
// half-open with all its probes in flight.
var ErrOpen = errors.New("circuit breaker is open")

// Breaker guards one callee. A nil *Breaker, or one made with Disabled,
// lets every call through and costs nothing.
type Breaker struct {
	cb *gobreaker.CircuitBreaker[struct{}] // nil when disabled
	// openUntil is when the open state's cool-down ends (Unix ns), 0 when
	// not open.
	openUntil atomic.Int64
}

// New returns a breaker named name (for gobreaker) of cfg. isSuccessful
// says which errors do not count as failures (nil: only nil does);
// onChange, when not nil, hears every change of state ("closed",
// "half-open", "open").
func New(name string, cfg Config, isSuccessful func(error) bool, onChange func(from, to string)) *Breaker {
	b := &Breaker{}
	if cfg.Disabled {
		return b
	}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: cfg.Probes,
		Interval:    cfg.Window,
		// Ten buckets make the window roll rather than reset at once, so a
		// burst of failures just before a reset still counts.
		BucketPeriod: max(cfg.Window/10, 1),
		Timeout:      cfg.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= cfg.MinRequests &&
				float64(c.TotalFailures) >= cfg.FailureRatio*float64(c.Requests)
		},
		IsSuccessful: isSuccessful,
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openUntil.Store(time.Now().Add(cfg.Cooldown).UnixNano())
			} else {
				b.openUntil.Store(0)
			}
			if onChange != nil {
				onChange(from.String(), to.String())
			}
		},
	})
	return b
}

// Enabled reports whether the breaker guards anything.
func (b *Breaker) Enabled() bool { return b != nil && b.cb != nil }

// Open reports whether the breaker is open and its cool-down still runs.
// After the cool-down it reports false, so that the next call reaches
// gobreaker, which moves to half-open. Only an atomic load, and no clock
// reading while the breaker is not open.
func (b *Breaker) Open() bool {
	if b == nil {
		return false
	}
	until := b.openUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// Do runs fn through the breaker, or refuses it with ErrOpen. A method
// value passed as fn does not escape (gobreaker only calls it), so guarding
// a call allocates nothing.
func (b *Breaker) Do(fn func() (struct{}, error)) error {
	if !b.Enabled() {
		_, err := fn()
		return err
	}
	if b.Open() {
		return ErrOpen
	}
	_, err := b.cb.Execute(fn)
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return ErrOpen
	}
	return err
}

// State is a breaker's state as admin APIs show it. The counts are those
// of the current state: gobreaker starts them again at every change, so an
// open breaker shows none.
type State struct {
	State    string `json:"state"` // closed, half-open, open or disabled
	Requests uint32 `json:"requests"`
	Failures uint32 `json:"failures"`
}

// State returns the breaker's state and counts.
func (b *Breaker) State() State {
	if !b.Enabled() {
		return State{State: "disabled"}
	}
	c := b.cb.Counts()
	return State{State: b.cb.State().String(), Requests: c.Requests, Failures: c.TotalFailures}
}

// StateValue is the state as a gauge: 0 closed (or disabled), 1 half-open,
// 2 open.
func (b *Breaker) StateValue() float64 {
	if !b.Enabled() {
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
