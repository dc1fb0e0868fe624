// Package router maps public model names (routes) to the targets that serve
// them.
//
// A route is what a client names in model_id. Today each route has one target:
// a model version resolved from the registry (by alias, "production" unless the
// config names another, or by exact version) and served through its own
// batcher. Canary splits, shadow mirroring, fallback chains, rules and static
// targets, and circuit breakers build on this package (see DESIGN.md); the
// gateway only asks a route for its target and never learns how it was chosen.
//
// # Concurrency model
//
// A Table is immutable once Load returns: lookups take no lock and allocate
// nothing, so any number of request goroutines share it. Replacing the routes
// means loading a new Table and swapping one pointer at the holder (the
// gateway); the old table is closed after it drains. Each Model's batcher owns
// its own goroutines (see package batcher).
package router
