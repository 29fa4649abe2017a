package rshmbench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
)

func startRaw(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := serveRaw(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

func TestRawEcho(t *testing.T) {
	addr := startRaw(t)
	ctx := context.Background()
	for _, size := range []int{1, 64, 100_000} {
		rc, err := dialRaw(ctx, "tcp", addr, opEcho, size)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rc.out[frameHdrLen:] {
			rc.out[frameHdrLen+i] = byte(i)
		}
		for range 3 {
			if err := rc.roundTrip(); err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if !bytes.Equal(rc.in, rc.out) {
				t.Fatalf("size %d: echo differs", size)
			}
		}
		rc.Close()
	}
}

func TestRawStreamStamped(t *testing.T) {
	addr := startRaw(t)
	rc, err := dialRaw(context.Background(), "tcp", addr, opStream, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	for range 100 {
		p, err := rc.recv()
		if err != nil {
			t.Fatal(err)
		}
		lat, ok := benchkit.Since(p)
		if !ok || lat < 0 || lat > int64(10*time.Second) {
			t.Fatalf("one-way delay %d ns (ok %v); want a small positive value", lat, ok)
		}
	}
}

// TestRawRoundTripAllocs: the baseline's hot path does not allocate, so
// the comparison does not charge it for garbage.
func TestRawRoundTripAllocs(t *testing.T) {
	addr := startRaw(t)
	rc, err := dialRaw(context.Background(), "tcp", addr, opEcho, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if n := testing.AllocsPerRun(200, func() {
		if err := rc.roundTrip(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("roundTrip: %v allocations; want 0", n)
	}
}

func TestReadFrame(t *testing.T) {
	frame := func(n uint32, body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, n), body...)
	}
	for i, c := range []struct {
		in      []byte
		payload string
		err     error
	}{
		{frame(3, []byte("abc")), "abc", nil},
		{frame(0, nil), "", nil},
		{frame(benchkit.MaxSize+1, nil), "", ErrCorrupt},
		{frame(0xffffffff, nil), "", ErrCorrupt},
		{frame(5, []byte("ab")), "", errors.New("unexpected EOF")},
		{[]byte{0, 0}, "", errors.New("unexpected EOF")},
	} {
		_, p, err := readFrame(bytes.NewReader(c.in), nil)
		switch {
		case c.err == nil && (err != nil || string(p) != c.payload):
			t.Errorf("%d: got %q, %v; want %q", i, p, err, c.payload)
		case c.err == ErrCorrupt && !errors.Is(err, ErrCorrupt):
			t.Errorf("%d: got %v; want ErrCorrupt", i, err)
		case c.err != nil && err == nil:
			t.Errorf("%d: got no error; want %v", i, c.err)
		}
	}
}

// FuzzReadFrame: any bytes from a peer give a frame within
// benchkit.MaxSize or an error, never a panic.
func FuzzReadFrame(f *testing.F) {
	f.Add(binary.BigEndian.AppendUint32(nil, 3), []byte("abc"))
	f.Add(binary.BigEndian.AppendUint32(nil, benchkit.MaxSize+1), []byte{})
	f.Add([]byte{0, 0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, hdr, body []byte) {
		in := append(append([]byte(nil), hdr...), body...)
		fr, p, err := readFrame(bytes.NewReader(in), make([]byte, 0, 8))
		if err != nil {
			return
		}
		if len(p) > benchkit.MaxSize || len(fr) != frameHdrLen+len(p) || int(binary.BigEndian.Uint32(fr)) != len(p) {
			t.Fatalf("frame of %d bytes, payload %d, header %x", len(fr), len(p), fr[:frameHdrLen])
		}
	})
}
