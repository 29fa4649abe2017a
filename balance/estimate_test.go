package balance

import (
	"math"
	"testing"
)

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*max(1, math.Abs(want)) }

// TestPeakEWMA: a round trip above the estimate replaces it at once; one
// below pulls it down by 1-exp(-dt/tau); reads decay it towards zero.
func TestPeakEWMA(t *testing.T) {
	const tau = 1000
	e := peakEWMA{tau: tau}
	steps := []struct {
		what string
		op   func() float64
		want float64
	}{
		{"fresh", func() float64 { return e.value(0) }, 0},
		{"first answer is a peak", func() float64 { e.observe(100, 0); return e.value(0) }, 100},
		{"no time passed: a lower answer has no weight", func() float64 { e.observe(50, 0); return e.value(0) }, 100},
		{"tau later: 100/e + 50(1-1/e)", func() float64 { e.observe(50, tau); return e.value(tau) },
			100*math.Exp(-1) + 50*(1-math.Exp(-1))},
		{"a new peak at once", func() float64 { e.observe(500, tau); return e.value(tau) }, 500},
		{"tau without answers decays it by e", func() float64 { return e.value(2 * tau) }, 500 * math.Exp(-1)},
		{"a second read at the same time does not decay it again", func() float64 { return e.value(2 * tau) }, 500 * math.Exp(-1)},
		{"a clock read out of order does not grow it", func() float64 { return e.value(tau) }, 500 * math.Exp(-1)},
		{"reset", func() float64 { e.reset(42, 3*tau); return e.value(3 * tau) }, 42},
	}
	for i, s := range steps {
		if got := s.op(); !near(got, s.want) {
			t.Fatalf("step %d (%s): got %v; want %v", i, s.what, got, s.want)
		}
	}
}

// TestCost: P2C's cost is the predicted latency times the outstanding
// requests plus one; the silence of outstanding requests raises the
// prediction; an instance with requests outstanding and no estimate costs
// the penalty.
func TestCost(t *testing.T) {
	const tau = 1e9
	tests := []struct {
		name    string
		est     float64 // the estimate at time 0
		pending int     // started at time 0
		now     int64
		want    float64
	}{
		{"fresh and idle", 0, 0, 0, 0},
		{"fresh with requests outstanding", 0, 2, 0, penalty + 2},
		{"estimate, idle", 100, 0, 0, 100},
		{"estimate times pending+1", 100, 2, 0, 300},
		{"silence above the estimate", 10, 1, 1000, 1000 * 2},
		{"silence below the estimate", 5000, 1, 1000, 5000 * math.Exp(-1000/tau) * 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := peakEWMA{tau: tau}
			e.reset(tc.est, 0)
			var l load
			for range tc.pending {
				l.start(0)
			}
			if got := cost(&e, &l, tc.now); !near(got, tc.want) {
				t.Errorf("cost: got %v; want %v", got, tc.want)
			}
		})
	}
}

// TestLoadSilence: silence is zero without requests outstanding and counts
// from the last start or end with them.
func TestLoadSilence(t *testing.T) {
	var l load
	if got := l.silence(100); got != 0 {
		t.Errorf("idle: got %d; want 0", got)
	}
	l.start(100)
	l.start(200)
	if got := l.silence(1000); got != 800 {
		t.Errorf("two outstanding since 200: got %d; want 800", got)
	}
	l.end(900)
	if got := l.silence(1000); got != 100 {
		t.Errorf("one answered at 900: got %d; want 100", got)
	}
	l.end(950)
	if got := l.silence(5000); got != 0 {
		t.Errorf("all answered: got %d; want 0", got)
	}
}
