package shmtransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shm"
)

// faultPair is pair (server waiting by default, client with w) whose
// region's file the test keeps open, as a process that opened it while it
// had a name could: truncate makes the file zero bytes long under both
// mappings.
func faultPair(t *testing.T, ringSize int, w Wait) (client, server *Transport, truncate func()) {
	t.Helper()
	cfg := shm.Config{Dir: t.TempDir()}
	sd, err := shm.CreateDuplex(cfg, ringSize)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(sd.Region().Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cd, err := shm.OpenDuplex(cfg, sd.Region().Name())
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.Region().Unlink(); err != nil {
		t.Fatal(err)
	}
	a, b := socketPair(t)
	server = New(sd, sd.ServerToClient(), sd.ClientToServer(), a, nil, Options{})
	client = New(cd, cd.ClientToServer(), cd.ServerToClient(), b, nil, Options{Wait: w})
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server, func() {
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
	}
}

// receive runs tr's receive loop, discarding frames, and returns its
// result.
func receive(tr *Transport) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- tr.Receive(func([]byte) error { return nil }) }()
	return errc
}

func wantFault(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrRegionFault) {
		t.Fatalf("%s: %v; want ErrRegionFault", what, err)
	}
}

// recvResult waits for the result of receive.
func recvResult(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Receive still runs 5 s after the fault")
		return nil
	}
}

// TestFaultOnCommit: the region is truncated while the receive loop is
// parked on its futex word. Publishing a frame faults: Commit returns
// ErrRegionFault, the transport closes with it, and the parked loop, which
// no futex wake can reach any more, is woken and returns it too.
func TestFaultOnCommit(t *testing.T) {
	skipFaultUnderRace(t)
	_, st, truncate := faultPair(t, 64<<10, WaitDefault)
	errc := receive(st)
	rsockettest.Eventually(t, 5*time.Second, "the receive loop to park", func() bool { return st.parkedRecv.Load() != 0 })
	truncate()
	b, err := st.Claim(ctxT(t), 8) // staged in local memory: no fault yet
	if err != nil {
		t.Fatal(err)
	}
	copy(b, "12345678")
	wantFault(t, "Commit", st.Commit(8))
	wantFault(t, "Err", st.Err())
	wantFault(t, "Receive", recvResult(t, errc))
	if _, err := st.Claim(ctxT(t), 8); !errors.Is(err, ErrRegionFault) {
		t.Fatalf("Claim after the fault: %v", err)
	}
}

// TestFaultPeerGone: the peer truncates the region and goes; the liveness
// reader's shutdown faults waking the parked receive loop, which returns
// ErrRegionFault.
func TestFaultPeerGone(t *testing.T) {
	skipFaultUnderRace(t)
	ct, st, truncate := faultPair(t, 64<<10, WaitDefault)
	errc := receive(st)
	rsockettest.Eventually(t, 5*time.Second, "the receive loop to park", func() bool { return st.parkedRecv.Load() != 0 })
	truncate()
	ct.Close()
	wantFault(t, "Receive", recvResult(t, errc))
	if err := st.Err(); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("Err: %v; want ErrPeerGone", err)
	}
}

// TestFaultParkedClaim: a Claim parked for room in a full ring when the
// region is truncated returns ErrRegionFault once the transport closes.
func TestFaultParkedClaim(t *testing.T) {
	skipFaultUnderRace(t)
	_, st, truncate := faultPair(t, 64<<10, WaitDefault)
	errc := make(chan error, 1)
	go func() {
		for {
			b, err := st.Claim(context.Background(), 4000) // in place: larger than a staged frame
			if err != nil {
				errc <- err
				return
			}
			if err := st.Commit(len(b)); err != nil {
				errc <- err
				return
			}
		}
	}()
	rsockettest.Eventually(t, 5*time.Second, "the claim to park", func() bool { return st.parkedClaim.Load() != 0 })
	truncate()
	st.Close()
	wantFault(t, "Claim", recvResult(t, errc))
}

// TestClaimFault: writes into claimed memory fault (the engine's encoder
// recovers them); ClaimFault releases the claim and closes the transport
// with ErrRegionFault.
func TestClaimFault(t *testing.T) {
	skipFaultUnderRace(t)
	_, st, truncate := faultPair(t, 64<<10, WaitDefault)
	b, err := st.Claim(ctxT(t), 4000)
	if err != nil {
		t.Fatal(err)
	}
	truncate()
	func() {
		defer func(old bool) {
			debug.SetPanicOnFault(old)
			wantFault(t, "ClaimFault", st.ClaimFault(recover()))
		}(debug.SetPanicOnFault(true))
		b[0] = 1
		t.Fatal("no fault")
	}()
	wantFault(t, "Err", st.Err())
	if s := st.state.load(); s&claimBit != 0 {
		t.Fatalf("state word %#x: the claim is still held", s)
	}
	if _, err := st.Claim(ctxT(t), 8); !errors.Is(err, ErrRegionFault) {
		t.Fatalf("Claim after the fault: %v", err)
	}
}

// TestPanicNotFault: a panic in Receive's callback that is not a memory
// fault is not taken for one.
func TestPanicNotFault(t *testing.T) {
	ct, st := pair(t, 0, WaitDefault)
	b, err := ct.Claim(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 1
	if err := ct.Commit(1); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("recovered %v; want boom", v)
		}
		if st.faulted.Load() {
			t.Fatal("the transport counts a panic as a fault")
		}
	}()
	_ = st.Receive(func([]byte) error { panic("boom") })
}

// TestEncoderFault: the engine encodes a large frame straight into the
// claimed ring memory of a truncated region. Its send path recovers the
// fault (ClaimFault): the request fails, and the connection ends with
// ErrRegionFault, the peer's too, instead of the process.
func TestEncoderFault(t *testing.T) {
	skipFaultUnderRace(t)
	ct, st, truncate := faultPair(t, 64<<10, WaitDefault)
	r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, echoServer())
	if _, err := r.Client.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// Both receive loops parked: nothing but the encoder touches the
	// region after the truncation.
	rsockettest.Eventually(t, 5*time.Second, "both receive loops to park", func() bool {
		return ct.parkedRecv.Load() != 0 && st.parkedRecv.Load() != 0
	})
	truncate()
	big := make([]byte, 4000) // written in place: larger than a staged frame
	if _, err := r.Client.RequestResponse(ctxT(t), rsocket.Payload{Data: big}); err == nil {
		t.Fatal("request over a truncated region succeeded")
	}
	for _, c := range []*rsocket.Conn{r.Client, r.Server} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection still open 5 s after the fault")
		}
		wantFault(t, "connection", c.Err())
	}
}

// TestErrorsReadAsSocketErrors: the transport's end-of-connection errors
// match the socket errors of the same state, so rsocket.IsPeerGone and
// code written for TCP read them.
func TestErrorsReadAsSocketErrors(t *testing.T) {
	for _, err := range []error{ErrPeerGone, ErrClosed, ErrRegionFault, fmt.Errorf("%w: EOF", ErrPeerGone)} {
		if !rsocket.IsPeerGone(err) {
			t.Errorf("rsocket.IsPeerGone(%v) = false", err)
		}
	}
	if !errors.Is(ErrClosed, net.ErrClosed) || !errors.Is(ErrPeerGone, io.ErrUnexpectedEOF) || errors.Is(ErrPeerGone, net.ErrClosed) {
		t.Error("the sentinels do not match the socket errors they stand for")
	}
}

// loanAfter is a handler whose request-stream waits for start, then
// lends a payload too large to be staged (written in place in the ring)
// and reports what Loan and Send returned.
type loanAfter struct {
	rsocket.RejectAll
	start chan struct{}
	errc  chan error
}

func (h *loanAfter) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	<-h.start
	l, err := w.Loan(ctx, 4000)
	if err == nil {
		clear(l.Data)
		err = l.Send()
	}
	h.errc <- err
	return err
}

// TestLoanFault: a responder loans ring memory of a truncated region. The
// engine's claim path recovers the fault (the transport leaves the guard
// to it, SetCallerGuards): the loan fails with ErrRegionFault and both
// connections end, not the process.
func TestLoanFault(t *testing.T) {
	skipFaultUnderRace(t)
	ct, st, truncate := faultPair(t, 64<<10, WaitDefault)
	h := &loanAfter{start: make(chan struct{}), errc: make(chan error, 1)}
	r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
	})
	if !ct.callerGuards.Load() || !st.callerGuards.Load() {
		t.Fatal("the engine did not take over the claim methods' fault guard")
	}
	if _, err := r.Client.RequestStream(ctxT(t), rsocket.Payload{}); err != nil {
		t.Fatal(err)
	}
	rsockettest.Eventually(t, 5*time.Second, "both receive loops to park", func() bool {
		return ct.parkedRecv.Load() != 0 && st.parkedRecv.Load() != 0
	})
	truncate()
	close(h.start)
	wantFault(t, "Loan", recvResult(t, h.errc))
	for _, c := range []*rsocket.Conn{r.Client, r.Server} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection still open 5 s after the fault")
		}
		wantFault(t, "connection", c.Err())
	}
}
