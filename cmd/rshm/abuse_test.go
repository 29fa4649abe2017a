package main

// The abuse suite: attacks on a real `rshm serve` process, each asserting
// the bound the server keeps while under it (memory, a real client still
// served, other connections alive). The attacks are those of a same-host
// attacker with a socket: they need no privileges.

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rshmlib "github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
)

// maxServerRSS is the resident memory a server under attack stays below.
const maxServerRSS = 100 << 20

// server is a running `rshm serve`.
type server struct {
	cmd  *exec.Cmd
	addr string // host:port
}

// startServe starts `rshm serve` on a free loopback port and stops it
// (SIGKILL) when the test ends.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	if testing.Short() {
		t.Skip("the abuse suite runs real server processes; not with -short")
	}
	cmd := rshm(context.Background(), append(append([]string{"serve"}, args...), "127.0.0.1:0")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("rshm serve printed %q: %v", line, err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("rshm serve printed %q", line)
	}
	return &server{cmd: cmd, addr: addr}
}

// rss returns the server's resident set size in bytes.
func (s *server) rss(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Skipf("no /proc status for the server: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in the server's status")
	return 0
}

// alive checks that the server still serves: a client of each transport
// dials and makes a request, and returns how long that took.
func (s *server) alive(t *testing.T, what string) {
	t.Helper()
	for _, scheme := range []string{"shm://", "tcp://"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		c, err := rshmlib.Dial(ctx, scheme+s.addr, rshmlib.Config{})
		if err != nil {
			cancel()
			t.Fatalf("%s: %s client: dial: %v", what, scheme, err)
		}
		p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("still there?")})
		took := time.Since(start)
		c.Close()
		cancel()
		if err != nil || string(p.Data) != "still there?" {
			t.Fatalf("%s: %s client: request: %q, %v", what, scheme, p.Data, err)
		}
		t.Logf("%s: %s client dialed and was answered in %v", what, scheme, took)
	}
}

// frame appends one RSocket-over-TCP frame: the 24-bit length, the stream
// id, type and flags, and body.
func frame(b []byte, stream uint32, typ, flags uint16, body ...[]byte) []byte {
	n := 6
	for _, p := range body {
		n += len(p)
	}
	b = append(b, byte(n>>16), byte(n>>8), byte(n))
	b = binary.BigEndian.AppendUint32(b, stream)
	b = binary.BigEndian.AppendUint16(b, typ<<10|flags)
	for _, p := range body {
		b = append(b, p...)
	}
	return b
}

// Frame types and flags of the RSocket spec that the attacks send.
const (
	typeSetup          = 0x01
	typeRequestResp    = 0x04
	typePayload        = 0x0A
	flagFollows        = 1 << 7
	flagNext           = 1 << 5
	setupKeepaliveBody = 4 + 4 + 4 // version, keepalive interval, max lifetime
)

// setupFrame is a SETUP with the given keepalive interval and lifetime.
func setupFrame(keepalive, lifetime time.Duration) []byte {
	body := make([]byte, 0, 64)
	body = binary.BigEndian.AppendUint16(body, 1)
	body = binary.BigEndian.AppendUint16(body, 0)
	body = binary.BigEndian.AppendUint32(body, uint32(keepalive.Milliseconds()))
	body = binary.BigEndian.AppendUint32(body, uint32(lifetime.Milliseconds()))
	mime := "application/binary"
	body = append(body, byte(len(mime)))
	body = append(body, mime...)
	body = append(body, byte(len(mime)))
	body = append(body, mime...)
	return frame(nil, 0, typeSetup, 0, body)
}

// TestAbuseDeclaredLengths: sockets that declare 16 MiB frames before
// SETUP, send a little and hang up, round after round, and finally hold,
// do not make the server hold 16 MiB each (a reused buffer is zeroed, so
// a server that allocates what the peer declares touches all of it).
func TestAbuseDeclaredLengths(t *testing.T) {
	s := startServe(t)
	hdr := []byte{0xff, 0xff, 0xff, 0, 0, 0, 0, 0x04, 0}
	attack := func() []net.Conn {
		var socks []net.Conn
		for range 64 {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			socks = append(socks, c)
			if _, err := c.Write(append(hdr, make([]byte, 4096)...)); err != nil {
				t.Fatal(err)
			}
		}
		return socks
	}
	for range 4 {
		for _, c := range attack() {
			c.Close()
		}
	}
	socks := attack()
	defer func() {
		for _, c := range socks {
			c.Close()
		}
	}()
	s.alive(t, "64 sockets declaring 16 MiB frames")
	t.Logf("server RSS %d MiB", s.rss(t)>>20)
	if rss := s.rss(t); rss > maxServerRSS {
		t.Fatalf("server RSS %d MiB with 64 sockets declaring 16 MiB frames; want under %d MiB", rss>>20, maxServerRSS>>20)
	}
}

// TestAbuseEndlessFragments: one connection opens 40 requests and sends
// 15 MiB of fragments for each, never the last one. The server refuses
// them past the connection's reassembly budget and its memory stays
// bounded; it keeps serving other clients.
func TestAbuseEndlessFragments(t *testing.T) {
	s := startServe(t)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var answers sync.WaitGroup
	answers.Add(1)
	go func() { // the server's ERROR frames, until it closes
		defer answers.Done()
		_, _ = io.Copy(io.Discard, c)
	}()
	w := bufio.NewWriterSize(c, 1<<20)
	if _, err := w.Write(setupFrame(time.Minute, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	const streams, perStream, chunk = 40, 15 << 20, 60 << 10
	junk := make([]byte, chunk)
	var f []byte
	sent := 0
	for i := range streams {
		id := uint32(2*i + 1)
		f = frame(f[:0], id, typeRequestResp, flagFollows, junk)
		if _, err := w.Write(f); err != nil {
			break // the server closed the connection: also a refusal
		}
		for n := chunk; n < perStream; n += chunk {
			f = frame(f[:0], id, typePayload, flagFollows|flagNext, junk)
			if _, err := w.Write(f); err != nil {
				break
			}
			sent += chunk
		}
	}
	_ = w.Flush()
	t.Logf("sent %d MiB of unfinished fragments; server RSS %d MiB", sent>>20, s.rss(t)>>20)
	if rss := s.rss(t); rss > maxServerRSS {
		t.Fatalf("server RSS %d MiB while 40 requests' fragments are unfinished; want under %d MiB", rss>>20, maxServerRSS>>20)
	}
	s.alive(t, "after endless fragments")
	c.Close()
	answers.Wait()
	t.Logf("server RSS %d MiB after the connection closed", s.rss(t)>>20)
	if rss := s.rss(t); rss > maxServerRSS {
		t.Fatalf("server RSS %d MiB after the connection closed; want under %d MiB", rss>>20, maxServerRSS>>20)
	}
}

// TestAbuseIdleFlood: 1,000 sockets that connect and send nothing do not
// keep real clients, shared memory or TCP, from being served.
func TestAbuseIdleFlood(t *testing.T) {
	s := startServe(t)
	var socks []net.Conn
	defer func() {
		for _, c := range socks {
			c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, c)
	}
	s.alive(t, "1,000 idle sockets")
	t.Logf("server RSS %d MiB", s.rss(t)>>20)
	if rss := s.rss(t); rss > maxServerRSS {
		t.Fatalf("server RSS %d MiB with 1,000 idle sockets; want under %d MiB", rss>>20, maxServerRSS>>20)
	}
}
