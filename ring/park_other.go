//go:build !linux

package ring

import (
	"sync/atomic"
	"time"
)

// Without futex(2) a parked side polls its word with short sleeps; the
// wake side only clears the word, which the poll notices. Latency is the
// sleep granularity (about 1 ms), so prefer Backoff on these systems.
const parkPoll = 50 * time.Microsecond

func futexWait(w *atomic.Uint32, val uint32, timeout time.Duration) (timedOut bool) {
	deadline := time.Now().Add(timeout)
	for w.Load() == val {
		if timeout < 0 {
			time.Sleep(parkPoll)
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		time.Sleep(min(left, parkPoll))
	}
	return false
}

func futexWake(*atomic.Uint32) {}
