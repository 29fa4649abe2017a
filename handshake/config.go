package handshake

import (
	"log/slog"
	"math/bits"
	"net"
	"strconv"
	"time"

	"github.com/rshm/rshm/ring"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
	"github.com/rshm/rshm/shmtransport"
)

// Mode says which transports a side accepts.
type Mode uint8

const (
	// Auto uses shared memory when the peer is co-located (same kernel,
	// same shm directory, same user) and RSocket over TCP otherwise.
	Auto Mode = iota
	// SHMOnly requires shared memory: a failed handshake is an *Error
	// naming the step, never a TCP connection. A server in this mode closes
	// plain RSocket-over-TCP peers.
	SHMOnly
	// TCPOnly never uses shared memory: a client dials plain RSocket over
	// TCP, a server declines every hello (the client falls back) and serves
	// plain peers.
	TCPOnly
)

var modeNames = [...]string{Auto: "auto", SHMOnly: "shm", TCPOnly: "tcp"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Kind is the transport a connection ended up on.
type Kind uint8

const (
	KindTCP Kind = iota // RSocket over the TCP socket (24-bit length framing)
	KindSHM             // RSocket over the shared-memory rings
	// KindWS is RSocket over a WebSocket (package wstransport): never the
	// outcome of a handshake, but the kind of an rshm connection made or
	// served at a ws:// or wss:// URL.
	KindWS
)

var kindNames = [...]string{KindTCP: "tcp", KindSHM: "shm", KindWS: "ws"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Wait is how a shared-memory side waits for its ring (shmtransport.Wait).
type Wait = shmtransport.Wait

// The strategies of Wait; see shmtransport.Wait.
const (
	WaitDefault = shmtransport.WaitDefault
	WaitSpin    = shmtransport.WaitSpin
	WaitYield   = shmtransport.WaitYield
	WaitBackoff = shmtransport.WaitBackoff
	WaitBlock   = shmtransport.WaitBlock
)

// Defaults used where a Config field is zero.
const (
	DefaultRingSize    = 1 << 20
	DefaultMaxRingSize = 64 << 20
	DefaultTimeout     = 2 * time.Second
	DefaultMaxPending  = 1024
)

// Config configures both sides of the handshake and the shared-memory
// transport it builds. The zero value works: Auto mode, 1 MiB rings under
// /dev/shm, the default wait, a 2 s handshake timeout.
type Config struct {
	// Mode: Auto (zero), SHMOnly or TCPOnly.
	Mode Mode
	// RingSize is the data capacity of each ring, rounded up to a power of
	// two within [ring.MinCapacity, MaxRingSize]. A client asks for it; a
	// server uses the client's wish, or its own RingSize when the client
	// leaves it to the server. Zero means DefaultRingSize.
	RingSize int
	// MaxRingSize (server) caps the ring a client may ask for. Zero means
	// DefaultMaxRingSize.
	MaxRingSize int
	// Wait is how the receive loop and a blocked Claim wait. A server whose
	// Wait is WaitDefault adopts the client's. Over TCP it sets how long
	// the receive loop polls the socket before it parks: WaitBlock not at
	// all, WaitSpin and WaitYield without end, the others
	// rsocket.DefaultTCPPoll (see rsocket.TCPConfig). The largest frame is the
	// ring's MaxRecord, RingSize/8 + ring.HeaderSlack; the engine
	// fragments above it.
	Wait Wait
	// ParkTimeout bounds one futex park of the shared-memory transport.
	// Zero parks until woken (shmtransport.Options.ParkTimeout).
	ParkTimeout time.Duration
	// Timeout bounds the whole handshake of one connection, from the first
	// byte to the final message. Zero means DefaultTimeout.
	Timeout time.Duration
	// SHM says where and how regions are mapped (directory, huge pages,
	// mlock). The zero value maps prefaulted regions under /dev/shm.
	SHM shm.Config
	// PinCPU pins the OS thread of the receive loop to CPU (see package
	// affinity). False (zero) pins nothing.
	PinCPU bool
	CPU    int
	// BindNUMA places the rings on NUMA node NUMANode (the consumer's).
	// False (zero) leaves placement to the kernel.
	BindNUMA bool
	NUMANode int
	// MaxPending (server) bounds each stage of Serve's pipeline: the
	// connections being sniffed and negotiated, and those negotiated and
	// not yet done with by their owner (rshm.Listener: waiting for their
	// SETUP). A newcomer to a full stage evicts the oldest connection once
	// that one is EvictAge old (see Serve). Zero means DefaultMaxPending.
	MaxPending int
	// Logger receives handshake diagnostics; nil is silent.
	Logger *slog.Logger
	// OnFallback (client, Auto mode) is called with the reason when a
	// connection to a loopback peer ends up on TCP instead of shared
	// memory: the server declined or does not speak rshm, or a check on
	// this side failed. Nil: the reason goes to Logger at Info.
	OnFallback func(error)

	// hooks replaces system facts in tests; nil in production.
	hooks *hooks
	// pool holds regions Serve prepared ahead; nil for Server alone.
	pool *regionPool
}

// hooks lets tests fake what a side learns about its machine.
type hooks struct {
	bootID func() ([16]byte, error)
	// created sees the server's region before the reply names it.
	created func(*shm.Duplex)
	// confirmed sees the client's region after it wrote the nonce, before
	// the proof is sent: the server has not unlinked it yet.
	confirmed func(*shm.Duplex)
}

func (c *Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// transport returns the options of the shared-memory transport for a
// connection that waits with w (the client's Wait, or the one a server
// adopted from the hello).
func (c *Config) transport(w Wait) shmtransport.Options {
	return shmtransport.Options{Wait: w, ParkTimeout: c.ParkTimeout, PinCPU: c.PinCPU, CPU: c.CPU,
		Prefault: !c.SHM.NoPopulate}
}

// unpopulated is how both sides map a region: without faulting its pages
// in, which would cost the connection's setup more than the rest of the
// handshake (BenchmarkConn/connect-shm in package bench). Unless the
// configuration says NoPopulate, the transport faults them in after
// shmtransport.PrefaultDelay (Options.Prefault), when the connection is
// still open.
func unpopulated(c shm.Config) shm.Config {
	c.NoPopulate = true
	return c
}

func (c *Config) maxPending() int {
	if c.MaxPending <= 0 {
		return DefaultMaxPending
	}
	return c.MaxPending
}

func (c *Config) maxRing() int {
	if c.MaxRingSize <= 0 {
		return DefaultMaxRingSize
	}
	return min(c.MaxRingSize, ring.MaxCapacity)
}

// ringSize returns want rounded up to a power of two and clamped to
// [ring.MinCapacity, max]; zero means def.
func ringSize(want uint64, def, max int) int {
	if want == 0 {
		want = uint64(def)
	}
	if want == 0 {
		want = DefaultRingSize
	}
	if want > uint64(max) {
		want = uint64(max)
	}
	if want < ring.MinCapacity {
		want = ring.MinCapacity
	}
	c := uint64(1) << (64 - bits.LeadingZeros64(want-1))
	if c > uint64(max) { // max is not a power of two: round down instead
		c >>= 1
	}
	return int(max64(c, ring.MinCapacity))
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func (c *Config) bootID() ([16]byte, error) {
	if c.hooks != nil && c.hooks.bootID != nil {
		return c.hooks.bootID()
	}
	return readBootID()
}

// fellBack reports why a client in Auto mode is on TCP.
func (c *Config) fellBack(err error) {
	if c.OnFallback != nil {
		c.OnFallback(err)
		return
	}
	c.logger().Info("handshake: on TCP instead of shared memory", "err", err)
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Bounds of a ring's capacity, as uint64 for the checks of peer input.
const (
	ringMinCapacity = ring.MinCapacity
	ringMaxCapacity = ring.MaxCapacity
)

// tcpTransport returns the RSocket-over-TCP transport for c, whose receive
// loop waits as c.Wait says: WaitBlock parks at once, WaitSpin and WaitYield
// never park, the others poll for rsocket.DefaultTCPPoll first. prefix
// holds bytes already read from c.
func (c *Config) tcpTransport(nc net.Conn, prefix []byte) rsocket.Transport {
	tc := rsocket.TCPConfig{Prefix: prefix}
	switch c.Wait {
	case WaitBlock:
		tc.Poll = -1
	case WaitSpin, WaitYield:
		tc.Poll = rsocket.PollForever
	}
	return rsocket.NewTCPTransportConfig(nc, tc)
}
