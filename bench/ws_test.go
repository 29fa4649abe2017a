package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/wstransport"
)

func init() {
	childRoles["rsocket-ws"] = childRSocketWS
}

// childRSocketWS serves RSocket over WebSocket at /rsocket of an HTTP server
// on a loopback port.
func childRSocketWS(m *mapping) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/rsocket", wstransport.Handler(func(ctx context.Context, t rsocket.Transport) {
		_, _ = rsocket.Server(ctx, t, serverConfig(&echoHandler{}))
	}))
	srv := &http.Server{Handler: mux}
	return serveUntilStopped(m, ln.Addr().String(), func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

// BenchmarkWS measures RSocket over WebSocket (wstransport), across two
// processes pinned to the CPU pair like BenchmarkTCP, whose rows of the
// same names are its baseline (run both in one go test invocation):
//
//	rsocket-rr-64B       RSocket request-response of 64 bytes
//	rsocket-rr-64B-c64   64 concurrent requesters on one connection
//	rsocket-stream-64B   request-stream throughput on one connection
func BenchmarkWS(b *testing.B) {
	b.Run("rsocket-rr-64B", func(b *testing.B) { benchRR(b, dialWS(b), 64) })
	b.Run("rsocket-rr-64B-c64", func(b *testing.B) { benchRRConcurrent(b, dialWS(b), 64, 64) })
	b.Run("rsocket-stream-64B", func(b *testing.B) { benchStreamRecv(b, dialWS(b), 64) })
}

// dialWS starts an RSocket-over-WebSocket peer and connects to it.
func dialWS(b *testing.B) *rsocket.Conn {
	pin(b)
	addr := listenPeer(b, "rsocket-ws")
	ctx := context.Background()
	tr, err := wstransport.Dial(ctx, "ws://"+addr+"/rsocket", wstransport.Options{})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
	if err != nil {
		tr.Close()
		b.Fatal(err)
	}
	keepOnly(b, conn)
	return conn
}
