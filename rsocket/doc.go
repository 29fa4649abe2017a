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
// side grants a window up front and tops it up once half is free (a fixed
// ClientConfig.Prefetch, or by default a window sized by the bytes of the
// payloads received: see DefaultPrefetchBytes).
// Messages above the MTU (or the transport's MaxFrameSize) are fragmented
// and reassembled up to MaxMessageSize, within a per-connection budget
// (MaxReassemblyBytes).
//
// What a peer can make a server hold is bounded by ServerConfig: the first
// frame's size (MaxSetupSize) and deadline (SetupTimeout), the silence it
// tolerates (MaxLifetime caps the client's) and, optionally, idle time
// (IdleTimeout).
//
// Leasing (the SETUP L flag) is optional in both directions: see
// LeaseConfig and lease.go.
//
// Resumption (the SETUP R flag, RESUME and RESUME_OK) is optional too: see
// ResumeConfig and resume.go.
package rsocket
