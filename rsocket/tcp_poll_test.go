//go:build unix

package rsocket

import (
	"io"
	"net"
	"testing"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (a, b *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	done := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			c = nil
		}
		done <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	must(t, err)
	s := <-done
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestPollReaderPrefixThenSocketThenEOF: the transport's reader gives the
// bytes a sniffer already read, then the socket's, then EOF.
func TestPollReaderPrefixThenSocketThenEOF(t *testing.T) {
	a, b := tcpPair(t)
	r := newPollReader(a, TCPConfig{Prefix: []byte("abc")})
	_, err := b.Write([]byte("defg"))
	must(t, err)
	must(t, b.Close())

	got, err := io.ReadAll(r)
	if err != nil || string(got) != "abcdefg" {
		t.Fatalf("read %q, %v; want abcdefg", got, err)
	}
	if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("after the end: %d, %v; want 0, EOF", n, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
