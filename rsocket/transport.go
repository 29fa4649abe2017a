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
