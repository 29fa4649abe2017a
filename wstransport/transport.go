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
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rshm/rshm/internal/writebehind"
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
	keys   *rand.ChaCha8 // masking keys; used by Put, under the buffer's lock
	w      *writebehind.Buffer
	closed chan struct{}

	rbuf []byte // the message being received; only Receive uses it

	peerClose atomic.Int32 // the close code the peer sent, echoed by Close

	framesRecv, bytesRecv atomic.Uint64 // by Receive

	closeOnce sync.Once
}

func newTransport(ws *websocket.Conn, conn *wireConn, max int, client bool) *transport {
	ws.SetReadLimit(int64(max))
	t := &transport{
		ws:     ws,
		conn:   conn,
		max:    max,
		client: client,
		closed: make(chan struct{}),
		rbuf:   make([]byte, 0, bufferSize),
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
	t.w = writebehind.New(conn, writebehind.Config{
		Framing:    (*framing)(t),
		Bound:      pendingBound,
		Initial:    bufferSize,
		WriteErr:   t.writeErr,
		OnWriteErr: func() { _ = t.conn.Conn.Close() }, // ends Receive
		Final:      t.sayGoodbye,
	})
	return t
}

// sayGoodbye sends the close message after the last frames: the peer's
// code echoed, or normal closure.
func (t *transport) sayGoodbye() {
	code := int(t.peerClose.Load())
	if code == 0 {
		code = websocket.CloseNormalClosure
	}
	_ = t.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(code, ""),
		time.Now().Add(closeFlushTimeout))
}

// framing is a transport's WebSocket framing for the write-behind buffer.
type framing transport

func (f *framing) Room(n int) int { return (*transport)(f).room(n) }

// Put writes the frame's header into the room before it: a frame shorter
// than claimed may need a shorter header (the length in the fewest bytes),
// and then moves up to it; on a client it masks the frame.
func (f *framing) Put(b []byte, room, n int) int {
	t := (*transport)(f)
	h := t.room(n)
	if h < room {
		copy(b[h:], b[room:room+n])
	}
	var key [maskKeySize]byte
	if t.client {
		binary.LittleEndian.PutUint32(key[:], uint32(t.keys.Uint64()))
		mask(b[h:h+n], key)
	}
	putHeader(b, n, t.client, key)
	return h + n
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
	return t.w.Claim(ctx, n)
}

func (t *transport) Commit(n int) error { return t.w.Commit(n) }

func (t *transport) Abort() { t.w.Abort() }

// Traffic counts the frames committed and the messages delivered
// (rsocket.TrafficCounter).
func (t *transport) Traffic() (framesSent, bytesSent, framesReceived, bytesReceived uint64) {
	framesSent, bytesSent = t.w.Sent()
	return framesSent, bytesSent, t.framesRecv.Load(), t.bytesRecv.Load()
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
func (t *transport) Flush() { t.w.Flush() }

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
		t.framesRecv.Add(1)
		t.bytesRecv.Add(uint64(len(frame)))
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
	if werr := t.w.Err(); werr != nil {
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
	t.w.Fail(err)
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
		t.w.Close()
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
