package balance

import (
	"math"
	"sync"
	"sync/atomic"
)

// peakEWMA predicts an instance's latency as Finagle's PeakEwma load
// metric does (rsocket-java's WeightedStats is a variant of it): an
// exponentially weighted moving average of the observed round trips that
// jumps to a new peak at once and decays with time constant tau.
//
// An observation rtt at time t, after dt since the last update, with
// w = exp(-dt/tau), makes the estimate rtt if rtt is above it (the peak),
// else estimate*w + rtt*(1-w). A read is an observation of zero: an
// instance that is not heard from decays towards zero, so one that was
// slow once is tried again within a few tau instead of never. A peak is
// forgotten slowly (tau) and a slowdown is seen at once, which is the
// asymmetry a balancer wants: the cost of sending to a slow instance is
// paid by requests, the cost of avoiding a fast one only in spread.
//
// The mutex is held for a few arithmetic operations; reads and writes of
// one instance are serialised by it as Finagle's are by synchronized.
type peakEWMA struct {
	mu    sync.Mutex
	cost  float64 // the estimate at stamp, in nanoseconds
	stamp int64   // nanoseconds on the Client's clock
	tau   float64 // the decay time constant, in nanoseconds
}

// update applies an observation (mu held).
func (e *peakEWMA) update(rtt float64, now int64) {
	dt := max(now-e.stamp, 0)
	w := math.Exp(-float64(dt) / e.tau)
	if rtt > e.cost {
		e.cost = rtt
	} else {
		e.cost = e.cost*w + rtt*(1-w)
	}
	e.stamp = now
}

// observe records a round trip of rtt nanoseconds that ended at now.
func (e *peakEWMA) observe(rtt, now int64) {
	e.mu.Lock()
	e.update(float64(rtt), now)
	e.mu.Unlock()
}

// value returns the estimate at now, decayed for the time since the last
// update.
func (e *peakEWMA) value(now int64) float64 {
	e.mu.Lock()
	e.update(0, now)
	v := e.cost
	e.mu.Unlock()
	return v
}

// reset starts the estimate again at v.
func (e *peakEWMA) reset(v float64, now int64) {
	e.mu.Lock()
	e.cost, e.stamp = v, now
	e.mu.Unlock()
}

// penalty is the cost of an instance that has requests outstanding but no
// estimate yet (Finagle's Penalty): it is avoided until its first answer,
// so a fresh instance is not sent a burst on the strength of an estimate
// of zero.
const penalty = float64(math.MaxInt64 >> 16)

// load is an instance's outstanding requests. pending counts them; active
// is the time the last one started or ended. With requests outstanding,
// now-active is how long the instance has been silent: a lower bound of
// the latency of the requests it is sitting on, which the estimate cannot
// see (it learns only from answers). Each update stores active before it
// changes pending, so a reader that sees a request in pending sees an
// active at least as recent as its start.
type load struct {
	pending atomic.Int64
	active  atomic.Int64
}

func (l *load) start(now int64) {
	l.active.Store(now)
	l.pending.Add(1)
}

func (l *load) end(now int64) {
	l.active.Store(now)
	l.pending.Add(-1)
}

// silence is how long the instance has been silent with requests
// outstanding; zero without.
func (l *load) silence(now int64) int64 {
	if l.pending.Load() <= 0 {
		return 0
	}
	return max(now-l.active.Load(), 0)
}

// predicted is an instance's predicted latency at now, in nanoseconds: the
// estimate, or the silence of its outstanding requests if longer.
func predicted(e *peakEWMA, l *load, now int64) float64 {
	return max(e.value(now), float64(l.silence(now)))
}

// cost is what P2C compares: the predicted latency times the outstanding
// requests plus one (Finagle's load), or penalty plus the outstanding
// requests for an instance with requests outstanding and no prediction.
func cost(e *peakEWMA, l *load, now int64) float64 {
	p := predicted(e, l, now)
	n := float64(max(l.pending.Load(), 0))
	if p == 0 && n > 0 {
		return penalty + n
	}
	return p * (n + 1)
}
