//go:build unix

package rsocket

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
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
	must(t, err)
	check.Equal(t, "abcdefg", string(got))
	n, err := r.Read(make([]byte, 8))
	check.Equal(t, 0, n)
	check.ErrorIs(t, err, io.EOF)
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
	n, err := r.Read(buf)
	must(t, err)
	check.Equal(t, "x", string(buf[:n]))
}

// An idle reader polls for its budget and then parks: over 300 ms of an idle
// socket the process spends a small fraction of the CPU a reader that never
// parked would (all of one CPU).
func TestPollReaderParksWhenIdle(t *testing.T) {
	used := idleReadCPU(t, 200*time.Microsecond, 300*time.Millisecond)
	check.Less(t, used, 60*time.Millisecond, "an idle reader kept polling")
}

// A reader with an unbounded budget never parks: the counter-test of the one
// above, showing that it measures polling.
func TestPollReaderUnboundedPollsUntilData(t *testing.T) {
	if testing.Short() {
		t.Skip("burns 150 ms of CPU")
	}
	used := idleReadCPU(t, PollForever, 150*time.Millisecond)
	check.Greater(t, used, 60*time.Millisecond, "the reader parked")
}

// idleReadCPU returns the CPU time the process spends while a reader with
// the budget poll waits window for data, then sends it the data.
func idleReadCPU(t *testing.T, poll, window time.Duration) time.Duration {
	t.Helper()
	a, b := tcpPair(t)
	r := newPollReader(a, TCPConfig{Poll: poll})
	got := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 8))
		got <- err
	}()
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
		_, err := r.Read(make([]byte, 8))
		check.ErrorIs(t, err, os.ErrDeadlineExceeded)
	}
}

// Close while a Read polls or parks: the Read returns net.ErrClosed and Close
// itself returns (it waits for the reader to let go of the descriptor).
func TestPollReaderUnblocksOnClose(t *testing.T) {
	for _, poll := range budgets {
		a, _ := tcpPair(t)
		r := newPollReader(a, TCPConfig{Poll: poll})
		got := make(chan error, 1)
		go func() {
			_, err := r.Read(make([]byte, 8))
			got <- err
		}()
		time.Sleep(10 * time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- a.Close() }()
		select {
		case err := <-got:
			check.True(t, errors.Is(err, net.ErrClosed), "poll %v: got %v", poll, err)
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
	check.ErrorIs(t, err, syscall.ECONNRESET)
	var op *net.OpError
	check.ErrorAs(t, err, &op)
}

func TestPollReaderReadDoesNotAllocate(t *testing.T) {
	if raceBuild {
		t.Skip("the race detector allocates")
	}
	a, b := tcpPair(t)
	r := newPollReader(a, TCPConfig{})
	out, in := []byte("x"), make([]byte, 8)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := b.Write(out); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(in); err != nil {
			t.Fatal(err)
		}
	})
	check.Zero(t, allocs)
	runtime.KeepAlive(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// check holds the few assertions these tests make.
var check checks

type checks struct{}

func (checks) Equal(t *testing.T, want, got any) {
	t.Helper()
	if want != got {
		t.Fatalf("want %v, got %v", want, got)
	}
}

func (checks) ErrorIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("want %v, got %v", target, err)
	}
}

func (checks) ErrorAs(t *testing.T, err error, target any) {
	t.Helper()
	if !errors.As(err, target) {
		t.Fatalf("want %T, got %T (%v)", target, err, err)
	}
}

func (checks) True(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

func (checks) Less(t *testing.T, a, b time.Duration, msg string) {
	t.Helper()
	if a >= b {
		t.Fatalf("%s: %v, want < %v", msg, a, b)
	}
}

func (checks) Greater(t *testing.T, a, b time.Duration, msg string) {
	t.Helper()
	if a <= b {
		t.Fatalf("%s: %v, want > %v", msg, a, b)
	}
}

func (checks) Zero(t *testing.T, v float64) {
	t.Helper()
	if v != 0 {
		t.Fatalf("want 0, got %v", v)
	}
}
