// Package shmtransport is the shared-memory frame transport: rsocket.Transport
// over the two rings of a shm.Duplex, one per direction, with a socket kept
// open beside them as the liveness channel. Package handshake negotiates the
// region and builds a Transport with New; nothing here negotiates.
package shmtransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/ring"
	"github.com/rshm/rshm/shm"
)

// Transport is rsocket.Transport over the two rings of a shm.Duplex, one
// per direction, with the handshake's TCP socket kept open beside it as the
// liveness channel.
//
// Sending: Claim claims a record in the outgoing ring (one claim at a time;
// concurrent callers wait their turn: lockClaim), waiting with the configured
// strategy while the ring is full; Commit publishes it, which wakes the
// peer's receive loop if it is parked; CommitLater may leave a small frame
// staged for a moment, to publish it with the next ones. Frames are never
// dropped or reordered. MaxFrameSize is the ring's MaxRecord; the engine
// fragments larger messages.
//
// Receiving: Receive polls the incoming ring and hands each record to fn in
// place, waiting with the strategy when the ring is empty. The frame is a
// view into shared memory, valid while fn runs.
//
// Goroutines: one, the liveness reader, started by New and ended
// by Close (and, with Options.Prefault, the prefault timer's, once). It blocks reading the socket; EOF or any byte (the peer sends
// nothing after the handshake) means the peer is gone, and it closes the
// transport with ErrPeerGone so that Receive and every blocked Claim return
// at once: closing interrupts their parks (ring.Buffer.Interrupt). No
// goroutine of a Transport wakes up periodically: an idle connection costs
// no CPU.
//
// The mapping stays until Close has been called and the last Receive,
// Claim/Commit or Abort has returned; only then is it unmapped.
//
// Faults: a region whose file is truncated under the mapping (by the peer,
// or a process that opened it while it had a name) ends this transport
// with ErrRegionFault, never the process: see fault.go.
type Transport struct {
	out, in  *ring.Buffer
	duplex   *shm.Duplex
	conn     net.Conn
	maxFrame int
	wait     Wait
	park     time.Duration
	pin      func() (unpin func(), err error)

	turn chan struct{} // wakes a Claim waiting for the claim (see lockClaim)

	// spin is how long WaitDefault polls before it parks, adapted to what
	// polling has been finding (see spinBudget).
	spin spinBudget

	// Claim holder only: the batching of CommitLater.
	pending bool // records staged and not yet published
	staged  int  // how many

	// Counters (Traffic, RingStats): the sent ones kept by the claim
	// holder, the received ones by the receive token's holder; parks by
	// the receive loop.
	framesSent, bytesSent uint64
	framesRecv, bytesRecv uint64
	parks                 atomic.Uint64

	// The receive side is polled by Receive or by a requester in Drive,
	// whoever holds tok; driving is set while a requester is in Drive, and
	// Receive steps aside while it is. The fields below tok are
	// used only with tok held, except that rerr is read after rfailed.
	tok            atomic.Bool
	driving        atomic.Bool // a requester is in Drive
	turnedAway     atomic.Bool // a requester found driving set and left
	kick           chan struct{}
	rfailed        atomic.Bool
	rerr           error
	fn             func(frame []byte) error
	batchEnd       func() // SetBatchEnd's function, or nil
	ferr           error
	handle         func(rec []byte) bool
	peerClosedRing bool
	closed         chan struct{}
	// state holds the users of the mapping, the claim and its waiters, and
	// whether Close was called: see state.go.
	state     state
	recvState atomic.Int32 // recvIdle, recvRunning or recvReleased
	closeOnce sync.Once
	// enlists counts the times a CommitLater enlisted the parked receive
	// loop (commitStaged).
	enlists atomic.Uint64
	// prefaultTimer runs prefault (Options.Prefault); stopped by shutdown.
	prefaultTimer *time.Timer
	err           error // why it closed; written once before closed is closed
	release       sync.Once

	// faulted is set once touching the mapping faulted; parkedRecv and
	// parkedClaim hold the thread of the receive loop and of the claim
	// holder while they park on a futex word (see fault.go).
	faulted     atomic.Bool
	parkedRecv  atomic.Int32
	parkedClaim atomic.Int32
	// callerGuards is set while the callers of the claim methods recover
	// faults themselves (SetCallerGuards).
	callerGuards atomic.Bool
}

// Errors a Transport returns. They also match, with errors.Is, the errors
// of a socket in the same state (io.ErrUnexpectedEOF, net.ErrClosed), so
// that code written against any transport (rsocket.IsPeerGone) reads them.
var (
	// ErrPeerGone: the liveness socket closed or broke, so the peer is
	// gone (or closed its side). It matches io.ErrUnexpectedEOF.
	ErrPeerGone error = &kindError{"shmtransport: peer closed the liveness socket", io.ErrUnexpectedEOF}
	// ErrClosed: the transport was closed locally. It matches
	// net.ErrClosed.
	ErrClosed error = &kindError{"shmtransport: closed", net.ErrClosed}
)

// kindError is a sentinel error that also matches the error of the socket
// state it stands for.
type kindError struct {
	msg  string
	like error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.like }

var errFrameTooLarge = errors.New("shmtransport: frame larger than the ring's MaxRecord")

// Options says how a Transport waits and where its receive loop runs. The
// zero value is WaitDefault, parks without a timeout, and no pinning.
type Options struct {
	// Wait is how the receive loop and a blocked Claim wait.
	Wait Wait
	// ParkTimeout bounds one futex park. Zero (or negative) parks until
	// woken: by the peer's publish or hand-back, or by Close and the
	// peer's death, which interrupt the waits.
	ParkTimeout time.Duration
	// PinCPU pins the OS thread of the receive loop to CPU (see package
	// affinity). False (zero) pins nothing.
	PinCPU bool
	CPU    int
	// Prefault faults the region's pages in (shm.Region.Prefault) on a
	// goroutine of its own, PrefaultDelay after New, unless the transport
	// closed first: for a side that mapped the region without prefaulting
	// to keep the page work off the connection's setup. A connection that
	// lives shorter than the delay never pays for pages it did not touch;
	// a longer one has them faulted in off its critical path.
	Prefault bool
	// Await, when set, is run by the liveness reader before it waits for
	// the socket's end: it reads what the peer still sends after the
	// transport exists (the server's last handshake message), and an
	// error from it closes the transport with that error.
	Await func(liveness io.Reader) error
}

// New wraps d. out and in are the rings this side writes and reads; c is
// the liveness socket, which the peer never writes to after the handshake.
// liveness is what the liveness goroutine reads: c itself, or a reader
// that holds bytes c already delivered (nil means c). The Transport owns
// d and c from here on and closes both.
func New(d *shm.Duplex, out, in *ring.Buffer, c net.Conn, liveness io.Reader, o Options) *Transport {
	if liveness == nil {
		liveness = c
	}
	park := o.ParkTimeout
	if park <= 0 {
		park = ring.NoTimeout
	}
	t := &Transport{
		out:      out,
		in:       in,
		duplex:   d,
		conn:     c,
		maxFrame: out.MaxRecord(),
		wait:     o.Wait,
		park:     park,
		pin:      pinner(o),
		turn:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
	// Small frames are encoded in this process's memory and copied into
	// the ring when their batch is published (ring.Buffer.StageLocally):
	// the claim's lock and release then never wait for stores to lines
	// the peer's consumer holds.
	out.StageLocally(localArena, batchMaxFrame)
	t.handle = t.handleRecord
	t.state.init(1) // the receive side's reference: see Receive
	t.spin.init()
	t.kick = make(chan struct{}, 1)
	if o.Prefault {
		// Before the liveness reader starts: its shutdown stops the timer.
		t.prefaultTimer = time.AfterFunc(PrefaultDelay, t.prefault)
	}
	go t.watch(liveness, o.Await)
	return t
}

// PrefaultDelay is how long a transport with Options.Prefault waits before
// it faults the region's pages in.
const PrefaultDelay = 20 * time.Millisecond

// prefault is Options.Prefault's work, on the timer's goroutine: a user of
// the mapping while it runs, so the region stays mapped.
func (t *Transport) prefault() {
	if !t.enter() {
		return
	}
	defer t.exit()
	_ = t.duplex.Region().Prefault() // a failure leaves the pages to fault on first use
}

// watch is the liveness reader.
func (t *Transport) watch(r io.Reader, await func(io.Reader) error) {
	if await != nil {
		if err := await(r); err != nil {
			t.shutdown(err)
			return
		}
	}
	var b [1]byte
	_, err := r.Read(b[:])
	if err == nil {
		err = errors.New("unexpected bytes after the handshake")
	}
	t.shutdown(fmt.Errorf("%w: %v", ErrPeerGone, err))
}

// Wait returns the strategy the transport waits with.
func (t *Transport) Wait() Wait { return t.wait }

// RingSize returns the data capacity of each ring.
func (t *Transport) RingSize() int { return t.out.Capacity() }

// MaxFrameSize returns the outgoing ring's MaxRecord.
func (t *Transport) MaxFrameSize() int { return t.maxFrame }

func (t *Transport) unmap() {
	t.release.Do(func() {
		// Nobody on this side touches the rings any more: tell the peer's
		// consumer and producer (unless the region faulted), then unmap.
		if !t.faulted.Load() {
			t.touch(t.out.CloseWrite)
			t.touch(t.in.CloseRead)
		}
		_ = t.duplex.Region().Unlink() // normally done already: idempotent
		_ = t.duplex.Close()
	})
}

func (t *Transport) closedErr() error {
	<-t.closed
	return t.err
}

// Claim returns n bytes of the outgoing ring for one frame.
func (t *Transport) Claim(ctx context.Context, n int) (b []byte, err error) {
	if n < 0 || n > t.maxFrame {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", errFrameTooLarge, n, t.maxFrame)
	}
	if lerr := t.lockClaim(ctx); lerr != nil {
		return nil, lerr
	}
	if !t.callerGuards.Load() {
		defer t.catchClaimFault(&err, debug.SetPanicOnFault(true))
	}
	if b, err = t.out.Claim(n); err == nil {
		return b, nil
	}
	return t.claimSlow(ctx, n)
}

// claimSlow waits for room in the outgoing ring (claim held). It is apart
// from Claim so the fast path does not build the waiter: zeroing it cost
// more than the claim itself.
func (t *Transport) claimSlow(ctx context.Context, n int) ([]byte, error) {
	w := newWaiter(t.wait, t.park)
	for {
		b, err := t.out.Claim(n)
		if err == nil {
			return b, nil
		}
		if err != ring.ErrFull {
			t.unlockClaim()
			return nil, fmt.Errorf("shmtransport: send: %w", err)
		}
		select {
		case <-ctx.Done():
			t.unlockClaim()
			return nil, ctx.Err()
		case <-t.closed:
			t.unlockClaim()
			return nil, t.err
		default:
		}
		if w.poll() {
			t.parkSpace(n, w.park)
		}
	}
}

// Commit publishes the first n bytes of the claimed frame, together with
// any frame CommitLater left staged.
func (t *Transport) Commit(n int) (err error) {
	if !t.callerGuards.Load() {
		defer t.catchClaimFault(&err, debug.SetPanicOnFault(true))
	}
	t.stage(n)
	t.unlockClaim()
	return nil
}

// stage stages the claimed frame's first n bytes for the next publish and
// counts it.
func (t *Transport) stage(n int) {
	t.out.Stage(n)
	t.framesSent++
	t.bytesSent += uint64(n)
	t.pending = true
}

// CommitLater is Commit for a frame that may wait briefly to be published
// with the next ones: the engine uses it for stream payloads and
// fire-and-forget requests, which come in floods.
//
// Publishing stores the first staged record header with a locked
// instruction that waits for the cache line the peer polls, the largest cost
// of a small frame. So while the receive loop or a Drive of this side polls, a frame of
// at most batchMaxFrame bytes is left staged, up to batchMax of them: the
// next Commit, the batchMax-th frame, or the poller on its next turn (it
// looks at every turn) publishes them all with one store. While nobody
// polls (a parked receive loop, WaitBlock) it publishes at once. With one P
// the poller runs when the sending goroutine blocks or yields, as it does to
// read incoming frames.
func (t *Transport) CommitLater(n int) error { return t.commitStaged(n, pollBits, true) }

// CommitDriven is Commit for a request whose sender drives the receive
// side next (a blocking request-response): the frame stays staged only
// while another goroutine drives, which publishes it on its next turn with
// the requests of the other requesters it woke (up to batchMax frames per
// store). Otherwise it is published now, as the sender's
// own Drive would do first thing.
func (t *Transport) CommitDriven(n int) error { return t.commitStaged(n, drivePoll, false) }

// CommitPolled is Commit for a frame whose answer a poller of this side
// will bring (an asynchronous request): the frame stays staged while the
// receive loop or a Drive polls, which publishes it on its next turn with
// the frames staged after it, and is published now otherwise. Unlike
// CommitLater it never enlists a parked receive loop: waking it would put
// a thread wake-up before the publish of a lone request.
func (t *Transport) CommitPolled(n int) error { return t.commitStaged(n, pollBits, false) }

// commitStaged stages the claimed frame and releases the claim, leaving the
// frame unpublished while one of the poller bits is set, unless the frame
// is large or the batch full. With enlist set it may enlist the receive
// loop (below).
//
// A CommitLater that finds nobody polling enlists the receive loop, which
// is parked: it sets the loop's poller bit on the loop's behalf and nudges
// it (ring.Buffer.Nudge), so that the frames of a burst are published in
// batches, by the sender at batchMax or by the loop when the sender yields,
// instead of one at a time, each with its store to the line the peer polls
// and perhaps a wake-up of the peer. The loop leaves the bit as any poller
// does: once it parks again, after publishing what is staged.
func (t *Transport) commitStaged(n int, bits int64, enlist bool) (err error) {
	if !t.callerGuards.Load() {
		defer t.catchClaimFault(&err, debug.SetPanicOnFault(true))
	}
	t.stage(n)
	t.staged++
	switch {
	case n > batchMaxFrame || t.staged >= batchMax:
		bits = 0
	case enlist && t.state.load()&(pollBits|closedBit) == 0 && t.recvState.Load() == recvRunning:
		t.state.startPolling(recvPollBit)
		t.in.Nudge()
		t.enlists.Add(1)
	}
	t.releaseClaim(bits)
	return nil
}

// CommitHold commits the claimed frame as CommitLater does but keeps the
// claim, for ClaimHeld to claim the next frame of a batch under it: the
// frames of a batch take and release the claim once in all, instead of
// once each (two atomic read-modify-writes per frame, the largest cost of
// a small one after the copy). The batch ends with a CommitLater, Commit or
// Abort of its last frame, which releases the claim. A batch of more than
// batchMax frames is published every batchMax frames, and a frame larger
// than a staged one at once.
func (t *Transport) CommitHold(n int) (err error) {
	if !t.callerGuards.Load() {
		defer t.catchClaimFault(&err, debug.SetPanicOnFault(true))
	}
	t.stage(n)
	if t.staged++; n > batchMaxFrame || t.staged >= batchMax {
		if !t.faulted.Load() {
			t.out.Flush()
		}
		t.pending, t.staged = false, 0
	}
	return nil
}

// ClaimHeld is Claim for the next frame of a batch, by the holder of the
// claim that CommitHold kept. As with Claim, the claim is held on success
// and released on an error.
func (t *Transport) ClaimHeld(ctx context.Context, n int) (b []byte, err error) {
	if n < 0 || n > t.maxFrame {
		t.unlockClaim()
		return nil, fmt.Errorf("%w: %d bytes, at most %d", errFrameTooLarge, n, t.maxFrame)
	}
	if t.state.load()&closedBit != 0 {
		t.unlockClaim()
		return nil, t.closedErr()
	}
	if !t.callerGuards.Load() {
		defer t.catchClaimFault(&err, debug.SetPanicOnFault(true))
	}
	t.out.PrefetchAhead(heldAhead, n)
	b, err = t.out.ClaimInPlace(n)
	if err == nil {
		return b, nil
	}
	return t.claimSlow(ctx, n)
}

// heldAhead: the frames of a held batch (ClaimHeld) are written in the
// ring itself (ring.Buffer.ClaimInPlace), with the lines of the next
// heldAhead bytes of free space prepared ahead of them
// (ring.Buffer.PrefetchAhead: asked for, or zeroed for small frames). A
// batch takes the claim once for all its frames, so it has no lock for
// local staging to keep its stores out of; staging would only add a copy.
const heldAhead = 4096

// Batching of CommitLater: at most batchMax frames of at most
// batchMaxFrame bytes wait staged; they are encoded in an arena of
// localArena bytes (a frame that finds it full is written in place).
const (
	batchMax      = 64
	batchMaxFrame = 2048
	localArena    = 32 << 10
)

// Abort discards the claimed frame.
func (t *Transport) Abort() {
	var err error
	if !t.callerGuards.Load() {
		defer t.catchClaimFault(&err, debug.SetPanicOnFault(true))
	}
	t.out.Abort()
	t.unlockClaim()
}

// Receive hands each incoming frame to fn until the transport closes, the
// ring fails (a corrupt ring is an error wrapping ring.ErrCorrupt) or fn
// returns an error. When the peer is gone, the frames it published before
// it died are delivered first.
//
// While a requester drives the receive side (Drive), Receive steps aside:
// it neither polls nor spins until the driver leaves, so the process keeps
// one polling thread.
//
// A fault in the region, fn's reads of a frame included, ends Receive and
// the transport with ErrRegionFault.
func (t *Transport) Receive(fn func(frame []byte) error) (err error) {
	// The receive side's reference on the mapping was taken at creation, so
	// the frames a dead peer published are still there however early its
	// death is noticed; Receive releases it when it returns.
	if !t.recvState.CompareAndSwap(recvIdle, recvRunning) {
		return t.closedErr()
	}
	defer t.exit()
	if t.pin != nil {
		unpin, err := t.pin()
		if err != nil {
			return fmt.Errorf("shmtransport: pin receive loop: %w", err)
		}
		defer unpin()
	}
	w := newWaiter(t.wait, t.park)
	w.budget = &t.spin
	stepAside := time.NewTimer(time.Hour)
	defer stepAside.Stop()
	t.startPolling(recvPollBit)
	defer t.stopPolling(recvPollBit)
	// Deferred last, so it runs first: the transport is closed before
	// stopPolling runs.
	defer t.catchFault(&err, debug.SetPanicOnFault(true))
	for {
		t.flushStaged()
		if t.driving.Load() {
			// The driver polls (and publishes) meanwhile.
			t.stopPolling(recvPollBit)
			stepAside.Reset(driverSleep)
			select {
			case <-t.closed:
			case <-t.kick:
			case <-stepAside.C:
			}
			t.startPolling(recvPollBit)
			w.reset()
			continue
		} else if t.tok.CompareAndSwap(false, true) {
			n := t.poll(fn)
			t.tok.Store(false)
			if n > 0 {
				// The frames just handed over may have made goroutines
				// runnable (a stream's reader, a requester, a handler):
				// with one P they run only when this loop yields, which
				// it would not do while frames keep coming.
				runtime.Gosched()
				w.reset()
				continue
			}
		}
		if err := t.recvErr(); err != nil {
			return err
		}
		select {
		case <-t.closed:
			if errors.Is(t.err, ErrPeerGone) && !t.faulted.Load() {
				// Frames published before the peer died come first.
				for t.driving.Load() || !t.tok.CompareAndSwap(false, true) {
					if t.faulted.Load() {
						// A Drive faulted, holding the token.
						return t.err
					}
					runtime.Gosched()
				}
				n := t.poll(fn)
				t.tok.Store(false)
				if n < 0 && !t.peerClosedRing {
					return t.recvErr()
				}
			}
			return t.err
		default:
		}
		if !t.driving.Load() && t.tok.CompareAndSwap(false, true) {
			// A parked loop publishes nothing: it stops polling first.
			// It parks without the token (WaitDataAt reads no consumer
			// state), so a requester that comes to drive polls at once
			// instead of waking this loop first, a thread wake-up on
			// the path of the first request after a pause.
			if w.poll() {
				t.stopPolling(recvPollBit)
				pos := t.in.Position()
				t.tok.Store(false)
				t.parkData(pos, w.park)
				t.startPolling(recvPollBit)
			} else {
				t.tok.Store(false)
			}
		}
	}
}

// driverSleep bounds how long the receive loop stays aside while a
// requester drives the receive side. A driver that leaves wakes the loop at
// once when other requesters wait; otherwise a frame nobody waits for that
// arrives as the driver leaves waits at most this long.
const driverSleep = time.Millisecond

// poll reads the frames available now, with the receive token held, and
// returns how many, or -1 after recording why the receive side failed.
func (t *Transport) poll(fn func(frame []byte) error) int {
	if t.rfailed.Load() {
		return -1
	}
	t.fn = fn
	n, err := t.in.Read(t.handle)
	if t.batchEnd != nil {
		t.batchEnd() // or catchFault, when a fault panics out of Read
	}
	if t.ferr != nil {
		t.setRecvErr(t.ferr)
		return -1
	}
	if err != nil {
		if err == ring.ErrClosed {
			t.peerClosedRing = true
			t.setRecvErr(fmt.Errorf("%w: the peer closed its ring", ErrPeerGone))
		} else {
			t.setRecvErr(fmt.Errorf("shmtransport: receive: %w", err))
		}
		return -1
	}
	return n
}

// SetBatchEnd makes the transport call fn at the end of each batch of
// frames it hands to a receive function (Receive's or Drive's): after the
// last frame of a poll of the ring, on the goroutine that polled, before
// anyone else can poll. The engine holds a stream's lock across the
// frames of a batch for that stream and lets it go in fn. Call it before
// Receive or Drive, once.
func (t *Transport) SetBatchEnd(fn func()) { t.batchEnd = fn }

// handle is the ring callback of poll, bound once so polling allocates
// nothing; it runs with the receive token held.
func (t *Transport) handleRecord(rec []byte) bool {
	t.framesRecv++
	t.bytesRecv += uint64(len(rec))
	t.ferr = t.fn(rec)
	return t.ferr == nil
}

// setRecvErr records the receive side's first failure (token held).
func (t *Transport) setRecvErr(err error) {
	if !t.rfailed.Load() {
		t.rerr = err
		t.rfailed.Store(true)
	}
}

// recvErr returns the receive side's failure, or nil.
func (t *Transport) recvErr() error {
	if t.rfailed.Load() {
		return t.rerr
	}
	return nil
}

// Drive implements rsocket.Driver: the caller polls the incoming ring
// itself while it waits for done, spinning with PAUSE between polls. With
// WaitSpin it polls until done or cancel; with WaitDefault and WaitYield for
// at most DefaultSpinTime, after which the caller parks and the receive loop
// takes over; with WaitBackoff and WaitBlock it does not poll at all (those
// strategies trade latency for CPU, and a driver would spin).
//
// One goroutine drives at a time: a second caller returns at once and
// waits for its answer, to be served by the driver (which delivers its
// frames too) or, once the driver leaves, by the receive loop, which the
// leaving driver wakes when someone was turned away. So however many
// requesters wait, the process has one polling thread.
func (t *Transport) Drive(fn func(frame []byte) error, done func() bool, cancel <-chan struct{}) {
	var budget time.Duration
	switch t.wait {
	case WaitSpin:
	case WaitBackoff, WaitBlock:
		return
	default:
		budget = t.spin.load()
	}
	if !t.driving.CompareAndSwap(false, true) {
		t.turnedAway.Store(true)
		return
	}
	if !t.enter() {
		t.driving.Store(false)
		return
	}
	t.startPolling(drivePoll)
	answered := false
	defer func() {
		t.stopPolling(drivePoll)
		t.exit()
		t.driving.Store(false)
		// The receive loop stepped aside for this driver: it must take
		// over at once when others were turned away, and when this
		// driver leaves unanswered (its budget spent, or cancelled), for
		// its answer comes later and nobody else polls for it.
		if t.turnedAway.Swap(false) || !answered {
			signalKick(t.kick)
		}
	}()
	// A fault closes the transport (the receive loop returns the error),
	// before the function above runs.
	var err error
	defer t.catchFault(&err, debug.SetPanicOnFault(true))
	var start time.Time
	for i := 0; ; i++ {
		if done() {
			if budget > 0 && i > 0 {
				t.spin.paid() // the answer came while this driver polled
			}
			answered = true
			return
		}
		t.flushStaged()
		if t.tok.CompareAndSwap(false, true) {
			n := t.poll(fn)
			t.tok.Store(false)
			if n < 0 {
				// The receive side failed: the loop, parked, must
				// see it and return the error.
				t.in.Nudge()
				return
			}
			if n > 0 {
				continue
			}
		}
		if i&63 == 63 {
			// Let the goroutines this driver made runnable (other
			// requesters, handlers) run: with one P nothing else would
			// until the runtime preempts the driver.
			runtime.Gosched()
			select {
			case <-cancel:
				return
			case <-t.closed:
				return
			default:
			}
			if budget > 0 {
				if start.IsZero() {
					start = time.Now()
				} else if time.Since(start) > budget {
					t.spin.wasted()
					return
				}
			}
		}
		ring.Spin{}.Idle(0)
	}
}

func signalKick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Close closes the liveness socket, which tells the peer at once, makes a
// blocked Claim and Receive return at once, and unmaps the region once they
// have.
func (t *Transport) Close() error {
	t.shutdown(ErrClosed)
	// A transport closed by its owner before Receive ran will not be read:
	// drop the receive side's reference. (A peer's death alone keeps it, so
	// Receive still delivers what the peer published before it died.)
	if t.recvState.CompareAndSwap(recvIdle, recvReleased) {
		t.exit()
	}
	return nil
}

func (t *Transport) shutdown(err error) {
	t.closeOnce.Do(func() {
		t.err = err
		close(t.closed)
		if t.prefaultTimer != nil {
			t.prefaultTimer.Stop()
		}
		// Wake this side's parked waits (the receive loop, a Claim
		// waiting for room): they see closed and leave. Where the wake
		// faults, the region was truncated: markFaulted signals them.
		t.touch(t.in.Interrupt)
		t.touch(t.out.Interrupt)
		_ = t.conn.Close()
		if t.state.close() {
			t.unmap()
		}
	})
}

// States of the receive side's reference on the mapping (recvState).
const (
	recvIdle     = iota // taken at creation, Receive not called yet
	recvRunning         // owned by Receive, released when it returns
	recvReleased        // released by Close: Receive was never called
)

// Err returns why the transport closed, or nil while it is open.
func (t *Transport) Err() error {
	select {
	case <-t.closed:
		return t.err
	default:
		return nil
	}
}

// RegionName returns the name the region had in the shm directory; it was
// unlinked before the first frame.
func (t *Transport) RegionName() string { return t.duplex.Region().Name() }

// Traffic counts the frames committed and delivered, and their bytes
// (rsocket.TrafficCounter). It takes the claim and the receive token for a
// moment to read what their holders count; on a closed transport it
// reports what was counted by then, as far as it can take them.
func (t *Transport) Traffic() (framesSent, bytesSent, framesReceived, bytesReceived uint64) {
	if t.lockClaim(context.Background()) == nil {
		framesSent, bytesSent = t.framesSent, t.bytesSent
		t.unlockClaim()
	}
	if t.takeToken() {
		framesReceived, bytesReceived = t.framesRecv, t.bytesRecv
		t.tok.Store(false)
	}
	return framesSent, bytesSent, framesReceived, bytesReceived
}

// RingStats reports the ring capacity, the receive loop's parks, and the
// futex wakes this side made for the peer (rsocket.RingCounter).
func (t *Transport) RingStats() (size int, parks, wakes uint64) {
	size, parks = t.out.Capacity(), t.parks.Load()
	if t.lockClaim(context.Background()) == nil {
		wakes += t.out.ProducerStats().Wakes
		t.unlockClaim()
	}
	if t.takeToken() {
		wakes += t.in.ConsumerWakes()
		t.tok.Store(false)
	}
	return size, parks, wakes
}

// takeToken takes the receive token from whoever polls, yielding until it
// is free; false on a transport that faulted (a fault may leave it taken).
func (t *Transport) takeToken() bool {
	for !t.tok.CompareAndSwap(false, true) {
		if t.faulted.Load() {
			return false
		}
		runtime.Gosched()
	}
	return true
}
