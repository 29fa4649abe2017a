package handshake

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// ErrEvicted ends a connection that Serve closed to make room for a newer
// one: it had spent at least EvictAge in a full stage of the pipeline
// without finishing it (an idle socket, a peer that sends a few bytes and
// stops).
var ErrEvicted = errors.New("handshake: connection evicted to admit a newer one")

// EvictAge is how long a connection must have been in a full stage of
// Serve's pipeline before a newcomer may evict it. A handshake takes well
// under a millisecond and a SETUP follows it at once, so a connection that
// old is idle or stalled; younger ones are never evicted, which keeps a
// burst of real clients larger than the stage from evicting each other.
const EvictAge = 100 * time.Millisecond

// stage bounds the connections in one step of Serve's pipeline. A
// newcomer to a full stage evicts the oldest connection, once that one
// has been there EvictAge; until then the newcomer waits. A flood of idle
// sockets therefore costs each real client at most the wait for one
// eviction, instead of a place behind the whole flood, and holds at most
// max connections' memory.
//
// A remote peer (an address that is not loopback: the kernel says who it
// is) may hold at most a quarter of a stage: its newcomer beyond that
// evicts its own oldest connection, once EvictAge old, or is refused
// (ErrPeerBusy), so one host cannot crowd out the others. Loopback peers
// all share an address and are not told apart.
type stage struct {
	name    string
	max     int
	perPeer int
	age     time.Duration

	mu    sync.Mutex
	order list.List      // *entry, oldest first
	peers map[string]int // entries per remote peer
	freed chan struct{}  // closed and replaced when an entry leaves
}

// entry is one connection's place in a stage.
type entry struct {
	cancel  context.CancelCauseFunc // ends the connection's negotiation or setup
	peer    string                  // the remote peer's address; "" for loopback
	counted bool                    // peer counted in at.peers
	since   time.Time
	at      *stage
	elem    *list.Element
}

// ErrPeerBusy ends a connection from a remote peer that already holds its
// share of a stage of Serve's pipeline, none of them old enough to evict.
var ErrPeerBusy = errors.New("handshake: too many connections from this peer being set up")

func newStage(name string, size int, age time.Duration) *stage {
	return &stage{name: name, max: size, perPeer: max(size/4, 1), age: age,
		peers: map[string]int{}, freed: make(chan struct{})}
}

// claimPeer counts e, which is in s, against its peer's share (e.peer
// set since it entered). Over the share it evicts the peer's oldest entry
// if that one is EvictAge old, and returns it, or takes e out of s and
// returns ErrPeerBusy.
func (s *stage) claimPeer(e *entry) (evicted *entry, err error) {
	if e.peer == "" {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.at != s {
		return nil, nil
	}
	if s.peers[e.peer] >= s.perPeer {
		for el := s.order.Front(); el != nil; el = el.Next() {
			if o := el.Value.(*entry); o != e && o.peer == e.peer {
				if time.Since(o.since) < s.age {
					break // its oldest is young: the newcomer waits its turn elsewhere
				}
				s.removeLocked(o)
				o.cancel(ErrEvicted)
				s.peers[e.peer]++
				e.counted = true
				return o, nil
			}
		}
		s.removeLocked(e)
		return nil, ErrPeerBusy
	}
	s.peers[e.peer]++
	e.counted = true
	return nil, nil
}

// enter waits until s has room for e and puts it there. It returns the
// entry it evicted (already cancelled), if any, or ctx's error.
func (s *stage) enter(ctx context.Context, e *entry) (evicted *entry, err error) {
	for {
		s.mu.Lock()
		now := time.Now()
		if s.order.Len() >= s.max {
			oldest := s.order.Front().Value.(*entry)
			wait := s.age - now.Sub(oldest.since)
			if wait > 0 {
				freed := s.freed
				s.mu.Unlock()
				t := time.NewTimer(wait)
				select {
				case <-freed:
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil, context.Cause(ctx)
				}
				t.Stop()
				continue
			}
			s.removeLocked(oldest)
			oldest.cancel(ErrEvicted)
			evicted = oldest
		}
		e.since, e.at = now, s
		e.elem = s.order.PushBack(e)
		s.mu.Unlock()
		return evicted, nil
	}
}

// leave takes e out of s, if it is there.
func (s *stage) leave(e *entry) {
	s.mu.Lock()
	if e.at == s {
		s.removeLocked(e)
	}
	s.mu.Unlock()
}

func (s *stage) removeLocked(e *entry) {
	s.order.Remove(e.elem)
	if e.peer != "" && e.counted {
		if s.peers[e.peer]--; s.peers[e.peer] <= 0 {
			delete(s.peers, e.peer)
		}
	}
	e.at, e.elem, e.counted = nil, nil, false
	close(s.freed)
	s.freed = make(chan struct{})
}

// len returns how many connections are in s.
func (s *stage) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

// restart makes e's time in s count from now.
func (s *stage) restart(e *entry) {
	s.mu.Lock()
	if e.at == s {
		e.since = time.Now()
		s.order.MoveToBack(e.elem)
	}
	s.mu.Unlock()
}
