package interop

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// startLeaseServer starts testdata/js/lease_server.js (rsocket-js 0.0.27
// with leasing) on a free port; it stops when the test ends.
func startLeaseServer(t *testing.T) *jsServer {
	t.Helper()
	return startJSScript(t, "lease_server.js")
}

// leaseEcho echoes request-responses and counts them.
type leaseEcho struct {
	rsocket.RejectAll
	n atomic.Int32
}

func (h *leaseEcho) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	h.n.Add(1)
	return p, nil
}

// TestLeaseJS: an rshm client with lease against an rsocket-js 0.0.27
// server with lease, in both directions. rshm honours the 3 requests the JS
// server grants (the 4th waits); the JS server honours the 1 request rshm
// grants (its 2nd fails locally in rsocket-js) and sees rshm's LEASE as sent.
func TestLeaseJS(t *testing.T) {
	srv := startLeaseServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	h := &leaseEcho{}
	c, err := rsocket.DialTCP(ctx, srv.addr(), rsocket.ClientConfig{
		Handler: h,
		Lease: &rsocket.LeaseConfig{
			WaitForLease: true,
			Strategy:     rsocket.FixedLease{Requests: 1, TTL: time.Minute},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		data := "go-" + strconv.Itoa(i)
		got, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte(data)})
		if err != nil || string(got.Data) != data {
			t.Fatalf("request %d: %q %v", i, got.Data, err)
		}
	}
	short, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer scancel()
	if _, err := c.RequestResponse(short, rsocket.Payload{Data: []byte("over")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("4th request: got %v, want a wait for a lease", err)
	}

	// The reverse direction: the JS server under rshm's lease.
	if e := srv.waitEvent(ctx, t, 0, "lease", isEvent("lease")); e.num("ttl") != 60000 || e.num("n") != 1 {
		t.Errorf("JS saw LEASE %v, want ttl 60000 n 1", e)
	}
	if e := srv.waitEvent(ctx, t, 0, "serverRR 0", isEvent("serverRR", "index", "0")); e.str("data") != "from-js-0" {
		t.Errorf("JS request under lease: %v", e)
	}
	if e := srv.waitEvent(ctx, t, 0, "serverRRError 1", isEvent("serverRRError", "index", "1")); !strings.Contains(e.str("message"), "lease") {
		t.Errorf("JS over-lease request: %v", e)
	}
	if n := h.n.Load(); n != 1 {
		t.Errorf("rshm client served %d requests, want 1", n)
	}
	for _, e := range srv.eventsSince(0) {
		if e.str("event") == "rr" && e.str("data") == "over" {
			t.Errorf("JS server received the over-lease request")
		}
	}
}
