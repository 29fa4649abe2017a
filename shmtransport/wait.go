package shmtransport

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/ring"
)

// Wait is how a side waits for its ring: for data in the receive loop, for
// room in Claim. See ring.Strategy for the trade-offs.
type Wait uint8

const (
	// WaitDefault spins, then yields, for DefaultSpinTime, then parks on
	// the ring's futex word until the peer publishes: low latency under
	// load, no CPU and no periodic wake-up while idle.
	WaitDefault Wait = iota
	// WaitSpin busy-polls (ring.Spin): lowest latency, a whole core per
	// polling side. Only with a dedicated core (see Options.PinCPU).
	WaitSpin
	// WaitYield polls with runtime.Gosched between looks (ring.Yield).
	WaitYield
	// WaitBackoff spins and yields for ring.Backoff's default number of
	// steps, then parks as WaitDefault does.
	WaitBackoff
	// WaitBlock parks on the futex word at once (ring.Block).
	WaitBlock
	waitCount
)

// Valid reports whether w is one of the strategies above.
func (w Wait) Valid() bool { return w < waitCount }

var waitNames = [...]string{
	WaitDefault: "default", WaitSpin: "spin", WaitYield: "yield",
	WaitBackoff: "backoff", WaitBlock: "block",
}

func (w Wait) String() string {
	if int(w) < len(waitNames) {
		return waitNames[w]
	}
	return "wait(" + strconv.Itoa(int(w)) + ")"
}

// waiter runs one side's wait strategy with the ring package's
// strategies; one per loop. WaitSpin is ring.Spin (letting the process's
// other goroutines run every 32 steps), WaitYield ring.Yield, WaitBlock
// parks at once, and WaitBackoff and WaitDefault are ring.Backoff, whose
// last phase parks on the ring (woken by the peer's publish) instead of
// sleeping: WaitBackoff with ring.Backoff's defaults, WaitDefault spinning
// defaultSpins steps and then yielding until DefaultSpinTime has passed.
type waiter struct {
	kind    Wait
	park    time.Duration // each park's bound: ring.NoTimeout unless Options say
	idle    int           // steps since the last work
	parked  bool          // this idle period ended in a park
	backoff ring.Backoff
	// budget, for WaitDefault, is the transport's adaptive polling time:
	// read at the start of each idle period, told whether the period's
	// polling found work.
	budget *spinBudget
}

func newWaiter(kind Wait, park time.Duration) waiter {
	w := waiter{kind: kind, park: park}
	if kind == WaitDefault {
		w.backoff = ring.Backoff{Spins: defaultSpins, SpinTime: DefaultSpinTime}
	}
	return w
}

// DefaultSpinTime is how long WaitDefault keeps polling (spinning, then
// yielding) before it parks on the futex word. Parking costs a wake-up
// chain of several thread wake-ups per round trip (the ring's futex, then
// the Go scheduler waking an idle thread for the goroutine that handles
// the frame), each slow in a VM (BenchmarkRing/wake-futex in package
// bench); polling through a gap this long keeps a busy connection on the
// fast path, a round trip of a few hundred KiB included (rshm bench's
// channel rows), while an idle one still parks soon after its last frame.
const DefaultSpinTime = 250 * time.Microsecond

// defaultSpins is how many steps WaitDefault spins with PAUSE before it
// starts yielding.
const defaultSpins = 100

func (w *waiter) reset() {
	if w.budget != nil && w.idle > 0 && !w.parked {
		w.budget.paid()
	}
	w.idle, w.parked = 0, false
	w.backoff.Idle(1)
}

// poll waits one step without the ring and reports whether the caller
// should park on the ring's futex word instead.
//
// Every strategy that spins lets the process's other goroutines run every
// 32 steps: with one P, a loop that only spins would keep the goroutine it
// just handed a frame to (a requester, a stream's reader) from running
// until the spinning ends.
func (w *waiter) poll() bool {
	switch w.kind {
	case WaitYield:
		runtime.Gosched()
		return false
	case WaitBlock:
		return true
	}
	w.idle++
	if w.idle == 1 && w.budget != nil {
		w.backoff.SpinTime = w.budget.load()
	}
	if w.idle&31 == 0 {
		runtime.Gosched()
		return false
	}
	if w.kind == WaitSpin {
		ring.Spin{}.Idle(0)
		return false
	}
	park := w.backoff.Step()
	if park && w.budget != nil && !w.parked {
		w.budget.wasted()
	}
	w.parked = w.parked || park
	return park
}

// spinBudget is how long WaitDefault polls before parking, adapted to
// whether polling pays on this connection. Polling that finds work (the
// peer answered within the budget) doubles it, up to DefaultSpinTime;
// polling that ends in a park shrinks it by a quarter, down to
// MinSpinTime. A connection whose peer answers fast keeps the full budget;
// one whose answers come slower than the budget, typically because
// polling takes the CPU the answer needs (an application, its sidecar and
// an upstream on two CPUs: BenchmarkSidecar in package bench), stops
// polling within a few round trips and parks at once instead.
type spinBudget struct{ ns atomic.Int64 }

// MinSpinTime is the least an adaptive budget polls before it parks.
const MinSpinTime = 5 * time.Microsecond

func (b *spinBudget) init() { b.ns.Store(int64(DefaultSpinTime)) }

func (b *spinBudget) load() time.Duration { return time.Duration(b.ns.Load()) }

func (b *spinBudget) paid() {
	if v := b.ns.Load(); v < int64(DefaultSpinTime) {
		b.ns.Store(min(2*v, int64(DefaultSpinTime)))
	}
}

func (b *spinBudget) wasted() {
	if v := b.ns.Load(); v > int64(MinSpinTime) {
		b.ns.Store(max(v-v/4, int64(MinSpinTime)))
	}
}
