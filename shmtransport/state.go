package shmtransport

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// state is the state word of a Transport: who uses the mapping, who holds
// the claim on the outgoing ring, who waits for it, whether records are
// staged unpublished and who polls to publish them, and whether Close was
// called, so that claiming costs one atomic instruction and releasing one
// more:
//
//	 63   62      61    60    59    58     57..32     31..0
//	+---+------+-------+-----+-----+------+---------+---------+
//	| 0 |closed|claimed|drive|recv |staged| waiters |  users  |
//	+---+------+-------+-----+-----+------+---------+---------+
//
// users counts the goroutines that may touch the mapping: the receive side
// (Receive, or the reference it holds from creation), a Drive, and the
// claim holder. The mapping is unmapped by whoever drops users to zero
// once closed is set (exit, release), or by close when users is already
// zero: each of those methods reports it, and the caller unmaps.
//
// claimed is set from Claim to Commit or Abort, together with one user;
// lock sets both in one compare-and-swap. A Claim that finds claimed set
// counts itself in waiters (addWaiter) and waits for a wake; release
// reports a wake when waiters is not zero. A waiter that wakes competes for
// the claim again (a new Claim may have taken it first), so the count errs
// only towards a spurious wake, never a lost one: a waiter counts itself
// before it looks at claimed, and a releaser clears claimed before it looks
// at waiters.
//
// staged says that committed records wait unpublished in the outgoing ring
// (see Transport.CommitLater); recv and drive say that the receive loop or
// a Drive is polling, and so looks at staged on every turn of its loop
// (Transport.flushStaged). A release leaves records staged only while a
// poller bit it names is set, in the same compare-and-swap that releases
// the claim; a poller that stops clears its bit in a compare-and-swap that
// fails while staged is set and the claim is free (it publishes them
// first). So staged records always have a poller or a claim holder that
// will publish them.
//
// The methods are the word's transitions and nothing else: waiting,
// publishing and unmapping are the Transport's (state_test.go drives the
// word alone).
type state struct{ w atomic.Int64 }

const (
	usersMask   = 1<<32 - 1
	waiterUnit  = 1 << 32
	waiterMask  = (1<<26 - 1) << 32
	stagedBit   = 1 << 58
	recvPollBit = 1 << 59
	drivePoll   = 1 << 60
	pollBits    = recvPollBit | drivePoll
	claimBit    = 1 << 61
	closedBit   = 1 << 62
)

func (s *state) load() int64 { return s.w.Load() }

// init sets the word to users references and nothing else.
func (s *state) init(users int64) { s.w.Store(users) }

// enter registers a user of the mapping; it fails once close was called.
func (s *state) enter() bool {
	for {
		w := s.w.Load()
		if w&closedBit != 0 {
			return false
		}
		if s.w.CompareAndSwap(w, w+1) {
			return true
		}
	}
}

// exit unregisters a user and reports whether it was the last one out
// after close: the caller unmaps.
func (s *state) exit() (unmap bool) {
	w := s.w.Add(-1)
	return w&closedBit != 0 && w&usersMask == 0
}

// close sets closed and reports whether no user is left: the caller unmaps.
// Only the first call may report true.
func (s *state) close() (unmap bool) {
	w := s.w.Or(closedBit)
	return w&closedBit == 0 && w&usersMask == 0
}

// Results of lock and lockWaiter.
type lockResult uint8

const (
	locked lockResult = iota // the claim and a user are taken
	busy                     // another goroutine holds the claim
	shut                     // close was called
)

// lock takes the claim and a user with it, unless the claim is held or
// close was called.
func (s *state) lock() lockResult { return s.take(1 | claimBit) }

// addWaiter counts a goroutine that waits for the claim; it must end in
// lockWaiter returning locked or in dropWaiter.
func (s *state) addWaiter() { s.w.Add(waiterUnit) }

// dropWaiter uncounts a waiter that gives up.
func (s *state) dropWaiter() { s.w.Add(-waiterUnit) }

// lockWaiter is lock for a counted waiter: taking the claim uncounts it.
// On shut the waiter is still counted (dropWaiter).
func (s *state) lockWaiter() lockResult { return s.take(1 | claimBit - waiterUnit) }

// take adds delta to the word, which takes the claim, unless the claim is
// held or close was called.
func (s *state) take(delta int64) lockResult {
	for {
		w := s.w.Load()
		switch {
		case w&closedBit != 0:
			return shut
		case w&claimBit != 0:
			return busy
		case s.w.CompareAndSwap(w, w+delta):
			return locked
		}
	}
}

// release gives up the claim and its user. keep is asked, with the word as
// it is, whether staged records may stay unpublished; when it says no it
// has published them (and release clears staged). It may be asked more than
// once if the word changes meanwhile. wake says a waiter should be woken;
// unmap that this was the last user out after close.
func (s *state) release(keep func(w int64) bool) (wake, unmap bool) {
	for {
		w := s.w.Load()
		nw := w - (claimBit + 1)
		if keep(w) {
			nw |= stagedBit
		} else {
			nw &^= stagedBit
		}
		if s.w.CompareAndSwap(w, nw) {
			return nw&waiterMask != 0, nw&closedBit != 0 && nw&usersMask == 0
		}
	}
}

// lockStaged takes the claim to publish staged records: it succeeds only
// while records are staged, the claim is free and close was not called.
func (s *state) lockStaged() bool {
	w := s.w.Load()
	if w&stagedBit == 0 || w&(claimBit|closedBit) != 0 {
		return false
	}
	return s.w.CompareAndSwap(w, w+1|claimBit)
}

// startPolling sets a poller bit (recvPollBit or drivePoll).
func (s *state) startPolling(bit int64) { s.w.Or(bit) }

// stopPolling clears a poller bit unless records are staged and the claim
// is free: then it returns false and the poller publishes them first
// (lockStaged) and tries again.
func (s *state) stopPolling(bit int64) bool {
	for {
		w := s.w.Load()
		if w&stagedBit != 0 && w&(claimBit|closedBit) == 0 {
			return false
		}
		if s.w.CompareAndSwap(w, w&^bit) {
			return true
		}
	}
}

// Transport's side of the word: the waiting and publishing around the
// transitions above.

// enter registers a user of the mapping; it fails once Close was called.
func (t *Transport) enter() bool { return t.state.enter() }

// exit unregisters a user; the last one out after Close unmaps.
func (t *Transport) exit() {
	if t.state.exit() {
		t.unmap()
	}
}

// lockClaim takes the claim on the outgoing ring, and a user with it. It
// waits while another goroutine holds the claim, until ctx is done or the
// transport closes.
func (t *Transport) lockClaim(ctx context.Context) error {
	switch t.state.lock() {
	case locked:
		return nil
	case shut:
		return t.closedErr()
	}
	t.state.addWaiter()
	for {
		switch t.state.lockWaiter() {
		case locked:
			return nil
		case shut:
			t.state.dropWaiter()
			return t.closedErr()
		}
		select {
		case <-t.turn:
		case <-ctx.Done():
			t.state.dropWaiter()
			return ctx.Err()
		case <-t.closed:
		}
	}
}

// unlockClaim releases the claim, publishing any staged record.
func (t *Transport) unlockClaim() { t.releaseClaim(0) }

// releaseClaim releases the claim and its user, and wakes a waiter. Records
// staged by CommitLater or CommitDriven stay unpublished only while one of
// the poller bits in stageIf is set (see commitStaged); otherwise they are
// published first, unless the region faulted.
func (t *Transport) releaseClaim(stageIf int64) {
	wake, unmap := t.state.release(func(w int64) bool {
		if !t.pending {
			return false
		}
		if w&stageIf != 0 && w&closedBit == 0 {
			return true
		}
		if !t.faulted.Load() {
			t.out.Flush()
		}
		t.pending, t.staged = false, 0
		return false
	})
	if wake {
		select {
		case t.turn <- struct{}{}:
		default:
		}
		// Let the waiter take the claim. Without a yield, a releaser
		// that claims again at once (a sender of batches) takes it back
		// before the woken waiter runs, which on one P is until the
		// runtime preempts the releaser while it holds the claim:
		// others wait for seconds (TestConcurrentSendersShareTheClaim).
		runtime.Gosched()
	}
	if unmap {
		t.unmap()
	}
}

// flushStaged publishes staged records if there are any and the claim is
// free; a poller calls it on every turn of its loop (one load when there
// is nothing to do).
func (t *Transport) flushStaged() {
	if t.state.lockStaged() {
		t.publishStaged()
	}
}

// publishStaged publishes the staged records, with the claim lockStaged
// took for it.
func (t *Transport) publishStaged() {
	var err error
	defer t.catchClaimFault(&err, debug.SetPanicOnFault(true))
	t.releaseClaim(0)
}

// startPolling sets a poller bit (recvPollBit or drivePoll).
func (t *Transport) startPolling(bit int64) { t.state.startPolling(bit) }

// stopPolling clears a poller bit, publishing staged records first when
// the claim is free (a claim holder publishes them itself once no poller
// is left).
func (t *Transport) stopPolling(bit int64) {
	for !t.state.stopPolling(bit) {
		t.flushStaged()
	}
}
