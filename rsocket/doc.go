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
//
// # Payload ownership
//
// A Payload the connection hands over is a view into memory it reuses:
//
//   - the request passed to a Handler method (a metadata push's metadata
//     too) is valid until the method returns;
//   - the request passed to an inline handler (InlineResponder,
//     InlineFireAndForget) is valid during the call;
//   - a payload from Stream.Recv or Channel.Recv is valid until the next
//     Recv on that stream, one from All during its iteration step;
//   - the answer passed to a ResponseHandler is valid during the call.
//
// Within those bounds a view may be used as it is, also for what goes
// back: a handler may return its request, or slices of it, as its
// response, or send them with its StreamWriter or Channel, as the
// connection has sent a response before it reuses the request's memory.
// What is kept longer (stored, handed to a goroutine that outlives the
// call, answered later through a Responder) must be copied first: Clone,
// or CloneInto to reuse a buffer.
//
// What a call returns to its caller is the caller's own: the answer of
// RequestResponse, that of RequestResponseInto (in the caller's buffer),
// SetupInfo.Payload. A Payload given to the connection (a request, Send,
// Respond) is read only during the call, and a handler's response until
// it is sent: its memory must not change after the handler returns.
//
// Interceptors wrap the requests of either side (Interceptor; the
// RequesterInterceptors and ResponderInterceptors of ClientConfig and
// ServerConfig) for logging, authentication, metrics or tracing. A panic
// in a Handler fails its request only (see Handler).
package rsocket
