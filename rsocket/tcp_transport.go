package rsocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
// Writes are write-behind: each sender encodes its frame under a lock
// straight into a shared pending buffer and wakes the transport's writer
// goroutine, which swaps the pending buffer for a spare and writes it with
// one call, looping until nothing is pending. Whatever senders commit while
// the writer is busy (or, with one P, until the sender blocks) leaves in the
// next single write: the answers to a burst of requests, a stream handler's
// payloads up to the requester's credit, the frames of many concurrent
// requesters. Claim blocks while more than 1 MiB waits for the socket.
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
		c:          c,
		r:          bufio.NewReaderSize(newPollReader(c, cfg), tcpReadBuffer),
		sem:        make(chan struct{}, 1),
		wake:       make(chan struct{}, 1),
		drained:    make(chan struct{}, 1),
		closed:     make(chan struct{}),
		writerDone: make(chan struct{}),
		pending:    make([]byte, 0, 64<<10),
		spare:      make([]byte, 0, 64<<10),
		limit:      MaxFrameLength,
	}
	go t.writer()
	return t
}

type tcpTransport struct {
	c net.Conn
	r *bufio.Reader

	sem        chan struct{} // held from Claim to Commit/Abort
	wake       chan struct{} // cap 1: frames were committed
	drained    chan struct{} // cap 1: the writer wrote a batch
	closed     chan struct{}
	writerDone chan struct{}

	mu         sync.Mutex
	pending    []byte // length-prefixed frames waiting for the socket
	spare      []byte
	claimStart int // offset of the open claim's length prefix
	claimOpen  bool
	writing    bool // a drain is writing: the only one at a time
	werr       error

	framesSent, bytesSent uint64        // under mu
	framesRecv, bytesRecv atomic.Uint64 // by the receive loop

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
	select {
	case <-t.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case t.sem <- struct{}{}:
	default:
		// Taken: wait. (Two selects of one case and a default cost a
		// fraction of this three-way select, which locks all three
		// channels: the largest item of a stream sender's CPU profile in
		// BenchmarkTCP/rsocket-stream-64B when it ran per frame.)
		select {
		case t.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.closed:
			return nil, net.ErrClosed
		}
	}
	for {
		t.mu.Lock()
		if t.werr != nil {
			err := t.werr
			t.mu.Unlock()
			<-t.sem
			return nil, err
		}
		if len(t.pending) == 0 || len(t.pending)+n <= tcpPendingBound {
			start := len(t.pending)
			need := start + lengthSize + n
			if need > cap(t.pending) {
				nb := make([]byte, start, max(need, 2*cap(t.pending)))
				copy(nb, t.pending)
				t.pending = nb
			}
			t.pending = t.pending[:need]
			t.claimStart = start
			t.claimOpen = true
			b := t.pending[start+lengthSize : need : need]
			t.mu.Unlock()
			return b, nil
		}
		t.mu.Unlock()
		signal(t.wake)
		select {
		case <-t.drained:
		case <-ctx.Done():
			<-t.sem
			return nil, ctx.Err()
		case <-t.closed:
			<-t.sem
			return nil, net.ErrClosed
		}
	}
}

func (t *tcpTransport) Commit(n int) error {
	t.mu.Lock()
	s := t.claimStart
	t.pending[s] = byte(n >> 16)
	t.pending[s+1] = byte(n >> 8)
	t.pending[s+2] = byte(n)
	t.pending = t.pending[:s+lengthSize+n]
	t.claimOpen = false
	t.framesSent++
	t.bytesSent += uint64(n)
	err := t.werr
	t.mu.Unlock()
	<-t.sem
	signal(t.wake)
	return err
}

// Traffic counts the frames committed (under the lock Commit holds) and
// the frames the receive loop delivered (TrafficCounter).
func (t *tcpTransport) Traffic() (framesSent, bytesSent, framesReceived, bytesReceived uint64) {
	t.mu.Lock()
	framesSent, bytesSent = t.framesSent, t.bytesSent
	t.mu.Unlock()
	return framesSent, bytesSent, t.framesRecv.Load(), t.bytesRecv.Load()
}

func (t *tcpTransport) Abort() {
	t.mu.Lock()
	t.pending = t.pending[:t.claimStart]
	t.claimOpen = false
	t.mu.Unlock()
	<-t.sem
	signal(t.wake)
}

// writer is the transport's writer goroutine: it writes what is pending
// whenever a commit wakes it, until Close.
func (t *tcpTransport) writer() {
	defer close(t.writerDone)
	for {
		select {
		case <-t.wake:
			// Let the goroutines that are runnable now commit their
			// frames first: the runtime runs a goroutine that was just
			// woken before the others, so with one P the writer would
			// otherwise write one frame per requester that blocks (64
			// concurrent requests: 64 writes instead of one).
			runtime.Gosched()
			t.drain()
		case <-t.closed:
			t.drain() // what was committed before Close
			return
		}
	}
}

// drain writes pending batches until none is left. A claim still being
// encoded stops it (the bytes behind the committed frames are not ready);
// that claim's Commit wakes the writer again. One drain writes at a time
// (the writer's, or a Flush's): another caller returns at once, and the
// one writing picks up what it committed.
func (t *tcpTransport) drain() {
	t.mu.Lock()
	if t.writing {
		t.mu.Unlock()
		return
	}
	t.writing = true
	for len(t.pending) > 0 && !t.claimOpen && t.werr == nil {
		out := t.pending
		t.pending = t.spare[:0]
		t.mu.Unlock()
		_, err := t.c.Write(out)
		t.mu.Lock()
		t.spare = out[:0]
		if err != nil && t.werr == nil {
			t.werr = err
		}
		signal(t.drained)
	}
	t.writing = false
	t.mu.Unlock()
}

// Flush writes the committed frames now, from the calling goroutine, rather
// than when the writer goroutine next runs (with one P: once the sender
// blocks).
func (t *tcpTransport) Flush() { t.drain() }

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
		<-t.writerDone
		err = t.c.Close()
	})
	return err
}
