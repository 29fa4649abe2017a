package handshake

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// TestFloodOfIdleSockets: sockets that connect and send nothing fill the
// negotiation stage; real clients, shared memory and plain TCP, still get
// through long before the idle sockets' handshake timeout would free a
// place, because they evict the oldest idle ones.
func TestFloodOfIdleSockets(t *testing.T) {
	cfg := testConfig(t)
	cfg.Timeout = 5 * time.Second // the idle sockets would hold their places this long
	cfg.MaxPending = 16
	l := listen(t, cfg)
	addr := l.Addr().String()
	for range 4 * cfg.MaxPending {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for _, mode := range []Mode{SHMOnly, TCPOnly} {
		ccfg := cfg
		ccfg.Mode = mode
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout/2)
		go func() {
			// The listener hands connections to Accept; take them.
			if a, err := l.Accept(ctx); err == nil {
				a.Transport.Close()
			}
		}()
		tr, k, err := Dial(ctx, addr, ccfg)
		if err != nil {
			cancel()
			t.Fatalf("%v client behind %d idle sockets: %v", mode, 4*cfg.MaxPending, err)
		}
		if want := map[Mode]Kind{SHMOnly: KindSHM, TCPOnly: KindTCP}[mode]; k != want {
			t.Errorf("%v client got %v", mode, k)
		}
		tr.Close()
		cancel()
	}
}

// TestStageEvictsOldest: a full stage admits a newcomer by evicting its
// oldest entry once that one is EvictAge old, and not before.
func TestStageEvictsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStage("test", 2, EvictAge)
		var ends [3]error
		entries := make([]*entry, 3)
		for i := range entries {
			i := i
			entries[i] = &entry{cancel: func(err error) { ends[i] = err }}
		}
		for _, e := range entries[:2] {
			if ev, err := s.enter(t.Context(), e); ev != nil || err != nil {
				t.Fatalf("enter into a stage with room: evicted %v, err %v", ev, err)
			}
			time.Sleep(EvictAge / 4) // the fake clock: the first entry is the older
		}
		start := time.Now()
		ev, err := s.enter(t.Context(), entries[2])
		if err != nil {
			t.Fatal(err)
		}
		if ev != entries[0] || !errors.Is(ends[0], ErrEvicted) || ends[1] != nil {
			t.Fatalf("evicted %p (want the oldest, %p), ends %v", ev, entries[0], ends)
		}
		if waited := time.Since(start); waited != EvictAge-EvictAge/2 {
			t.Errorf("newcomer waited %v, want until the oldest was EvictAge old (%v)", waited, EvictAge/2)
		}
		if n := s.len(); n != 2 {
			t.Errorf("%d entries, want 2", n)
		}
		// A place freed by leave admits at once.
		s.leave(entries[1])
		e := &entry{cancel: func(error) {}}
		start = time.Now()
		if ev, err := s.enter(t.Context(), e); ev != nil || err != nil || time.Since(start) != 0 {
			t.Fatalf("enter after leave: evicted %v, err %v, waited %v", ev, err, time.Since(start))
		}
	})
}

// TestStagePerPeer: a remote peer holds at most a quarter of a stage; its
// newcomer beyond evicts its own oldest once that one is EvictAge old, and
// is refused before; loopback peers (no address) are not counted.
func TestStagePerPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStage("test", 8, EvictAge) // a quarter: 2
		var ended []error
		add := func(peer string) (*entry, error) {
			e := &entry{peer: peer, cancel: func(err error) { ended = append(ended, err) }}
			if _, err := s.enter(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			_, err := s.claimPeer(e)
			return e, err
		}
		a1, err1 := add("10.0.0.1")
		_, err2 := add("10.0.0.1")
		if err1 != nil || err2 != nil {
			t.Fatalf("a peer's first two: %v, %v", err1, err2)
		}
		for range 4 {
			if _, err := add(""); err != nil {
				t.Fatalf("a loopback connection was refused: %v", err)
			}
		}
		if _, err := add("10.0.0.1"); !errors.Is(err, ErrPeerBusy) {
			t.Fatalf("a peer's third while its others are young: %v, want ErrPeerBusy", err)
		}
		if _, err := add("10.0.0.2"); err != nil {
			t.Fatalf("another peer: %v", err)
		}
		time.Sleep(EvictAge)
		if _, err := add("10.0.0.1"); err != nil {
			t.Fatalf("a peer's third once its oldest is old: %v", err)
		}
		if a1.at != nil || len(ended) != 1 || !errors.Is(ended[0], ErrEvicted) {
			t.Fatalf("the peer's oldest was not the one evicted: at %v, ended %v", a1.at, ended)
		}
		if n := s.len(); n != 7 { // 2 + 4 loopback + 1 of the other peer, the evicted one gone
			t.Errorf("%d entries, want 7", n)
		}
	})
}
