package handshake

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// child starts the test binary as the given side and returns its stdout
// lines.
func child(t *testing.T, side, addr, dir string) (*exec.Cmd, <-chan string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+side, childAddrEnv+"="+addr, childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		io.Copy(io.Discard, out)
	}()
	return cmd, lines
}

func expect(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok || !strings.HasPrefix(l, prefix) {
			t.Fatalf("child said %q (open %v); want %q...", l, ok, prefix)
		}
		return strings.TrimPrefix(l, prefix)
	case <-time.After(5 * time.Second):
		t.Fatalf("child did not say %q", prefix)
	}
	return ""
}

// TestKillClient: the client process dies with SIGKILL mid-stream; the
// server's stream and connection fail within milliseconds, it serves the
// next connection, and nothing is left in the shm directory.
func TestKillClient(t *testing.T) {
	cfg := testConfig(t)
	l := listen(t, cfg)
	cmd, lines := child(t, "client", l.Addr().String(), cfg.SHM.Dir)
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
	if k := expect(t, lines, "streaming "); k != "shm" {
		t.Fatalf("client kind %q; want shm", k)
	}
	hctx := <-streaming
	start := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
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
	cmd, lines := child(t, "server", "", dir)
	addr := expect(t, lines, "addr ")
	ctx := ctxT(t)
	tr, k, err := Dial(ctx, addr, Config{Mode: SHMOnly, SHM: shmConfig(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if k != KindSHM {
		t.Fatalf("client kind %v; want shm", k)
	}
	if sk := expect(t, lines, "accepted "); sk != "shm" {
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
	cmd.Process.Signal(syscall.SIGKILL)
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
