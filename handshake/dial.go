package handshake

import (
	"context"
	"errors"
	"net"

	"github.com/rshm/rshm/rsocket"
)

// Dial connects to addr (host:port) and negotiates the transport per
// cfg.Mode. In Auto mode a server that does not speak rshm (a plain RSocket
// server: it answers the hello with an RSocket frame, closes, or stays
// silent until cfg.Timeout) is dialed again and spoken to over plain TCP,
// and a failed check falls back to TCP on the same socket; either way
// cfg.OnFallback hears why. Auto mode sends the hello only to a loopback
// peer: to any other address it speaks plain RSocket over TCP at once,
// telling nothing about this process. A peer that answers the hello with
// HTTP fails the dial (ErrNotRSocket). With SHMOnly every failure is an
// *Error naming the step; with TCPOnly no handshake is attempted.
//
// Connecting the socket is bounded by cfg.Timeout and ctx, as each
// negotiation is.
func Dial(ctx context.Context, addr string, cfg Config) (rsocket.Transport, Kind, error) {
	d := net.Dialer{Timeout: cfg.timeout()}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, &Error{Step: StepDial, Err: err}
	}
	if cfg.Mode == Auto && !isLoopback(c.RemoteAddr()) {
		return cfg.tcpTransport(c, nil), KindTCP, nil
	}
	t, k, err := Client(ctx, c, cfg)
	if err == nil || cfg.Mode != Auto || !notRSHM(err) || errors.Is(err, ErrNotRSocket) || ctx.Err() != nil {
		return t, k, err
	}
	cfg.fellBack(err)
	if c, err = d.DialContext(ctx, "tcp", addr); err != nil {
		return nil, 0, &Error{Step: StepDial, Err: err}
	}
	return cfg.tcpTransport(c, nil), KindTCP, nil
}

// isLoopback reports whether a is a loopback IP address.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// notRSHM reports whether err says the server is not an rshm server: it
// answered with something else, hung up, or never answered the hello.
func notRSHM(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Step != StepReply {
		return false
	}
	return errors.Is(err, ErrNotRSHM) || e.Timeout() || errors.Is(err, net.ErrClosed) || isReset(err)
}
