package rsocket_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/rshm/rshm/rsocket"
)

// TestPing: Ping is answered by the peer's KEEPALIVE, concurrent Pings
// share one answer, and a Ping on a closed connection fails.
func TestPing(t *testing.T) {
	p := pipePair(t, rsocket.RejectAll{})
	if _, err := p.Client.Ping(t.Context()); err != nil {
		t.Fatalf("client ping: %v", err)
	}
	if _, err := p.Server.Ping(t.Context()); err != nil {
		t.Fatalf("server ping: %v", err)
	}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			_, err := p.Client.Ping(t.Context())
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent ping: %v", err)
		}
	}
	p.Client.Close()
	if _, err := p.Client.Ping(t.Context()); err == nil {
		t.Fatal("ping on a closed connection succeeded")
	}
}

// TestPingUnanswered: a peer that does not answer leaves Ping waiting
// until its ctx ends.
func TestPingUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		defer st.Close()
		c, err := rsocket.Client(t.Context(), ct, rsocket.ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go st.Receive(func([]byte) error { return nil }) // reads, never answers
		ctx, cancel := context.WithTimeout(t.Context(), rsocket.DefaultKeepaliveInterval/2)
		defer cancel()
		if _, err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ping of a silent peer: %v", err)
		}
	})
}
