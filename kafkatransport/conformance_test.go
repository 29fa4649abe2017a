package kafkatransport

import (
	"context"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// TestConformance runs the engine's interaction-model tests (every model,
// fragmentation, cancellation, keepalive, graceful close) over a Kafka
// connection to an in-process cluster, each in a testing/synctest bubble.
func TestConformance(t *testing.T) {
	rsockettest.RunConformanceSynctest(t, func(t testing.TB) (rsocket.Transport, rsocket.Transport) {
		f := newFake(t)
		ctx := context.Background()
		l, err := Listen(ctx, f.brokers, "conformance", f.config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		ct, err := Dial(ctx, f.brokers, "conformance", f.config())
		if err != nil {
			t.Fatal(err)
		}
		st, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ct, st
	})
}
