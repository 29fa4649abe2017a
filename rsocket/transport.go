package rsocket

import "context"

// Transport moves whole RSocket frames (no length prefix) between two peers.
//
// It is the seam between the protocol engine and the wire: the in-process
// Pipe, TCP (NewTCPTransport) and the shared-memory rings all implement it.
// The engine encodes each outgoing frame straight into Claim memory, so a
// transport that hands out its own buffer (a ring slot, a socket write
// buffer) sends without an intermediate copy.
type Transport interface {
	// MaxFrameSize is the largest frame Claim accepts; the engine fragments
	// larger payloads (a ring has a record limit).
	MaxFrameSize() int
	// Claim returns n bytes of transport memory for one frame, exclusively
	// until Commit or Abort; concurrent callers are serialized by the
	// transport. It blocks while the transport is full (backpressure) until
	// ctx is done.
	Claim(ctx context.Context, n int) ([]byte, error)
	// Commit sends the first n bytes of the claimed buffer (n <= claimed);
	// Abort discards the claim.
	Commit(n int) error
	Abort()
	// Receive delivers each incoming frame, in place, to fn until the
	// transport fails, is closed or fn returns an error. The frame is valid
	// only while fn runs. Only one goroutine calls Receive.
	Receive(fn func(frame []byte) error) error
	// Close tears the transport down; a blocked Receive or Claim returns.
	Close() error
}

// Driver is an optional interface of a Transport whose receive side the
// goroutine waiting for an answer can run itself: a shared-memory ring,
// where handing each frame from a polling goroutine to the waiting one would
// cost a thread wake-up (tens of microseconds in a VM) on a path that
// otherwise takes a fraction of a microsecond. A blocking request-response
// calls Drive after sending its request, so a ping-pong needs one polling
// thread per process: the caller's.
type Driver interface {
	// Drive delivers incoming frames to fn from the calling goroutine, as
	// Receive would (never concurrently with Receive or another Drive
	// delivering), until done returns true (Drive calls it between polls;
	// it must be cheap and must not block, though it may yield the
	// processor to goroutines the delivered frames woke), cancel is
	// closed, the transport's wait strategy says to stop polling and park
	// instead, or the receive side fails (Receive then returns that
	// error). The caller checks for its answer and waits as usual
	// afterwards.
	Drive(fn func(frame []byte) error, done func() bool, cancel <-chan struct{})
}

// flusher is implemented by a Transport that holds committed frames back to
// send them in batches (TCP's write-behind). Flush sends what has been
// committed now, from the calling goroutine, unless a write is already
// under way (which then sends it).
type flusher interface {
	Flush()
}

// laterCommitter is implemented by a Transport that can hold a committed
// frame back briefly, to publish it with the next ones (shared memory: one
// atomic store, of the batch's first record header, instead of one per
// frame).
// CommitLater is Commit with that licence; a later Commit publishes what
// was held back too. The engine uses it only for the frames that come in
// floods, stream payloads and fire-and-forget requests.
type laterCommitter interface {
	CommitLater(n int) error
}

// drivenCommitter is implemented by a Driver that can hold back the request
// of a requester that will drive next, while another goroutine drives
// (which publishes it on its next turn, with the requests of the other
// requesters it woke). CommitDriven is Commit with that licence.
// CommitPolled is Commit with the licence to hold an asynchronous request
// back while any poller of the receive side (the receive loop or a
// driver) polls, never waking one for it.
type drivenCommitter interface {
	CommitDriven(n int) error
	CommitPolled(n int) error
}

// heldCommitter is implemented by a Transport whose claim can be held
// across the frames of a batch (shared memory): CommitHold commits the
// claimed frame as CommitLater does and keeps the claim, and ClaimHeld
// claims the next frame under it (on an error the claim is released, as
// Claim leaves it). The batch ends with CommitLater, Commit or Abort of its
// last frame. The engine uses it for the batch senders (StreamWriter.SendBatch,
// Channel.SendBatch, Conn.FireAndForgetBatch).
type heldCommitter interface {
	CommitHold(n int) error
	ClaimHeld(ctx context.Context, n int) ([]byte, error)
}

// batchMarker is implemented by a Transport that reports the end of each
// batch of frames its receive side hands to the engine (shared memory):
// SetBatchEnd(fn) makes it call fn after the last frame of each batch, on
// the goroutine that received them, before another goroutine can receive.
// The engine then holds a stream's lock across the PAYLOAD frames of a batch
// that the stream's own reader receives while it drives (Conn.pushHeld).
type batchMarker interface {
	SetBatchEnd(fn func())
}

// recvLimiter is implemented by a Transport that reads each frame's length
// before the frame (TCP): limitRecv(n) makes Receive fail with errRecvLimit
// when the peer declares a frame longer than n, before reading or making
// room for any of it. A server connection limits its first frame
// (ServerConfig.MaxSetupSize) and lifts the limit once SETUP or RESUME is
// accepted. Only the receive goroutine calls it (or the code that starts
// it), so it needs no synchronisation. Transports whose frames cannot
// declare more than they hold (a ring record, a Pipe) do not implement it.
type recvLimiter interface {
	limitRecv(n int)
}
