package shmtransport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/rshm/rshm/ring"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// TestClaimContention: many goroutines send at once through a ring small
// enough to fill, so that one claim holder waits for space while the others
// wait for the claim; some give up on an expired ctx. Every request that
// was not given up is answered with its own payload, and the claim keeps
// working afterwards.
func TestClaimContention(t *testing.T) {
	ct, st := pair(t, 16<<10, WaitDefault)
	r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, echoServer())
	const senders, rounds = 16, 40
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				data := bytes.Repeat([]byte{byte(g)}, 1000+37*i)
				ctx, cancel := context.WithTimeout(ctxT(t), 5*time.Second)
				if g%4 == 3 && i%5 == 0 {
					// Already expired: it must fail with the ctx error,
					// whether waiting for the claim or for an answer.
					cancel()
				}
				p, err := r.Client.RequestResponse(ctx, rsocket.Payload{Data: data})
				expired := ctx.Err() != nil
				cancel()
				switch {
				case err != nil && expired && errors.Is(err, context.Canceled):
				case err != nil:
					errc <- fmt.Errorf("sender %d round %d: %v", g, i, err)
					return
				case !bytes.Equal(p.Data, data):
					errc <- fmt.Errorf("sender %d round %d: got %d bytes, want its own %d", g, i, len(p.Data), len(data))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if p, err := r.Client.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("after")}); err != nil || string(p.Data) != "after" {
		t.Fatalf("after the contention: %q, %v", p.Data, err)
	}
	if s := ct.state.load(); s&(claimBit|waiterMask) != 0 || s&usersMask == 0 {
		t.Errorf("state word %#x after the senders finished: want no claim, no waiter, the receive side's user", s)
	}
}

// holding sends three stream payloads and then blocks until release is
// closed (outside the engine: nothing it does publishes what it sent), and
// counts fire-and-forget requests on the receive goroutine.
type holding struct {
	rsocket.RejectAll
	release chan struct{}
	fnf     chan struct{}
}

func (h *holding) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	for i := range 3 {
		if err := w.Send(ctx, rsocket.Payload{Data: []byte{byte('a' + i)}}); err != nil {
			return err
		}
	}
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return nil
}

func (h *holding) FireAndForgetInline(rsocket.Payload) { h.fnf <- struct{}{} }

// connectHolding connects a client with wait strategy w to a server whose
// handler is a new holding, released when the test ends, and returns the
// client's transport too.
func connectHolding(t *testing.T, w Wait) (*holding, rsockettest.Pair, *Transport) {
	t.Helper()
	h := &holding{release: make(chan struct{}), fnf: make(chan struct{}, 64)}
	ct, st := pair(t, 0, w)
	r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return h, nil
	}})
	t.Cleanup(func() { close(h.release) }) // runs before the connections close
	return h, r, ct
}

// eachProcsAndWait runs f as a subtest for every wait strategy, with one P
// and with the machine's.
func eachProcsAndWait(t *testing.T, f func(t *testing.T, w Wait)) {
	for _, procs := range []int{1, 0} {
		for _, w := range []Wait{WaitSpin, WaitDefault, WaitBackoff, WaitBlock} {
			t.Run(fmt.Sprintf("procs=%d/%v", procs, w), func(t *testing.T) {
				if procs > 0 {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				}
				f(t, w)
			})
		}
	}
}

// TestLaterFramesLeave: frames committed with CommitLater (stream payloads,
// fire-and-forget requests) reach the peer without another frame behind
// them: the sender's burst ends and nothing else is sent, with one P and
// with more, with the spinning strategy (the receive loop polls and
// publishes them) and the blocking one (published at once).
func TestLaterFramesLeave(t *testing.T) {
	eachProcsAndWait(t, func(t *testing.T, w Wait) {
		h, r, _ := connectHolding(t, w)
		ctx := ctxT(t)
		st, err := r.Client.RequestStream(ctx, rsocket.Payload{})
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			var b []byte
			for range 3 {
				p, err := st.Recv()
				if err != nil {
					got <- err.Error()
					return
				}
				b = append(b, p.Data...)
			}
			got <- string(b)
		}()
		select {
		case s := <-got:
			if s != "abc" {
				t.Fatalf("stream: got %q; want abc", s)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the stream's payloads did not arrive while its handler waited")
		}
		for range 5 {
			if err := r.Client.FireAndForget(ctx, rsocket.Payload{Data: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			select {
			case <-h.fnf:
			case <-time.After(2 * time.Second):
				t.Fatalf("%d of 5 fire-and-forget requests arrived", i)
			}
		}
	})
}

// TestParkedLoopIsEnlisted: a fire-and-forget sent while this side's
// receive loop is parked (it waits with WaitBackoff, WaitDefault or
// WaitBlock and nothing comes in) is staged, the loop is enlisted as its
// poller and nudged, and the loop publishes it: every request arrives
// without another frame behind it. Staged with nobody to publish it, the
// request would wait for the next frame.
func TestParkedLoopIsEnlisted(t *testing.T) {
	for _, w := range []Wait{WaitBackoff, WaitDefault, WaitBlock} {
		t.Run(w.String(), func(t *testing.T) {
			h, r, ct := connectHolding(t, w)
			const sends = 20
			before := ct.enlists.Load()
			for range sends {
				rsockettest.Eventually(t, 5*time.Second, "the receive loop to park", func() bool {
					return ct.recvState.Load() == recvRunning && ct.state.load()&recvPollBit == 0
				})
				if err := r.Client.FireAndForget(ctxT(t), rsocket.Payload{Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				select {
				case <-h.fnf:
				case <-time.After(5 * time.Second):
					t.Fatal("a fire-and-forget staged for the parked loop did not arrive")
				}
			}
			// Each send found the loop parked; allow for one that caught it
			// between clearing its bit and parking, after a wake-up.
			if n := ct.enlists.Load() - before; n < sends/2 {
				t.Errorf("the parked loop was enlisted for %d of %d sends", n, sends)
			}
		})
	}
}

// TestStagedBatchBounds: with a poller registered, CommitLater,
// CommitDriven and CommitPolled leave small frames staged up to batchMax-1 of them; the
// batchMax-th frame, or a frame over batchMaxFrame bytes, publishes the
// whole batch (releaseClaim's Flush, which clears pending, staged and
// stagedBit).
func TestStagedBatchBounds(t *testing.T) {
	// Bare transports, no engine: nothing but the test claims, commits or
	// polls (a connection's receive loop publishes what is staged when
	// anything wakes it).
	ct, _ := pair(t, 0, WaitBlock)
	ct.state.startPolling(drivePoll) // as if a requester drove the receive side
	defer ct.state.w.Add(-drivePoll)
	ctx := ctxT(t)
	keepalive := func(size int, commit func(int) error) {
		t.Helper()
		b, err := ct.Claim(ctx, keepaliveSize+size)
		if err != nil {
			t.Fatal(err)
		}
		if err := commit(len(appendKeepalive(b[:0], size))); err != nil {
			t.Fatal(err)
		}
	}
	staged := func() bool { return ct.pending && ct.state.load()&stagedBit != 0 }
	for round, commit := range []func(int) error{ct.CommitLater, ct.CommitDriven, ct.CommitPolled} {
		for i := 1; i < batchMax; i++ {
			keepalive(8, commit)
			if !staged() || ct.staged != i {
				t.Fatalf("round %d: after %d small frames: staged %v, %d counted; want all staged", round, i, staged(), ct.staged)
			}
		}
		keepalive(8, commit)
		if staged() || ct.staged != 0 {
			t.Fatalf("round %d: the %dth small frame left %d staged", round, batchMax, ct.staged)
		}
		keepalive(8, commit)
		if !staged() {
			t.Fatalf("round %d: a small frame after the batch was published at once", round)
		}
		keepalive(batchMaxFrame+1, commit)
		if staged() || ct.staged != 0 {
			t.Fatalf("round %d: a frame of %d bytes left %d staged", round, batchMaxFrame+1, ct.staged)
		}
	}
}

// keepaliveSize is the size of a KEEPALIVE frame without data: the 6-byte
// frame header and the 8-byte last received position.
const keepaliveSize = 6 + 8

// appendKeepalive appends a KEEPALIVE frame (stream 0, no respond flag,
// position 0) with size zero bytes of data: a frame the engine reads and
// ignores, for tests that need frames in the ring.
func appendKeepalive(b []byte, size int) []byte {
	b = append(b, 0, 0, 0, 0, 0x03<<2, 0) // stream 0; type KEEPALIVE in the top 6 bits
	b = append(b, make([]byte, 8+size)...)
	return b
}

// TestPeerGone: the peer's socket closing (as a killed process's does)
// ends every stream on this side with a connection error, fast.
func TestPeerGone(t *testing.T) {
	streaming := make(chan context.Context, 1)
	ct, sr := pair(t, 0, WaitDefault)
	r := rsockettest.ConnectOver(t, ct, sr, rsocket.ClientConfig{}, endlessServer(streaming))
	st, err := r.Client.RequestStream(ctxT(t), rsocket.Payload{Data: []byte("forever")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	hctx := <-streaming
	// Drop the server's socket without telling the rings: what the kernel
	// does for a process killed with SIGKILL.
	start := time.Now()
	sr.conn.Close()
	for {
		if _, err := st.Recv(); err != nil {
			t.Logf("client stream ended after %v: %v", time.Since(start), err)
			break
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("client noticed after %v", d)
	}
	select {
	case <-hctx.Done():
	case <-time.After(time.Second):
		t.Fatal("server handler not cancelled")
	}
	<-r.Client.Done()
	if r.Client.Err() == nil {
		t.Fatal("client conn closed without error")
	}
}

// TestCorruptRing: a peer scribbling over the ring is a connection error,
// not a crash.
func TestCorruptRing(t *testing.T) {
	ct, st := pair(t, 0, WaitDefault)
	r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, echoServer())
	if _, err := r.Client.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	mem := st.in.Mem()
	// With the connection idle, the client's ring has producer counter ==
	// consumer counter (ring layout offsets 128 and 256), and the server
	// polls the record header slot at that position. Publish a record
	// header of an unknown type there and wake the server, as a scribbling
	// peer that publishes would.
	pos := binary.LittleEndian.Uint64(mem[256:])
	if prod := binary.LittleEndian.Uint64(mem[128:]); prod != pos {
		t.Fatalf("ring not idle: producer %d, consumer %d", prod, pos)
	}
	off := ring.HeaderSize + int(pos)&(st.in.Capacity()-1)
	(*atomic.Uint64)(unsafe.Pointer(&mem[off])).Store(16 | 7<<32)
	st.in.Nudge() // as a publish would: the server may be parked
	select {
	case <-r.Server.Done():
	case <-time.After(time.Second):
		t.Fatal("server conn still open over a corrupt ring")
	}
	t.Logf("server: %v", r.Server.Err())
	if !strings.Contains(r.Server.Err().Error(), "corrupt") {
		t.Fatalf("server error %v; want a corrupt ring", r.Server.Err())
	}
}

// endlessServer answers a request-stream with payloads until the stream is
// cancelled, sending the stream's ctx to streaming first.
func endlessServer(streaming chan context.Context) rsocket.ServerConfig {
	return rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return endless{streaming: streaming}, nil
	}}
}

type endless struct {
	rsocket.RejectAll
	streaming chan context.Context
}

func (e endless) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	e.streaming <- ctx
	for {
		if err := w.Send(ctx, rsocket.Payload{Data: p.Data}); err != nil {
			return err
		}
	}
}

// TestAwaitClosesOnError: an error from Options.Await, run by the liveness
// reader first, closes the transport with that error.
func TestAwaitClosesOnError(t *testing.T) {
	refused := errors.New("refused at the last step")
	ct, _ := pairWith(t, 0, Options{Wait: WaitBlock, Await: func(io.Reader) error { return refused }})
	done := make(chan error, 1)
	go func() { done <- ct.Receive(func([]byte) error { return nil }) }()
	if err := <-done; !errors.Is(err, refused) {
		t.Fatalf("Receive: %v; want the Await error", err)
	}
}

// answers answers each request-response with its payload and sends each
// answer's data on got, on the receive goroutine.
type answers struct {
	rsocket.RejectAll
	got chan string
}

func (a *answers) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p, nil
}

func (a *answers) OnResponse(p rsocket.Payload, err error) {
	if err != nil {
		a.got <- err.Error()
		return
	}
	a.got <- string(p.Data)
}

// TestAsyncRequestLeaves: an asynchronous request (CommitPolled) reaches
// the peer and is answered with nothing sent behind it, whatever the wait
// strategy and with one P or more; while the receive loop is parked it is
// published at once, without enlisting the loop (no wake-up of it before
// the request leaves).
func TestAsyncRequestLeaves(t *testing.T) {
	eachProcsAndWait(t, func(t *testing.T, w Wait) {
		a := &answers{got: make(chan string, 1)}
		ct, st := pair(t, 0, w)
		r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return a, nil
		}})
		for i := range 5 {
			parked := w != WaitSpin
			if parked {
				rsockettest.Eventually(t, 5*time.Second, "the receive loop to park", func() bool {
					return ct.recvState.Load() == recvRunning && ct.state.load()&recvPollBit == 0
				})
			}
			before := ct.enlists.Load()
			want := fmt.Sprint("request ", i)
			if err := r.Client.RequestResponseAsync(rsocket.Payload{Data: []byte(want)}, a); err != nil {
				t.Fatal(err)
			}
			if parked && ct.enlists.Load() != before {
				t.Fatalf("request %d enlisted the parked receive loop", i)
			}
			select {
			case got := <-a.got:
				if got != want {
					t.Fatalf("answer %q, want %q", got, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("request %d was not answered", i)
			}
		}
	})
}
