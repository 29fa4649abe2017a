package balance

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm"
)

// State is where an instance stands with the Client.
type State uint8

const (
	// Connecting: no connection; its rshm.Client dials (with backoff).
	Connecting State = iota
	// Probing: connected, waiting for a Ping answer before it takes
	// traffic.
	Probing
	// Admitted: it takes traffic.
	Admitted
	// Ejected: connected, but sitting out: it stalled, or the peer is
	// closing the connection.
	Ejected
)

var stateNames = [...]string{Connecting: "connecting", Probing: "probing", Admitted: "admitted", Ejected: "ejected"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// ejection is why an instance stopped taking traffic.
type ejection uint8

const (
	ejectEnded    ejection = iota // its connection ended
	ejectDraining                 // the peer is closing the connection (ErrClosing)
	ejectTimeouts                 // MaxTimeouts requests in a row timed out
	ejectSlow                     // predicted far slower than the others
)

var ejectionNames = [...]string{ejectEnded: "connection ended", ejectDraining: "peer closing the connection",
	ejectTimeouts: "requests timed out", ejectSlow: "predicted latency far above the others"}

func (e ejection) String() string { return ejectionNames[e] }

// stall reports whether e is a stall: an ejection bounded to half the
// connected instances and ended by a probe.
func (e ejection) stall() bool { return e == ejectTimeouts || e == ejectSlow }

// instance is one address the Client balances over.
type instance struct {
	addr   string
	client *rshm.Client // nil in the strategy's unit tests

	// conn is the admitted connection; nil while the instance does not
	// take traffic. Set and cleared under Client.mu.
	conn atomic.Pointer[rshm.Conn]
	// last is the last connection probed, for Stats.
	last  atomic.Pointer[rshm.Conn]
	state atomic.Uint32 // a State

	est        peakEWMA
	load       load
	timeouts   atomic.Int32 // requests in a row that timed out
	leaseUntil atomic.Int64 // passed over until this time: its lease ran out

	requests, failures, ejections atomic.Uint64

	// kick tells the watcher that a stall or a drain ejected the
	// instance while connected; sent under Client.mu, at most once per
	// admission.
	kick chan ejection

	// Under Client.mu.
	why ejection // of the current ejection, while Ejected

	// Owned by the watcher.
	admittedAt int64
	strikes    int // stall ejections each soon after its re-admission
}

func newInstance(addr string) *instance {
	return &instance{addr: addr, kick: make(chan ejection, 1)}
}

// start records a request about to be sent and returns its start time.
func (in *instance) start(now int64) int64 {
	in.load.start(now)
	return now
}

func (in *instance) end(now int64) { in.load.end(now) }

func (in *instance) blockLease(until int64) { in.leaseUntil.Store(until) }

func (in *instance) leaseBlocked(now int64) bool { return in.leaseUntil.Load() > now }

func (in *instance) setState(s State) { in.state.Store(uint32(s)) }

// rebuildLocked republishes the admitted list (c.mu held).
func (c *Client) rebuildLocked() {
	list := make([]*instance, 0, len(c.insts))
	for _, in := range c.insts {
		if in.conn.Load() != nil {
			list = append(list, in)
		}
	}
	c.admitted.Store(&list)
}

// admit gives in traffic on conn. It starts as a new instance: what it
// had learnt belongs to a connection that ended or to a stall it has
// recovered from. Without a prediction it wins its next pick, and is then
// passed over (the penalty of an instance with a request outstanding and
// no prediction) until that request is answered: one request measures it
// before it gets more. Until it answers one, it is on probation: a single
// timeout ejects it, so an instance that answers pings but not requests
// costs one request per admission, and one that recovered is measured
// again at its next admission instead of sitting unpicked behind the
// estimate of its timeout.
func (c *Client) admit(in *instance, conn *rshm.Conn) {
	now := c.now()
	c.mu.Lock()
	in.est.reset(0, now)
	in.timeouts.Store(int32(max(c.cfg.MaxTimeouts-1, 0)))
	in.leaseUntil.Store(0)
	select {
	case <-in.kick: // of an ejection whose connection then ended
	default:
	}
	in.admittedAt = now
	in.conn.Store(conn)
	in.setState(Admitted)
	c.rebuildLocked()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.log(true, "balance: instance admitted", "addr", in.addr, "kind", conn.Kind())
}

// eject stops traffic to in, if conn is still its admitted connection,
// and reports whether it did. A stall ejection is refused when it would
// leave fewer than half of the connected instances admitted: when many
// look stalled at once the cause is more likely the client, or the
// requests, than the instances.
func (c *Client) eject(in *instance, conn *rshm.Conn, why ejection) bool {
	c.mu.Lock()
	if in.conn.Load() != conn || (why.stall() && !c.mayStallLocked()) {
		c.mu.Unlock()
		return false
	}
	in.conn.Store(nil)
	in.why = why
	in.ejections.Add(1)
	if why == ejectEnded {
		in.setState(Connecting)
	} else {
		in.setState(Ejected)
		in.kick <- why // the one kick of this admission: the buffer is free
	}
	c.rebuildLocked()
	c.mu.Unlock()
	c.log(true, "balance: instance ejected", "addr", in.addr, "why", why.String())
	return true
}

// mayStallLocked reports whether one more instance may be ejected for a
// stall (c.mu held): stalled ones stay at most half of those connected.
func (c *Client) mayStallLocked() bool {
	admitted, stalled := 0, 0
	for _, in := range c.insts {
		switch {
		case in.conn.Load() != nil:
			admitted++
		case State(in.state.Load()) == Probing,
			State(in.state.Load()) == Ejected && in.why.stall():
			stalled++ // a new connection being probed counts too: a bound on the safe side
		}
	}
	return 2*(stalled+1) <= admitted+stalled
}

// ejectionTime is how long an instance sits out after its strikes-th
// stall in a row: CheckInterval doubled per strike, capped at maxd.
func ejectionTime(strikes int, base, maxd time.Duration) time.Duration {
	if strikes >= 62 {
		return maxd
	}
	d := base << strikes
	if d <= 0 || d > maxd || d>>strikes != base {
		return maxd
	}
	return d
}

// watch follows one instance for the life of the Client: it waits for a
// connection, probes it, admits it, and when it ends or is ejected starts
// again.
func (c *Client) watch(in *instance) {
	defer c.wg.Done()
	for {
		conn, err := in.client.Conn(c.ctx)
		if err != nil {
			return // closed
		}
		in.last.Store(conn)
		if !c.probe(in, conn) {
			if c.ctx.Err() != nil {
				return
			}
			in.setState(Connecting)
			continue
		}
		c.admit(in, conn)
		var why ejection
		select {
		case <-conn.Done():
			c.eject(in, conn, ejectEnded)
			continue
		case why = <-in.kick:
		case <-c.ctx.Done():
			return
		}
		if why == ejectDraining {
			// Requests are refused until the connection ends; the
			// rshm.Client then dials again.
			select {
			case <-conn.Done():
			case <-c.ctx.Done():
				return
			}
			in.setState(Connecting)
			continue
		}
		// A stall: sit out, longer each time it stalls again soon after
		// its re-admission, then probe the same connection again.
		base := c.cfg.CheckInterval
		if time.Duration(c.now()-in.admittedAt) < 2*ejectionTime(in.strikes, base, c.cfg.MaxEjection) {
			in.strikes = min(in.strikes+1, 62)
		} else {
			in.strikes = 0
		}
		if !c.sleep(conn, ejectionTime(in.strikes, base, c.cfg.MaxEjection)) {
			if c.ctx.Err() != nil {
				return
			}
			in.setState(Connecting)
		}
	}
}

// sleep waits for d, and reports false if conn ended or the Client closed
// first.
func (c *Client) sleep(conn *rshm.Conn, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-conn.Done():
		return false
	case <-c.ctx.Done():
		return false
	}
}

// probe pings conn until it answers within ProbeTimeout, every
// CheckInterval; it reports false if conn ended or the Client closed
// first.
func (c *Client) probe(in *instance, conn *rshm.Conn) bool {
	in.setState(Probing)
	for {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ProbeTimeout)
		_, err := conn.Ping(ctx)
		cancel()
		if err == nil {
			return true
		}
		c.log(false, "balance: probe failed", "addr", in.addr, "err", err)
		if !c.sleep(conn, c.cfg.CheckInterval) {
			return false
		}
	}
}

// checkLoop runs the stall check every CheckInterval until Close.
func (c *Client) checkLoop() {
	defer c.wg.Done()
	if c.cfg.StallFactor < 0 {
		return
	}
	t := time.NewTicker(c.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.check(c.now())
		case <-c.ctx.Done():
			return
		}
	}
}

// check ejects the admitted instances predicted more than StallFactor
// times slower than the median admitted instance (the lower middle one of
// an even count).
func (c *Client) check(now int64) {
	list := *c.admitted.Load()
	if len(list) < 2 || c.cfg.StallFactor < 0 {
		return
	}
	p := make([]float64, len(list))
	for i, in := range list {
		p[i] = predicted(&in.est, &in.load, now)
	}
	sorted := slices.Clone(p)
	slices.Sort(sorted)
	m := sorted[(len(sorted)-1)/2]
	if m <= 0 {
		return // too little is known yet
	}
	for i, in := range list {
		if p[i] > c.cfg.StallFactor*m {
			if conn := in.conn.Load(); conn != nil {
				c.eject(in, conn, ejectSlow)
			}
		}
	}
}

func (c *Client) log(info bool, msg string, args ...any) {
	l := c.cfg.Conn.Logger
	if l == nil {
		return
	}
	if info {
		l.Info(msg, args...)
	} else {
		l.Debug(msg, args...)
	}
}

// InstanceStats is what Stats reports of one instance.
type InstanceStats struct {
	Addr  string
	State State
	// Kind is the transport of its last connection (KindTCP before the
	// first).
	Kind rshm.Kind
	// Pending is its requests outstanding; streams and channels count only
	// while they are being opened.
	Pending int
	// Latency is its predicted latency now: the peak-sensitive estimate,
	// or how long its outstanding requests have gone unanswered if longer.
	Latency time.Duration
	// Requests counts the requests sent to it; Failures those that ended
	// with its connection or timed out.
	Requests, Failures uint64
	// Ejections counts the times it stopped taking traffic.
	Ejections uint64
	// LeaseBlocked says it is passed over for want of a lease.
	LeaseBlocked bool
}

// Stats reports every instance, in the order of the addresses given to
// New.
func (c *Client) Stats() []InstanceStats {
	now := c.now()
	out := make([]InstanceStats, len(c.insts))
	for i, in := range c.insts {
		s := InstanceStats{
			Addr:         in.addr,
			State:        State(in.state.Load()),
			Pending:      int(in.load.pending.Load()),
			Latency:      time.Duration(predicted(&in.est, &in.load, now)),
			Requests:     in.requests.Load(),
			Failures:     in.failures.Load(),
			Ejections:    in.ejections.Load(),
			LeaseBlocked: in.leaseBlocked(now),
		}
		if conn := in.last.Load(); conn != nil {
			s.Kind = conn.Kind()
		}
		out[i] = s
	}
	return out
}
