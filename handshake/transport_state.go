package handshake

import "context"

// The state word of a Transport (Transport.state) says who uses the
// mapping, who holds the claim on the outgoing ring, who waits for it,
// whether records are staged unpublished and who polls to publish them,
// and whether Close was called, so that claiming costs one atomic
// instruction and releasing one more:
//
//	 63   62      61    60    59    58     57..32     31..0
//	+---+------+-------+-----+-----+------+---------+---------+
//	| 0 |closed|claimed|drive|recv |staged| waiters |  users  |
//	+---+------+-------+-----+-----+------+---------+---------+
//
// users counts the goroutines that may touch the mapping: the receive side
// (Receive, or the reference it holds from creation), a Drive, and the
// claim holder. The mapping is unmapped by whoever drops users to zero
// once closed is set (exit, releaseClaim), or by Close when users is already
// zero.
//
// claimed is set from Claim to Commit or Abort, together with one user;
// lockClaim sets both in one compare-and-swap. A Claim that finds claimed
// set counts itself in waiters and waits on Transport.turn; releaseClaim
// signals turn when waiters is not zero. A waiter that wakes competes for
// the claim again (a new Claim may have taken it first), so the count
// errs only towards a spurious wake, never a lost one: a waiter counts
// itself before it looks at claimed, and a releaser clears claimed before
// it looks at waiters.
//
// staged says that committed records wait unpublished in the outgoing ring
// (see CommitLater); recv and drive say that the receive loop or a Drive is
// polling, and so looks at staged on every turn of its loop (flushStaged).
// CommitLater leaves its record staged only while a poller is set, in the
// same compare-and-swap that releases the claim; a poller that stops
// clears its bit in a compare-and-swap that fails while staged is set and
// the claim is free (it publishes them first). So staged records always
// have a poller or a claim holder that will publish them.
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

// enter registers a user of the mapping; it fails once Close was called.
func (t *Transport) enter() bool {
	if t.state.Add(1)&closedBit != 0 {
		t.exit()
		return false
	}
	return true
}

// exit unregisters a user; the last one out after Close unmaps.
func (t *Transport) exit() {
	if s := t.state.Add(-1); s&closedBit != 0 && s&usersMask == 0 {
		t.unmap()
	}
}

// lockClaim takes the claim on the outgoing ring, and a user with it. It
// waits while another goroutine holds the claim, until ctx is done or the
// transport closes.
func (t *Transport) lockClaim(ctx context.Context) error {
	for {
		s := t.state.Load()
		switch {
		case s&closedBit != 0:
			return t.closedErr()
		case s&claimBit != 0:
			return t.lockClaimSlow(ctx)
		case t.state.CompareAndSwap(s, s+1|claimBit):
			return nil
		}
	}
}

// lockClaimSlow is lockClaim as a counted waiter.
func (t *Transport) lockClaimSlow(ctx context.Context) error {
	t.state.Add(waiterUnit)
	for {
		s := t.state.Load()
		if s&closedBit != 0 {
			t.state.Add(-waiterUnit)
			return t.closedErr()
		}
		if s&claimBit == 0 {
			if t.state.CompareAndSwap(s, s-waiterUnit+1|claimBit) {
				return nil
			}
			continue
		}
		select {
		case <-t.turn:
		case <-ctx.Done():
			t.state.Add(-waiterUnit)
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
// published first.
func (t *Transport) releaseClaim(stageIf int64) {
	for {
		s := t.state.Load()
		ns := s - (claimBit + 1)
		if t.pending {
			if s&stageIf != 0 && s&closedBit == 0 {
				ns |= stagedBit
			} else {
				t.out.Flush()
				t.pending, t.staged = false, 0
				ns &^= stagedBit
			}
		} else {
			ns &^= stagedBit
		}
		if !t.state.CompareAndSwap(s, ns) {
			continue
		}
		if ns&waiterMask != 0 {
			select {
			case t.turn <- struct{}{}:
			default:
			}
		}
		if ns&closedBit != 0 && ns&usersMask == 0 {
			t.unmap()
		}
		return
	}
}

// flushStaged publishes staged records if there are any and the claim is
// free; a poller calls it on every turn of its loop (one load when there
// is nothing to do).
func (t *Transport) flushStaged() {
	s := t.state.Load()
	if s&stagedBit == 0 || s&(claimBit|closedBit) != 0 {
		return
	}
	if t.state.CompareAndSwap(s, s+1|claimBit) {
		t.releaseClaim(0)
	}
}

// startPolling sets a poller bit (recvPollBit or drivePoll).
func (t *Transport) startPolling(bit int64) { t.state.Or(bit) }

// stopPolling clears a poller bit, publishing staged records first when
// the claim is free (a claim holder publishes them itself once no poller
// is left).
func (t *Transport) stopPolling(bit int64) {
	for {
		s := t.state.Load()
		if s&stagedBit != 0 && s&(claimBit|closedBit) == 0 {
			t.flushStaged()
			continue
		}
		if t.state.CompareAndSwap(s, s&^bit) {
			return
		}
	}
}
