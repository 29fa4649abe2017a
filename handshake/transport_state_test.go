package handshake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// TestClaimContention: many goroutines send at once through a ring small
// enough to fill, so that one claim holder waits for space while the others
// wait for the claim; some give up on an expired ctx. Every request that
// was not given up is answered with its own payload, and the claim keeps
// working afterwards.
func TestClaimContention(t *testing.T) {
	cfg := testConfig(t)
	cfg.RingSize = 16 << 10
	l := listen(t, cfg)
	r := connect(t, l, cfg, echoServer(nil))
	if r.ck != KindSHM {
		t.Fatalf("transport %v; want shm", r.ck)
	}
	const senders, rounds = 16, 40
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				data := bytes.Repeat([]byte{byte(g)}, 1000+37*i)
				ctx, cancel := context.WithTimeout(ctxT(t), 5*time.Second)
				if g%4 == 3 && i%5 == 0 {
					// Already expired: it must fail with the ctx error,
					// whether waiting for the claim or for an answer.
					cancel()
				}
				p, err := r.client.RequestResponse(ctx, rsocket.Payload{Data: data})
				expired := ctx.Err() != nil
				cancel()
				switch {
				case err != nil && expired && errors.Is(err, context.Canceled):
				case err != nil:
					errc <- fmt.Errorf("sender %d round %d: %v", g, i, err)
					return
				case !bytes.Equal(p.Data, data):
					errc <- fmt.Errorf("sender %d round %d: got %d bytes, want its own %d", g, i, len(p.Data), len(data))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if p, err := r.client.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("after")}); err != nil || string(p.Data) != "after" {
		t.Fatalf("after the contention: %q, %v", p.Data, err)
	}
	if s := r.ct.(*Transport).state.Load(); s&(claimBit|waiterMask) != 0 || s&usersMask == 0 {
		t.Errorf("state word %#x after the senders finished: want no claim, no waiter, the receive side's user", s)
	}
}
