package rsocket

import (
	"context"
	"testing"
	"unsafe"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// fragmentedOn delivers a size-byte payload to s in fragments of frag
// bytes and reports whether the assembly's buffer was replaced on the way
// (grown) after the first fragment.
func fragmentedOn(t *testing.T, c *Conn, s *stream, size, frag int) (grew bool) {
	t.Helper()
	data := make([]byte, size)
	var first *byte
	for off := 0; off < size; off += frag {
		fl := wire.FlagNext
		if off+frag < size {
			fl |= wire.FlagFollows
		}
		if err := c.onFrame(wire.AppendPayload(nil, s.id, fl, nil, data[off:min(off+frag, size)])); err != nil {
			t.Fatal(err)
		}
		if fl&wire.FlagFollows == 0 {
			break // complete: the stream's queue took the buffer
		}
		if p := unsafe.SliceData(s.asm.data); first == nil {
			first = p
		} else if p != first {
			grew = true
		}
	}
	return grew
}

// TestAssemblyPresize: a stream's first fragmented message starts with a
// buffer the size of the connection's last one, not a doubling chain of
// buffers; buffers given out so and not yet filled stay within half
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
	if !fragmentedOn(t, c, newStream(), size, frag) {
		t.Fatal("the first message's buffer never grew: the test shows nothing")
	}
	if c.asmHint != size || c.partial.presized != 0 {
		t.Fatalf("after a message: hint %d, presized %d; want %d, 0", c.asmHint, c.partial.presized, size)
	}
	// A new stream, so that its buffer is new too: one buffer throughout.
	if fragmentedOn(t, c, newStream(), size, frag) {
		t.Fatal("a second stream's message grew its buffer; want it presized")
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
