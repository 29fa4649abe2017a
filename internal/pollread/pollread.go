// Package pollread reads a socket by polling it for a while before parking:
// the receive loop of a request-response transport, where parking costs a
// thread wake-up per answer and, in a VM whose idle vCPU halts, a wake-up
// takes longer than the round trip itself.
//
// It is the receive strategy of rsocket's TCP transport (rsocket.TCPConfig.Poll
// documents the trade-off), for the transports outside package rsocket that
// read a socket of their own (wstransport).
package pollread

import (
	"io"
	"math"
	"net"
	"runtime"
	"syscall"
	"time"
)

// Forever as a budget polls until data arrives and never parks; the same
// value as rsocket.PollForever.
const Forever = time.Duration(math.MaxInt64)

// Reader reads a socket, polling it for up to a budget before it parks. It
// falls back to the connection's own Read where the connection has no raw
// file descriptor or the budget is not positive. One goroutine reads.
type Reader struct {
	c      net.Conn
	rc     syscall.RawConn
	budget time.Duration // the configured poll, the most polled
	cur    time.Duration // the poll now, adapted to whether polling pays

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

// New returns a Reader of c that polls an empty socket for budget before
// it parks; a budget of zero or less reads c plainly.
func New(c net.Conn, budget time.Duration) *Reader {
	p := &Reader{c: c, budget: budget, cur: budget}
	if sc, ok := c.(syscall.Conn); ok && budget > 0 && canPoll {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	p.look = p.try
	return p
}

// Polls reports whether the Reader polls (rather than reading plainly).
func (p *Reader) Polls() bool { return p.rc != nil }

// Read reads without blocking, polling an empty socket (yielding between
// looks, so that the goroutines the last bytes woke run) until it has
// spent the poll (see MinPoll), and then parks until the runtime's poller
// reports the socket readable. Only the time of looks that found nothing
// else to run counts: a look that comes back long after the last (others
// ran in between) means the process is busy and its peer's answer is on
// the way, unless that keeps happening (busyLooks times): a stream's
// producer keeps its process busy while the socket has nothing to say, and
// each look would cost it a system call. Each look is one rc.Read, which
// sees a Close or a read deadline between looks.
func (p *Reader) Read(b []byte) (int, error) {
	if p.rc == nil || len(b) == 0 {
		return p.c.Read(b)
	}
	p.buf, p.park = b, false
	var first, last time.Time
	var idle time.Duration
	busy, spent := 0, false
	for {
		p.n, p.err, p.empty = 0, nil, false
		if err := p.rc.Read(p.look); err != nil {
			return 0, err
		}
		if !p.empty {
			break
		}
		now := time.Now()
		if last.IsZero() {
			first = now
		} else {
			if d := now.Sub(last); d < busyGap {
				idle += d
				p.park = idle >= p.cur
				spent = p.park // polled the whole poll for nothing
			} else {
				busy++
				p.park = busy >= busyLooks && p.budget != Forever
			}
		}
		last = now
		if !p.park {
			runtime.Gosched()
		}
	}
	p.buf = nil
	switch {
	case spent:
		p.parked(time.Since(first))
	case idle > 0 && !p.park:
		p.paid() // the bytes came while polling
	}
	if p.err != nil {
		return 0, &net.OpError{Op: "read", Net: p.c.LocalAddr().Network(), Source: p.c.LocalAddr(), Addr: p.c.RemoteAddr(), Err: p.err}
	}
	if p.n == 0 {
		return 0, io.EOF
	}
	return p.n, nil
}

// MinPoll is the least an empty socket is polled before Read parks. The
// poll adapts: polling that finds the peer's bytes doubles it, up to the
// budget; so does a park whose bytes came within the budget of the first
// look (a longer poll would have found them: a round trip longer than the
// poll has shrunk to must not leave every read parked). A park that the
// bytes took longer than the budget to end shrinks the poll by a quarter,
// down to MinPoll. A peer that answers within the budget keeps the poll
// whole; one that answers later, often because polling takes the CPU the
// answer needs (three processes on two CPUs: BenchmarkSidecar in package
// bench), soon parks at once.
const MinPoll = 5 * time.Microsecond

// parked adapts the poll after one that was spent and parked, waited after
// the first look at the empty socket.
func (p *Reader) parked(waited time.Duration) {
	if waited <= p.budget {
		p.paid()
	} else {
		p.wasted()
	}
}

// wasted shrinks the poll after one that parked for longer than the budget.
func (p *Reader) wasted() {
	if p.budget != Forever {
		p.cur = max(p.cur-p.cur/4, MinPoll)
	}
}

// paid grows the poll after one that found bytes. An unbounded poll stays
// unbounded (doubling it would overflow).
func (p *Reader) paid() {
	if p.budget != Forever {
		p.cur = min(2*p.cur, p.budget)
	}
}

// busyGap: a gap between two looks at the socket longer than this means
// other goroutines ran between them (a look and a yield with nothing to run
// take about a microsecond).
const busyGap = 20 * time.Microsecond

// busyLooks bounds the empty looks after such gaps before Read parks.
const busyLooks = 16
