//go:build unix

package pollread

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

// budgets: a budget that parks soon, and one that never runs out.
var budgets = []time.Duration{100 * time.Microsecond, Forever}

func TestReadThenEOF(t *testing.T) {
	for _, budget := range budgets {
		a, b := tcpPair(t)
		r := New(a, budget)
		if !r.Polls() {
			t.Fatal("a TCP connection does not poll")
		}
		_, err := b.Write([]byte("defg"))
		must(t, err)
		must(t, b.Close())
		got, err := io.ReadAll(r)
		if err != nil || string(got) != "defg" {
			t.Fatalf("budget %v: read %q, %v; want defg", budget, got, err)
		}
		if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("budget %v: after the end: %d, %v; want 0, EOF", budget, n, err)
		}
	}
}

func TestNoBudgetReadsPlainly(t *testing.T) {
	for _, budget := range []time.Duration{0, -1} {
		a, b := tcpPair(t)
		r := New(a, budget)
		if r.Polls() {
			t.Fatalf("budget %v polls", budget)
		}
		_, err := b.Write([]byte("x"))
		must(t, err)
		buf := make([]byte, 4)
		if n, err := r.Read(buf); err != nil || string(buf[:n]) != "x" {
			t.Fatalf("read %q, %v; want x", buf[:n], err)
		}
	}
}

func TestHonoursDeadline(t *testing.T) {
	for _, budget := range budgets {
		a, _ := tcpPair(t)
		r := New(a, budget)
		must(t, a.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		if _, err := r.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("budget %v: got %v; want a deadline error", budget, err)
		}
	}
}

// Close while a Read polls or parks (or before it starts): the Read returns
// net.ErrClosed.
func TestUnblocksOnClose(t *testing.T) {
	for _, budget := range budgets {
		a, _ := tcpPair(t)
		r := New(a, budget)
		got := make(chan error, 1)
		go func() {
			_, err := r.Read(make([]byte, 8))
			got <- err
		}()
		must(t, a.Close())
		select {
		case err := <-got:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("budget %v: got %v; want net.ErrClosed", budget, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("budget %v: Read did not return after Close", budget)
		}
	}
}

func TestReportsReset(t *testing.T) {
	a, b := tcpPair(t)
	must(t, b.SetLinger(0)) // close sends RST
	r := New(a, budgets[0])
	must(t, b.Close())
	_, err := r.Read(make([]byte, 8))
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) {
		t.Fatalf("got %T %v; want a *net.OpError of ECONNRESET", err, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPollAdapts: a park that the bytes took longer than the budget to end
// shrinks the reader's poll by a quarter, down to MinPoll; bytes that come
// while it polls, or within the budget of its first look, double it, up to
// the budget; an unbounded poll never adapts.
func TestPollAdapts(t *testing.T) {
	const budget = 200 * time.Microsecond
	r := &Reader{budget: budget, cur: budget}
	r.parked(budget + time.Microsecond)
	if r.cur != 150*time.Microsecond {
		t.Fatalf("after a park longer than the budget: %v, want 150us", r.cur)
	}
	for range 100 {
		r.parked(time.Second)
	}
	if r.cur != MinPoll {
		t.Fatalf("after many long parks: %v, want %v", r.cur, MinPoll)
	}
	// A round trip longer than the shrunk poll but within the budget
	// grows the poll back until polling finds the bytes.
	r.parked(4 * MinPoll)
	if r.cur != 2*MinPoll {
		t.Fatalf("after a park within the budget: %v, want %v", r.cur, 2*MinPoll)
	}
	for range 10 {
		r.paid()
	}
	if r.cur != budget {
		t.Fatalf("after paid polls: %v, want the budget %v", r.cur, budget)
	}
	f := &Reader{budget: Forever, cur: Forever}
	f.parked(time.Hour)
	f.paid()
	if f.cur != Forever {
		t.Fatalf("an unbounded poll adapted: %v", f.cur)
	}
}
