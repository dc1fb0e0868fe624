//go:build !linux

package loadgen

import "time"

// preciseSleep sleeps for d; elsewhere than Linux with Go's own timers.
func preciseSleep(d time.Duration) { time.Sleep(d) }
