package wstransport

import (
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/internal/pollread"
)

// batchConn is the net.Conn the WebSocket library reads and writes: the
// connection under it (TLS included) with a polling read and a write that
// the transport's writer goroutine can batch.
//
// The library writes each message with one or two Writes, so a batch of
// frames would cost a system call per frame. While hold is set (the
// writer goroutine is writing a batch and more frames follow), Write only
// appends to buf; the first Write with hold clear sends buf and itself
// with one write to the socket. The library serializes Writes under its
// own write lock (data messages from the writer goroutine, control frames
// such as a pong or a close from the reading goroutine), so buf and renew,
// touched only inside Write, need no lock of their own; a control frame
// that comes while hold is set leaves with the batch.
type batchConn struct {
	net.Conn
	r *pollread.Reader

	hold    atomic.Bool
	closing atomic.Bool  // Close set its own deadline: leave it alone
	closeAt atomic.Int64 // that deadline, in Unix nanoseconds
	buf     []byte

	// The write deadline, moved at most once per timeout/2: a write gets
	// between timeout and 1.5 timeout.
	timeout time.Duration
	renew   time.Time

	timedOut atomic.Bool // a write failed on its deadline
}

func newBatchConn(c net.Conn, opts Options) *batchConn {
	return &batchConn{Conn: c, r: pollread.New(c, opts.poll()), timeout: opts.writeTimeout()}
}

func (c *batchConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// SetWriteDeadline ignores the library's deadlines (it sets one per
// message, or none): the transport keeps its own, in write.
func (c *batchConn) SetWriteDeadline(time.Time) error { return nil }

func (c *batchConn) Write(p []byte) (int, error) {
	if c.hold.Load() {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if len(c.buf) == 0 {
		return c.write(p)
	}
	c.buf = append(c.buf, p...)
	_, err := c.write(c.buf)
	c.buf = c.buf[:0]
	if cap(c.buf) > 4*pendingBound {
		c.buf = nil // a batch of huge frames: do not keep its memory
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// write writes b to the socket under the write deadline.
func (c *batchConn) write(b []byte) (int, error) {
	if c.timeout > 0 && !c.closing.Load() {
		if now := time.Now(); now.After(c.renew) {
			_ = c.Conn.SetWriteDeadline(now.Add(c.timeout + c.timeout/2))
			c.renew = now.Add(c.timeout / 2)
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
func (c *batchConn) closeDeadline(d time.Duration) {
	at := time.Now().Add(d)
	c.closeAt.Store(at.UnixNano())
	c.closing.Store(true)
	_ = c.Conn.SetWriteDeadline(at)
}
