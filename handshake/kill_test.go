package handshake

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// TestKillClient: the client process dies with SIGKILL mid-stream; the
// server's stream and connection fail within milliseconds, it serves the
// next connection, and nothing is left in the shm directory.
func TestKillClient(t *testing.T) {
	cfg := testConfig(t)
	l := listen(t, cfg)
	child := testchild.Start(t, "client", l.Addr().String(), cfg.SHM.Dir)
	ctx := ctxT(t)
	a, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != KindSHM {
		t.Fatalf("server kind %v; want shm", a.Kind)
	}
	streaming := make(chan context.Context, 1)
	sc, err := rsocket.Server(ctx, a.Transport, echoServer(streaming))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if k := child.Line(t, "streaming "); k != "shm" {
		t.Fatalf("client kind %q; want shm", k)
	}
	hctx := <-streaming
	start := time.Now()
	child.Kill()
	select {
	case <-sc.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("server conn still open 2 s after the client died")
	}
	<-hctx.Done()
	d := time.Since(start)
	t.Logf("server saw the client die after %v: %v", d, sc.Err())
	if d > 300*time.Millisecond {
		t.Errorf("took %v; want about 100 ms at most", d)
	}
	if files := dirEntries(t, cfg.SHM.Dir); len(files) != 0 {
		t.Fatalf("left in the shm directory: %v", files)
	}
	// Still serving.
	r := connect(t, l, cfg, echoServer(nil))
	if r.ck != KindSHM {
		t.Fatalf("kind %v", r.ck)
	}
	exercise(t, r.client)
}

// TestKillServer: the server process dies with SIGKILL mid-stream; the
// client's stream fails within milliseconds.
func TestKillServer(t *testing.T) {
	dir := t.TempDir()
	child := testchild.Start(t, "server", dir)
	addr := child.Line(t, "addr ")
	ctx := ctxT(t)
	tr, k, err := Dial(ctx, addr, Config{Mode: SHMOnly, SHM: shmConfig(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if k != KindSHM {
		t.Fatalf("client kind %v; want shm", k)
	}
	if sk := child.Line(t, "accepted "); sk != "shm" {
		t.Fatalf("server kind %q; want shm", sk)
	}
	c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("forever")})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	child.Kill()
	for {
		if _, err := st.Recv(); err != nil {
			t.Logf("stream failed %v after the kill: %v", time.Since(start), err)
			break
		}
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Errorf("took %v; want about 100 ms at most", d)
	}
	<-c.Done()
	if files := dirEntries(t, dir); len(files) != 0 {
		t.Fatalf("left in the shm directory: %v", files)
	}
}

// TestKillServerDuringHandshakes: a server killed again and again while
// clients hammer it with handshakes may leave regions behind (one it had
// named for a client that never opened it); the next server to listen on
// the directory removes them, and clients unlink what they opened.
func TestKillServerDuringHandshakes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 41 server processes")
	}
	dir := t.TempDir()
	cfg := Config{Mode: SHMOnly, SHM: shmConfig(dir), Timeout: time.Second}
	left := 0
	for i := range 40 {
		child := testchild.Start(t, "server", dir)
		addr := child.Line(t, "addr ")
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if tr, _, err := Dial(ctx, addr, cfg); err == nil {
						tr.Close()
					}
				}
			}()
		}
		// Let handshakes run for a moment that differs from kill to kill.
		child.Line(t, "accepted ")
		for range i % 5 {
			child.Line(t, "accepted ")
		}
		child.Kill()
		<-child.Exited()
		cancel()
		wg.Wait()
		left += len(dirEntries(t, dir))
	}
	t.Logf("regions left behind by 40 killed servers: %d (counted after each kill)", left)
	child := testchild.Start(t, "server", dir)
	child.Line(t, "addr ")
	rsockettest.Eventually(t, 5*time.Second, "the restarted server to clean the directory", func() bool {
		return len(dirEntries(t, dir)) == 0
	})
	child.Kill()
}
