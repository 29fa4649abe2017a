package handshake

import "context"

// The state word of a Transport (Transport.state) says who uses the
// mapping, who holds the claim on the outgoing ring, who waits for it, and
// whether Close was called, so that claiming costs one atomic instruction
// and releasing one more:
//
//	 63   62      61    60..32      31..0
//	+---+------+-------+---------+---------+
//	| 0 |closed|claimed| waiters |  users  |
//	+---+------+-------+---------+---------+
//
// users counts the goroutines that may touch the mapping: the receive side
// (Receive, or the reference it holds from creation), a Drive, and the
// claim holder. The mapping is unmapped by whoever drops users to zero
// once closed is set (exit, unlockClaim), or by Close when users is
// already zero.
//
// claimed is set from Claim to Commit or Abort, together with one user;
// lockClaim sets both in one compare-and-swap. A Claim that finds claimed
// set counts itself in waiters and waits on Transport.turn; unlockClaim
// signals turn when waiters is not zero. A waiter that wakes competes for
// the claim again (a new Claim may have taken it first), so the count
// errs only towards a spurious wake, never a lost one: a waiter counts
// itself before it looks at claimed, and a releaser clears claimed before
// it looks at waiters.
const (
	usersMask  = 1<<32 - 1
	waiterUnit = 1 << 32
	waiterMask = (1<<29 - 1) << 32
	claimBit   = 1 << 61
	closedBit  = 1 << 62
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

// unlockClaim releases the claim and its user, and wakes a waiter.
func (t *Transport) unlockClaim() {
	s := t.state.Add(-(claimBit + 1))
	if s&waiterMask != 0 {
		select {
		case t.turn <- struct{}{}:
		default:
		}
	}
	if s&closedBit != 0 && s&usersMask == 0 {
		t.unmap()
	}
}
