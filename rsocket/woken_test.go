package rsocket

import (
	"context"
	"runtime"
	"testing"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// TestWokenReadersCounted: a payload pushed to a waiting reader counts the
// reader in Conn.inWoken until it runs, and the count goes back to zero
// once it has taken the payload, so that driving readers do not go on
// yielding for it. With one P the woken reader cannot run, and take the
// payload, before the count is read.
func TestWokenReadersCounted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := newConn(&sinkTransport{}, false, resolve(0, 0, 0, nil, MaxFrameLength))
	c.setupSeen = true
	s := c.newRequester(context.Background(), wire.TypeRequestStream)
	if err := c.register(s); err != nil {
		t.Fatal(err)
	}
	got := make(chan error)
	go func() {
		_, err := s.recv()
		got <- err
	}()
	for {
		s.mu.Lock()
		w := s.waiting
		s.mu.Unlock()
		if w {
			break
		}
		runtime.Gosched()
	}
	if err := c.onFrame(wire.AppendPayload(nil, s.id, wire.FlagNext, nil, []byte("x"))); err != nil {
		t.Fatal(err)
	}
	if n := c.inWoken.Load(); n != 1 {
		t.Fatalf("after the push: %d readers counted, want 1", n)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := c.inWoken.Load(); n != 0 {
		t.Fatalf("after the reader took its payload: %d counted, want 0", n)
	}
}
