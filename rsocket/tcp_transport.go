package rsocket

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// TCP transport tuning.
const (
	// tcpReadBuffer is the bufio size; frames up to this size are parsed in
	// place from the read buffer, larger ones are read into a scratch buffer.
	tcpReadBuffer = 64 << 10
	// tcpPendingBound is how many encoded bytes may wait for the socket
	// before Claim blocks.
	tcpPendingBound = 1 << 20
	lengthSize      = 3
)

var errFrameTooLarge = errors.New("rsocket: frame larger than the transport allows")

// NewTCPTransport returns a Transport that speaks RSocket's TCP framing (a
// 24-bit big-endian length before each frame) over c. It sets TCP_NODELAY
// when c is a *net.TCPConn.
//
// Writes: each sender encodes its frame under a lock straight into a shared
// pending buffer; the first committer that finds no write in progress
// becomes the flusher, swaps the pending buffer for a spare and writes it
// outside the lock, looping until nothing is pending. Frames from concurrent
// senders are therefore coalesced into few write calls, with no goroutine
// of its own. While the receiving side handles a frame and more received
// frames are already buffered, commits do not flush: the answers to a burst
// of requests leave in one write when the burst has been handled (the
// receive loop flushes before it would block on the socket). Claim blocks
// while more than 1 MiB waits for the socket, flushing itself if no one
// else is.
func NewTCPTransport(c net.Conn) Transport {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	t := &tcpTransport{
		c:       c,
		r:       bufio.NewReaderSize(c, tcpReadBuffer),
		sem:     make(chan struct{}, 1),
		drained: make(chan struct{}, 1),
		closed:  make(chan struct{}),
		pending: make([]byte, 0, 64<<10),
		spare:   make([]byte, 0, 64<<10),
	}
	return t
}

type tcpTransport struct {
	c net.Conn
	r *bufio.Reader

	sem     chan struct{} // held from Claim to Commit/Abort
	drained chan struct{} // cap 1: the flusher wrote a batch
	closed  chan struct{}

	mu         sync.Mutex
	pending    []byte // length-prefixed frames waiting for the socket
	spare      []byte
	claimStart int // offset of the open claim's length prefix
	claimOpen  bool
	flushing   bool
	batching   bool // Receive is handling a frame and more are buffered
	werr       error

	closeOnce sync.Once
}

func (t *tcpTransport) MaxFrameSize() int { return MaxFrameLength }

func (t *tcpTransport) Claim(ctx context.Context, n int) ([]byte, error) {
	if n < 0 || n > MaxFrameLength {
		return nil, errFrameTooLarge
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.closed:
		return nil, net.ErrClosed
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
		if !t.flushing {
			// Over the bound with no flusher (a deferred batch): write now.
			t.flushing = true
			t.mu.Unlock()
			if err := t.flush(); err != nil {
				<-t.sem
				return nil, err
			}
			continue
		}
		t.mu.Unlock()
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
	flush := !t.flushing && !t.batching
	if flush {
		t.flushing = true
	}
	err := t.werr
	t.mu.Unlock()
	<-t.sem
	if flush {
		return t.flush()
	}
	return err
}

func (t *tcpTransport) Abort() {
	t.mu.Lock()
	t.pending = t.pending[:t.claimStart]
	t.claimOpen = false
	flush := !t.flushing && !t.batching && len(t.pending) > 0
	if flush {
		t.flushing = true
	}
	t.mu.Unlock()
	<-t.sem
	if flush {
		_ = t.flush()
	}
}

// flush writes pending batches until none is left. A claim still being
// encoded stops it: that claimer's Commit finds flushing false and takes
// over, so no frame is written half-encoded and none is left behind.
func (t *tcpTransport) flush() error {
	for {
		t.mu.Lock()
		if len(t.pending) == 0 || t.claimOpen || t.werr != nil {
			t.flushing = false
			err := t.werr
			t.mu.Unlock()
			return err
		}
		out := t.pending
		t.pending = t.spare[:0]
		t.mu.Unlock()
		_, err := t.c.Write(out)
		t.mu.Lock()
		t.spare = out[:0]
		if err != nil && t.werr == nil {
			t.werr = err
		}
		t.mu.Unlock()
		signal(t.drained)
	}
}

// setBatch records whether more received frames are buffered behind the
// one being handled; ending a batch flushes what its frames committed.
func (t *tcpTransport) setBatch(more bool) {
	t.mu.Lock()
	t.batching = more
	flush := !more && !t.flushing && !t.claimOpen && len(t.pending) > 0
	if flush {
		t.flushing = true
	}
	t.mu.Unlock()
	if flush {
		_ = t.flush()
	}
}

// nextBuffered reports whether the whole frame after the first skip
// buffered bytes is already in the read buffer, so handling it needs no
// read from the socket. It never reads from the socket itself.
func (t *tcpTransport) nextBuffered(skip int) bool {
	b := t.r.Buffered()
	if b < skip+lengthSize || skip+lengthSize > tcpReadBuffer {
		return false
	}
	h, err := t.r.Peek(skip + lengthSize)
	if err != nil {
		return false
	}
	m := int(h[skip])<<16 | int(h[skip+1])<<8 | int(h[skip+2])
	return b >= skip+lengthSize+m
}

func (t *tcpTransport) Receive(fn func(frame []byte) error) error {
	var big []byte
	defer t.setBatch(false)
	for {
		hdr, err := t.r.Peek(lengthSize)
		if err != nil {
			return t.readErr(err)
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		if _, err := t.r.Discard(lengthSize); err != nil {
			return t.readErr(err)
		}
		if n <= tcpReadBuffer {
			frame, err := t.r.Peek(n)
			if err != nil {
				return t.readErr(err)
			}
			more := t.nextBuffered(n)
			t.setBatch(more)
			if err := fn(frame); err != nil {
				return err
			}
			if _, err := t.r.Discard(n); err != nil {
				return t.readErr(err)
			}
			if more {
				continue
			}
			t.setBatch(false)
			continue
		}
		if cap(big) < n {
			big = make([]byte, n)
		}
		frame := big[:n]
		if _, err := io.ReadFull(t.r, frame); err != nil {
			return t.readErr(err)
		}
		more := t.nextBuffered(0)
		t.setBatch(more)
		err = fn(frame)
		if !more {
			t.setBatch(false)
		}
		if err != nil {
			return err
		}
	}
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

// Close stops new claims, writes what was already committed (for at most
// closeFlushTimeout), then closes the socket.
func (t *tcpTransport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.closed)
		deadline := time.Now().Add(closeFlushTimeout)
		_ = t.c.SetWriteDeadline(deadline)
		timer := time.NewTimer(closeFlushTimeout)
		defer timer.Stop()
		for {
			t.mu.Lock()
			if len(t.pending) == 0 || t.werr != nil || t.claimOpen {
				t.mu.Unlock()
				break
			}
			if !t.flushing {
				t.flushing = true
				t.mu.Unlock()
				_ = t.flush()
				continue
			}
			t.mu.Unlock()
			select {
			case <-t.drained:
			case <-timer.C:
			}
			if time.Now().After(deadline) {
				break
			}
		}
		err = t.c.Close()
	})
	return err
}
