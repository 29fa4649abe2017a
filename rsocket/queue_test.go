package rsocket

import (
	"fmt"
	"testing"
)

// TestItemQueue pushes and pops in uneven runs, through wrap-around and
// growth, against a FIFO model, and checks that the payload last popped is
// left intact by every push until the next pop (the view Recv returned).
func TestItemQueue(t *testing.T) {
	var q itemQueue
	var model []string
	var held *item
	heldWant := ""
	next := 0
	for round, run := range []struct{ push, pop int }{
		{1, 1}, {3, 2}, {4, 4}, {7, 3}, {9, 12}, {2, 1}, {30, 5}, {1, 29}, {64, 64},
	} {
		for range run.push {
			v := fmt.Sprint("v", next)
			next++
			q.push(nil, []byte(v))
			model = append(model, v)
			if held != nil && string(held.data) != heldWant {
				t.Fatalf("round %d: push overwrote the held payload: %q, want %q", round, held.data, heldWant)
			}
		}
		for range run.pop {
			if q.n != len(model) {
				t.Fatalf("round %d: %d queued, want %d", round, q.n, len(model))
			}
			it := q.pop()
			if got := string(it.payload().Data); got != model[0] {
				t.Fatalf("round %d: popped %q, want %q", round, got, model[0])
			}
			held, heldWant, model = it, model[0], model[1:]
		}
	}
	if l := len(q.items); l&(l-1) != 0 {
		t.Errorf("queue length %d is not a power of two", l)
	}
	q.reset()
	if q.n != 0 || q.held {
		t.Errorf("after reset: %d queued, held %v", q.n, q.held)
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
