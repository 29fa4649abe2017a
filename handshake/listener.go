package handshake

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
)

// Accepted is a connection whose transport was negotiated.
type Accepted struct {
	Transport rsocket.Transport
	Kind      Kind
	Remote    net.Addr
}

// Serve is the accept pipeline of an rshm port: it accepts connections
// from ln until ctx is done or ln is closed, negotiates each on a goroutine
// of its own (Server, bounded by cfg.Timeout) and calls handle with the
// negotiated transport on that goroutine. At most cfg.MaxPending
// connections are being negotiated or handled at once; more wait in the
// kernel's accept queue. handle owns the transport; its ctx is ctx. A
// connection whose negotiation fails is closed and logged.
//
// Unless cfg.Mode is TCPOnly, Serve first removes the stale regions of
// dead processes from the shm directory (shm.RemoveStale: what a server
// killed mid-handshake left), and keeps a few regions of the default ring
// size prepared ahead of the hellos that will ask for them.
//
// Serve returns once ctx is done or ln is closed, and every handle call has
// returned; transient accept errors (EMFILE and the like) are retried with
// a backoff, as net/http does. Closing ln is the caller's.
func Serve(ctx context.Context, ln net.Listener, cfg Config, handle func(context.Context, Accepted)) error {
	if cfg.Mode != TCPOnly {
		if removed, err := shm.RemoveStale(shmDir(&cfg)); len(removed) > 0 || err != nil {
			cfg.logger().Info("handshake: removed stale regions", "dir", shmDir(&cfg), "removed", removed, "err", err)
		}
		cfg.pool = newRegionPool(&cfg)
		defer cfg.pool.close()
	}
	sem := make(chan struct{}, cfg.maxPending())
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		c, err := ln.Accept()
		if err != nil {
			<-sem
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			cfg.logger().Warn("handshake: accept", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t, k, err := Server(ctx, c, cfg)
			if err != nil {
				return // Server closed c and logged
			}
			handle(ctx, Accepted{Transport: t, Kind: k, Remote: c.RemoteAddr()})
		}()
	}
}

// Listener serves rshm peers and plain RSocket-over-TCP peers on one TCP
// port through Serve, and hands the negotiated transports to Accept. A
// negotiated connection holds its slot of cfg.MaxPending until it is
// accepted.
//
// Goroutines: Serve's, all ended when Close returns.
type Listener struct {
	ln    net.Listener
	ready chan Accepted

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned
	once   sync.Once
}

// Listen listens on addr, a TCP host:port (normally a loopback address).
func Listen(addr string, cfg Config) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewListener(ln, cfg), nil
}

// NewListener serves connections accepted from ln; it takes ln over.
func NewListener(ln net.Listener, cfg Config) *Listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{ln: ln, ready: make(chan Accepted), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		_ = Serve(ctx, ln, cfg, l.deliver)
	}()
	return l
}

// deliver hands a to Accept, or closes it when the listener closes first.
func (l *Listener) deliver(ctx context.Context, a Accepted) {
	select {
	case l.ready <- a:
	case <-ctx.Done():
		_ = a.Transport.Close()
	}
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Accept waits for the next negotiated connection. The caller owns the
// transport (normally it runs rsocket.Server over it).
func (l *Listener) Accept(ctx context.Context) (Accepted, error) {
	select {
	case a := <-l.ready:
		return a, nil
	case <-ctx.Done():
		return Accepted{}, ctx.Err()
	case <-l.ctx.Done():
		return Accepted{}, ErrClosed
	}
}

// Close stops accepting, aborts the negotiations in progress, closes the
// transports nobody accepted and waits for the listener's goroutines.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.ln.Close()
		<-l.done
	})
	return err
}
