package tsc

import (
	"testing"
	"time"
)

func TestClockCalibrates(t *testing.T) {
	c := Start()
	a := Now()
	time.Sleep(20 * time.Millisecond)
	b := Now()
	c.Stop()
	if b <= a {
		t.Fatalf("counter did not advance: %d then %d", a, b)
	}
	got := c.NS(b - a)
	if got < 15e6 || got > 500e6 {
		t.Fatalf("20ms sleep measured as %.0f ns (rate %.3f ticks/ns)", got, c.TicksPerNS())
	}
}

func BenchmarkNow(b *testing.B) {
	for b.Loop() {
		Now()
	}
}
