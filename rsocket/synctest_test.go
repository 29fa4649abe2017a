package rsocket_test

import (
	"testing/synctest"
	"time"
)

// Tests of the engine's timing (keepalive, lease, graceful close, resume
// expiry) and tests that check that nothing happens for a while run over
// the in-process Pipe inside a testing/synctest bubble: the Pipe's
// goroutines block on channels only, so the bubble's fake clock moves as
// soon as all of them wait, and durations are exact.

// advance moves the fake clock of the calling bubble on by d and returns
// once all that the new time woke has run and blocked again. (In a bubble,
// time.Sleep returns when every other goroutine is durably blocked and the
// clock has reached its end.)
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}
