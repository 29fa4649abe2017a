package cli

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// TestServeQuiet: without -v, serving requests writes nothing to stderr.
func TestServeQuiet(t *testing.T) {
	s := startServe(t)
	ctx := testCtx(t)
	for _, args := range [][]string{{"--rr", "--data", "q"}, {"--stream"}, {"--channel", "--data", "c"}, {"--fnf"}, {"--metadata-push", "-m", "m"}} {
		if _, err := request(ctx, append(args, s.url)...); err != nil {
			t.Fatalf("request %q: %v", args, err)
		}
	}
	if log := s.log.String(); log != "" {
		t.Errorf("serve without -v logged:\n%s", log)
	}
	if out := s.out.String(); out != "" {
		t.Errorf("serve without --print printed: %q", out)
	}
}

// TestServePrint: --print writes every payload received, one line each,
// and answers as the echo responder does.
func TestServePrint(t *testing.T) {
	s := startServe(t, "--print")
	ctx := testCtx(t)
	for _, tt := range []struct {
		args []string
		want string // answer
	}{
		{[]string{"--rr", "--data", "p1"}, "p1\n"},
		{[]string{"--channel", "--data", "p2", "--data", "p3"}, "p2\np3\n"},
		{[]string{"--stream", "--data", "count:1"}, "0\n"},
		{[]string{"--metadata-push", "--metadata", "p4"}, ""},
		{[]string{"--fnf", "--data", "p5"}, ""},
	} {
		if got, err := request(ctx, append(tt.args, s.url)...); err != nil || got != tt.want {
			t.Errorf("request %q: %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
	rsockettest.Eventually(t, 5*time.Second, "six lines from serve --print", func() bool {
		return strings.Count(s.out.String(), "\n") >= 6
	})
	// The requests that wait for an answer are printed in order; the
	// metadata push and the fire-and-forget, answered by nothing, may be
	// handled in either order.
	got := strings.Split(strings.TrimSuffix(s.out.String(), "\n"), "\n")
	slices.Sort(got[4:])
	if want := []string{"p1", "p2", "p3", "count:1", "p4", "p5"}; !slices.Equal(got, want) {
		t.Errorf("serve --print printed %q; want %q", got, want)
	}
}

// TestServeRoute: serve --route answers requests for its routes and
// refuses the others.
func TestServeRoute(t *testing.T) {
	s := startServe(t, "--route", "a.b", "--route", "c", "--route", "c")
	ctx := testCtx(t)
	for _, args := range [][]string{
		{"--rr", "--route", "a.b", "--data", "x"},
		{"--stream", "--route", "c", "--data", "count:1"},
		{"--rr", "--route", "c", "--metadata-mime", "routing", "--data", "x"},
	} {
		if _, err := request(ctx, append(args, s.url)...); err != nil {
			t.Errorf("request %q: %v", args, err)
		}
	}
	for _, args := range [][]string{{"--rr", "--route", "other"}, {"--rr", "--data", "no route"}} {
		_, err := request(ctx, append(args, s.url)...)
		if re := (*rsocket.Error)(nil); !errors.As(err, &re) || re.Code != rsocket.CodeRejected {
			t.Errorf("request %q: %v; want REJECTED", args, err)
		}
	}
	if err := Serve(ctx, []string{"--route", strings.Repeat("r", 256), "127.0.0.1:0"}, nil, io.Discard, io.Discard); !errors.Is(err, ErrUsage) {
		t.Errorf("serve --route of 256 bytes: %v; want ErrUsage", err)
	}
}

// TestServeStopsPromptly: cancelling Serve's ctx (^C) returns at once
// with clients connected and a stream in flight, well within the
// handshake's 2 s timeout, and the client sees its connection end.
func TestServeStopsPromptly(t *testing.T) {
	for _, url := range []string{"127.0.0.1:0", "tcp://127.0.0.1:0"} {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() { // ends when cancel is called
			done <- Serve(ctx, []string{url}, nil, pw, io.Discard)
			pw.Close()
		}()
		line := make([]byte, 100)
		n, _ := pr.Read(line)
		go io.Copy(io.Discard, pr) // ends when Serve returns and closes pw
		addr := strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(string(line[:n]), "listening on ")), "tcp://")
		c, err := rshm.Dial(testCtx(t), addr, rshm.Config{Client: rsocket.ClientConfig{Prefetch: 1}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.RequestStream(testCtx(t), rsocket.Payload{Data: []byte("count:1000000")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
		idle, err := rshm.Dial(testCtx(t), addr, rshm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: Serve: %v", url, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s: Serve took %v to stop", url, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Serve still running 5 s after cancel", url)
		}
		for _, conn := range []*rshm.Conn{c, idle} {
			select {
			case <-conn.Done():
			case <-time.After(5 * time.Second):
				t.Errorf("%s: the client's connection is still open 5 s after serve stopped", url)
			}
			conn.Close()
		}
	}
}

// TestSHMDir: --shm-dir puts the regions of both sides in a directory; a
// client that names another one cannot use shared memory.
func TestSHMDir(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "--shm-dir", dir)
	ctx := testCtx(t)
	if out, err := request(ctx, "--rr", "--data", "d", "--shm-dir", dir, "shm://"+s.url); err != nil || out != "d\n" {
		t.Fatalf("shm:// with the server's directory: %q, %v", out, err)
	}
	if _, err := request(ctx, "--rr", "--data", "d", "--shm-dir", t.TempDir(), "shm://"+s.url); err == nil || !strings.Contains(err.Error(), "shm directory") {
		t.Fatalf("shm:// with another directory: %v, want a refusal naming the directory", err)
	}
}

// TestServeMetrics: --metrics serves the statistics of the connections
// being served, by transport.
func TestServeMetrics(t *testing.T) {
	s := startServe(t, "--metrics", "127.0.0.1:0")
	var url string
	rsockettest.Eventually(t, 5*time.Second, "the metrics address", func() bool {
		for _, l := range strings.Split(s.out.String(), "\n") {
			if u, ok := strings.CutPrefix(l, "metrics on "); ok {
				url = u
				return true
			}
		}
		return false
	})
	c, err := rshm.Dial(testCtx(t), "shm://"+s.url, rshm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.RequestResponse(testCtx(t), rsocket.Payload{Data: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`rshm_connections{transport="shm"} 1`, `rshm_frames_received{transport="shm"}`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), `rshm_frames_received{transport="shm"} 0`) {
		t.Fatalf("/metrics counts no frame received over shared memory:\n%s", body)
	}
}

// TestServeWebSocket: rshm serve at a ws:// URL answers rshm request at
// it, with the frame dump too.
func TestServeWebSocket(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, []string{"ws://127.0.0.1:0/rs"}, nil, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	var line string
	buf := make([]byte, 256)
	n, err := pr.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSpace(string(buf[:n]))
	go io.Copy(io.Discard, pr)
	url, ok := strings.CutPrefix(line, "listening on ")
	if !ok || !strings.HasPrefix(url, "ws://127.0.0.1:") || !strings.HasSuffix(url, "/rs") {
		t.Fatalf("serve printed %q", line)
	}
	if out, err := request(testCtx(t), "--rr", "--data", "w", url); err != nil || out != "w\n" {
		t.Fatalf("request over WebSocket: %q, %v", out, err)
	}
	if out, err := request(testCtx(t), "--rr", "--data", "d", "--debug", url); err != nil || out != "d\n" {
		t.Fatalf("request over WebSocket with --debug: %q, %v", out, err)
	}
}
