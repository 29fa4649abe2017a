package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
)

// BenchmarkConn measures the life of a connection with the default
// configuration (the zero rshm.Config but the mode), the one an
// application gets without tuning:
//
//	idle-shm-1, idle-shm-100     CPU of both processes while 1 or 100
//	idle-tcp-1, idle-tcp-100     connections sit idle (server-cpu-%,
//	                             client-cpu-%: percent of one CPU; run with
//	                             -benchtime 100x for a 10 s window)
//	peer-killed-idle-shm/-tcp    time from kill -9 of the server to the
//	                             client's connection ending, the connection
//	                             idle (parked) before the kill
//	connect-shm, connect-tcp     dial, one 64 B request-response, close
//	first-rr-after-idle-shm/-tcp one 64 B request-response after the
//	                             connection sat idle for idleGap
//	rr-20us-after-idles-shm/-tcp request-response to a handler that
//	                             computes 20 us, back to back, after 16
//	                             idle periods of 2 ms (the adaptive polls
//	                             shrink in each) (p50-ns, p99-ns)
//	wake-futex-after-idle        Ring/wake-futex's round trip of two bare
//	                             futex words, each after idleGap with both
//	                             threads parked: the floor of the row above
//
// Latencies are reported as p50-ns (and p99-ns where enough samples).
func BenchmarkConn(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("idle-shm-%d", n), func(b *testing.B) { benchIdleConns(b, rshm.SHMOnly, n) })
		b.Run(fmt.Sprintf("idle-tcp-%d", n), func(b *testing.B) { benchIdleConns(b, rshm.TCPOnly, n) })
	}
	b.Run("peer-killed-idle-shm", func(b *testing.B) { benchPeerKilled(b, rshm.SHMOnly) })
	b.Run("peer-killed-idle-tcp", func(b *testing.B) { benchPeerKilled(b, rshm.TCPOnly) })
	b.Run("connect-shm", func(b *testing.B) { benchConnect(b, rshm.SHMOnly) })
	b.Run("connect-tcp", func(b *testing.B) { benchConnect(b, rshm.TCPOnly) })
	b.Run("first-rr-after-idle-shm", func(b *testing.B) { benchFirstAfterIdle(b, rshm.SHMOnly) })
	b.Run("first-rr-after-idle-tcp", func(b *testing.B) { benchFirstAfterIdle(b, rshm.TCPOnly) })
	b.Run("wake-futex-after-idle", benchWakeFutexAfterIdle)
	b.Run("rr-20us-after-idles-shm", func(b *testing.B) { benchSlowAfterIdles(b, rshm.SHMOnly) })
	b.Run("rr-20us-after-idles-tcp", func(b *testing.B) { benchSlowAfterIdles(b, rshm.TCPOnly) })
}

// benchSlowAfterIdles times request-responses answered after 20 us of
// work, back to back, on a connection that first had 16 idle periods of
// 2 ms between such requests: polling that adapts must not stay shrunk
// below a round trip it would have caught.
func benchSlowAfterIdles(b *testing.B, mode rshm.Mode) {
	pin(b)
	_, addr := startDefaultPeer(b)
	c := dialDefault(b, addr, mode)
	b.Cleanup(func() { c.Close() })
	req := rsocket.Payload{Data: []byte("work:20")}
	var buf []byte
	rr := func() {
		p, err := c.RequestResponseInto(context.Background(), req, buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = p.Data[:0]
	}
	for range 16 {
		rr()
		time.Sleep(2 * time.Millisecond)
	}
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		rr()
		lat = append(lat, time.Since(start))
	}
	reportLatencies(b, lat)
}

// benchWakeFutexAfterIdle is benchWakeFutex with idleGap of nothing before
// each round trip: a wake-up of a vCPU that has been halted for long, which
// in a VM costs more than one halted for the microseconds between
// back-to-back round trips.
func benchWakeFutexAfterIdle(b *testing.B) {
	pin(b)
	p := startPeer(b, "futex", 0)
	a, r := p.futexWord(offWakeA), p.futexWord(offWakeB)
	reportLatencies(b, afterIdle(b, func() {
		atomic.StoreUint32(a, 1)
		futexWake(a)
		for atomic.LoadUint32(r) == 0 {
			futexWait(r, 0, 100*time.Millisecond)
		}
		atomic.StoreUint32(r, 0)
	}))
}

// idleGap is how long first-rr-after-idle leaves the connection alone.
const idleGap = 2 * time.Second

func init() {
	childRoles["rshm-default"] = childRSHMDefault
}

// childRSHMDefault serves rshm with the default configuration and, unlike
// the other serving peers, waits for the stop flag on the futex word the
// parent wakes, so that an idle server makes no wake-up of its own.
func childRSHMDefault(m *mapping) error {
	ln, err := rshm.Listen("127.0.0.1:0", rshm.Config{Server: serverConfig(&echoHandler{})})
	if err != nil {
		return err
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go acceptAll(ctx, ln)
	_, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	atomic.StoreUint64(m.word(offPort), uint64(n))
	for !stopped(m) {
		futexWait(m.futexWord(offWakeA), 0, time.Hour)
	}
	return nil
}

// startDefaultPeer starts an rshm-default peer and returns it with its
// address.
func startDefaultPeer(b *testing.B) (*peer, string) { return startListeningPeer(b, "rshm-default") }

// dialDefault dials addr with the default configuration in mode and checks
// the transport it got.
func dialDefault(b *testing.B, addr string, mode rshm.Mode) *rshm.Conn {
	c, err := rshm.Dial(context.Background(), addr, rshm.Config{Handshake: rshm.Handshake{Mode: mode}})
	if err != nil {
		b.Fatal(err)
	}
	if want := map[rshm.Mode]rshm.Kind{rshm.SHMOnly: rshm.KindSHM, rshm.TCPOnly: rshm.KindTCP}[mode]; c.Kind() != want {
		c.Close()
		b.Fatalf("connected over %v, want %v", c.Kind(), want)
	}
	return c
}

func rr64(b *testing.B, c *rshm.Conn, buf []byte) []byte {
	p, err := c.RequestResponseInto(context.Background(), rsocket.Payload{Data: make([]byte, 64)}, buf)
	if err != nil {
		b.Fatal(err)
	}
	return p.Data[:0]
}

// benchIdleConns reports the CPU both processes use while n connections
// sit idle: each iteration is 100 ms of nothing.
func benchIdleConns(b *testing.B, mode rshm.Mode, n int) {
	pin(b)
	p, addr := startDefaultPeer(b)
	conns := make([]*rshm.Conn, n)
	var buf []byte
	for i := range conns {
		conns[i] = dialDefault(b, addr, mode)
		buf = rr64(b, conns[i], buf)
	}
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	time.Sleep(50 * time.Millisecond) // past every spin phase
	s0, err := cpuTime(p.Pid())
	if err != nil {
		b.Fatal(err)
	}
	c0, err := cpuTime(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for b.Loop() {
		time.Sleep(100 * time.Millisecond)
	}
	el := time.Since(start)
	s1, _ := cpuTime(p.Pid())
	c1, _ := cpuTime(os.Getpid())
	b.ReportMetric(100*float64(s1-s0)/float64(el), "server-cpu-%")
	b.ReportMetric(100*float64(c1-c0)/float64(el), "client-cpu-%")
}

// benchPeerKilled measures how long an idle client takes to see its
// server killed with SIGKILL.
func benchPeerKilled(b *testing.B, mode rshm.Mode) {
	pin(b)
	var lat []time.Duration
	var buf []byte
	for b.Loop() {
		b.StopTimer()
		p, addr := startDefaultPeer(b)
		c := dialDefault(b, addr, mode)
		buf = rr64(b, c, buf)
		time.Sleep(20 * time.Millisecond) // idle: both receive loops parked
		b.StartTimer()
		start := time.Now()
		if err := p.Signal(syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			b.Fatal("the client did not notice its server's death in 10 s")
		}
		lat = append(lat, time.Since(start))
		c.Close()
	}
	reportLatencies(b, lat)
}

// benchConnect measures dial, one 64 B request-response and close against
// a running server.
func benchConnect(b *testing.B, mode rshm.Mode) {
	pin(b)
	_, addr := startDefaultPeer(b)
	var lat []time.Duration
	var buf []byte
	for b.Loop() {
		start := time.Now()
		c := dialDefault(b, addr, mode)
		buf = rr64(b, c, buf)
		c.Close()
		lat = append(lat, time.Since(start))
	}
	reportLatencies(b, lat)
}

// benchFirstAfterIdle measures one 64 B request-response on a connection
// that sat idle for idleGap before it.
func benchFirstAfterIdle(b *testing.B, mode rshm.Mode) {
	pin(b)
	_, addr := startDefaultPeer(b)
	c := dialDefault(b, addr, mode)
	b.Cleanup(func() { c.Close() })
	buf := rr64(b, c, nil)
	reportLatencies(b, afterIdle(b, func() { buf = rr64(b, c, buf) }))
}

// afterIdle times op after idleGap of nothing, once per iteration.
func afterIdle(b *testing.B, op func()) []time.Duration {
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		time.Sleep(idleGap)
		b.StartTimer()
		start := time.Now()
		op()
		lat = append(lat, time.Since(start))
	}
	return lat
}

// reportLatencies reports the p50 (and, with 20 samples or more, the p99)
// of lat in nanoseconds.
func reportLatencies(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	if len(lat) >= 20 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	}
	b.ReportMetric(0, "ns/op")
}
