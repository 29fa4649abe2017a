package interop

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// frameTap is a TCP proxy between an RSocket client and server that parses
// the length-prefixed frames going each way, so a test can see on the wire
// what the two sides did (fragment sizes, F flags).
type frameTap struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	stats [2]tapStats // [0] client to server, [1] server to client
}

// tapStats describes the frames seen in one direction.
type tapStats struct {
	Frames    int
	MaxFrame  int // largest frame, length prefix not counted
	Follows   int // frames with the F (follows) flag
	Malformed bool
}

const (
	toServer = 0
	toClient = 1

	flagFollows = 0x080
)

// startTap listens on a free loopback port and forwards every connection to
// target until the test ends.
func startTap(t *testing.T, target string) *frameTap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &frameTap{ln: ln, target: target}
	var wg sync.WaitGroup
	var connsMu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() { // owned by the test: ends when ln closes in Cleanup
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			connsMu.Lock()
			conns = append(conns, c, s)
			connsMu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); p.pump(toServer, s, c) }()
			go func() { defer wg.Done(); p.pump(toClient, c, s) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	return p
}

func (p *frameTap) addr() string { return p.ln.Addr().String() }

// pump copies frames from src to dst, recording each.
func (p *frameTap) pump(dir int, dst, src net.Conn) {
	defer dst.Close()
	r := bufio.NewReader(src)
	var hdr [3]byte
	buf := make([]byte, 0, 64<<10)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		buf = append(buf[:0], hdr[:]...)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(r, buf[3:]); err != nil {
			return
		}
		p.mu.Lock()
		st := &p.stats[dir]
		st.Frames++
		st.MaxFrame = max(st.MaxFrame, n)
		if n < 6 {
			st.Malformed = true
		} else if binary.BigEndian.Uint16(buf[3+4:])&flagFollows != 0 {
			st.Follows++
		}
		p.mu.Unlock()
		if _, err := dst.Write(buf); err != nil {
			return
		}
	}
}

// snapshot returns the statistics so far and resets them.
func (p *frameTap) snapshot() [2]tapStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	p.stats = [2]tapStats{}
	return s
}
