package rsocket_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// leaseFunc adapts a function to rsocket.LeaseStrategy.
type leaseFunc func(rsocket.LeaseStats) (rsocket.Lease, time.Duration)

func (f leaseFunc) Next(s rsocket.LeaseStats) (rsocket.Lease, time.Duration) { return f(s) }

// lateLease grants nothing, then n requests for a minute after delay.
func lateLease(n int, delay time.Duration) rsocket.LeaseStrategy {
	var calls atomic.Int32
	return leaseFunc(func(rsocket.LeaseStats) (rsocket.Lease, time.Duration) {
		if calls.Add(1) == 1 {
			return rsocket.Lease{}, delay
		}
		return rsocket.Lease{TTL: time.Minute, Requests: n}, 0
	})
}

// countEcho echoes and counts the requests its handler saw.
type countEcho struct {
	rsockettest.Echo
	n atomic.Int32
}

func (h *countEcho) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	h.n.Add(1)
	return p, nil
}

func (h *countEcho) FireAndForget(context.Context, rsocket.Payload) { h.n.Add(1) }

func leaseServer(h rsocket.Handler, l *rsocket.LeaseConfig) rsocket.ServerConfig {
	return rsocket.ServerConfig{Lease: l, Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return h, nil
	}}
}

func leaseCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// awaitLease retries a request-response until the client holds a lease (a
// request refused with ErrNoLease uses no unit); the successful request
// uses one. Over TCP the LEASE's arrival is announced by nothing but the
// request succeeding.
func awaitLease(t *testing.T, c *rsocket.Conn) {
	t.Helper()
	rsockettest.Eventually(t, 3*time.Second, "a lease", func() bool {
		_, err := c.RequestResponse(leaseCtx(t), rsocket.Payload{Data: []byte("first")})
		if err != nil && !errors.Is(err, rsocket.ErrNoLease) {
			t.Fatalf("waiting for a lease: %v", err)
		}
		return err == nil
	})
}

func isNoLease(err error) bool {
	return errors.Is(err, rsocket.ErrNoLease) && errors.Is(err, &rsocket.Error{Code: rsocket.CodeRejected})
}

// TestLease runs the lease behaviour over the in-process pipe, each test in
// a synctest bubble, and over TCP in real time the tests that wait on
// events only. The others step the fake clock (advance, synctest.Wait):
// their timing is the engine's, whatever the transport.
func TestLease(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T, rsockettest.Dial)
		tcp  bool // waits on events only: runs over TCP too
	}{
		{"NoRequestBeforeLease", testLeaseNoRequestBeforeLease, false},
		{"WaitForLease", testLeaseWait, true},
		{"WaitEndsWithContext", testLeaseWaitContext, false},
		{"WithinAndOverLease", testLeaseOver, true},
		{"Renewal", testLeaseRenewal, true},
		{"Expiry", testLeaseExpiry, false},
		{"ServerCallsClientUnderLease", testLeaseBothDirections, true},
		{"ServerWithoutLease", testLeaseUnsupported, true},
		{"ClientWithoutLease", testLeaseNotAsked, true},
	}
	t.Run("pipe", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { tc.fn(t, pipeDial) })
			})
		}
	})
	t.Run("tcp", func(t *testing.T) {
		for _, tc := range tests {
			if tc.tcp {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, tcpDial) })
			}
		}
	})
}

// Error mode: every kind of request fails with ErrNoLease, at once, until
// the first non-empty LEASE arrives. (Synctest: the fake clock says when
// the LEASE leaves the server.)
func testLeaseNoRequestBeforeLease(t *testing.T, dial rsockettest.Dial) {
	const delay = 200 * time.Millisecond
	h := &countEcho{}
	start := time.Now() // the server's strategy runs at the SETUP, now
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{}},
		leaseServer(h, &rsocket.LeaseConfig{Strategy: lateLease(10, delay)}))
	ctx := leaseCtx(t)
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); !isNoLease(err) {
		t.Errorf("RequestResponse: got %v, want ErrNoLease", err)
	}
	if err := p.Client.FireAndForget(ctx, rsocket.Payload{}); !isNoLease(err) {
		t.Errorf("FireAndForget: got %v, want ErrNoLease", err)
	}
	if _, err := p.Client.RequestStream(ctx, rsocket.Payload{}); !isNoLease(err) {
		t.Errorf("RequestStream: got %v, want ErrNoLease", err)
	}
	if _, err := p.Client.RequestChannel(ctx, rsocket.Payload{}); !isNoLease(err) {
		t.Errorf("RequestChannel: got %v, want ErrNoLease", err)
	}
	if err := p.Client.RequestResponseAsync(rsocket.Payload{}, &waiter{h: &countHandler{}, done: make(chan struct{}, 1)}); !isNoLease(err) {
		t.Errorf("RequestResponseAsync: got %v, want ErrNoLease", err)
	}
	if d := time.Since(start); d != 0 {
		t.Errorf("refusals took %v, want immediate", d)
	}
	// METADATA_PUSH is not a request: not leased.
	if err := p.Client.MetadataPush(ctx, []byte("md")); err != nil {
		t.Errorf("MetadataPush: %v", err)
	}
	advance(delay - time.Millisecond)
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); !isNoLease(err) {
		t.Errorf("%v after SETUP, before the LEASE: got %v, want ErrNoLease", time.Since(start), err)
	}
	advance(time.Millisecond)
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("first")}); err != nil {
		t.Fatalf("%v after SETUP, the LEASE sent: %v", time.Since(start), err)
	}
	if got := h.n.Load(); got != 1 {
		t.Errorf("server handled %d requests, want 1", got)
	}
}

// WaitForLease: the request waits for the LEASE, then succeeds.
func testLeaseWait(t *testing.T, dial rsockettest.Dial) {
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{WaitForLease: true}},
		leaseServer(&countEcho{}, &rsocket.LeaseConfig{Strategy: lateLease(10, 150*time.Millisecond)}))
	start := time.Now()
	got, err := p.Client.RequestResponse(leaseCtx(t), rsocket.Payload{Data: []byte("hi")})
	if err != nil || string(got.Data) != "hi" {
		t.Fatalf("got %q, %v", got.Data, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("request answered after %v, before the LEASE", d)
	}
	s, err := p.Client.RequestStream(leaseCtx(t), rsocket.Payload{Data: []byte("s")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := s.Recv(); err != nil {
			break
		}
		n++
	}
	if n != 3 {
		t.Errorf("stream: %d items, want 3", n)
	}
}

// A waiting request ends with its ctx, and with the connection. (Synctest:
// Wait says when the request waits.)
func testLeaseWaitContext(t *testing.T, dial rsockettest.Dial) {
	never := leaseFunc(func(rsocket.LeaseStats) (rsocket.Lease, time.Duration) { return rsocket.Lease{}, 0 })
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{WaitForLease: true}},
		leaseServer(&countEcho{}, &rsocket.LeaseConfig{Strategy: never}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Client.RequestResponse(context.Background(), rsocket.Payload{})
		errc <- err
	}()
	synctest.Wait() // the request waits for a lease
	p.Client.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, rsocket.ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("waiting request not released by Close")
	}
}

// Requests within the lease succeed; the next fails locally, and the server
// sees exactly the leased ones.
func testLeaseOver(t *testing.T, dial rsockettest.Dial) {
	h := &countEcho{}
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{}},
		leaseServer(h, &rsocket.LeaseConfig{Strategy: rsocket.FixedLease{Requests: 3, TTL: time.Minute}}))
	ctx := leaseCtx(t)
	awaitLease(t, p.Client)
	if err := p.Client.FireAndForget(ctx, rsocket.Payload{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); !isNoLease(err) {
		t.Fatalf("4th request: got %v, want ErrNoLease", err)
	}
	// The fire-and-forget's handler runs on its own goroutine.
	rsockettest.Eventually(t, 2*time.Second, "3 requests handled", func() bool { return h.n.Load() >= 3 })
	if got := h.n.Load(); got != 3 {
		t.Errorf("server handled %d requests, want 3", got)
	}
}

// FixedLease renews every TTL; a waiting requester proceeds with each grant.
func testLeaseRenewal(t *testing.T, dial rsockettest.Dial) {
	const ttl = 100 * time.Millisecond
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{WaitForLease: true}},
		leaseServer(&countEcho{}, &rsocket.LeaseConfig{Strategy: rsocket.FixedLease{Requests: 2, TTL: ttl}}))
	ctx := leaseCtx(t)
	start := time.Now()
	for i := range 5 {
		if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// 5 requests at 2 per lease need the first grant and two renewals.
	if d := time.Since(start); d < 2*ttl-20*time.Millisecond {
		t.Errorf("5 requests in %v: faster than 2 per %v", d, ttl)
	}
}

// A lease is valid for its TTL from reception; after that, ErrNoLease.
// (Synctest: the fake clock puts the requests either side of the TTL.)
func testLeaseExpiry(t *testing.T, dial rsockettest.Dial) {
	const ttl = 60 * time.Millisecond
	once := leaseFunc(func(rsocket.LeaseStats) (rsocket.Lease, time.Duration) {
		return rsocket.Lease{TTL: ttl, Requests: 100}, 0
	})
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{}},
		leaseServer(&countEcho{}, &rsocket.LeaseConfig{Strategy: once}))
	synctest.Wait() // the LEASE has arrived
	if _, err := p.Client.RequestResponse(leaseCtx(t), rsocket.Payload{}); err != nil {
		t.Fatalf("under the lease: %v", err)
	}
	advance(ttl - time.Millisecond)
	if _, err := p.Client.RequestResponse(leaseCtx(t), rsocket.Payload{}); err != nil {
		t.Fatalf("1ms before the TTL: %v", err)
	}
	advance(time.Millisecond)
	if _, err := p.Client.RequestResponse(leaseCtx(t), rsocket.Payload{}); !isNoLease(err) {
		t.Fatalf("after TTL: got %v, want ErrNoLease", err)
	}
	// A manual grant revives it.
	if err := p.Server.GrantLease(leaseCtx(t), rsocket.Lease{TTL: time.Minute, Requests: 1}); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	if _, err := p.Client.RequestResponse(leaseCtx(t), rsocket.Payload{}); err != nil {
		t.Fatalf("after the manual grant: %v", err)
	}
}

// Lease is symmetric: the server's requests run under the client's lease.
func testLeaseBothDirections(t *testing.T, dial rsockettest.Dial) {
	clientH := &countEcho{}
	p := rsockettest.Connect(t, dial,
		rsocket.ClientConfig{Handler: clientH, Lease: &rsocket.LeaseConfig{
			WaitForLease: true, Strategy: rsocket.FixedLease{Requests: 2, TTL: time.Minute}}},
		leaseServer(&countEcho{}, &rsocket.LeaseConfig{WaitForLease: true}))
	ctx := leaseCtx(t)
	for i := range 2 {
		got, err := p.Server.RequestResponse(ctx, rsocket.Payload{Data: []byte("srv")})
		if err != nil || string(got.Data) != "srv" {
			t.Fatalf("server request %d: %q %v", i, got.Data, err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := p.Server.RequestResponse(short, rsocket.Payload{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("server's 3rd request: got %v, want to wait for a lease", err)
	}
	if got := clientH.n.Load(); got != 2 {
		t.Errorf("client handled %d requests, want 2", got)
	}
	// The other direction, under the server's default FixedLease.
	if _, err := p.Client.RequestResponse(ctx, rsocket.Payload{}); err != nil {
		t.Errorf("client request: %v", err)
	}
}

// A client asking for lease from a server without lease support is refused
// with UNSUPPORTED_SETUP.
func testLeaseUnsupported(t *testing.T, dial rsockettest.Dial) {
	ct, st := dial(t)
	ctx := leaseCtx(t)
	errc := make(chan error, 1)
	go func() {
		_, err := rsocket.Server(ctx, st, leaseServer(&countEcho{}, nil))
		errc <- err
	}()
	c, err := rsocket.Client(ctx, ct, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{WaitForLease: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.RequestResponse(ctx, rsocket.Payload{})
	var e *rsocket.Error
	if !errors.As(err, &e) || e.Code != rsocket.CodeUnsupportedSetup {
		t.Errorf("client: got %v, want UNSUPPORTED_SETUP", err)
	}
	if err := <-errc; !errors.Is(err, &rsocket.Error{Code: rsocket.CodeUnsupportedSetup}) {
		t.Errorf("server: got %v", err)
	}
}

// A server with lease config and a client without L: no leasing at all.
func testLeaseNotAsked(t *testing.T, dial rsockettest.Dial) {
	var info rsocket.SetupInfo
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{}, rsocket.ServerConfig{
		Lease: &rsocket.LeaseConfig{Strategy: rsocket.FixedLease{Requests: 1, TTL: time.Minute}},
		Acceptor: func(_ context.Context, s rsocket.SetupInfo, _ *rsocket.Conn) (rsocket.Handler, error) {
			info = s
			return &countEcho{}, nil
		},
	})
	if info.Lease {
		t.Error("SetupInfo.Lease set without L")
	}
	for i := range 3 {
		if _, err := p.Client.RequestResponse(leaseCtx(t), rsocket.Payload{}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if err := p.Server.GrantLease(leaseCtx(t), rsocket.Lease{TTL: time.Second, Requests: 1}); !errors.Is(err, rsocket.ErrLeaseNotNegotiated) {
		t.Errorf("GrantLease: got %v", err)
	}
}

// TestLeaseRequesterSendsNothing: against a raw server, a request beyond
// the lease puts no frame on the wire, and the client grants its own lease
// right after SETUP.
func TestLeaseRequesterSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		t.Cleanup(func() { ct.Close(); st.Close() })
		r := newRaw(t, st)
		c, err := rsocket.Client(context.Background(), ct, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{
			WaitForLease: true, Strategy: rsocket.FixedLease{Requests: 7, TTL: 3 * time.Second}}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if f := r.next(0); f.Type != wire.TypeSetup || f.Flags&wire.FlagLease == 0 {
			t.Fatalf("first frame %v flags %x, want SETUP with L", f.Type, f.Flags)
		}
		if f := r.next(0); f.Type != wire.TypeLease || f.TTL != 3000 || f.NumRequests != 7 || f.StreamID != 0 {
			t.Fatalf("got %+v, want LEASE ttl 3000 n 7", f)
		}
		done := make(chan error, 1)
		go func() {
			_, err := c.RequestResponse(context.Background(), rsocket.Payload{Data: []byte("a")})
			done <- err
		}()
		// Nothing before the LEASE.
		r.silent()
		r.send(wire.AppendLease(nil, 60000, 1, nil))
		f := r.next(0)
		if f.Type != wire.TypeRequestResponse || f.StreamID != 1 {
			t.Fatalf("got %v on %d", f.Type, f.StreamID)
		}
		r.send(wire.AppendPayload(nil, 1, wire.FlagNext|wire.FlagComplete, nil, []byte("ok")))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The lease of 1 is used: the next request waits and sends nothing.
		ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
		defer cancel()
		if _, err := c.RequestResponse(ctx, rsocket.Payload{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
		r.quiet() // KEEPALIVEs at most
	})
}

// leaseServerWithRaw starts a leasing server Conn and a raw client that
// sends SETUP with L; it returns the raw peer and the server Conn.
func leaseServerWithRaw(t *testing.T, strategy rsocket.LeaseStrategy) (*raw, *rsocket.Conn) {
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	t.Cleanup(func() { ct.Close(); st.Close() })
	r := newRaw(t, ct)
	connc := make(chan *rsocket.Conn, 1)
	go func() {
		c, err := rsocket.Server(context.Background(), st, leaseServer(&rsockettest.Echo{}, &rsocket.LeaseConfig{Strategy: strategy}))
		if err != nil {
			t.Error(err)
		}
		connc <- c
	}()
	r.send(setupFrame(wire.FlagLease, 1))
	c := <-connc
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(func() { c.Close() })
	return r, c
}

// expect reads the next frame and checks its type, stream and (for ERROR)
// code.
func expect(t *testing.T, r *raw, typ wire.FrameType, id uint32, code wire.ErrorCode) *wire.Frame {
	t.Helper()
	f := r.next(0)
	if f == nil || f.Type != typ || f.StreamID != id || typ == wire.TypeError && f.ErrorCode != code {
		t.Fatalf("got %+v, want %v on stream %d (code %v)", f, typ, id, code)
	}
	return f
}

// TestLeaseResponderRejects: a peer that ignores its lease gets
// ERROR[REJECTED] on the stream; the connection stays up. Covers a request
// over the count, a fragmented request counting once, fire-and-forget, an
// expired lease and an empty one.
func TestLeaseResponderRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		strategy := leaseFunc(func(rsocket.LeaseStats) (rsocket.Lease, time.Duration) {
			if calls.Add(1) == 1 {
				return rsocket.Lease{}, 0 // an empty lease: no request allowed
			}
			return rsocket.Lease{TTL: time.Minute, Requests: 1}, 0
		})
		r, c := leaseServerWithRaw(t, strategy)
		ctx := leaseCtx(t)
		if f := expect(t, r, wire.TypeLease, 0, 0); f.NumRequests != 0 {
			t.Fatalf("first LEASE grants %d", f.NumRequests)
		}
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, nil, []byte("x")))
		expect(t, r, wire.TypeError, 1, wire.ErrRejected)

		// One unit: the first request is served, the second rejected.
		if err := c.GrantLease(ctx, rsocket.Lease{TTL: time.Minute, Requests: 1}); err != nil {
			t.Fatal(err)
		}
		if f := expect(t, r, wire.TypeLease, 0, 0); f.NumRequests != 1 || f.TTL != 60000 {
			t.Fatalf("LEASE %+v", f)
		}
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 3, 0, 0, nil, []byte("a")))
		if f := expect(t, r, wire.TypePayload, 3, 0); string(f.Data) != "a" {
			t.Fatalf("response %q", f.Data)
		}
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 5, 0, 0, nil, []byte("b")))
		expect(t, r, wire.TypeError, 5, wire.ErrRejected)
		r.send(wire.AppendRequest(nil, wire.TypeRequestFNF, 7, 0, 0, nil, []byte("f")))
		expect(t, r, wire.TypeError, 7, wire.ErrRejected)

		// A fragmented request is one unit.
		if err := c.GrantLease(ctx, rsocket.Lease{TTL: time.Minute, Requests: 1}); err != nil {
			t.Fatal(err)
		}
		expect(t, r, wire.TypeLease, 0, 0)
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 9, wire.FlagFollows, 0, nil, []byte("fr")))
		r.send(wire.AppendPayload(nil, 9, wire.FlagNext|wire.FlagFollows, nil, []byte("ag")))
		r.send(wire.AppendPayload(nil, 9, wire.FlagNext, nil, []byte("ment")))
		if f := expect(t, r, wire.TypePayload, 9, 0); string(f.Data) != "fragment" {
			t.Fatalf("response %q", f.Data)
		}
		r.send(wire.AppendRequest(nil, wire.TypeRequestStream, 11, 0, 5, nil, []byte("s")))
		expect(t, r, wire.TypeError, 11, wire.ErrRejected)
		// A rejected fragmented request: its later fragments are ignored.
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 13, wire.FlagFollows, 0, nil, []byte("x")))
		expect(t, r, wire.TypeError, 13, wire.ErrRejected)
		r.send(wire.AppendPayload(nil, 13, wire.FlagNext, nil, []byte("y")))

		// An expired lease.
		if err := c.GrantLease(ctx, rsocket.Lease{TTL: 20 * time.Millisecond, Requests: 5}); err != nil {
			t.Fatal(err)
		}
		expect(t, r, wire.TypeLease, 0, 0)
		advance(20 * time.Millisecond) // the TTL is over
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 15, 0, 0, nil, []byte("late")))
		expect(t, r, wire.TypeError, 15, wire.ErrRejected)

		// The connection is still up: a keepalive is answered.
		r.send(wire.AppendKeepalive(nil, true, 0, []byte("ping")))
		if f := r.next(wire.TypeKeepalive); f == nil || f.Type != wire.TypeKeepalive || string(f.Data) != "ping" {
			t.Fatalf("got %+v, want KEEPALIVE echo", f)
		}
		if c.Err() != nil {
			t.Fatalf("connection failed: %v", c.Err())
		}
	})
}

// TestLeaseStrategies: the shipped strategies' grants.
func TestLeaseStrategies(t *testing.T) {
	tests := []struct {
		name     string
		s        rsocket.LeaseStrategy
		stats    rsocket.LeaseStats
		want     rsocket.Lease
		wantWait time.Duration
	}{
		{"fixed defaults", rsocket.FixedLease{}, rsocket.LeaseStats{},
			rsocket.Lease{TTL: rsocket.DefaultLeaseTTL, Requests: rsocket.DefaultLeaseRequests}, rsocket.DefaultLeaseTTL},
		{"fixed", rsocket.FixedLease{Requests: 5, TTL: time.Second}, rsocket.LeaseStats{InFlight: 100},
			rsocket.Lease{TTL: time.Second, Requests: 5}, time.Second},
		{"in-flight idle", rsocket.InFlightLease{Max: 10, TTL: time.Second, Period: 100 * time.Millisecond}, rsocket.LeaseStats{},
			rsocket.Lease{TTL: time.Second, Requests: 10}, 100 * time.Millisecond},
		{"in-flight busy", rsocket.InFlightLease{Max: 10, TTL: time.Second}, rsocket.LeaseStats{InFlight: 4},
			rsocket.Lease{TTL: time.Second, Requests: 6}, time.Second},
		{"in-flight saturated", rsocket.InFlightLease{Max: 10}, rsocket.LeaseStats{InFlight: 12},
			rsocket.Lease{TTL: rsocket.DefaultLeaseTTL}, rsocket.DefaultLeaseTTL},
	}
	for i, tc := range tests {
		got, wait := tc.s.Next(tc.stats)
		if got.TTL != tc.want.TTL || got.Requests != tc.want.Requests || wait != tc.wantWait {
			t.Errorf("%d %s: got %+v wait %v; want %+v wait %v", i, tc.name, got, wait, tc.want, tc.wantWait)
		}
	}
}

// TestLeaseStatsInFlight: at its next call the strategy sees the requests
// being served, and those used and rejected under the previous grant.
func TestLeaseStatsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seen := make(chan rsocket.LeaseStats, 16)
		strategy := leaseFunc(func(s rsocket.LeaseStats) (rsocket.Lease, time.Duration) {
			seen <- s
			return rsocket.Lease{TTL: time.Minute, Requests: 2}, 300 * time.Millisecond
		})
		r, _ := leaseServerWithRaw(t, strategy)
		<-seen
		expect(t, r, wire.TypeLease, 0, 0)
		// A stream of 5 items with 1 credit stays open on the server.
		r.send(wire.AppendRequest(nil, wire.TypeRequestStream, 1, 0, 1, []byte("5"), []byte("s")))
		expect(t, r, wire.TypePayload, 1, 0)
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 3, 0, 0, nil, []byte("a")))
		expect(t, r, wire.TypePayload, 3, 0)
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 5, 0, 0, nil, []byte("b")))
		expect(t, r, wire.TypeError, 5, wire.ErrRejected)
		select {
		case s := <-seen:
			if s != (rsocket.LeaseStats{InFlight: 1, Used: 2, Rejected: 1}) {
				t.Errorf("got %+v, want InFlight 1, Used 2, Rejected 1", s)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("strategy not called again")
		}
	})
}

// TestLeaseAsyncAllocs: under lease, the asynchronous request path still
// does not allocate.
func TestLeaseAsyncAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	ct, st := pipeDial(t)
	p := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{WaitForLease: true}},
		leaseServer(inlineEcho{}, &rsocket.LeaseConfig{Strategy: rsocket.FixedLease{Requests: 1 << 30, TTL: time.Minute}}))
	if _, err := p.Client.RequestResponse(leaseCtx(t), rsocket.Payload{}); err != nil {
		t.Fatal(err)
	}
	h := &countHandler{}
	done := make(chan struct{}, 1)
	w := waiter{h: h, done: done}
	data := []byte("hello")
	run := func() {
		if err := p.Client.RequestResponseAsync(rsocket.Payload{Data: data}, &w); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	for range 100 {
		run()
	}
	if allocs := testing.AllocsPerRun(1000, run); allocs != 0 {
		t.Errorf("RequestResponseAsync under lease: %.2f allocs per request, want 0", allocs)
	}
}
