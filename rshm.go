// Package rshm is RSocket over shared memory: one call to listen, one to
// dial. Co-located peers (same kernel, same /dev/shm, same user) talk
// through a pair of shared-memory rings; any other RSocket peer, rsocket-js
// over TCP included, is served over TCP on the same port.
//
//	l, _ := rshm.Listen("127.0.0.1:7878", rshm.Config{Server: rsocket.ServerConfig{Acceptor: ...}})
//	c, _ := l.Accept(ctx) // c.Kind() is KindSHM or KindTCP
//
//	c, _ := rshm.Dial(ctx, "shm://127.0.0.1:7878", rshm.Config{})
//	p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("hi")})
//
// The handshake, its messages and its checks are described in package
// handshake; the protocol engine is package rsocket.
package rshm

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/wstransport"
)

// Mode selects which transports a side uses: Auto, SHMOnly or TCPOnly.
type Mode = handshake.Mode

const (
	// Auto uses shared memory with a co-located peer and TCP otherwise.
	Auto = handshake.Auto
	// SHMOnly requires shared memory; a failed handshake is an error
	// (*handshake.Error) naming the step that failed.
	SHMOnly = handshake.SHMOnly
	// TCPOnly uses RSocket over TCP only.
	TCPOnly = handshake.TCPOnly
)

// Kind is the transport a connection ended up on: KindSHM or KindTCP.
type Kind = handshake.Kind

const (
	KindTCP = handshake.KindTCP
	KindSHM = handshake.KindSHM
)

// Wait is how a side waits on its rings; see shmtransport.Wait.
type Wait = handshake.Wait

const (
	WaitDefault = handshake.WaitDefault
	WaitSpin    = handshake.WaitSpin
	WaitYield   = handshake.WaitYield
	WaitBackoff = handshake.WaitBackoff
	WaitBlock   = handshake.WaitBlock
)

// Handshake configures the negotiation of a connection and the
// shared-memory transport it builds: handshake.Config, whose fields a
// Config promotes.
type Handshake = handshake.Config

// Config configures Listen and Dial. The zero value works: Auto, 1 MiB
// rings under /dev/shm, the default wait strategy, a 2 s handshake, the
// rsocket defaults.
//
//	cfg := rshm.Config{Handshake: rshm.Handshake{Wait: rshm.WaitSpin, PinCPU: true, CPU: 3}}
//	cfg.RingSize = 4 << 20 // the Handshake's fields are the Config's
type Config struct {
	// Handshake: the mode (a URL scheme given to Dial or Listen
	// overrides it), ring sizes, wait strategy and park timeout, pinning
	// and NUMA placement, where regions live, the negotiation timeout
	// (Timeout, which on a server also bounds the wait for SETUP), the
	// server's MaxPending and the logger, which is also the engine's
	// where Client.Logger or Server.Logger is nil: one to set. The
	// largest frame over shared memory is RingSize/8 + ring.HeaderSlack;
	// the engine fragments larger messages.
	Handshake
	// Client configures connections made by Dial; Server those accepted by
	// a Listener.
	Client rsocket.ClientConfig
	Server rsocket.ServerConfig
	// WrapTransport, if set, wraps every transport a connection made by
	// Dial runs on (the first and, for a resumable session, each one it
	// resumes on): a frame dump, a fault injector, a meter. A wrapper that
	// does not pass a transport's optional interfaces on (rsocket.Driver
	// and the others) takes the shared-memory fast paths away with them.
	WrapTransport func(t rsocket.Transport, k Kind) rsocket.Transport
	// WebSocket configures connections over WebSocket: those Dial makes to
	// a ws:// or wss:// URL, and those a Listener serves through
	// WebSocketHandler or at a ws:// URL.
	WebSocket wstransport.Options
	// MaxConns (Listener) bounds the connections a listener serves at
	// once; a client beyond it is refused with REJECTED_SETUP ("server
	// busy"). Zero means DefaultMaxConns; negative means no bound.
	MaxConns int
}

// DefaultMaxConns is the bound of a Listener's connections when
// Config.MaxConns is zero.
const DefaultMaxConns = 10000

// ErrClosed is what Accept and Serve return once the listener is closed.
// It matches net.ErrClosed.
var ErrClosed = fmt.Errorf("rshm: listener closed: %w", net.ErrClosed)

// wrap applies WrapTransport to t, of kind k.
func (c *Config) wrap(t rsocket.Transport, k Kind) rsocket.Transport {
	if c.WrapTransport == nil {
		return t
	}
	return c.WrapTransport(t, k)
}

// oneLogger makes Handshake.Logger the engine's logger too, where
// Client.Logger or Server.Logger is not set: one logger for the whole
// connection.
func (c *Config) oneLogger() {
	if c.Logger == nil {
		return
	}
	if c.Client.Logger == nil {
		c.Client.Logger = c.Logger
	}
	if c.Server.Logger == nil {
		c.Server.Logger = c.Logger
	}
}

// timeout is the setup deadline: it bounds a Dial (connect, negotiation,
// the first KEEPALIVE answer over TCP) and a server's wait for SETUP.
func (c *Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return handshake.DefaultTimeout
	}
	return c.Timeout
}

// ErrBadURL reports an address ParseURL cannot use.
var ErrBadURL = errors.New("rshm: bad address")

// ParseURL splits an rshm address into a TCP host:port and a mode:
// "shm://host:port" requires shared memory, "tcp://host:port" uses TCP
// only, and a plain "host:port" is Auto. Schemes are case-insensitive and
// a trailing slash is dropped. An empty host means 127.0.0.1: rshm listens
// on every interface only when asked to ("0.0.0.0:port" or "[::]:port").
// Port 0 asks the kernel for a free port.
func ParseURL(s string) (addr string, mode Mode, err error) {
	hostport, mode := s, Auto
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch strings.ToLower(scheme) {
		case "shm":
			mode = SHMOnly
		case "tcp":
			mode = TCPOnly
		default:
			return "", 0, fmt.Errorf("%w: %q: scheme %q is not shm or tcp", ErrBadURL, s, scheme)
		}
		hostport = strings.TrimSuffix(rest, "/")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	if port == "" {
		return "", 0, fmt.Errorf("%w: %q: missing port", ErrBadURL, s)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), mode, nil
}

// URL writes addr with the scheme of mode: what ParseURL reads back.
func URL(addr string, mode Mode) string {
	switch mode {
	case SHMOnly:
		return "shm://" + addr
	case TCPOnly:
		return "tcp://" + addr
	}
	return addr
}

// resolve parses s and returns the handshake configuration for it: a URL's
// scheme overrides cfg.Mode.
func resolve(s string, cfg *Config) (string, handshake.Config, error) {
	addr, mode, err := ParseURL(s)
	if err != nil {
		return "", handshake.Config{}, err
	}
	hcfg := cfg.Handshake
	if strings.Contains(s, "://") {
		hcfg.Mode = mode
	}
	return addr, hcfg, nil
}

// Conn is an RSocket connection and the transport it runs on.
type Conn struct {
	*rsocket.Conn
	kind     atomic.Uint32 // a Kind; a resumed session may change it
	fallback atomic.Pointer[error]
}

func newConn(c *rsocket.Conn, k Kind) *Conn {
	conn := &Conn{Conn: c}
	conn.kind.Store(uint32(k))
	return conn
}

// Kind reports whether the connection runs over shared memory or TCP (for
// a resumable client session: the transport it last resumed on).
func (c *Conn) Kind() Kind { return Kind(c.kind.Load()) }

// Fallback reports why a connection dialed in Auto mode to a loopback
// address runs over TCP instead of shared memory: the server's refusal,
// a failed co-location check, or a server that does not speak rshm. It is
// nil on shared memory, for other modes and for non-loopback addresses,
// where TCP is the plan rather than a fallback.
func (c *Conn) Fallback() error {
	if p := c.fallback.Load(); p != nil {
		return *p
	}
	return nil
}

// Dial connects to addr (host:port, shm://host:port or tcp://host:port),
// negotiates the transport and runs the RSocket client over it.
//
// Over TCP (and WebSocket) Dial returns once the server has accepted the
// SETUP: it waits for the answer to a KEEPALIVE sent after it
// (rsocket.Conn.Ping; the server reads frames in order), so that a server
// that rejects the SETUP, or is not an RSocket server at all, fails Dial
// with an error that says so instead of the first request. Over shared
// memory the handshake has already shown an rshm server, and Dial returns
// without that round trip (BenchmarkConn/connect-shm): a rejected SETUP
// (a server at MaxConns) is the connection's error and its first
// request's. The whole of it is bounded by the handshake Timeout (the
// setup deadline) and ctx.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	cfg.oneLogger()
	if u, ok, err := wsURL(addr); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return dialWS(ctx, u, cfg)
	}
	a, hcfg, err := resolve(addr, &cfg)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	conn := newConn(nil, KindTCP)
	user := hcfg.OnFallback
	hcfg.OnFallback = func(err error) {
		conn.fallback.Store(&err)
		if user != nil {
			user(err)
		} else if cfg.Logger != nil {
			cfg.Logger.Info("rshm: on TCP instead of shared memory", "addr", a, "err", err)
		}
	}
	t, k, err := handshake.Dial(dctx, a, hcfg)
	if err != nil {
		return nil, dialErr(ctx, a, &cfg, err)
	}
	conn.kind.Store(uint32(k))
	if r := cfg.Client.Resume; r != nil && r.Redial == nil {
		// A resumable session redials the same address with the same
		// transport choice: shared memory again when it can, else TCP.
		cfg.Client.Resume = r.WithRedial(func(ctx context.Context) (rsocket.Transport, error) {
			t, k, err := handshake.Dial(ctx, a, hcfg)
			if err != nil {
				return nil, err
			}
			conn.kind.Store(uint32(k))
			return cfg.wrap(t, k), nil
		})
	}
	c, err := rsocket.Client(dctx, cfg.wrap(t, k), cfg.Client)
	if err != nil {
		return nil, err
	}
	if k != KindSHM {
		if _, err := c.Ping(dctx); err != nil {
			_ = c.Close()
			return nil, dialErr(ctx, a, &cfg, err)
		}
	}
	conn.Conn = c
	return conn, nil
}

// dialErr names the cause of a failed Dial to addr: a peer that did not
// answer within the setup deadline is not (or not yet) an RSocket server.
// ctx is the caller's.
func dialErr(ctx context.Context, addr string, cfg *Config, err error) error {
	var ne net.Error
	if ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("rshm: dial %s: no RSocket answer within the setup deadline (%v): %w", addr, cfg.timeout(), err)
	}
	return fmt.Errorf("rshm: dial %s: %w", addr, err)
}

// Listener serves rshm and plain RSocket-over-TCP clients on one port, as
// http.Server serves HTTP: every client whose SETUP is accepted is served
// (its requests answered by the Handler the Acceptor returns) whether or
// not anyone calls Accept. Accept is optional: it hands out the served
// connections in order, for a server that makes requests of its clients
// or wants to see them; connections that close before they are accepted
// are dropped from its queue.
//
// The listener owns every connection it served, accepted or not: Close
// closes them all at once, Shutdown lets their streams finish first.
//
// Admission is handshake.Serve's: a connection being negotiated or waiting
// for its SETUP holds one of Handshake.MaxPending places per stage and is
// evicted by a newcomer when it has stalled; Config.MaxConns bounds the
// connections served.
//
// Goroutines: handshake.Serve's, and one per served connection that
// watches for its end; all ended when Close or Shutdown returns.
type Listener struct {
	ln       net.Listener
	cfg      Config
	maxConns int

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned

	mu        sync.Mutex
	conns     map[*Conn]*list.Element // served and open; the element is in queue until accepted
	queue     list.List               // *Conn served and not yet accepted, oldest first
	wake      chan struct{}           // closed and replaced when queue grows or the listener closes
	admitted  int                     // SETUPs accepted, counted against maxConns until forgotten
	closed    bool
	collected bool // Close or Shutdown took the list of conns
	closedCh  chan struct{}
	watchers  sync.WaitGroup
}

// Listen listens on addr (host:port, or a URL as for Dial, whose scheme
// sets the server's mode) and starts serving. An empty host is 127.0.0.1
// (see ParseURL).
//
// A ws://host:port/path URL serves RSocket over WebSocket instead, from an
// HTTP server of its own at that path (see WebSocketHandler to add it to
// an existing server, TLS included).
func Listen(addr string, cfg Config) (*Listener, error) {
	cfg.oneLogger()
	if u, ok, err := wsURL(addr); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return listenWS(u, cfg)
	}
	a, hcfg, err := resolve(addr, &cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, err
	}
	l := newListener(ln, cfg)
	go func() {
		defer close(l.done)
		_ = handshake.Serve(l.ctx, ln, hcfg, l.setup)
	}()
	return l, nil
}

// newListener makes the Listener of ln; its caller starts the goroutine
// that serves ln and closes done when it returns.
func newListener(ln net.Listener, cfg Config) *Listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		ln: ln, cfg: cfg, maxConns: cfg.MaxConns,
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		conns: make(map[*Conn]*list.Element), wake: make(chan struct{}), closedCh: make(chan struct{}),
	}
	if l.maxConns == 0 {
		l.maxConns = DefaultMaxConns
	}
	return l
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// setup waits for the client's SETUP, bounded by the setup deadline, and
// serves the connection.
func (l *Listener) setup(ctx context.Context, a handshake.Accepted) {
	scfg := l.cfg.Server
	// The acceptor runs on the connection's receive goroutine; ended says
	// this goroutine gave up on the setup, so that a place in maxConns is
	// taken only for a connection that will be served or released.
	var mu sync.Mutex
	admitted, ended := false, false
	user := scfg.Acceptor
	scfg.Acceptor = func(ctx context.Context, setup rsocket.SetupInfo, c *rsocket.Conn) (rsocket.Handler, error) {
		mu.Lock()
		if ended || !l.admit() {
			mu.Unlock()
			return nil, fmt.Errorf("server busy: %d connections", l.maxConns)
		}
		admitted = true
		mu.Unlock()
		if user == nil {
			return nil, nil
		}
		return user(ctx, setup, c)
	}
	sctx, cancel := context.WithTimeout(ctx, l.cfg.timeout())
	c, err := rsocket.Server(sctx, a.Transport, scfg)
	cancel()
	if err != nil {
		mu.Lock()
		ended = true
		if admitted {
			l.release()
		}
		mu.Unlock()
	}
	if errors.Is(err, rsocket.ErrResumed) {
		// The transport now carries a session accepted earlier.
		l.debug("rshm: session resumed", "remote", a.Remote, "kind", a.Kind)
		return
	}
	if err != nil {
		_ = a.Transport.Close()
		l.debug("rshm: setup failed", "remote", a.Remote, "kind", a.Kind, "err", err)
		return
	}
	l.serve(newConn(c, a.Kind))
}

// admit counts a SETUP against maxConns, or reports that the listener is
// full.
func (l *Listener) admit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.maxConns > 0 && l.admitted >= l.maxConns {
		return false
	}
	l.admitted++
	return true
}

func (l *Listener) release() {
	l.mu.Lock()
	l.admitted--
	l.mu.Unlock()
}

// serve tracks c until it closes and queues it for Accept.
func (l *Listener) serve(c *Conn) {
	l.mu.Lock()
	if l.collected {
		// Close or Shutdown has taken the list of connections already
		// (a WebSocket setup that ended after it).
		l.admitted--
		l.mu.Unlock()
		_ = c.Close()
		return
	}
	if l.closed {
		// Closing: Close or Shutdown takes it with the others once the
		// pipeline has stopped, and closes it as it closes them.
		l.conns[c] = nil
	} else {
		l.conns[c] = l.queue.PushBack(c)
		l.wakeLocked()
	}
	l.watchers.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.watchers.Done()
		<-c.Done()
		l.mu.Lock()
		if e := l.conns[c]; e != nil {
			l.queue.Remove(e)
		}
		delete(l.conns, c)
		l.admitted--
		l.mu.Unlock()
	}()
}

func (l *Listener) wakeLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

func (l *Listener) debug(msg string, args ...any) {
	if l.cfg.Logger != nil {
		l.cfg.Logger.Debug(msg, args...)
	}
}

// Accept returns the oldest served connection not accepted yet, waiting
// for one if there is none. Once the listener is closed it returns
// ErrClosed (which matches net.ErrClosed).
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	for {
		l.mu.Lock()
		if e := l.queue.Front(); e != nil {
			c := l.queue.Remove(e).(*Conn)
			l.conns[c] = nil
			l.mu.Unlock()
			return c, nil
		}
		if l.closed {
			l.mu.Unlock()
			return nil, ErrClosed
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Conns returns the connections the listener serves now, accepted or
// not, in no particular order: for statistics (Conn.Stats) and for
// servers that address their clients.
func (l *Listener) Conns() []*Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		out = append(out, c)
	}
	return out
}

// Serve blocks until the listener is closed (by Close or Shutdown), and
// returns ErrClosed, or until ctx ends: then it closes the listener as
// Close does and returns ctx's error.
func (l *Listener) Serve(ctx context.Context) error {
	select {
	case <-l.closedCh:
		return ErrClosed
	case <-ctx.Done():
		_ = l.Close()
		return ctx.Err()
	}
}

// stop marks the listener closed, stops accepting and waits for the
// pipeline; it returns the open connections, or false if the listener
// was already closed.
func (l *Listener) stop() ([]*Conn, bool, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, false, nil
	}
	l.closed = true
	close(l.closedCh)
	l.wakeLocked()
	l.mu.Unlock()
	l.cancel()
	err := l.ln.Close()
	<-l.done // no setup is running: no connection joins conns from now on
	l.mu.Lock()
	l.collected = true
	open := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		open = append(open, c)
	}
	l.mu.Unlock()
	return open, true, err
}

// Close stops listening, aborts the connections being negotiated and
// closes every connection the listener served, accepted or not. It is
// safe to call more than once; Accept and Serve then return ErrClosed.
func (l *Listener) Close() error {
	open, first, err := l.stop()
	if !first {
		return nil
	}
	for _, c := range open {
		_ = c.Close()
	}
	l.watchers.Wait()
	return err
}

// Shutdown closes the listener gracefully: it stops accepting, aborts the
// connections still being negotiated, and closes every connection it
// served with rsocket.Conn.CloseGracefully, which lets the streams in
// flight (in both directions) finish and refuses new ones. It returns when
// all have closed, or when ctx ends: the connections still open are then
// closed at once and Shutdown returns ctx's error.
func (l *Listener) Shutdown(ctx context.Context) error {
	open, first, err := l.stop()
	if !first {
		return nil
	}
	errs := make(chan error, len(open))
	for _, c := range open {
		go func() { errs <- c.CloseGracefully(ctx) }()
	}
	for range open {
		if cerr := <-errs; cerr != nil && err == nil {
			err = cerr
		}
	}
	l.watchers.Wait()
	return err
}
