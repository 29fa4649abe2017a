package handshake

import (
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// TestConformance runs the engine's interaction-model table over the
// shared-memory transport.
func TestConformance(t *testing.T) {
	rsockettest.RunConformance(t, func(t testing.TB) (rsocket.Transport, rsocket.Transport) {
		cfg := testConfig(t)
		l := listen(t, cfg)
		ct, k, err := Dial(ctxT(t), l.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		a, err := l.Accept(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if k != KindSHM || a.Kind != KindSHM {
			t.Fatalf("kinds %v, %v; want shm", k, a.Kind)
		}
		t.Cleanup(func() {
			ct.Close()
			a.Transport.Close()
		})
		return ct, a.Transport
	})
}
