package handshake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
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
// concurrent callers queue on a semaphore), waiting with the configured
// strategy while the ring is full; Commit publishes it, which wakes the
// peer's receive loop if it is parked. Frames are never dropped or
// reordered. MaxFrameSize is the ring's MaxRecord; the engine fragments
// larger messages.
//
// Receiving: Receive polls the incoming ring and hands each record to fn in
// place, waiting with the strategy when the ring is empty. The frame is a
// view into shared memory, valid while fn runs.
//
// Goroutines: one, the liveness reader, started by the handshake and ended
// by Close. It blocks reading the socket; EOF or any byte (the peer sends
// nothing after the handshake) means the peer is gone, and it closes the
// transport with ErrPeerGone so that Receive and every blocked Claim return
// at once (a parked receive loop within ParkTimeout).
//
// The mapping stays until Close has been called and the last Receive,
// Claim/Commit or Abort has returned; only then is it unmapped.
type Transport struct {
	out, in  *ring.Buffer
	duplex   *shm.Duplex
	conn     net.Conn
	maxFrame int
	wait     Wait
	park     time.Duration
	pin      func() (unpin func(), err error)

	sem    chan struct{} // held from Claim to Commit or Abort
	closed chan struct{}
	// state counts the users of the mapping (Receive, open claims) in its
	// low bits; closedBit is set once by Close.
	state     atomic.Int64
	closeOnce sync.Once
	err       error // why it closed; written once before closed is closed
	release   sync.Once
}

const closedBit = 1 << 62

var errFrameTooLarge = errors.New("handshake: frame larger than the ring's MaxRecord")

// newTransport wraps d. out and in are the rings this side writes and reads.
// liveness is read by the liveness goroutine; it is c itself or a reader
// that holds bytes c already delivered.
func newTransport(d *shm.Duplex, out, in *ring.Buffer, c net.Conn, liveness *bufio.Reader, cfg *Config, wait Wait) *Transport {
	t := &Transport{
		out:      out,
		in:       in,
		duplex:   d,
		conn:     c,
		maxFrame: out.MaxRecord(),
		wait:     wait,
		park:     cfg.parkTimeout(),
		pin:      pinner(cfg),
		sem:      make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
	go t.watch(liveness)
	return t
}

// watch is the liveness reader.
func (t *Transport) watch(r *bufio.Reader) {
	var b [1]byte
	_, err := r.Read(b[:])
	if err == nil {
		err = errors.New("unexpected bytes after the handshake")
	}
	t.shutdown(fmt.Errorf("%w: %v", ErrPeerGone, err))
}

// Kind returns KindSHM.
func (t *Transport) Kind() Kind { return KindSHM }

// RingSize returns the data capacity of each ring.
func (t *Transport) RingSize() int { return t.out.Capacity() }

// MaxFrameSize returns the outgoing ring's MaxRecord.
func (t *Transport) MaxFrameSize() int { return t.maxFrame }

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
	if t.state.Add(-1) == closedBit {
		t.unmap()
	}
}

func (t *Transport) unmap() {
	t.release.Do(func() {
		// Nobody on this side touches the rings any more: tell the peer's
		// consumer and producer, then unmap.
		t.out.CloseWrite()
		t.in.CloseRead()
		_ = t.duplex.Region().Unlink() // normally done already: idempotent
		_ = t.duplex.Close()
	})
}

func (t *Transport) closedErr() error {
	<-t.closed
	return t.err
}

// Claim returns n bytes of the outgoing ring for one frame.
func (t *Transport) Claim(ctx context.Context, n int) ([]byte, error) {
	if n < 0 || n > t.maxFrame {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", errFrameTooLarge, n, t.maxFrame)
	}
	if !t.enter() {
		return nil, t.closedErr()
	}
	select {
	case t.sem <- struct{}{}:
	default:
		select {
		case t.sem <- struct{}{}:
		case <-ctx.Done():
			t.exit()
			return nil, ctx.Err()
		case <-t.closed:
			t.exit()
			return nil, t.err
		}
	}
	w := waiter{kind: t.wait, park: t.park}
	for {
		b, err := t.out.Claim(n)
		if err == nil {
			return b, nil
		}
		if err != ring.ErrFull {
			<-t.sem
			t.exit()
			return nil, fmt.Errorf("handshake: send: %w", err)
		}
		select {
		case <-ctx.Done():
			<-t.sem
			t.exit()
			return nil, ctx.Err()
		case <-t.closed:
			<-t.sem
			t.exit()
			return nil, t.err
		default:
		}
		w.space(t.out, n)
	}
}

// Commit publishes the first n bytes of the claimed frame.
func (t *Transport) Commit(n int) error {
	t.out.Commit(n)
	<-t.sem
	t.exit()
	return nil
}

// Abort discards the claimed frame.
func (t *Transport) Abort() {
	t.out.Abort()
	<-t.sem
	t.exit()
}

// Receive hands each incoming frame to fn until the transport closes, the
// ring fails (a corrupt ring is an error wrapping ring.ErrCorrupt) or fn
// returns an error. When the peer is gone, the frames it published before
// it died are delivered first.
func (t *Transport) Receive(fn func(frame []byte) error) error {
	if !t.enter() {
		return t.closedErr()
	}
	defer t.exit()
	if t.pin != nil {
		unpin, err := t.pin()
		if err != nil {
			return fmt.Errorf("handshake: pin receive loop: %w", err)
		}
		defer unpin()
	}
	var ferr error
	handle := func(rec []byte) bool {
		ferr = fn(rec)
		return ferr == nil
	}
	w := waiter{kind: t.wait, park: t.park}
	for {
		n, err := t.in.Read(handle)
		if ferr != nil {
			return ferr
		}
		if err != nil {
			if err == ring.ErrClosed {
				return fmt.Errorf("%w: the peer closed its ring", ErrPeerGone)
			}
			return fmt.Errorf("handshake: receive: %w", err)
		}
		if n > 0 {
			w.reset()
			continue
		}
		select {
		case <-t.closed:
			if errors.Is(t.err, ErrPeerGone) {
				// Frames published before the peer died come first.
				if _, err := t.in.Read(handle); ferr != nil {
					return ferr
				} else if err != nil && err != ring.ErrClosed {
					return fmt.Errorf("handshake: receive: %w", err)
				}
			}
			return t.err
		default:
		}
		w.data(t.in)
	}
}

// Close closes the liveness socket, which tells the peer at once, makes a
// blocked Claim return and Receive return within ParkTimeout, and unmaps
// the region once they have.
func (t *Transport) Close() error {
	t.shutdown(ErrClosed)
	return nil
}

func (t *Transport) shutdown(err error) {
	t.closeOnce.Do(func() {
		t.err = err
		close(t.closed)
		_ = t.conn.Close()
		if t.state.Or(closedBit) == 0 {
			t.unmap()
		}
	})
}

// Err returns why the transport closed, or nil while it is open.
func (t *Transport) Err() error {
	select {
	case <-t.closed:
		return t.err
	default:
		return nil
	}
}

// waiter runs one side's wait strategy; one per loop.
type waiter struct {
	kind    Wait
	park    time.Duration
	idle    int
	since   time.Time // start of the current idle period (WaitDefault)
	backoff ring.Backoff
}

// DefaultSpinTime is how long WaitDefault keeps polling (spinning, then
// yielding) before it parks on the futex word. Parking costs a wake-up
// chain of several thread wake-ups per round trip (the ring's futex, then
// the Go scheduler waking an idle thread for the goroutine that handles
// the frame), each 10-50 us in a VM; polling through a gap this long keeps
// a busy connection on the fast path while an idle one still parks within
// tens of microseconds (~0% CPU).
const DefaultSpinTime = 100 * time.Microsecond

// defaultSpins is how many Idle calls WaitDefault spins with PAUSE before
// it starts yielding.
const defaultSpins = 100

func (w *waiter) reset() {
	w.idle = 0
	w.backoff.Idle(1)
}

func (w *waiter) data(b *ring.Buffer) {
	if w.poll() {
		b.WaitData(w.park)
	}
}

func (w *waiter) space(b *ring.Buffer, n int) {
	if w.poll() {
		b.WaitSpace(n, w.park)
	}
}

// poll waits one step without the ring and reports whether the caller
// should park on the ring's futex word instead.
func (w *waiter) poll() bool {
	switch w.kind {
	case WaitSpin:
		ring.Spin{}.Idle(0)
	case WaitYield:
		runtime.Gosched()
	case WaitBackoff:
		w.backoff.Idle(0)
	case WaitBlock:
		return true
	default:
		w.idle++
		switch {
		case w.idle == 1:
			w.since = time.Now()
			ring.Spin{}.Idle(0)
		case w.idle <= defaultSpins:
			ring.Spin{}.Idle(0)
		case w.idle%16 != 0 || time.Since(w.since) < DefaultSpinTime:
			runtime.Gosched()
		default:
			return true
		}
	}
	return false
}

// RegionName returns the name the region had in the shm directory; it was
// unlinked before the first frame.
func (t *Transport) RegionName() string { return t.duplex.Region().Name() }
