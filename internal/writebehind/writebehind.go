// Package writebehind is the write side of the socket transports (RSocket
// over TCP, over WebSocket): senders encode their frames under a lock
// straight into a shared pending buffer, behind room for the transport's
// framing, and a writer goroutine swaps the pending buffer for a spare and
// writes it with one call, looping until nothing is pending. Whatever
// senders commit while the writer is busy (or, with one P, until the
// sender blocks) leaves in the next single write: the answers to a burst
// of requests, a stream handler's payloads up to the requester's credit,
// the frames of many concurrent requesters. Claim blocks while more than
// Config.Bound bytes wait for the socket.
package writebehind

import (
	"context"
	"io"
	"net"
	"runtime"
	"sync"
)

// Framing puts a transport's framing around each frame.
type Framing interface {
	// Room is how many bytes of framing go before a frame of n bytes.
	Room(n int) int
	// Put frames a committed frame: b holds the claim from the start of
	// its room (room bytes, Room of the claimed size) and the frame's n
	// bytes after it (n at most what was claimed). Put writes the framing
	// and returns how many bytes the framed frame takes from b[0], the
	// frame moved up to follow a shorter framing if need be. It runs with
	// the buffer's lock held.
	Put(b []byte, room, n int) int
}

// Config configures a Buffer.
type Config struct {
	// Framing frames each frame; nil means RSocket-over-TCP's framing, a
	// 24-bit big-endian length before each frame, which the Buffer writes
	// itself (no call per frame).
	Framing Framing
	// Bound is how many bytes may wait for the socket before Claim blocks
	// (a single frame may be larger).
	Bound int
	// Initial is the starting capacity of the pending and spare buffers.
	Initial int
	// WriteErr maps the error of a write to the socket to the Buffer's
	// (its Err, and every later claim's); nil keeps it as it is.
	WriteErr func(error) error
	// OnWriteErr runs once after a write failed, outside the lock (a
	// transport closes its connection there, to end its receive loop).
	OnWriteErr func()
	// Final runs on the writer goroutine after its last write at Close
	// (a WebSocket close message).
	Final func()
}

// Buffer is one transport's write side. Goroutines: one writer, ended by
// Close.
type Buffer struct {
	w   io.Writer
	cfg Config

	sem        chan struct{} // held from Claim to Commit/Abort
	wake       chan struct{} // cap 1: frames were committed
	drained    chan struct{} // cap 1: the writer wrote a batch, or Fail
	closed     chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once

	mu         sync.Mutex
	pending    []byte // framed frames waiting for the socket
	spare      []byte
	claimStart int // offset of the open claim's framing room
	claimRoom  int
	claimOpen  bool
	writing    bool  // a drain is writing: the only one at a time
	err        error // the first failure; fails claims

	framesSent, bytesSent uint64 // frames committed and their bytes (unframed)
}

// New starts the write side of w.
func New(w io.Writer, cfg Config) *Buffer {
	b := new(Buffer)
	b.Start(w, cfg)
	return b
}

// Start starts b, a zero Buffer (a field of its transport), as the write
// side of w.
func (b *Buffer) Start(w io.Writer, cfg Config) {
	b.w, b.cfg = w, cfg
	b.sem = make(chan struct{}, 1)
	b.wake = make(chan struct{}, 1)
	b.drained = make(chan struct{}, 1)
	b.closed = make(chan struct{})
	b.writerDone = make(chan struct{})
	b.pending = make([]byte, 0, cfg.Initial)
	b.spare = make([]byte, 0, cfg.Initial)
	go b.writer()
}

// Claim returns n bytes of the pending buffer for one frame, exclusively
// until Commit or Abort. It blocks while the buffer holds more than Bound
// bytes, until ctx ends or the Buffer closes (net.ErrClosed) or fails.
func (b *Buffer) Claim(ctx context.Context, n int) ([]byte, error) {
	select {
	case <-b.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case b.sem <- struct{}{}:
	default:
		// Taken: wait. (Two selects of one case and a default cost a
		// fraction of this three-way select, which locks all three
		// channels: the largest item of a stream sender's CPU profile in
		// BenchmarkTCP/rsocket-stream-64B when it ran per frame.)
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-b.closed:
			return nil, net.ErrClosed
		}
	}
	for {
		b.mu.Lock()
		if b.err != nil {
			err := b.err
			b.mu.Unlock()
			<-b.sem
			return nil, err
		}
		if len(b.pending) == 0 || len(b.pending)+n <= b.cfg.Bound {
			start := len(b.pending)
			room := lengthSize
			if b.cfg.Framing != nil {
				room = b.cfg.Framing.Room(n)
			}
			need := start + room + n
			if need > cap(b.pending) {
				nb := make([]byte, start, max(need, 2*cap(b.pending)))
				copy(nb, b.pending)
				b.pending = nb
			}
			b.pending = b.pending[:need]
			b.claimStart, b.claimRoom, b.claimOpen = start, room, true
			c := b.pending[start+room : need : need]
			b.mu.Unlock()
			return c, nil
		}
		b.mu.Unlock()
		signal(b.wake)
		select {
		case <-b.drained:
		case <-ctx.Done():
			<-b.sem
			return nil, ctx.Err()
		case <-b.closed:
			<-b.sem
			return nil, net.ErrClosed
		}
	}
}

// Commit frames the first n bytes of the claim and leaves them for the
// writer; it returns the Buffer's failure, if any.
func (b *Buffer) Commit(n int) error {
	b.mu.Lock()
	s := b.claimStart
	framed := lengthSize + n
	if b.cfg.Framing != nil {
		framed = b.cfg.Framing.Put(b.pending[s:], b.claimRoom, n)
	} else {
		b.pending[s], b.pending[s+1], b.pending[s+2] = byte(n>>16), byte(n>>8), byte(n)
	}
	b.pending = b.pending[:s+framed]
	b.claimOpen = false
	b.framesSent++
	b.bytesSent += uint64(n)
	err := b.err
	b.mu.Unlock()
	<-b.sem
	signal(b.wake)
	return err
}

// Abort discards the claim.
func (b *Buffer) Abort() {
	b.mu.Lock()
	b.pending = b.pending[:b.claimStart]
	b.claimOpen = false
	b.mu.Unlock()
	<-b.sem
	signal(b.wake)
}

// Sent returns the frames committed and their bytes (without framing).
func (b *Buffer) Sent() (frames, bytes uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.framesSent, b.bytesSent
}

// Held returns the bytes the pending and spare buffers hold (their
// capacity): what the write side costs in memory now.
func (b *Buffer) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return cap(b.pending) + cap(b.spare)
}

// Fail records err as the Buffer's failure if it has none, so that claims
// fail with it, and returns the failure.
func (b *Buffer) Fail(err error) error {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	err = b.err
	b.mu.Unlock()
	signal(b.drained)
	return err
}

// Err returns the Buffer's failure, or nil.
func (b *Buffer) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// writer writes what is pending whenever a commit wakes it, until Close.
func (b *Buffer) writer() {
	defer close(b.writerDone)
	for {
		select {
		case <-b.wake:
			// Let the goroutines that are runnable now commit their
			// frames first: the runtime runs a goroutine that was just
			// woken before the others, so with one P the writer would
			// otherwise write one frame per requester that blocks (64
			// concurrent requests: 64 writes instead of one).
			runtime.Gosched()
			b.Flush()
		case <-b.closed:
			b.Flush() // what was committed before Close
			if b.cfg.Final != nil {
				b.cfg.Final()
			}
			return
		}
	}
}

// Flush writes the committed frames now, from the calling goroutine,
// rather than when the writer goroutine next runs (with one P: once the
// sender blocks). A claim still being encoded stops it (the bytes behind
// the committed frames are not ready); that claim's Commit wakes the
// writer again. One Flush writes at a time (the writer's, or a caller's):
// another returns at once, and the one writing picks up what it committed.
func (b *Buffer) Flush() {
	b.mu.Lock()
	if b.writing {
		b.mu.Unlock()
		return
	}
	b.writing = true
	for len(b.pending) > 0 && !b.claimOpen && b.err == nil {
		out := b.pending
		b.pending = b.spare[:0]
		b.mu.Unlock()
		_, err := b.w.Write(out)
		b.mu.Lock()
		if cap(out) > 4*b.cfg.Bound {
			out = make([]byte, 0, b.cfg.Initial) // keep no huge frame's memory
		}
		b.spare = out[:0]
		if err != nil && b.err == nil {
			if b.cfg.WriteErr != nil {
				err = b.cfg.WriteErr(err)
			}
			b.err = err
			if b.cfg.OnWriteErr != nil {
				b.mu.Unlock()
				b.cfg.OnWriteErr()
				b.mu.Lock()
			}
		}
		signal(b.drained)
	}
	b.writing = false
	b.mu.Unlock()
}

// Close stops new claims, lets the writer write what was committed and run
// Final, and waits for it. The caller bounds the writes (a deadline on its
// connection) and closes the connection afterwards.
func (b *Buffer) Close() {
	b.closeOnce.Do(func() {
		close(b.closed)
		<-b.writerDone
	})
}

// lengthSize is the length prefix of the default framing.
const lengthSize = 3

// signal wakes the goroutine waiting on ch, if any, without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
