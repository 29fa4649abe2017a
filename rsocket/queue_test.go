package rsocket

import (
	"fmt"
	"testing"
)

// TestItemQueue pushes and takes in uneven runs, through wrap-around and
// growth, against a FIFO model, as recv does: the reader takes a batch,
// reads it item by item, and before the next take gives back all but the
// last item read. Pushes must leave the batch and that last item intact.
// Every other push adopts a reassembly buffer, as a fragmented message's
// does, and then scribbles over the buffer it got back, as the next
// reassembly would: that buffer must be nobody's.
func TestItemQueue(t *testing.T) {
	var q itemQueue
	var model []string
	var kept []*item // the reader's batch and the item it read last
	var keptWant []string
	var asm []byte // the reassembly buffer
	next := 0
	push := func(v string) {
		if next%2 == 0 {
			q.push(nil, []byte(v))
			return
		}
		asm = append(asm[:0], v...)
		q.pushAdopt(nil, &asm)
		if len(asm) != 0 {
			t.Fatalf("pushAdopt gave back %d bytes, want an empty buffer", len(asm))
		}
		full := asm[:cap(asm)]
		for i := range full {
			full[i] = 'X'
		}
	}
	check := func(round int) {
		for i, it := range kept {
			if string(it.p.Data) != keptWant[i] {
				t.Fatalf("round %d: push overwrote a slot the reader uses: %q, want %q", round, it.p.Data, keptWant[i])
			}
		}
	}
	for round, run := range []struct{ push, take, batch int }{
		{1, 1, 32}, {3, 2, 1}, {4, 4, 3}, {7, 3, 32}, {9, 12, 5}, {2, 1, 32}, {30, 5, 2}, {1, 29, 32}, {64, 64, 7}, {100, 60, 32},
	} {
		for range run.push {
			v := fmt.Sprint("v", next)
			push(v)
			next++
			model = append(model, v)
			check(round)
		}
		for taken := 0; taken < run.take; {
			if q.n != len(model) {
				t.Fatalf("round %d: %d queued, want %d", round, q.n, len(model))
			}
			q.keepLast()
			items, start, k := q.take(run.batch)
			kept, keptWant = kept[:0], keptWant[:0]
			for i := range k {
				it := &items[(start+i)&(len(items)-1)]
				if got := string(it.p.Data); got != model[0] {
					t.Fatalf("round %d: read %q, want %q", round, got, model[0])
				}
				kept, keptWant, model = append(kept, it), append(keptWant, model[0]), model[1:]
			}
			taken += k
			// Pushes between reads of the batch.
			v := fmt.Sprint("v", next)
			push(v)
			next++
			model = append(model, v)
			check(round)
		}
	}
	if l := len(q.items); l&(l-1) != 0 {
		t.Errorf("queue length %d is not a power of two", l)
	}
	q.reset()
	if q.n != 0 || q.taken != 0 {
		t.Errorf("after reset: %d queued, %d taken", q.n, q.taken)
	}
}

// TestLookupAfterChange: the receive side's cached lookup never returns a
// stream that was removed or replaced.
func TestLookupAfterChange(t *testing.T) {
	c := newConn(&sinkTransport{}, true, resolve(0, 0, 0, nil, MaxFrameLength))
	a, b := newStream(c, 0), newStream(c, 0)
	if err := c.register(a); err != nil {
		t.Fatal(err)
	}
	id := a.id
	if s := c.lookup(id); s != a {
		t.Fatalf("lookup = %p, want the registered stream %p", s, a)
	}
	if !c.hold(id, a, b) {
		t.Fatal("hold failed")
	}
	if s := c.lookup(id); s != b {
		t.Fatalf("after replacement lookup = %p, want %p", s, b)
	}
	c.unregister(id, b)
	if s := c.lookup(id); s != nil {
		t.Fatalf("after unregister lookup = %p, want nil", s)
	}
	if err := c.register(a); err != nil {
		t.Fatal(err)
	}
	if s := c.lookup(a.id); s != a {
		t.Fatalf("lookup = %p, want %p", s, a)
	}
	c.fail(ErrClosed)
	if s := c.lookup(a.id); s != nil {
		t.Fatalf("after close lookup = %p, want nil", s)
	}
}
