// Package featurefetch looks up the features a model needs by an entity key
// (a customer id) at request time, from an online store: an embedded store
// loaded from a snapshot file, or Redis in the layout Feast's Redis online
// store writes, so that a team already running Feast can point infergate at
// its Redis.
//
// This file set is being built up (issue 7): the Feast layout codec comes
// first (feast.go).
package featurefetch
