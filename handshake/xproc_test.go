package handshake

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shmtransport"
)

// Cross-process tests: a child process (the test binary re-executed as
// "relay") sits between the two ends of every connection, so each frame
// crosses a real second process through two pairs of shared-memory rings:
//
//	test process                 relay child                  test process
//	client Conn ── ct ═rings═ leg 1 ──forward──▶ leg 2 ═rings═ st ── server Conn
//	                                ◀──forward──
//
// Both rsocket.Conns live in the test process, so the conformance table's
// in-process checks (handler channels, spies) keep working.

// childRelay (DIR) listens (SHMOnly, in the test's shm directory DIR), prints its
// address, and pairs the connections it accepts in accept order, the 1st
// with the 2nd, the 3rd with the 4th, and so on, forwarding frames
// verbatim between the two of each pair. For every connection it prints
// "accepted <kind> <region name>"; the parent dials the next one only after
// reading that line, so accept order is dial order.
func childRelay(args []string) int {
	cfg := Config{Mode: SHMOnly, SHM: shmConfig(args[0])}
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("addr", l.Addr())
	var first rsocket.Transport
	for {
		a, err := l.Accept(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "relay: accept:", err)
			return 1
		}
		name := "-"
		if t, ok := a.Transport.(*shmtransport.Transport); ok {
			name = t.RegionName()
		}
		fmt.Println("accepted", a.Kind, name)
		if first == nil {
			first = a.Transport
			continue
		}
		go relay(first, a.Transport)
		first = nil
	}
}

// relay forwards frames between a and b, one goroutine per direction, until
// either side closes or fails; then both are closed, so the other end sees
// its peer gone, but only once everything the failed side delivered has
// been forwarded. Each direction closes the leg it writes to when it ends:
//
//   - from failed or closed: Receive delivered the frames its peer
//     published before it went, they have been forwarded, and closing to
//     tells to's peer.
//   - to failed (Claim on it failed): to is closed; from is left open, for
//     the other direction still drains to into it and closes it when done.
//     (Closing from here could lose to's last frames, such as an ERROR
//     rejecting the setup that crossed a request going the other way.)
func relay(a, b rsocket.Transport) {
	var wg sync.WaitGroup
	pipe := func(from, to rsocket.Transport) {
		defer wg.Done()
		err := forward(from, to)
		_ = to.Close()
		if err != nil && !errors.Is(err, ErrPeerGone) && !errors.Is(err, ErrClosed) {
			fmt.Fprintln(os.Stderr, "relay:", err) // shows in the failing test's output
		}
	}
	wg.Add(2)
	go pipe(a, b)
	go pipe(b, a)
	wg.Wait()
}

// forward copies each frame received on from into a frame claimed on to,
// in order. Claim blocks while to's ring is full, which stops from's
// receive loop, so from's ring fills and its sender blocks in turn:
// backpressure end to end, nothing dropped. Both legs use the ring size the
// parent asked for, so a frame that fits one fits the other (a frame that
// does not makes Claim fail, which ends the pair, loudly).
func forward(from, to rsocket.Transport) error {
	return from.Receive(func(f []byte) error {
		b, err := to.Claim(context.Background(), len(f))
		if err != nil {
			return err
		}
		copy(b, f)
		return to.Commit(len(f))
	})
}

// relayChild is a started relay and its address.
type relayChild struct {
	*testchild.Child
	cfg  Config
	addr string

	mu     sync.Mutex // serialises dials: pairing is by accept order
	broken bool       // a dial failed half-way: pairing is out of step
}

// startRelay starts the relay child for t (killed and reaped at the end of
// t) with cfg's shm directory, and registers a check that the directory is
// empty once the child is gone.
func startRelay(t *testing.T, cfg Config) *relayChild {
	t.Helper()
	t.Cleanup(func() { // runs after child's cleanup, which reaps it
		if files := dirEntries(t, cfg.SHM.Dir); len(files) != 0 {
			t.Errorf("left in the shm directory after the relay exited: %v", files)
		}
	})
	r := &relayChild{Child: testchild.Start(t, "relay", cfg.SHM.Dir), cfg: cfg}
	r.addr = r.Line(t, "addr ")
	return r
}

// leg dials the relay once and checks that both ends of the connection are
// shared memory and that the relay accepted this very connection (its
// region name).
func (r *relayChild) leg(tb testing.TB) *shmtransport.Transport {
	tb.Helper()
	tr, k, err := Dial(ctxT(tb), r.addr, r.cfg)
	if err != nil {
		tb.Fatalf("dial relay: %v", err)
	}
	tb.Cleanup(func() { tr.Close() })
	if k != KindSHM {
		tb.Fatalf("parent kind %v; want shm", k)
	}
	got := r.Line(tb, "accepted ")
	st := tr.(*shmtransport.Transport)
	if want := "shm " + st.RegionName(); got != want {
		tb.Fatalf("relay accepted %q; want %q (relay kind and this leg's region)", got, want)
	}
	return st
}

// dial returns the client's and the server's transports of a connection
// through the relay. It is an rsockettest.Dial.
func (r *relayChild) dial(tb testing.TB) (client, server rsocket.Transport) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken {
		tb.Fatal("an earlier dial failed half-way: the relay's pairing is out of step")
	}
	r.broken = true
	ct := r.leg(tb)
	st := r.leg(tb)
	r.broken = false
	if ct.RegionName() == st.RegionName() {
		tb.Fatalf("both legs on region %s", ct.RegionName())
	}
	return ct, st
}

func relayConfig(t *testing.T) Config {
	cfg := testConfig(t)
	cfg.Mode = SHMOnly
	return cfg
}

// TestConformanceCrossProcess runs the engine's interaction-model table,
// unchanged, over connections whose every frame crosses the relay child
// through shared-memory rings.
func TestConformanceCrossProcess(t *testing.T) {
	cfg := relayConfig(t)
	r := startRelay(t, cfg)
	rsockettest.RunConformance(t, r.dial)
	if files := dirEntries(t, cfg.SHM.Dir); len(files) != 0 {
		t.Fatalf("left in the shm directory: %v", files)
	}
}

// numbered sends and checks numbered raw frames of every size up to
// MaxFrameSize through a relayed connection, below the engine.
type numbered struct {
	sizes           []int
	sent, sentBytes atomic.Int64 // frames committed, and their bytes
	senderr         chan error
}

func newNumbered(maxFrame int) *numbered {
	return &numbered{sizes: []int{8, 100, 1000, maxFrame - 1, maxFrame}, senderr: make(chan error, 1)}
}

func (nb *numbered) frame(b []byte, i int) []byte {
	b = b[:nb.sizes[i%len(nb.sizes)]]
	binary.LittleEndian.PutUint64(b, uint64(i))
	for j := 8; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

// send sends frames 0..n-1 on tr as fast as Claim allows, then reports on
// senderr (the first error, or nil).
func (nb *numbered) send(ctx context.Context, tr rsocket.Transport, n int) {
	for i := range n {
		size := nb.sizes[i%len(nb.sizes)]
		b, err := tr.Claim(ctx, size)
		if err != nil {
			nb.senderr <- fmt.Errorf("claim %d: %w", i, err)
			return
		}
		nb.frame(b, i)
		if err := tr.Commit(size); err != nil {
			nb.senderr <- err
			return
		}
		nb.sentBytes.Add(int64(size))
		nb.sent.Add(1)
	}
	nb.senderr <- nil
}

// waitStall waits until the sender has sent something and then made no
// progress for 50 ms, and returns how many frames it had sent. (A stall is
// the absence of an event: only the clock can tell it.)
func (nb *numbered) waitStall(t *testing.T) int64 {
	t.Helper()
	last, since := nb.sent.Load(), time.Now()
	rsockettest.Eventually(t, 3*time.Second, "the sender to stall", func() bool {
		if n := nb.sent.Load(); n != last {
			last, since = n, time.Now()
		}
		return last > 0 && time.Since(since) >= 50*time.Millisecond
	})
	return last
}

var errAllReceived = errors.New("all frames received")

// receive reads frames from tr, checking that they come whole and in
// order, until n have come (it then returns errAllReceived) or Receive
// returns; it returns how many came.
func (nb *numbered) receive(tr rsocket.Transport, n int) (int, error) {
	next := 0
	want := make([]byte, nb.sizes[len(nb.sizes)-1])
	err := tr.Receive(func(f []byte) error {
		w := nb.frame(want, next)
		if !bytes.Equal(f, w) {
			got := -1
			if len(f) >= 8 {
				got = int(binary.LittleEndian.Uint64(f))
			}
			return fmt.Errorf("frame %d: got %d bytes numbered %d; want %d bytes", next, len(f), got, len(w))
		}
		next++
		if next == n {
			return errAllReceived
		}
		return nil
	})
	return next, err
}

// TestRelayOrderAndBackpressure drives the relay at the transport level:
// numbered frames of every size up to MaxFrameSize, sent as fast as Claim
// allows while the receiver does not read. The sender must stall once both
// rings and the relay hold what they can (the relay blocks, never drops),
// and once the receiver reads, every frame must arrive, whole and in order.
func TestRelayOrderAndBackpressure(t *testing.T) {
	cfg := relayConfig(t)
	r := startRelay(t, cfg)
	ct, st := r.dial(t)
	maxFrame := ct.MaxFrameSize()
	if st.MaxFrameSize() != maxFrame {
		t.Fatalf("MaxFrameSize %d and %d", maxFrame, st.MaxFrameSize())
	}
	const n = 500
	nb := newNumbered(maxFrame)
	go nb.send(ctxT(t), ct, n)

	// Nobody reads st: the sender stalls with a bounded amount in flight.
	stalled := nb.waitStall(t)
	if stalled >= n {
		t.Fatalf("all %d frames sent with no reader: nothing pushed back", n)
	}
	// Two rings, plus the frame the relay holds and the one being claimed.
	if limit := int64(2*cfg.RingSize + 2*maxFrame); nb.sentBytes.Load() > limit {
		t.Fatalf("%d bytes in flight; want at most %d", nb.sentBytes.Load(), limit)
	}
	t.Logf("sender stalled after %d frames, %d bytes", stalled, nb.sentBytes.Load())

	if got, err := nb.receive(st, n); err != errAllReceived {
		t.Fatalf("receive stopped after %d of %d frames: %v", got, n, err)
	}
	if err := <-nb.senderr; err != nil {
		t.Fatal(err)
	}
}

// TestRelayDrainsBeforeClose: a sender closes its transport while the
// relay holds frames it has not forwarded yet (both rings of that direction
// full). The relay must forward them all before it closes the other leg, so
// the receiver gets every committed frame, in order, and only then sees its
// peer gone; also when the receiver sends a frame towards the closed side
// before it reads, which the relay fails to forward.
func TestRelayDrainsBeforeClose(t *testing.T) {
	for _, reply := range []bool{false, true} {
		t.Run(fmt.Sprintf("reply=%v", reply), func(t *testing.T) {
			cfg := relayConfig(t)
			r := startRelay(t, cfg)
			ct, st := r.dial(t)
			nb := newNumbered(st.MaxFrameSize())
			go nb.send(ctxT(t), st, 1<<20)
			nb.waitStall(t)
			st.Close()
			if err := <-nb.senderr; !errors.Is(err, ErrClosed) {
				t.Fatalf("blocked Claim after Close: %v; want ErrClosed", err)
			}
			sent := int(nb.sent.Load())
			if reply {
				time.Sleep(20 * time.Millisecond) // the relay sees st's leg gone
				b, err := ct.Claim(ctxT(t), 8)
				if err != nil {
					t.Fatal(err)
				}
				clear(b)
				if err := ct.Commit(8); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // the relay fails to forward it
			}
			got, err := nb.receive(ct, -1)
			if got != sent || !errors.Is(err, ErrPeerGone) {
				t.Fatalf("received %d of %d committed frames, then %v; want all, then ErrPeerGone", got, sent, err)
			}
			t.Logf("%d frames drained after the sender closed", sent)
		})
	}
}

// TestRelayKilled: the relay child dies with SIGKILL mid-stream; both
// conns in the test process fail promptly, the server's handler is
// cancelled, and nothing is left in the shm directory.
func TestRelayKilled(t *testing.T) {
	cfg := relayConfig(t)
	r := startRelay(t, cfg)
	ct, st := r.dial(t)
	streaming := make(chan context.Context, 1)
	p := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, echoServer(streaming))
	ctx := ctxT(t)
	s, err := p.Client.RequestStream(ctx, rsocket.Payload{Data: []byte("forever")})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	hctx := <-streaming
	start := time.Now()
	r.Kill()
	for {
		if _, err := s.Recv(); err != nil {
			t.Logf("stream failed %v after the kill: %v", time.Since(start), err)
			break
		}
	}
	for _, w := range []struct {
		what string
		done <-chan struct{}
	}{{"client conn", p.Client.Done()}, {"server conn", p.Server.Done()}, {"stream handler", hctx.Done()}} {
		select {
		case <-w.done:
		case <-time.After(time.Second - time.Since(start)):
			t.Fatalf("%s still open 1 s after the relay died", w.what)
		}
	}
	d := time.Since(start)
	t.Logf("both conns failed %v after the kill: client %v; server %v", d, p.Client.Err(), p.Server.Err())
	if !errors.Is(p.Client.Err(), ErrPeerGone) || !errors.Is(p.Server.Err(), ErrPeerGone) {
		t.Errorf("conn errors %v, %v; want both to wrap ErrPeerGone", p.Client.Err(), p.Server.Err())
	}
	if files := dirEntries(t, cfg.SHM.Dir); len(files) != 0 {
		t.Fatalf("left in the shm directory: %v", files)
	}
}
