package ring

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestStageLocallySameBytes: a producer that stages locally leaves the ring
// byte for byte as one that writes in place, after every Flush, through
// wraps, padding records, aborted claims, claims too large for the arena
// and a full ring, with some records claimed in place among the staged
// ones (ClaimInPlace); and the consumer reads the same records.
func TestStageLocallySameBytes(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		const capacity = 4096
		plain, local := newRing(t, capacity), newRing(t, capacity)
		local.StageLocally(1024, 256)
		var want [][]byte
		for step := range 3000 {
			n := rng.IntN(300)
			if rng.IntN(10) == 0 {
				n = rng.IntN(int(plain.MaxRecord()) + 1)
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			bp, errp := plain.Claim(n)
			claim := local.Claim
			if rng.IntN(4) == 0 {
				claim = local.ClaimInPlace
			}
			bl, errl := claim(n)
			if !errors.Is(errl, errp) {
				t.Fatalf("seed %d step %d: Claim(%d): local %v, in place %v", seed, step, n, errl, errp)
			}
			if errp == nil {
				switch rng.IntN(8) {
				case 0: // nothing written: an aborted claim leaves the ring as it was
					plain.Abort()
					local.Abort()
				case 1:
					copy(bp, p)
					copy(bl, p)
					plain.Commit(n)
					local.Commit(n)
					want = append(want, p)
				default:
					copy(bp, p)
					copy(bl, p)
					plain.Stage(n)
					local.Stage(n)
					want = append(want, p)
				}
			}
			if errp != nil || rng.IntN(5) == 0 {
				plain.Flush()
				local.Flush()
				if !bytes.Equal(plain.Mem(), local.Mem()) {
					t.Fatalf("seed %d step %d: the rings differ after Flush", seed, step)
				}
				if got := readAll(t, local); !sameRecords(got, want) {
					t.Fatalf("seed %d step %d: read %d records, want %d (or different bytes)", seed, step, len(got), len(want))
				}
				readAll(t, plain)
				want = want[:0]
			}
		}
	}
}

func sameRecords(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestStageLocallyUnpublished: locally staged records stay invisible to the
// consumer until Flush, and the producer counter check (published) does
// not count them.
func TestStageLocallyUnpublished(t *testing.T) {
	b := newRing(t, 4096)
	b.StageLocally(1024, 64)
	for range 3 {
		buf, err := b.Claim(8)
		if err != nil {
			t.Fatal(err)
		}
		copy(buf, "12345678")
		b.Stage(8)
	}
	if got := readAll(t, b); len(got) != 0 {
		t.Fatalf("consumer read %d records before Flush", len(got))
	}
	if b.published() != 0 {
		t.Fatalf("published() = %d before Flush; want 0", b.published())
	}
	b.Flush()
	if got := readAll(t, b); len(got) != 3 || string(got[2]) != "12345678" {
		t.Fatalf("after Flush read %q", got)
	}
}

// TestStageLocallyAllocs: staging locally allocates nothing once the
// record list has grown.
func TestStageLocallyAllocs(t *testing.T) {
	b := newRing(t, 1<<16)
	b.StageLocally(4096, 256)
	round := func() {
		for range 16 {
			buf, _ := b.Claim(64)
			buf[0] = 1
			b.Stage(64)
		}
		b.Flush()
		b.Read(func([]byte) bool { return true })
	}
	round()
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Fatalf("%v allocations per round; want 0", n)
	}
}

// TestPrefetchSpans: the lines asked for before a staged batch is copied
// cover every byte of its span and nothing past the ring's end.
func TestPrefetchSpans(t *testing.T) {
	const capacity = 4096
	for from := uint64(0); from < 3*capacity; from += 40 {
		for _, n := range []uint64{8, 64, 100, 1000, capacity - 8, capacity} {
			start, lines, wrapped := prefetchSpans(from, from+n, capacity-1)
			if start%64 != 0 || start+uint64(lines)*64 > capacity || uint64(wrapped)*64 > capacity {
				t.Fatalf("[%d,+%d): %d lines from %d, %d wrapped: outside the ring", from, n, lines, start, wrapped)
			}
			covered := func(off uint64) bool {
				return (off >= start && off < start+uint64(lines)*64) || off < uint64(wrapped)*64
			}
			for p := from; p < from+n; p++ {
				if !covered(p % capacity) {
					t.Fatalf("[%d,+%d): offset %d not asked for (%d lines from %d, %d wrapped)", from, n, p%capacity, lines, start, wrapped)
				}
			}
		}
	}
}

// TestPrefetchAheadStaysInFreeSpace: PrefetchAhead asks only for space the
// consumer has released, each byte once, and asks again once the producer
// has written into what it asked for; for small records (zeroed lines
// where the CPU has CLZERO) and large ones.
func TestPrefetchAheadStaysInFreeSpace(t *testing.T) {
	if !hasPrefetchW && !hasCLZero {
		t.Skip("the CPU has neither PREFETCHW nor CLZERO: PrefetchAhead does nothing")
	}
	for _, c := range []struct {
		n   int
		far bool
	}{{56, false}, {zeroMax + 1, false}, {zeroMax + 1, true}, {zeroFarMax + 1, true}} {
		t.Run(fmt.Sprintf("%d-far=%v", c.n, c.far), func(t *testing.T) { testPrefetchAheadStays(t, c.n, c.far) })
	}
}

func testPrefetchAheadStays(t *testing.T, n int, far bool) {
	const capacity, ahead = 4096, 1024
	b := newRing(t, capacity)
	b.pFar = far
	zero := b.zeroes(n)
	lineEnd := func(pos uint64) uint64 { // where PrefetchAhead stops for an end of pos
		if zero {
			return pos &^ 63 // whole lines only
		}
		return pos
	}
	fill := func(n int) { // n bytes of 64-byte records, unread
		for range n / (RecordHeaderSize + 56) {
			if _, err := b.ClaimInPlace(56); err != nil {
				t.Fatal(err)
			}
			b.Stage(56)
		}
		b.Flush()
	}
	b.PrefetchAhead(ahead, n)
	if b.pAsked != ahead {
		t.Fatalf("asked up to %d; want %d", b.pAsked, ahead)
	}
	b.PrefetchAhead(ahead, n)
	if b.pAsked != ahead {
		t.Fatalf("asked again, up to %d, before anything was written", b.pAsked)
	}
	fill(ahead / 2)
	b.PrefetchAhead(ahead, n)
	if want := lineEnd(b.pPos + ahead); b.pAsked != want {
		t.Fatalf("asked up to %d after writing to %d; want %d", b.pAsked, b.pPos, want)
	}
	fill(capacity - int(b.pPos) - 2*RecordHeaderSize) // the ring nearly full, nothing read
	for range 3 {
		b.PrefetchAhead(ahead, n)
		if limit := b.pConsCache + capacity; b.pAsked > limit {
			t.Fatalf("asked up to %d, past the free space's end %d (consumer at %d)", b.pAsked, limit, b.pConsCache)
		}
	}
	readAll(t, b)
	fill(ahead) // the claims see the space the reads released
	b.PrefetchAhead(ahead, n)
	if want := lineEnd(b.pPos + ahead); b.pAsked != want {
		t.Fatalf("asked up to %d after the consumer caught up (producer at %d); want %d", b.pAsked, b.pPos, want)
	}
}

// TestPrefetchAheadZeroesOnlyFreeLines: where PrefetchAhead zeroes lines
// (CLZERO), it changes no byte outside whole lines of the free space past
// the producer's next header slot, the records not yet read still read
// back intact, and a claim into the zeroed lines works as any other.
func TestPrefetchAheadZeroesOnlyFreeLines(t *testing.T) {
	if !hasCLZero {
		t.Skip("the CPU has no CLZERO: PrefetchAhead zeroes nothing")
	}
	const capacity = 4096
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 300 {
		b := newRing(t, capacity)
		var want [][]byte
		write := func(k int) {
			for range k {
				p := make([]byte, rng.IntN(200))
				for i := range p {
					p[i] = byte(rng.Uint32()) | 1
				}
				if b.Write(p) != nil {
					return // full
				}
				want = append(want, p)
			}
		}
		for range rng.IntN(4) { // earlier laps leave stale records behind
			write(rng.IntN(60))
			readAll(t, b)
		}
		want = want[:0]
		write(rng.IntN(40)) // not read yet
		before := bytes.Clone(b.data)
		pos, cons := b.pPos, b.pConsCache
		b.PrefetchAhead(1+rng.IntN(capacity), rng.IntN(zeroMax+1))
		lo := (pos + RecordHeaderSize + 63) &^ 63 // first line past the next header slot
		hi := (cons + capacity) &^ 63             // end of the free space's whole lines
		for i := range b.data {
			if b.data[i] == before[i] {
				continue
			}
			p := lo + (uint64(i)-lo)&b.mask // i's position in the lap from lo
			if p >= hi || b.data[i] != 0 {
				t.Fatalf("round %d: byte %d (position %d) changed to %#x; producer at %d, consumer at %d: only lines in [%d, %d) may be zeroed",
					round, i, p, b.data[i], pos, cons, lo, hi)
			}
		}
		write(rng.IntN(40)) // into the zeroed lines
		got := readAll(t, b)
		if len(got) != len(want) {
			t.Fatalf("round %d: read %d records; want %d", round, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("round %d: record %d differs", round, i)
			}
		}
	}
}

// TestZeroes: PrefetchAhead zeroes ahead of small records wherever the CPU
// can, and ahead of records up to zeroFarMax only where the consumer's
// core is judged far.
func TestZeroes(t *testing.T) {
	b := newRing(t, 4096)
	for _, c := range []struct {
		n         int
		far, want bool
	}{
		{0, false, true}, {zeroMax, false, true}, {zeroMax + 1, false, false},
		{zeroMax + 1, true, true}, {zeroFarMax, true, true}, {zeroFarMax + 1, true, false},
	} {
		b.pFar = c.far
		if got := b.zeroes(c.n); got != (c.want && hasCLZero) {
			t.Errorf("zeroes(%d) with far=%v: %v; want %v (CLZERO: %v)", c.n, c.far, got, c.want && hasCLZero, hasCLZero)
		}
	}
}

// TestJudgeDistance: a window of timed loads with at least farVotes slow
// ones makes the consumer far, one with at most nearVotes near, and one in
// between keeps the last judgment.
func TestJudgeDistance(t *testing.T) {
	var b Buffer
	window := func(slow int) bool {
		for i := range farWindow {
			d := clockReads() + farNS/2
			if i < slow {
				d = clockReads() + 2*farNS
			}
			b.judgeDistance(d)
		}
		return b.pFar
	}
	for i, c := range []struct {
		slow int
		far  bool
	}{
		{0, false}, {farVotes - 1, false}, {farVotes, true}, {nearVotes + 1, true},
		{farWindow, true}, {nearVotes, false}, {farVotes - 1, false}, {farWindow, true}, {0, false},
	} {
		if got := window(c.slow); got != c.far {
			t.Fatalf("window %d with %d of %d loads slow: far=%v; want %v", i, c.slow, farWindow, got, c.far)
		}
	}
	b.judgeDistance(clockReads() + 2*farNS) // an unfinished window decides nothing
	if b.pFar || b.pTimed != 1 {
		t.Fatalf("after one load of a new window: far=%v, %d timed; want false, 1", b.pFar, b.pTimed)
	}
	for range 2 * farWindow { // interrupted reads do not vote
		b.judgeDistance(clockReads() + 2*farMaxNS)
	}
	if b.pFar || b.pTimed != 1 {
		t.Fatalf("after interrupted reads: far=%v, %d timed; want false, 1", b.pFar, b.pTimed)
	}
}

// TestRefreshTimesMovedCounter: on a CPU with CLZERO, for records whose
// zeroing the judgment decides, a load of the consumer counter that finds
// it moved is timed, and one that finds it where it was is not; for small
// records, which are zeroed ahead either way, no load is timed.
func TestRefreshTimesMovedCounter(t *testing.T) {
	if !hasCLZero {
		t.Skip("the CPU has no CLZERO: the producer has no choice to judge")
	}
	const capacity = 4096
	for _, c := range []struct {
		n     int
		timed uint8 // loads timed after the consumer moved
	}{{zeroMax + 1, 1}, {zeroMax, 0}} {
		b := newRing(t, capacity)
		write := func() error {
			b.PrefetchAhead(1024, c.n)
			return b.Write(make([]byte, c.n))
		}
		for write() == nil {
		}
		if write() == nil || b.pTimed != 0 {
			t.Fatalf("%d-byte records, a full ring's unmoved counter: %d loads timed; want 0", c.n, b.pTimed)
		}
		readAll(t, b)
		if err := write(); err != nil {
			t.Fatal(err)
		}
		if b.pTimed != c.timed {
			t.Fatalf("%d-byte records, after the consumer moved: %d loads timed; want %d", c.n, b.pTimed, c.timed)
		}
	}
}
