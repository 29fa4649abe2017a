package shmtransport

import (
	"runtime"
	"sync"
	"testing"
)

func users(w int64) int64   { return w & usersMask }
func waiters(w int64) int64 { return (w & waiterMask) / waiterUnit }

func never(int64) bool  { return false }
func always(int64) bool { return true }

// TestStateUsers: the mapping's users, close, and who unmaps.
func TestStateUsers(t *testing.T) {
	var s state
	s.init(1) // the receive side's reference
	for range 2 {
		if !s.enter() {
			t.Fatal("enter failed on an open word")
		}
	}
	if s.exit() {
		t.Fatal("exit reported unmap before close")
	}
	if s.close() {
		t.Fatal("close reported unmap with 2 users left")
	}
	if s.enter() {
		t.Fatal("enter succeeded after close")
	}
	if got := users(s.load()); got != 2 {
		t.Fatalf("users %d after a refused enter; want 2", got)
	}
	if s.exit() {
		t.Fatal("exit reported unmap with a user left")
	}
	if !s.exit() {
		t.Fatal("the last exit after close did not report unmap")
	}

	var idle state
	if !idle.close() {
		t.Fatal("close with no users did not report unmap")
	}
	if idle.close() {
		t.Fatal("a second close reported unmap again")
	}
}

// TestStateClaim: one claim holder at a time, waiters counted and woken,
// and a closed word refuses the claim.
func TestStateClaim(t *testing.T) {
	var s state
	s.init(1)
	if r := s.lock(); r != locked {
		t.Fatalf("lock on a free word: %v", r)
	}
	if w := s.load(); w&claimBit == 0 || users(w) != 2 {
		t.Fatalf("word %#x after lock: want the claim and a second user", w)
	}
	if r := s.lock(); r != busy {
		t.Fatalf("second lock: %v; want busy", r)
	}
	s.addWaiter()
	if r := s.lockWaiter(); r != busy {
		t.Fatalf("lockWaiter while held: %v; want busy", r)
	}
	if wake, unmap := s.release(never); !wake || unmap {
		t.Fatalf("release with a waiter: wake %v unmap %v; want wake", wake, unmap)
	}
	if r := s.lockWaiter(); r != locked {
		t.Fatalf("lockWaiter after release: %v; want locked", r)
	}
	if w := s.load(); waiters(w) != 0 || users(w) != 2 {
		t.Fatalf("word %#x: the waiter that took the claim is still counted", w)
	}
	if wake, _ := s.release(never); wake {
		t.Fatal("release with no waiter asked for a wake")
	}
	if w := s.load(); w != 1 {
		t.Fatalf("word %#x after the claims: want 1 (the receive side)", w)
	}
	s.close()
	if r := s.lock(); r != shut {
		t.Fatalf("lock after close: %v; want shut", r)
	}
	s.addWaiter()
	if r := s.lockWaiter(); r != shut {
		t.Fatalf("lockWaiter after close: %v; want shut", r)
	}
	s.dropWaiter()
	if !s.exit() {
		t.Fatal("the receive side's exit after close did not report unmap")
	}
}

// TestStateReleaseUnmaps: the claim holder that releases last after close
// unmaps.
func TestStateReleaseUnmaps(t *testing.T) {
	var s state
	if s.lock() != locked {
		t.Fatal("lock failed")
	}
	if s.close() {
		t.Fatal("close reported unmap while the claim holder uses the mapping")
	}
	if _, unmap := s.release(never); !unmap {
		t.Fatal("the last release after close did not report unmap")
	}
}

// TestStateStaged: records stay staged only as release's keep says; a
// poller publishes them (lockStaged) before it may stop polling.
func TestStateStaged(t *testing.T) {
	var s state
	s.startPolling(recvPollBit)
	s.lock()
	asked := 0
	s.release(func(w int64) bool {
		asked++
		if w&recvPollBit == 0 {
			t.Error("keep asked with a word that lost the poller bit")
		}
		return true
	})
	if asked != 1 || s.load()&stagedBit == 0 {
		t.Fatalf("staged bit not set (keep asked %d times)", asked)
	}
	if s.stopPolling(recvPollBit) {
		t.Fatal("a poller stopped while records were staged and the claim free")
	}
	s.lock() // a claim holder: it will publish
	if s.lockStaged() {
		t.Fatal("lockStaged took a held claim")
	}
	if !s.stopPolling(recvPollBit) {
		t.Fatal("a poller could not stop while a claim holder will publish")
	}
	s.release(never)
	if s.load()&stagedBit != 0 {
		t.Fatal("staged bit survived a release that published")
	}
	if s.lockStaged() {
		t.Fatal("lockStaged with nothing staged")
	}
	s.lock()
	s.release(always)
	if !s.lockStaged() {
		t.Fatal("lockStaged refused staged records with the claim free")
	}
	s.release(never)
	if w := s.load(); w != 0 {
		t.Fatalf("word %#x at the end: want 0", w)
	}
}

// TestStateMutualExclusion: goroutines that take the claim through lock or
// as counted waiters never hold it two at a time, and the word returns to
// its initial value (run under -race by make test).
func TestStateMutualExclusion(t *testing.T) {
	var s state
	s.init(1)
	turn := make(chan struct{}, 1)
	var inside, total int // guarded by the claim alone
	var wg sync.WaitGroup
	const goroutines, rounds = 8, 2000
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if s.lock() != locked {
					s.addWaiter()
					for s.lockWaiter() != locked {
						select {
						case <-turn:
						default:
							runtime.Gosched()
						}
					}
				}
				inside++
				if inside != 1 {
					t.Errorf("%d claim holders at once", inside)
				}
				total++
				inside--
				if wake, _ := s.release(never); wake {
					select {
					case turn <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	wg.Wait()
	if total != goroutines*rounds {
		t.Fatalf("%d claims counted; want %d", total, goroutines*rounds)
	}
	if w := s.load(); w != 1 {
		t.Fatalf("word %#x after the claims: want 1", w)
	}
}

// TestSpinBudget: polling that pays doubles the budget up to
// DefaultSpinTime; polling that ends in a park shrinks it by a quarter,
// down to MinSpinTime.
func TestSpinBudget(t *testing.T) {
	var b spinBudget
	b.init()
	if b.load() != DefaultSpinTime {
		t.Fatalf("initial budget %v", b.load())
	}
	b.paid()
	if b.load() != DefaultSpinTime {
		t.Fatalf("budget grew past DefaultSpinTime: %v", b.load())
	}
	for range 100 {
		b.wasted()
	}
	if b.load() != MinSpinTime {
		t.Fatalf("after many wasted polls: %v, want MinSpinTime", b.load())
	}
	b.wasted()
	b.paid()
	if b.load() != 2*MinSpinTime {
		t.Fatalf("one paid poll from the floor: %v, want %v", b.load(), 2*MinSpinTime)
	}
	n := 0
	for b.load() < DefaultSpinTime {
		b.paid()
		n++
	}
	if n > 6 {
		t.Errorf("%d paid polls to recover the full budget; want a handful", n)
	}
}

// TestDriverLeavingWakesLoop: a requester that drives the receive side and
// leaves before its answer came (its budget spent, or cancelled) hands the
// receive side back to the loop at once; the loop, which stepped aside,
// would otherwise sleep through the answer for up to driverSleep.
func TestDriverLeavingWakesLoop(t *testing.T) {
	client, _ := pair(t, 1<<16, WaitDefault)
	cancel := make(chan struct{})
	close(cancel)
	for len(client.kick) > 0 {
		<-client.kick
	}
	client.Drive(func([]byte) error { return nil }, func() bool { return false }, cancel)
	if len(client.kick) != 1 {
		t.Fatal("a driver left unanswered without waking the receive loop")
	}
}
