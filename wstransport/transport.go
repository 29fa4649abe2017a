package wstransport

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// closeFlushTimeout bounds how long Close spends writing frames that were
// committed but not yet written (such as a final ERROR frame) and the
// close message.
const closeFlushTimeout = time.Second

// transport is an rsocket.Transport over one WebSocket connection.
//
// Writes are write-behind, as in rsocket's TCP transport: each sender
// encodes its frame under a lock straight into a shared pending buffer,
// behind room for the WebSocket header, and Commit writes the header there
// (and, on a client, masks the frame), so the pending buffer holds
// finished WebSocket frames; the writer goroutine swaps it for a spare and
// writes it with one call, looping until nothing is pending. Claim blocks
// while more than pendingBound bytes wait. The library reads (framing,
// control frames, close) and writes the control frames; handing it each
// frame to write as a message would cost its locks and a copy per frame
// (docs/design.md, WebSocket).
//
// Goroutines: one writer per transport, ended by Close.
type transport struct {
	ws     *websocket.Conn
	conn   *wireConn
	max    int
	client bool          // frames are masked
	keys   *rand.ChaCha8 // masking keys; used under mu

	sem        chan struct{} // held from Claim to Commit/Abort
	wake       chan struct{} // cap 1: frames were committed
	drained    chan struct{} // cap 1: the writer wrote a batch
	closed     chan struct{}
	writerDone chan struct{}

	mu         sync.Mutex
	pending    []byte // WebSocket frames waiting for the socket
	spare      []byte
	claimStart int // offset of the open claim's header room
	claimRoom  int // the size of that room
	claimOpen  bool
	writing    bool  // a drain is writing: the only one at a time
	err        error // the first failure of either direction; fails claims

	rbuf []byte // the message being received; only Receive uses it

	peerClose atomic.Int32 // the close code the peer sent, echoed by Close

	closeOnce sync.Once
}

func newTransport(ws *websocket.Conn, conn *wireConn, max int, client bool) *transport {
	ws.SetReadLimit(int64(max))
	t := &transport{
		ws:         ws,
		conn:       conn,
		max:        max,
		client:     client,
		sem:        make(chan struct{}, 1),
		wake:       make(chan struct{}, 1),
		drained:    make(chan struct{}, 1),
		closed:     make(chan struct{}),
		writerDone: make(chan struct{}),
		pending:    make([]byte, 0, bufferSize),
		spare:      make([]byte, 0, bufferSize),
		rbuf:       make([]byte, 0, bufferSize),
	}
	if client {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails
		t.keys = rand.NewChaCha8(seed)
	}
	// The peer's close frame ends Receive, and Close answers it (the
	// library would answer at once, from the reading goroutine, and a
	// batch the writer goroutine writes after the answer would break the
	// protocol).
	ws.SetCloseHandler(func(code int, _ string) error {
		t.peerClose.Store(int32(code))
		return nil
	})
	go t.writer()
	return t
}

// room is the header room a frame of n bytes needs.
func (t *transport) room(n int) int {
	if t.client {
		return headerSize(n) + maskKeySize
	}
	return headerSize(n)
}

func (t *transport) MaxFrameSize() int { return t.max }

func (t *transport) Claim(ctx context.Context, n int) ([]byte, error) {
	if n < 0 || n > t.max {
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
		if t.err != nil {
			err := t.err
			t.mu.Unlock()
			<-t.sem
			return nil, err
		}
		if len(t.pending) == 0 || len(t.pending)+n <= pendingBound {
			start := len(t.pending)
			room := t.room(n)
			need := start + room + n
			if need > cap(t.pending) {
				nb := make([]byte, start, max(need, 2*cap(t.pending)))
				copy(nb, t.pending)
				t.pending = nb
			}
			t.pending = t.pending[:need]
			t.claimStart = start
			t.claimRoom = room
			t.claimOpen = true
			b := t.pending[start+room : need : need]
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

// Commit writes the frame's header into the room before it: a frame
// shorter than claimed may need a shorter header (the length in the fewest
// bytes), and then moves up to it.
func (t *transport) Commit(n int) error {
	t.mu.Lock()
	s, room := t.claimStart, t.claimRoom
	h := t.room(n)
	if h < room {
		copy(t.pending[s+h:], t.pending[s+room:s+room+n])
	}
	var key [maskKeySize]byte
	if t.client {
		binary.LittleEndian.PutUint32(key[:], uint32(t.keys.Uint64()))
		mask(t.pending[s+h:s+h+n], key)
	}
	putHeader(t.pending[s:], n, t.client, key)
	t.pending = t.pending[:s+h+n]
	t.claimOpen = false
	err := t.err
	t.mu.Unlock()
	<-t.sem
	signal(t.wake)
	return err
}

func (t *transport) Abort() {
	t.mu.Lock()
	t.pending = t.pending[:t.claimStart]
	t.claimOpen = false
	t.mu.Unlock()
	<-t.sem
	signal(t.wake)
}

// signal wakes the goroutine waiting on ch, if any, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// writer is the transport's writer goroutine: it writes what is pending
// whenever a commit wakes it, until Close; then it sends the close
// message.
func (t *transport) writer() {
	defer close(t.writerDone)
	for {
		select {
		case <-t.wake:
			// Let the goroutines that are runnable now commit their
			// frames first (see rsocket's TCP transport: with one P the
			// writer would otherwise write one frame per requester).
			runtime.Gosched()
			t.drain()
		case <-t.closed:
			t.drain() // what was committed before Close
			code := int(t.peerClose.Load())
			if code == 0 {
				code = websocket.CloseNormalClosure
			}
			_ = t.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(code, ""),
				time.Now().Add(closeFlushTimeout))
			return
		}
	}
}

// drain writes pending batches until none is left. A claim still being
// encoded stops it (its bytes are not ready); that claim's Commit wakes the
// writer again. One drain writes at a time (the writer's, or a Flush's).
func (t *transport) drain() {
	t.mu.Lock()
	if t.writing {
		t.mu.Unlock()
		return
	}
	t.writing = true
	for len(t.pending) > 0 && !t.claimOpen && t.err == nil {
		out := t.pending
		t.pending = t.spare[:0]
		t.mu.Unlock()
		_, err := t.conn.Write(out)
		t.mu.Lock()
		if cap(out) > 4*pendingBound {
			out = make([]byte, 0, bufferSize) // do not keep a huge frame's memory
		}
		t.spare = out[:0]
		if err != nil && t.err == nil {
			t.err = t.writeErr(err)
			t.mu.Unlock()
			_ = t.conn.Conn.Close() // ends Receive
			t.mu.Lock()
		}
		signal(t.drained)
	}
	t.writing = false
	t.mu.Unlock()
}

// writeErr maps an error of a write to the socket to the transport's.
func (t *transport) writeErr(err error) error {
	if t.conn.timedOut.Load() {
		return ErrWriteTimeout
	}
	return fmt.Errorf("wstransport: write: %w", err)
}

// Flush writes the committed frames now, from the calling goroutine,
// rather than when the writer goroutine next runs.
func (t *transport) Flush() { t.drain() }

// Receive reads each binary message into a buffer of the transport's and
// hands it to fn. The buffer grows to the largest message seen, at most
// the maximum message size.
func (t *transport) Receive(fn func(frame []byte) error) error {
	for {
		typ, r, err := t.ws.NextReader()
		if err != nil {
			if t.peerClose.Load() != 0 {
				// The peer closed: Close answers, then closes.
				return t.record(t.readErr(err))
			}
			return t.fail(t.readErr(err))
		}
		if typ != websocket.BinaryMessage {
			_ = t.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseUnsupportedData, "RSocket frames travel in binary messages"),
				time.Now().Add(closeFlushTimeout))
			return t.fail(ErrTextMessage)
		}
		frame, err := t.read(r)
		if err != nil {
			return t.fail(t.readErr(err))
		}
		if err := fn(frame); err != nil {
			return err
		}
	}
}

// read reads one message into t.rbuf.
func (t *transport) read(r io.Reader) ([]byte, error) {
	b := t.rbuf[:0]
	for {
		if len(b) == cap(b) {
			if len(b) > t.max {
				return nil, websocket.ErrReadLimit
			}
			nb := make([]byte, len(b), min(2*cap(b), t.max+1))
			copy(nb, b)
			b = nb
			t.rbuf = nb[:0]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readErr maps an error of the library's reader to the transport's.
func (t *transport) readErr(err error) error {
	select {
	case <-t.closed:
		return net.ErrClosed
	default:
	}
	t.mu.Lock()
	werr := t.err
	t.mu.Unlock()
	if werr != nil {
		return werr // the writer failed and closed the connection
	}
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return ErrMessageTooLarge
	case errors.As(err, &ce):
		switch ce.Code {
		case websocket.CloseNormalClosure, websocket.CloseGoingAway:
			return io.EOF
		case websocket.CloseAbnormalClosure: // the library's unexpected EOF
			return io.ErrUnexpectedEOF
		}
		return &CloseError{Code: ce.Code, Reason: ce.Text}
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return err
	}
	// The library's protocol errors are plain errors; it has sent close
	// 1002 already.
	return fmt.Errorf("%w: %v", ErrProtocol, err)
}

// fail records err and closes the connection under the WebSocket.
func (t *transport) fail(err error) error {
	t.record(err)
	_ = t.conn.Conn.Close()
	return err
}

// record records err as the transport's failure, so that claims fail too,
// and returns it.
func (t *transport) record(err error) error {
	t.mu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.mu.Unlock()
	signal(t.drained)
	return err
}

// Close stops new claims, lets the writer write what was already committed
// and the close message (for at most closeFlushTimeout), then closes the
// connection.
func (t *transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.conn.closeDeadline(closeFlushTimeout)
		close(t.closed)
		<-t.writerDone
		err = t.ws.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil // a failure closed it already
		}
	})
	return err
}

// CloseError is the close code and reason of a peer that closed the
// WebSocket with a code other than normal closure (1000) or going away
// (1001), which Receive reports as io.EOF.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wstransport: peer closed the connection: code %d %q", e.Code, e.Reason)
}
