package rsocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/internal/writebehind"
)

// TCP transport tuning.
const (
	// tcpReadBuffer is the bufio size; frames up to this size are parsed in
	// place from the read buffer, larger ones are read into a scratch buffer
	// that grows as their bytes arrive (readLarge).
	tcpReadBuffer = 64 << 10
	// tcpPendingBound is how many encoded bytes may wait for the socket
	// before Claim blocks.
	tcpPendingBound = 1 << 20
	lengthSize      = 3
)

var errFrameTooLarge = errors.New("rsocket: frame larger than the transport allows")

// errRecvLimit: the peer declared a frame longer than the receive limit
// (recvLimiter).
var errRecvLimit = errors.New("rsocket: received frame longer than allowed")

// NewTCPTransport returns a Transport that speaks RSocket's TCP framing (a
// 24-bit big-endian length before each frame) over c. It sets TCP_NODELAY
// when c is a *net.TCPConn.
//
// Writes are write-behind (package internal/writebehind): each sender
// encodes its frame under a lock straight into a shared pending buffer and
// a writer goroutine writes whatever is pending with one call, so the
// frames of a burst leave together. Claim blocks while more than 1 MiB
// waits for the socket.
//
// The receive loop polls an empty socket for DefaultTCPPoll before it parks
// (see TCPConfig.Poll).
//
// Goroutines: one writer per transport, ended by Close.
func NewTCPTransport(c net.Conn) Transport { return NewTCPTransportConfig(c, TCPConfig{}) }

// NewTCPTransportConfig is NewTCPTransport with the tuning in cfg.
func NewTCPTransportConfig(c net.Conn, cfg TCPConfig) Transport {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	t := &tcpTransport{
		c:      c,
		r:      bufio.NewReaderSize(newPollReader(c, cfg), tcpReadBuffer),
		closed: make(chan struct{}),
		limit:  MaxFrameLength,
	}
	t.w.Start(c, writebehind.Config{Bound: tcpPendingBound, Initial: 64 << 10}) // the default framing is TCP's
	return t
}

type tcpTransport struct {
	c      net.Conn
	r      *bufio.Reader
	closed chan struct{}
	w      writebehind.Buffer

	// framesRecv and bytesRecv are written by the receive loop at every
	// frame: on a line of their own, away from the fields every sender
	// reads.
	_                     [64]byte
	framesRecv, bytesRecv atomic.Uint64
	_                     [48]byte

	closeOnce sync.Once

	// limit is the longest frame Receive accepts (receive goroutine only:
	// see recvLimiter).
	limit int
}

var _ recvLimiter = (*tcpTransport)(nil)

// limitRecv implements recvLimiter.
func (t *tcpTransport) limitRecv(n int) { t.limit = min(max(n, 0), MaxFrameLength) }

func (t *tcpTransport) MaxFrameSize() int { return MaxFrameLength }

func (t *tcpTransport) Claim(ctx context.Context, n int) ([]byte, error) {
	if n < 0 || n > MaxFrameLength {
		return nil, errFrameTooLarge
	}
	return t.w.Claim(ctx, n)
}

func (t *tcpTransport) Commit(n int) error { return t.w.Commit(n) }

func (t *tcpTransport) Abort() { t.w.Abort() }

// Flush writes the committed frames now, from the calling goroutine, rather
// than when the writer goroutine next runs (with one P: once the sender
// blocks).
func (t *tcpTransport) Flush() { t.w.Flush() }

// Traffic counts the frames committed (under the write side's lock) and
// the frames the receive loop delivered (TrafficCounter).
func (t *tcpTransport) Traffic() (framesSent, bytesSent, framesReceived, bytesReceived uint64) {
	framesSent, bytesSent = t.w.Sent()
	return framesSent, bytesSent, t.framesRecv.Load(), t.bytesRecv.Load()
}

// Receive reads length-prefixed frames. A frame that fits the read buffer
// is handed on in place; a longer one is read into a scratch buffer kept for
// the next, which grows only with bytes that arrived (readLarge): the
// length is the peer's word, and a peer that declares 16 MiB and sends
// nothing must not cost 16 MiB. A length above the receive limit ends
// Receive with errRecvLimit before any of the frame is read.
func (t *tcpTransport) Receive(fn func(frame []byte) error) error {
	var big []byte
	for {
		hdr, err := t.r.Peek(lengthSize)
		if err != nil {
			return t.readErr(err)
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		if n > t.limit {
			return fmt.Errorf("%w: %d bytes declared, limit %d", errRecvLimit, n, t.limit)
		}
		if _, err := t.r.Discard(lengthSize); err != nil {
			return t.readErr(err)
		}
		if n <= tcpReadBuffer {
			frame, err := t.r.Peek(n)
			if err != nil {
				return t.readErr(err)
			}
			t.counted(n)
			if err := fn(frame); err != nil {
				return err
			}
			if _, err := t.r.Discard(n); err != nil {
				return t.readErr(err)
			}
			continue
		}
		big, err = readLarge(t.r, big, n)
		if err != nil {
			return t.readErr(err)
		}
		t.counted(n)
		if err := fn(big); err != nil {
			return err
		}
	}
}

// counted counts a received frame of n bytes.
func (t *tcpTransport) counted(n int) {
	t.framesRecv.Add(1)
	t.bytesRecv.Add(uint64(n))
}

// readLarge reads an n-byte frame from r into buf's memory and returns it.
// buf grows by doubling (from tcpReadBuffer, at most to n) only when full,
// so its size stays within twice the bytes that arrived.
func readLarge(r io.Reader, buf []byte, n int) ([]byte, error) {
	b := buf[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(max(2*cap(b), tcpReadBuffer), n))
			copy(nb, b)
			b = nb
		}
		k, err := r.Read(b[len(b):min(cap(b), n)])
		b = b[:len(b)+k]
		if err != nil && len(b) < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return b, nil
}

func (t *tcpTransport) readErr(err error) error {
	select {
	case <-t.closed:
		return net.ErrClosed
	default:
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// closeFlushTimeout bounds how long Close spends writing frames that were
// committed but not yet written (such as a final ERROR frame).
const closeFlushTimeout = time.Second

// Close stops new claims, lets the writer write what was already committed
// (for at most closeFlushTimeout), then closes the socket.
func (t *tcpTransport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		_ = t.c.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
		close(t.closed)
		t.w.Close()
		err = t.c.Close()
	})
	return err
}
