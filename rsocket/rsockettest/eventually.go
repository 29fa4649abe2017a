package rsockettest

import (
	"testing"
	"time"
)

// Eventually polls cond until it reports true and fails t (Fatalf, from the
// test's goroutine) when timeout passes first; what names the awaited state
// in the failure ("the relay to stall"). It is the module's one wait for a
// state that no channel or Done announces: where an event exists, wait on
// it; where the waiting is on the engine's timers, run the test over the
// Pipe in a testing/synctest bubble instead. Inside a bubble Eventually
// still works, on the fake clock.
//
// cond runs on the calling goroutine, first at once, then after pauses that
// grow from 100µs to 10ms.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pause := 100 * time.Microsecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}
