// Package tsc reads a cheap cycle counter for latency sampling.
//
// On amd64 Now reads the time-stamp counter (RDTSC, cheaper than the
// runtime's monotonic clock in a KVM guest with an invariant TSC; see
// BenchmarkNow), so a per-round-trip timestamp costs less than the round
// trips it measures. Elsewhere it falls back to the wall clock. Either is
// one clock for every process of the machine (an invariant TSC counts at
// one rate on every CPU), so a tick read in one process can be compared
// with one read in another. Ticks are converted to nanoseconds with a
// Clock calibrated against the monotonic clock over the measured interval.
package tsc

import "time"

// Clock converts ticks to nanoseconds. Start one before a measurement and
// call Stop after it; the rate is taken over that interval.
type Clock struct {
	t0    time.Time
	c0    int64
	perNS float64
}

// Start begins a calibration interval.
func Start() Clock { return Clock{t0: time.Now(), c0: Now()} }

// Stop ends the calibration interval and fixes the tick rate.
func (c *Clock) Stop() {
	c1 := Now()
	ns := time.Since(c.t0).Nanoseconds()
	if ns <= 0 || c1 <= c.c0 {
		c.perNS = 1
		return
	}
	c.perNS = float64(c1-c.c0) / float64(ns)
}

// TicksPerNS is the calibrated rate (1 before Stop, and for the fallback).
func (c *Clock) TicksPerNS() float64 {
	if c.perNS == 0 {
		return 1
	}
	return c.perNS
}

// NS converts a tick count to nanoseconds.
func (c *Clock) NS(ticks int64) float64 { return float64(ticks) / c.TicksPerNS() }
