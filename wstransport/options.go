package wstransport

import (
	"crypto/tls"
	"errors"
	"net/http"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// Defaults of Options.
const (
	// DefaultWriteTimeout is how long a write to the peer may block before
	// the transport gives up on a peer that stopped reading.
	DefaultWriteTimeout = 30 * time.Second
)

// Buffer sizes.
const (
	// bufferSize is the initial size of the pending and receive buffers
	// and the size of the library's read buffer: a read system call
	// fetches up to this many bytes of messages.
	bufferSize = 64 << 10
	// pendingBound is how many encoded bytes may wait for the socket
	// before Claim blocks (as rsocket's TCP transport).
	pendingBound = 1 << 20
)

// Options configures a WebSocket transport. The zero value works.
type Options struct {
	// TLS configures wss:// connections made by Dial; nil means the
	// system's roots, with the server name taken from the URL. (A server
	// gets TLS from its http.Server.)
	TLS *tls.Config
	// Header holds extra HTTP headers for Dial's handshake request, such
	// as Authorization or Origin.
	Header http.Header
	// MaxMessageSize is the largest WebSocket message (one RSocket frame)
	// the transport accepts, and the largest frame it sends
	// (MaxFrameSize). A larger incoming message ends the connection with
	// ErrMessageTooLarge before it is read. Zero means
	// rsocket.MaxFrameLength, the largest frame RSocket can express; a
	// larger value or a negative one is an error.
	MaxMessageSize int
	// WriteTimeout is how long a write to the socket may block, the peer
	// not reading, before the transport fails with ErrWriteTimeout and
	// closes the connection: a write gets between WriteTimeout and 1.5
	// times that. Zero means DefaultWriteTimeout; negative waits forever
	// (senders then block in Claim once the pending buffer is full, as
	// over TCP).
	WriteTimeout time.Duration
	// Poll is how long the receive loop polls an empty socket before it
	// parks, as rsocket.TCPConfig.Poll: zero means rsocket.DefaultTCPPoll,
	// negative parks at once, rsocket.PollForever never parks.
	Poll time.Duration
	// CheckOrigin decides whether Upgrade and Handler accept a handshake
	// request (a browser sends the page's origin). Nil accepts requests
	// without an Origin header and those whose origin is the request's
	// host.
	CheckOrigin func(r *http.Request) bool
}

func (o Options) maxMessage() (int, error) {
	switch {
	case o.MaxMessageSize == 0:
		return rsocket.MaxFrameLength, nil
	case o.MaxMessageSize < 0 || o.MaxMessageSize > rsocket.MaxFrameLength:
		return 0, errBadMaxMessage
	}
	return o.MaxMessageSize, nil
}

func (o Options) writeTimeout() time.Duration {
	if o.WriteTimeout == 0 {
		return DefaultWriteTimeout
	}
	return o.WriteTimeout
}

func (o Options) poll() time.Duration {
	if o.Poll == 0 {
		return rsocket.DefaultTCPPoll
	}
	return o.Poll
}

// Errors of the transport. Receive and Claim return them wrapped; match
// them with errors.Is.
var (
	// ErrTextMessage: the peer sent a text message. The RSocket binding
	// carries frames in binary messages only; the transport answers with
	// close code 1003 (unsupported data).
	ErrTextMessage = errors.New("wstransport: text message (RSocket frames travel in binary messages)")
	// ErrMessageTooLarge: the peer sent a message larger than
	// Options.MaxMessageSize; the transport answers with close code 1009
	// (message too big) without reading it.
	ErrMessageTooLarge = errors.New("wstransport: message larger than the maximum message size")
	// ErrProtocol: the peer broke the WebSocket protocol (a reserved
	// opcode or bit, an unmasked client frame, a malformed control
	// frame); the transport answers with close code 1002.
	ErrProtocol = errors.New("wstransport: WebSocket protocol error")
	// ErrWriteTimeout: a write to the peer blocked for Options.WriteTimeout
	// (the peer stopped reading). It has Timeout() true.
	ErrWriteTimeout error = timeoutError{}

	errBadMaxMessage = errors.New("wstransport: MaxMessageSize out of range")
	errFrameTooLarge = errors.New("wstransport: frame larger than the maximum message size")
	errBadScheme     = errors.New("wstransport: URL scheme is neither ws nor wss")
)

type timeoutError struct{}

func (timeoutError) Error() string {
	return "wstransport: write timed out (the peer stopped reading)"
}
func (timeoutError) Timeout() bool { return true }
