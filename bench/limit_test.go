package bench

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/hist"
	"github.com/rshm/rshm/internal/tsc"
)

// latency runs one round trip per b.Loop iteration and reports its p50 and
// p99 from RDTSC timestamps, one counter read per sample.
func latency(b *testing.B, roundTrip func()) *hist.Histogram {
	h := new(hist.Histogram)
	clk := tsc.Start()
	prev := tsc.Now()
	for b.Loop() {
		roundTrip()
		now := tsc.Now()
		h.Record(now - prev)
		prev = now
	}
	clk.Stop()
	b.ReportMetric(clk.NS(h.Quantile(0.50)), "p50-ns")
	b.ReportMetric(clk.NS(h.Quantile(0.99)), "p99-ns")
	return h
}

func init() {
	childRoles["limit"] = childLimit
	childRoles["futex"] = childFutex
}

// benchLimit is the physical floor of a round trip: two processes on two
// CPUs bounce one cache line. The parent stores an odd number, the peer
// answers with the next even one.
func benchLimit(b *testing.B) {
	pin(b)
	p := startPeer(b, "limit", 0)
	w := p.word(offPing)
	var seq uint64
	latency(b, func() {
		seq++
		atomic.StoreUint64(w, seq)
		seq++
		for atomic.LoadUint64(w) != seq {
		}
	})
}

func childLimit(m *mapping) error {
	w := m.word(offPing)
	want := uint64(1)
	for {
		for spins := 0; atomic.LoadUint64(w) != want; spins++ {
			if spins&1023 == 1023 && stopped(m) {
				return nil
			}
		}
		atomic.StoreUint64(w, want+1)
		want += 2
	}
}

// benchMemcpy is the bandwidth baseline: one core copying 1 MiB, in cache
// as far as the cache allows (the same buffers every time).
func benchMemcpy(b *testing.B) {
	pin(b)
	const n = 1 << 20
	src, dst := make([]byte, n), make([]byte, n)
	for i := range src {
		src[i] = byte(i)
	}
	b.SetBytes(n)
	start := time.Now()
	for b.Loop() {
		copy(dst, src)
	}
	b.ReportMetric(float64(b.N)*n/time.Since(start).Seconds()/1e9, "GB/s")
	runtime.KeepAlive(dst)
}

// benchWakeFutex is the kernel's floor for a blocking round trip: both sides
// park on a bare shared futex word between messages, every message is a
// FUTEX_WAKE of a parked thread.
func benchWakeFutex(b *testing.B) {
	pin(b)
	p := startPeer(b, "futex", 0)
	a, r := p.futexWord(offWakeA), p.futexWord(offWakeB)
	latency(b, func() {
		atomic.StoreUint32(a, 1)
		futexWake(a)
		for atomic.LoadUint32(r) == 0 {
			futexWait(r, 0, 100*time.Millisecond)
		}
		atomic.StoreUint32(r, 0)
	})
}

func childFutex(m *mapping) error {
	a, r := m.futexWord(offWakeA), m.futexWord(offWakeB)
	for !stopped(m) {
		if atomic.LoadUint32(a) == 0 {
			futexWait(a, 0, 100*time.Millisecond)
			continue
		}
		atomic.StoreUint32(a, 0)
		atomic.StoreUint32(r, 1)
		futexWake(r)
	}
	return nil
}
