package loadgen

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults applied by Load.ApplyDefaults to fields left zero.
const (
	defaultArrival        = Constant
	defaultOpenInFlight   = 10000
	defaultWindow         = 5 * time.Second
	defaultMaxWindows     = 5
	defaultTolerance      = 0.10
	defaultDrain          = 5 * time.Second
	maxRate               = 1e7 // req/s; above it the schedule's ns arithmetic loses meaning
	stableWindows         = 3   // windows that must agree for Stable
	progressEvery         = 250 * time.Millisecond
	cancelDrain           = 100 * time.Millisecond // drain bound once ctx is cancelled
	fellBehindLagFloor    = time.Millisecond
	fellBehindLagFraction = 0.10 // of the mean inter-arrival interval
	fellBehindSendRatio   = 0.95 // sent ÷ scheduled below this is falling behind
)

// MaxConcurrency bounds Concurrency: the generator sizes its in-flight
// queue (open) or starts its clients (closed) up front, so a huge value
// meant as "no cap" would exhaust memory instead of measuring anything.
const MaxConcurrency = 1_000_000

// ApplyDefaults fills the fields left zero: Arrival constant, Concurrency
// 10000 in the open model, Window 5s, MaxWindows 5, Tolerance 0.10, Drain 5s.
// Warmup has no default (zero means none); the closed model's Concurrency
// has none either (Validate asks for it).
func (l *Load) ApplyDefaults() {
	if l.Mode == Open {
		if l.Arrival == "" {
			l.Arrival = defaultArrival
		}
		if l.Concurrency == 0 {
			l.Concurrency = defaultOpenInFlight
		}
	}
	if l.Window == 0 {
		l.Window = defaultWindow
	}
	if l.MaxWindows == 0 {
		l.MaxWindows = defaultMaxWindows
	}
	if l.Tolerance == 0 {
		l.Tolerance = defaultTolerance
	}
	if l.Drain == 0 {
		l.Drain = defaultDrain
	}
}

// Validate reports every invalid field, each message starting with the
// field's name as written in a scenario file.
func (l *Load) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch l.Mode {
	case Open:
		if math.IsNaN(l.Rate) || l.Rate <= 0 {
			add("rate: must be > 0 in open mode, got %g", l.Rate)
		} else if l.Rate > maxRate {
			add("rate: must be at most %g req/s, got %g", float64(maxRate), l.Rate)
		}
		if l.Arrival != Constant && l.Arrival != Poisson {
			add("arrival: must be %q or %q, got %q", Constant, Poisson, l.Arrival)
		}
		if l.Concurrency < 1 || l.Concurrency > MaxConcurrency {
			add("concurrency: must be in [1, %d] (the open model's in-flight cap), got %d", MaxConcurrency, l.Concurrency)
		}
	case Closed:
		if l.Rate != 0 {
			add("rate: must not be set in closed mode (the clients set the pace), got %g", l.Rate)
		}
		if l.Arrival != "" {
			add("arrival: applies to open mode only, got %q in closed mode", l.Arrival)
		}
		if l.Concurrency < 1 || l.Concurrency > MaxConcurrency {
			add("concurrency: must be in [1, %d] in closed mode, got %d", MaxConcurrency, l.Concurrency)
		}
	default:
		add("mode: must be %q or %q, got %q", Open, Closed, l.Mode)
	}
	if l.Warmup < 0 {
		add("warmup: must be >= 0, got %s", l.Warmup)
	}
	if l.Window <= 0 {
		add("window: must be > 0, got %s", l.Window)
	}
	if l.MaxWindows < 1 {
		add("max_windows: must be >= 1, got %d", l.MaxWindows)
	}
	if !(l.Tolerance > 0 && l.Tolerance < 1) {
		add("tolerance: must be in (0, 1), got %g", l.Tolerance)
	}
	if l.Drain < 0 {
		add("drain: must be >= 0, got %s", l.Drain)
	}
	return errors.Join(errs...)
}
