package rshm

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// Defaults of Reconnect's zero fields.
const (
	DefaultMinBackoff = 5 * time.Millisecond
	DefaultMaxBackoff = 50 * time.Millisecond
)

// ErrNotConnected is a request's error from a Client with FailFast while
// it has no connection. It wraps the last dial error, if any.
var ErrNotConnected = errors.New("rshm: not connected")

// Reconnect says how a Client redials.
type Reconnect struct {
	// MinBackoff and MaxBackoff bound the wait between failed dials: it
	// starts at MinBackoff and doubles up to MaxBackoff, each wait drawn
	// at random from its upper half, so that clients of one restarted
	// server do not dial in step. Zero means DefaultMinBackoff and
	// DefaultMaxBackoff: a client is back within about MaxBackoff of its
	// server listening again, and a refused dial on one host costs
	// microseconds, so the short default costs nothing worth saving. Raise
	// MaxBackoff for servers on other hosts.
	MinBackoff, MaxBackoff time.Duration
	// FailFast makes a request made while the Client has no connection
	// fail at once with ErrNotConnected. False: it waits for the next
	// connection, up to its ctx.
	FailFast bool
}

// Client is a connection to addr that outlives its server: when the
// connection ends, the Client dials again (with backoff and jitter, as
// Reconnect says) until Close. Its requests go to the current connection.
//
// What a restart costs a request depends on the session: with resumption
// (Config.Client.Resume) a broken transport is resumed on a new one and
// nothing in flight is lost, as long as the server still holds the
// session; a server that restarted answers REJECTED_RESUME, and the Client
// then starts a fresh session. Requests in flight on a connection that
// ends fail with its error (they are not retried: only the application
// knows which are safe to repeat); requests made while there is no
// connection wait for the next one up to their ctx, or fail at once with
// FailFast.
//
// Goroutines: one that dials and watches the connection, ended by Close.
type Client struct {
	addr string
	cfg  Config
	rc   Reconnect

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the dialing goroutine returned

	mu      sync.Mutex
	cur     *Conn         // nil while reconnecting
	changed chan struct{} // closed and replaced when cur changes or the Client closes
	lastErr error         // of the last failed dial
}

// NewClient starts a Client for addr (as for Dial) and returns at once;
// the first connection is made in the background (Conn waits for it). A
// malformed addr is the only error.
func NewClient(addr string, cfg Config, rc Reconnect) (*Client, error) {
	if _, _, err := ParseURL(addr); err != nil {
		return nil, err
	}
	if rc.MinBackoff <= 0 {
		rc.MinBackoff = DefaultMinBackoff
	}
	if rc.MaxBackoff <= 0 {
		rc.MaxBackoff = DefaultMaxBackoff
	}
	rc.MaxBackoff = max(rc.MaxBackoff, rc.MinBackoff)
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{addr: addr, cfg: cfg, rc: rc, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), changed: make(chan struct{})}
	go c.run()
	return c, nil
}

// run dials, serves the connection until it ends, and dials again.
func (c *Client) run() {
	defer close(c.done)
	defer c.set(nil, nil) // wakes the requests waiting, to see ErrClosed
	backoff := c.rc.MinBackoff
	for {
		conn, err := Dial(c.ctx, c.addr, c.cfg)
		if c.ctx.Err() != nil {
			if conn != nil {
				_ = conn.Close()
			}
			return
		}
		if err != nil {
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
			c.logDebug("rshm: client dial failed", "addr", c.addr, "err", err, "retry_in", backoff)
			wait := backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, c.rc.MaxBackoff)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		backoff = c.rc.MinBackoff
		c.set(conn, nil)
		select {
		case <-conn.Done():
			c.logDebug("rshm: client connection ended, redialing", "addr", c.addr, "err", conn.Err())
			c.set(nil, conn.Err())
		case <-c.ctx.Done():
			_ = conn.Close()
			return
		}
	}
}

// set publishes the current connection (nil while reconnecting) and
// wakes the requests waiting for a change.
func (c *Client) set(conn *Conn, lastErr error) {
	c.mu.Lock()
	c.cur, c.lastErr = conn, lastErr
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *Client) logDebug(msg string, args ...any) {
	if c.cfg.Logger != nil {
		c.cfg.Logger.Debug(msg, args...)
	}
}

// Conn returns the current connection, waiting for one while the Client
// reconnects (unless FailFast), up to ctx. After Close it returns
// ErrClosed.
func (c *Client) Conn(ctx context.Context) (*Conn, error) {
	for {
		c.mu.Lock()
		cur, changed, lastErr := c.cur, c.changed, c.lastErr
		c.mu.Unlock()
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		if cur != nil {
			select {
			case <-cur.Done(): // ended: run is about to replace it
			default:
				return cur, nil
			}
		} else if c.rc.FailFast {
			return nil, errors.Join(ErrNotConnected, lastErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, errors.Join(context.Cause(ctx), lastErr)
		}
	}
}

// Connected reports whether the Client has a connection now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur == nil {
		return false
	}
	select {
	case <-cur.Done():
		return false
	default:
		return true
	}
}

// RequestResponse makes a request-response on the current connection.
func (c *Client) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	conn, err := c.Conn(ctx)
	if err != nil {
		return rsocket.Payload{}, err
	}
	return conn.RequestResponse(ctx, p)
}

// RequestResponseAsync makes a request-response on the current connection
// and returns; h gets the answer (rsocket.Conn.RequestResponseAsync). It
// never waits: while the Client reconnects it fails with ErrNotConnected,
// whatever FailFast says.
func (c *Client) RequestResponseAsync(p rsocket.Payload, h rsocket.ResponseHandler) error {
	c.mu.Lock()
	cur, lastErr := c.cur, c.lastErr
	c.mu.Unlock()
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	if cur == nil {
		return errors.Join(ErrNotConnected, lastErr)
	}
	return cur.RequestResponseAsync(p, h)
}

// FireAndForget sends a fire-and-forget on the current connection.
func (c *Client) FireAndForget(ctx context.Context, p rsocket.Payload) error {
	conn, err := c.Conn(ctx)
	if err != nil {
		return err
	}
	return conn.FireAndForget(ctx, p)
}

// MetadataPush sends a metadata push on the current connection.
func (c *Client) MetadataPush(ctx context.Context, md []byte) error {
	conn, err := c.Conn(ctx)
	if err != nil {
		return err
	}
	return conn.MetadataPush(ctx, md)
}

// RequestStream opens a request-stream on the current connection.
func (c *Client) RequestStream(ctx context.Context, p rsocket.Payload) (*rsocket.Stream, error) {
	conn, err := c.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return conn.RequestStream(ctx, p)
}

// RequestChannel opens a request-channel on the current connection.
func (c *Client) RequestChannel(ctx context.Context, p rsocket.Payload) (*rsocket.Channel, error) {
	conn, err := c.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return conn.RequestChannel(ctx, p)
}

// Close stops redialing and closes the current connection. Requests
// waiting for a connection fail with ErrClosed.
func (c *Client) Close() error {
	c.cancel()
	<-c.done
	return nil
}
