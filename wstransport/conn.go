package wstransport

import (
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/internal/pollread"
)

// wireConn is the net.Conn under the library: the connection (TLS
// included) with a polling read, and writes under the transport's write
// deadline.
//
// Two parties write: the transport's writer goroutine, a batch of whole
// frames per Write, and the library, a control frame per Write (a pong or
// a close, under its own lock). A Write of the connection under it never
// interleaves with another (net.Conn and tls.Conn write the whole buffer
// under a lock of their own), so every frame stays whole; the fields here
// that a Write touches are atomic.
type wireConn struct {
	net.Conn
	r *pollread.Reader

	// The write deadline, moved at most once per timeout/2 (renew is when
	// next, as time since start): a write gets between timeout and 1.5
	// timeout, for one clock read per write.
	timeout time.Duration
	start   time.Time
	renew   atomic.Int64

	closing  atomic.Bool  // Close set its own deadline: leave it alone
	closeAt  atomic.Int64 // that deadline, in Unix nanoseconds
	timedOut atomic.Bool  // a write failed on its deadline
}

func newWireConn(c net.Conn, opts Options) *wireConn {
	return &wireConn{Conn: c, r: pollread.New(c, opts.poll()), timeout: opts.writeTimeout(), start: time.Now()}
}

func (c *wireConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// SetWriteDeadline ignores the library's deadlines (it sets one per
// message, or none): the transport keeps its own, in Write.
func (c *wireConn) SetWriteDeadline(time.Time) error { return nil }

// Write writes b to the connection under the write deadline.
func (c *wireConn) Write(b []byte) (int, error) {
	if c.timeout > 0 && !c.closing.Load() {
		if now := time.Since(c.start); int64(now) > c.renew.Load() {
			_ = c.Conn.SetWriteDeadline(c.start.Add(now + c.timeout + c.timeout/2))
			c.renew.Store(int64(now + c.timeout/2))
			if c.closing.Load() {
				// Close set its deadline meanwhile: restore it.
				_ = c.Conn.SetWriteDeadline(time.Unix(0, c.closeAt.Load()))
			}
		}
	}
	n, err := c.Conn.Write(b)
	if err != nil && os.IsTimeout(err) && !c.closing.Load() {
		c.timedOut.Store(true)
	}
	return n, err
}

// closeDeadline bounds the writes of a closing transport.
func (c *wireConn) closeDeadline(d time.Duration) {
	at := time.Now().Add(d)
	c.closeAt.Store(at.UnixNano())
	c.closing.Store(true)
	_ = c.Conn.SetWriteDeadline(at)
}
