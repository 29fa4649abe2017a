package handshake

import (
	"bytes"
	"context"
	"net"
	"os"
	"testing"
	"time"
)

// byteConn is a net.Conn that reads in and discards what is written: a
// peer that sends in and hangs up.
type byteConn struct {
	r *bytes.Reader
}

func (c *byteConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *byteConn) Write(b []byte) (int, error) { return len(b), nil }
func (c *byteConn) Close() error                { return nil }
func (c *byteConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7878} }
func (c *byteConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *byteConn) SetDeadline(time.Time) error      { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServer feeds the server side of the handshake what a peer sends on
// the socket: whatever it is, Server ends (with an error, or a transport
// it hands over), never panics, and leaves nothing in the shm directory.
func FuzzServer(f *testing.F) {
	host, err := localHost(&Config{})
	if err != nil {
		f.Skip(err)
	}
	hi := appendHello(nil, hello{version: Version, pageSize: uint32(os.Getpagesize()), host: host,
		uid: uint32(os.Getuid()), pid: uint32(os.Getpid())})
	f.Add(hi)
	f.Add(hi[:len(hi)/2])
	f.Add([]byte{0, 0, 9, 'R', 'S', 'H', 'M', 0xff, 0xff, 0xff, 1, 2, 3})
	f.Add([]byte{0xff, 0xff, 0xff, 0, 0, 0, 0, 0x04, 0})
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := Config{SHM: shmConfig(dir), Timeout: time.Second, RingSize: 1 << 16}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tr, _, err := Server(ctx, &byteConn{r: bytes.NewReader(in)}, cfg)
		if err == nil {
			tr.Close()
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Fatalf("left in the shm directory: %d files", len(es))
		}
	})
}
