package rshm

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestServeWithoutAccept: a listener serves every client whether or not
// anyone calls Accept, also past the handshake's MaxPending.
func TestServeWithoutAccept(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxPending = 4
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 3 * cfg.MaxPending {
		mode := []string{"shm://", "tcp://"}[i%2]
		c, err := Dial(ctxT(t), mode+l.Addr().String(), cfg)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		defer c.Close()
		roundTrip(t, c)
	}
}

// TestAcceptEveryConnection: Accept returns each served connection once,
// in order, skipping those that closed before anyone accepted them, and
// ErrClosed (a net.ErrClosed) once the listener is closed.
func TestAcceptEveryConnection(t *testing.T) {
	cfg := testConfig(t)
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var clients []*Conn
	for i := range n {
		// Over TCP Dial returns once the SETUP is accepted, so the
		// listener has counted every client when the loop ends.
		c, err := Dial(ctxT(t), "tcp://"+l.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			c.Close() // gone before it is accepted
			continue
		}
		clients = append(clients, c)
	}
	// Wait until the listener has seen the closed ones go (admitted
	// counts the connections served and not yet ended) and queued the
	// others (a Dial returns once the SETUP is accepted, a moment before
	// the connection is queued).
	rsockettest.Eventually(t, 5*time.Second, "the closed clients to leave the queue", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.admitted == len(clients) && l.queue.Len() == len(clients)
	})
	for i := range clients {
		s, err := l.Accept(ctxT(t))
		if err != nil {
			t.Fatalf("accept %d: %v", i, err)
		}
		if s.Kind() != clients[i].Kind() {
			t.Errorf("accept %d: kind %v, client %v", i, s.Kind(), clients[i].Kind())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if c, err := l.Accept(ctx); err == nil {
		t.Fatalf("Accept returned a connection beyond the %d served: %v", len(clients), c.Kind())
	}
	l.Close()
	if _, err := l.Accept(ctxT(t)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if err := l.Serve(ctxT(t)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve after Close: %v, want net.ErrClosed", err)
	}
	for _, c := range clients {
		select {
		case <-c.Done():
		case <-ctxT(t).Done():
			t.Fatal("a client stayed connected after the listener closed")
		}
	}
}

// TestMaxConns: a listener at MaxConns refuses the next client, which
// Dial reports; once a client leaves, a new one gets in.
func TestMaxConns(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxConns = 2
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var cs []*Conn
	for range cfg.MaxConns {
		// Over TCP Dial returns once the SETUP is accepted: the listener
		// has counted the connection by then.
		c, err := Dial(ctxT(t), "tcp://"+l.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	_, err = Dial(ctxT(t), "tcp://"+l.Addr().String(), cfg)
	var re *rsocket.Error
	if !errors.As(err, &re) || re.Code != rsocket.CodeRejectedSetup || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("Dial over TCP beyond MaxConns: %v, want REJECTED_SETUP saying the server is busy", err)
	}
	// Over shared memory Dial does not wait for the SETUP's answer: the
	// refusal is the first request's error.
	c, err := Dial(ctxT(t), "shm://"+l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("x")})
	if !errors.As(err, &re) || re.Code != rsocket.CodeRejectedSetup {
		t.Fatalf("a request over shared memory beyond MaxConns: %v, want REJECTED_SETUP", err)
	}
	c.Close()
	cs[0].Close()
	rsockettest.Eventually(t, 5*time.Second, "a place to free up", func() bool {
		c, err := Dial(ctxT(t), l.Addr().String(), cfg)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// TestShutdownDrains: Shutdown lets a stream in flight finish, then
// closes the connection and returns.
func TestShutdownDrains(t *testing.T) {
	cfg := testConfig(t)
	started, release := make(chan struct{}), make(chan struct{})
	cfg.Server.Acceptor = func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return slowResponder{started: started, release: release}, nil
	}
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ctxT(t), l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	answer := make(chan error, 1)
	go func() {
		p, err := c.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("x")})
		if err == nil && string(p.Data) != "done" {
			err = errors.New("wrong answer " + string(p.Data))
		}
		answer <- err
	}()
	<-started // the request is in the server's hands
	shut := make(chan error, 1)
	go func() { shut <- l.Shutdown(ctxT(t)) }()
	rsockettest.Eventually(t, 5*time.Second, "Shutdown to stop the listener", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.closed
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned with a request in flight: %v", err)
	default:
	}
	close(release)
	if err := <-answer; err != nil {
		t.Fatalf("request in flight during Shutdown: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := Dial(ctxT(t), l.Addr().String(), cfg); err == nil {
		t.Fatal("Dial succeeded after Shutdown")
	}
}

// TestDialSilentServer: Dial against a server that accepts and never
// answers fails within the setup deadline, saying so.
func TestDialSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, mode := range []string{"", "tcp://"} {
		cfg := testConfig(t)
		cfg.Timeout = 200 * time.Millisecond
		_, err := Dial(ctxT(t), mode+ln.Addr().String(), cfg)
		if err == nil || !strings.Contains(err.Error(), "no RSocket answer within the setup deadline") {
			t.Fatalf("Dial %q to a silent server: %v", mode, err)
		}
	}
}

type slowResponder struct {
	rsocket.RejectAll
	started, release chan struct{}
}

func (s slowResponder) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	close(s.started)
	<-s.release
	return rsocket.Payload{Data: []byte("done")}, nil
}

// TestStatsOverSharedMemory: a shared-memory connection's counters see its
// frames, its rings, and its receive loop parking while idle.
func TestStatsOverSharedMemory(t *testing.T) {
	cfg := testConfig(t)
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := Dial(ctxT(t), "shm://"+l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		roundTrip(t, c)
	}
	st := c.Stats().Transport
	if st.FramesSent < 5 || st.FramesReceived < 5 || st.BytesSent == 0 || st.RingSize != cfg.RingSize {
		t.Fatalf("stats after 5 round trips over shared memory: %+v", st)
	}
	// Idle, the receive loop parks (the first park may need a moment).
	rsockettest.Eventually(t, 5*time.Second, "the idle receive loop to park", func() bool {
		return c.Stats().Transport.Parks > 0
	})
}

// counting wraps a transport and counts the frames committed through it.
type counting struct {
	rsocket.Transport
	n *atomic.Int64
}

func (c counting) Commit(n int) error {
	c.n.Add(1)
	return c.Transport.Commit(n)
}

// TestWrapTransport: Dial runs the connection over what WrapTransport
// makes of its transport, whatever the kind.
func TestWrapTransport(t *testing.T) {
	cfg := testConfig(t)
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, scheme := range []string{"shm://", "tcp://"} {
		var frames atomic.Int64
		var kind Kind
		ccfg := cfg
		ccfg.WrapTransport = func(tr rsocket.Transport, k Kind) rsocket.Transport {
			kind = k
			return counting{tr, &frames}
		}
		c, err := Dial(ctxT(t), scheme+l.Addr().String(), ccfg)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
		c.Close()
		if frames.Load() < 2 || kind != c.Kind() {
			t.Fatalf("%s: %d frames through the wrapper, kind %v; want the SETUP and the request, kind %v", scheme, frames.Load(), kind, c.Kind())
		}
	}
}
