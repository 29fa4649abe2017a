package rsockettest

import (
	"context"
	"sync"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Spy wraps a Transport and records the frames that pass through it in
// both directions, so tests can check protocol rules on the wire.
type Spy struct {
	rsocket.Transport

	mu      sync.Mutex
	claimed []byte
	log     []Record
	grew    chan struct{} // cap 1: a record was added
}

// Record is the header and sizes of one frame seen by a Spy.
type Record struct {
	StreamID uint32
	Type     wire.FrameType
	Flags    wire.Flags
	Len      int
	N        uint32 // REQUEST_N n, or REQUEST_STREAM/CHANNEL initial n
	Out      bool   // sent by the wrapped side
}

func record(b []byte) Record {
	var f wire.Frame
	_ = wire.Parse(b, &f)
	r := Record{StreamID: f.StreamID, Type: f.Type, Flags: f.Flags, Len: len(b), N: f.N}
	if f.Type == wire.TypeRequestStream || f.Type == wire.TypeRequestChannel {
		r.N = f.InitialN
	}
	return r
}

// NewSpy wraps t.
func NewSpy(t rsocket.Transport) *Spy {
	return &Spy{Transport: t, grew: make(chan struct{}, 1)}
}

// add appends r to the log and wakes WaitFor.
func (s *Spy) add(r Record) {
	s.mu.Lock()
	s.log = append(s.log, r)
	s.mu.Unlock()
	select {
	case s.grew <- struct{}{}:
	default:
	}
}

func (s *Spy) Claim(ctx context.Context, n int) ([]byte, error) {
	b, err := s.Transport.Claim(ctx, n)
	s.mu.Lock()
	s.claimed = b
	s.mu.Unlock()
	return b, err
}

func (s *Spy) Commit(n int) error {
	s.mu.Lock()
	r := record(s.claimed[:n])
	s.mu.Unlock()
	r.Out = true
	s.add(r)
	return s.Transport.Commit(n)
}

func (s *Spy) Receive(fn func([]byte) error) error {
	return s.Transport.Receive(func(b []byte) error {
		s.add(record(b))
		return fn(b)
	})
}

// Log returns a copy of the frames seen so far, in the order they were
// committed (sent) or delivered (received).
func (s *Spy) Log() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.log...)
}

// WaitFor blocks until n of the frames seen match, or ctx ends; it reports
// whether n matched.
func (s *Spy) WaitFor(ctx context.Context, n int, match func(Record) bool) bool {
	seen, matched := 0, 0
	for {
		s.mu.Lock()
		for _, r := range s.log[seen:] {
			if match(r) {
				matched++
			}
		}
		seen = len(s.log)
		s.mu.Unlock()
		if matched >= n {
			return true
		}
		select {
		case <-s.grew:
		case <-ctx.Done():
			return false
		}
	}
}
