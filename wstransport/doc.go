// Package wstransport carries RSocket over WebSocket, per the RSocket
// WebSocket binding: each RSocket frame is one binary WebSocket message,
// without the length prefix of the TCP binding.
//
// Dial connects to a ws:// or wss:// URL; Handler (or Upgrade, for a
// handler of one's own) accepts connections on an existing net/http server
// at whatever path it is mounted on, so a Go web service adds RSocket
// without opening another port. Both give an rsocket.Transport, on which
// rsocket.Client and rsocket.Server run the protocol:
//
//	http.Handle("/rsocket", wstransport.Handler(func(ctx context.Context, t rsocket.Transport) {
//		_, _ = rsocket.Server(ctx, t, cfg)
//	}))
//
//	t, err := wstransport.Dial(ctx, "wss://example.com/rsocket", wstransport.Options{})
//	conn, err := rsocket.Client(ctx, t, rsocket.ClientConfig{})
//
// github.com/gorilla/websocket does the HTTP upgrade on both sides, reads
// (framing, unmasking, ping, close, the checks a peer's frames need) and
// writes the control frames; docs/design.md says why that library. The
// transport encodes the frames it sends itself, the way the rsocket engine
// expects of every transport: senders encode each RSocket frame straight
// into a shared pending buffer behind room for its WebSocket header (and
// mask it, on a client), and a writer goroutine sends whatever has
// accumulated with one write to the socket (write-behind, as rsocket's TCP
// transport does). The receive loop polls the socket briefly before it
// parks, and every buffer is bounded: a message larger than
// Options.MaxMessageSize, a text message or a malformed frame ends the
// connection with a WebSocket close frame and an error
// (ErrMessageTooLarge, ErrTextMessage, ErrProtocol), and a peer that stops
// reading ends it after Options.WriteTimeout (ErrWriteTimeout) rather than
// letting frames pile up.
package wstransport
