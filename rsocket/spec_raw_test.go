package rsocket_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// Raw tests of the spec rules closed for issue 3: setup-class ERRORs after
// establishment, a metadata length past the end of the frame, the channel
// responder's first REQUEST_N, payloads beyond the credits granted,
// CONNECTION_CLOSE in both directions, and Error Data truncation.

// rawServer starts a server Conn with cfg, sends it a good SETUP from a raw
// client and waits until it is accepted.
func rawServer(t *testing.T, cfg rsocket.ServerConfig, h rsocket.Handler) (*raw, *rsocket.Conn) {
	t.Helper()
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	t.Cleanup(func() { ct.Close(); st.Close() })
	r := newRaw(t, ct)
	cfg.Acceptor = func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil }
	type res struct {
		c   *rsocket.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := rsocket.Server(context.Background(), st, cfg)
		ch <- res{c, err}
	}()
	r.send(setupFrame(0, 1))
	got := <-ch
	if got.err != nil {
		t.Fatal(got.err)
	}
	t.Cleanup(func() { got.c.Close() })
	return r, got.c
}

// rawClient starts a client Conn with cfg whose server is raw; the SETUP
// has been read.
func rawClient(t *testing.T, cfg rsocket.ClientConfig) (*raw, *rsocket.Conn) {
	t.Helper()
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	t.Cleanup(func() { ct.Close(); st.Close() })
	r := newRaw(t, st)
	c, err := rsocket.Client(context.Background(), ct, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if f := r.next(0); f == nil || f.Type != wire.TypeSetup {
		t.Fatalf("first frame %+v, want SETUP", f)
	}
	return r, c
}

// rawStream opens a request-stream from a client Conn with cfg to a raw
// peer and returns the peer, the stream and the REQUEST_STREAM it received.
func rawStream(t *testing.T, cfg rsocket.ClientConfig) (*raw, *rsocket.Stream, *wire.Frame) {
	t.Helper()
	r, c := rawClient(t, cfg)
	st, err := c.RequestStream(context.Background(), rsocket.Payload{Data: []byte("s")})
	if err != nil {
		t.Fatal(err)
	}
	f := r.next(0)
	if f == nil || f.Type != wire.TypeRequestStream {
		t.Fatalf("got %+v, want REQUEST_STREAM", f)
	}
	return r, st, f
}

// expectEcho sends KEEPALIVE(R) and checks that the next frame (other than
// those skip accepts) is its echo: the connection is up and everything sent
// before was processed.
func (r *raw) expectEcho() {
	r.t.Helper()
	r.send(wire.AppendKeepalive(nil, true, 0, []byte("ping")))
	f := r.next(wire.TypeKeepalive)
	if f == nil || f.Type != wire.TypeKeepalive || f.Flags&wire.FlagRespond != 0 || string(f.Data) != "ping" {
		r.t.Fatalf("got %+v, want the KEEPALIVE echo", f)
	}
}

var setupCodes = []wire.ErrorCode{wire.ErrInvalidSetup, wire.ErrUnsupportedSetup, wire.ErrRejectedSetup, wire.ErrRejectedResume}

// TestServerIgnoresSetupErrors: a server ignores an ERROR with a
// setup-class code on stream 0; the connection stays up and serves.
func TestServerIgnoresSetupErrors(t *testing.T) {
	r, c := rawServer(t, rsocket.ServerConfig{}, &rsockettest.Echo{})
	for _, code := range setupCodes {
		r.send(wire.AppendError(nil, 0, code, "late "+code.String()))
	}
	r.expectEcho()
	r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, nil, []byte("still here")))
	if f := r.next(0); f == nil || f.Type != wire.TypePayload || f.StreamID != 1 || string(f.Data) != "still here" {
		t.Fatalf("got %+v, want the echo on stream 1", f)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("server closed: %v", err)
	}
}

// TestClientSetupErrors: before the client has received a frame other than
// ERROR, a setup-class ERROR is the rejection of its SETUP; after, it is
// ignored.
func TestClientSetupErrors(t *testing.T) {
	for _, code := range setupCodes {
		t.Run("rejected/"+code.String(), func(t *testing.T) {
			r, c := rawClient(t, rsocket.ClientConfig{})
			// An ERROR on a stream does not establish the connection.
			r.send(wire.AppendError(nil, 99, wire.ErrApplicationError, "x"))
			r.send(wire.AppendError(nil, 0, code, "no"))
			select {
			case <-c.Done():
			case <-time.After(3 * time.Second):
				t.Fatal("client did not close on the rejection")
			}
			if err := c.Err(); !errors.Is(err, &rsocket.Error{Code: code}) {
				t.Errorf("Err = %v, want %v", err, code)
			}
			if _, err := c.RequestResponse(context.Background(), rsocket.Payload{}); !errors.Is(err, &rsocket.Error{Code: code}) {
				t.Errorf("request after rejection: %v, want %v", err, code)
			}
		})
		t.Run("established/"+code.String(), func(t *testing.T) {
			r, c := rawClient(t, rsocket.ClientConfig{})
			r.send(wire.AppendKeepalive(nil, false, 0, nil)) // proves acceptance
			r.send(wire.AppendError(nil, 0, code, "late"))
			done := make(chan error, 1)
			go func() {
				p, err := c.RequestResponse(context.Background(), rsocket.Payload{Data: []byte("q")})
				if err == nil && string(p.Data) != "a" {
					t.Errorf("got %q", p.Data)
				}
				done <- err
			}()
			f := r.next(0)
			if f == nil || f.Type != wire.TypeRequestResponse {
				t.Fatalf("got %+v, want REQUEST_RESPONSE", f)
			}
			r.send(wire.AppendPayload(nil, f.StreamID, wire.FlagNext|wire.FlagComplete, nil, []byte("a")))
			if err := <-done; err != nil {
				t.Fatalf("request after ignored %v: %v", code, err)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("client closed: %v", err)
			}
		})
	}
}

// metaPastEnd is a frame of type typ on stream id with M set, fixed (the
// fields between header and metadata length), and a metadata length of 16
// with only "ab" after it.
func metaPastEnd(id uint32, typ wire.FrameType, flags wire.Flags, fixed ...byte) []byte {
	b := wire.AppendHeader(nil, id, typ, flags|wire.FlagMetadata)
	b = append(b, fixed...)
	return append(b, 0, 0, 16, 'a', 'b')
}

// TestMetadataPastEnd: a REQUEST_*, PAYLOAD or EXT frame whose metadata
// length is greater than the rest of the frame is ignored entirely (spec);
// the connection stays up and the ignored request's id is free.
func TestMetadataPastEnd(t *testing.T) {
	r, c := rawServer(t, rsocket.ServerConfig{}, &rsockettest.Echo{})
	for _, f := range [][]byte{
		metaPastEnd(1, wire.TypeRequestResponse, 0),
		metaPastEnd(3, wire.TypeRequestFNF, 0),
		metaPastEnd(5, wire.TypeRequestStream, 0, 0, 0, 0, 1),
		metaPastEnd(7, wire.TypeRequestChannel, 0, 0, 0, 0, 1),
		metaPastEnd(99, wire.TypePayload, wire.FlagNext),
		metaPastEnd(0, wire.TypeExt, 0, 0, 0, 0, 9), // EXT without I
	} {
		r.send(f)
	}
	r.expectEcho()
	if err := c.Err(); err != nil {
		t.Fatalf("connection closed: %v", err)
	}
	r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, []byte("m"), []byte("ok")))
	if f := r.next(0); f == nil || f.Type != wire.TypePayload || f.StreamID != 1 || string(f.Data) != "ok" {
		t.Fatalf("got %+v, want the echo on stream 1 (the ignored request must not hold it)", f)
	}
}

// blockedChannel is a channel handler that reads nothing until release is
// closed, then reads up to n payloads and reports their data on got; it
// returns when its ctx ends.
type blockedChannel struct {
	rsocket.RejectAll
	release chan struct{}
	n       int
	got     chan string
}

func (h *blockedChannel) RequestChannel(ctx context.Context, _ rsocket.Payload, ch *rsocket.Channel) error {
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	for range h.n {
		p, err := ch.Recv()
		if err != nil {
			break // a channel whose requester completed: EOF at once
		}
		h.got <- string(p.Data)
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestChannelResponderRequestN: the responder answers REQUEST_CHANNEL with
// REQUEST_N(Prefetch) before its handler reads (spec: a Responder MUST
// respond to an initial REQUEST_CHANNEL with a REQUEST_N), the window's
// payloads are accepted and kept for the handler, and reading replenishes
// as before. A REQUEST_CHANNEL with C gets no REQUEST_N.
func TestChannelResponderRequestN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &blockedChannel{release: make(chan struct{}), n: 4, got: make(chan string, 4)}
		r, _ := rawServer(t, rsocket.ServerConfig{Prefetch: 4}, h)
		r.send(wire.AppendRequest(nil, wire.TypeRequestChannel, 3, wire.FlagComplete, 1, nil, []byte("done")))
		r.send(wire.AppendRequest(nil, wire.TypeRequestChannel, 1, 0, 1, nil, []byte("first")))
		f := r.next(0)
		if f == nil || f.Type != wire.TypeRequestN || f.StreamID != 1 || f.N != 4 {
			t.Fatalf("got %+v, want REQUEST_N(4) on stream 1 (and nothing on stream 3)", f)
		}
		for _, d := range []string{"p0", "p1", "p2", "p3"} {
			r.send(wire.AppendPayload(nil, 1, wire.FlagNext, nil, []byte(d)))
		}
		r.expectEcho() // no ERROR[INVALID]: the window was granted
		close(h.release)
		for _, want := range []string{"p0", "p1", "p2", "p3"} {
			if got := <-h.got; got != want {
				t.Fatalf("handler read %q, want %q", got, want)
			}
		}
		// Replenishment after half the window was read, as before.
		for i := 0; i < 2; i++ {
			if f := r.next(0); f == nil || f.Type != wire.TypeRequestN || f.StreamID != 1 || f.N != 2 {
				t.Fatalf("got %+v, want REQUEST_N(2) on stream 1", f)
			}
		}
		r.quiet()
	})
}

// TestResponderOverCredits: payloads beyond the window the responder
// granted end the stream with ERROR[INVALID].
func TestResponderOverCredits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &blockedChannel{release: make(chan struct{}), got: make(chan string, 1)}
		r, _ := rawServer(t, rsocket.ServerConfig{Prefetch: 2}, h)
		r.send(wire.AppendRequest(nil, wire.TypeRequestChannel, 1, 0, 1, nil, []byte("first")))
		if f := r.next(0); f == nil || f.Type != wire.TypeRequestN || f.N != 2 {
			t.Fatalf("got %+v, want REQUEST_N(2)", f)
		}
		for _, d := range []string{"p0", "p1", "p2"} {
			r.send(wire.AppendPayload(nil, 1, wire.FlagNext, nil, []byte(d)))
		}
		f := r.next(0)
		if f == nil || f.Type != wire.TypeError || f.StreamID != 1 || f.ErrorCode != wire.ErrInvalid {
			t.Fatalf("got %+v, want ERROR[INVALID] on stream 1", f)
		}
		r.quiet() // once: the stream is gone
	})
}

// TestRequesterOverCredits: a requester that receives payloads beyond the
// credits it granted cancels the stream (CANCEL), and Recv ends with
// INVALID after the payloads within the window.
func TestRequesterOverCredits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, st, f := rawStream(t, rsocket.ClientConfig{Prefetch: 2})
		if f.InitialN != 2 {
			t.Fatalf("got %+v, want REQUEST_STREAM(2)", f)
		}
		id := f.StreamID
		for _, d := range []string{"p0", "p1", "p2"} {
			r.send(wire.AppendPayload(nil, id, wire.FlagNext, nil, []byte(d)))
		}
		if f := r.next(0); f == nil || f.Type != wire.TypeCancel || f.StreamID != id {
			t.Fatalf("got %+v, want CANCEL on stream %d", f, id)
		}
		var got []string
		for {
			p, err := st.Recv()
			if err != nil {
				if !errors.Is(err, &rsocket.Error{Code: rsocket.CodeInvalid}) {
					t.Errorf("Recv ended with %v, want INVALID", err)
				}
				break
			}
			got = append(got, string(p.Data))
		}
		if strings.Join(got, ",") != "p0,p1" {
			t.Errorf("received %q, want p0,p1", got)
		}
		r.quiet()
	})
}

// TestConnectionCloseReceived: after the peer's CONNECTION_CLOSE the
// receiver refuses new requests (local: ErrClosing; the peer's: REJECTED),
// lets the streams open in both directions finish, among them its own
// request that was in flight, and then closes with the peer's error.
func TestConnectionCloseReceived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, c := rawClient(t, rsocket.ClientConfig{Handler: &rsockettest.Echo{}})
		ctx := context.Background()
		// The client's request, in flight when CONNECTION_CLOSE arrives.
		done := make(chan error, 1)
		go func() {
			p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("mine")})
			if err == nil && string(p.Data) != "answer" {
				t.Errorf("got %q", p.Data)
			}
			done <- err
		}()
		f := r.next(0)
		if f == nil || f.Type != wire.TypeRequestResponse {
			t.Fatalf("got %+v, want REQUEST_RESPONSE", f)
		}
		rr := f.StreamID
		// The server's stream to the client: 3 items, 1 credit so far.
		r.send(wire.AppendRequest(nil, wire.TypeRequestStream, 2, 0, 1, []byte("3"), []byte("x")))
		if f := r.next(0); f == nil || f.Type != wire.TypePayload || f.StreamID != 2 || string(f.Data) != "x-0" {
			t.Fatalf("got %+v, want item x-0 on stream 2", f)
		}
		r.send(wire.AppendError(nil, 0, wire.ErrConnectionClose, "bye"))
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 4, 0, 0, nil, []byte("new")))
		if f := r.next(0); f == nil || f.Type != wire.TypeError || f.StreamID != 4 || f.ErrorCode != wire.ErrRejected {
			t.Fatalf("got %+v, want ERROR[REJECTED] on stream 4", f)
		}
		if _, err := c.RequestResponse(ctx, rsocket.Payload{}); !errors.Is(err, rsocket.ErrClosing) {
			t.Errorf("new request after CONNECTION_CLOSE: %v, want ErrClosing", err)
		}
		if err := c.FireAndForget(ctx, rsocket.Payload{}); !errors.Is(err, rsocket.ErrClosing) {
			t.Errorf("new fire-and-forget after CONNECTION_CLOSE: %v, want ErrClosing", err)
		}
		synctest.Wait()
		select {
		case <-c.Done():
			t.Fatalf("closed with streams open: %v", c.Err())
		default:
		}
		r.send(wire.AppendPayload(nil, rr, wire.FlagNext|wire.FlagComplete, nil, []byte("answer")))
		if err := <-done; err != nil {
			t.Fatalf("the request in flight: %v", err)
		}
		r.send(wire.AppendRequestN(nil, 2, 5))
		for _, want := range []string{"x-1", "x-2"} {
			if f := r.next(0); f == nil || f.StreamID != 2 || string(f.Data) != want {
				t.Fatalf("got %+v, want item %s", f, want)
			}
		}
		if f := r.next(0); f == nil || f.StreamID != 2 || f.Flags&wire.FlagComplete == 0 {
			t.Fatalf("got %+v, want completion of stream 2", f)
		}
		select {
		case <-c.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("not closed after the last stream ended")
		}
		if err := c.Err(); !errors.Is(err, &rsocket.Error{Code: rsocket.CodeConnectionClose}) {
			t.Errorf("Err = %v, want CONNECTION_CLOSE", err)
		}
		if f := r.next(0); f != nil {
			t.Errorf("frame after close: %+v", f)
		}
	})
}

// TestCloseGracefullyWaitsForPeer: after sending CONNECTION_CLOSE the
// sender keeps reading until the peer closes, answering a request the peer
// sent before it saw CONNECTION_CLOSE with REJECTED.
func TestCloseGracefullyWaitsForPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, c := rawServer(t, rsocket.ServerConfig{}, &rsockettest.Echo{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		closed := make(chan error, 1)
		go func() { closed <- c.CloseGracefully(ctx) }()
		f := r.next(0)
		if f == nil || f.Type != wire.TypeError || f.StreamID != 0 || f.ErrorCode != wire.ErrConnectionClose {
			t.Fatalf("got %+v, want ERROR[CONNECTION_CLOSE]", f)
		}
		// The peer's request crossing CONNECTION_CLOSE.
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, nil, []byte("crossing")))
		if f := r.next(0); f == nil || f.Type != wire.TypeError || f.StreamID != 1 || f.ErrorCode != wire.ErrRejected {
			t.Fatalf("got %+v, want ERROR[REJECTED] on stream 1", f)
		}
		synctest.Wait()
		select {
		case err := <-closed:
			t.Fatalf("CloseGracefully returned (%v) before the peer closed", err)
		default:
		}
		r.tr.Close()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("CloseGracefully did not return after the peer closed")
		}
		if err := c.Err(); err != rsocket.ErrClosed {
			t.Errorf("Err = %v, want ErrClosed", err)
		}
	})
}

// TestCloseGracefullyContext: a peer that never closes holds
// CloseGracefully only until its ctx ends; with no stream open that is
// still a clean close (nil).
func TestCloseGracefullyContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, c := rawServer(t, rsocket.ServerConfig{}, &rsockettest.Echo{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := c.CloseGracefully(ctx); err != nil {
			t.Fatalf("CloseGracefully: %v", err)
		}
		if f := r.next(0); f == nil || f.ErrorCode != wire.ErrConnectionClose {
			t.Fatalf("got %+v, want ERROR[CONNECTION_CLOSE]", f)
		}
		if f := r.next(0); f != nil {
			t.Fatalf("got %+v, want the transport closed", f)
		}
		if err := c.Err(); err != rsocket.ErrClosed {
			t.Errorf("Err = %v, want ErrClosed", err)
		}
	})
}

// failing answers every request-response with an error whose message is
// the request's data.
type failing struct{ rsocket.RejectAll }

func (failing) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return rsocket.Payload{}, errors.New(string(p.Data))
}

// TestErrorTruncatedAtRune: an ERROR message longer than the MTU allows is
// cut at a rune boundary, and invalid UTF-8 is replaced, so Error Data is
// always valid UTF-8.
func TestErrorTruncatedAtRune(t *testing.T) {
	const max = rsocket.MinMTU - wire.HeaderSize - 4
	r, _ := rawServer(t, rsocket.ServerConfig{MTU: rsocket.MinMTU}, failing{})
	long := "a" + strings.Repeat("é", max) // byte max is inside an é
	tests := []struct{ msg, want string }{
		{long, long[:max-1]},
		{"bad\xffbyte", "bad\uFFFDbyte"},
	}
	for i, tc := range tests {
		id := uint32(2*i + 1)
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, id, 0, 0, nil, []byte(tc.msg)))
		f := r.next(0)
		if f == nil || f.Type != wire.TypeError || f.StreamID != id {
			t.Fatalf("got %+v, want ERROR on stream %d", f, id)
		}
		if string(f.Data) != tc.want || !utf8.Valid(f.Data) {
			t.Errorf("Error Data %q, want %q", f.Data, tc.want)
		}
	}
}

// TestWindowGrowsForSmallPayloads: with Prefetch zero a stream starts with
// DefaultPrefetch credits and, once small payloads show their size, tops
// the window up to MaxPrefetch.
func TestWindowGrowsForSmallPayloads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, st, f := rawStream(t, rsocket.ClientConfig{})
		if f.InitialN != rsocket.DefaultPrefetch {
			t.Fatalf("got %+v, want REQUEST_STREAM(%d)", f, rsocket.DefaultPrefetch)
		}
		id := f.StreamID
		r.send(wire.AppendPayload(nil, id, wire.FlagNext, nil, make([]byte, 64)))
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
		// 63 credits are left; the window for 64-byte payloads is MaxPrefetch.
		if f := r.next(0); f == nil || f.Type != wire.TypeRequestN || f.N != rsocket.MaxPrefetch-63 {
			t.Fatalf("got %+v, want REQUEST_N(%d)", f, rsocket.MaxPrefetch-63)
		}
		r.quiet()
	})
}

// TestWindowBoundedByBytes: payloads of 1000 bytes with PrefetchBytes 4096
// make a window of 3 (4096 / (1000 + 64)). The credits granted before the
// size was known are used up, and no REQUEST_N is sent while more than the
// window is still queued; then each grant tops the outstanding credits and
// queued payloads up to 3, never beyond.
func TestWindowBoundedByBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, st, f := rawStream(t, rsocket.ClientConfig{PrefetchBytes: 4096})
		if f.InitialN != rsocket.DefaultPrefetch {
			t.Fatalf("got %+v, want REQUEST_STREAM(%d)", f, rsocket.DefaultPrefetch)
		}
		id := f.StreamID
		for range rsocket.DefaultPrefetch {
			r.send(wire.AppendPayload(nil, id, wire.FlagNext, nil, make([]byte, 1000)))
		}
		recv := func() {
			t.Helper()
			if p, err := st.Recv(); err != nil || len(p.Data) != 1000 {
				t.Fatalf("Recv: %d bytes, %v", len(p.Data), err)
			}
		}
		// Until only two are queued, the window (3) has no room for a grant
		// of at least one (half of 3, rounded down).
		for range rsocket.DefaultPrefetch - 3 {
			recv()
		}
		r.quiet()
		// Two queued, one free: REQUEST_N(1); then one queued and one credit
		// out: REQUEST_N(1); then two credits out: REQUEST_N(1).
		for range 3 {
			recv()
			if f := r.next(0); f == nil || f.Type != wire.TypeRequestN || f.N != 1 {
				t.Fatalf("got %+v, want REQUEST_N(1)", f)
			}
		}
		// Three credits out: the window is full.
		r.quiet()
	})
}

// TestStreamItemFastPath: the receive path's shortcut for PAYLOAD frames
// (N or N|C, no metadata) delivers an item with C and ends the stream, and
// leaves a fragmented item (F, then a last fragment with N only) to the
// reassembly, which joins it.
func TestStreamItemFastPath(t *testing.T) {
	r, st, f := rawStream(t, rsocket.ClientConfig{Prefetch: 8})
	id := f.StreamID
	r.send(wire.AppendPayload(nil, id, wire.FlagNext|wire.FlagFollows, nil, []byte("ab")))
	r.send(wire.AppendPayload(nil, id, wire.FlagNext, nil, []byte("cd")))
	r.send(wire.AppendPayload(nil, id+2, wire.FlagNext, nil, []byte("no such stream")))
	r.send(wire.AppendPayload(nil, id, wire.FlagNext|wire.FlagComplete, nil, []byte("last")))
	var got []string
	for {
		p, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(p.Data))
	}
	if strings.Join(got, ",") != "abcd,last" {
		t.Errorf("received %q, want abcd,last", got)
	}
}
