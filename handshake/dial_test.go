package handshake

import (
	"errors"
	"net"
	"testing"

	"github.com/rshm/rshm/rsocket"
)

// TestDialHTTPServer: a server that answers the hello with an HTTP
// response (as HTTP servers answer a request they cannot parse) fails Dial
// with ErrNotRSocket instead of a redial for plain RSocket.
func TestDialHTTPServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var b [64]byte
			_, _ = c.Read(b[:])
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
			c.Close()
		}
	}()
	_, _, err = Dial(ctxT(t), ln.Addr().String(), testConfig(t))
	if !errors.Is(err, ErrNotRSocket) {
		t.Fatalf("Dial to an HTTP server: %v, want ErrNotRSocket", err)
	}
}

// TestAutoFallbackReported: a client in Auto mode that ends up on TCP
// with a loopback peer reports why through OnFallback.
func TestAutoFallbackReported(t *testing.T) {
	scfg := testConfig(t)
	scfg.hooks = &hooks{bootID: func() ([16]byte, error) { return [16]byte{1}, nil }}
	l := listen(t, scfg)
	go func() {
		if a, err := l.Accept(ctxT(t)); err == nil {
			a.Transport.Close()
		}
	}()
	var why error
	ccfg := testConfig(t)
	ccfg.OnFallback = func(err error) { why = err }
	tr, k, err := Dial(ctxT(t), l.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if k != KindTCP || !errors.Is(why, ErrRefused) {
		t.Fatalf("kind %v, OnFallback got %v; want TCP and the server's refusal", k, why)
	}
}

// TestAutoNoHelloToRemote: Auto mode speaks plain RSocket to an address
// that is not loopback, even when the peer is on this host and would
// agree to shared memory.
func TestAutoNoHelloToRemote(t *testing.T) {
	ip := nonLoopbackIP(t)
	cfg := testConfig(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %v: %v", ip, err)
	}
	l := NewListener(ln, cfg)
	defer l.Close()
	called := false
	ccfg := cfg
	ccfg.OnFallback = func(error) { called = true }
	tr, k, err := Dial(ctxT(t), ln.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// The server sniffs the first bytes: send the SETUP.
	go func() { _, _ = rsocket.Client(ctxT(t), tr, rsocket.ClientConfig{}) }()
	a, err := l.Accept(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Transport.Close()
	if k != KindTCP || a.Kind != KindTCP || called {
		t.Fatalf("client kind %v, server kind %v, fallback reported %v; want TCP on both, none reported", k, a.Kind, called)
	}
}

// nonLoopbackIP returns an address of this host that is not loopback, or
// skips the test.
func nonLoopbackIP(t *testing.T) net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	t.Skip("this host has no IPv4 address besides loopback")
	return nil
}

// TestErrorText: an error names the package once, then the step, then the
// cause, however deep the causes that carry the prefix too.
func TestErrorText(t *testing.T) {
	_, text := reasonOf(refuse(ReasonDir, ErrMismatch)) // what the peer sends
	err := &Error{Step: StepReply, Err: &peerRefusal{refusal{ReasonDir, text}}}
	want := "handshake: reply: peer refused shared memory: different shm directory: peer is not co-located"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}
