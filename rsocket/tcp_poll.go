package rsocket

import (
	"bytes"
	"io"
	"net"
	"time"

	"github.com/rshm/rshm/internal/pollread"
)

// DefaultTCPPoll is how long a TCP transport's receive loop keeps polling
// an empty socket before it parks (TCPConfig.Poll); the same budget as the
// shared-memory transport's default wait.
const DefaultTCPPoll = 100 * time.Microsecond

// PollForever as TCPConfig.Poll polls until data arrives, however long
// that takes: lowest latency, a core per connection that waits.
const PollForever = pollread.Forever

// TCPConfig tunes a TCP transport. The zero value works.
type TCPConfig struct {
	// Poll is how long the receive loop, finding the socket empty, keeps
	// polling it (non-blocking reads, yielding the processor to runnable
	// goroutines between them) before it parks in the runtime's network
	// poller. Parking costs a thread wake-up when the next bytes arrive,
	// twice per round trip, and in a VM whose idle vCPU halts a wake-up
	// takes longer than the round trip itself (see BenchmarkRing/wake-futex,
	// and BenchmarkTCP/rsocket-rr-64B against TCP/raw-64B, in package
	// bench). Polling keeps the answer to a request just sent on a running
	// thread, at the price of up to Poll of CPU after each burst of frames
	// (none while idle). Zero means DefaultTCPPoll; negative parks at once
	// (a plain blocking read); PollForever never parks.
	Poll time.Duration
	// Prefix holds bytes already read from the connection (a sniffer's
	// peek); the transport reads them before the socket.
	Prefix []byte
}

func (c TCPConfig) poll() time.Duration {
	if c.Poll == 0 {
		return DefaultTCPPoll
	}
	return c.Poll
}

// newPollReader returns the reader of a TCP transport's socket: the bytes
// of cfg.Prefix first, then the socket, polled for cfg's poll before the
// receive loop parks (package internal/pollread, which the WebSocket
// transport shares).
func newPollReader(c net.Conn, cfg TCPConfig) io.Reader {
	r := pollread.New(c, cfg.poll())
	if len(cfg.Prefix) == 0 {
		return r
	}
	return io.MultiReader(bytes.NewReader(cfg.Prefix), r)
}
