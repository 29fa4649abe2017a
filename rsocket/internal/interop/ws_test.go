package interop

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rshm/rshm/internal/echo"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/wstransport"
)

// rsocket-js 0.0.27's WebSocket transport (rsocket-websocket-client and
// rsocket-websocket-server, on node's ws package) against wstransport, both
// ways: testdata/js/ws_client.js and ws_server.js run the scenarios of
// client.js and server.js over WebSocket (see testdata/js/ws.js).

// wsPath is where the peers serve RSocket over WebSocket (WS_PATH in ws.js).
const wsPath = "/rsocket"

// needWSNode is needNode, and the WebSocket packages installed too.
func needWSNode(t *testing.T) {
	t.Helper()
	needNode(t)
	for _, m := range []string{"rsocket-websocket-client", "rsocket-websocket-server", "ws"} {
		if _, err := os.Stat(filepath.Join(jsDir, "node_modules", m, "package.json")); err != nil {
			t.Skipf("interop: %s/node_modules/%s missing; run `npm ci` there (make test does)", jsDir, m)
		}
	}
}

// serveWS serves RSocket over WebSocket at wsPath on a loopback port until
// the test ends, each transport passed through wrap (nil: as it is), and
// returns the server.
func serveWS(t *testing.T, cfg rsocket.ServerConfig, wrap func(rsocket.Transport) rsocket.Transport) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(wsPath, wstransport.Handler(func(ctx context.Context, tr rsocket.Transport) {
		if wrap != nil {
			tr = wrap(tr)
		}
		_, _ = rsocket.Server(ctx, tr, cfg)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func echoServer(rec *recorder, mtu int) rsocket.ServerConfig {
	h := &echo.Responder{Observe: rec.add}
	return rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
		MTU:      mtu,
	}
}

// dialWS connects an rshm client to ws://addr/rsocket, its transport passed
// through wrap (nil: as it is).
func dialWS(ctx context.Context, t *testing.T, addr string, cfg rsocket.ClientConfig, wrap func(rsocket.Transport) rsocket.Transport) *rsocket.Conn {
	t.Helper()
	tr, err := wstransport.Dial(ctx, "ws://"+addr+wsPath, wstransport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		tr = wrap(tr)
	}
	conn, err := rsocket.Client(ctx, tr, cfg)
	if err != nil {
		tr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// spyStats sums up the frames a Spy saw in one direction (out: sent by the
// side it wraps) as the TCP tap does.
func spyStats(s *rsockettest.Spy, out bool) tapStats {
	var st tapStats
	for _, r := range s.Log() {
		if r.Out != out {
			continue
		}
		st.Frames++
		st.MaxFrame = max(st.MaxFrame, r.Len)
		if r.Flags&wire.FlagFollows != 0 {
			st.Follows++
		}
	}
	return st
}

// spyOn returns a wrap function that puts a Spy around the transport and
// hands the Spy over.
func spyOn(spies chan<- *rsockettest.Spy) func(rsocket.Transport) rsocket.Transport {
	return func(tr rsocket.Transport) rsocket.Transport {
		s := rsockettest.NewSpy(tr)
		spies <- s
		return s
	}
}

// TestWSJSClientGoServer: rsocket-js's WebSocket client runs every
// client.js scenario against an rshm server behind wstransport.Handler.
func TestWSJSClientGoServer(t *testing.T) {
	needWSNode(t)
	rec := newRecorder()
	srv := serveWS(t, echoServer(rec, 0), nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 2*scenarioTimeout)
	defer cancel()
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
		{"metadataPush", []string{"--fix-metadata-push"}, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "metadata push", kind("metadataPush", "metadata", "pushed"))
		}},
		// request(3), nothing more for 300 ms, request(2): rshm keeps to
		// request(n) over WebSocket too.
		{"stream", nil, func(t *testing.T, m int, events []event) {
			rec.wait(ctx, t, m, "stream complete", kind("complete", "model", "stream", "sent", "5"))
			if e := findEvent(events, isEvent("batch", "n", "3")); e == nil || len(e["got"].([]any)) != 3 {
				t.Errorf("first batch = %v; want 3 items", e)
			}
		}},
		{"channel", nil, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "b with metadata", kind("channelNext", "data", "b", "metadata", "mb"))
			rec.wait(ctx, t, m, "channel complete", kind("complete", "model", "channel", "sent", "3"))
		}},
		{"error", nil, func(t *testing.T, m int, events []event) {
			if e := findEvent(events, isEvent("error")); e == nil || e.num("code") != 0x201 || e.str("message") != requestedErr {
				t.Errorf("ws_client.js saw %v; want code 0x201 message %q", e, requestedErr)
			}
		}},
		{"cancel", nil, func(t *testing.T, m int, _ []event) {
			rec.wait(ctx, t, m, "stream cancel", kind("cancel", "model", "stream", "sent", "5"))
		}},
		{"large", nil, func(t *testing.T, m int, _ []event) {
			e := rec.wait(ctx, t, m, "large rr", kind("rr"))
			if shortSHA(e.Data) != shortSHA(pattern(largeData, 1)) || shortSHA(e.Metadata) != shortSHA(pattern(largeMD, 2)) {
				t.Errorf("rshm received %d data + %d metadata bytes, not the pattern", len(e.Data), len(e.Metadata))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			m := rec.mark()
			events, err := runJSScript(ctx, t, "ws_client.js", port, tt.scenario, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if findEvent(events, isEvent("done")) == nil {
				t.Fatalf("ws_client.js did not finish: %v", events)
			}
			tt.check(t, m, events)
		})
	}
}

// TestWSJSClientGoServerFragmented: both sides fragment at 1 KiB over
// WebSocket: rshm reassembles what rsocket-js sends (with the harness
// fragmenter) and rsocket-js what rshm sends.
func TestWSJSClientGoServerFragmented(t *testing.T) {
	needWSNode(t)
	rec := newRecorder()
	spies := make(chan *rsockettest.Spy, 1)
	srv := serveWS(t, echoServer(rec, testMTU), spyOn(spies))
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	m := rec.mark()
	events, err := runJSScript(ctx, t, "ws_client.js", port, "large", "--mtu", strconv.Itoa(testMTU))
	if err != nil {
		t.Fatal(err)
	}
	if findEvent(events, isEvent("done")) == nil {
		t.Fatalf("ws_client.js did not finish: %v", events)
	}
	e := rec.wait(ctx, t, m, "large rr", kind("rr"))
	if shortSHA(e.Data) != shortSHA(pattern(largeData, 1)) || shortSHA(e.Metadata) != shortSHA(pattern(largeMD, 2)) {
		t.Errorf("rshm reassembled %d data + %d metadata bytes, not the pattern", len(e.Data), len(e.Metadata))
	}
	spy := <-spies
	wantFragmented(t, "rsocket-js to rshm", spyStats(spy, false))
	wantFragmented(t, "rshm to rsocket-js", spyStats(spy, true))
}

// TestWSGoClientJSServer: an rshm client over wstransport.Dial against
// rsocket-js's WebSocket server (ws_server.js), every interaction model.
func TestWSGoClientJSServer(t *testing.T) {
	needWSNode(t)
	srv := startJSScript(t, "ws_server.js", "--fix-metadata")
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	conn := dialWS(ctx, t, srv.addr(), rsocket.ClientConfig{SetupPayload: rsocket.Payload{Data: []byte("go-client")}}, nil)
	srv.waitEvent(ctx, t, 0, "setup", isEvent("setup", "data", "go-client"))

	t.Run("RequestResponse", func(t *testing.T) {
		p, err := conn.RequestResponse(ctx, rsocket.Payload{Data: []byte("hello"), Metadata: []byte("meta")})
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Data) != "hello" || string(p.Metadata) != "meta" {
			t.Errorf("response = %q/%q; want hello/meta", p.Data, p.Metadata)
		}
	})
	t.Run("FireAndForget", func(t *testing.T) {
		m := srv.mark()
		if err := conn.FireAndForget(ctx, rsocket.Payload{Data: []byte("fire"), Metadata: []byte("fnf-meta")}); err != nil {
			t.Fatal(err)
		}
		srv.waitEvent(ctx, t, m, "fnf", isEvent("fnf", "data", "fire", "metadata", "fnf-meta"))
	})
	t.Run("MetadataPush", func(t *testing.T) {
		m := srv.mark()
		if err := conn.MetadataPush(ctx, []byte("pushed")); err != nil {
			t.Fatal(err)
		}
		srv.waitEvent(ctx, t, m, "metadataPush", isEvent("metadataPush", "metadata", "pushed"))
	})
	t.Run("RequestStreamRequestN", func(t *testing.T) {
		// A window of 2: rshm asks for 2 and replenishes; server.js sends
		// exactly what is requested and logs each request(n).
		const window, count = 2, 7
		c := dialWS(ctx, t, srv.addr(), rsocket.ClientConfig{Prefetch: window}, nil)
		m := srv.mark()
		st, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("count:" + strconv.Itoa(count))})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for p, err := range st.All() {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(p.Data))
		}
		if len(got) != count {
			t.Fatalf("stream = %q; want 0..%d", got, count-1)
		}
		for i := range count {
			if got[i] != strconv.Itoa(i) {
				t.Fatalf("stream = %q; want 0..%d", got, count-1)
			}
		}
		first := srv.waitEvent(ctx, t, m, "requestN", isEvent("requestN", "model", "stream"))
		if n := first.num("n"); n != window {
			t.Errorf("first request(n) = %d; want %d", n, window)
		}
	})
	t.Run("RequestChannel", func(t *testing.T) {
		ch, err := conn.RequestChannel(ctx, rsocket.Payload{Data: []byte("a")})
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.Send(ctx, rsocket.Payload{Data: []byte("b"), Metadata: []byte("mb")}); err != nil {
			t.Fatal(err)
		}
		if err := ch.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for p, err := range ch.All() {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(p.Data)+"/"+string(p.Metadata))
		}
		if len(got) != 2 || got[0] != "a/" || got[1] != "b/mb" {
			t.Errorf("channel echoed %q; want [a/ b/mb]", got)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		_, err := conn.RequestResponse(ctx, rsocket.Payload{Data: []byte("error")})
		wantAppError(t, err)
		st, err := conn.RequestStream(ctx, rsocket.Payload{Data: []byte("error")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Recv()
		wantAppError(t, err)
	})
	t.Run("CancelStream", func(t *testing.T) {
		c := dialWS(ctx, t, srv.addr(), rsocket.ClientConfig{Prefetch: 4}, nil)
		m := srv.mark()
		st, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("count:1000000")})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if p, err := st.Recv(); err != nil || string(p.Data) != strconv.Itoa(i) {
				t.Fatalf("item %d = %q, %v", i, p.Data, err)
			}
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		srv.waitEvent(ctx, t, m, "cancel", isEvent("cancel", "model", "stream"))
	})
	t.Run("LargeFragmentedByRSHM", func(t *testing.T) {
		// rshm fragments at 1 KiB; rsocket-js reassembles and answers with
		// unfragmented frames (it cannot fragment).
		spies := make(chan *rsockettest.Spy, 1)
		c := dialWS(ctx, t, srv.addr(), rsocket.ClientConfig{MTU: testMTU}, spyOn(spies))
		largeRoundTrip(ctx, t, srv, c)
		spy := <-spies
		wantFragmented(t, "rshm to rsocket-js", spyStats(spy, true))
		if st := spyStats(spy, false); st.MaxFrame <= largeData {
			t.Errorf("rsocket-js to rshm: largest frame %d bytes; want one unfragmented frame > %d", st.MaxFrame, largeData)
		}
	})
}

// TestWSGoClientJSServerFragmented: both sides fragment at 1 KiB over
// WebSocket (ws_server.js with the harness fragmenter).
func TestWSGoClientJSServerFragmented(t *testing.T) {
	needWSNode(t)
	srv := startJSScript(t, "ws_server.js", "--fix-metadata", "--mtu", strconv.Itoa(testMTU))
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	spies := make(chan *rsockettest.Spy, 1)
	c := dialWS(ctx, t, srv.addr(), rsocket.ClientConfig{MTU: testMTU}, spyOn(spies))
	largeRoundTrip(ctx, t, srv, c)
	spy := <-spies
	wantFragmented(t, "rshm to rsocket-js", spyStats(spy, true))
	wantFragmented(t, "rsocket-js to rshm", spyStats(spy, false))
}
