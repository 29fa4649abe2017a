package writebehind

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
)

// prefix frames with a one-byte length.
type prefix struct{}

func (prefix) Room(int) int { return 1 }

func (prefix) Put(b []byte, _, n int) int {
	b[0] = byte(n)
	return 1 + n
}

// sink records what the writer writes, each call separately.
type sink struct {
	mu      sync.Mutex
	writes  [][]byte
	err     error
	gate    chan struct{} // when set, each write waits for it
	entered chan struct{} // when set, told of each write as it starts
}

func (s *sink) Write(p []byte) (int, error) {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	s.writes = append(s.writes, bytes.Clone(p))
	return len(p), nil
}

func (s *sink) all() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.writes, nil)
}

func send(t *testing.T, b *Buffer, data string) {
	t.Helper()
	c, err := b.Claim(context.Background(), len(data)+2)
	if err != nil {
		t.Fatal(err)
	}
	copy(c, data)
	if err := b.Commit(len(data)); err != nil { // shorter than claimed
		t.Fatal(err)
	}
}

// TestFramesInOrder: committed frames reach the writer framed, in order,
// an aborted claim not at all; Close writes what was committed and runs
// Final; claims after Close fail with net.ErrClosed.
func TestFramesInOrder(t *testing.T) {
	s := &sink{}
	final := false
	b := New(s, Config{Framing: prefix{}, Bound: 1 << 10, Initial: 64, Final: func() { final = true }})
	send(t, b, "ab")
	if _, err := b.Claim(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	send(t, b, "cde")
	b.Close()
	if got, want := s.all(), []byte("\x02ab\x03cde"); !bytes.Equal(got, want) {
		t.Fatalf("written %q, want %q", got, want)
	}
	if !final {
		t.Error("Final did not run at Close")
	}
	if frames, n := b.Sent(); frames != 2 || n != 5 {
		t.Errorf("Sent() = %d frames, %d bytes; want 2, 5", frames, n)
	}
	if _, err := b.Claim(context.Background(), 1); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Claim after Close: %v", err)
	}
}

// TestBatches: frames committed while a write is under way leave together
// in the next write.
func TestBatches(t *testing.T) {
	s := &sink{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	b := New(s, Config{Framing: prefix{}, Bound: 1 << 10, Initial: 64})
	send(t, b, "first")
	<-s.entered // the writer is in the first write; these wait behind it
	for range 10 {
		send(t, b, "x")
	}
	close(s.gate)
	b.Close()
	if n := len(s.writes); n > 3 {
		t.Fatalf("%d writes for 11 frames, want the 10 behind the first in at most two", n)
	}
}

// TestWriteError: a failed write is the Buffer's error: WriteErr maps it,
// OnWriteErr runs, and later claims fail with it.
func TestWriteError(t *testing.T) {
	boom := errors.New("boom")
	mapped := errors.New("mapped")
	s := &sink{err: boom}
	called := make(chan struct{})
	b := New(s, Config{Framing: prefix{}, Bound: 1 << 10, Initial: 64,
		WriteErr: func(err error) error { return errors.Join(mapped, err) }, OnWriteErr: func() { close(called) }})
	defer b.Close()
	send(t, b, "a")
	<-called
	if _, err := b.Claim(context.Background(), 1); !errors.Is(err, mapped) || !errors.Is(err, boom) {
		t.Fatalf("Claim after a failed write: %v", err)
	}
	if err := b.Fail(errors.New("later")); !errors.Is(err, mapped) {
		t.Fatalf("Fail after a failure returned %v, want the first", err)
	}
}

// TestBound: Claim waits while more than Bound bytes are pending, until
// the writer has written them, or the claim's ctx ends.
func TestBound(t *testing.T) {
	s := &sink{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	b := New(s, Config{Framing: prefix{}, Bound: 16, Initial: 64})
	send(t, b, "0123456789")
	<-s.entered              // taken by the writer, which blocks
	send(t, b, "0123456789") // pending
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Claim(ctx, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim past the bound with its ctx ended: %v", err)
	}
	close(s.gate)
	send(t, b, "0123456789")
	b.Close()
	if got := len(s.all()); got != 33 {
		t.Fatalf("wrote %d bytes, want 33", got)
	}
}

// TestDefaultFraming: without a Framing, frames get RSocket-over-TCP's
// 24-bit big-endian length.
func TestDefaultFraming(t *testing.T) {
	s := &sink{}
	b := New(s, Config{Bound: 1 << 10, Initial: 64})
	send(t, b, "ab")
	b.Close()
	if got, want := s.all(), []byte("\x00\x00\x02ab"); !bytes.Equal(got, want) {
		t.Fatalf("written %q, want %q", got, want)
	}
}
