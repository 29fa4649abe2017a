package rshm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/shm"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		addr string
		mode Mode
		err  bool
	}{
		{"shm://127.0.0.1:7878", "127.0.0.1:7878", SHMOnly, false},
		{"tcp://127.0.0.1:7878", "127.0.0.1:7878", TCPOnly, false},
		{"TCP://localhost:1/", "localhost:1", TCPOnly, false},
		{"127.0.0.1:7878", "127.0.0.1:7878", Auto, false},
		{"[::1]:7878", "[::1]:7878", Auto, false},
		{":0", "127.0.0.1:0", Auto, false},
		{"tcp://:9000", "127.0.0.1:9000", TCPOnly, false},
		{"shm://:7878", "127.0.0.1:7878", SHMOnly, false},
		{"tcp://[::1]:7878", "[::1]:7878", TCPOnly, false},
		{"0.0.0.0:7878", "0.0.0.0:7878", Auto, false},
		{"http://127.0.0.1:7878", "", 0, true},
		{"ws://127.0.0.1:80", "", 0, true},
		{"shm://127.0.0.1", "", 0, true},
		{"shm://rshm-x", "", 0, true},
		{"tcp://127.0.0.1:", "", 0, true},
		{"127.0.0.1", "", 0, true},
		{"", "", 0, true},
	}
	for i, tc := range tests {
		addr, mode, err := ParseURL(tc.in)
		if addr != tc.addr || mode != tc.mode || (err != nil) != tc.err {
			t.Errorf("%d %q: got %q, %v, %v; want %q, %v, error %v", i, tc.in, addr, mode, err, tc.addr, tc.mode, tc.err)
		}
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Errorf("%d: %v is not ErrBadURL", i, err)
			}
			continue
		}
		if back, m, err := ParseURL(URL(addr, mode)); err != nil || back != addr || m != mode {
			t.Errorf("%d: ParseURL(URL(%q, %v)) = %q, %v, %v", i, addr, mode, back, m, err)
		}
	}
}

// TestListenEmptyHost: an empty host listens on 127.0.0.1, not on every
// interface.
func TestListenEmptyHost(t *testing.T) {
	for _, addr := range []string{":0", "tcp://:0"} {
		l, err := Listen(addr, testConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		got := l.Addr().(*net.TCPAddr).IP
		l.Close()
		if !got.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Errorf("Listen(%q) bound %v; want 127.0.0.1", addr, got)
		}
	}
}

func ExampleParseURL() {
	for _, s := range []string{"shm://127.0.0.1:7878", "tcp://127.0.0.1:7878", "127.0.0.1:7878"} {
		addr, mode, _ := ParseURL(s)
		fmt.Println(addr, mode)
	}
	// Output:
	// 127.0.0.1:7878 shm
	// 127.0.0.1:7878 tcp
	// 127.0.0.1:7878 auto
}

type echo struct{ rsocket.RejectAll }

func (echo) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p.Clone(), nil
}

func testConfig(t *testing.T) Config {
	return Config{
		Handshake: Handshake{SHM: shm.Config{Dir: t.TempDir()}, RingSize: 64 << 10},
		Server: rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return echo{}, nil
		}},
	}
}

func roundTrip(t *testing.T, c interface {
	RequestResponse(context.Context, rsocket.Payload) (rsocket.Payload, error)
}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("ping")})
	if err != nil || string(p.Data) != "ping" {
		t.Fatalf("got %q, %v", p.Data, err)
	}
}

// TestListenDial: every way of dialing the one port, and the transport each
// side reports.
func TestListenDial(t *testing.T) {
	cfg := testConfig(t)
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	tests := []struct {
		addr string
		want Kind
	}{
		{"shm://" + addr, KindSHM},
		{addr, KindSHM},
		{"tcp://" + addr, KindTCP},
	}
	for _, tc := range tests {
		c, err := Dial(ctx, tc.addr, cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		s, err := l.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind() != tc.want || s.Kind() != tc.want {
			t.Fatalf("%s: client %v, server %v; want %v", tc.addr, c.Kind(), s.Kind(), tc.want)
		}
		roundTrip(t, c)
		c.Close()
		s.Close()
	}
	// A plain RSocket client.
	c, err := rsocket.DialTCP(ctx, addr, rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Kind() != KindTCP {
		t.Fatalf("plain client served over %v", s.Kind())
	}
	roundTrip(t, c)
	if es, _ := os.ReadDir(cfg.SHM.Dir); len(es) != 0 {
		t.Fatalf("left in the shm directory: %d files", len(es))
	}
}

// TestSHMOnlyAgainstPlainServer: shm:// against a plain RSocket server is
// a clear error naming the step; a plain address falls back to TCP.
func TestSHMOnlyAgainstPlainServer(t *testing.T) {
	cfg := testConfig(t)
	ln, err := rsocket.ListenTCP("127.0.0.1:0", cfg.Server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	go ln.Serve(ctx)
	_, err = Dial(ctx, "shm://"+ln.Addr().String(), cfg)
	var he *handshake.Error
	if !errors.As(err, &he) || he.Step != handshake.StepReply {
		t.Fatalf("got %v; want a *handshake.Error at the reply step", err)
	}
	c, err := Dial(ctx, ln.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Kind() != KindTCP {
		t.Fatalf("kind %v; want tcp", c.Kind())
	}
	roundTrip(t, c)
}
