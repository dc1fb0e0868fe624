//go:build !race

package oip_test

const raceEnabled = false
