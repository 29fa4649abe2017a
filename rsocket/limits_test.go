package rsocket_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// Tests of the limits on what a peer can make a server hold (the Limits
// section of docs/operations.md).

// countConn counts the bytes read from a net.Conn.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

type serverResult struct {
	c   *rsocket.Conn
	err error
}

// tcpServer runs Server with cfg for every connection made to a loopback
// listener; what each returns goes to the channel. read counts the bytes
// the server side has read from its sockets.
func tcpServer(t *testing.T, cfg rsocket.ServerConfig) (addr string, results chan serverResult, read *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	results = make(chan serverResult, 256)
	read = new(atomic.Int64)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		l.Close()
	})
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := rsocket.Server(ctx, rsocket.NewTCPTransport(countConn{nc, read}), cfg)
				if c != nil {
					t.Cleanup(func() { c.Close() })
				}
				results <- serverResult{c, err}
			}()
		}
	}()
	return l.Addr().String(), results, read
}

// tcpRaw is a hand-driven peer over a TCP socket: it writes frames with
// their length prefix and reads the frames the Conn under test sends.
type tcpRaw struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *tcpRaw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &tcpRaw{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *tcpRaw) write(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

func (r *tcpRaw) send(frame []byte) {
	r.t.Helper()
	n := len(frame)
	r.write(append([]byte{byte(n >> 16), byte(n >> 8), byte(n)}, frame...))
}

// next returns the next frame other than KEEPALIVE, or the read error.
func (r *tcpRaw) next() (*wire.Frame, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var hdr [3]byte
		if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
			return nil, err
		}
		b := make([]byte, int(hdr[0])<<16|int(hdr[1])<<8|int(hdr[2]))
		if _, err := io.ReadFull(r.r, b); err != nil {
			return nil, err
		}
		f := new(wire.Frame)
		if err := wire.Parse(b, f); err != nil {
			return nil, err
		}
		if f.Type != wire.TypeKeepalive {
			return f, nil
		}
	}
}

// heap returns the bytes of live heap objects after a collection.
func heap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func echoAcceptor(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
	return &rsockettest.Echo{}, nil
}

// TestSetupSizeLimit: a first frame declared longer than MaxSetupSize is
// answered with ERROR[INVALID_SETUP] and a close, without waiting for its
// bytes; one within the limit is read, and after SETUP the limit is gone.
func TestSetupSizeLimit(t *testing.T) {
	addr, results, _ := tcpServer(t, rsocket.ServerConfig{Acceptor: echoAcceptor})
	// The attack: a 16 MiB SETUP announced, nothing behind it.
	r := dialRaw(t, addr)
	r.write([]byte{0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 0})
	f, err := r.next()
	if err != nil || f.Type != wire.TypeError || f.ErrorCode != wire.ErrInvalidSetup {
		t.Fatalf("got %v, %v; want ERROR[INVALID_SETUP]", f, err)
	}
	t.Logf("refused: %s", f.Data)
	if _, err := r.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the ERROR: %v, want EOF", err)
	}
	if res := <-results; !errors.Is(res.err, &rsocket.Error{Code: rsocket.CodeInvalidSetup}) {
		t.Fatalf("Server returned %v", res.err)
	}

	// A configured limit: one byte over is refused, the limit itself is
	// read, and a request longer than it follows the SETUP.
	setup := setupFrame(0, 1)
	for _, tc := range []struct {
		limit int
		ok    bool
	}{{len(setup) - 1, false}, {len(setup), true}} {
		addr, results, _ := tcpServer(t, rsocket.ServerConfig{Acceptor: echoAcceptor, MaxSetupSize: tc.limit})
		r := dialRaw(t, addr)
		r.send(setup)
		res := <-results
		if (res.err == nil) != tc.ok {
			t.Fatalf("limit %d, SETUP of %d bytes: Server returned %v", tc.limit, len(setup), res.err)
		}
		if !tc.ok {
			continue
		}
		big := make([]byte, 4*len(setup))
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, nil, big))
		if f, err := r.next(); err != nil || f.Type != wire.TypePayload || len(f.Data) != len(big) {
			t.Fatalf("request after SETUP: %v, %v", f, err)
		}
	}
}

// TestDeclaredLengthMemory: connections that declare 16 MiB frames after
// SETUP and send only part of them cost the server about the bytes that
// arrived, not the bytes declared.
func TestDeclaredLengthMemory(t *testing.T) {
	const (
		conns = 16
		sent  = 200 << 10 // bytes of each 16 MiB frame that arrive
	)
	addr, results, read := tcpServer(t, rsocket.ServerConfig{Acceptor: echoAcceptor})
	base := heap()
	setup := setupFrame(0, 1)
	for range conns {
		r := dialRaw(t, addr)
		r.send(setup)
		// A 16 MiB REQUEST_FNF: length, header, then part of the data.
		head := []byte{0xff, 0xff, 0xff}
		head = wire.AppendHeader(head, 1, wire.TypeRequestFNF, 0)
		r.write(append(head, make([]byte, sent-len(head))...))
	}
	for range conns {
		if res := <-results; res.err != nil {
			t.Fatal(res.err)
		}
	}
	want := int64(conns * (len(setup) + 3 + sent))
	rsockettest.Eventually(t, 10*time.Second, "the server to read what was sent", func() bool { return read.Load() == want })
	grown := heap() - base
	t.Logf("heap grew %d KiB for %d connections", grown>>10, conns)
	if limit := int64(conns * (1 << 20)); grown > limit {
		t.Fatalf("heap grew %d MiB for %d connections that sent %d KiB each; want under %d MiB", grown>>20, conns, sent>>10, limit>>20)
	}
}

// TestSetupTimeout: a connection that sends no SETUP within SetupTimeout
// gets ERROR[CONNECTION_ERROR] and is closed; Server returns
// ErrSetupTimeout. A negative SetupTimeout waits for ever.
func TestSetupTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		defer ct.Close()
		r := newRaw(t, ct)
		errc := make(chan error, 1)
		go func() {
			_, err := rsocket.Server(context.Background(), st, rsocket.ServerConfig{})
			errc <- err
		}()
		advance(rsocket.DefaultSetupTimeout - time.Millisecond)
		select {
		case err := <-errc:
			t.Fatalf("Server returned %v before the setup timeout", err)
		default:
		}
		advance(time.Millisecond)
		if f := r.next(wire.TypeError); f == nil || f.ErrorCode != wire.ErrConnectionError {
			t.Fatalf("got %v, want ERROR[CONNECTION_ERROR]", f)
		}
		err := <-errc
		var te interface{ Timeout() bool }
		if !errors.Is(err, rsocket.ErrSetupTimeout) || !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("Server returned %v, want ErrSetupTimeout", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		defer ct.Close()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := rsocket.Server(ctx, st, rsocket.ServerConfig{SetupTimeout: -1})
			errc <- err
		}()
		advance(time.Hour)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Server returned %v, want the context's error", err)
		}
	})
}

// TestSetupTimeoutStopsAtSetup: the deadline is for the first frame; an
// Acceptor that takes longer does not trip it.
func TestSetupTimeoutStopsAtSetup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		r := newRaw(t, ct)
		t.Cleanup(func() { ct.Close() })
		connc := make(chan *rsocket.Conn, 1)
		go func() {
			c, err := rsocket.Server(context.Background(), st, rsocket.ServerConfig{SetupTimeout: time.Second,
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					time.Sleep(2 * time.Second)
					return nil, nil
				}})
			if err != nil {
				t.Error(err)
			}
			connc <- c
		}()
		advance(900 * time.Millisecond)
		r.send(setupFrame(0, 1))
		c := <-connc
		if c == nil {
			return
		}
		defer c.Close()
		r.quiet()
	})
}

// TestReassemblyBudget: many streams of fragments that never end are
// refused past the connection's reassembly budget (ERROR[INVALID] on each
// refused stream, the connection stays up), the server's heap stays near
// the budget, and once the connection closes the server holds none of it.
func TestReassemblyBudget(t *testing.T) {
	const (
		budget  = 1 << 20
		streams = 40
		frags   = 16
		frag    = 32 << 10 // 512 KiB a stream, half the budget
	)
	addr, results, _ := tcpServer(t, rsocket.ServerConfig{Acceptor: echoAcceptor, MaxReassemblyBytes: budget})
	base := heap()
	r := dialRaw(t, addr)
	r.send(setupFrame(0, 1))
	res := <-results
	if res.err != nil {
		t.Fatal(res.err)
	}
	server := res.c
	data := make([]byte, frag)
	for i := range streams {
		id := uint32(2*i + 1)
		r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, id, wire.FlagFollows, 0, nil, data))
		for range frags - 1 {
			r.send(wire.AppendPayload(nil, id, wire.FlagFollows|wire.FlagNext, nil, data))
		}
	}
	// A request after them: its answer comes after every refusal.
	last := uint32(2*streams + 1)
	r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, last, 0, 0, nil, []byte("ping")))
	refused := map[uint32]bool{}
	for {
		f, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if f.StreamID == last && f.Type == wire.TypePayload {
			break
		}
		if f.Type != wire.TypeError || f.ErrorCode != wire.ErrInvalid {
			t.Fatalf("stream %d: %v, want ERROR[INVALID]", f.StreamID, f)
		}
		refused[f.StreamID] = true
	}
	held := heap() - base
	t.Logf("%d of %d streams refused; heap grew %d KiB", len(refused), streams, held>>10)
	if refused[1] || len(refused) < streams-2 {
		t.Fatalf("refused %d streams (the first: %v), want all but one or two after the first", len(refused), refused[1])
	}
	if held > 4*budget {
		t.Fatalf("heap grew %d KiB with a reassembly budget of %d KiB", held>>10, budget>>10)
	}
	// The connection is up, and lets the memory go once it closes (while
	// the application still refers to it).
	r.c.Close()
	<-server.Done()
	rsockettest.Eventually(t, 5*time.Second, "the heap to shrink", func() bool { return heap()-base < budget/2 })
	runtime.KeepAlive(server)
}

// TestReassemblyBudgetFreed: a partial message whose stream ended another
// way (the requester cancelled it) no longer counts against the budget.
func TestReassemblyBudgetFreed(t *testing.T) {
	const budget = 64 << 10
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	t.Cleanup(func() { ct.Close() })
	r := newRaw(t, ct)
	go func() {
		c, _ := rsocket.Server(context.Background(), st, rsocket.ServerConfig{Acceptor: echoAcceptor, MaxReassemblyBytes: budget})
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	r.send(setupFrame(0, 1))
	half := make([]byte, budget/2)
	// Stream 1: most of the budget, then cancelled by its requester.
	r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 1, wire.FlagFollows, 0, nil, half))
	r.send(wire.AppendPayload(nil, 1, wire.FlagFollows|wire.FlagNext, nil, half[:budget/4]))
	r.send(wire.AppendCancel(nil, 1))
	// Stream 3: as much again, completed.
	r.send(wire.AppendRequest(nil, wire.TypeRequestResponse, 3, wire.FlagFollows, 0, nil, half))
	r.send(wire.AppendPayload(nil, 3, wire.FlagNext, nil, half[:budget/4]))
	f := r.next(wire.TypePayload)
	if f == nil || f.Type != wire.TypePayload || f.StreamID != 3 || len(f.Data) != budget*3/4 {
		t.Fatalf("got %v, want the echo of stream 3", f)
	}
}

// TestServerMaxLifetimeCap: a client whose SETUP asks for a 24-day max
// lifetime is still closed after the server's cap (DefaultMaxLifetimeCap)
// of silence, with ERROR[CONNECTION_ERROR]; a negative cap keeps the
// client's value.
func TestServerMaxLifetimeCap(t *testing.T) {
	days := wire.Append(nil, &wire.Frame{Type: wire.TypeSetup, MajorVersion: 1, KeepaliveInterval: 1<<31 - 1, MaxLifetime: 1<<31 - 1,
		MetadataMIME: []byte("a/b"), DataMIME: []byte("c/d")})
	for _, tc := range []struct {
		cap    time.Duration
		closes time.Duration // 0: not within an hour
	}{{0, rsocket.DefaultMaxLifetimeCap}, {time.Minute, time.Minute}, {-1, 0}} {
		synctest.Test(t, func(t *testing.T) {
			ct, st := rsocket.Pipe(rsocket.PipeConfig{})
			defer ct.Close()
			r := newRaw(t, ct)
			connc := make(chan *rsocket.Conn, 1)
			go func() {
				c, _ := rsocket.Server(context.Background(), st, rsocket.ServerConfig{MaxLifetime: tc.cap})
				connc <- c
			}()
			r.send(days)
			c := <-connc
			defer c.Close()
			start := time.Now()
			if tc.closes == 0 {
				advance(time.Hour)
				if err := c.Err(); err != nil {
					t.Fatalf("no cap: closed with %v", err)
				}
				return
			}
			select {
			case <-c.Done():
			case <-time.After(time.Hour):
				t.Fatalf("cap %v: open after an hour of silence", tc.cap)
			}
			if d := time.Since(start); d < tc.closes || d > tc.closes*5/4 {
				t.Errorf("cap %v: closed after %v", tc.cap, d)
			}
			if !errors.Is(c.Err(), rsocket.ErrKeepaliveTimeout) {
				t.Errorf("closed with %v, want ErrKeepaliveTimeout", c.Err())
			}
			if f := r.next(wire.TypeError); f == nil || f.ErrorCode != wire.ErrConnectionError {
				t.Errorf("client got %v, want ERROR[CONNECTION_ERROR]", f)
			}
		})
	}
}

// holdStream answers a request-stream by holding it open until the
// requester cancels.
type holdStream struct{ rsocket.RejectAll }

func (holdStream) RequestStream(ctx context.Context, _ rsocket.Payload, _ *rsocket.StreamWriter) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestServerIdleTimeout: a connection without streams or requests for
// IdleTimeout is closed with ERROR[CONNECTION_CLOSE] (keepalives do not
// count); requests and open streams keep it.
func TestServerIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		p := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{KeepaliveInterval: time.Second}, rsocket.ServerConfig{
			IdleTimeout: time.Minute,
			Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
				return holdStream{}, nil
			},
		})
		ctx := context.Background()
		advance(50 * time.Second)
		if err := p.Client.FireAndForget(ctx, rsocket.Payload{Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		advance(50 * time.Second) // 100 s in, 50 s after the request
		sctx, cancel := context.WithCancel(ctx)
		s, err := p.Client.RequestStream(sctx, rsocket.Payload{Data: []byte("hold")})
		if err != nil {
			t.Fatal(err)
		}
		advance(10 * time.Minute)
		if err := p.Server.Err(); err != nil {
			t.Fatalf("closed with a stream open: %v", err)
		}
		cancel()
		_, _ = s.Recv()
		start := time.Now()
		select {
		case <-p.Server.Done():
		case <-time.After(time.Hour):
			t.Fatal("open an hour after the last stream ended")
		}
		if d := time.Since(start); d < time.Minute || d > time.Minute*3/2 {
			t.Errorf("closed %v after the last stream ended, want a minute", d)
		}
		if !errors.Is(p.Server.Err(), rsocket.ErrIdleTimeout) {
			t.Errorf("server closed with %v, want ErrIdleTimeout", p.Server.Err())
		}
		<-p.Client.Done()
		if !errors.Is(p.Client.Err(), &rsocket.Error{Code: rsocket.CodeConnectionClose}) {
			t.Errorf("client closed with %v, want CONNECTION_CLOSE", p.Client.Err())
		}
	})
}

func ExampleServerConfig_limits() {
	cfg := rsocket.ServerConfig{
		MaxSetupSize:       16 << 10,         // SETUP carries a small token
		SetupTimeout:       2 * time.Second,  // clients are on the same host
		MaxLifetime:        time.Minute,      // whatever the client asks for
		IdleTimeout:        10 * time.Minute, // drop idle clients
		MaxReassemblyBytes: 64 << 20,
	}
	fmt.Println(cfg.IdleTimeout)
	// Output: 10m0s
}

// TestConcurrentFragmentedRequests: concurrent requesters of messages
// larger than the MTU, over TCP (a transport without a held claim), send
// each message's fragments together, and so do the responder's answers:
// the receivers reassemble one message at a time and stay within a budget
// of two, where interleaved fragments would need room for all of them.
func TestConcurrentFragmentedRequests(t *testing.T) {
	const (
		size    = 256 << 10
		budget  = 2*size + 64<<10
		mtu     = 4 << 10
		senders = 16
	)
	addr, _, _ := tcpServer(t, rsocket.ServerConfig{Acceptor: echoAcceptor, MTU: mtu, MaxReassemblyBytes: budget})
	ctx := t.Context()
	c, err := rsocket.DialTCP(ctx, addr, rsocket.ClientConfig{MTU: mtu, MaxReassemblyBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			p := rsocket.Payload{Data: bytes.Repeat([]byte{byte(i)}, size)}
			for k := range 4 {
				r, err := c.RequestResponse(ctx, p)
				if err != nil {
					t.Errorf("requester %d, request %d: %v", i, k, err)
					return
				}
				if !bytes.Equal(r.Data, p.Data) {
					t.Errorf("requester %d, request %d: answer of %d bytes differs", i, k, len(r.Data))
					return
				}
			}
		})
	}
	wg.Wait()
}
