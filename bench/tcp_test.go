package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// Control word through which a TCP peer tells the parent its port.
const offPort = offConsumed + 128

func init() {
	childRoles["tcp-echo"] = childTCPEcho
}

// listenPeer starts a peer process of the given role that listens on a
// loopback port, and returns the address it listens on.
func listenPeer(b *testing.B, role string) string {
	_, addr := startListeningPeer(b, role)
	return addr
}

// startListeningPeer is listenPeer that also returns the peer.
func startListeningPeer(b *testing.B, role string) (*peer, string) {
	p := startPeer(b, role, 0)
	var port uint64
	rsockettest.Eventually(b, 10*time.Second, "peer "+role+" to publish a port", func() bool {
		port = atomic.LoadUint64(p.word(offPort))
		return port != 0
	})
	return p, fmt.Sprintf("127.0.0.1:%d", port)
}

// publishPort listens on a loopback port and tells the parent which.
func publishPort(m *mapping) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	atomic.StoreUint64(m.word(offPort), uint64(ln.Addr().(*net.TCPAddr).Port))
	return ln, nil
}

// benchRawTCP is the baseline: a plain Go TCP ping-pong of size bytes.
func benchRawTCP(b *testing.B, size int) {
	pin(b)
	addr := listenPeer(b, "tcp-echo")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, size)
	latency(b, func() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, msg); err != nil {
			b.Fatal(err)
		}
	})
}

// childTCPEcho echoes whatever arrives on each accepted connection.
func childTCPEcho(m *mapping) error {
	ln, err := publishPort(m)
	if err != nil {
		return err
	}
	go func() {
		for !stopped(m) {
			time.Sleep(10 * time.Millisecond)
		}
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}

// BenchmarkTCP compares RSocket over rshm's TCP transport with plain TCP,
// across two processes pinned to the CPU pair, in one run:
//
//	raw-64B              plain Go TCP ping-pong of 64 bytes: the baseline
//	rsocket-rr-64B       RSocket request-response of 64 bytes
//	rsocket-rr-64B-c64   64 concurrent requesters on one connection
//	rsocket-rr-64B-async64  64 requests in flight through RequestResponseAsync
//	rsocket-stream-64B   request-stream throughput on one connection
func BenchmarkTCP(b *testing.B) {
	b.Run("raw-64B", func(b *testing.B) { benchRawTCP(b, 64) })
	b.Run("rsocket-rr-64B", func(b *testing.B) { benchRR(b, dialTCP(b), 64) })
	b.Run("rsocket-rr-64B-c64", func(b *testing.B) { benchRRConcurrent(b, dialTCP(b), 64, 64) })
	b.Run("rsocket-rr-64B-async64", func(b *testing.B) { benchRRAsync(b, dialTCP(b), 64, 64) })
	b.Run("rsocket-stream-64B", func(b *testing.B) { benchStreamRecv(b, dialTCP(b), 64) })
}

// dialTCP starts an RSocket-over-TCP peer and connects to it.
func dialTCP(b *testing.B) *rsocket.Conn {
	pin(b)
	addr := listenPeer(b, "rsocket-tcp")
	conn, err := rsocket.DialTCP(context.Background(), addr, rsocket.ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	keepOnly(b, conn)
	return conn
}
