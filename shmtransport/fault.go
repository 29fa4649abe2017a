package shmtransport

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"
)

// ErrRegionFault: touching the shared region faulted because its file was
// truncated under the mapping, by the peer or by another process that
// opened the file while it had a name (see docs/design.md, "Security
// model"). The transport closes with it; the process and its other
// connections are not affected.
// It matches io.ErrUnexpectedEOF: the connection is gone, as with a peer
// that died.
var ErrRegionFault error = &kindError{"shmtransport: memory fault in the shared region: the peer or another process truncated it", io.ErrUnexpectedEOF}

// Faults.
//
// The region is a file that the peer, or a process that opened it while it
// had a name, can truncate; a load or store past the new end of the file
// then raises SIGBUS, which would end the process and every connection
// with it. So every method of this package that touches the mapping does
// so with debug.SetPanicOnFault set and a deferred recover, which covers
// the engine's parsing of frames in place too (it runs inside Receive and
// Drive): the fault becomes ErrRegionFault, the transport closes with it,
// and faulted stops this side's own writes to the rings (publishing,
// closing them). Anything that is not a memory fault is panicked again.
// The claim methods leave that guard to a caller that has its own
// (SetCallerGuards).
//
// FUTEX_WAKE cannot reach a thread parked in FUTEX_WAIT on a word whose
// page was truncated away: it fails with EFAULT once the page is gone. So
// the receive loop and the claim holder record their thread before they
// park (parkData, parkSpace), and markFaulted sends it a signal (SIGURG,
// which the Go runtime takes for a preemption request and otherwise
// ignores): the interrupted FUTEX_WAIT restarts, finds the page gone and
// returns EFAULT, and the waiter's next look at the word faults into its
// recover.

// catchFault is deferred, after debug.SetPanicOnFault(true) (old is the
// setting that returned, restored here), by a method that touches the
// mapping without the claim: a fault closes the transport and becomes
// *errp.
func (t *Transport) catchFault(errp *error, old bool) {
	debug.SetPanicOnFault(old)
	if v := recover(); v != nil {
		*errp = t.fault(v)
		if t.batchEnd != nil {
			t.batchEnd() // the batch a fault cut short (poll)
		}
	}
}

// catchClaimFault is catchFault for a method that holds the claim on the
// outgoing ring when it touches the mapping (Claim, the commits, Abort,
// publishing staged records): after a fault it releases the claim, and
// what it staged is dropped unpublished. The claim must still be held
// wherever the method can fault: releasing it is the method's last access.
func (t *Transport) catchClaimFault(errp *error, old bool) {
	debug.SetPanicOnFault(old)
	if v := recover(); v != nil {
		*errp = t.fault(v)
		t.dropClaim()
	}
}

// ClaimFault is for a caller whose writes into memory returned by Claim
// faulted (rsocket's send path recovers them): v is the value it
// recovered. ClaimFault releases the claim, drops the frame and closes the
// transport with ErrRegionFault, which it returns. Anything but a memory
// fault is panicked again.
func (t *Transport) ClaimFault(v any) error {
	err := t.fault(v)
	t.dropClaim()
	return err
}

// SetCallerGuards says whether every caller of Claim, Commit, CommitLater,
// CommitDriven and Abort guards those calls itself: makes them with
// debug.SetPanicOnFault set and hands a memory fault it recovers to
// ClaimFault, as the rsocket engine's send paths do. While it is on, those
// methods skip their own guard, a deferred recover per call that costs as
// much as the rest of publishing a small frame
// (BenchmarkRSocket/shm-fnf-64B measures the send path). It is off by
// default. Change it only while nothing is being sent.
func (t *Transport) SetCallerGuards(on bool) { t.callerGuards.Store(on) }

// dropClaim releases the claim after a fault without publishing anything.
func (t *Transport) dropClaim() {
	t.out.Abort()
	t.pending, t.staged = false, 0
	t.releaseClaim(0)
}

// fault handles v, recovered from a panic of a goroutine that touched the
// mapping: a memory fault (a runtime error carrying the faulting address)
// marks the transport faulted and closes it with ErrRegionFault, which it
// returns; anything else is panicked again.
func (t *Transport) fault(v any) error {
	a, ok := v.(interface{ Addr() uintptr })
	if !ok {
		panic(v)
	}
	err := fmt.Errorf("%w (fault at %#x)", ErrRegionFault, a.Addr())
	t.markFaulted()
	t.shutdown(err)
	return err
}

// markFaulted records that the mapping faulted and signals the threads
// parked on its futex words.
func (t *Transport) markFaulted() {
	if t.faulted.Swap(true) {
		return
	}
	wakeThread(t.parkedRecv.Load())
	wakeThread(t.parkedClaim.Load())
}

// touch runs f, which touches the mapping on the way out (shutdown,
// unmap): a fault marks the transport faulted and is otherwise ignored.
func (t *Transport) touch(f func()) {
	defer func(old bool) {
		debug.SetPanicOnFault(old)
		if v := recover(); v != nil {
			if _, ok := v.(interface{ Addr() uintptr }); !ok {
				panic(v)
			}
			t.markFaulted()
		}
	}(debug.SetPanicOnFault(true))
	f()
}

// parkData parks the receive loop until the record at pos is published
// (ring.Buffer.WaitDataAt), on its thread, recorded for markFaulted. The
// recording and markFaulted's look at it are a Dekker pair on faulted:
// either the loop sees faulted and does not park, or markFaulted sees the
// thread and signals it.
func (t *Transport) parkData(pos uint64, timeout time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t.parkedRecv.Store(threadID())
	defer t.parkedRecv.Store(0)
	if !t.faulted.Load() {
		t.parks.Add(1)
		t.in.WaitDataAt(pos, timeout)
	}
}

// parkSpace is parkData for the claim holder waiting for room for n bytes
// (ring.Buffer.WaitSpace).
func (t *Transport) parkSpace(n int, timeout time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t.parkedClaim.Store(threadID())
	defer t.parkedClaim.Store(0)
	if !t.faulted.Load() {
		t.out.WaitSpace(n, timeout)
	}
}
