package rshmbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/rshm/rshm/internal/benchkit"
)

// The raw baselines speak the protocol a user would write by hand: a
// hello, then length-prefixed frames.
//
//	hello, client → server, once:
//	  0       1                 5
//	  +-------+-----------------+
//	  | op u8 | size u32 (BE)   |   op: 'E' echo, 'S' stream
//	  +-------+-----------------+
//
//	frame, either way:
//	  0                 4                      4+length
//	  +-----------------+----------------------+
//	  | length u32 (BE) | payload              |
//	  +-----------------+----------------------+
//
// Echo: the server writes every frame back as it is. Stream: the server
// writes size-byte frames, each starting with its wall clock in ns
// (little-endian int64, benchkit.Stamp) when size >= 8, through a 64 KiB
// bufio.Writer (flushed when full, as a user streaming would), until the
// client hangs up.
const (
	helloLen    = 1 + 4
	frameHdrLen = 4
	opEcho      = 'E'
	opStream    = 'S'
	rawBufSize  = 64 << 10
)

// ErrCorrupt reports a raw frame whose length is out of range or not the
// one expected.
var ErrCorrupt = errors.New("rshmbench: corrupt frame")

// readFrame reads one frame into buf, growing it up to benchkit.MaxSize,
// and returns the frame (header included) and the payload.
func readFrame(r io.Reader, buf []byte) (frame, payload []byte, err error) {
	if cap(buf) < frameHdrLen {
		buf = make([]byte, frameHdrLen, rawBufSize)
	}
	buf = buf[:frameHdrLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, nil, err
	}
	n := binary.BigEndian.Uint32(buf)
	if n > benchkit.MaxSize {
		return buf, nil, fmt.Errorf("%w: length %d over %d", ErrCorrupt, n, benchkit.MaxSize)
	}
	total := frameHdrLen + int(n)
	if cap(buf) < total {
		nb := make([]byte, total)
		copy(nb, buf)
		buf = nb
	}
	buf = buf[:total]
	if _, err := io.ReadFull(r, buf[frameHdrLen:]); err != nil {
		return buf, nil, err
	}
	return buf, buf[frameHdrLen:], nil
}

// rawServer serves the raw protocol on a listener until Close.
//
// Goroutines: one accept loop and one per connection; Close ends them all
// and waits.
type rawServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func serveRaw(ln net.Listener) *rawServer {
	s := &rawServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s
}

func (s *rawServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.conns == nil { // closed
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = handleRaw(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// handleRaw serves one connection until it fails or the peer hangs up.
func handleRaw(c net.Conn) error {
	br := bufio.NewReaderSize(c, rawBufSize)
	var hello [helloLen]byte
	if _, err := io.ReadFull(br, hello[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(hello[1:])
	if size > benchkit.MaxSize {
		return fmt.Errorf("%w: stream size %d", ErrCorrupt, size)
	}
	switch hello[0] {
	case opEcho:
		buf := make([]byte, frameHdrLen+int(size))
		for {
			frame, _, err := readFrame(br, buf)
			if err != nil {
				return err
			}
			buf = frame
			if _, err := c.Write(frame); err != nil {
				return err
			}
		}
	case opStream:
		bw := bufio.NewWriterSize(c, rawBufSize)
		frame := make([]byte, frameHdrLen+int(size))
		binary.BigEndian.PutUint32(frame, size)
		for {
			benchkit.Stamp(frame[frameHdrLen:])
			if _, err := bw.Write(frame); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w: op %q", ErrCorrupt, hello[0])
}

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (s *rawServer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// rawConn is the client end of one raw connection.
type rawConn struct {
	c    net.Conn
	br   *bufio.Reader // stream only
	out  []byte        // the echo frame sent each round trip
	in   []byte
	size int
}

func dialRaw(ctx context.Context, network, addr string, op byte, size int) (*rawConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	hello := [helloLen]byte{op}
	binary.BigEndian.PutUint32(hello[1:], uint32(size))
	if _, err := c.Write(hello[:]); err != nil {
		c.Close()
		return nil, err
	}
	r := &rawConn{c: c, size: size, in: make([]byte, frameHdrLen+size)}
	if op == opEcho {
		r.out = make([]byte, frameHdrLen+size)
		binary.BigEndian.PutUint32(r.out, uint32(size))
	} else {
		r.br = bufio.NewReaderSize(c, rawBufSize)
	}
	return r, nil
}

// roundTrip sends the echo frame and reads it back.
func (r *rawConn) roundTrip() error {
	if _, err := r.c.Write(r.out); err != nil {
		return err
	}
	if _, err := io.ReadFull(r.c, r.in); err != nil {
		return err
	}
	if n := binary.BigEndian.Uint32(r.in); n != uint32(r.size) {
		return fmt.Errorf("%w: echo of %d bytes, want %d", ErrCorrupt, n, r.size)
	}
	return nil
}

// recv reads one stream frame and returns its payload.
func (r *rawConn) recv() ([]byte, error) {
	frame, p, err := readFrame(r.br, r.in)
	if err != nil {
		return nil, err
	}
	r.in = frame
	if len(p) != r.size {
		return nil, fmt.Errorf("%w: stream frame of %d bytes, want %d", ErrCorrupt, len(p), r.size)
	}
	return p, nil
}

func (r *rawConn) Close() error { return r.c.Close() }
