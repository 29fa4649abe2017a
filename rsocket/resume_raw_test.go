package rsocket_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
)

// rawResumeClient is a resumable client Conn whose server is hand-driven:
// every transport the client dials is handed to the test as a raw peer.
func rawResumeClient(t *testing.T, cfg *rsocket.ResumeConfig) (*rsocket.Conn, *raw, chan *raw) {
	t.Helper()
	peers := make(chan *raw, 4)
	cfg.Redial = func(context.Context) (rsocket.Transport, error) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		peers <- newRaw(t, st)
		return ct, nil
	}
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	srv := newRaw(t, st)
	// A fixed window of 16: the two payloads a test sends leave it more
	// than half open, so the client sends no REQUEST_N between the frames
	// the tests expect.
	c, err := rsocket.Client(context.Background(), ct, rsocket.ClientConfig{Resume: cfg, KeepaliveInterval: time.Hour, Prefetch: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv, peers
}

func payloadFrame(id uint32, data string) []byte {
	return wire.AppendPayload(nil, id, wire.FlagNext, nil, []byte(data))
}

// TestResumeWire checks the client's side of the exchange frame by frame:
// SETUP has R and the token; KEEPALIVE carries the bytes of resumable
// frames received; the client sends nothing but RESUME on a new transport
// until RESUME_OK, whose position is where its retransmission starts.
func TestResumeWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, srv, peers := rawResumeClient(t, &rsocket.ResumeConfig{Token: []byte("token-1")})
		setup := srv.next(wire.TypeSetup)
		if setup.Flags&wire.FlagResume == 0 || string(setup.ResumeToken) != "token-1" {
			t.Fatalf("SETUP flags %v token %q", setup.Flags, setup.ResumeToken)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("s")})
		if err != nil {
			t.Fatal(err)
		}
		req := srv.next(wire.TypeRequestStream)
		reqLen := uint64(wire.Size(req)) // the client's position after it
		// Two payloads: the client's received position becomes their length.
		p1, p2 := payloadFrame(req.StreamID, "one"), payloadFrame(req.StreamID, "two")
		srv.send(p1)
		srv.send(p2)
		for range 2 {
			if _, err := s.Recv(); err != nil {
				t.Fatal(err)
			}
		}
		// A KEEPALIVE with R is answered with the position.
		srv.send(wire.AppendKeepalive(nil, true, 0, nil))
		ka := srv.next(wire.TypeKeepalive)
		if want := uint64(len(p1) + len(p2)); ka.LastPosition != want {
			t.Fatalf("KEEPALIVE position %d, want %d", ka.LastPosition, want)
		}

		// Break the transport; the client redials and sends RESUME.
		srv.tr.Close()
		peer := <-peers
		resume := peer.next(wire.TypeResume)
		if string(resume.ResumeToken) != "token-1" || resume.LastPosition != uint64(len(p1)+len(p2)) || resume.FirstAvailablePosition != 0 {
			t.Fatalf("RESUME token %q last received %d first available %d; want token-1, %d, 0",
				resume.ResumeToken, resume.LastPosition, resume.FirstAvailablePosition, len(p1)+len(p2))
		}
		// A request made now must wait for RESUME_OK.
		done := make(chan error, 1)
		go func() {
			_, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("rr")})
			done <- err
		}()
		peer.silent() // before RESUME_OK
		// RESUME_OK at 0: the server lost the REQUEST_STREAM, which comes
		// again, then the request-response made while disconnected.
		peer.send(wire.AppendResumeOK(nil, 0))
		again := peer.next(wire.TypeRequestStream)
		if again.StreamID != req.StreamID || string(again.Data) != "s" {
			t.Fatalf("retransmitted %v on stream %d, want the REQUEST_STREAM on %d", again.Type, again.StreamID, req.StreamID)
		}
		rr := peer.next(wire.TypeRequestResponse)
		peer.send(wire.AppendPayload(nil, rr.StreamID, wire.FlagNext|wire.FlagComplete, nil, []byte("answer")))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The next KEEPALIVE still counts from the session's start.
		peer.send(wire.AppendKeepalive(nil, true, reqLen, nil))
		ka = peer.next(wire.TypeKeepalive)
		if want := uint64(len(p1)+len(p2)) + uint64(wire.Size(&wire.Frame{Type: wire.TypePayload, StreamID: rr.StreamID,
			Flags: wire.FlagNext | wire.FlagComplete, Data: []byte("answer")})); ka.LastPosition != want {
			t.Fatalf("KEEPALIVE position after resuming %d, want %d", ka.LastPosition, want)
		}
	})
}

// TestResumeOKBadPosition: a RESUME_OK whose position the client cannot
// serve (beyond what it sent) ends the session with CONNECTION_ERROR.
func TestResumeOKBadPosition(t *testing.T) {
	c, srv, peers := rawResumeClient(t, &rsocket.ResumeConfig{})
	srv.next(wire.TypeSetup)
	srv.tr.Close()
	peer := <-peers
	peer.next(wire.TypeResume)
	peer.send(wire.AppendResumeOK(nil, 12345))
	if f := peer.next(wire.TypeError); f == nil || f.ErrorCode != wire.ErrConnectionError {
		t.Fatalf("client answered %v, want ERROR[CONNECTION_ERROR]", f)
	}
	<-c.Done()
	if !errors.Is(c.Err(), &rsocket.Error{Code: rsocket.CodeConnectionError}) {
		t.Fatalf("client error %v", c.Err())
	}
}

// TestResumeServerChecks: RESUME for an unknown token, or with positions
// the server cannot serve, gets REJECTED_RESUME; the session lives on.
func TestResumeServerChecks(t *testing.T) {
	rc := &rsocket.ResumeConfig{}
	cfg := rsocket.ServerConfig{Resume: rc}
	// Establish a session with token "tok" over a raw client.
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	cli := newRaw(t, ct)
	accepted := make(chan *rsocket.Conn, 1)
	go func() {
		c, err := rsocket.Server(context.Background(), st, cfg)
		if err == nil {
			accepted <- c
		}
	}()
	cli.send(setupFrame(wire.FlagResume, 1))
	server := <-accepted
	defer server.Close()
	if rc.Len() != 1 {
		t.Fatalf("%d sessions", rc.Len())
	}
	// A second SETUP with the same token is refused.
	ct2, st2 := rsocket.Pipe(rsocket.PipeConfig{})
	dup := newRaw(t, ct2)
	go rsocket.Server(context.Background(), st2, cfg)
	dup.send(setupFrame(wire.FlagResume, 1))
	if f := dup.next(wire.TypeError); f == nil || f.ErrorCode != wire.ErrRejectedSetup {
		t.Fatalf("duplicate token: %v", f)
	}
	for _, tc := range []struct {
		name        string
		token       string
		last, first uint64
	}{
		{"unknown token", "other", 0, 0},
		{"client received more than the server sent", "tok", 10, 0},
		{"client cannot retransmit what the server lacks", "tok", 0, 5},
	} {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		r := newRaw(t, ct)
		errc := make(chan error, 1)
		go func() {
			_, err := rsocket.Server(context.Background(), st, cfg)
			errc <- err
		}()
		r.send(wire.AppendResume(nil, 1, 0, []byte(tc.token), tc.last, tc.first))
		f := r.next(wire.TypeError)
		if f == nil || f.ErrorCode != wire.ErrRejectedResume || f.StreamID != 0 {
			t.Fatalf("%s: %v, want ERROR[REJECTED_RESUME]", tc.name, f)
		}
		t.Logf("%s: %s", tc.name, f.Data)
		if err := <-errc; !errors.Is(err, &rsocket.Error{Code: rsocket.CodeRejectedResume}) {
			t.Fatalf("%s: Server returned %v", tc.name, err)
		}
	}
	select {
	case <-server.Done():
		t.Fatalf("session ended: %v", server.Err())
	default:
	}
	// The right token and positions resume: RESUME_OK(0), and Server
	// reports the transport as taken by the session.
	ct3, st3 := rsocket.Pipe(rsocket.PipeConfig{})
	r := newRaw(t, ct3)
	errc := make(chan error, 1)
	go func() {
		_, err := rsocket.Server(context.Background(), st3, cfg)
		errc <- err
	}()
	r.send(wire.AppendResume(nil, 1, 0, []byte("tok"), 0, 0))
	if f := r.next(wire.TypeResumeOK); f == nil || f.Type != wire.TypeResumeOK || f.LastPosition != 0 {
		t.Fatalf("got %v, want RESUME_OK(0)", f)
	}
	if err := <-errc; !errors.Is(err, rsocket.ErrResumed) {
		t.Fatalf("Server returned %v, want ErrResumed", err)
	}
}

// TestKeepalivePositionBeyondSent: a peer's KEEPALIVE that reports a
// position beyond what this side has sent (rsocket-go v0.8.16 echoes its
// own position) is ignored: the frames not yet sent stay in the store, and
// the next resumption retransmits them all.
func TestKeepalivePositionBeyondSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		held := make(chan rsocket.Transport, 1) // the first redial: not read
		peers := make(chan *raw, 1)
		dials := 0
		cfg := &rsocket.ResumeConfig{Redial: func(context.Context) (rsocket.Transport, error) {
			dials++
			if dials == 1 {
				// Two frames fill the pipe: RESUME and the first one
				// retransmitted; the rest wait, unsent.
				ct, st := rsocket.Pipe(rsocket.PipeConfig{Frames: 2})
				held <- st
				return ct, nil
			}
			ct, st := rsocket.Pipe(rsocket.PipeConfig{})
			peers <- newRaw(t, st)
			return ct, nil
		}}
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		srv := newRaw(t, st)
		c, err := rsocket.Client(context.Background(), ct, rsocket.ClientConfig{Resume: cfg, KeepaliveInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		srv.next(wire.TypeSetup)
		srv.tr.Close()
		peer := <-held
		// Sent while disconnected: stored, not sent.
		const n = 8
		var end uint64
		for i := range n {
			data := []byte{byte('a' + i)}
			if err := c.FireAndForget(context.Background(), rsocket.Payload{Data: data}); err != nil {
				t.Fatal(err)
			}
			end += uint64(wire.Size(&wire.Frame{Type: wire.TypeRequestFNF, StreamID: 1, Data: data}))
		}
		// RESUME_OK(0), then a KEEPALIVE acknowledging every frame, while
		// all but one of them still wait to be retransmitted.
		for _, f := range [][]byte{wire.AppendResumeOK(nil, 0), wire.AppendKeepalive(nil, false, end, nil)} {
			b, err := peer.Claim(context.Background(), len(f))
			if err != nil {
				t.Fatal(err)
			}
			copy(b, f)
			peer.Commit(len(f))
		}
		synctest.Wait()
		// The transport breaks before the peer read anything.
		peer.Close()
		p2 := <-peers
		defer p2.tr.Close()
		resume := p2.next(wire.TypeResume)
		if resume.FirstAvailablePosition != 0 {
			t.Fatalf("RESUME: first available position %d, want 0 (nothing was received)", resume.FirstAvailablePosition)
		}
		p2.send(wire.AppendResumeOK(nil, 0))
		for i := range n {
			f := p2.next(wire.TypeRequestFNF)
			if f == nil || f.Type != wire.TypeRequestFNF || string(f.Data) != string(rune('a'+i)) {
				t.Fatalf("retransmitted frame %d: %v", i, f)
			}
		}
		if err := c.Err(); err != nil {
			t.Fatalf("session ended: %v", err)
		}
	})
}
