package handshake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shm"
	"github.com/rshm/rshm/shmtransport"
)

// Hostile peers: a client that keeps the region's file open through the
// handshake and truncates it (see docs/design.md, "Security model"), and
// the descriptors a third process could reopen the region through.

// TestNoRegionDescriptor: once the handshake is done, no descriptor of the
// process opens the region, on either side, so no other process can reopen
// it through /proc/PID/fd; both with a region the server prepared ahead
// (the pool's, named only when the hello takes it) and with one created
// for the hello.
func TestNoRegionDescriptor(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip(err)
	}
	for _, pooled := range []bool{false, true} {
		t.Run(fmt.Sprintf("pooled=%v", pooled), func(t *testing.T) {
			scfg := testConfig(t)
			ccfg := scfg
			ccfg.Mode = SHMOnly
			var region os.FileInfo
			scfg.hooks = &hooks{created: func(d *shm.Duplex) {
				fi, err := os.Stat(d.Region().Path())
				if err != nil {
					t.Error(err)
				}
				region = fi
			}}
			if pooled {
				// A full pool whose filler stopped: the handshake takes
				// one of its regions and nothing replaces it.
				scfg.pool = newRegionPool(&scfg)
				t.Cleanup(scfg.pool.close)
				rsockettest.Eventually(t, 5*time.Second, "the pool to fill", func() bool { return len(scfg.pool.ready) == poolDepth })
				scfg.pool.stop()
				<-scfg.pool.done
			}
			ct, st := negotiate(t, scfg, ccfg)
			if region == nil {
				t.Fatal("no region created")
			}
			// One round trip: both sides are past the handshake, the
			// client's liveness reader included (it reads the final).
			r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, echoServer(nil))
			if p, err := r.Client.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("x")}); err != nil || string(p.Data) != "x" {
				t.Fatalf("request: %q, %v", p.Data, err)
			}
			if fds := descriptorsOf(t, region); len(fds) != 0 {
				t.Fatalf("descriptors still open the region: %v", fds)
			}
			if pooled && len(scfg.pool.ready) != poolDepth-1 {
				t.Fatalf("%d regions left in the pool; want %d", len(scfg.pool.ready), poolDepth-1)
			}
		})
	}
}

// negotiate runs Server with scfg and Client with ccfg on a loopback
// connection and returns both shared-memory transports.
func negotiate(t *testing.T, scfg, ccfg Config) (client, server rsocket.Transport) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx := ctxT(t)
	type result struct {
		t   rsocket.Transport
		k   Kind
		err error
	}
	sc := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			sc <- result{err: err}
			return
		}
		tr, k, err := Server(ctx, c, scfg)
		sc <- result{tr, k, err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ct, ck, err := Client(ctx, c, ccfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	s := <-sc
	if s.err != nil {
		ct.Close()
		t.Fatalf("server: %v", s.err)
	}
	t.Cleanup(func() {
		ct.Close()
		s.t.Close()
	})
	if ck != KindSHM || s.k != KindSHM {
		t.Fatalf("kinds: client %v, server %v; want shm", ck, s.k)
	}
	return ct, s.t
}

// descriptorsOf lists this process's descriptors that open the file fi
// describes, as "N -> target".
func descriptorsOf(t *testing.T, fi os.FileInfo) []string {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range es {
		p := "/proc/self/fd/" + e.Name()
		st, err := os.Stat(p)
		if err != nil {
			continue // closed since (ReadDir's own, for one)
		}
		if os.SameFile(st, fi) {
			target, _ := os.Readlink(p)
			fds = append(fds, e.Name()+" -> "+target)
		}
	}
	return fds
}

// TestTruncatingClient: a client process that opened the region's file
// during the handshake truncates it. The server process survives: the
// connection ends with shmtransport.ErrRegionFault when the truncation
// comes while frames flow, or the handshake fails when it comes before the
// proof; a connection made before keeps working, and the next client is
// served.
func TestTruncatingClient(t *testing.T) {
	skipFaultUnderRace(t)
	for _, when := range []string{"streaming", "proof"} {
		t.Run(when, func(t *testing.T) {
			cfg := testConfig(t)
			l := listen(t, cfg)
			before := connect(t, l, cfg, echoServer(nil))
			child := testchild.Start(t, "truncator", l.Addr().String(), cfg.SHM.Dir, when)
			if when == "streaming" {
				ctx := ctxT(t)
				a, err := l.Accept(ctx)
				if err != nil {
					t.Fatal(err)
				}
				streaming := make(chan context.Context, 1)
				sc, err := rsocket.Server(ctx, a.Transport, echoServer(streaming))
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				hctx := <-streaming
				child.Line(t, "truncated")
				select {
				case <-sc.Done():
				case <-ctx.Done():
					t.Fatal("the connection is still open after its region was truncated")
				}
				if err := sc.Err(); !errors.Is(err, shmtransport.ErrRegionFault) {
					t.Fatalf("connection ended with %v; want ErrRegionFault", err)
				}
				<-hctx.Done()
				t.Logf("server: %v", sc.Err())
			}
			t.Logf("client: %s", child.Line(t, "client "))
			after := connect(t, l, cfg, echoServer(nil))
			for _, r := range []conns{before, after} {
				if r.ck != KindSHM || r.sk != KindSHM {
					t.Fatalf("kinds: client %v, server %v; want shm", r.ck, r.sk)
				}
				exercise(t, r.client)
			}
		})
	}
}

// childTruncator (ADDR DIR WHEN) dials the parent at ADDR (shared memory
// only, in DIR), opening the region's file itself before the server
// unlinks it, and truncates it to zero bytes: WHEN "proof" right before it
// sends its proof, "streaming" once an endless stream from the server
// flows. It keeps a duplicate of the socket, so the server sees no EOF:
// only the truncation can end the connection. It prints "truncated" (for
// "streaming") and "client <outcome>", then waits to be killed.
func childTruncator(args []string) int {
	addr, when := args[0], args[2]
	var file *os.File
	cfg := Config{Mode: SHMOnly, SHM: shmConfig(args[1]), hooks: &hooks{confirmed: func(d *shm.Duplex) {
		f, err := os.OpenFile(d.Region().Path(), os.O_RDWR, 0)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		file = f
		if when == "proof" {
			_ = f.Truncate(0)
		}
	}}}
	ctx := context.Background()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	sock, err := c.(*net.TCPConn).File()
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	tr, _, err := Client(ctx, c, cfg)
	outcome := func(err error) {
		fmt.Println("client", err)
		runtime.KeepAlive(sock)
		select {}
	}
	if err != nil {
		outcome(err)
	}
	conn, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
	if err != nil {
		outcome(err)
	}
	st, err := conn.RequestStream(ctx, rsocket.Payload{Data: []byte("forever")})
	if err != nil {
		outcome(err)
	}
	for range 10 {
		if _, err := st.Recv(); err != nil {
			outcome(err)
		}
	}
	if err := file.Truncate(0); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("truncated")
	for {
		if _, err := st.Recv(); err != nil {
			outcome(err)
		}
	}
}
