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
// what the two sides did (fragment sizes, F flags, every frame in order),
// and can cut the connections it carries (cut) to make a client resume.
type frameTap struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	stats  [2]tapStats // [0] client to server, [1] server to client
	log    []tapFrame  // every frame read, in order (one read just before a cut may not have reached the other side)
	live   []net.Conn  // both ends of the connections not yet cut
	nconns int         // connections accepted so far
}

// tapFrame is one frame the tap read.
type tapFrame struct {
	Dir  int    // toServer or toClient
	Conn int    // which proxied connection: 0 for the first accepted
	Raw  []byte // the frame without its length prefix
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
			p.mu.Lock()
			p.live = append(p.live, c, s)
			n := p.nconns
			p.nconns++
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); p.pump(toServer, n, s, c) }()
			go func() { defer wg.Done(); p.pump(toClient, n, c, s) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		wg.Wait()
	})
	return p
}

func (p *frameTap) addr() string { return p.ln.Addr().String() }

func (p *frameTap) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// pump copies frames from src to dst, recording each; conn is the index
// of the proxied connection.
func (p *frameTap) pump(dir, conn int, dst, src net.Conn) {
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
		p.log = append(p.log, tapFrame{Dir: dir, Conn: conn, Raw: append([]byte(nil), buf[3:]...)})
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

// cut closes both ends of every connection the tap carries now, as a
// network failure would: frames in flight are lost. The tap keeps
// listening, so the client can reconnect through it.
func (p *frameTap) cut() {
	p.mu.Lock()
	live := p.live
	p.live = nil
	p.mu.Unlock()
	for _, c := range live {
		c.Close()
	}
}

// frames returns the frames read so far, in order.
func (p *frameTap) frames() []tapFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]tapFrame(nil), p.log...)
}
