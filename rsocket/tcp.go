package rsocket

import (
	"context"
	"errors"
	"net"
	"time"
)

// DialTCP connects to an RSocket server at addr ("host:port") and runs the
// client side over it. ctx bounds the dial and the sending of SETUP.
func DialTCP(ctx context.Context, addr string, cfg ClientConfig) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return Client(ctx, NewTCPTransport(nc), cfg)
}

// Listener accepts RSocket clients over TCP.
type Listener struct {
	l   net.Listener
	cfg ServerConfig
}

// ListenTCP listens on addr (use "127.0.0.1:0" in tests: never 0.0.0.0
// unless serving other hosts is meant).
func ListenTCP(addr string, cfg ServerConfig) (*Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Listener{l: l, cfg: cfg}, nil
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.l.Addr() }

// Close stops listening; connections already accepted stay open.
func (l *Listener) Close() error { return l.l.Close() }

// Accept waits for a client, reads its SETUP and runs the acceptor; it
// returns the connection, or the error of the listener or of ctx. A client
// whose SETUP is rejected is answered and dropped, and Accept waits for the
// next. The setup exchange of one client blocks Accept; use Serve to accept
// concurrently.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	for {
		nc, err := l.accept(ctx)
		if err != nil {
			return nil, err
		}
		c, err := Server(ctx, NewTCPTransport(nc), l.cfg)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// accept waits for a connection or for ctx. The end of ctx interrupts the
// wait through the listener's deadline, so the listener stays open for the
// next Accept; a timeout another call's ctx caused is retried.
func (l *Listener) accept(ctx context.Context) (net.Conn, error) {
	dl, ok := l.l.(interface{ SetDeadline(time.Time) error })
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var stop func() bool
		if ok {
			stop = context.AfterFunc(ctx, func() { _ = dl.SetDeadline(time.Unix(1, 0)) })
		} else {
			stop = context.AfterFunc(ctx, func() { _ = l.l.Close() })
		}
		nc, err := l.l.Accept()
		if !stop() {
			// ctx ended: clear the deadline it set, give up.
			if ok {
				_ = dl.SetDeadline(time.Time{})
			}
			if nc != nil {
				_ = nc.Close()
			}
			return nil, ctx.Err()
		}
		var ne net.Error
		if err != nil && ok && errors.As(err, &ne) && ne.Timeout() {
			_ = dl.SetDeadline(time.Time{})
			continue // another Accept's ctx ended
		}
		return nc, err
	}
}

// Serve accepts clients until ctx ends or the listener fails, running each
// client's setup in a goroutine of its own (which ends once the connection
// is established or rejected). Connections live on after Serve returns;
// the acceptor holds them. It closes the listener on return and returns
// ctx.Err() or the accept error.
func (l *Listener) Serve(ctx context.Context) error {
	defer l.l.Close()
	for {
		nc, err := l.accept(ctx)
		if err != nil {
			return err
		}
		go func() { _, _ = Server(ctx, NewTCPTransport(nc), l.cfg) }()
	}
}
