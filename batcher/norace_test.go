//go:build !race

package batcher_test

const raceEnabled = false
