package ring

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A signal that interrupts a parked waiter (FUTEX_WAIT with a timeout then
// returns EINTR, whatever SA_RESTART says) does not end the wait: the waiter
// was not woken and nothing is ready, so it sleeps again. CI once saw
// WaitSpace return false early in a 10 s wait this way.
func TestParkSurvivesSignals(t *testing.T) {
	for _, space := range []bool{false, true} {
		name := "WaitData"
		if space {
			name = "WaitSpace"
		}
		t.Run(name, func(t *testing.T) {
			b := newRing(t, 1024)
			rec := make([]byte, 120)
			word := b.dataParked
			if space {
				word = b.spaceParked
				for b.Write(rec) == nil {
				}
			}
			tid := make(chan int, 1)
			done := make(chan bool, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				tid <- unix.Gettid()
				if space {
					done <- b.WaitSpace(120, 10*time.Second)
				} else {
					done <- b.WaitData(10 * time.Second)
				}
			}()
			thread := <-tid
			const signals = 20
			for range signals {
				waitParked(t, word)
				// SIGURG is Go's preemption signal: its handler runs and
				// the thread carries on, so it is safe to send at will.
				if err := unix.Tgkill(unix.Getpid(), thread, unix.SIGURG); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
				select {
				case v := <-done:
					t.Fatalf("%s returned %v after a signal; want it still waiting", name, v)
				default:
				}
			}
			waitParked(t, word)
			if space {
				if _, err := b.Read(func([]byte) bool { return false }); err != nil {
					t.Fatal(err)
				}
			} else if err := b.Write([]byte("wake")); err != nil {
				t.Fatal(err)
			}
			if !<-done {
				t.Fatalf("%s = false after the peer's wake", name)
			}
			st := b.cStats
			if space {
				st = b.pStats
			}
			if st.Interrupts == 0 || st.Timeouts != 0 {
				t.Errorf("interrupts %d timeouts %d; want > 0, 0", st.Interrupts, st.Timeouts)
			}
		})
	}
}
