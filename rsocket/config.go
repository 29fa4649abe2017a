package rsocket

import (
	"context"
	"log/slog"
	"time"
)

// Defaults used where a config field is zero.
const (
	DefaultKeepaliveInterval = 20 * time.Second
	DefaultMaxLifetime       = 90 * time.Second
	DefaultMIME              = "application/binary"
	DefaultMaxMessageSize    = 16 << 20
	// DefaultPrefetch is the request(n) window a stream or channel starts
	// with when Prefetch is zero, before any payload has shown how large
	// they are, shared among the connection's open streams (at least 2
	// each).
	DefaultPrefetch = 64
	// DefaultPrefetchBytes bounds, when Prefetch is zero, the window at
	// the average size of the payloads received so far: the window is
	// PrefetchBytes / open streams / (average size + 64), at least 2 and
	// at most MaxPrefetch payloads. With one stream open, 64-byte payloads
	// get MaxPrefetch, 1 MiB ones 7; the bytes a connection's streams
	// queue stay near PrefetchBytes however many are open.
	DefaultPrefetchBytes = 8 << 20
	// MaxPrefetch is the largest window a zero Prefetch grows to. A stream
	// of small payloads over TCP is held back by a smaller one: the credit
	// loop, with thread wake-ups, is slow next to the payloads (see
	// BenchmarkTCP/rsocket-stream-64B in package bench, and the window
	// sweep in docs/benchmarks.md).
	MaxPrefetch = 8192
	// MinMTU is the smallest fragment size accepted: a fragment must hold its
	// frame header and some payload.
	MinMTU = 64
)

// Defaults of the limits on what a peer can make a connection hold (see
// the Limits section of docs/operations.md).
const (
	// DefaultMaxReassemblyBytes is a connection's reassembly budget when
	// MaxReassemblyBytes is zero: two messages of DefaultMaxMessageSize.
	DefaultMaxReassemblyBytes = 32 << 20
	// DefaultMaxSetupSize is the longest first frame (SETUP or RESUME) a
	// server reads when ServerConfig.MaxSetupSize is zero.
	DefaultMaxSetupSize = 64 << 10
	// DefaultSetupTimeout is how long a server waits for SETUP or RESUME
	// when ServerConfig.SetupTimeout is zero.
	DefaultSetupTimeout = 10 * time.Second
	// DefaultMaxLifetimeCap is the longest silence a server tolerates,
	// whatever the client's SETUP asks for, when ServerConfig.MaxLifetime
	// is zero.
	DefaultMaxLifetimeCap = 5 * time.Minute
)

// ClientConfig configures the client side of a connection. The zero value
// works.
type ClientConfig struct {
	// KeepaliveInterval is how often the client sends KEEPALIVE; zero means
	// DefaultKeepaliveInterval. Sent in SETUP.
	KeepaliveInterval time.Duration
	// MaxLifetime is how long either side tolerates silence from the other
	// before closing with ErrKeepaliveTimeout; zero means
	// DefaultMaxLifetime. Sent in SETUP.
	MaxLifetime time.Duration
	// MetadataMIME and DataMIME are announced in SETUP; empty means
	// DefaultMIME. They must be US-ASCII, at most 255 bytes.
	MetadataMIME, DataMIME string
	// SetupPayload is carried by the SETUP frame.
	SetupPayload Payload
	// Handler answers requests the server makes; nil rejects them all.
	Handler Handler
	// MTU is the largest frame sent; larger messages are fragmented. Zero
	// means no fragmentation beyond what the transport's MaxFrameSize
	// requires. Values below MinMTU are raised to MinMTU.
	MTU int
	// MaxMessageSize bounds a reassembled message (metadata + data); zero
	// means DefaultMaxMessageSize. A stream whose message exceeds it fails
	// with ErrMessageTooLarge and is cancelled (requester side) or answered
	// with ERROR[INVALID] (responder side); the connection stays up.
	MaxMessageSize int
	// MaxReassemblyBytes bounds the bytes that the partial (fragmented,
	// not yet complete) messages of all the connection's streams hold
	// together, counting each partial message as 1 KiB more than its
	// bytes; zero means DefaultMaxReassemblyBytes, negative means no
	// bound beyond MaxMessageSize per message. A fragment that would go
	// over it fails its stream as MaxMessageSize does, with
	// ErrReassemblyLimit: the requester side cancels, the responder side
	// answers ERROR[INVALID], and the stream's buffers are freed. The
	// connection stays up: every stream on it is the same peer's, so a
	// peer that hogs the budget only refuses its own messages, and the
	// memory stays bounded either way.
	MaxReassemblyBytes int
	// Prefetch is the request(n) window of a stream or channel this side
	// consumes: n is requested up front and replenished when half has been
	// received. Zero means a window sized by bytes: DefaultPrefetch
	// payloads up front, then as many as fit in the stream's share of
	// PrefetchBytes at the average size received (see
	// DefaultPrefetchBytes). The window bounds what a stream queues when
	// its reader falls behind.
	Prefetch int
	// PrefetchBytes is the byte budget of a zero Prefetch's windows,
	// shared by the connection's open streams; zero means
	// DefaultPrefetchBytes.
	PrefetchBytes int
	// Logger receives protocol diagnostics, and each handler panic the
	// connection recovered (Error level, with the stack); nil is silent,
	// but for the panics, which then go to slog.Default.
	Logger *slog.Logger
	// Lease, if not nil, asks for leasing: SETUP carries the L flag, this
	// side sends no request before the server's LEASE and grants the server
	// leases by Lease.Strategy (see LeaseConfig). Nil: no leasing. A server
	// without lease support refuses the SETUP (UNSUPPORTED_SETUP).
	Lease *LeaseConfig
	// Resume, if not nil, makes the session resumable: SETUP carries R and
	// the token, and when the transport breaks the connection redials
	// (Resume.Redial) and resumes instead of failing. A server without
	// resumption refuses the SETUP (REJECTED_SETUP).
	Resume *ResumeConfig

	// RequesterInterceptors wrap every request this side makes (the Conn's
	// request methods), the first outermost; ResponderInterceptors wrap
	// every request the Handler answers. Nil: none. See Interceptor.
	RequesterInterceptors []Interceptor
	ResponderInterceptors []Interceptor
}

// SetupInfo is what a client announced in its SETUP frame. Its slices are
// the acceptor's own (copied out of the frame).
type SetupInfo struct {
	MajorVersion, MinorVersion uint16
	KeepaliveInterval          time.Duration
	MaxLifetime                time.Duration
	MetadataMIME, DataMIME     string
	Payload                    Payload
	// Lease reports the SETUP's L flag: leasing is in force on the
	// connection (an Acceptor may refuse a client without it).
	Lease bool
}

// ServerConfig configures the server side of a connection. The zero value
// works (it accepts every client and rejects every request).
type ServerConfig struct {
	// Acceptor decides whether to accept a client and returns the Handler
	// that answers its requests. It runs on the connection's receive
	// goroutine before any other frame is read: it may start requests on
	// conn from another goroutine but must not wait for their answers.
	// Returning an error rejects the client with REJECTED_SETUP and the
	// error's message (an *Error keeps its code). Nil accepts every client
	// with a nil Handler.
	Acceptor func(ctx context.Context, setup SetupInfo, conn *Conn) (Handler, error)
	// MTU, MaxMessageSize, Prefetch, PrefetchBytes and Logger: as in
	// ClientConfig.
	MTU            int
	MaxMessageSize int
	Prefetch       int
	PrefetchBytes  int
	Logger         *slog.Logger
	// MaxReassemblyBytes: as in ClientConfig.
	MaxReassemblyBytes int
	// MaxSetupSize bounds the first frame of a connection, SETUP or
	// RESUME, before it is read: the peer has proven nothing yet. Zero
	// means DefaultMaxSetupSize; negative means the transport's frame
	// limit. A longer declared frame is answered with ERROR[INVALID_SETUP]
	// and the connection closes without reading it. It applies to
	// transports that read a declared length (TCP); frames over shared
	// memory or a Pipe cannot declare more than they hold.
	MaxSetupSize int
	// SetupTimeout is how long the server waits for the first frame
	// (SETUP or RESUME); zero means DefaultSetupTimeout, negative waits
	// for ever (ctx still bounds Server). A client that sends nothing in
	// time gets ERROR[CONNECTION_ERROR], the connection closes and Server
	// returns ErrSetupTimeout.
	SetupTimeout time.Duration
	// MaxLifetime caps the silence the server tolerates: it closes the
	// connection after min(the client's SETUP max lifetime, MaxLifetime)
	// without a frame from the client, with ERROR[CONNECTION_ERROR] and
	// ErrKeepaliveTimeout. Zero means DefaultMaxLifetimeCap, negative no
	// cap (the client's value). A client whose keepalive interval is
	// longer than the cap must send something else in time. SetupInfo
	// reports the client's value.
	MaxLifetime time.Duration
	// IdleTimeout closes a connection that has had no open stream and no
	// request, in either direction, for that long (KEEPALIVE and
	// METADATA_PUSH do not count): the server sends
	// ERROR[CONNECTION_CLOSE] and the connection ends with
	// ErrIdleTimeout. Zero or negative: never. It is checked on the
	// keepalive tick, at most IdleTimeout/4 apart, so a connection ends
	// between IdleTimeout and 1.5 times it after its last activity.
	IdleTimeout time.Duration
	// Lease is how the server leases when a client's SETUP sets the L flag
	// (see LeaseConfig); nil refuses such a SETUP with UNSUPPORTED_SETUP. A
	// client without L gets no leasing either way.
	Lease *LeaseConfig
	// Resume, if not nil, serves resumable sessions: a client whose SETUP
	// has R gets a session kept for Resume.SessionTimeout after its
	// transport breaks, and a connection that starts with RESUME joins its
	// session (Server then returns ErrResumed). Pass the same *ResumeConfig
	// to every Server call of one server: it holds the sessions. Nil
	// refuses R with REJECTED_SETUP and RESUME with REJECTED_RESUME.
	Resume *ResumeConfig

	// RequesterInterceptors and ResponderInterceptors: as in ClientConfig
	// (the responder ones wrap the Handler the Acceptor returns).
	RequesterInterceptors []Interceptor
	ResponderInterceptors []Interceptor
}

// settings is the resolved, per-connection form of either config.
type settings struct {
	mtu         int
	maxMessage  int
	prefetch    int // a fixed window, or 0: sized by prefetchBytes
	prefetchB   int
	logger      *slog.Logger
	keepalive   time.Duration
	maxLifetime time.Duration
	handler     Handler
	requesters  []Interceptor
	responders  []Interceptor
	maxAsm      int // the reassembly budget; 0: none
}

func resolve(mtu, maxMsg, prefetch int, log *slog.Logger, frameMax int) settings {
	s := settings{mtu: mtu, maxMessage: maxMsg, prefetch: prefetch, logger: log}
	if s.mtu <= 0 || s.mtu > frameMax {
		s.mtu = frameMax
	}
	if s.mtu < MinMTU {
		s.mtu = MinMTU
	}
	if s.maxMessage <= 0 {
		s.maxMessage = DefaultMaxMessageSize
	}
	if s.prefetch < 0 {
		s.prefetch = 0
	}
	if s.prefetch > maxRequestN {
		s.prefetch = maxRequestN
	}
	s.prefetchB = DefaultPrefetchBytes
	return s
}

// withReassembly sets the reassembly budget from a config's
// MaxReassemblyBytes.
func (s settings) withReassembly(n int) settings {
	switch {
	case n == 0:
		s.maxAsm = DefaultMaxReassemblyBytes
	case n > 0:
		s.maxAsm = n
	}
	return s
}

// withPrefetchBytes sets the byte budget of a zero Prefetch's window.
func (s settings) withPrefetchBytes(n int) settings {
	if n > 0 {
		s.prefetchB = n
	}
	return s
}

// initialWindow is the request(n) a stream or channel starts with, when
// streams of the connection are open (the new one counted): DefaultPrefetch
// shared among them, at least 2.
func (s *settings) initialWindow(streams int) int {
	if s.prefetch > 0 {
		return s.prefetch
	}
	return max(DefaultPrefetch/max(streams, 1), 2)
}

// window is the request(n) window of a stream that has received n payloads
// of bytes bytes in all (recently: see stream.push), when streams of the
// connection are open: PrefetchBytes is the connection's, shared among
// them, so that many streams of large payloads do not queue a multiple of
// it.
func (s *settings) window(bytes, n int64, streams int) int {
	if s.prefetch > 0 {
		return s.prefetch
	}
	if n == 0 {
		return s.initialWindow(streams)
	}
	w := int64(s.prefetchB) / int64(max(streams, 1)) / (bytes/n + itemOverhead)
	return int(min(max(w, 2), MaxPrefetch))
}

// itemOverhead is what a queued payload costs beside its bytes (its queue
// slot and buffer headers), counted in the byte-sized window.
const itemOverhead = 64

const maxRequestN = 1<<31 - 1

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
