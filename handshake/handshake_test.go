package handshake

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/ring"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shm"
	"github.com/rshm/rshm/shmtransport"
)

func shmConfig(dir string) shm.Config { return shm.Config{Dir: dir} }

// testConfig keeps regions in a directory of the test's own.
func testConfig(t testing.TB) Config {
	return Config{SHM: shmConfig(t.TempDir()), Timeout: 2 * time.Second, RingSize: 64 << 10}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func listen(t testing.TB, cfg Config) *Listener {
	t.Helper()
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// conns is a connected pair of rsocket conns and the kinds each side saw.
type conns struct {
	client, server *rsocket.Conn
	ck, sk         Kind
	ct, st         rsocket.Transport
}

// connect dials l with ccfg and runs rsocket on both ends.
func connect(t testing.TB, l *Listener, ccfg Config, scfg rsocket.ServerConfig) conns {
	t.Helper()
	ctx := ctxT(t)
	var r conns
	// The listener sniffs before Accept returns, and a plain client's
	// first bytes are its SETUP: run the server side concurrently.
	done := make(chan error, 1)
	go func() {
		a, err := l.Accept(ctx)
		if err != nil {
			done <- err
			return
		}
		r.st, r.sk = a.Transport, a.Kind
		r.server, err = rsocket.Server(ctx, a.Transport, scfg)
		done <- err
	}()
	var err error
	r.ct, r.ck, err = Dial(ctx, l.Addr().String(), ccfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if r.client, err = rsocket.Client(ctx, r.ct, rsocket.ClientConfig{}); err != nil {
		t.Fatalf("Client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Accept or Server: %v", err)
	}
	t.Cleanup(func() {
		r.client.Close()
		r.server.Close()
	})
	return r
}

func exercise(t *testing.T, c *rsocket.Conn) {
	t.Helper()
	ctx := ctxT(t)
	for i := range 100 {
		msg := strings.Repeat("x", i*37)
		p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte(msg)})
		if err != nil || string(p.Data) != msg {
			t.Fatalf("request %d: got %q, %v", i, p.Data, err)
		}
	}
	st, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("1000")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for p, err := range st.All() {
		if err != nil {
			t.Fatalf("stream item %d: %v", n, err)
		}
		if want := strconvI(n); string(p.Data) != want {
			t.Fatalf("stream item %d: got %q; want %q", n, p.Data, want)
		}
		n++
	}
	if n != 1000 {
		t.Fatalf("stream ended after %d items; want 1000", n)
	}
	// A payload larger than a ring record is fragmented by the engine.
	big := strings.Repeat("y", 300<<10)
	p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte(big)})
	if err != nil || string(p.Data) != big {
		t.Fatalf("big request: got %d bytes, %v", len(p.Data), err)
	}
}

func strconvI(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestSharedMemory(t *testing.T) {
	cfg := testConfig(t)
	l := listen(t, cfg)
	r := connect(t, l, cfg, echoServer(nil))
	if r.ck != KindSHM || r.sk != KindSHM {
		t.Fatalf("kinds: client %v, server %v; want shm", r.ck, r.sk)
	}
	if files := dirEntries(t, cfg.SHM.Dir); len(files) != 0 {
		t.Fatalf("shm directory holds %v while frames flow; want it empty (unlinked)", files)
	}
	exercise(t, r.client)
	if got, want := r.ct.MaxFrameSize(), cfg.RingSize/8+ring.HeaderSlack; got != want {
		t.Fatalf("MaxFrameSize %d; want %d", got, want)
	}
}

// TestDevShm runs the default directory: the region is gone from /dev/shm
// before the first frame.
func TestDevShm(t *testing.T) {
	if _, err := os.Stat(shm.DefaultDir); err != nil {
		t.Skip(err)
	}
	cfg := Config{RingSize: 16 << 10}
	l := listen(t, cfg)
	r := connect(t, l, cfg, echoServer(nil))
	if r.ck != KindSHM || r.sk != KindSHM {
		t.Fatalf("kinds: client %v, server %v; want shm", r.ck, r.sk)
	}
	name := r.st.(*shmtransport.Transport).RegionName()
	if _, err := os.Stat(filepath.Join(shm.DefaultDir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s still in /dev/shm: %v", name, err)
	}
	exercise(t, r.client)
}

func TestWaitStrategies(t *testing.T) {
	for _, w := range []Wait{WaitSpin, WaitYield, WaitBackoff, WaitBlock} {
		t.Run(w.String(), func(t *testing.T) {
			cfg := testConfig(t)
			l := listen(t, cfg) // adopts the client's strategy
			ccfg := cfg
			ccfg.Wait = w
			r := connect(t, l, ccfg, echoServer(nil))
			if got := r.st.(*shmtransport.Transport).Wait(); got != w {
				t.Fatalf("server waits with %v; want the client's %v", got, w)
			}
			exercise(t, r.client)
		})
	}
}

// TestPlainClient: an RSocket-over-TCP client on the rshm port is served
// over TCP.
func TestPlainClient(t *testing.T) {
	cfg := testConfig(t)
	l := listen(t, cfg)
	ctx := ctxT(t)
	type res struct {
		c   *rsocket.Conn
		k   Kind
		err error
	}
	ch := make(chan res, 1)
	go func() {
		a, err := l.Accept(ctx)
		if err != nil {
			ch <- res{err: err}
			return
		}
		c, err := rsocket.Server(ctx, a.Transport, echoServer(nil))
		ch <- res{c, a.Kind, err}
	}()
	c, err := rsocket.DialTCP(ctx, l.Addr().String(), rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	if r.k != KindTCP {
		t.Fatalf("kind %v; want tcp", r.k)
	}
	exercise(t, c)
}

// TestAgainstPlainServer: Auto falls back to TCP against a plain RSocket
// server; SHMOnly fails naming the step.
func TestAgainstPlainServer(t *testing.T) {
	ln, err := rsocket.ListenTCP("127.0.0.1:0", echoServer(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx := ctxT(t)
	go func() {
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	cfg := testConfig(t)
	start := time.Now()
	tr, k, err := Dial(ctx, ln.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fell back to TCP in %v", time.Since(start))
	if k != KindTCP {
		t.Fatalf("kind %v; want tcp", k)
	}
	c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exercise(t, c)

	cfg.Mode = SHMOnly
	_, _, err = Dial(ctx, ln.Addr().String(), cfg)
	var he *Error
	if !errors.As(err, &he) || he.Step != StepReply || !errors.Is(err, ErrNotRSHM) {
		t.Fatalf("SHMOnly: got %v; want *Error at step reply wrapping ErrNotRSHM", err)
	}
	t.Logf("SHMOnly: %v", err)
}

// TestFallbackChecks: a failed check on either side falls back to TCP on
// the same socket in Auto mode, and fails naming the step with SHMOnly.
func TestFallbackChecks(t *testing.T) {
	otherBoot := &hooks{bootID: func() ([16]byte, error) { return [16]byte{1}, nil }}
	// laterBoot sends the real boot id in the hello and then sees another
	// one when it checks the reply: the client's own check fails.
	laterBoot := func() *hooks {
		var calls atomic.Int32
		return &hooks{bootID: func() ([16]byte, error) {
			if calls.Add(1) == 1 {
				return readBootID()
			}
			return [16]byte{2}, nil
		}}
	}
	tests := []struct {
		name         string
		server       func(*Config)
		client       func(*Config)
		step         Step
		reason       Reason
		wantPeerSide bool // the refusal came from the server
	}{
		{"server boot id", func(c *Config) { c.hooks = otherBoot }, nil, StepReply, ReasonHost, true},
		{"client boot id in hello", nil, func(c *Config) { c.hooks = otherBoot }, StepReply, ReasonHost, true},
		{"client check of the reply", nil, func(c *Config) { c.hooks = laterBoot() }, StepReply, ReasonHost, false},
		{"server tcp only", func(c *Config) { c.Mode = TCPOnly }, nil, StepReply, ReasonDisabled, true},
		{"other shm dir", func(c *Config) { c.SHM.Dir = t.TempDir() }, nil, StepReply, ReasonDir, true},
		// A server built with another ring layout (version 2: records
		// capped at capacity/8): the client refuses to attach.
		{"ring layout version", func(c *Config) { c.hooks = &hooks{created: oldRingLayout} }, nil, StepOpen, ReasonOpen, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scfg, ccfg := testConfig(t), testConfig(t)
			ccfg.SHM.Dir = scfg.SHM.Dir
			if tc.server != nil {
				tc.server(&scfg)
			}
			if tc.client != nil {
				tc.client(&ccfg)
			}
			l := listen(t, scfg)
			r := connect(t, l, ccfg, echoServer(nil))
			if r.ck != KindTCP || r.sk != KindTCP {
				t.Fatalf("kinds: client %v, server %v; want tcp", r.ck, r.sk)
			}
			exercise(t, r.client)

			ccfg.Mode = SHMOnly
			if tc.client != nil {
				tc.client(&ccfg) // fresh hooks
			}
			_, _, err := Dial(ctxT(t), l.Addr().String(), ccfg)
			var he *Error
			if !errors.As(err, &he) || he.Step != tc.step {
				t.Fatalf("SHMOnly: got %v; want *Error at step %v", err, tc.step)
			}
			if tc.wantPeerSide != errors.Is(err, ErrRefused) {
				t.Fatalf("SHMOnly: got %v; ErrRefused %v", err, tc.wantPeerSide)
			}
			if !strings.Contains(err.Error(), tc.reason.String()) {
				t.Fatalf("SHMOnly: %q does not name %q", err, tc.reason)
			}
			t.Logf("SHMOnly: %v", err)
			// The server cleans up on its own goroutine.
			for _, d := range []string{scfg.SHM.Dir, ccfg.SHM.Dir} {
				waitFor(t, "shm directory "+d, func() bool { return len(dirEntries(t, d)) == 0 })
			}
		})
	}
}

// oldRingLayout writes layout version 2 into the region's first ring, as a
// server built before version 3 would have.
func oldRingLayout(d *shm.Duplex) {
	const versionOffset = 8 // ring/layout.go
	binary.LittleEndian.PutUint32(d.ClientToServer().Mem()[versionOffset:], 2)
}

// TestServerSHMOnlyRefusesPlain: a shared-memory-only server drops plain
// RSocket peers.
func TestServerSHMOnlyRefusesPlain(t *testing.T) {
	cfg := testConfig(t)
	cfg.Mode = SHMOnly
	l := listen(t, cfg)
	ctx := ctxT(t)
	c, err := rsocket.DialTCP(ctx, l.Addr().String(), rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("plain client still connected to a SHMOnly server")
	}
}

// TestNoLeaks: a storm of handshakes, garbage, a half handshake, a slow
// client and a silent one end with every fd, goroutine and region file
// released.
func TestNoLeaks(t *testing.T) {
	g0, f0 := runtime.NumGoroutine(), fdCount(t)
	cfg := testConfig(t)
	cfg.Timeout = 5 * time.Second
	cfg.MaxPending = 8
	l := listen(t, cfg)

	// Good connections, concurrently: a storm of handshakes.
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, k, err := Dial(ctxT(t), l.Addr().String(), cfg)
			if err != nil {
				t.Error(err)
				return
			}
			if k != KindSHM {
				t.Errorf("kind %v", k)
			}
			tr.Close()
		}()
	}
	for range 40 {
		a, err := l.Accept(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		a.Transport.Close()
	}
	wg.Wait()
	l.Close()

	cfg.Timeout = 300 * time.Millisecond
	l = listen(t, cfg)
	addr := l.Addr().String()
	raw := func(fn func(c net.Conn)) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fn(c)
	}
	host, err := localHost(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	hi := appendHello(nil, hello{version: Version, pageSize: uint32(os.Getpagesize()), host: host,
		uid: uint32(os.Getuid()), pid: uint32(os.Getpid())})
	// Garbage after the magic.
	raw(func(c net.Conn) {
		c.Write([]byte{0, 0, 9, 'R', 'S', 'H', 'M', 0xff, 0xff, 0xff, 1, 2, 3})
		waitClosed(t, c)
	})
	// A half hello.
	raw(func(c net.Conn) {
		c.Write(hi[:20])
		waitClosed(t, c)
	})
	// A slow client: one byte every 50 ms.
	raw(func(c net.Conn) {
		for i := range hi {
			if _, err := c.Write(hi[i : i+1]); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		waitClosed(t, c)
	})
	// A client that reads the reply (the region exists now) and stops.
	raw(func(c net.Conn) {
		c.Write(hi)
		var buf [lengthSize + maxMessage]byte
		m, err := readMessage(c, buf[:])
		if err != nil {
			t.Fatal(err)
		}
		if r, err := parseReply(m); err != nil || r.status != statusOK {
			t.Fatalf("reply %+v, %v", r, err)
		}
		waitClosed(t, c)
	})
	// Nothing at all.
	raw(func(c net.Conn) { waitClosed(t, c) })

	l.Close()
	if files := dirEntries(t, cfg.SHM.Dir); len(files) != 0 {
		t.Fatalf("left in the shm directory: %v", files)
	}
	waitFor(t, "goroutines", func() bool { return runtime.NumGoroutine() <= g0 })
	waitFor(t, "fds", func() bool { return fdCount(t) <= f0 })
}

// waitClosed waits until the server closes c, within the handshake timeout
// and some slack.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [64]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("server did not close the connection")
			}
			return
		}
	}
}

// waitFor waits until ok says what is back at its baseline; a timeout
// shows every goroutine's stack.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	back := false
	defer func() {
		if !back {
			buf := make([]byte, 1<<16)
			t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
	}()
	rsockettest.Eventually(t, 3*time.Second, what+" to return to the baseline", ok)
	back = true
}

func fdCount(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(es)
}
