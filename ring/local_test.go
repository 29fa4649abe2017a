package ring

import (
	"bytes"
	"errors"
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
// has written into what it asked for.
func TestPrefetchAheadStaysInFreeSpace(t *testing.T) {
	if !hasPrefetchW {
		t.Skip("the CPU has no PREFETCHW: PrefetchAhead asks for nothing")
	}
	const capacity, ahead = 4096, 1024
	b := newRing(t, capacity)
	fill := func(n int) { // n bytes of 64-byte records, unread
		for range n / (RecordHeaderSize + 56) {
			if _, err := b.ClaimInPlace(56); err != nil {
				t.Fatal(err)
			}
			b.Stage(56)
		}
		b.Flush()
	}
	b.PrefetchAhead(ahead)
	if b.pAsked != ahead {
		t.Fatalf("asked up to %d; want %d", b.pAsked, ahead)
	}
	b.PrefetchAhead(ahead)
	if b.pAsked != ahead {
		t.Fatalf("asked again, up to %d, before anything was written", b.pAsked)
	}
	fill(ahead / 2)
	b.PrefetchAhead(ahead)
	if want := b.pPos + ahead; b.pAsked != want {
		t.Fatalf("asked up to %d after writing to %d; want %d", b.pAsked, b.pPos, want)
	}
	fill(capacity - int(b.pPos) - 2*RecordHeaderSize) // the ring nearly full, nothing read
	for range 3 {
		b.PrefetchAhead(ahead)
		if limit := b.pConsCache + capacity; b.pAsked > limit {
			t.Fatalf("asked up to %d, past the free space's end %d (consumer at %d)", b.pAsked, limit, b.pConsCache)
		}
	}
	readAll(t, b)
	fill(ahead) // the claims see the space the reads released
	b.PrefetchAhead(ahead)
	if want := b.pPos + ahead; b.pAsked != want {
		t.Fatalf("asked up to %d after the consumer caught up (producer at %d); want %d", b.pAsked, b.pPos, want)
	}
}
