// Package rsocket implements RSocket 1.0 connections over any frame
// Transport: the in-process Pipe, TCP (24-bit length prefix; DialTCP,
// ListenTCP, NewTCPTransport) and, through the same seam, shared memory.
//
// A Conn is both requester and responder. Requests are blocking calls with
// a context (RequestResponse, FireAndForget, RequestStream, RequestChannel,
// MetadataPush), plus RequestResponseAsync for callers that must neither
// block nor allocate. The peer's requests go to a Handler.
//
// Flow control is strict: a responder's StreamWriter.Send and a channel's
// Send block until the peer has granted request(n) credit; the receiving
// side grants ClientConfig.Prefetch up front and replenishes at half.
// Messages above the MTU (or the transport's MaxFrameSize) are fragmented
// and reassembled up to MaxMessageSize.
//
// Leasing (the SETUP L flag) is optional in both directions: see
// LeaseConfig and lease.go.
//
// Not implemented: resumption (a SETUP asking for it is refused with
// UNSUPPORTED_SETUP; a RESUME with REJECTED_RESUME).
package rsocket
