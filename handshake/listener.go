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
// negotiated transport on that goroutine. handle owns the transport; its
// ctx ends when ctx does, when handle returns, or when the connection is
// evicted (below). A connection whose negotiation fails is closed and
// logged.
//
// Admission: a connection is in one of two stages until handle returns:
// being sniffed and negotiated, then in handle (for rshm.Listener: waiting
// for its SETUP). Each stage holds at most cfg.MaxPending connections. A
// newcomer to a full stage evicts the connection that has been there
// longest, once that one has been there EvictAge (its ctx ends with
// ErrEvicted), and waits for that until then; the accept loop waits with
// it, leaving later connections in the kernel's accept queue. A flood of
// idle or stalled sockets thus holds at most MaxPending connections'
// memory per stage and delays a real client by at most about EvictAge.
// A remote peer (not loopback) may hold a quarter of a stage at most
// (ErrPeerBusy beyond, unless its own oldest can be evicted).
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
	negotiating := newStage("negotiating", cfg.maxPending(), EvictAge)
	handling := newStage("handling", cfg.maxPending(), EvictAge)
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	for {
		cctx, cancel := context.WithCancelCause(ctx)
		e := &entry{cancel: cancel}
		if err := admit(ctx, negotiating, e, &cfg); err != nil {
			cancel(nil)
			return err
		}
		c, err := ln.Accept()
		if err != nil {
			negotiating.leave(e)
			cancel(nil)
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
		negotiating.restart(e) // its time counts from the accept
		if !isLoopback(c.RemoteAddr()) {
			if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
				e.peer = ta.IP.String()
			}
		}
		if evicted, err := negotiating.claimPeer(e); err != nil {
			cfg.logger().Debug("handshake: refused a connection", "remote", c.RemoteAddr(), "err", err)
			_ = c.Close()
			cancel(nil)
			continue
		} else if evicted != nil {
			cfg.logger().Debug("handshake: evicted a connection of the same peer", "stage", negotiating.name, "peer", e.peer)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel(nil)
			t, k, err := Server(cctx, c, cfg)
			negotiating.leave(e)
			if err != nil {
				return // Server closed c and logged
			}
			if err := admit(cctx, handling, e, &cfg); err != nil {
				_ = t.Close()
				return
			}
			defer handling.leave(e)
			handle(cctx, Accepted{Transport: t, Kind: k, Remote: c.RemoteAddr()})
		}()
	}
}

// admit puts e into s, counting it against its peer's share, and logs the
// connection it evicted.
func admit(ctx context.Context, s *stage, e *entry, cfg *Config) error {
	evicted, err := s.enter(ctx, e)
	if err == nil && e.peer != "" {
		var ev *entry
		if ev, err = s.claimPeer(e); ev != nil {
			evicted = ev
		}
	}
	if evicted != nil {
		cfg.logger().Debug("handshake: evicted a connection", "stage", s.name, "max", s.max)
	}
	return err
}

// Listener serves rshm peers and plain RSocket-over-TCP peers on one TCP
// port through Serve, and hands the negotiated transports to Accept. A
// negotiated connection holds its place in Serve's second stage until it
// is accepted: one not accepted within EvictAge may be evicted when the
// stage is full.
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
