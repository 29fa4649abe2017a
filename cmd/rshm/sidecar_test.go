package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	rshmlib "github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shm"
)

// counting streams up to n items of 64 bytes for request data "n",
// counting what it sent.
type counting struct {
	rsocket.RejectAll
	sent *atomic.Int64
}

func (c counting) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	item := rsocket.Payload{Data: make([]byte, 64)}
	for range 10_000_000 {
		if err := w.Send(ctx, item); err != nil {
			return err
		}
		c.sent.Add(1)
	}
	return nil
}

// TestSidecarSlowReader: an application asks a real rshm sidecar process
// for a stream of 10 million items from an upstream and stops reading
// after a few: the sidecar passes request(n) through, so the upstream
// stops soon after, and the sidecar's memory stays small instead of
// holding the stream.
func TestSidecarSlowReader(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sidecar process; not with -short")
	}
	var sent atomic.Int64
	up, err := rshmlib.Listen("tcp://127.0.0.1:0", rshmlib.Config{Server: rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return counting{sent: &sent}, nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "sidecar.json")
	shmDir := t.TempDir()
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`{"listen": "127.0.0.1:0", "shm_dir": %q,
		"upstreams": {"items": {"addrs": [%q]}}, "routes": {"*": "items"}}`, shmDir, up.Addr().String())), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := rshm(context.Background(), "sidecar", "--config", conf)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("rshm sidecar printed %q: %v", line, err)
	}
	go io.Copy(io.Discard, stdout)
	side := &server{cmd: cmd, addr: addr}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app, err := rshmlib.Dial(ctx, "shm://"+addr, rshmlib.Config{
		Handshake: rshmlib.Handshake{SHM: shm.Config{Dir: shmDir}},
		Client:    rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	p, err := router.Route("items", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.RequestStream(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	const read = 1000
	for i := range read {
		if _, err := st.Recv(); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	// The application reads no more: the upstream must stop.
	var last int64 = -1
	rsockettest.Eventually(t, 10*time.Second, "the upstream to stop sending", func() bool {
		n := sent.Load()
		stopped := n == last
		last = n
		return stopped && n > 0
	})
	rss := side.rss(t)
	t.Logf("the application read %d items; the upstream sent %d of 10,000,000; sidecar RSS %d MiB", read, last, rss>>20)
	if last > 1_000_000 {
		t.Errorf("the upstream sent %d items to a reader that took %d: request(n) is not passed through", last, read)
	}
	if rss > 64<<20 {
		t.Errorf("sidecar RSS %d MiB with a stalled reader; want under 64 MiB", rss>>20)
	}
	st.Close()
}
