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
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
)

// Transport selects which transports a side uses.
type Transport = handshake.Mode

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

// Wait is how a side waits on its rings; see handshake.Wait.
type Wait = handshake.Wait

const (
	WaitDefault = handshake.WaitDefault
	WaitSpin    = handshake.WaitSpin
	WaitYield   = handshake.WaitYield
	WaitBackoff = handshake.WaitBackoff
	WaitBlock   = handshake.WaitBlock
)

// Config configures Listen and Dial. The zero value works: Auto, 1 MiB
// rings under /dev/shm, the default wait strategy, a 2 s handshake, the
// rsocket defaults.
type Config struct {
	// Transport: Auto (zero), SHMOnly or TCPOnly. A URL scheme given to
	// Dial or Listen (shm://, tcp://) overrides it.
	Transport Transport
	// RingSize is the capacity of each ring in bytes (a power of two);
	// zero means handshake.DefaultRingSize. The largest frame is
	// RingSize/8 + ring.HeaderSlack (64): a payload of RingSize/8 is one
	// frame; the engine fragments larger messages.
	RingSize int
	// Wait is how the receive loop waits for frames; zero is
	// WaitDefault (spin briefly, then park on a futex: ~0% CPU when idle).
	// Over TCP it says how long the receive loop polls the socket before
	// it parks: WaitDefault and WaitBackoff for rsocket.DefaultTCPPoll,
	// WaitBlock not at all, WaitSpin and WaitYield without end.
	Wait Wait
	// PinCPU pins the receive loop's thread to CPU; false (zero) pins
	// nothing.
	PinCPU bool
	CPU    int
	// BindNUMA places the rings on NUMA node NUMANode; false (zero)
	// leaves placement to the kernel.
	BindNUMA bool
	NUMANode int
	// SHM says where regions live and how they are mapped; zero is
	// /dev/shm, prefaulted.
	SHM shm.Config
	// HandshakeTimeout bounds the negotiation of one connection and, on
	// the server, the wait for its SETUP. Zero means
	// handshake.DefaultTimeout.
	HandshakeTimeout time.Duration
	// Client configures connections made by Dial; Server those accepted by
	// a Listener.
	Client rsocket.ClientConfig
	Server rsocket.ServerConfig
	// Logger receives handshake diagnostics; nil is silent.
	Logger *slog.Logger
}

func (c *Config) handshake(mode Transport) handshake.Config {
	return handshake.Config{
		Mode:     mode,
		RingSize: c.RingSize,
		Wait:     c.Wait,
		Timeout:  c.HandshakeTimeout,
		SHM:      c.SHM,
		PinCPU:   c.PinCPU,
		CPU:      c.CPU,
		BindNUMA: c.BindNUMA,
		NUMANode: c.NUMANode,
		Logger:   c.Logger,
	}
}

func (c *Config) timeout() time.Duration {
	if c.HandshakeTimeout <= 0 {
		return handshake.DefaultTimeout
	}
	return c.HandshakeTimeout
}

// ErrBadURL reports an address ParseURL cannot use.
var ErrBadURL = errors.New("rshm: bad address")

// ParseURL splits an rshm address into a TCP host:port and a transport:
// "shm://127.0.0.1:7878" requires shared memory, "tcp://127.0.0.1:7878"
// uses TCP only, and a plain "127.0.0.1:7878" is Auto.
func ParseURL(s string) (addr string, mode Transport, err error) {
	addr, mode = s, Auto
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch strings.ToLower(scheme) {
		case "shm":
			mode = SHMOnly
		case "tcp":
			mode = TCPOnly
		default:
			return "", 0, fmt.Errorf("%w: %q: scheme %q is not shm or tcp", ErrBadURL, s, scheme)
		}
		addr = strings.TrimSuffix(rest, "/")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", 0, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	return addr, mode, nil
}

// resolve applies a URL's scheme over cfg.Transport.
func resolve(s string, cfg *Config) (string, Transport, error) {
	addr, mode, err := ParseURL(s)
	if err != nil {
		return "", 0, err
	}
	if !strings.Contains(s, "://") {
		mode = cfg.Transport
	}
	return addr, mode, nil
}

// Conn is an RSocket connection and the transport it runs on.
type Conn struct {
	*rsocket.Conn
	kind atomic.Uint32 // a Kind; a resumed session may change it
}

func newConn(c *rsocket.Conn, k Kind) *Conn {
	conn := &Conn{Conn: c}
	conn.kind.Store(uint32(k))
	return conn
}

// Kind reports whether the connection runs over shared memory or TCP (for
// a resumable client session: the transport it last resumed on).
func (c *Conn) Kind() Kind { return Kind(c.kind.Load()) }

// Dial connects to addr (host:port, shm://host:port or tcp://host:port),
// negotiates the transport and runs the RSocket client over it.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	a, mode, err := resolve(addr, &cfg)
	if err != nil {
		return nil, err
	}
	hcfg := cfg.handshake(mode)
	t, k, err := handshake.Dial(ctx, a, hcfg)
	if err != nil {
		return nil, err
	}
	conn := newConn(nil, k)
	if r := cfg.Client.Resume; r != nil && r.Redial == nil {
		// A resumable session redials the same address with the same
		// transport choice: shared memory again when it can, else TCP.
		cfg.Client.Resume = &rsocket.ResumeConfig{
			Token:          r.Token,
			SessionTimeout: r.SessionTimeout,
			StoreSize:      r.StoreSize,
			Redial: func(ctx context.Context) (rsocket.Transport, error) {
				t, k, err := handshake.Dial(ctx, a, hcfg)
				if err == nil {
					conn.kind.Store(uint32(k))
				}
				return t, err
			},
		}
	}
	c, err := rsocket.Client(ctx, t, cfg.Client)
	if err != nil {
		return nil, err
	}
	conn.Conn = c
	return conn, nil
}

// Listener accepts rshm and plain RSocket-over-TCP clients on one port.
//
// Goroutines: the handshake listener's (see handshake.Listener), one loop
// that takes its connections, and one per connection waiting for SETUP or
// for Accept; all end when Close returns.
type Listener struct {
	hl    *handshake.Listener
	cfg   Config
	ready chan *Conn
	sem   chan struct{} // a slot per connection waiting for SETUP or Accept

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Listen listens on addr (host:port, or a URL as for Dial, whose scheme
// sets the server's transport). Use a loopback address unless serving
// other hosts over TCP is meant.
func Listen(addr string, cfg Config) (*Listener, error) {
	a, mode, err := resolve(addr, &cfg)
	if err != nil {
		return nil, err
	}
	hl, err := handshake.Listen(a, cfg.handshake(mode))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{hl: hl, cfg: cfg, ready: make(chan *Conn), ctx: ctx, cancel: cancel,
		sem: make(chan struct{}, handshake.DefaultMaxPending)}
	l.wg.Add(1)
	go l.loop()
	return l, nil
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.hl.Addr() }

func (l *Listener) loop() {
	defer l.wg.Done()
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		a, err := l.hl.Accept(l.ctx)
		if err != nil {
			<-l.sem
			return
		}
		l.wg.Add(1)
		go l.setup(a)
	}
}

// setup waits for the client's SETUP, bounded by the handshake timeout,
// and hands the connection to Accept.
func (l *Listener) setup(a handshake.Accepted) {
	defer l.wg.Done()
	defer func() { <-l.sem }()
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.timeout())
	c, err := rsocket.Server(ctx, a.Transport, l.cfg.Server)
	cancel()
	if errors.Is(err, rsocket.ErrResumed) {
		// The transport now carries a session accepted earlier.
		if l.cfg.Logger != nil {
			l.cfg.Logger.Debug("rshm: session resumed", "remote", a.Remote, "kind", a.Kind)
		}
		return
	}
	if err != nil {
		_ = a.Transport.Close()
		if l.cfg.Logger != nil {
			l.cfg.Logger.Debug("rshm: setup failed", "remote", a.Remote, "kind", a.Kind, "err", err)
		}
		return
	}
	select {
	case l.ready <- newConn(c, a.Kind):
	case <-l.ctx.Done():
		_ = c.Close()
	}
}

// Accept waits for the next client whose SETUP was accepted.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.ctx.Done():
		return nil, handshake.ErrClosed
	}
}

// Close stops listening and closes the connections nobody accepted yet;
// accepted connections stay open.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.hl.Close()
		l.wg.Wait()
	})
	return err
}
