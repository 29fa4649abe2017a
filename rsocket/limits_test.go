package rsocket_test

import (
	"context"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// Tests of the limits on what a peer can make a server hold (the Limits
// section of docs/operations.md).

// countConn counts the bytes read from a net.Conn.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

type serverResult struct {
	c   *rsocket.Conn
	err error
}

// tcpServer runs Server with cfg for every connection made to a loopback
// listener; what each returns goes to the channel. read counts the bytes
// the server side has read from its sockets.
func tcpServer(t *testing.T, cfg rsocket.ServerConfig) (addr string, results chan serverResult, read *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	results = make(chan serverResult, 256)
	read = new(atomic.Int64)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		l.Close()
	})
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := rsocket.Server(ctx, rsocket.NewTCPTransport(countConn{nc, read}), cfg)
				if c != nil {
					t.Cleanup(func() { c.Close() })
				}
				results <- serverResult{c, err}
			}()
		}
	}()
	return l.Addr().String(), results, read
}

// tcpRaw is a hand-driven peer over a TCP socket: it writes frames with
// their length prefix.
type tcpRaw struct {
	t testing.TB
	c net.Conn
}

func dialRaw(t testing.TB, addr string) *tcpRaw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &tcpRaw{t: t, c: c}
}

func (r *tcpRaw) write(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("raw write: %v", err)
	}
}

func (r *tcpRaw) send(frame []byte) {
	r.t.Helper()
	n := len(frame)
	r.write(append([]byte{byte(n >> 16), byte(n >> 8), byte(n)}, frame...))
}

// heap returns the bytes of live heap objects after a collection.
func heap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func echoAcceptor(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
	return &rsockettest.Echo{}, nil
}

// TestDeclaredLengthMemory: connections that declare 16 MiB frames after
// SETUP and send only part of them cost the server about the bytes that
// arrived, not the bytes declared.
func TestDeclaredLengthMemory(t *testing.T) {
	const (
		conns = 16
		sent  = 200 << 10 // bytes of each 16 MiB frame that arrive
	)
	addr, results, read := tcpServer(t, rsocket.ServerConfig{Acceptor: echoAcceptor})
	base := heap()
	setup := setupFrame(0, 1)
	for range conns {
		r := dialRaw(t, addr)
		r.send(setup)
		// A 16 MiB REQUEST_FNF: length, header, then part of the data.
		head := []byte{0xff, 0xff, 0xff}
		head = wire.AppendHeader(head, 1, wire.TypeRequestFNF, 0)
		r.write(append(head, make([]byte, sent-len(head))...))
	}
	for range conns {
		if res := <-results; res.err != nil {
			t.Fatal(res.err)
		}
	}
	want := int64(conns * (len(setup) + 3 + sent))
	rsockettest.Eventually(t, 10*time.Second, "the server to read what was sent", func() bool { return read.Load() == want })
	grown := heap() - base
	t.Logf("heap grew %d KiB for %d connections", grown>>10, conns)
	if limit := int64(conns * (1 << 20)); grown > limit {
		t.Fatalf("heap grew %d MiB for %d connections that sent %d KiB each; want under %d MiB", grown>>20, conns, sent>>10, limit>>20)
	}
}
