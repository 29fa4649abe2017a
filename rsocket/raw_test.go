package rsocket_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// raw is a hand-driven peer: it writes frames it encodes itself and reads
// what the Conn under test sends.
type raw struct {
	t      testing.TB
	tr     rsocket.Transport
	frames chan []byte
}

func newRaw(t testing.TB, tr rsocket.Transport) *raw {
	r := &raw{t: t, tr: tr, frames: make(chan []byte, 1024)}
	go func() {
		tr.Receive(func(b []byte) error {
			r.frames <- append([]byte(nil), b...)
			return nil
		})
		close(r.frames)
	}()
	return r
}

func (r *raw) send(frame []byte) {
	r.t.Helper()
	if err := r.trySend(frame); err != nil {
		r.t.Fatalf("raw send: %v", err)
	}
}

// trySend sends frame and returns the transport's error (the Conn may have
// closed it).
func (r *raw) trySend(frame []byte) error {
	b, err := r.tr.Claim(context.Background(), len(frame))
	if err != nil {
		return err
	}
	copy(b, frame)
	return r.tr.Commit(len(frame))
}

// next returns the next frame the Conn sent, skipping KEEPALIVEs unless
// want is TypeKeepalive; nil when the transport closed.
func (r *raw) next(want wire.FrameType) *wire.Frame {
	r.t.Helper()
	for {
		select {
		case b, ok := <-r.frames:
			if !ok {
				return nil
			}
			f := new(wire.Frame)
			if err := wire.Parse(b, f); err != nil {
				r.t.Fatalf("conn sent an unparsable frame: %v", err)
			}
			if f.Type == wire.TypeKeepalive && want != wire.TypeKeepalive {
				continue
			}
			return f
		case <-time.After(3 * time.Second):
			r.t.Fatal("no frame from the conn")
			return nil
		}
	}
}

// quiet checks that the Conn sends nothing but KEEPALIVEs while the fake
// clock of the test's synctest bubble moves on 50 ms: by then it has sent
// all that the frames before could make it send.
func (r *raw) quiet() {
	r.t.Helper()
	r.none(func(typ wire.FrameType) bool { return typ == wire.TypeKeepalive })
}

// silent is quiet without the KEEPALIVEs: the Conn sends nothing at all.
func (r *raw) silent() {
	r.t.Helper()
	r.none(func(wire.FrameType) bool { return false })
}

// none moves the bubble's clock on 50 ms and fails the test if the Conn
// sent a frame other than those allowed.
func (r *raw) none(allowed func(wire.FrameType) bool) {
	r.t.Helper()
	advance(50 * time.Millisecond)
	for {
		select {
		case b, ok := <-r.frames:
			if !ok {
				r.t.Fatal("transport closed")
			}
			if _, typ, _, _ := wire.ParseHeader(b); allowed(typ) {
				continue
			}
			r.t.Fatalf("unexpected frame % x", b)
		default:
			return
		}
	}
}

func setupFrame(flags wire.Flags, major uint16) []byte {
	f := wire.Frame{Type: wire.TypeSetup, Flags: flags, MajorVersion: major, KeepaliveInterval: 60000, MaxLifetime: 120000,
		MetadataMIME: []byte("a/b"), DataMIME: []byte("c/d")}
	if flags&wire.FlagResume != 0 {
		f.ResumeToken = []byte("tok")
	}
	return wire.Append(nil, &f)
}

// serverWithRaw starts a server Conn and a raw client; it sends first.
func serverWithRaw(t *testing.T, first []byte) (*raw, chan error, chan *rsocket.Conn) {
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	t.Cleanup(func() { ct.Close(); st.Close() })
	r := newRaw(t, ct)
	errc := make(chan error, 1)
	connc := make(chan *rsocket.Conn, 1)
	go func() {
		c, err := rsocket.Server(context.Background(), st, rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return &rsockettest.Echo{}, nil
		}})
		errc <- err
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
		connc <- c
	}()
	r.send(first)
	return r, errc, connc
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name  string
		first []byte
		code  wire.ErrorCode
	}{
		{"garbage", []byte{1, 2, 3}, wire.ErrInvalidSetup},
		{"request first", wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, nil, []byte("x")), wire.ErrInvalidSetup},
		{"version 2", setupFrame(0, 2), wire.ErrUnsupportedSetup},
		{"lease", setupFrame(wire.FlagLease, 1), wire.ErrUnsupportedSetup},
		{"resume token", setupFrame(wire.FlagResume, 1), wire.ErrRejectedSetup},
		{"resume", wire.AppendResume(nil, 1, 0, []byte("tok"), 0, 0), wire.ErrRejectedResume},
		{"zero keepalive", wire.Append(nil, &wire.Frame{Type: wire.TypeSetup, MajorVersion: 1, MaxLifetime: 1}), wire.ErrInvalidSetup},
		{"metadata past end", setupMetaPastEnd(), wire.ErrInvalidSetup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, errc, _ := serverWithRaw(t, tc.first)
			f := r.next(wire.TypeError)
			if f == nil || f.Type != wire.TypeError || f.StreamID != 0 || f.ErrorCode != tc.code {
				t.Fatalf("got %+v, want ERROR %v on stream 0", f, tc.code)
			}
			if err := <-errc; err == nil {
				t.Error("Server accepted")
			}
			if f := r.next(wire.TypeError); f != nil {
				t.Errorf("conn not closed after setup error, sent %v", f.Type)
			}
		})
	}
}

// setupMetaPastEnd is a SETUP whose metadata length (4) runs 2 bytes past
// the end of the frame: unlike other frames, it is refused, not ignored.
func setupMetaPastEnd() []byte {
	f := wire.Frame{Type: wire.TypeSetup, Flags: wire.FlagMetadata, MajorVersion: 1, KeepaliveInterval: 60000, MaxLifetime: 120000,
		MetadataMIME: []byte("a/b"), DataMIME: []byte("c/d"), Metadata: []byte("abcd")}
	b := wire.Append(nil, &f)
	return b[:len(b)-2]
}

// TestUnexpectedFrames checks the reactions "Handling the Unexpected" asks
// for after a good SETUP: ignored frames are followed by a KEEPALIVE that
// must still be answered; fatal ones by ERROR[CONNECTION_ERROR] and close.
func TestUnexpectedFrames(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		fatal bool
	}{
		{"unknown type with I", wire.AppendHeader(nil, 0, 0x30, wire.FlagIgnore), false},
		{"unknown type without I", wire.AppendHeader(nil, 0, 0x30, 0), true},
		{"metadata push on stream 3", wire.AppendHeader(nil, 3, wire.TypeMetadataPush, wire.FlagMetadata), false},
		{"payload for unknown stream", wire.AppendPayload(nil, 99, wire.FlagNext, nil, []byte("x")), false},
		{"cancel for unknown stream", wire.AppendCancel(nil, 99), false},
		{"request_n for unknown stream", wire.AppendRequestN(nil, 99, 5), false},
		{"error for unknown stream", wire.AppendError(nil, 99, wire.ErrApplicationError, "x"), false},
		{"request with server parity", wire.AppendRequest(nil, wire.TypeRequestResponse, 2, 0, 0, nil, []byte("x")), false},
		{"lease not negotiated", wire.AppendLease(nil, 1000, 5, nil), false},
		{"second setup", setupFrame(0, 1), false},
		{"payload on stream 0", wire.AppendPayload(nil, 0, wire.FlagNext, nil, []byte("x")), false},
		{"cancel on stream 0", wire.AppendCancel(nil, 0), false},
		{"request_n on stream 0", wire.AppendRequestN(nil, 0, 5), false},
		{"invalid_setup on stream 0", wire.AppendError(nil, 0, wire.ErrInvalidSetup, "x"), false},
		{"unsupported_setup on stream 0", wire.AppendError(nil, 0, wire.ErrUnsupportedSetup, "x"), false},
		{"rejected_setup on stream 0", wire.AppendError(nil, 0, wire.ErrRejectedSetup, "x"), false},
		{"rejected_resume on stream 0", wire.AppendError(nil, 0, wire.ErrRejectedResume, "x"), false},
		{"metadata length past end", append(wire.AppendHeader(nil, 1, wire.TypeRequestResponse, wire.FlagMetadata), 0, 0, 9, 'x'), false},
		{"metadata length cut", append(wire.AppendHeader(nil, 1, wire.TypeRequestResponse, wire.FlagMetadata), 0, 0), true},
		{"request_stream n cut, M set", append(wire.AppendHeader(nil, 1, wire.TypeRequestStream, wire.FlagMetadata), 0, 0), true},
		{"request on stream 0", wire.AppendRequest(nil, wire.TypeRequestResponse, 0, 0, 0, nil, nil), true},
		{"keepalive on stream 1", append(wire.AppendHeader(nil, 1, wire.TypeKeepalive, 0), make([]byte, 8)...), true},
		{"truncated frame", []byte{0, 0, 0, 1, 0x10}, true},
		{"request_n of 0", append(wire.AppendHeader(nil, 1, wire.TypeRequestN, 0), 0, 0, 0, 0), true},
		{"resume after setup", wire.AppendResumeOK(nil, 0), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, errc, _ := serverWithRaw(t, setupFrame(0, 1))
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			r.send(tc.frame)
			ping := wire.AppendKeepalive(nil, true, 0, []byte("ping"))
			if tc.fatal {
				// The Conn may have closed the pipe already.
				_ = r.trySend(ping)
			} else {
				r.send(ping)
			}
			f := r.next(wire.TypeKeepalive)
			if tc.fatal {
				if f == nil || f.Type != wire.TypeError || f.StreamID != 0 || f.ErrorCode != wire.ErrConnectionError {
					t.Fatalf("got %+v, want ERROR[CONNECTION_ERROR]", f)
				}
				return
			}
			if f == nil || f.Type != wire.TypeKeepalive || f.Flags&wire.FlagRespond != 0 || string(f.Data) != "ping" {
				t.Fatalf("got %+v, want KEEPALIVE echo", f)
			}
		})
	}
}

// TestRequestOnBusyID: a second request on a live id is ignored; the first
// is answered once.
func TestRequestOnBusyID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, errc, _ := serverWithRaw(t, setupFrame(0, 1))
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		r.send(wire.AppendRequest(nil, wire.TypeRequestStream, 1, 0, 1, []byte("5"), []byte("a")))
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, nil, []byte("b")))
		f := r.next(0)
		if f.Type != wire.TypePayload || string(f.Data) != "a-0" {
			t.Fatalf("got %v %q, want the stream's first item", f.Type, f.Data)
		}
		// With one credit used, nothing more comes until REQUEST_N.
		r.silent()
		r.send(wire.AppendRequestN(nil, 1, 10))
		for i := 1; i < 5; i++ {
			if f := r.next(0); f.Type != wire.TypePayload || f.Flags&wire.FlagNext == 0 {
				t.Fatalf("item %d: %v", i, f.Type)
			}
		}
		if f := r.next(0); f.Type != wire.TypePayload || f.Flags&wire.FlagComplete == 0 {
			t.Fatalf("got %v flags %x, want completion", f.Type, f.Flags)
		}
	})
}

// TestResponseWithoutComplete: a PAYLOAD without C still completes a
// request-response (spec, "Handling the Unexpected").
func TestResponseWithoutComplete(t *testing.T) {
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	t.Cleanup(func() { ct.Close(); st.Close() })
	r := newRaw(t, st)
	c, err := rsocket.Client(context.Background(), ct, rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if f := r.next(0); f.Type != wire.TypeSetup {
		t.Fatalf("first frame %v", f.Type)
	}
	done := make(chan error, 1)
	go func() {
		p, err := c.RequestResponse(context.Background(), rsocket.Payload{})
		if err == nil && string(p.Data) != "ok" {
			t.Errorf("got %q", p.Data)
		}
		done <- err
	}()
	f := r.next(0)
	if f.Type != wire.TypeRequestResponse || f.StreamID != 1 {
		t.Fatalf("got %v on %d", f.Type, f.StreamID)
	}
	r.send(wire.AppendPayload(nil, 1, wire.FlagNext, nil, []byte("ok")))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// laterInline is an inline responder that answers "now" during the call
// (twice: the second answer must be dropped) and hands every other request's
// Responder to the test.
type laterInline struct {
	rsocket.RejectAll
	rs chan rsocket.Responder
}

func (h *laterInline) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) {
	if string(p.Data) == "now" {
		r.Respond(rsocket.Payload{Data: []byte("now")})
		r.Respond(rsocket.Payload{Data: []byte("again")})
		return
	}
	h.rs <- r
}

// TestInlineRespondOnce: an inline request-response is answered exactly
// once, whether the handler responds during its call or later from another
// goroutine, and not at all after the requester cancelled it.
func TestInlineRespondOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		t.Cleanup(func() { ct.Close(); st.Close() })
		r := newRaw(t, ct)
		h := &laterInline{rs: make(chan rsocket.Responder, 8)}
		go func() {
			c, err := rsocket.Server(context.Background(), st, rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
				return h, nil
			}})
			if err == nil {
				t.Cleanup(func() { c.Close() })
			}
		}()
		r.send(setupFrame(0, 1))
		req := func(id uint32, data string) {
			r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, id, 0, 0, nil, []byte(data)))
		}
		req(1, "later")
		req(3, "later")
		req(5, "now")
		if f := r.next(0); f.StreamID != 5 || string(f.Data) != "now" || f.Flags&wire.FlagComplete == 0 {
			t.Fatalf("got stream %d %q flags %x, want stream 5 \"now\" complete", f.StreamID, f.Data, f.Flags)
		}
		r.send(wire.AppendCancel(nil, 3))
		req(7, "later") // its Responder arriving means the CANCEL was processed
		r1, r3, r7 := <-h.rs, <-h.rs, <-h.rs
		if err := r3.Respond(rsocket.Payload{Data: []byte("cancelled")}); err != nil {
			t.Errorf("Respond after CANCEL: %v", err)
		}
		r1.Respond(rsocket.Payload{Data: []byte("A")})
		r1.Respond(rsocket.Payload{Data: []byte("A again")})
		r7.Respond(rsocket.Payload{Data: []byte("C")})
		for _, want := range []struct {
			id   uint32
			data string
		}{{1, "A"}, {7, "C"}} {
			if f := r.next(0); f.StreamID != want.id || string(f.Data) != want.data {
				t.Fatalf("got stream %d %q, want stream %d %q", f.StreamID, f.Data, want.id, want.data)
			}
		}
		r.silent()
	})
}
