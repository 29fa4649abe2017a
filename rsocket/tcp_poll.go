package rsocket

import (
	"io"
	"math"
	"net"
	"runtime"
	"syscall"
	"time"
)

// DefaultTCPPoll is how long a TCP transport's receive loop keeps polling
// an empty socket before it parks (TCPConfig.Poll); the same budget as the
// shared-memory transport's default wait.
const DefaultTCPPoll = 100 * time.Microsecond

// PollForever as TCPConfig.Poll polls until data arrives, however long
// that takes: lowest latency, a core per connection that waits.
const PollForever = time.Duration(math.MaxInt64)

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

// pollReader reads a TCP socket, polling it for up to budget before it
// parks. It falls back to the connection's own Read where the connection
// has no raw file descriptor.
type pollReader struct {
	c      net.Conn
	rc     syscall.RawConn
	budget time.Duration // the configured poll, the most polled
	cur    time.Duration // the poll now: adapted to whether polling pays
	prefix []byte

	// The state of one look at the socket, kept here so that the callback
	// handed to rc.Read is a method value made once (no allocation per
	// Read).
	buf   []byte
	n     int
	err   error
	empty bool // the look found nothing and did not park
	park  bool // the budget is spent: wait in the network poller
	look  func(fd uintptr) bool
}

func newPollReader(c net.Conn, cfg TCPConfig) *pollReader {
	p := &pollReader{c: c, budget: cfg.poll(), prefix: cfg.Prefix}
	p.cur = p.budget
	if sc, ok := c.(syscall.Conn); ok && p.budget > 0 && canPoll {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	p.look = p.try
	return p
}

// Read reads without blocking, polling an empty socket (yielding between
// looks, so that the goroutines the last frames woke run) until it has
// spent the poll (cur, adapted between minTCPPoll and the budget), and then parks until the runtime's poller
// reports the socket readable. Only the time of looks that found nothing
// else to run counts: a look that comes back long after the last (others
// ran in between: the requesters woken by the last answers, encoding their
// next requests) means the process is busy and its peer's answer is on the
// way, unless that keeps happening (pollBusyLooks times): a stream's
// producer keeps its process busy while the socket has nothing to say, and
// each look would cost it a system call. Each look is one rc.Read, which
// sees a Close or a read deadline between looks.
func (p *pollReader) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	if p.rc == nil || len(b) == 0 {
		return p.c.Read(b)
	}
	p.buf, p.park = b, false
	var last time.Time
	var idle time.Duration
	busy := 0
	for {
		p.n, p.err, p.empty = 0, nil, false
		if err := p.rc.Read(p.look); err != nil {
			return 0, err
		}
		if !p.empty {
			break
		}
		now := time.Now()
		if !last.IsZero() {
			if d := now.Sub(last); d < pollBusyGap {
				idle += d
				p.park = idle >= p.cur
				if p.park {
					p.wasted() // polled the whole poll for nothing
				}
			} else {
				busy++
				p.park = busy >= pollBusyLooks && p.budget != PollForever
			}
		}
		last = now
		if !p.park {
			runtime.Gosched()
		}
	}
	if idle > 0 && !p.park {
		p.paid() // the bytes came while polling
	}
	if p.err != nil {
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: p.c.LocalAddr(), Addr: p.c.RemoteAddr(), Err: p.err}
	}
	if p.n == 0 {
		return 0, io.EOF
	}
	return p.n, nil
}

// wasted shrinks the poll after one that ended in a park.
func (p *pollReader) wasted() {
	if p.budget != PollForever {
		p.cur = max(p.cur-p.cur/4, minTCPPoll)
	}
}

// paid grows the poll after one that found bytes.
func (p *pollReader) paid() { p.cur = min(2*p.cur, p.budget) }

// minTCPPoll is the least an empty socket is polled before the receive
// loop parks. The poll adapts as the shared-memory transport's does:
// polling that finds the peer's bytes doubles it, up to TCPConfig.Poll;
// polling that ends in a park shrinks it by a quarter, down to this. A
// peer that answers within the poll keeps it whole; one that answers later,
// often because polling takes the CPU the answer needs (three processes
// on two CPUs: BenchmarkSidecar in package bench), soon parks at once.
const minTCPPoll = 5 * time.Microsecond

// pollBusyGap: a gap between two looks at the socket longer than this means
// other goroutines ran between them (a look and a yield with nothing to run
// take about a microsecond).
const pollBusyGap = 20 * time.Microsecond

// pollBusyLooks bounds the empty looks after such gaps before Read parks.
const pollBusyLooks = 16
