// Package breaker is the circuit breaker the router puts around each target
// and the feature fetcher around its store: sony/gobreaker behind "may I
// call?" and the outcome, with the open state's cool-down readable without
// gobreaker's mutex, so that a refused call costs one atomic load. Its
// Config is the breaker block both configs share: each applies its own
// defaults with ApplyDefaults and reports bad fields with Validate.
//
// # Concurrency model
//
// A Breaker is safe for concurrent use: Open reads one atomic (and the
// clock only while the breaker is open), Do goes through gobreaker's mutex,
// and the state changes gobreaker reports set the atomic.
package breaker
