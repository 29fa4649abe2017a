package rsocket

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Leasing (spec, "Lease Semantics", the LEASE frame and "Connection
// Establishment"). A client that sets ClientConfig.Lease sends SETUP with
// the L flag; a server with ServerConfig.Lease honours it (one without
// refuses it with UNSUPPORTED_SETUP). Leasing is then symmetric: each side
// is a requester under the lease the other side grants, and a responder
// granting leases of its own.
//
// Requester side. The spec: "The Requester MUST NOT send more than Number
// of Requests specified in the LEASE frame within the Time-To-Live value in
// the LEASE", and neither side sends a request before it has received a
// LEASE. A LEASE replaces the previous one; its TTL runs from its reception.
// Every REQUEST_* counts one unit, a fragmented request too (only its first
// frame is a request); METADATA_PUSH is not a request and is not leased.
// Without a valid lease a request fails at once with ErrNoLease, nothing
// sent, or, with LeaseConfig.WaitForLease, waits until a LEASE arrives, ctx
// ends or the connection closes. RequestResponseAsync never waits.
//
// Responder side. "A Responder that receives a REQUEST that it can not
// honor due to LEASE restrictions MUST respond with an ERROR[REJECTED]":
// a request that arrives before this side sent a LEASE, after the last
// LEASE's TTL (counted from its sending) or beyond its number of requests is
// answered with ERROR[REJECTED] on its stream (a fire-and-forget too; the
// peer ignores an ERROR for a stream it does not know) and its handler is
// not run. The LEASE frames are decided by a LeaseStrategy run on a
// goroutine owned by the Conn; Conn.GrantLease sends one on demand.
//
// The race the protocol leaves open: a request sent under the previous
// lease that arrives after a new LEASE was sent counts against the new one,
// and one sent just before the requester's TTL ends may arrive after the
// responder's; the responder then rejects it. Strategies that renew before
// the TTL ends (FixedLease renews every TTL, with the new lease replacing
// the old at the responder when it is sent) keep that window small.
//
// Leases do not survive a resume (spec): a resumed connection must start
// without a lease on either side. This engine has no resumption yet.

// Defaults of FixedLease where a field is zero.
const (
	DefaultLeaseTTL      = 5 * time.Second
	DefaultLeaseRequests = 10000
)

// ErrNoLease is returned, without anything being sent, by a request made
// while this side holds no valid lease from the peer (none received yet, its
// TTL passed, or its requests used up). It is local, but has the semantics
// of the REJECTED the peer would answer: errors.Is(err, &Error{Code:
// CodeRejected}) holds for it too.
var ErrNoLease error = noLeaseError{}

// ErrLeaseNotNegotiated is returned by GrantLease on a connection whose
// SETUP did not set the lease flag.
var ErrLeaseNotNegotiated = errors.New("rsocket: lease not negotiated on this connection")

type noLeaseError struct{}

func (noLeaseError) Error() string { return "rsocket: no valid lease from the peer for a request" }

// Is makes ErrNoLease match &Error{Code: CodeRejected}.
func (noLeaseError) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == CodeRejected
}

// LeaseConfig turns leasing on for a connection. The zero value works: it
// grants FixedLease{} (DefaultLeaseRequests per DefaultLeaseTTL) and fails
// requests made without a lease with ErrNoLease.
type LeaseConfig struct {
	// Strategy decides the leases this side grants to the peer; nil means
	// FixedLease{}. A strategy in a ServerConfig is shared by every
	// connection of a listener and must be safe for concurrent use.
	Strategy LeaseStrategy
	// WaitForLease makes a request made without a valid lease wait for the
	// next LEASE (or ctx's end, or the connection's close) instead of
	// failing at once with ErrNoLease.
	WaitForLease bool
}

// Lease is one grant: the peer may send up to Requests requests within TTL
// of receiving it. A zero Requests or TTL stops the peer's requests until
// the next grant. TTL is sent in whole milliseconds (a positive TTL below
// one millisecond is rounded up); both are capped at 2^31-1. Metadata, if
// not nil, is carried by the LEASE frame.
type Lease struct {
	TTL      time.Duration
	Requests int
	Metadata []byte
}

// LeaseStats is what a LeaseStrategy knows of the connection when it is
// asked for the next grant.
type LeaseStats struct {
	// InFlight is the number of the peer's requests this side is serving
	// now (open responder streams).
	InFlight int
	// Used is the number of requests accepted under the previous grant,
	// Rejected the number refused since it was sent (over the lease, after
	// its TTL, or before any grant).
	Used, Rejected int
}

// LeaseStrategy decides the LEASE frames a connection sends. Next is called
// on the connection's lease goroutine once the lease is negotiated (the
// client: right after SETUP; the server: once the Acceptor accepted it), and
// again after each returned wait. It returns the lease to send now and how
// long to wait before calling Next again; a wait of zero or less ends the
// lease goroutine (later grants only through Conn.GrantLease). It must not
// block for long: the connection's grants wait for it.
type LeaseStrategy interface {
	Next(s LeaseStats) (l Lease, wait time.Duration)
}

// FixedLease grants Requests requests for TTL, and a fresh lease every TTL:
// a fixed request rate. Zero fields mean DefaultLeaseRequests and
// DefaultLeaseTTL.
type FixedLease struct {
	Requests int
	TTL      time.Duration
}

// Next implements LeaseStrategy.
func (f FixedLease) Next(LeaseStats) (Lease, time.Duration) {
	ttl := orDuration(f.TTL, DefaultLeaseTTL)
	n := f.Requests
	if n <= 0 {
		n = DefaultLeaseRequests
	}
	return Lease{TTL: ttl, Requests: n}, ttl
}

// InFlightLease bounds the requests the peer has outstanding: every Period
// it grants Max minus the requests in flight, valid for TTL. A zero TTL
// means DefaultLeaseTTL; a zero Period means TTL.
type InFlightLease struct {
	Max    int
	TTL    time.Duration
	Period time.Duration
}

// Next implements LeaseStrategy.
func (f InFlightLease) Next(s LeaseStats) (Lease, time.Duration) {
	ttl := orDuration(f.TTL, DefaultLeaseTTL)
	return Lease{TTL: ttl, Requests: max(f.Max-s.InFlight, 0)}, orDuration(f.Period, ttl)
}

// leaseState is a connection's lease bookkeeping, present iff lease was
// negotiated; the requester half is what the peer granted, the responder
// half what this side granted.
type leaseState struct {
	wait     bool
	strategy LeaseStrategy

	mu sync.Mutex
	// Requester: the peer's current lease.
	left    int64
	expiry  time.Time
	arrived chan struct{} // closed and replaced when a LEASE arrives
	renew   chan struct{} // the session resumed: grant a new lease now
	// Responder: the lease this side granted last.
	granted        bool
	grantLeft      int64
	grantExpiry    time.Time
	used, rejected int
}

func newLeaseState(cfg *LeaseConfig) *leaseState {
	l := &leaseState{wait: cfg.WaitForLease, strategy: cfg.Strategy, arrived: make(chan struct{}), renew: make(chan struct{}, 1)}
	if l.strategy == nil {
		l.strategy = FixedLease{}
	}
	return l
}

// acquireLease takes one unit of the peer's lease for a request about to be
// sent; with no lease negotiated it does nothing. With wait false (the
// asynchronous request) it never waits, whatever WaitForLease says.
func (c *Conn) acquireLease(ctx context.Context, wait bool) error {
	l := c.lease
	if l == nil {
		return nil
	}
	for {
		l.mu.Lock()
		if l.left > 0 && time.Now().Before(l.expiry) {
			l.left--
			l.mu.Unlock()
			return nil
		}
		arrived := l.arrived
		l.mu.Unlock()
		if !l.wait || !wait {
			select {
			case <-c.done:
				return c.Err()
			default:
				return ErrNoLease
			}
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.Err()
		}
	}
}

// onLease handles a LEASE from the peer (receive goroutine): it replaces
// the current lease, its TTL counted from now, and wakes waiting requests.
// Without lease negotiated it is ignored.
func (c *Conn) onLease(f *wire.Frame) {
	l := c.lease
	if l == nil {
		return
	}
	now := time.Now()
	l.mu.Lock()
	l.left = int64(f.NumRequests)
	l.expiry = now.Add(time.Duration(f.TTL) * time.Millisecond)
	close(l.arrived)
	l.arrived = make(chan struct{})
	l.mu.Unlock()
}

// admitRequest reports whether the peer's new request is within the lease
// this side granted, taking one unit if so (receive goroutine). Always true
// without lease.
func (c *Conn) admitRequest() bool {
	l := c.lease
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.granted && l.grantLeft > 0 && time.Now().Before(l.grantExpiry) {
		l.grantLeft--
		l.used++
		return true
	}
	l.rejected++
	return false
}

// rejectOverLease answers a request outside the lease with ERROR[REJECTED].
func (c *Conn) rejectOverLease(id uint32) {
	_ = c.sendError(c.ctx, id, CodeRejected, "request outside the lease")
}

// GrantLease sends a LEASE to the peer now, replacing the lease this side
// granted before (the strategy's grants continue on their schedule). It
// returns ErrLeaseNotNegotiated on a connection without lease.
func (c *Conn) GrantLease(ctx context.Context, l Lease) error {
	if c.lease == nil {
		return ErrLeaseNotNegotiated
	}
	return c.sendLease(ctx, l)
}

// sendLease records the grant, then sends it: recording first means a
// request the peer sends as soon as the LEASE arrives is admitted.
func (c *Conn) sendLease(ctx context.Context, g Lease) (err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	ms := g.TTL.Milliseconds()
	if g.TTL > 0 && ms == 0 {
		ms = 1
	}
	ms = min(max(ms, 0), maxRequestN)
	n := int64(min(max(g.Requests, 0), maxRequestN))
	size := wire.HeaderSize + 8 + len(g.Metadata)
	if size > c.t.MaxFrameSize() {
		return errFrameTooLarge
	}
	l := c.lease
	l.mu.Lock()
	l.granted = true
	l.grantLeft = n
	l.grantExpiry = time.Now().Add(time.Duration(ms) * time.Millisecond)
	l.used, l.rejected = 0, 0
	l.mu.Unlock()
	b, err := c.t.Claim(ctx, size)
	if err != nil {
		return c.sendErr(err)
	}
	return c.commit(wire.AppendLease(b[:0], uint32(ms), uint32(n), g.Metadata), size)
}

// leaseStats is the strategy's view of the connection.
func (c *Conn) leaseStats() LeaseStats {
	var s LeaseStats
	c.mu.Lock()
	c.streams.each(func(st *stream) {
		if st.responder {
			s.InFlight++
		}
	})
	c.mu.Unlock()
	l := c.lease
	l.mu.Lock()
	s.Used, s.Rejected = l.used, l.rejected
	l.mu.Unlock()
	return s
}

// leaseLoop is the connection's lease goroutine, started once lease is
// negotiated; it ends when the connection closes, a LEASE cannot be sent,
// or the strategy returns no wait.
func (c *Conn) leaseLoop() {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		case <-c.lease.renew:
			t.Stop()
		}
		g, wait := c.lease.strategy.Next(c.leaseStats())
		if err := c.sendLease(c.ctx, g); err != nil {
			if c.set.logger != nil {
				c.set.logger.Debug("rsocket: sending LEASE failed", "server", c.server, "err", err)
			}
			return
		}
		if wait <= 0 {
			return
		}
		t.Reset(wait)
	}
}

// voidPeerLease runs when a resumable session switches its receive side
// to a new transport: leases do not survive a resume (spec), so the peer's
// lease is void until its next LEASE, which can only arrive on the new
// transport, after this.
func (c *Conn) voidPeerLease() {
	if l := c.lease; l != nil {
		l.mu.Lock()
		l.left = 0
		l.mu.Unlock()
	}
}

// onResumed runs when a resumable session's new transport is current:
// this side grants a new lease at once (it replaces the one granted on the
// old transport, against which requests still in flight are judged).
func (c *Conn) onResumed() {
	if l := c.lease; l != nil {
		select {
		case l.renew <- struct{}{}:
		default:
		}
	}
}
