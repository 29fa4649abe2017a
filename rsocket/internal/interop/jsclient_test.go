package interop

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/rshm/rshm/internal/echo"
	"github.com/rshm/rshm/rsocket"
)

// testdata/js/client.js (rsocket-js 0.0.27) against an rshm server running
// the responder of `rshm serve` (echo.Responder).

// recorder collects the events of a echo.Responder.
type recorder struct {
	mu     sync.Mutex
	events []echo.Event
	more   chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{})} }

func (r *recorder) add(e echo.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	close(r.more)
	r.more = make(chan struct{})
}

func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// wait returns the first event after mark that matches.
func (r *recorder) wait(ctx context.Context, t *testing.T, mark int, what string, match func(echo.Event) bool) echo.Event {
	t.Helper()
	for {
		r.mu.Lock()
		for _, e := range r.events[mark:] {
			if match(e) {
				r.mu.Unlock()
				return e
			}
		}
		more, seen := r.more, append([]echo.Event(nil), r.events[mark:]...)
		r.mu.Unlock()
		select {
		case <-more:
		case <-ctx.Done():
			t.Fatalf("rshm server never saw %s; saw %+v", what, seen)
		}
	}
}

func kind(k string, kv ...string) func(echo.Event) bool {
	return func(e echo.Event) bool {
		if e.Kind != k {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			var got string
			switch kv[i] {
			case "data":
				got = string(e.Data)
			case "metadata":
				got = string(e.Metadata)
			case "model":
				got = e.Model
			case "sent":
				got = strconv.Itoa(e.Sent)
			}
			if got != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// startGoServer runs an rshm echo server on a free loopback port until the
// test ends and returns its port.
func startGoServer(t *testing.T, rec *recorder, mtu int) int {
	t.Helper()
	h := &echo.Responder{Observe: rec.add}
	return serveTCP(t, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
		MTU:      mtu,
	})
}

// serveTCP serves RSocket over TCP with cfg on a free loopback port until
// the test ends and returns the port.
func serveTCP(t *testing.T, cfg rsocket.ServerConfig) int {
	t.Helper()
	ln, err := rsocket.ListenTCP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // owned by the test: ends when ctx is cancelled in Cleanup
		defer close(done)
		ln.Serve(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestJSClientGoServer(t *testing.T) {
	needNode(t)
	rec := newRecorder()
	port := startGoServer(t, rec, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*scenarioTimeout)
	defer cancel()

	// Each case runs one client.js scenario, which checks what comes back
	// and exits non-zero otherwise; then we check what the rshm side saw.
	tests := []struct {
		scenario string
		args     []string
		check    func(t *testing.T, mark int, events []event)
	}{
		{"rr", nil, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "rr", kind("rr", "data", "hello", "metadata", "meta"))
		}},
		{"fnf", nil, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "fnf", kind("fnf", "data", "fire", "metadata", "fnf-meta"))
		}},
		// With the M flag rsocket-js leaves clear set by the harness; see
		// TestJSMetadataPushWithoutM for the frame rsocket-js really sends.
		{"metadataPush", []string{"--fix-metadata-push"}, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "metadata push", kind("metadataPush", "metadata", "pushed"))
		}},
		// client.js requests 3, checks that exactly 3 arrive and nothing
		// more for 300 ms, then requests 2 more: rshm's StreamWriter must
		// keep to request(n).
		{"stream", nil, func(t *testing.T, m int, events []event) {
			rec.wait(ctx, t, m, "stream", kind("stream", "data", "count:5"))
			rec.wait(ctx, t, m, "stream complete", kind("complete", "model", "stream", "sent", "5"))
			if e := findEvent(events, isEvent("batch", "n", "3")); e == nil || len(e["got"].([]any)) != 3 {
				t.Errorf("first batch = %v; want 3 items", e)
			}
		}},
		{"channel", nil, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "channel", kind("channel", "data", "a"))
			rec.wait(ctx, t, m, "b with metadata", kind("channelNext", "data", "b", "metadata", "mb"))
			rec.wait(ctx, t, m, "channel complete", kind("complete", "model", "channel", "sent", "3"))
		}},
		{"error", nil, func(t *testing.T, m int, events []event) {
			rec.wait(ctx, t, m, "rr error", kind("rr", "data", "error"))
			if e := findEvent(events, isEvent("error")); e == nil || e.num("code") != 0x201 || e.str("message") != requestedErr {
				t.Errorf("client.js saw %v; want code 0x201 message %q", e, requestedErr)
			}
		}},
		// client.js requests 5 of a million and cancels: the handler's ctx
		// ends while it waits for credit, after exactly 5 items.
		{"cancel", nil, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "stream cancel", kind("cancel", "model", "stream", "sent", "5"))
		}},
		// client.js closes the connection unless rshm answers its
		// KEEPALIVEs (every 100 ms, max lifetime 800 ms, 1.5 s idle).
		{"keepalive", nil, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "rr after idle", kind("rr", "data", "still-alive"))
		}},
		// rsocket-js sends 15 KiB frames unfragmented; rshm answers the same.
		{"large", nil, func(t *testing.T, m int, _ []event) {
			data, md := pattern(largeData, 1), pattern(largeMD, 2)
			e := rec.wait(ctx, t, m, "large rr", kind("rr"))
			if shortSHA(e.Data) != shortSHA(data) || shortSHA(e.Metadata) != shortSHA(md) {
				t.Errorf("rshm received %d data + %d metadata bytes, not the pattern", len(e.Data), len(e.Metadata))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			m := rec.mark()
			events, err := runJSClient(ctx, t, port, tt.scenario, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if findEvent(events, isEvent("done")) == nil {
				t.Fatalf("client.js did not finish: %v", events)
			}
			tt.check(t, m, events)
		})
	}
}

// TestJSClientGoServerFragmented: both sides fragment at 1 KiB: rshm
// reassembles what client.js (with the harness fragmenter) sends, and
// rsocket-js reassembles rshm's fragments.
func TestJSClientGoServerFragmented(t *testing.T) {
	needNode(t)
	rec := newRecorder()
	port := startGoServer(t, rec, testMTU)
	tap := startTap(t, "127.0.0.1:"+strconv.Itoa(port))
	tapPort := tap.ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	events, err := runJSClient(ctx, t, tapPort, "large", "--mtu", strconv.Itoa(testMTU))
	if err != nil {
		t.Fatal(err)
	}
	if findEvent(events, isEvent("done")) == nil {
		t.Fatalf("client.js did not finish: %v", events)
	}
	e := rec.wait(ctx, t, 0, "large rr", kind("rr"))
	if len(e.Data) != largeData || len(e.Metadata) != largeMD {
		t.Errorf("rshm reassembled %d data + %d metadata bytes; want %d + %d", len(e.Data), len(e.Metadata), largeData, largeMD)
	}
	st := tap.snapshot()
	wantFragmented(t, "rsocket-js to rshm", st[toServer])
	wantFragmented(t, "rshm to rsocket-js", st[toClient])
}

// TestJSMetadataPushWithoutM: rsocket-js 0.0.27 sends METADATA_PUSH with the
// M flag clear (00000c 00000000 3000 "pushed"), where the spec says metadata
// is always present. Java and JS both read such a frame by ignoring the flag;
// an rshm server must accept it too, or no rsocket-js client can push
// metadata to it.
func TestJSMetadataPushWithoutM(t *testing.T) {
	needNode(t)
	rec := newRecorder()
	port := startGoServer(t, rec, 0)
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	if _, err := runJSClient(ctx, t, port, "metadataPush"); err != nil {
		t.Fatal(err)
	}
	rec.wait(ctx, t, 0, "metadata push", kind("metadataPush", "metadata", "pushed"))
}

// TestJSClientJSServer checks the harness itself: every client.js scenario
// passes against server.js (with the metadata fixes), so a failure in the
// tests above is rshm's, not the harness's.
func TestJSClientJSServer(t *testing.T) {
	srv := startJSServer(t, "--fix-metadata")
	ctx, cancel := context.WithTimeout(context.Background(), 2*scenarioTimeout)
	defer cancel()
	for _, sc := range []string{"rr", "fnf", "metadataPush", "stream", "channel", "error", "cancel", "keepalive", "large"} {
		t.Run(sc, func(t *testing.T) {
			events, err := runJSClient(ctx, t, srv.port, sc, "--mtu", strconv.Itoa(testMTU))
			if err != nil {
				t.Fatal(err)
			}
			if findEvent(events, isEvent("done")) == nil {
				t.Fatalf("client.js did not finish: %v", events)
			}
		})
	}
}
