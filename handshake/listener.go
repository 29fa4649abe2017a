package handshake

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// Listener serves rshm peers and plain RSocket-over-TCP peers on one TCP
// port: each accepted connection is sniffed and negotiated (Server) on a
// goroutine of its own, at most cfg.MaxPending at a time, each bounded by
// cfg.Timeout. Accept returns the connections whose negotiation succeeded;
// failed ones are closed and logged.
//
// Goroutines: one accept loop, plus one per connection being negotiated or
// waiting for Accept; all end when Close returns.
type Listener struct {
	ln    net.Listener
	cfg   Config
	ready chan Accepted
	sem   chan struct{} // a slot per connection in negotiation or in ready

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Accepted is a connection whose transport was negotiated.
type Accepted struct {
	Transport rsocket.Transport
	Kind      Kind
	Remote    net.Addr
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
	l := &Listener{
		ln:     ln,
		cfg:    cfg,
		ready:  make(chan Accepted),
		sem:    make(chan struct{}, cfg.maxPending()),
		ctx:    ctx,
		cancel: cancel,
	}
	l.wg.Add(1)
	go l.loop()
	return l
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

func (l *Listener) loop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		c, err := l.ln.Accept()
		if err != nil {
			<-l.sem
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: wait a little, like net/http.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.cfg.logger().Warn("handshake: accept", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		l.wg.Add(1)
		go l.serve(c)
	}
}

func (l *Listener) serve(c net.Conn) {
	defer l.wg.Done()
	defer func() { <-l.sem }()
	t, k, err := Server(l.ctx, c, l.cfg)
	if err != nil {
		return // Server closed c and logged
	}
	select {
	case l.ready <- Accepted{Transport: t, Kind: k, Remote: c.RemoteAddr()}:
	case <-l.ctx.Done():
		_ = t.Close()
	}
}

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
		l.wg.Wait()
	})
	return err
}
