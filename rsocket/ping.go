package rsocket

import (
	"context"
	"time"
)

// Ping sends a KEEPALIVE that asks for an answer (the R flag) and waits for
// the peer's KEEPALIVE answer, or ctx, or the connection's end. It returns
// the time the round trip took. Every RSocket peer answers such a frame,
// so a Ping that times out on a fresh connection says the peer is not an
// RSocket server (rshm.Dial uses it to fail fast against one), and on an
// old one that the peer is stuck.
//
// Any answer that arrives after the KEEPALIVE was sent completes every
// Ping waiting at the time, including the answer to the keepalive loop's
// own KEEPALIVE.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	pong := make(chan struct{})
	for {
		if p := c.pong.Load(); p != nil {
			pong = *p // join the Ping in flight
			break
		}
		if c.pong.CompareAndSwap(nil, &pong) {
			break
		}
	}
	start := time.Now()
	if err := c.sendKeepalive(ctx, true, nil); err != nil {
		return 0, err
	}
	select {
	case <-pong:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.done:
		return 0, c.Err()
	}
}

// onPong completes the Pings waiting for a KEEPALIVE answer.
func (c *Conn) onPong() {
	if p := c.pong.Swap(nil); p != nil {
		close(*p)
	}
}
