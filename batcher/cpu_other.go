//go:build !unix

package batcher

import "time"

// processCPU is not measured here: adaptive batching then judges how busy
// compute is from the instances alone.
func processCPU() (time.Duration, bool) { return 0, false }
