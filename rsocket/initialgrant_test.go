package rsocket_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
)

// TestInitialGrantCounted: the request(n) a REQUEST_STREAM grants is what
// the stream counts as granted while another stream is open (the window is
// shared among the open streams, and the count changes as the new one
// registers). The peer sends all it was granted, in payloads large enough
// that the window shrinks below what a stream that counted more than it
// granted would think outstanding: such a stream never grants again.
func TestInitialGrantCounted(t *testing.T) {
	r, c := rawClient(t, rsocket.ClientConfig{})
	ctx := context.Background()
	if _, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	r.next(wire.TypeRequestStream)
	s, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	req := r.next(wire.TypeRequestStream)
	big := make([]byte, 100<<10)
	for range req.InitialN {
		r.send(wire.AppendPayload(nil, req.StreamID, wire.FlagNext, nil, big))
	}
	for i := range req.InitialN {
		if _, err := s.Recv(); err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
	}
	// Every credit is used and every payload read: the stream grants more.
	if f := r.next(wire.TypeRequestN); f == nil || f.StreamID != req.StreamID || f.N == 0 {
		t.Fatalf("got %+v, want REQUEST_N on stream %d", f, req.StreamID)
	}
}

// TestChannelsOpenedTogetherAllFlow: 64 channels opened at once each make
// 16 round trips of 16 KiB payloads with an echoing server. A responder
// whose first REQUEST_N granted less than it counted (the window was
// computed again while other channels opened) left its requester without
// credit for good: such a channel stops at its first credits and the
// test's deadline ends it.
func TestChannelsOpenedTogetherAllFlow(t *testing.T) {
	c := connectPipe(rsocket.ClientConfig{}, rsocket.ServerConfig{Acceptor: echoAcceptor})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			p := rsocket.Payload{Data: make([]byte, 16<<10)}
			ch, err := c.RequestChannel(ctx, p)
			if err != nil {
				t.Error(err)
				return
			}
			defer ch.Close()
			for k := range 16 {
				if _, err := ch.Recv(); err != nil {
					t.Errorf("channel %d, round trip %d: %v", i, k, err)
					return
				}
				if err := ch.Send(ctx, p); err != nil {
					t.Errorf("channel %d, round trip %d: %v", i, k, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
