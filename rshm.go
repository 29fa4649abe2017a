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
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/rsocket"
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
	// server's MaxPending and the logger. The largest frame over shared
	// memory is RingSize/8 + ring.HeaderSlack; the engine fragments
	// larger messages.
	Handshake
	// Client configures connections made by Dial; Server those accepted by
	// a Listener.
	Client rsocket.ClientConfig
	Server rsocket.ServerConfig
}

// timeout is the negotiation timeout, which also bounds a server's wait
// for SETUP.
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
	a, hcfg, err := resolve(addr, &cfg)
	if err != nil {
		return nil, err
	}
	t, k, err := handshake.Dial(ctx, a, hcfg)
	if err != nil {
		return nil, err
	}
	conn := newConn(nil, k)
	if r := cfg.Client.Resume; r != nil && r.Redial == nil {
		// A resumable session redials the same address with the same
		// transport choice: shared memory again when it can, else TCP.
		cfg.Client.Resume = r.WithRedial(func(ctx context.Context) (rsocket.Transport, error) {
			t, k, err := handshake.Dial(ctx, a, hcfg)
			if err == nil {
				conn.kind.Store(uint32(k))
			}
			return t, err
		})
	}
	c, err := rsocket.Client(ctx, t, cfg.Client)
	if err != nil {
		return nil, err
	}
	conn.Conn = c
	return conn, nil
}

// Listener accepts rshm and plain RSocket-over-TCP clients on one port.
// Its pipeline is handshake.Serve: each connection is negotiated and then
// waits for its SETUP on a goroutine of its own, and holds one of
// Handshake.MaxPending slots until Accept takes it.
//
// Goroutines: handshake.Serve's, all ended when Close returns.
type Listener struct {
	ln    net.Listener
	cfg   Config
	ready chan *Conn

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned
	once   sync.Once
}

// Listen listens on addr (host:port, or a URL as for Dial, whose scheme
// sets the server's mode). An empty host is 127.0.0.1 (see ParseURL).
func Listen(addr string, cfg Config) (*Listener, error) {
	a, hcfg, err := resolve(addr, &cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{ln: ln, cfg: cfg, ready: make(chan *Conn), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		_ = handshake.Serve(ctx, ln, hcfg, l.setup)
	}()
	return l, nil
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// setup waits for the client's SETUP, bounded by the handshake timeout,
// and hands the connection to Accept.
func (l *Listener) setup(ctx context.Context, a handshake.Accepted) {
	sctx, cancel := context.WithTimeout(ctx, l.cfg.timeout())
	c, err := rsocket.Server(sctx, a.Transport, l.cfg.Server)
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
	case <-ctx.Done():
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
		err = l.ln.Close()
		<-l.done
	})
	return err
}
