package rsocket

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Default bounds of an in-process pipe direction.
const (
	// DefaultPipeBytes is how many frame bytes one direction of a Pipe holds
	// before Claim blocks.
	DefaultPipeBytes = 1 << 20
	// DefaultPipeFrames is how many frames one direction of a Pipe holds
	// before Claim blocks.
	DefaultPipeFrames = 1024
)

// PipeConfig configures Pipe. The zero value works.
type PipeConfig struct {
	// MaxFrameSize is the largest frame a side may claim; zero means
	// MaxFrameLength (16 MiB - 1), the TCP limit.
	MaxFrameSize int
	// Bytes bounds the bytes queued in one direction; zero means
	// DefaultPipeBytes. A single frame larger than the bound is still
	// accepted when the direction is empty.
	Bytes int
	// Frames bounds the frames queued in one direction; zero means
	// DefaultPipeFrames.
	Frames int
}

// Pipe returns the two ends of a bounded in-process frame transport, for
// tests and for connecting two Conns in one process. A frame is encoded once
// into a pooled buffer by the sender and handed to the receiver without a
// further copy; buffers are recycled, so a steady exchange does not allocate.
// Closing either end closes both.
func Pipe(cfg PipeConfig) (Transport, Transport) {
	if cfg.MaxFrameSize <= 0 {
		cfg.MaxFrameSize = MaxFrameLength
	}
	if cfg.Bytes <= 0 {
		cfg.Bytes = DefaultPipeBytes
	}
	if cfg.Frames <= 0 {
		cfg.Frames = DefaultPipeFrames
	}
	shared := &pipeShared{done: make(chan struct{})}
	ab := newPipeQueue(cfg)
	ba := newPipeQueue(cfg)
	a := &pipeEnd{shared: shared, out: ab, in: ba, max: cfg.MaxFrameSize, sem: make(chan struct{}, 1)}
	b := &pipeEnd{shared: shared, out: ba, in: ab, max: cfg.MaxFrameSize, sem: make(chan struct{}, 1)}
	return a, b
}

// MaxFrameLength is the largest frame a byte-stream transport can carry: its
// length prefix has 24 bits.
const MaxFrameLength = 1<<24 - 1

// errPipeClosed is returned by a closed pipe's Claim.
var errPipeClosed = errors.New("rsocket: pipe closed")

type pipeShared struct {
	once sync.Once
	done chan struct{}
}

// pipeQueue is one direction: a FIFO of frames plus a free list of buffers.
type pipeQueue struct {
	mu       sync.Mutex
	frames   [][]byte // ring of queued frames
	head, n  int
	bytes    int
	maxBytes int
	free     [][]byte
	// Frames and bytes queued and dequeued since the start (Traffic).
	queued, queuedBytes, dequeued, dequeuedBytes uint64
	ready                                        chan struct{} // cap 1: a frame was queued
	space                                        chan struct{} // cap 1: a frame was dequeued
}

func newPipeQueue(cfg PipeConfig) *pipeQueue {
	return &pipeQueue{
		frames:   make([][]byte, cfg.Frames),
		maxBytes: cfg.Bytes,
		ready:    make(chan struct{}, 1),
		space:    make(chan struct{}, 1),
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

type pipeEnd struct {
	shared  *pipeShared
	out, in *pipeQueue
	max     int
	sem     chan struct{} // held from Claim to Commit/Abort
	claimed []byte
}

func (p *pipeEnd) MaxFrameSize() int { return p.max }

func (p *pipeEnd) Claim(ctx context.Context, n int) ([]byte, error) {
	if n < 0 || n > p.max {
		return nil, errFrameTooLarge
	}
	select {
	case <-p.shared.done:
		return nil, errPipeClosed
	default:
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.shared.done:
		return nil, errPipeClosed
	}
	q := p.out
	for {
		q.mu.Lock()
		if q.n < len(q.frames) && (q.n == 0 || q.bytes+n <= q.maxBytes) {
			var b []byte
			for i := len(q.free) - 1; i >= 0; i-- {
				if cap(q.free[i]) >= n {
					b = q.free[i]
					q.free[i] = q.free[len(q.free)-1]
					q.free = q.free[:len(q.free)-1]
					break
				}
			}
			q.mu.Unlock()
			if b == nil {
				b = make([]byte, n)
			}
			p.claimed = b[:n]
			return p.claimed, nil
		}
		q.mu.Unlock()
		select {
		case <-q.space:
		case <-ctx.Done():
			<-p.sem
			return nil, ctx.Err()
		case <-p.shared.done:
			<-p.sem
			return nil, errPipeClosed
		}
	}
}

func (p *pipeEnd) Commit(n int) error {
	b := p.claimed[:n]
	p.claimed = nil
	q := p.out
	q.mu.Lock()
	q.frames[(q.head+q.n)%len(q.frames)] = b
	q.n++
	q.bytes += n
	q.queued++
	q.queuedBytes += uint64(n)
	q.mu.Unlock()
	signal(q.ready)
	<-p.sem
	return nil
}

func (p *pipeEnd) Abort() {
	b := p.claimed
	p.claimed = nil
	q := p.out
	q.mu.Lock()
	q.free = append(q.free, b)
	q.mu.Unlock()
	<-p.sem
}

func (p *pipeEnd) Receive(fn func(frame []byte) error) error {
	q := p.in
	for {
		q.mu.Lock()
		if q.n == 0 {
			q.mu.Unlock()
			select {
			case <-q.ready:
				continue
			case <-p.shared.done:
				// Deliver what was queued before the close.
				q.mu.Lock()
				empty := q.n == 0
				q.mu.Unlock()
				if empty {
					return io.EOF
				}
				continue
			}
		}
		b := q.frames[q.head]
		q.frames[q.head] = nil
		q.head = (q.head + 1) % len(q.frames)
		q.n--
		q.bytes -= len(b)
		q.dequeued++
		q.dequeuedBytes += uint64(len(b))
		q.mu.Unlock()
		signal(q.space)
		err := fn(b)
		q.mu.Lock()
		q.free = append(q.free, b)
		q.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Traffic counts the frames this end queued and dequeued
// (TrafficCounter).
func (p *pipeEnd) Traffic() (framesSent, bytesSent, framesReceived, bytesReceived uint64) {
	p.out.mu.Lock()
	framesSent, bytesSent = p.out.queued, p.out.queuedBytes
	p.out.mu.Unlock()
	p.in.mu.Lock()
	framesReceived, bytesReceived = p.in.dequeued, p.in.dequeuedBytes
	p.in.mu.Unlock()
	return framesSent, bytesSent, framesReceived, bytesReceived
}

func (p *pipeEnd) Close() error {
	p.shared.once.Do(func() { close(p.shared.done) })
	return nil
}
