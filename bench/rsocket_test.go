package bench

import (
	"context"
	"io"
	"testing"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
)

// BenchmarkRSocket compares RSocket over shared memory with RSocket over
// TCP, across two processes pinned to the CPU pair, in one run. The peer is
// one rshm listener, whose port serves both: the shm rows dial it with
// shared memory required, the tcp rows with TCP only. Both sides busy-spin
// (rshm.WaitSpin): the requester drives the receive ring while it waits,
// the peer's receive loop polls, one spinning thread per process.
//
//	shm-rr-64B, tcp-rr-64B       request-response round trip (p50-ns, p99-ns)
//	shm-rr-14KiB, tcp-rr-14KiB   the same with 14 KiB payloads
//	shm-stream-64B               request-stream payloads/s
//	shm-fnf-64B                  fire-and-forget requests/s
//	shm-stream-64B-batch         shm-stream-64B sent 64 at a time
//	                             (StreamWriter.SendBatch)
//	shm-fnf-64B-batch            shm-fnf-64B sent 64 at a time
//	                             (Conn.FireAndForgetBatch)
//	shm-stream-1MiB              request-stream GB/s (8 MiB rings, 1 MiB frames)
//	shm-stream-1MiB-loan         the same, each payload built in a loan
//	                             (StreamWriter.Loan: the ring's memory)
//	shm-rr-64B-c64               64 concurrent requesters on one connection (req/s)
//	goroutine-floor-c64          64 blocking requesters answered in-process, no
//	                             transport (req/s): the most a goroutine per
//	                             blocking request allows on one P, the ceiling
//	                             of shm-rr-64B-c64
//	shm-rr-64B-async64           64 requests in flight through RequestResponseAsync
//	                             from one goroutine (req/s): the connection's
//	                             capacity without a goroutine per request
//
// ring-pingpong-64B, ring-pingpong-14KiB, ring-stream-64B and
// ring-stream-1MiB repeat BenchmarkRing's baselines right before the
// shared-memory rows they are the baselines of: the cross-CPU latency of
// a VM can change from minute to minute (compare Ring/pingpong-64B with
// RSocket/ring-pingpong-64B of the same run), so a baseline taken a minute
// earlier can make a ratio off by a multiple.
func BenchmarkRSocket(b *testing.B) {
	b.Run("ring-pingpong-64B", benchPingPong)
	b.Run("shm-rr-64B", func(b *testing.B) { benchRR(b, dialRSHM(b, rshm.SHMOnly, 0), 64) })
	b.Run("tcp-rr-64B", func(b *testing.B) { benchRR(b, dialRSHM(b, rshm.TCPOnly, 0), 64) })
	b.Run("ring-pingpong-14KiB", func(b *testing.B) { benchPingPongCopy(b, 14<<10) })
	b.Run("shm-rr-14KiB", func(b *testing.B) { benchRR(b, dialRSHM(b, rshm.SHMOnly, 0), 14<<10) })
	b.Run("tcp-rr-14KiB", func(b *testing.B) { benchRR(b, dialRSHM(b, rshm.TCPOnly, 0), 14<<10) })
	b.Run("ring-stream-64B", func(b *testing.B) { benchStream(b, 64, 1<<20, 32, false) })
	b.Run("shm-stream-64B", func(b *testing.B) { benchStreamRecv(b, dialRSHM(b, rshm.SHMOnly, 0), 64) })
	b.Run("shm-fnf-64B", func(b *testing.B) { benchFNF(b, dialRSHM(b, rshm.SHMOnly, 0), 64) })
	b.Run("shm-stream-64B-batch", func(b *testing.B) {
		benchStreamRecvReq(b, dialRSHM(b, rshm.SHMOnly, 0), 64, " batch:64")
	})
	b.Run("shm-fnf-64B-batch", func(b *testing.B) { benchFNFBatch(b, dialRSHM(b, rshm.SHMOnly, 0), 64, 64) })
	b.Run("ring-stream-1MiB", func(b *testing.B) { benchStream(b, 1<<20, 8<<20, 1, false) })
	b.Run("shm-stream-1MiB", func(b *testing.B) { benchStreamRecv(b, dialRSHM(b, rshm.SHMOnly, 8<<20), 1<<20) })
	b.Run("shm-stream-1MiB-loan", func(b *testing.B) {
		benchStreamRecvReq(b, dialRSHM(b, rshm.SHMOnly, 8<<20), 1<<20, " loan:1")
	})
	b.Run("shm-rr-64B-c64", func(b *testing.B) { benchRRConcurrent(b, dialRSHM(b, rshm.SHMOnly, 0), 64, 64) })
	b.Run("goroutine-floor-c64", func(b *testing.B) { benchGoroutineFloor(b, 64) })
	b.Run("shm-rr-64B-async64", func(b *testing.B) { benchRRAsync(b, dialRSHM(b, rshm.SHMOnly, 0), 64, 64) })
}

func init() {
	childRoles["rshm"] = childRSHM
}

// dialRSHM starts an rshm peer and connects to it with the given transport
// (ringSize 0: the default).
func dialRSHM(b *testing.B, mode rshm.Mode, ringSize int) *rsocket.Conn {
	pin(b)
	addr := listenPeer(b, "rshm")
	conn, err := rshm.Dial(context.Background(), addr, rshm.Config{Handshake: rshm.Handshake{Mode: mode, Wait: rshm.WaitSpin, RingSize: ringSize}})
	if err != nil {
		b.Fatal(err)
	}
	if want := map[rshm.Mode]rshm.Kind{rshm.SHMOnly: rshm.KindSHM, rshm.TCPOnly: rshm.KindTCP}[mode]; conn.Kind() != want {
		b.Fatalf("connected over %v, want %v", conn.Kind(), want)
	}
	keepOnly(b, conn)
	return conn.Conn
}

// lastConn is the connection the running benchmark function dialed last.
var lastConn io.Closer

// keepOnly closes the connection dialed before c and has b close c at the
// end. b.Run calls a benchmark function several times (N=1, then growing
// N) and b.Cleanup runs only after the last call, so the connections of
// the calibration calls used to stay open during the measured one, each
// with a busy-spinning receive loop on both sides, on the same CPUs as the
// measured connection. Now only the measured connection's loops poll.
func keepOnly(b *testing.B, c io.Closer) {
	if lastConn != nil {
		lastConn.Close()
	}
	lastConn = c
	b.Cleanup(func() {
		c.Close()
		if lastConn == c {
			lastConn = nil
		}
	})
}

// childRSHM serves rshm (shared memory and TCP on one port) with busy-spin.
func childRSHM(m *mapping) error { return serveRSHM(m, serverConfig(&echoHandler{})) }

// serveRSHM serves rshm with busy-spin and the given server config until
// the parent stops the peer.
func serveRSHM(m *mapping, cfg rsocket.ServerConfig) error {
	ln, err := rshm.Listen("127.0.0.1:0", rshm.Config{Handshake: rshm.Handshake{Wait: rshm.WaitSpin}, Server: cfg})
	if err != nil {
		return err
	}
	defer ln.Close()
	return serveUntilStopped(m, ln.Addr().String(), func(ctx context.Context) error {
		acceptAll(ctx, ln)
		return nil
	})
}

// acceptAll accepts ln's connections until ctx ends, then closes them.
func acceptAll(ctx context.Context, ln *rshm.Listener) {
	var conns []*rshm.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		conns = append(conns, c)
	}
}
