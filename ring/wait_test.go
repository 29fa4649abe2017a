package ring

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket/rsockettest"
)

// The producer makes no wake system call while the consumer is awake.
func TestNoWakeWhileAwake(t *testing.T) {
	b := newRing(t, 4096)
	for range 1000 {
		if err := b.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Read(func([]byte) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	if b.pStats.Wakes != 0 || b.cStats.Wakes != 0 {
		t.Errorf("wakes = %d, %d; want 0", b.pStats.Wakes, b.cStats.Wakes)
	}
}

// waitParked waits until the word says the other goroutine is parked.
func waitParked(t *testing.T, w interface{ Load() uint32 }) {
	t.Helper()
	rsockettest.Eventually(t, 5*time.Second, "the peer to park", func() bool { return w.Load() != 0 })
}

func TestWaitDataWakes(t *testing.T) {
	b := newRing(t, 4096)
	done := make(chan bool)
	go func() { done <- b.WaitData(10 * time.Second) }()
	waitParked(t, b.dataParked)
	start := time.Now()
	if err := b.Write([]byte("wake")); err != nil {
		t.Fatal(err)
	}
	if !<-done {
		t.Fatal("WaitData = false; want true")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("wake took %v", d)
	}
	if b.pStats.Wakes != 1 {
		t.Errorf("producer wakes = %d; want 1", b.pStats.Wakes)
	}
	if b.dataParked.Load() != 0 {
		t.Error("parked word left set")
	}
	// Not parked any more: the next publish makes no system call.
	if err := b.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if b.pStats.Wakes != 1 {
		t.Errorf("producer wakes = %d; want still 1", b.pStats.Wakes)
	}
}

func TestWaitDataTimeout(t *testing.T) {
	b := newRing(t, 4096)
	start := time.Now()
	if b.WaitData(20 * time.Millisecond) {
		t.Fatal("WaitData on an empty ring = true")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("WaitData returned after %v; want >= 20ms", d)
	}
	if b.dataParked.Load() != 0 {
		t.Error("parked word left set")
	}
	if b.cStats.Timeouts == 0 || b.cStats.Late != 0 {
		t.Errorf("timeouts %d late %d; want >0, 0", b.cStats.Timeouts, b.cStats.Late)
	}
}

func TestWaitSpaceWakes(t *testing.T) {
	b := newRing(t, 1024)
	rec := make([]byte, 120)
	for b.Write(rec) == nil {
	}
	if _, err := b.Claim(120); err != ErrFull {
		t.Fatalf("Claim = %v; want ErrFull", err)
	}
	done := make(chan bool)
	go func() { done <- b.WaitSpace(120, 10*time.Second) }()
	waitParked(t, b.spaceParked)
	if n, err := b.Read(func([]byte) bool { return false }); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if !<-done {
		t.Fatal("WaitSpace = false")
	}
	if b.cStats.Wakes != 1 {
		t.Errorf("consumer wakes = %d; want 1", b.cStats.Wakes)
	}
	if err := b.Write(rec); err != nil {
		t.Errorf("Write after WaitSpace: %v", err)
	}
	start := time.Now()
	if b.WaitSpace(120, 10*time.Millisecond) || time.Since(start) < 10*time.Millisecond {
		t.Error("WaitSpace on a full ring did not time out")
	}
}

func TestReadWaitClaimWait(t *testing.T) {
	strategies := []struct {
		name string
		p, c func(b *Buffer) Strategy
	}{
		{"nil", func(*Buffer) Strategy { return nil }, func(*Buffer) Strategy { return nil }},
		{"Spin", func(*Buffer) Strategy { return Spin{} }, func(*Buffer) Strategy { return Spin{Pauses: 10} }},
		{"Yield", func(*Buffer) Strategy { return Yield{} }, func(*Buffer) Strategy { return Yield{} }},
		{"Backoff", func(*Buffer) Strategy { return &Backoff{} }, func(*Buffer) Strategy { return &Backoff{Spins: -1, Yields: 3} }},
		{"Block", func(b *Buffer) Strategy { return Block{Ring: b, Space: true} }, func(b *Buffer) Strategy { return Block{Ring: b, Timeout: time.Millisecond} }},
	}
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			b := newRing(t, 1024)
			const n = 2000
			ctx := context.Background()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				ps := s.p(b)
				for i := range n {
					buf, err := b.ClaimWait(ctx, ps, 100)
					if err != nil {
						t.Error(err)
						return
					}
					buf[0] = byte(i)
					b.Commit(1 + i%100)
				}
			}()
			cs := s.c(b)
			for got := 0; got < n; {
				k, err := b.ReadWait(ctx, cs, func(rec []byte) bool {
					if rec[0] != byte(got) || len(rec) != 1+got%100 {
						t.Fatalf("record %d: first byte %d len %d", got, rec[0], len(rec))
					}
					got++
					return true
				})
				if err != nil || k == 0 {
					t.Fatalf("ReadWait = %d, %v", k, err)
				}
			}
			wg.Wait()
		})
	}
}

func TestReadWaitContext(t *testing.T) {
	b := newRing(t, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	for _, s := range []Strategy{Block{Ring: b, Timeout: 5 * time.Millisecond}, &Backoff{}, Yield{}} {
		if _, err := b.ReadWait(ctx, s, func([]byte) bool { return true }); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%T: ReadWait = %v; want DeadlineExceeded", s, err)
		}
	}
	for b.Write(make([]byte, 100)) == nil {
	}
	if _, err := b.ClaimWait(ctx, &Backoff{}, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ClaimWait on a full ring = %v; want DeadlineExceeded", err)
	}
}

func TestBackoffPhases(t *testing.T) {
	s := &Backoff{Spins: 2, Yields: 1, MinPark: time.Microsecond, MaxPark: 4 * time.Microsecond}
	type state struct {
		spun, yielded int
		park          time.Duration
	}
	want := []state{{1, 0, 0}, {2, 0, 0}, {2, 1, 0}, {2, 1, time.Microsecond}, {2, 1, 2 * time.Microsecond},
		{2, 1, 4 * time.Microsecond}, {2, 1, 4 * time.Microsecond}}
	for i, w := range want {
		s.Idle(0)
		if got := (state{s.spun, s.yielded, s.park}); got != w {
			t.Errorf("Idle(0) #%d: state = %+v; want %+v", i, got, w)
		}
	}
	s.Idle(1)
	if s.spun != 0 || s.yielded != 0 || s.park != 0 {
		t.Errorf("Idle(1) did not reset: %+v", s)
	}
	var z Backoff
	z.Idle(0)
	if z.spun != 1 {
		t.Errorf("zero Backoff: spun = %d; want 1 (defaults)", z.spun)
	}
	n := &Backoff{Spins: -1, Yields: -1, MinPark: time.Microsecond}
	n.Idle(0)
	if n.park != time.Microsecond {
		t.Errorf("Backoff with no spins or yields: park = %v; want 1us", n.park)
	}
}

// Spin returns promptly for any pause count (the assembly loop terminates).
func TestSpin(t *testing.T) {
	start := time.Now()
	for _, p := range []int{-1, 0, 1, 1000} {
		Spin{Pauses: p}.Idle(0)
		Spin{Pauses: p}.Idle(1)
	}
	procyield(0)
	if d := time.Since(start); d > time.Second {
		t.Errorf("spins took %v", d)
	}
	runtime.Gosched()
}

// TestNudge: a consumer parked in WaitData returns early (true, with no
// record) when another goroutine of its process nudges it; a nudge with
// nobody parked makes the next WaitData return at once, once.
func TestNudge(t *testing.T) {
	mem := AlignedMem(Size(MinCapacity))
	b, err := Init(mem, MinCapacity)
	if err != nil {
		t.Fatal(err)
	}
	b.Nudge() // nobody parked: the next wait returns at once
	if !b.WaitData(5 * time.Second) {
		t.Fatal("WaitData after a Nudge reported nothing")
	}
	if b.WaitData(10 * time.Millisecond) {
		t.Fatal("a Nudge was taken twice")
	}
	got := make(chan bool, 1)
	start := time.Now()
	go func() { got <- b.WaitData(5 * time.Second) }()
	waitParked(t, b.dataParked)
	b.Nudge()
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("WaitData = false after a Nudge")
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("WaitData returned after %v, not at the nudge", el)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("WaitData did not return after Nudge")
	}
	if b.dataParked.Load() != 0 {
		t.Fatal("parked word left set")
	}
}

// TestWaitNoTimeout: a wait with NoTimeout parks until a publish wakes it.
func TestWaitNoTimeout(t *testing.T) {
	b := newRing(t, 4096)
	done := make(chan bool)
	go func() { done <- b.WaitData(NoTimeout) }()
	waitParked(t, b.dataParked)
	if err := b.Write([]byte("wake")); err != nil {
		t.Fatal(err)
	}
	if !<-done {
		t.Fatal("WaitData(NoTimeout) = false after a publish; want true")
	}
}

// TestInterrupt: Interrupt wakes a consumer parked with no timeout and a
// producer parked for space, and every later wait returns at once.
func TestInterrupt(t *testing.T) {
	b := newRing(t, 4096)
	data := make(chan bool)
	go func() { data <- b.WaitData(NoTimeout) }()
	waitParked(t, b.dataParked)

	// Fill the ring so that the producer parks for space.
	for {
		if err := b.Write(make([]byte, 256)); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	space := make(chan bool)
	go func() { space <- b.WaitSpace(256, NoTimeout) }()
	waitParked(t, b.spaceParked)

	b.Interrupt()
	for name, ch := range map[string]chan bool{"WaitData": data, "WaitSpace": space} {
		select {
		case ok := <-ch:
			if !ok {
				t.Errorf("%s after Interrupt = false; want true", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s still parked after Interrupt", name)
		}
	}
	if !b.WaitData(NoTimeout) || !b.WaitSpace(256, NoTimeout) {
		t.Fatal("a wait after Interrupt did not return at once")
	}
}

// TestBackoffStep: Step spins Spins times, yields Yields times (or until
// SpinTime has passed), then says park, and starts over after work.
func TestBackoffStep(t *testing.T) {
	s := Backoff{Spins: 3, Yields: 2}
	for i := range 5 {
		if s.Step() {
			t.Fatalf("step %d said park; want 3 spins and 2 yields first", i)
		}
	}
	if !s.Step() {
		t.Fatal("step 6 did not say park")
	}
	s.Idle(1) // work: start over
	if s.Step() {
		t.Fatal("after work the first step said park")
	}

	timed := Backoff{Spins: -1, SpinTime: 20 * time.Millisecond}
	start := time.Now()
	steps := 0
	for !timed.Step() {
		steps++
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("SpinTime 20ms ended its phase after %v (%d steps)", d, steps)
	}
}

// TestWaitDataAt: a waiter that does not own the consumer side parks on a
// position: a publish there wakes it, a record already there (consumed or
// not) returns at once, and a Nudge wakes it without a record.
func TestWaitDataAt(t *testing.T) {
	b := newRing(t, 4096)
	pos := b.Position()
	done := make(chan bool)
	go func() { done <- b.WaitDataAt(pos, NoTimeout) }()
	waitParked(t, b.dataParked)
	if err := b.Write([]byte("wake")); err != nil {
		t.Fatal(err)
	}
	if !<-done {
		t.Fatal("WaitDataAt = false after a publish at its position")
	}
	// Consumed meanwhile by the consumer side: the header is still there.
	readAll(t, b)
	if !b.WaitDataAt(pos, NoTimeout) {
		t.Fatal("WaitDataAt at a consumed record's position did not return at once")
	}
	next := b.Position()
	go func() { done <- b.WaitDataAt(next, NoTimeout) }()
	waitParked(t, b.dataParked)
	b.Nudge()
	if !<-done {
		t.Fatal("WaitDataAt = false after a Nudge")
	}
}
