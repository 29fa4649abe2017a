package rsocket_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// loaner streams count payloads of size bytes, each byte the payload's
// index, built in loans; every third loan is first aborted and taken again.
// Responses are answered from a loan too.
type loaner struct {
	rsocket.RejectAll
	size int
}

func (h *loaner) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	count, _ := strconv.Atoi(string(p.Data))
	for i := range count {
		if i%3 == 2 {
			l, err := w.Loan(ctx, h.size)
			if err != nil {
				return err
			}
			l.Abort()
			l.Abort() // a second Abort does nothing
		}
		l, err := w.Loan(ctx, h.size)
		if err != nil {
			return err
		}
		for j := range l.Data {
			l.Data[j] = byte(i)
		}
		if err := l.Send(); err != nil {
			return err
		}
		if err := l.Send(); !errors.Is(err, rsocket.ErrLoanDone) {
			return errors.New("a second Send did not fail with ErrLoanDone")
		}
	}
	return nil
}

func (h *loaner) RequestResponse(context.Context, rsocket.Payload) (rsocket.Payload, error) {
	return rsocket.Payload{}, errors.New("answered inline")
}

func (h *loaner) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) {
	l, err := r.Loan(len(p.Data))
	if err != nil {
		_ = r.Fail(err)
		return
	}
	copy(l.Data, p.Data)
	_ = l.Send()
}

// TestLoan: payloads built in loans arrive whole and in order, in frames
// the transport lends (small ones) and in buffers of their own that are
// fragmented (larger than the MTU); aborted loans give their credit back
// (the window is smaller than the stream); responses can be loaned too.
func TestLoan(t *testing.T) {
	for _, size := range []int{0, 64, 5000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			ct, st := pipeDial(t)
			p := connectMTU(t, ct, st, &loaner{size: size}, 1024)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			const count = 100
			s, err := p.Client.RequestStream(ctx, rsocket.Payload{Data: []byte(strconv.Itoa(count))})
			if err != nil {
				t.Fatal(err)
			}
			for i := range count {
				got, err := s.Recv()
				if err != nil {
					t.Fatalf("payload %d: %v", i, err)
				}
				if want := bytes.Repeat([]byte{byte(i)}, size); !bytes.Equal(got.Data, want) {
					t.Fatalf("payload %d: %d bytes, not %d bytes of %d", i, len(got.Data), size, i)
				}
			}
			if _, err := s.Recv(); err == nil {
				t.Fatal("the stream did not end")
			}
			req := bytes.Repeat([]byte("r"), size)
			got, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: req})
			if err != nil || !bytes.Equal(got.Data, req) {
				t.Fatalf("loaned response: %d bytes, %v", len(got.Data), err)
			}
		})
	}
}

// TestLoanAllocs: a stream payload sent from a loan allocates nothing.
func TestLoanAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	sent := make(chan *rsocket.StreamWriter, 1)
	release := make(chan struct{})
	h := &writerHandler{sent: sent, release: release}
	p := pipePair(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.Client.RequestStream(ctx, rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	defer close(release)
	w := <-sent
	checkAllocs(t, "loan", 0, func() {
		l, err := w.Loan(ctx, 64)
		if err != nil {
			t.Fatal(err)
		}
		l.Data[0] = 1
		if err := l.Send(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	})
}

// writerHandler hands its stream's writer to the test and holds the
// stream open until released.
type writerHandler struct {
	rsocket.RejectAll
	sent    chan *rsocket.StreamWriter
	release chan struct{}
}

func (h *writerHandler) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	h.sent <- w
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return nil
}

// connectMTU connects a client and a server with handler h over ct and st,
// both sides fragmenting at mtu, the client's streams with a window of 4
// (so that a credit a loan loses stalls the stream).
func connectMTU(t *testing.T, ct, st rsocket.Transport, h rsocket.Handler, mtu int) rsockettest.Pair {
	t.Helper()
	return rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{MTU: mtu, Prefetch: 4}, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
		MTU:      mtu,
	})
}

// TestFragmentedRequestBytes: a request-response whose request and
// response come in fragments allocates no reassembly buffer at steady
// state: the responder reassembles into the buffer kept from the last
// fragmented request, the requester into its recycled record's, and the
// answer is copied into the caller's buffer. (The responder's stream
// record is still allocated per fragmented request: a few hundred bytes.)
func TestFragmentedRequestBytes(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	ct, st := pipeDial(t)
	p := connectMTU(t, ct, st, inlineEcho{}, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := rsocket.Payload{Data: bytes.Repeat([]byte("f"), 64<<10)}
	buf := make([]byte, 0, 64<<10)
	rr := func() {
		got, err := p.Client.RequestResponseInto(ctx, req, buf)
		if err != nil || len(got.Data) != len(req.Data) {
			t.Fatalf("%d bytes, %v", len(got.Data), err)
		}
	}
	for range 10 {
		rr()
	}
	const n = 200
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range n {
		rr()
	}
	runtime.ReadMemStats(&m1)
	if per := (m1.TotalAlloc - m0.TotalAlloc) / n; per > 4<<10 {
		t.Errorf("%d bytes allocated per 64 KiB request-response in fragments; want under 4 KiB", per)
	}
}
