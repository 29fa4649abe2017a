package ring

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// A Strategy decides what a side does when it found no work: the caller's
// loop is
//
//	for {
//		n, err := b.Read(handle) // or a Claim that may fail with ErrFull
//		...
//		s.Idle(n)
//	}
//
// Idle(n) with n > 0 resets the strategy (work was done, so the next idle
// period starts over); Idle(0) waits a little, longer the more often it is
// called in a row. Strategies hold per-loop state: use one per goroutine.
//
// Which to use:
//
//   - Spin: lowest latency (the peer's store is seen as soon as its cache
//     line arrives: BenchmarkRing/limit in package bench), but the core
//     runs at 100% while idle. Only with a dedicated, pinned core
//     per spinning side, and never with more spinners than cores, or a
//     spinner steals the CPU from the very peer it waits for.
//   - Yield: like Spin but lets other goroutines run; still 100% CPU.
//   - Backoff: spin, then yield, then sleep with doubling intervals. Low
//     latency under steady load, little CPU when idle; the first message
//     after a quiet period pays the sleep (up to MaxPark). A caller with a
//     ring parks instead of sleeping once Step says so (WaitData, WaitSpace):
//     no CPU and no sleep to wait out, a wake-up as with Block.
//   - Block: parks the thread on the ring's futex word and is woken by the
//     peer's publish. No CPU while idle and no polling delay, but each
//     wake-up costs a system call on the peer and a scheduler wake-up here
//     (BenchmarkRing/wake-futex in package bench), far more in a VM, where
//     waking a halted vCPU takes an IPI through the hypervisor (a VM exit).
//     In a VM, Backoff with a few hundred microseconds of spinning often
//     beats Block for request/response latency.
type Strategy interface {
	Idle(work int)
}

// Defaults of the strategies. A PAUSE is long on recent Intel and AMD cores
// (Intel made it about 140 cycles with Skylake, from about 10), so the
// default spin phase of Backoff lasts tens of microseconds. The sleeps of
// Backoff are subject to the kernel's timer slack (50 us by default for
// normal threads, see prctl(PR_SET_TIMERSLACK)) and to the Go runtime's
// timers, so a short sleep lasts much longer than asked (see "Machine and
// method" in docs/benchmarks.md). Hence a long spin phase: once Backoff
// sleeps, the first message after the pause waits for the sleep to end.
const (
	DefaultSpinPauses    = 1
	DefaultBackoffSpins  = 1000
	DefaultBackoffYields = 100
	DefaultMinPark       = time.Microsecond
	DefaultMaxPark       = time.Millisecond
	DefaultParkTimeout   = 100 * time.Millisecond
)

// NoTimeout, as the timeout of WaitData or WaitSpace, parks until a wake-up
// (a publish, a hand-back, Nudge or Interrupt) with no deadline.
const NoTimeout time.Duration = -1

// Spin busy-waits with the CPU's spin-wait hint (PAUSE on amd64).
type Spin struct {
	// Pauses is how many PAUSE instructions one Idle(0) executes; zero or
	// negative means DefaultSpinPauses.
	Pauses int
}

// Idle implements Strategy.
func (s Spin) Idle(work int) {
	if work > 0 {
		return
	}
	p := s.Pauses
	if p <= 0 {
		p = DefaultSpinPauses
	}
	procyield(uint32(p))
}

// Yield lets other goroutines run (runtime.Gosched) between polls. It does
// not give the OS thread to other processes.
type Yield struct{}

// Idle implements Strategy.
func (Yield) Idle(work int) {
	if work == 0 {
		runtime.Gosched()
	}
}

// Backoff spins, then yields, then waits longer: Idle sleeps for MinPark
// doubling up to MaxPark, while a caller that has a ring to park on uses
// Step and parks (WaitData, WaitSpace) once Step says so, to be woken by
// the peer instead of sleeping through its traffic. It starts over after
// work. The zero value uses the defaults; use a pointer, the strategy
// counts.
type Backoff struct {
	// Spins is the number of idle steps that spin; zero means
	// DefaultBackoffSpins, negative means none.
	Spins int
	// Yields is the number of idle steps that yield after spinning; zero
	// means DefaultBackoffYields, negative means none.
	Yields int
	// SpinTime, when positive, makes the yielding phase last until
	// SpinTime has passed since the idle period began (checked every 16
	// yields) instead of Yields steps.
	SpinTime time.Duration
	// MinPark and MaxPark bound the sleeps of Idle; zero or negative means
	// DefaultMinPark and DefaultMaxPark.
	MinPark, MaxPark time.Duration

	spun, yielded int
	since         time.Time // start of the idle period (SpinTime)
	park          time.Duration
}

// Step takes one step of the spinning and yielding phases and returns
// false, or returns true without waiting once they are over: the caller
// parks.
func (s *Backoff) Step() (park bool) {
	if s.spun < orDefault(s.Spins, DefaultBackoffSpins) {
		if s.spun == 0 && s.SpinTime > 0 {
			s.since = time.Now()
		}
		s.spun++
		procyield(DefaultSpinPauses)
		return false
	}
	if s.SpinTime > 0 {
		if s.since.IsZero() {
			s.since = time.Now() // Spins was negative
		}
		s.yielded++
		if s.yielded%16 != 0 || time.Since(s.since) < s.SpinTime {
			runtime.Gosched()
			return false
		}
		return true
	}
	if s.yielded < orDefault(s.Yields, DefaultBackoffYields) {
		s.yielded++
		runtime.Gosched()
		return false
	}
	return true
}

// Idle implements Strategy: after Step's phases it sleeps.
func (s *Backoff) Idle(work int) {
	if work > 0 {
		s.spun, s.yielded, s.park, s.since = 0, 0, 0, time.Time{}
		return
	}
	if !s.Step() {
		return
	}
	lo, hi := s.MinPark, s.MaxPark
	if lo <= 0 {
		lo = DefaultMinPark
	}
	if hi <= 0 {
		hi = DefaultMaxPark
	}
	switch {
	case s.park < lo:
		s.park = lo
	case s.park < hi:
		s.park = min(2*s.park, hi)
	}
	time.Sleep(s.park)
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return max(n, 0)
}

// Block parks on the ring: a consumer until data arrives (WaitData), a
// producer until the ring has room for the claim that last failed
// (WaitSpace). Use one for each side, from that side's goroutine.
type Block struct {
	// Ring is the ring to wait on.
	Ring *Buffer
	// Space makes it wait for room (the producer) instead of data (the
	// consumer).
	Space bool
	// Timeout bounds each park, so a dead peer cannot hang the waiter;
	// zero or negative means DefaultParkTimeout.
	Timeout time.Duration
}

// Idle implements Strategy.
func (s Block) Idle(work int) {
	if work > 0 {
		return
	}
	t := s.Timeout
	if t <= 0 {
		t = DefaultParkTimeout
	}
	if s.Space {
		s.Ring.waitSpace(s.Ring.pWant, t)
	} else {
		s.Ring.WaitData(t)
	}
}

// WaitData waits until the consumer has something to do: a record to read,
// a closed producer, or a corrupt ring. It parks on the consumer-parked
// futex word and reports whether it returned for that reason rather than
// the timeout. Consumer side only.
//
// The protocol is Dekker's (Go's atomics are sequentially consistent): the
// consumer stores parked=1 and then loads the next record header; the
// producer stores that header (Flush) and then loads parked. At least one of them
// sees the other's store, so either the consumer sees the data and does not
// sleep, or the producer sees parked=1, stores 0 and wakes it; the sleep
// itself is FUTEX_WAIT(parked, 1), which returns at once if the word is
// already 0, so the wake cannot fall between the check and the sleep.
func (b *Buffer) WaitData(timeout time.Duration) bool {
	if b.cErr != nil {
		return true // the caller's next Read returns it
	}
	return b.WaitDataAt(b.cPos, timeout)
}

// Position returns the consumer's position: the record it reads next.
// Consumer side only.
func (b *Buffer) Position() uint64 { return b.cPos }

// WaitDataAt is WaitData for a waiter that does not own the consumer side
// while it waits: it parks until the record header at pos, a position
// Position returned, is published (or is there already: another goroutine
// of this process may consume meanwhile, and the header of a record it
// read stays until the producer's next lap), the producer closes, or a
// wake-up, publish, Nudge or Interrupt. It reads no consumer state, so the
// goroutine that owns the consumer side may use it concurrently; the
// waiter then owns it again only once it has taken it back.
func (b *Buffer) WaitDataAt(pos uint64, timeout time.Duration) bool {
	ok := b.park(false, pos, timeout)
	b.nudged.Store(false)
	return ok
}

// Nudge makes the consumer's current WaitData, or its next one if it is
// not parked, return once (true), as a publish would without a record:
// for a goroutine of the consumer's process that needs the consumer's
// loop to take a turn. It is the Dekker partner of the waiter's check, and
// makes a system call only when the consumer is parked.
func (b *Buffer) Nudge() {
	b.nudged.Store(true)
	if b.dataParked.Load() != 0 {
		b.dataParked.Store(0)
		futexWake(b.dataParked)
	}
}

// ready reports whether a waiter can stop: the consumer (space false) when
// the record header at position at is published, the producer closed or a
// Nudge came; the producer (space true) when the claim ending at at fits.
// Interrupt stops both. The consumer's check reads no consumer state.
func (b *Buffer) ready(space bool, at uint64) bool {
	if b.intr.Load() {
		return true
	}
	if space {
		return b.hasSpace(at)
	}
	return b.nudged.Load() || atomic.LoadUint64(b.slot(at)) != 0 || b.prodClosed.Load() != 0
}

// park is WaitDataAt (space false) and WaitSpace (space true): the Dekker
// protocol described on WaitData, on the side's parked word, until ready,
// a wake-up (returning ready's verdict), or the timeout.
func (b *Buffer) park(space bool, at uint64, timeout time.Duration) bool {
	if b.ready(space, at) {
		return true
	}
	word, st := b.dataParked, &b.cStats
	if space {
		word, st = b.spaceParked, &b.pStats
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		word.Store(1)
		if b.ready(space, at) {
			word.Store(0)
			return true
		}
		left := NoTimeout
		if timeout >= 0 {
			if left = time.Until(deadline); left <= 0 {
				word.Store(0)
				return false
			}
		}
		st.Parks++
		timedOut := futexWait(word, 1, left)
		// Every waker stores 0 before FUTEX_WAKE, so a word still at 1
		// means nobody woke this waiter: a signal interrupted the wait
		// (Go's preemption and profiling signals make FUTEX_WAIT with a
		// timeout return EINTR) or the kernel woke it spuriously.
		woken := word.Load() == 0
		word.Store(0)
		ok := b.ready(space, at)
		if timedOut {
			st.Timeouts++
			if ok {
				st.Late++
			}
		}
		if ok || (woken && !timedOut) {
			// Ready, or woken without being ready (a hand-back that
			// did not free enough, a wake meant for the peer on the
			// shared word): return, the caller polls and decides.
			return ok
		}
		// Interrupted and not ready: wait again for what is left.
		if !timedOut {
			st.Interrupts++
		}
	}
}

// Interrupt makes every wait on this Buffer return at once, now and from
// now on, as if there were work: a parked WaitData or WaitSpace, in any
// goroutine of this process, is woken. It is for a side that is shutting
// down (its loops then see why and leave). Being on the shared parked
// words, the wake-up may also reach the peer's waiter, which sees it as
// spurious and waits again. Interrupt is the Dekker partner of the
// waiters' check, as a publish is.
func (b *Buffer) Interrupt() {
	b.intr.Store(true)
	for _, w := range [...]*atomic.Uint32{b.dataParked, b.spaceParked} {
		if w.Load() != 0 {
			w.Store(0)
			futexWake(w)
		}
	}
}

// WaitSpace waits until a Claim(n) can succeed or fail for another reason
// than ErrFull (closed, corrupt, too large), the mirror image of WaitData on
// the producer-parked word. It flushes staged records first. Producer side
// only.
func (b *Buffer) WaitSpace(n int, timeout time.Duration) bool {
	if b.pErr != nil || n < 0 || uint64(n) > b.maxRecord {
		return true
	}
	return b.waitSpace(b.claimEnd(uint64(n)), timeout)
}

// claimEnd returns the position up to which a claim of n bytes needs room:
// the end of the record and of the zero header slot after it.
func (b *Buffer) claimEnd(n uint64) uint64 {
	size := RecordHeaderSize + align8(n)
	end := b.pPos + size + RecordHeaderSize
	if rest := b.capacity - b.pPos&b.mask; size > rest {
		end += rest
	}
	return end
}

func (b *Buffer) waitSpace(end uint64, timeout time.Duration) bool {
	b.Flush() // staged records must reach the consumer for room to appear
	if end <= b.pPos {
		end = b.pPos + RecordHeaderSize
	}
	return b.park(true, end, timeout)
}

func (b *Buffer) hasSpace(end uint64) bool {
	return b.pErr != nil || end-b.pConsCache <= b.capacity ||
		end-b.consumer.Load() <= b.capacity || b.consClosed.Load() != 0
}

// ReadWait is Read that waits, with s, until it has read at least one
// record, the ring fails, or ctx is done. A nil s means Block on b. With
// Block, cancellation is noticed within one park timeout.
func (b *Buffer) ReadWait(ctx context.Context, s Strategy, fn func(rec []byte) bool) (int, error) {
	done := ctx.Done()
	for {
		n, err := b.Read(fn)
		if n > 0 || err != nil {
			return n, err
		}
		select {
		case <-done:
			return 0, ctx.Err()
		default:
		}
		if s == nil {
			b.WaitData(DefaultParkTimeout)
		} else {
			s.Idle(0)
		}
	}
}

// ClaimWait is Claim that waits, with s, while the ring is full, until ctx
// is done. A nil s means Block{Ring: b, Space: true}. Before waiting it
// flushes the staged records, which the consumer must see to make room.
func (b *Buffer) ClaimWait(ctx context.Context, s Strategy, n int) ([]byte, error) {
	done := ctx.Done()
	for {
		buf, err := b.Claim(n)
		if err != ErrFull {
			return buf, err
		}
		b.Flush() // staged records must reach the consumer for room to appear
		select {
		case <-done:
			return nil, ctx.Err()
		default:
		}
		if s == nil {
			b.waitSpace(b.pWant, DefaultParkTimeout)
		} else {
			s.Idle(0)
		}
	}
}
