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
	// DefaultPrefetch covers a TCP round trip with thread wake-ups (about
	// 200 us in a VM) at 2M+ small payloads/s; the window was 256, which
	// held a TCP stream to ~1.2M/s. A stream queues up to Prefetch
	// payloads: set Prefetch lower for large ones.
	DefaultPrefetch = 1024
	// MinMTU is the smallest fragment size accepted: a fragment must hold its
	// frame header and some payload.
	MinMTU = 64
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
	// Prefetch is the request(n) window of a stream or channel this side
	// consumes: n is requested up front and replenished when half has been
	// received. Zero means DefaultPrefetch.
	Prefetch int
	// Logger receives protocol diagnostics; nil is silent.
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
	// MTU, MaxMessageSize, Prefetch and Logger: as in ClientConfig.
	MTU            int
	MaxMessageSize int
	Prefetch       int
	Logger         *slog.Logger
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
}

// settings is the resolved, per-connection form of either config.
type settings struct {
	mtu         int
	maxMessage  int
	prefetch    int
	logger      *slog.Logger
	keepalive   time.Duration
	maxLifetime time.Duration
	handler     Handler
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
	if s.prefetch <= 0 {
		s.prefetch = DefaultPrefetch
	}
	if s.prefetch > maxRequestN {
		s.prefetch = maxRequestN
	}
	return s
}

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
