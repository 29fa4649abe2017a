package cli

import (
	"context"
	"io"
	"sync"

	"github.com/rshm/rshm/rsocket"
)

// frameDump writes one line per frame (appendFrame) to w, for the frames
// of every transport it wraps: rshm request --debug.
type frameDump struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func newFrameDump(w io.Writer) *frameDump { return &frameDump{w: w} }

// line writes the line of frame b.
func (d *frameDump) line(out bool, b []byte) {
	d.mu.Lock()
	d.buf = appendFrame(d.buf[:0], out, b)
	_, _ = d.w.Write(d.buf) // a dump that cannot be written is no reason to fail the request
	d.mu.Unlock()
}

// wrap returns t with its frames dumped: a sent frame when it is
// committed, a received one before the engine sees it.
//
// The wrapper implements Transport only: the optional interfaces a
// transport may have (rsocket.Driver, batched commits) are hidden, so the
// engine runs on the plain path. Frames are the same; a debugged
// shared-memory request-response waits for its answer through the
// receive goroutine instead of driving the ring itself.
func (d *frameDump) wrap(t rsocket.Transport) rsocket.Transport {
	return &dumpTransport{Transport: t, d: d}
}

type dumpTransport struct {
	rsocket.Transport
	d *frameDump

	mu      sync.Mutex
	claimed []byte // the open claim: the transport serializes them
}

func (t *dumpTransport) Claim(ctx context.Context, n int) ([]byte, error) {
	b, err := t.Transport.Claim(ctx, n)
	t.mu.Lock()
	t.claimed = b
	t.mu.Unlock()
	return b, err
}

func (t *dumpTransport) Commit(n int) error {
	t.mu.Lock()
	b := t.claimed
	t.claimed = nil
	t.mu.Unlock()
	if n <= len(b) {
		t.d.line(true, b[:n])
	}
	return t.Transport.Commit(n)
}

func (t *dumpTransport) Abort() {
	t.mu.Lock()
	t.claimed = nil
	t.mu.Unlock()
	t.Transport.Abort()
}

func (t *dumpTransport) Receive(fn func(frame []byte) error) error {
	return t.Transport.Receive(func(b []byte) error {
		t.d.line(false, b)
		return fn(b)
	})
}
