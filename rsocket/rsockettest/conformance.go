// Package rsockettest holds the transport-independent conformance tests of
// the rsocket engine, so every Transport (in-process pipe, TCP, shared
// memory) runs the same table.
package rsockettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Dial returns the two ends of a fresh transport: the client's and the
// server's. The test closes both.
type Dial func(t testing.TB) (client, server rsocket.Transport)

// RunConformance runs every interaction-model test over transports from
// dial. Its tests synchronise on events (channels, Done, frames seen),
// never on sleeps, so they hold on any transport at any speed.
func RunConformance(t *testing.T, dial Dial) {
	for _, tc := range conformance {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, dial) })
	}
}

// RunConformanceSynctest is RunConformance with every test in its own
// testing/synctest bubble, on the bubble's fake clock: the durations of the
// timing tests (keepalive, graceful close) are then exact and cost no real
// time. Only for transports whose goroutines block on channels, such as
// rsocket.Pipe: a goroutine blocked in a system call (a socket read, a
// futex) is not durably blocked, and the clock would never move.
func RunConformanceSynctest(t *testing.T, dial Dial) {
	for _, tc := range conformance {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { tc.fn(t, dial) })
		})
	}
}

var conformance = []struct {
	name string
	fn   func(*testing.T, Dial)
}{
	{"RequestResponse", testRequestResponse},
	{"FireAndForget", testFireAndForget},
	{"MetadataPush", testMetadataPush},
	{"RequestStream", testRequestStream},
	{"RequestChannel", testRequestChannel},
	{"Errors", testErrors},
	{"CancelFromRequester", testCancelFromRequester},
	{"CancelFromResponder", testCancelFromResponder},
	{"RequestNStrict", testRequestNStrict},
	{"Fragmentation", testFragmentation},
	{"Batches", testBatches},
	{"ReassemblyLimit", testReassemblyLimit},
	{"LargePayloads", testLargePayloads},
	{"KeepaliveTimeout", testKeepaliveTimeout},
	{"GracefulClose", testGracefulClose},
	{"SetupRejected", testSetupRejected},
	{"ServerCallsClient", testServerCallsClient},
	{"ConnectionFailureEndsStreams", testConnFailure},
}

// Pair is a connected client and server.
type Pair struct {
	Client, Server *rsocket.Conn
}

// Connect runs Server and Client over a fresh transport pair and waits for
// the setup to complete. Both conns are closed at the end of the test.
func Connect(t testing.TB, dial Dial, ccfg rsocket.ClientConfig, scfg rsocket.ServerConfig) Pair {
	t.Helper()
	ct, st := dial(t)
	return ConnectOver(t, ct, st, ccfg, scfg)
}

// ConnectOver is Connect over given transports.
func ConnectOver(t testing.TB, ct, st rsocket.Transport, ccfg rsocket.ClientConfig, scfg rsocket.ServerConfig) Pair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type res struct {
		c   *rsocket.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := rsocket.Server(ctx, st, scfg)
		ch <- res{c, err}
	}()
	cc, err := rsocket.Client(ctx, ct, ccfg)
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	r := <-ch
	if r.err != nil {
		cc.Close()
		t.Fatalf("Server: %v", r.err)
	}
	t.Cleanup(func() {
		cc.Close()
		r.c.Close()
	})
	return Pair{Client: cc, Server: r.c}
}

// serve returns a ServerConfig answering with h.
func serve(h rsocket.Handler) rsocket.ServerConfig {
	return rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return h, nil
	}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Echo answers every model by echoing: RR returns the request, a stream
// sends the request's data back as many times as the decimal number in its
// metadata (default 3), a channel echoes each inbound payload.
type Echo struct {
	FNF  chan rsocket.Payload
	Push chan []byte
}

func (e *Echo) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p, nil
}

func (e *Echo) FireAndForget(_ context.Context, p rsocket.Payload) {
	if e.FNF != nil {
		e.FNF <- p
	}
}

func (e *Echo) MetadataPush(_ context.Context, md []byte) {
	if e.Push != nil {
		e.Push <- md
	}
}

func (e *Echo) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	n := 3
	if p.Metadata != nil {
		fmt.Sscanf(string(p.Metadata), "%d", &n)
	}
	for i := range n {
		if err := w.Send(ctx, rsocket.Payload{Data: fmt.Appendf(nil, "%s-%d", p.Data, i)}); err != nil {
			return err
		}
	}
	return nil
}

func (e *Echo) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	if err := ch.Send(ctx, p); err != nil {
		return err
	}
	for q, err := range ch.All() {
		if err != nil {
			return err
		}
		if err := ch.Send(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func testRequestResponse(t *testing.T, dial Dial) {
	p := Connect(t, dial, rsocket.ClientConfig{}, serve(&Echo{}))
	ctx := ctxT(t)
	cases := []rsocket.Payload{
		{Data: []byte("hello")},
		{Metadata: []byte("md"), Data: []byte("data")},
		{Metadata: []byte{}, Data: []byte("empty md")},
		{},
	}
	// rr is RequestResponse, or RequestResponseInto with buf when buf is
	// not nil.
	rr := func(in rsocket.Payload, buf []byte) (rsocket.Payload, error) {
		if buf == nil {
			return p.Client.RequestResponse(ctx, in)
		}
		return p.Client.RequestResponseInto(ctx, in, buf)
	}
	for i, in := range cases {
		for _, buf := range [][]byte{nil, make([]byte, 0, 64)} {
			got, err := rr(in, buf)
			if err != nil {
				t.Fatalf("%d: %v", i, err)
			}
			if !bytes.Equal(got.Data, in.Data) || !bytes.Equal(got.Metadata, in.Metadata) || got.HasMetadata() != in.HasMetadata() {
				t.Errorf("%d (into a buffer: %v): got %q/%q (md %v), want %q/%q (md %v)", i, buf != nil, got.Metadata, got.Data, got.HasMetadata(), in.Metadata, in.Data, in.HasMetadata())
			}
		}
	}
	// Concurrent requests share the connection; every other requester
	// has its answers copied into its own buffer.
	var wg sync.WaitGroup
	var bad atomic.Int32
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			if g%2 == 1 {
				buf = make([]byte, 16)
			}
			for i := range 50 {
				want := fmt.Sprintf("g%d-%d", g, i)
				got, err := rr(rsocket.Payload{Data: []byte(want)}, buf)
				if err != nil || string(got.Data) != want {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d concurrent requests failed", bad.Load())
	}
}

func testFireAndForget(t *testing.T, dial Dial) {
	e := &Echo{FNF: make(chan rsocket.Payload, 1)}
	p := Connect(t, dial, rsocket.ClientConfig{}, serve(e))
	ctx := ctxT(t)
	if err := p.Client.FireAndForget(ctx, rsocket.Payload{Metadata: []byte("m"), Data: []byte("fnf")}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-e.FNF:
		if string(got.Data) != "fnf" || string(got.Metadata) != "m" {
			t.Errorf("got %q/%q", got.Metadata, got.Data)
		}
	case <-ctx.Done():
		t.Fatal("fire-and-forget not delivered")
	}
}

func testMetadataPush(t *testing.T, dial Dial) {
	e := &Echo{Push: make(chan []byte, 1)}
	p := Connect(t, dial, rsocket.ClientConfig{}, serve(e))
	ctx := ctxT(t)
	if err := p.Client.MetadataPush(ctx, []byte("push")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-e.Push:
		if string(got) != "push" {
			t.Errorf("got %q", got)
		}
	case <-ctx.Done():
		t.Fatal("metadata push not delivered")
	}
}

func testRequestStream(t *testing.T, dial Dial) {
	p := Connect(t, dial, rsocket.ClientConfig{Prefetch: 8}, serve(&Echo{}))
	ctx := ctxT(t)
	s, err := p.Client.RequestStream(ctx, rsocket.Payload{Metadata: []byte("100"), Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		got, err := s.Recv()
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if want := fmt.Sprintf("x-%d", i); string(got.Data) != want {
			t.Fatalf("item %d: got %q, want %q", i, got.Data, want)
		}
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("after last item: got %v, want io.EOF", err)
	}
	// The iterator form.
	s, err = p.Client.RequestStream(ctx, rsocket.Payload{Data: []byte("y")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for q, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(q.Data))
	}
	if strings.Join(got, ",") != "y-0,y-1,y-2" {
		t.Errorf("All: got %v", got)
	}
	// An empty stream completes at once.
	s, _ = p.Client.RequestStream(ctx, rsocket.Payload{Metadata: []byte("0")})
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("empty stream: got %v, want io.EOF", err)
	}
}

func testRequestChannel(t *testing.T, dial Dial) {
	p := Connect(t, dial, rsocket.ClientConfig{Prefetch: 4}, rsocket.ServerConfig{Prefetch: 4, Acceptor: serve(&Echo{}).Acceptor})
	ctx := ctxT(t)
	ch, err := p.Client.RequestChannel(ctx, rsocket.Payload{Data: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if err := ch.Send(ctx, rsocket.Payload{Data: fmt.Appendf(nil, "m%d", i)}); err != nil {
				errc <- err
				return
			}
		}
		errc <- ch.CloseSend()
	}()
	want := []string{"first"}
	for i := range n {
		want = append(want, fmt.Sprintf("m%d", i))
	}
	var got []string
	for q, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(q.Data))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := ch.Send(ctx, rsocket.Payload{}); !errors.Is(err, rsocket.ErrStreamClosed) {
		t.Errorf("Send after CloseSend: got %v", err)
	}
}

type failing struct {
	rsocket.RejectAll
	err error
}

func (f failing) RequestResponse(context.Context, rsocket.Payload) (rsocket.Payload, error) {
	return rsocket.Payload{}, f.err
}

func (f failing) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	if err := w.Send(ctx, rsocket.Payload{Data: []byte("one")}); err != nil {
		return err
	}
	return f.err
}

func testErrors(t *testing.T, dial Dial) {
	tests := []struct {
		h    rsocket.Handler
		code rsocket.ErrorCode
		msg  string
	}{
		{failing{err: errors.New("boom")}, rsocket.CodeApplicationError, "boom"},
		{failing{err: &rsocket.Error{Code: rsocket.CodeInvalid, Message: "bad"}}, rsocket.CodeInvalid, "bad"},
		{rsocket.RejectAll{}, rsocket.CodeRejected, "not implemented"},
	}
	for i, tc := range tests {
		p := Connect(t, dial, rsocket.ClientConfig{}, serve(tc.h))
		ctx := ctxT(t)
		_, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("q")})
		var e *rsocket.Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.msg {
			t.Errorf("%d: RequestResponse: got %v, want code %v message %q", i, err, tc.code, tc.msg)
		}
		s, err := p.Client.RequestStream(ctx, rsocket.Payload{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tc.h.(failing); ok {
			if q, err := s.Recv(); err != nil || string(q.Data) != "one" {
				t.Errorf("%d: first item: %q %v", i, q.Data, err)
			}
		}
		if _, err := s.Recv(); !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("%d: stream: got %v, want code %v", i, err, tc.code)
		}
		// The connection survives stream errors.
		if p.Client.Err() != nil {
			t.Errorf("%d: connection closed: %v", i, p.Client.Err())
		}
	}
}

// blocking waits in every handler until its ctx is cancelled and reports it.
type blocking struct {
	rsocket.RejectAll
	started, cancelled chan struct{}
}

func newBlocking() *blocking {
	return &blocking{started: make(chan struct{}, 4), cancelled: make(chan struct{}, 4)}
}

func (b *blocking) RequestResponse(ctx context.Context, _ rsocket.Payload) (rsocket.Payload, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	b.cancelled <- struct{}{}
	return rsocket.Payload{}, ctx.Err()
}

func (b *blocking) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	b.started <- struct{}{}
	for {
		if err := w.Send(ctx, rsocket.Payload{Data: []byte("tick")}); err != nil {
			b.cancelled <- struct{}{}
			return err
		}
	}
}

func wait(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func testCancelFromRequester(t *testing.T, dial Dial) {
	b := newBlocking()
	p := Connect(t, dial, rsocket.ClientConfig{Prefetch: 2}, serve(b))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Client.RequestResponse(ctx, rsocket.Payload{})
		errc <- err
	}()
	wait(t, b.started, "handler start")
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("RequestResponse: got %v, want context.Canceled", err)
	}
	wait(t, b.cancelled, "handler ctx cancelled by CANCEL")

	// A stream: Close sends CANCEL, the handler's Send fails.
	s, err := p.Client.RequestStream(context.Background(), rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, b.started, "stream handler start")
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	wait(t, b.cancelled, "stream handler cancelled")
	if _, err := s.Recv(); !errors.Is(err, context.Canceled) {
		t.Errorf("Recv after Close: got %v", err)
	}
	// A stream whose ctx ends.
	sctx, scancel := context.WithCancel(context.Background())
	s, err = p.Client.RequestStream(sctx, rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, b.started, "stream handler start")
	scancel()
	wait(t, b.cancelled, "stream handler cancelled by ctx")
	for {
		if _, err := s.Recv(); err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Recv after ctx cancel: got %v", err)
			}
			break
		}
	}
}

// takeOne reads one channel payload, then returns, cancelling the rest.
type takeOne struct{ rsocket.RejectAll }

func (takeOne) RequestChannel(ctx context.Context, _ rsocket.Payload, ch *rsocket.Channel) error {
	if _, err := ch.Recv(); err != nil {
		return err
	}
	return nil
}

func testCancelFromResponder(t *testing.T, dial Dial) {
	p := Connect(t, dial, rsocket.ClientConfig{}, serve(takeOne{}))
	ctx := ctxT(t)
	ch, err := p.Client.RequestChannel(ctx, rsocket.Payload{Data: []byte("0")})
	if err != nil {
		t.Fatal(err)
	}
	var sendErr error
	for i := 0; i < 10000 && sendErr == nil; i++ {
		sendErr = ch.Send(ctx, rsocket.Payload{Data: []byte("x")})
	}
	var e *rsocket.Error
	if !errors.As(sendErr, &e) || e.Code != rsocket.CodeCanceled {
		t.Errorf("Send after responder cancel: got %v, want CANCELED", sendErr)
	}
	if _, err := ch.Recv(); err != io.EOF {
		t.Errorf("Recv: got %v, want io.EOF (responder completed)", err)
	}
}

// overrun sends as fast as the writer lets it.
type overrun struct{ rsocket.RejectAll }

func (overrun) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	for i := range 200 {
		if err := w.Send(ctx, rsocket.Payload{Data: fmt.Appendf(nil, "%d", i)}); err != nil {
			return err
		}
	}
	return nil
}

func testRequestNStrict(t *testing.T, dial Dial) {
	ct, st := dial(t)
	spy := NewSpy(ct)
	p := ConnectOver(t, spy, st, rsocket.ClientConfig{Prefetch: 4}, serve(overrun{}))
	ctx := ctxT(t)
	s, err := p.Client.RequestStream(ctx, rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n%16 == 0 {
			time.Sleep(time.Millisecond) // a slow consumer
		}
	}
	if n != 200 {
		t.Fatalf("got %d items, want 200", n)
	}
	var credits, used, maxOutstanding int64
	for _, r := range spy.Log() {
		switch {
		case r.Out && (r.Type == wire.TypeRequestStream || r.Type == wire.TypeRequestN):
			credits += int64(r.N)
		case !r.Out && r.Type == wire.TypePayload && r.Flags&wire.FlagNext != 0:
			used++
			if used > credits {
				t.Fatalf("responder sent payload %d with only %d credits", used, credits)
			}
		}
		maxOutstanding = max(maxOutstanding, credits-used)
	}
	if maxOutstanding > 4 {
		t.Errorf("outstanding credits reached %d, want <= prefetch 4", maxOutstanding)
	}
}

func testFragmentation(t *testing.T, dial Dial) {
	const mtu = 100
	ct, st := dial(t)
	cspy, sspy := NewSpy(ct), NewSpy(st)
	p := ConnectOver(t, cspy, sspy, rsocket.ClientConfig{MTU: mtu}, rsocket.ServerConfig{MTU: mtu, Acceptor: serve(&Echo{}).Acceptor})
	ctx := ctxT(t)
	md := bytes.Repeat([]byte("M"), 1000) // metadata larger than the MTU
	data := make([]byte, 5000)
	for i := range data {
		data[i] = byte(i)
	}
	in := rsocket.Payload{Metadata: md, Data: data}
	got, err := p.Client.RequestResponse(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Metadata, md) || !bytes.Equal(got.Data, data) {
		t.Fatalf("fragmented echo differs: %d/%d bytes", len(got.Metadata), len(got.Data))
	}
	// Only metadata, larger than the MTU, through a channel both ways.
	ch, err := p.Client.RequestChannel(ctx, rsocket.Payload{Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(ctx, in); err != nil {
		t.Fatal(err)
	}
	ch.CloseSend()
	var n int
	for q, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.Metadata, md) || (n == 1) != bytes.Equal(q.Data, data) {
			t.Errorf("channel item %d differs", n)
		}
		n++
	}
	if n != 2 {
		t.Errorf("got %d channel items, want 2", n)
	}
	for _, spy := range []*Spy{cspy, sspy} {
		var follows int
		for _, r := range spy.Log() {
			if r.Out && r.Len > mtu {
				t.Errorf("sent %v frame of %d bytes > MTU %d", r.Type, r.Len, mtu)
			}
			if r.Out && r.Flags&wire.FlagFollows != 0 && r.Type != wire.TypeKeepalive {
				follows++
			}
		}
		if follows == 0 {
			t.Error("no fragment was sent")
		}
	}
}

func testReassemblyLimit(t *testing.T, dial Dial) {
	p := Connect(t, dial, rsocket.ClientConfig{MTU: 256}, rsocket.ServerConfig{MaxMessageSize: 1000, Acceptor: serve(&Echo{}).Acceptor})
	ctx := ctxT(t)
	_, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: make([]byte, 5000)})
	var e *rsocket.Error
	if !errors.As(err, &e) || e.Code != rsocket.CodeInvalid {
		t.Fatalf("over-limit request: got %v, want INVALID", err)
	}
	got, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: make([]byte, 900)})
	if err != nil || len(got.Data) != 900 {
		t.Fatalf("request within limit after rejection: %d bytes, %v", len(got.Data), err)
	}
}

func testKeepaliveTimeout(t *testing.T, dial Dial) {
	const interval, lifetime = 10 * time.Millisecond, 100 * time.Millisecond
	cfg := rsocket.ClientConfig{KeepaliveInterval: interval, MaxLifetime: lifetime}
	ct, st := dial(t)
	t.Cleanup(func() { st.Close() })
	// A server that reads and never answers.
	go st.Receive(func([]byte) error { return nil })
	c, err := rsocket.Client(ctxT(t), ct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("no keepalive timeout")
	}
	if !errors.Is(c.Err(), rsocket.ErrKeepaliveTimeout) {
		t.Errorf("Err: got %v, want ErrKeepaliveTimeout", c.Err())
	}
	var te interface{ Timeout() bool }
	if !errors.As(c.Err(), &te) || !te.Timeout() {
		t.Error("keepalive error does not report Timeout")
	}
	// With an answering peer the connection outlives several lifetimes:
	// the client sends a KEEPALIVE every interval, so by the time three
	// lifetimes' worth have been answered, three lifetimes have passed.
	ct, st = dial(t)
	spy := NewSpy(ct)
	p := ConnectOver(t, spy, st, cfg, serve(&Echo{}))
	answers := int(3 * lifetime / interval)
	answer := func(r Record) bool { return !r.Out && r.Type == wire.TypeKeepalive }
	if !spy.WaitFor(ctxT(t), answers, answer) {
		t.Fatalf("%d KEEPALIVE answers did not come: %v / %v", answers, p.Client.Err(), p.Server.Err())
	}
	if p.Client.Err() != nil || p.Server.Err() != nil {
		t.Errorf("idle connection with keepalives closed: %v / %v", p.Client.Err(), p.Server.Err())
	}
}

func testGracefulClose(t *testing.T, dial Dial) {
	h := &gated{started: make(chan struct{}, 1), release: make(chan struct{})}
	p := Connect(t, dial, rsocket.ClientConfig{}, serve(h))
	ctx := ctxT(t)
	errc := make(chan error, 1)
	go func() {
		got, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("late")})
		if err == nil && string(got.Data) != "late" {
			err = fmt.Errorf("got %q", got.Data)
		}
		errc <- err
	}()
	wait(t, h.started, "handler start")
	closed := make(chan error, 1)
	go func() { closed <- p.Client.CloseGracefully(ctx) }()
	// The request is answered only once the close is under way, which
	// shows as new requests being refused (a refused fire-and-forget sends
	// nothing).
	Eventually(t, 5*time.Second, "the closing client to refuse requests", func() bool {
		return errors.Is(p.Client.FireAndForget(ctx, rsocket.Payload{}), rsocket.ErrClosing)
	})
	close(h.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Errorf("outstanding request during graceful close: %v", err)
	}
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); err == nil {
		t.Error("request after close succeeded")
	}
	select {
	case <-p.Server.Done():
	case <-ctx.Done():
		t.Fatal("server did not see the close")
	}
	var e *rsocket.Error
	if !errors.As(p.Server.Err(), &e) || e.Code != rsocket.CodeConnectionClose {
		t.Errorf("server Err: got %v, want CONNECTION_CLOSE", p.Server.Err())
	}
}

// gated answers request-response with the request once release is closed,
// after telling started that it holds one.
type gated struct {
	rsocket.RejectAll
	started chan struct{}
	release chan struct{}
}

func (g *gated) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	g.started <- struct{}{}
	<-g.release
	return p, nil
}

func testSetupRejected(t *testing.T, dial Dial) {
	ct, st := dial(t)
	ctx := ctxT(t)
	errc := make(chan error, 1)
	go func() {
		_, err := rsocket.Server(ctx, st, rsocket.ServerConfig{Acceptor: func(_ context.Context, s rsocket.SetupInfo, _ *rsocket.Conn) (rsocket.Handler, error) {
			return nil, fmt.Errorf("go away %s", s.Payload.Data)
		}})
		errc <- err
	}()
	c, err := rsocket.Client(ctx, ct, rsocket.ClientConfig{SetupPayload: rsocket.Payload{Data: []byte("bob")}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.RequestResponse(ctx, rsocket.Payload{})
	var e *rsocket.Error
	if !errors.As(err, &e) || e.Code != rsocket.CodeRejectedSetup || e.Message != "go away bob" {
		t.Errorf("client: got %v, want REJECTED_SETUP 'go away bob'", err)
	}
	if err := <-errc; !errors.As(err, &e) || e.Code != rsocket.CodeRejectedSetup {
		t.Errorf("Server: got %v", err)
	}
}

func testServerCallsClient(t *testing.T, dial Dial) {
	got := make(chan *rsocket.Conn, 1)
	scfg := rsocket.ServerConfig{Acceptor: func(_ context.Context, s rsocket.SetupInfo, c *rsocket.Conn) (rsocket.Handler, error) {
		if s.DataMIME != "text/plain" || s.MetadataMIME != rsocket.DefaultMIME || s.MajorVersion != 1 {
			return nil, fmt.Errorf("unexpected setup %+v", s)
		}
		got <- c
		return &Echo{}, nil
	}}
	p := Connect(t, dial, rsocket.ClientConfig{DataMIME: "text/plain", Handler: &Echo{}}, scfg)
	if <-got != p.Server {
		t.Fatal("acceptor got another conn")
	}
	ctx := ctxT(t)
	r, err := p.Server.RequestResponse(ctx, rsocket.Payload{Data: []byte("from server")})
	if err != nil || string(r.Data) != "from server" {
		t.Fatalf("server->client: %q %v", r.Data, err)
	}
	s, err := p.Server.RequestStream(ctx, rsocket.Payload{Data: []byte("s")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("server->client stream: %d items", n)
	}
}

func testConnFailure(t *testing.T, dial Dial) {
	b := newBlocking()
	p := Connect(t, dial, rsocket.ClientConfig{}, serve(b))
	ctx := ctxT(t)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Client.RequestResponse(ctx, rsocket.Payload{})
		errc <- err
	}()
	wait(t, b.started, "handler start")
	p.Server.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("request succeeded on a dead connection")
		}
	case <-ctx.Done():
		t.Fatal("open request not failed by connection loss")
	}
	wait(t, b.cancelled, "server handler cancelled by close")
	<-p.Client.Done()
	if p.Client.Err() == nil {
		t.Error("client Err nil after peer closed")
	}
}

// testLargePayloads sends messages larger than typical buffers (the TCP read
// buffer, the pending write bound, a ring's record limit) concurrently with
// small ones; without an MTU only the transport's MaxFrameSize fragments.
func testLargePayloads(t *testing.T, dial Dial) {
	p := Connect(t, dial, rsocket.ClientConfig{}, serve(&Echo{}))
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g, size := range []int{1, 100, 70 << 10, 1 << 20, 3 << 20, 10} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := make([]byte, size)
			for i := range in {
				in[i] = byte(i*7 + g)
			}
			for range 3 {
				got, err := p.Client.RequestResponse(ctx, rsocket.Payload{Metadata: in[:min(len(in), 1000)], Data: in})
				if err != nil {
					errc <- err
					return
				}
				if !bytes.Equal(got.Data, in) || !bytes.Equal(got.Metadata, in[:min(len(in), 1000)]) {
					errc <- fmt.Errorf("size %d: echo differs", size)
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
}

// batcher answers a request-stream with ps, sent by StreamWriter.SendBatch,
// echoes a channel with Channel.SendBatch, and hands fire-and-forget
// requests to fnf.
type batcher struct {
	rsocket.RejectAll
	ps  []rsocket.Payload
	fnf chan rsocket.Payload
}

func (h *batcher) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	n, err := w.SendBatch(ctx, h.ps)
	if err == nil && n != len(h.ps) {
		err = fmt.Errorf("SendBatch sent %d of %d", n, len(h.ps))
	}
	return err
}

func (h *batcher) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	in := []rsocket.Payload{p.Clone()}
	for q, err := range ch.All() {
		if err != nil {
			return err
		}
		in = append(in, q.Clone())
	}
	_, err := ch.SendBatch(ctx, in)
	return err
}

func (h *batcher) FireAndForget(_ context.Context, p rsocket.Payload) { h.fnf <- p }

// batchPayloads returns n payloads that differ from each other, one of
// them larger than mtu (fragmented) and one with metadata.
func batchPayloads(n, mtu int) []rsocket.Payload {
	ps := make([]rsocket.Payload, n)
	for i := range ps {
		ps[i].Data = fmt.Appendf(nil, "item-%d", i)
	}
	ps[n/3].Data = append(bytes.Repeat([]byte{'L'}, 3*mtu), ps[n/3].Data...)
	ps[n/3+1].Metadata = []byte("md")
	return ps
}

func samePayloads(t *testing.T, what string, got, want []rsocket.Payload) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d payloads, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Data, want[i].Data) || !bytes.Equal(got[i].Metadata, want[i].Metadata) {
			t.Fatalf("%s: payload %d is %q/%q, want %q/%q", what, i, got[i].Metadata, got[i].Data, want[i].Metadata, want[i].Data)
		}
	}
}

// testBatches: the batch senders (StreamWriter.SendBatch,
// Channel.SendBatch, Conn.FireAndForgetBatch) deliver every payload once,
// in order (fire-and-forget requests are handled concurrently), within the credits granted (a window of 7, so a batch waits for
// credits several times; the connection fails if a frame exceeds them),
// with a fragmented payload among them.
func testBatches(t *testing.T, dial Dial) {
	const mtu = 1024
	ps := batchPayloads(300, mtu)
	h := &batcher{ps: ps, fnf: make(chan rsocket.Payload, len(ps))}
	p := Connect(t, dial, rsocket.ClientConfig{MTU: mtu, Prefetch: 7}, rsocket.ServerConfig{MTU: mtu, Acceptor: serve(h).Acceptor})
	ctx := ctxT(t)

	s, err := p.Client.RequestStream(ctx, rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	var got []rsocket.Payload
	for q, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, q.Clone())
	}
	samePayloads(t, "stream", got, ps)

	ch, err := p.Client.RequestChannel(ctx, rsocket.Payload{Data: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ch.SendBatch(ctx, ps); n != len(ps) || err != nil {
		t.Fatalf("Channel.SendBatch: %d of %d, %v", n, len(ps), err)
	}
	if err := ch.CloseSend(); err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for q, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, q.Clone())
	}
	samePayloads(t, "channel", got, append([]rsocket.Payload{{Data: []byte("first")}}, ps...))

	if n, err := p.Client.FireAndForgetBatch(ctx, ps); n != len(ps) || err != nil {
		t.Fatalf("FireAndForgetBatch: %d of %d, %v", n, len(ps), err)
	}
	got = got[:0]
	for range ps {
		select {
		case q := <-h.fnf:
			got = append(got, q)
		case <-ctx.Done():
			t.Fatalf("fire-and-forget: %d of %d arrived", len(got), len(ps))
		}
	}
	// Each fire-and-forget runs in a goroutine of its own: they arrive in
	// any order.
	byData := func(a, b rsocket.Payload) int { return bytes.Compare(a.Data, b.Data) }
	slices.SortFunc(got, byData)
	samePayloads(t, "fire-and-forget", got, slices.SortedFunc(slices.Values(ps), byData))
}
