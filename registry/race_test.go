//go:build race

package registry

// raceEnabled: the race detector drops sync.Pool items at random, so
// allocation counts are meaningless under it.
const raceEnabled = true
