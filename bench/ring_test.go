package bench

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/ring"
)

// BenchmarkRing measures the data path across two processes pinned to the
// chosen CPU pair, each result beside its baseline from the same run:
//
//	limit          two processes bouncing one cache line: the physical floor
//	pingpong-64B   64 bytes there and back through the two rings, busy-spin
//	pingpong-14KiB the same with 14 KiB records, each side copying every
//	               record out of the ring: the floor of a 14 KiB round trip
//	stream-64B     one-way records/s, the consumer reading every record
//	stream-64B-ahead the same with the free lines prepared ahead of the
//	               producer (ring.Buffer.PrefetchAhead)
//	stream-1MiB    one-way GB/s, the consumer copying every record out
//	memcpy-1MiB    one core copying 1 MiB: the bandwidth baseline
//	wake-block     a round trip where both sides park in ring.Block
//	wake-futex     the same with two bare futex words: the kernel's floor
//	idle-block     CPU used by a consumer parked on an empty ring (ring.Block)
//	idle-backoff   the same with ring.Backoff's defaults
func BenchmarkRing(b *testing.B) {
	b.Run("limit", benchLimit)
	b.Run("pingpong-64B", benchPingPong)
	b.Run("pingpong-14KiB", func(b *testing.B) { benchPingPongCopy(b, 14<<10) })
	b.Run("stream-64B", func(b *testing.B) { benchStream(b, 64, 1<<20, 32, false) })
	b.Run("stream-64B-ahead", func(b *testing.B) { benchStream(b, 64, 1<<20, 32, true) })
	b.Run("stream-64B-commit", func(b *testing.B) { benchStream(b, 64, 1<<20, 1, false) })
	b.Run("stream-1MiB", func(b *testing.B) { benchStream(b, 1<<20, 8<<20, 1, false) })
	b.Run("memcpy-1MiB", benchMemcpy)
	b.Run("wake-block", benchWakeBlock)
	b.Run("wake-futex", benchWakeFutex)
	b.Run("idle-block", func(b *testing.B) { benchIdle(b, "block") })
	b.Run("idle-backoff", func(b *testing.B) { benchIdle(b, "backoff") })
}

// Ring areas in a benchmark mapping: ring 0 carries parent -> peer, ring 1
// peer -> parent, both page-aligned after the control block. The peer learns
// the capacity from the ring header (ring.Attach).
func ringOffsets(capacity int) (off0, off1, size, total int) {
	const page = 4096
	size = ring.Size(capacity)
	stride := (size + page - 1) &^ (page - 1)
	return ctlSize, ctlSize + stride, size, 2 * stride
}

// newRings initializes both rings in the parent's mapping before the peer
// starts; the peer attaches to them.
func newRings(b *testing.B, role string, capacity int) (*peer, *ring.Buffer, *ring.Buffer) {
	off0, off1, size, total := ringOffsets(capacity)
	p := startPeerWith(b, role, total, func(mem []byte) error {
		if _, err := ring.Init(mem[off0:off0+size], capacity); err != nil {
			return err
		}
		_, err := ring.Init(mem[off1:off1+size], capacity)
		return err
	})
	out, err := ring.Attach(p.mem[off0 : off0+size])
	if err != nil {
		b.Fatal(err)
	}
	in, err := ring.Attach(p.mem[off1 : off1+size])
	if err != nil {
		b.Fatal(err)
	}
	return p, out, in
}

// attachRings is the peer's side of newRings: it reads ring 0, writes ring 1.
func attachRings(m *mapping) (in, out *ring.Buffer, err error) {
	for capacity := 1 << 10; capacity <= 1<<30; capacity <<= 1 {
		off0, off1, size, total := ringOffsets(capacity)
		if ctlSize+total != len(m.mem) {
			continue
		}
		if in, err = ring.Attach(m.mem[off0 : off0+size]); err != nil {
			return nil, nil, err
		}
		out, err = ring.Attach(m.mem[off1 : off1+size])
		return in, out, err
	}
	return nil, nil, errors.New("mapping size fits no ring capacity")
}

func init() {
	childRoles["echo"] = childEcho
	childRoles["sink"] = childSink
	childRoles["block-echo"] = childBlockEcho
}

// benchPingPong sends a 64-byte record and busy-spins (PAUSE) for the echo.
func benchPingPong(b *testing.B) { pingPong(b, 64, false) }

// benchPingPongCopy sends size-byte records and copies each echo out of the
// ring, as a request-response requester does with its answer (the peer
// copies every record from one ring into the other).
func benchPingPongCopy(b *testing.B, size int) { pingPong(b, size, true) }

func pingPong(b *testing.B, size int, copyOut bool) {
	pin(b)
	capacity := 64 << 10
	if copyOut {
		capacity = 1 << 20 // the size of an RSocket connection's rings
	}
	_, out, in := newRings(b, "echo", capacity)
	msg := make([]byte, size)
	var spin ring.Spin
	got := 0
	var dst []byte
	if copyOut {
		dst = make([]byte, size)
	}
	onRec := func(rec []byte) bool { got += copy(dst, rec) + len(rec); return true }
	latency(b, func() {
		for {
			buf, err := out.Claim(len(msg))
			if err == nil {
				copy(buf, msg)
				out.Commit(len(msg))
				break
			}
			if !errors.Is(err, ring.ErrFull) {
				b.Fatal(err)
			}
			spin.Idle(0)
		}
		for {
			n, err := in.Read(onRec)
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				return
			}
			spin.Idle(0)
		}
	})
	if want := (size + len(dst)) * b.N; got != want {
		b.Fatalf("echoed %d bytes (counting copies), want %d", got, want)
	}
}

// childEcho copies every record of ring 0 into ring 1, busy-spinning.
func childEcho(m *mapping) error {
	in, out, err := attachRings(m)
	if err != nil {
		return err
	}
	var werr error
	echo := func(rec []byte) bool {
		var spin ring.Spin
		for {
			buf, err := out.Claim(len(rec))
			if err == nil {
				copy(buf, rec)
				out.Commit(len(rec))
				return true
			}
			if !errors.Is(err, ring.ErrFull) || stopped(m) {
				werr = err
				return false
			}
			spin.Idle(0)
		}
	}
	var spin ring.Spin
	for spins := 0; ; spins++ {
		n, err := in.Read(echo)
		if err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		if n > 0 {
			spin.Idle(n)
			continue
		}
		if spins&1023 == 0 && stopped(m) {
			return nil
		}
		spin.Idle(0)
	}
}

// benchStream writes size-byte records as fast as the peer consumes them and
// reports records/s and GB/s over the time from the first claim to the peer
// having consumed the last record. It publishes every batch records with one
// atomic store (Stage, then Flush), and whatever is staged
// whenever the ring is full; batch 1 publishes every record (Commit).
func benchStream(b *testing.B, size, capacity, batch int, ahead bool) {
	pin(b)
	p, out, _ := newRings(b, "sink", capacity)
	consumed := p.word(offConsumed)
	src := make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	var spin ring.Spin
	start := time.Now()
	sent := uint64(0)
	for b.Loop() {
		for {
			if ahead {
				out.PrefetchAhead(4096, size)
			}
			buf, err := out.Claim(size)
			if err == nil {
				copy(buf, src)
				out.Stage(size)
				break
			}
			if !errors.Is(err, ring.ErrFull) {
				b.Fatal(err)
			}
			out.Flush()
			spin.Idle(0)
		}
		sent++
		if sent%uint64(batch) == 0 {
			out.Flush()
		}
	}
	out.Flush()
	for atomic.LoadUint64(consumed) < sent {
		spin.Idle(0)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(sent)/el, "msgs/s")
	b.ReportMetric(float64(sent)*float64(size)/el/1e9, "GB/s")
}

// childSink consumes ring 0: it sums the first word of small records and
// copies large ones out, as a real consumer would, and publishes the count.
func childSink(m *mapping) error {
	in, _, err := attachRings(m)
	if err != nil {
		return err
	}
	consumed := m.word(offConsumed)
	dst := make([]byte, in.MaxRecord())
	var sum byte
	onRec := func(rec []byte) bool {
		if len(rec) > 4096 {
			copy(dst, rec)
		} else if len(rec) > 0 {
			sum += rec[0]
		}
		return true
	}
	var spin ring.Spin
	total := uint64(0)
	for spins := 0; ; spins++ {
		n, err := in.Read(onRec)
		if err != nil {
			return err
		}
		if n > 0 {
			total += uint64(n)
			atomic.StoreUint64(consumed, total)
			continue
		}
		if spins&1023 == 0 && stopped(m) {
			_ = sum
			return nil
		}
		spin.Idle(0)
	}
}

// benchWakeBlock is a 64-byte round trip where both sides park on the ring's
// futex words (ring.Block) between messages: the peer is parked when the
// record arrives, and so is this side when the echo comes back.
func benchWakeBlock(b *testing.B) {
	pin(b)
	_, out, in := newRings(b, "block-echo", 64<<10)
	msg := make([]byte, 64)
	wait := ring.Block{Ring: in}
	onRec := func([]byte) bool { return true }
	latency(b, func() {
		if err := out.Write(msg); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := in.Read(onRec)
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				return
			}
			wait.Idle(0)
		}
	})
}

// childBlockEcho echoes ring 0 into ring 1, parking on ring 0 between
// records.
func childBlockEcho(m *mapping) error {
	in, out, err := attachRings(m)
	if err != nil {
		return err
	}
	wait := ring.Block{Ring: in, Timeout: 10 * time.Millisecond}
	var werr error
	echo := func(rec []byte) bool { werr = out.Write(rec); return werr == nil }
	for !stopped(m) {
		n, err := in.Read(echo)
		if err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		wait.Idle(n)
	}
	return nil
}
