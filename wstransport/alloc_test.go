package wstransport

import (
	"context"
	"testing"

	"github.com/rshm/rshm/rsocket"
)

// The transport allocates nothing per frame it sends; the library
// allocates a reader per message received (docs/design.md, WebSocket).
// This pins that budget, one frame sent and received per run.
func TestAllocsPerFrame(t *testing.T) {
	c, s := pair(t, Options{}, Options{})
	for _, tc := range []struct {
		name     string
		from, to rsocket.Transport
		budget   float64
	}{
		{"server-to-client", s, c, 1}, // the client's reader
		{"client-to-server", c, s, 1}, // the server's reader
	} {
		got := make(chan struct{})
		go tc.to.Receive(func([]byte) error { got <- struct{}{}; return nil })
		ctx := context.Background()
		send := func() {
			b, err := tc.from.Claim(ctx, 64)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.from.Commit(len(b)); err != nil {
				t.Fatal(err)
			}
			<-got
		}
		send() // warm up: buffers sized
		n := testing.AllocsPerRun(200, send)
		t.Logf("%s: %.2f allocations per frame", tc.name, n)
		if n > tc.budget {
			t.Errorf("%s: %.1f allocations per frame; want at most %v", tc.name, n, tc.budget)
		}
	}
}
