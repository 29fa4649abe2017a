package rsocket

import (
	"context"
	"runtime"
	"testing"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// fragmentedOn delivers a size-byte payload to s in fragments of frag
// bytes and returns how many allocations that took.
func fragmentedOn(t *testing.T, c *Conn, s *stream, size, frag int) uint64 {
	t.Helper()
	data := make([]byte, size)
	var frames [][]byte
	for off := 0; off < size; off += frag {
		fl := wire.FlagNext
		if off+frag < size {
			fl |= wire.FlagFollows
		}
		frames = append(frames, wire.AppendPayload(nil, s.id, fl, nil, data[off:min(off+frag, size)]))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, f := range frames {
		if err := c.onFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}

// TestAssemblyPresize: a stream's first fragmented message starts with a
// buffer the size of the connection's last one, allocated once, not a
// doubling chain; buffers given out so and not yet filled stay within half
// the reassembly budget.
func TestAssemblyPresize(t *testing.T) {
	const size, frag = 1 << 20, 64 << 10
	c := newConn(&sinkTransport{}, false, resolve(0, 0, 0, nil, MaxFrameLength))
	c.setupSeen = true
	newStream := func() *stream {
		s := c.newRequester(context.Background(), wire.TypeRequestStream)
		if err := c.register(s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := fragmentedOn(t, c, newStream(), size, frag)
	if c.asmHint != size || c.partial.presized != 0 {
		t.Fatalf("after a message: hint %d, presized %d; want %d, 0", c.asmHint, c.partial.presized, size)
	}
	// A new stream, so that its buffer is new too: two allocations, the
	// buffer and the stream's item queue.
	if n := fragmentedOn(t, c, newStream(), size, frag); n > 2 {
		t.Fatalf("a second stream's message took %d allocations (the first %d), want 2", n, first)
	}
	if first <= 2 {
		t.Fatalf("the first message took %d allocations: the test does not show a chain", first)
	}

	// Within half the budget: the first partial message is presized, the
	// next (its reservation would pass half) grows as it goes.
	c.set.maxAsm = 3 * size
	a, b := newStream(), newStream()
	for _, s := range []*stream{a, b} {
		f := wire.AppendPayload(nil, s.id, wire.FlagNext|wire.FlagFollows, nil, make([]byte, frag))
		if err := c.onFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if cap(a.asm.data) < size || cap(b.asm.data) >= size || c.partial.presized != size {
		t.Fatalf("capacities %d and %d, presized %d; want the first presized to %d only", cap(a.asm.data), cap(b.asm.data), c.partial.presized, size)
	}
	c.drop(a)
	if c.partial.presized != 0 {
		t.Fatalf("after the presized message was dropped: presized %d, want 0", c.partial.presized)
	}
}
