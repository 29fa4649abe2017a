package rsocket_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// FuzzConnFrames feeds arbitrary frames to a server Conn after a valid
// SETUP: input is a sequence of [u16 length][frame]. Nothing may panic, and
// the Conn must close once the peer closes (no hang).
func FuzzConnFrames(f *testing.F) {
	seeds := [][]byte{
		wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, []byte("m"), []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestFNF, 3, 0, 0, nil, []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestStream, 5, 0, 2, []byte("4"), []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestChannel, 7, 0, 2, nil, []byte("d")),
		wire.AppendRequest(nil, wire.TypeRequestChannel, 9, wire.FlagFollows, 2, []byte("m"), nil),
		wire.AppendPayload(nil, 9, wire.FlagNext|wire.FlagFollows, []byte("m"), []byte("d")),
		wire.AppendPayload(nil, 9, wire.FlagNext|wire.FlagComplete, nil, []byte("d")),
		wire.AppendPayload(nil, 7, wire.FlagNext, nil, []byte("d")),
		wire.AppendRequestN(nil, 5, 10),
		wire.AppendCancel(nil, 5),
		wire.AppendError(nil, 7, wire.ErrApplicationError, "e"),
		wire.AppendKeepalive(nil, true, 0, []byte("k")),
		wire.AppendMetadataPush(nil, []byte("p")),
		wire.AppendLease(nil, 1, 1, nil),
		wire.AppendError(nil, 0, wire.ErrConnectionClose, "bye"),
		wire.AppendHeader(nil, 0, 0x30, wire.FlagIgnore),
	}
	var all []byte
	for _, s := range seeds {
		one := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
		one = append(one, s...)
		f.Add(one)
		all = append(all, one...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, in []byte) {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		defer ct.Close()
		r := newRaw(t, ct)
		go func() {
			for range r.frames {
			}
		}()
		connc := make(chan *rsocket.Conn, 1)
		go func() {
			c, _ := rsocket.Server(context.Background(), st, rsocket.ServerConfig{MTU: 64, MaxMessageSize: 256, Prefetch: 2,
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					return &rsockettest.Echo{}, nil
				}})
			connc <- c
		}()
		r.send(setupFrame(0, 1))
		c := <-connc
		if c == nil {
			t.Fatal("setup refused")
		}
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			if n > len(in) {
				n = len(in)
			}
			b, err := ct.Claim(context.Background(), n)
			if err != nil {
				break // the conn closed the pipe
			}
			copy(b, in[:n])
			ct.Commit(n)
			in = in[n:]
		}
		ct.Close()
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("conn did not close after the peer closed")
		}
	})
}

// byteConn is a net.Conn that reads its input and discards what is
// written to it.
type byteConn struct {
	r      *bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func newByteConn(in []byte) *byteConn {
	return &byteConn{r: bytes.NewReader(in), closed: make(chan struct{})}
}

func (c *byteConn) Read(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.r.Read(b)
}

func (c *byteConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return len(b), nil
}

func (c *byteConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *byteConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *byteConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *byteConn) SetDeadline(time.Time) error      { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

// lengthPrefixed returns the frames with the TCP transport's 24-bit
// length before each.
func lengthPrefixed(frames ...[]byte) []byte {
	var b []byte
	for _, f := range frames {
		n := len(f)
		b = append(b, byte(n>>16), byte(n>>8), byte(n))
		b = append(b, f...)
	}
	return b
}

// FuzzTCPReceive feeds arbitrary bytes, as a TCP peer would send them, to
// a server Conn over the TCP transport: nothing may panic, the connection
// must end with an error once the bytes run out, and the memory allocated
// must stay within a bound set by the input's length (a declared frame
// length is the peer's word, not memory it is owed).
func FuzzTCPReceive(f *testing.F) {
	setup := setupFrame(0, 1)
	big := wire.AppendRequest(nil, wire.TypeRequestResponse, 1, 0, 0, nil, make([]byte, 70<<10))
	declared := append(lengthPrefixed(setup), 0xff, 0xff, 0xff)
	declared = wire.AppendHeader(declared, 1, wire.TypeRequestFNF, 0)
	for _, seed := range [][]byte{
		{0xff, 0xff, 0xff, 0, 0, 0, 0, 4, 0},
		declared,
		lengthPrefixed(setup),
		lengthPrefixed(setup, big),
		lengthPrefixed(setup,
			wire.AppendRequest(nil, wire.TypeRequestStream, 1, 0, 4, []byte("3"), []byte("d")),
			wire.AppendRequest(nil, wire.TypeRequestResponse, 3, wire.FlagFollows, 0, []byte("m"), []byte("d")),
			wire.AppendPayload(nil, 3, wire.FlagFollows|wire.FlagNext, nil, []byte("d")),
			wire.AppendKeepalive(nil, true, 0, []byte("k"))),
		lengthPrefixed(wire.AppendResume(nil, 1, 0, []byte("tok"), 0, 0)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		done := make(chan error, 1)
		go func() {
			c, err := rsocket.Server(context.Background(), rsocket.NewTCPTransport(newByteConn(in)), rsocket.ServerConfig{
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					return &rsockettest.Echo{}, nil
				}})
			if err == nil {
				<-c.Done()
				err = c.Err()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("the connection ended without an error")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the connection did not end when the input did")
		}
		runtime.ReadMemStats(&after)
		// The transport's and the Conn's own buffers, and a few times the
		// input (copies for handlers, answers, a frame's read buffer).
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(4<<20+16*len(in)); got > limit {
			t.Fatalf("allocated %d KiB for %d bytes of input, want at most %d KiB", got>>10, len(in), limit>>10)
		}
	})
}
