package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
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
	node := needNode(t)
	cmd := exec.Command(node, "lease_server.js", "0", "--watch-stdin")
	cmd.Dir = jsDir
	cmd.Stderr = &testWriter{t: t, prefix: "lease_server.js: "}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		<-done
		cmd.Wait()
	})
	s := &jsServer{more: make(chan struct{})}
	ready := make(chan int, 1)
	go func() { // owned by the test: ends when node's stdout closes
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if p, ok := strings.CutPrefix(line, "LISTENING "); ok {
				n, _ := strconv.Atoi(p)
				ready <- n
				continue
			}
			var e event
			if json.Unmarshal([]byte(line), &e) != nil {
				continue
			}
			s.mu.Lock()
			s.events = append(s.events, e)
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s.port = <-ready:
	case <-done:
		t.Fatal("lease_server.js exited before listening")
	case <-time.After(nodeStartTimeout):
		t.Fatal("lease_server.js did not print LISTENING in time")
	}
	return s
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
