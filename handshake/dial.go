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
// and a failed check falls back to TCP on the same socket. With SHMOnly
// every failure is an *Error naming the step; with TCPOnly no handshake
// is attempted.
func Dial(ctx context.Context, addr string, cfg Config) (rsocket.Transport, Kind, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, &Error{Step: StepDial, Err: err}
	}
	t, k, err := Client(ctx, c, cfg)
	if err == nil || cfg.Mode != Auto || !notRSHM(err) || ctx.Err() != nil {
		return t, k, err
	}
	cfg.logger().Debug("handshake: server does not speak rshm, dialing plain TCP", "addr", addr, "err", err)
	if c, err = d.DialContext(ctx, "tcp", addr); err != nil {
		return nil, 0, &Error{Step: StepDial, Err: err}
	}
	return cfg.tcpTransport(c, nil), KindTCP, nil
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
