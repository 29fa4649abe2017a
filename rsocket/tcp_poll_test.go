//go:build unix

package rsocket

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
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

func TestPollReaderPrefixThenSocketThenEOF(t *testing.T) {
	a, b := tcpPair(t)
	r := newPollReader(a, TCPConfig{Prefix: []byte("abc")})
	if r.rc == nil {
		t.Fatal("a TCP connection does not poll")
	}
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

func TestPollReaderNegativePollReadsPlainly(t *testing.T) {
	a, b := tcpPair(t)
	r := newPollReader(a, TCPConfig{Poll: -1})
	if r.rc != nil {
		t.Fatal("a negative Poll polls")
	}
	_, err := b.Write([]byte("x"))
	must(t, err)
	buf := make([]byte, 4)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("read %q, %v; want x", buf[:n], err)
	}
}

// An idle reader polls for its budget and then parks: over 300 ms of an idle
// socket the process spends a small fraction of the CPU a reader that never
// parked would (all of one CPU).
func TestPollReaderParksWhenIdle(t *testing.T) {
	if used := idleReadCPU(t, 200*time.Microsecond, 300*time.Millisecond); used >= 60*time.Millisecond {
		t.Fatalf("an idle reader kept polling: %v of CPU in 300 ms", used)
	}
}

// A reader with an unbounded budget never parks: the counter-test of the one
// above, showing that it measures polling.
func TestPollReaderUnboundedPollsUntilData(t *testing.T) {
	if testing.Short() {
		t.Skip("burns 150 ms of CPU")
	}
	if used := idleReadCPU(t, PollForever, 150*time.Millisecond); used <= 60*time.Millisecond {
		t.Fatalf("the reader parked: %v of CPU in 150 ms", used)
	}
}

// idleReadCPU returns the CPU time the process spends while a reader with
// the budget poll waits window for data, then sends it the data.
func idleReadCPU(t *testing.T, poll, window time.Duration) time.Duration {
	t.Helper()
	a, b := tcpPair(t)
	got := readAsync(newPollReader(a, TCPConfig{Poll: poll}))
	time.Sleep(20 * time.Millisecond) // the reader has polled and, if it will, parked
	before := cpuTime(t)
	time.Sleep(window)
	used := cpuTime(t) - before
	_, err := b.Write([]byte("x"))
	must(t, err)
	must(t, <-got)
	return used
}

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	must(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// budgets are the polling budgets the deadline and Close tests run with:
// the default, which parks, and one that never runs out while the test runs.
var budgets = []time.Duration{0, PollForever}

func TestPollReaderHonoursDeadline(t *testing.T) {
	for _, poll := range budgets {
		a, _ := tcpPair(t)
		r := newPollReader(a, TCPConfig{Poll: poll})
		must(t, a.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		if _, err := r.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("poll %v: got %v; want a deadline error", poll, err)
		}
	}
}

// Close while a Read polls or parks: the Read returns net.ErrClosed and Close
// itself returns (it waits for the reader to let go of the descriptor).
func TestPollReaderUnblocksOnClose(t *testing.T) {
	for _, poll := range budgets {
		a, _ := tcpPair(t)
		got := readAsync(newPollReader(a, TCPConfig{Poll: poll}))
		time.Sleep(10 * time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- a.Close() }()
		select {
		case err := <-got:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("poll %v: got %v; want net.ErrClosed", poll, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("poll %v: Read did not return after Close", poll)
		}
		select {
		case err := <-closed:
			must(t, err)
		case <-time.After(2 * time.Second):
			t.Fatalf("poll %v: Close did not return", poll)
		}
	}
}

func TestPollReaderReportsReset(t *testing.T) {
	a, b := tcpPair(t)
	must(t, b.SetLinger(0)) // close sends RST
	r := newPollReader(a, TCPConfig{})
	must(t, b.Close())
	_, err := r.Read(make([]byte, 8))
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) {
		t.Fatalf("got %T %v; want a *net.OpError of ECONNRESET", err, err)
	}
}

// readAsync reads up to 8 bytes from r on a new goroutine and delivers the
// error.
func readAsync(r *pollReader) <-chan error {
	got := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 8))
		got <- err
	}()
	return got
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPollAdapts: a poll that ends in a park shrinks the reader's poll by a
// quarter, down to minTCPPoll; bytes that come while it polls double it,
// up to the configured budget; an unbounded poll never adapts.
func TestPollAdapts(t *testing.T) {
	r := &pollReader{budget: 200 * time.Microsecond, cur: 200 * time.Microsecond}
	r.wasted()
	if r.cur != 150*time.Microsecond {
		t.Fatalf("after a wasted poll: %v, want 150us", r.cur)
	}
	for range 100 {
		r.wasted()
	}
	if r.cur != minTCPPoll {
		t.Fatalf("after many wasted polls: %v, want %v", r.cur, minTCPPoll)
	}
	for range 10 {
		r.paid()
	}
	if r.cur != r.budget {
		t.Fatalf("after paid polls: %v, want the budget %v", r.cur, r.budget)
	}
	f := &pollReader{budget: PollForever, cur: PollForever}
	f.wasted()
	if f.cur != PollForever {
		t.Fatalf("an unbounded poll adapted: %v", f.cur)
	}
}
