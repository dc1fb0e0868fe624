package loadgen

import (
	"syscall"
	"time"
)

// preciseSleep sleeps for d (at most a few ms) with the kernel's timer
// resolution, about 50–100µs: Go's timers wake up to 1ms late on Linux, as
// the runtime waits on epoll in whole milliseconds. It blocks its thread.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil) // EINTR: the caller checks the time and sleeps again
}
