package rsocket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// inlineEcho answers request-response on the receive goroutine.
type inlineEcho struct{ rsocket.RejectAll }

func (inlineEcho) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) { r.Respond(p) }

type countHandler struct{ n int }

func (h *countHandler) OnResponse(p rsocket.Payload, err error) {
	if err == nil && len(p.Data) == 5 {
		h.n++
	}
}

func pipePair(t *testing.T, h rsocket.Handler) rsockettest.Pair {
	ct, st := pipeDial(t)
	return rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
	})
}

// TestAsyncRequestResponseAllocs: the asynchronous request path over the
// pipe, with an inline responder, allocates nothing at steady state (both
// ends count: AllocsPerRun sees every goroutine).
func TestAsyncRequestResponseAllocs(t *testing.T) {
	if testing.Short() && raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	p := pipePair(t, inlineEcho{})
	h := &countHandler{}
	data := []byte("hello")
	done := make(chan struct{}, 1)
	w := waiter{h: h, done: done}
	run := func() {
		if err := p.Client.RequestResponseAsync(rsocket.Payload{Data: data}, &w); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	checkAllocs(t, "RequestResponseAsync", 0, run)
	if h.n < 1100 {
		t.Errorf("%d responses, want 1100", h.n)
	}
}

// checkAllocs runs run 100 times to reach a steady state (1101 times in
// all), then fails t when a call allocates more than max times on average;
// AllocsPerRun counts every goroutine, so both ends of the pipe count.
func checkAllocs(t *testing.T, name string, max float64, run func()) {
	t.Helper()
	for range 100 {
		run()
	}
	allocs := testing.AllocsPerRun(1000, run)
	t.Logf("%s: %.2f allocs/op", name, allocs)
	if allocs > max {
		t.Errorf("%s: %.2f allocs per request, want <= %v", name, allocs, max)
	}
}

type waiter struct {
	h    *countHandler
	done chan struct{}
}

func (w *waiter) OnResponse(p rsocket.Payload, err error) {
	w.h.OnResponse(p, err)
	w.done <- struct{}{}
}

// TestRequestResponseAllocs: the blocking call allocates once (the copy of
// the response that the caller owns).
func TestRequestResponseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	p := pipePair(t, inlineEcho{})
	ctx := context.Background()
	req := rsocket.Payload{Data: []byte("hello")}
	checkAllocs(t, "RequestResponse", 1, func() {
		if _, err := p.Client.RequestResponse(ctx, req); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRequestResponseIntoAllocs: with a buffer as large as the answer the
// blocking call allocates nothing, and the answer is in the buffer.
func TestRequestResponseIntoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	p := pipePair(t, inlineEcho{})
	ctx := context.Background()
	req := rsocket.Payload{Metadata: []byte("md"), Data: []byte("hello")}
	buf := make([]byte, 64)
	var r rsocket.Payload
	run := func() {
		var err error
		if r, err = p.Client.RequestResponseInto(ctx, req, buf); err != nil {
			t.Fatal(err)
		}
	}
	checkAllocs(t, "RequestResponseInto", 0, run)
	if string(r.Metadata) != "md" || string(r.Data) != "hello" || &r.Metadata[0] != &buf[0] {
		t.Errorf("answer %q/%q, in the buffer: %v; want md/hello in it", r.Metadata, r.Data, &r.Metadata[0] == &buf[0])
	}
}

// TestRequestResponseIntoCancelLeavesBuffer: a request whose ctx ended has
// returned, and its buffer is the caller's again: an answer to it that was
// already on its way (sent by a raw peer after the CANCEL) never lands in
// it, and the next request's answer still does.
func TestRequestResponseIntoCancelLeavesBuffer(t *testing.T) {
	r, c := rawClient(t, rsocket.ClientConfig{})
	buf := bytes.Repeat([]byte{'#'}, 32)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.RequestResponseInto(ctx, rsocket.Payload{Data: []byte("slow")}, buf)
		errc <- err
	}()
	req := r.next(0)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v, want context.Canceled", err)
	}
	if f := r.next(0); f.Type != wire.TypeCancel || f.StreamID != req.StreamID {
		t.Fatalf("after the cancel: %v on stream %d, want CANCEL on %d", f.Type, f.StreamID, req.StreamID)
	}
	r.send(wire.AppendPayload(nil, req.StreamID, wire.FlagNext|wire.FlagComplete, nil, []byte("late answer")))
	next := make(chan rsocket.Payload, 1)
	go func() {
		p, err := c.RequestResponseInto(context.Background(), rsocket.Payload{Data: []byte("next")}, make([]byte, 8))
		if err != nil {
			t.Error(err)
		}
		next <- p
	}()
	f := r.next(0)
	r.send(wire.AppendPayload(nil, f.StreamID, wire.FlagNext|wire.FlagComplete, nil, []byte("next")))
	if p := <-next; string(p.Data) != "next" {
		t.Fatalf("next request's answer %q", p.Data)
	}
	if !bytes.Equal(buf, bytes.Repeat([]byte{'#'}, 32)) {
		t.Fatalf("the cancelled request's buffer was written after it returned: %q", buf)
	}
}

// inlineCount counts fire-and-forget requests on the receive goroutine.
type inlineCount struct {
	rsocket.RejectAll
	n atomic.Int64
}

func (h *inlineCount) FireAndForgetInline(rsocket.Payload) { h.n.Add(1) }

// TestFireAndForgetAllocs: a fire-and-forget allocates nothing at steady
// state, on either end when the responder handles it inline.
func TestFireAndForgetAllocs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if raceEnabled {
			t.Skip("allocation counts differ under -race")
		}
		h := &inlineCount{}
		p := pipePair(t, h)
		ctx := context.Background()
		req := rsocket.Payload{Data: []byte("hello")}
		run := func() {
			if err := p.Client.FireAndForget(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		checkAllocs(t, "FireAndForget", 0, run)
		synctest.Wait() // the server has handled all that arrived
		if n := h.n.Load(); n != 1101 {
			t.Errorf("%d requests arrived, want 1101", n)
		}
	})
}

// TestRecvBufferReuse shows the ownership rule: a payload from Recv is a
// view that the next Recv may overwrite; Clone keeps it.
func TestRecvBufferReuse(t *testing.T) {
	// A fixed window: one sized by bytes grows to thousands of tiny
	// payloads, and a reader that falls behind would queue the whole
	// stream without wrapping.
	const window = 8
	ct, st := pipeDial(t)
	p := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{Prefetch: window}, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return &rsockettest.Echo{}, nil
		},
	})
	// Longer than the window, so that the queue wraps.
	s, err := p.Client.RequestStream(context.Background(), rsocket.Payload{Metadata: []byte(fmt.Sprint(8 * window)), Data: []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	kept := first.Clone()
	view := first.Data
	reused := false
	for {
		q, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if &q.Data[0] == &view[0] {
			reused = true
		}
	}
	if string(kept.Data) != "v-0" {
		t.Errorf("clone changed: %q", kept.Data)
	}
	if !reused || string(view) == "v-0" {
		t.Errorf("expected the view's buffer to be reused (reused %v, view now %q)", reused, view)
	}
}

// TestNoGoroutineLeak opens and closes many connections with traffic and
// open streams; afterwards no rsocket goroutine is left.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := range 20 {
		for _, dial := range []rsockettest.Dial{pipeDial, tcpDial} {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				ct, st := dial(t)
				p := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{Handler: &rsockettest.Echo{}}, rsocket.ServerConfig{
					Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
						return &rsockettest.Echo{}, nil
					},
				})
				ctx := context.Background()
				if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				// Leave a stream and a channel open.
				s, _ := p.Client.RequestStream(ctx, rsocket.Payload{Metadata: []byte("1000")})
				s.Recv()
				ch, _ := p.Client.RequestChannel(ctx, rsocket.Payload{})
				ch.Recv()
				if i%2 == 0 {
					p.Client.Close()
				} else {
					p.Server.Close()
				}
				<-p.Client.Done()
				<-p.Server.Done()
			})
		}
	}
	// Goroutines beyond those there were before are allowed if none is
	// rsocket's (the runtime's, the testing package's).
	var stacks []byte
	ended := false
	defer func() {
		if !ended {
			t.Logf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), stacks)
		}
	}()
	rsockettest.Eventually(t, 3*time.Second, "the connections' goroutines to end", func() bool {
		if runtime.NumGoroutine() <= before {
			return true
		}
		stacks = make([]byte, 1<<20)
		stacks = stacks[:runtime.Stack(stacks, true)]
		return !bytes.Contains(stacks, []byte("rsocket."))
	})
	ended = true
}

// TestTCPListener runs DialTCP against ListenTCP with Accept and Serve.
func TestTCPListener(t *testing.T) {
	cfg := rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return &rsockettest.Echo{}, nil
	}}
	l, err := rsocket.ListenTCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	accepted := make(chan *rsocket.Conn, 1)
	go func() {
		c, err := l.Accept(ctx)
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := rsocket.DialTCP(ctx, l.Addr().String(), rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("tcp")})
	if err != nil || string(got.Data) != "tcp" {
		t.Fatalf("%q %v", got.Data, err)
	}
	sc := <-accepted
	defer sc.Close()

	// Serve until cancelled.
	l2, err := rsocket.ListenTCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- l2.Serve(sctx) }()
	for range 3 {
		c, err := rsocket.DialTCP(ctx, l2.Addr().String(), rsocket.ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	scancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve: %v", err)
	}
}

// TestTransportFrameLimit: with no MTU configured, messages larger than the
// transport's MaxFrameSize are fragmented to fit it.
func TestTransportFrameLimit(t *testing.T) {
	ct, st := rsocket.Pipe(rsocket.PipeConfig{MaxFrameSize: 128})
	t.Cleanup(func() { ct.Close(); st.Close() })
	p := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return &rsockettest.Echo{}, nil
		},
	})
	in := []byte(strings.Repeat("0123456789", 100))
	got, err := p.Client.RequestResponse(context.Background(), rsocket.Payload{Metadata: in[:300], Data: in})
	if err != nil || string(got.Data) != string(in) || string(got.Metadata) != string(in[:300]) {
		t.Fatalf("%d/%d bytes, %v", len(got.Metadata), len(got.Data), err)
	}
}

// TestRecvAfterClose: once the reader closes its stream, Recv returns an
// error at once, not the payloads it had already taken from the queue.
// A stream that completed while its payloads were still queued: Close drops
// them too, and Recv reports the end (TestRecvAfterClose failed under -race
// when the whole stream had arrived before Close).
func TestRecvAfterCloseOfCompletedStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipePair(t, &rsockettest.Echo{})
		s, err := p.Client.RequestStream(context.Background(), rsocket.Payload{Metadata: []byte("5"), Data: []byte("v")})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // all 5 payloads and the completion arrive
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if q, err := s.Recv(); err == nil {
			t.Fatalf("Recv after Close returned %q, want an error", q.Data)
		}
	})
}

func TestRecvAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := pipePair(t, &rsockettest.Echo{})
		s, err := p.Client.RequestStream(context.Background(), rsocket.Payload{Metadata: []byte(fmt.Sprint(4 * rsocket.DefaultPrefetch)), Data: []byte("v")})
		if err != nil {
			t.Fatal(err)
		}
		// Wait until the window's payloads are queued, so that Recv takes
		// a batch.
		synctest.Wait()
		for range 3 {
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		if q, err := s.Recv(); err == nil {
			t.Fatalf("Recv after Close returned %q, want an error", q.Data)
		}
	})
}

// TestListenerAcceptCtx: an Accept whose ctx ends leaves the listener open
// for the next Accept.
func TestListenerAcceptCtx(t *testing.T) {
	l, err := rsocket.ListenTCP("127.0.0.1:0", rsocket.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := l.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept whose ctx ended: %v", err)
	}
	go func() {
		c, err := rsocket.DialTCP(t.Context(), l.Addr().String(), rsocket.ClientConfig{})
		if err == nil {
			defer c.Close()
			<-t.Context().Done()
		}
	}()
	s, err := l.Accept(t.Context())
	if err != nil {
		t.Fatalf("Accept after an Accept's ctx ended: %v", err)
	}
	s.Close()
}

// TestCancelWhileAnswered: requests cancelled as their answers arrive. The
// receive side may still hold a cancelled request's record when the
// requester recycles it for its next request (a new id): an answer must
// complete only the request of the frame's stream id (run with -race).
func TestCancelWhileAnswered(t *testing.T) {
	p := pipePair(t, inlineEcho{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				ctx, cancel := context.WithCancel(t.Context())
				if (i+g)%2 == 0 {
					go cancel() // races the answer
				}
				data := []byte{byte(g), byte(i)}
				resp, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: data})
				cancel()
				if err == nil && string(resp.Data) != string(data) {
					t.Errorf("request %d/%d got the answer %v", g, i, resp.Data)
					return
				}
			}
		}()
	}
	wg.Wait()
}
