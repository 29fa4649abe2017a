package rsocket

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// stream is the record of one open stream, in the connection's table from
// its first frame until both of its halves have ended.
//
// A stream has an inbound half (payloads this side receives, paced by the
// credits it grants with REQUEST_N) and an outbound half (payloads it sends,
// paced by the peer's credits). Request-response and fire-and-forget use
// neither credit counter; request-stream uses one half on each side;
// request-channel both.
type stream struct {
	c         *Conn
	id        uint32
	kind      wire.FrameType
	responder bool
	ctx       context.Context // requester: the request's ctx; responder: the handler's

	// Request-response requester: exactly one of done (blocking) or rh
	// (async) is used; the result is stored before done is signalled.
	rh       ResponseHandler
	rrDone   chan struct{} // cap 1, reused with the pooled record
	rrState  atomic.Uint32 // rrPending, rrWaiting or rrAnswered
	rrIsDone func() bool   // rrDriven, bound once
	rrResult Payload
	rrErr    error
	rrBuf    []byte // RequestResponseInto's buffer while it waits, else nil

	mu sync.Mutex
	// Inbound half.
	inOpen  bool
	inErr   error // io.EOF on completion, else why it ended
	q       itemQueue
	granted int64 // credits granted and not yet used by the peer
	inBytes int64 // bytes of the payloads received lately (sizes the window)
	inCount int64 // how many payloads inBytes counts
	waiting bool  // the reader waits on inWake for push
	inWake  chan struct{}
	inReady func() bool // len(inWake) > 0 (for Drive), bound once
	// onDriven is the receive function the reader drives the transport
	// with: Conn.onFrame, after marking s as the stream whose reader
	// receives (Conn.drivenBy). Bound once.
	onDriven func(frame []byte) error
	dropped  atomic.Bool // cancelLocal dropped the queue
	// The reader's batch (reader only, no lock): items taken from the
	// queue, at positions rNext .. rEnd-1 of rItems.
	rItems      []item
	rNext, rEnd int
	// Outbound half.
	outOpen bool
	outErr  error
	credits int64 // the peer's credits not yet taken by a sender
	outWake chan struct{}
	// Credits a sender took from credits in a block, spent without the
	// lock (one CAS per payload instead of a lock and an unlock), and
	// whether the outbound half ended (so a reserved credit is not used
	// after it).
	reserved atomic.Int64
	outShut  atomic.Bool

	cancel context.CancelFunc // responder: cancels the handler's ctx
	stop   func() bool        // requester: stops the ctx watcher

	// Receive goroutine only: reassembly of a fragmented message.
	asm assembly
}

// item is one queued inbound payload; its buffers are reused. The
// payload the reader gets is kept ready in p (its Data is the data
// buffer; its Metadata is the metadata buffer, or nil without M), so the
// reader copies it out of the item as it is: building it on the reader's
// stack costs a store-forwarding stall per payload (the copy into the
// result reads 16 bytes across two 8-byte stores).
type item struct {
	p     Payload
	mdBuf []byte // the metadata buffer, kept while p.Metadata is nil
}

func (it *item) set(md, data []byte) {
	it.p.Data = append(it.p.Data[:0], data...)
	it.setMetadata(md)
}

// adopt is set with the data taken instead of copied: the item takes the
// buffer *data and leaves its own, emptied, in its place.
func (it *item) adopt(md []byte, data *[]byte) {
	it.p.Data, *data = *data, it.p.Data[:0]
	it.setMetadata(md)
}

func (it *item) setMetadata(md []byte) {
	if md == nil {
		it.p.Metadata = nil
		return
	}
	it.mdBuf = append(it.mdBuf[:0], md...)
	if it.mdBuf == nil {
		it.mdBuf = []byte{} // M with empty metadata stays non-nil
	}
	it.p.Metadata = it.mdBuf
}

// itemQueue is a growable ring of items whose buffers are reused. Its
// length is zero or a power of two, so positions wrap with a mask. The
// reader takes items in batches (take); the slots of a batch are not reused
// until the reader has returned its items and the payload it returned last
// is no longer in use (the next take, keepLast or reset).
type itemQueue struct {
	items   []item
	head, n int // queued items are at head .. head+n-1
	taken   int // the slots before head that the reader still uses
}

func (q *itemQueue) push(md, data []byte) {
	q.free().set(md, data)
	q.n++
}

// pushAdopt queues a payload whose data buffer the queue takes (the
// stream's reassembly buffer): the item's own buffer, emptied, goes back in
// *data, so a reassembled message is not copied a second time and no buffer
// is allocated. The slot is free, so the reader no longer uses its buffer.
func (q *itemQueue) pushAdopt(md []byte, data *[]byte) {
	q.free().adopt(md, data)
	q.n++
}

// free returns the slot the next item goes in, growing the queue if every
// slot is queued or still the reader's.
func (q *itemQueue) free() *item {
	used := q.n + q.taken
	if used == len(q.items) {
		grown := make([]item, max(4, 2*len(q.items)))
		start := q.head - q.taken // the reader's slots come first
		for i := 0; i < used; i++ {
			grown[i] = q.items[(start+i)&(len(q.items)-1)]
		}
		q.items, q.head = grown, q.taken
	}
	return &q.items[(q.head+q.n)&(len(q.items)-1)]
}

// take hands the reader up to max items: they are at positions start ..
// start+k-1 (masked) of items, whose slots stay the reader's until the
// next take. The queue must not be empty.
func (q *itemQueue) take(max int) (items []item, start, k int) {
	k = min(q.n, max)
	start = q.head
	q.head = (q.head + k) & (len(q.items) - 1)
	q.n -= k
	q.taken = k
	return q.items, start, k
}

// keepLast gives back the slots of the reader's batch but the last one,
// whose payload the reader may still use.
func (q *itemQueue) keepLast() { q.taken = min(q.taken, 1) }

// reset drops every item.
func (q *itemQueue) reset() { q.head, q.n, q.taken = 0, 0, 0 }

// readerBatch is how many queued items the reader takes per lock.
const readerBatch = 32

func newStream(c *Conn, kind wire.FrameType) *stream {
	s := &stream{
		c:       c,
		kind:    kind,
		inWake:  make(chan struct{}, 1),
		outWake: make(chan struct{}, 1),
	}
	s.inReady = func() bool {
		own := int64(len(s.inWake))
		if c.rrWoken.Load() != 0 || c.inWoken.Load() > own {
			// Let the readers and requesters this driver woke run
			// before it leaves (see rrDriven).
			runtime.Gosched()
		}
		return len(s.inWake) > 0
	}
	s.onDriven = func(frame []byte) error {
		if c.marks {
			c.drivenBy = s
		}
		return c.onFrame(frame)
	}
	return s
}

// terminate ends both halves with err (connection failure, peer ERROR,
// cancellation) and wakes every waiter. The caller has removed s from the
// table. Safe to call more than once.
func (s *stream) terminate(err error) {
	s.mu.Lock()
	if s.inOpen {
		s.inOpen = false
		s.inErr = err
	}
	if s.outOpen {
		s.outOpen = false
		s.outErr = err
		s.outShut.Store(true)
	}
	s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	s.release()
	signal(s.inWake)
	signal(s.outWake)
	if s.kind == wire.TypeRequestResponse && !s.responder {
		s.c.completeRR(s, Payload{}, err)
	}
}

// closeIn ends the inbound half (err is io.EOF on completion) and reports
// whether the whole stream is now over.
func (s *stream) closeIn(err error) bool {
	s.mu.Lock()
	if s.inOpen {
		s.inOpen = false
		s.inErr = err
	}
	over := !s.outOpen
	s.mu.Unlock()
	signal(s.inWake)
	if over {
		s.release()
	}
	return over
}

// closeOut ends the outbound half and reports whether the whole stream is
// now over.
func (s *stream) closeOut(err error) bool {
	s.mu.Lock()
	if s.outOpen {
		s.outOpen = false
		s.outErr = err
		s.outShut.Store(true)
	}
	over := !s.inOpen
	s.mu.Unlock()
	signal(s.outWake)
	if over {
		s.release()
	}
	return over
}

// release stops a requester's ctx watcher once the stream is over: the
// watcher is registered on the request's ctx, which may outlive the stream
// by far, and would keep the stream (its queue included) reachable until
// that ctx ends.
func (s *stream) release() {
	if s.stop != nil {
		s.stop()
	}
}

// addCredits handles REQUEST_N: credits are cumulative, capped at 2^31-1.
func (s *stream) addCredits(n uint32) {
	s.mu.Lock()
	s.credits = min(s.credits+int64(n), maxRequestN)
	s.mu.Unlock()
	signal(s.outWake)
}

// takeCredit blocks until the outbound half has a credit, takes it, and
// returns nil; or returns why it cannot send.
func (s *stream) takeCredit(ctx context.Context) error {
	_, err := s.takeCredits(ctx, 1)
	return err
}

// takeCredits blocks until the outbound half has a credit and takes as
// many as it finds, up to want (at least 1), returning how many; or
// returns why it cannot send.
//
// A sender that finds credits under the lock takes up to creditBlock more
// than it wants at once into reserved, and spends them later without the
// lock. So the payloads it sends never exceed what the peer granted; a
// reserved credit left when the half ends is dropped with the stream.
func (s *stream) takeCredits(ctx context.Context, want int) (int, error) {
	for {
		n := s.reserved.Load()
		if n <= 0 {
			break
		}
		k := min(n, int64(want))
		if s.reserved.CompareAndSwap(n, n-k) {
			if s.outShut.Load() {
				break // the lock path reports why
			}
			return int(k), nil
		}
	}
	for {
		s.mu.Lock()
		if !s.outOpen {
			err := s.outErr
			s.mu.Unlock()
			if err == nil {
				err = ErrStreamClosed
			}
			return 0, err
		}
		if s.credits > 0 {
			k := min(s.credits, int64(want))
			r := min(s.credits-k, creditBlock-1)
			s.credits -= k + r
			s.reserved.Add(r)
			s.mu.Unlock()
			return int(k), nil
		}
		s.mu.Unlock()
		select {
		case <-s.outWake:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.c.done:
			return 0, s.c.Err()
		}
	}
}

// sendBatch sends ps as the outbound half's next payloads, in order, and
// returns how many it sent (StreamWriter.SendBatch, Channel.SendBatch).
// Payloads that fit one frame go heldBatch at a time under one hold of
// the transport's claim where it has one (Conn.sendHeld); the rest as Send
// sends them.
func (s *stream) sendBatch(ctx context.Context, ps []Payload) (int, error) {
	c := s.c
	sent := 0
	var sizes [heldBatch]int // sizes[:m], written before they are read
	for sent < len(ps) {
		k, err := s.takeCredits(ctx, len(ps)-sent)
		if err != nil {
			return sent, err
		}
		for end := sent + k; sent < end; {
			batch := ps[sent:min(end, sent+heldBatch)]
			m := 0
			if c.held != nil {
				for m < len(batch) {
					if sizes[m] = wire.PayloadSize(batch[m].Metadata, batch[m].Data); sizes[m] > c.set.mtu {
						break
					}
					m++
				}
			}
			if m < 2 {
				if err := c.sendItem(ctx, s.id, ps[sent]); err != nil {
					return sent, err
				}
				sent++
				continue
			}
			batch = batch[:m]
			n, err := c.sendHeld(ctx, sizes[:m],
				func(b []byte, i int) []byte {
					return wire.AppendPayload(b, s.id, wire.FlagNext, batch[i].Metadata, batch[i].Data)
				})
			sent += n
			if err != nil {
				return sent, err
			}
		}
	}
	return sent, nil
}

// creditBlock is how many credits a sender reserves per lock.
const creditBlock = 32

// heldBatch is the most frames a batch sender sends under one hold of the
// transport's claim, which other senders wait for meanwhile.
const heldBatch = 64

// recv returns the next inbound payload (a view valid until the next recv),
// replenishing the peer's credits when half the window is free again.
//
// It takes up to readerBatch queued items (a quarter of the window at most)
// per lock and returns the rest of the batch without the lock.
//
// The window (settings.window) is fixed by Prefetch or sized by the bytes
// of the payloads received; the credits outstanding are those the peer has
// not used, the queued items and the reader's batch not yet returned. When
// the window minus them is at least half the window, REQUEST_N grants the
// difference. With a fixed window that is exactly the payloads consumed
// since the last grant; a window that shrank (larger payloads) grants
// nothing until enough is consumed.
func (s *stream) recv() (Payload, error) {
	if s.rNext != s.rEnd && !s.dropped.Load() {
		it := &s.rItems[s.rNext&(len(s.rItems)-1)]
		s.rNext++
		return it.p, nil
	}
	waited := false
	for {
		s.mu.Lock()
		if waited && !s.waiting {
			s.c.inWoken.Add(-1) // the wake pushLocked counted has run
		}
		s.waiting, waited = false, false
		w := s.c.set.window(s.inBytes, s.inCount, s.c.openStreams())
		s.rNext = s.rEnd
		s.q.keepLast()
		var first *item
		if s.q.n > 0 {
			items, start, k := s.q.take(min(readerBatch, max(w/4, 1)))
			s.rItems, s.rNext, s.rEnd = items, start+1, start+k
			first = &items[start]
		}
		var n int
		if s.inOpen {
			out := int(s.granted) + s.q.n + s.rEnd - s.rNext
			if free := w - out; free >= max(w/2, 1) {
				n = free
				s.granted += int64(n)
			}
		}
		if first != nil || n > 0 {
			s.mu.Unlock()
			if n > 0 {
				if err := s.c.sendRequestN(s.ctx, s.id, uint32(n)); err != nil {
					return Payload{}, err
				}
			}
			if first == nil {
				continue
			}
			return first.p, nil
		}
		if !s.inOpen {
			err := s.inErr
			s.mu.Unlock()
			return Payload{}, err
		}
		s.waiting, waited = true, true
		s.mu.Unlock()
		if d := s.c.driver; d != nil {
			d.Drive(s.onDriven, s.inReady, s.ctx.Done())
		}
		select {
		case <-s.inWake:
		case <-s.ctx.Done():
			s.cancelLocal(s.ctx.Err())
		}
	}
}

// push queues an inbound payload (receive goroutine), a copy of md and
// data, or with assembled set the reassembly buffer itself (data is
// s.asm.data). It returns false when the peer sent beyond the credits
// granted.
func (s *stream) push(md, data []byte, assembled bool) bool {
	s.mu.Lock()
	ok, wake := s.pushLocked(md, data, assembled)
	s.mu.Unlock()
	if wake {
		signal(s.inWake)
	}
	return ok
}

// pushLocked is push with s.mu held: it returns push's result, and whether
// the reader waits for the payload (the caller signals inWake once it lets
// the lock go).
func (s *stream) pushLocked(md, data []byte, assembled bool) (ok, wake bool) {
	if !s.inOpen {
		return true, false
	}
	if s.granted <= 0 {
		return false, false
	}
	s.granted--
	if assembled {
		s.q.pushAdopt(md, &s.asm.data)
	} else {
		s.q.push(md, data)
	}
	if s.c.set.prefetch == 0 {
		s.inBytes += int64(len(md) + len(data))
		if s.inCount++; s.inCount == 1<<12 {
			// Halve the history now and then, so the window follows a
			// change of payload size.
			s.inBytes, s.inCount = s.inBytes/2, s.inCount/2
		}
	}
	wake = s.waiting // a reader that does not wait finds the item itself
	if wake {
		// Counted until the reader is back under s.mu (recv), so that
		// a reader driving the receive side lets it run (inReady).
		s.c.inWoken.Add(1)
	}
	s.waiting = false
	return true, wake
}

// cancelLocal abandons the stream from this side: it is removed from the
// table and both halves end with err. CANCEL is sent if the peer may still
// send; otherwise, if this side's outbound half was open, it is completed
// (PAYLOAD with C), so the peer is never left waiting.
func (s *stream) cancelLocal(err error) {
	if !s.c.unregister(s.id, s) {
		// Both halves ended already (a stream that completed while its
		// payloads waited for Recv): nothing to cancel, but what is
		// queued goes as it would from an open stream, so that Recv
		// after Close reports the end rather than old payloads.
		s.mu.Lock()
		s.q.reset()
		s.dropped.Store(true)
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	peerSending, sending := s.inOpen, s.outOpen
	s.q.reset() // drop what was queued: the caller gave up
	s.dropped.Store(true)
	s.mu.Unlock()
	s.terminate(err)
	switch {
	case peerSending:
		_ = s.c.sendCancel(s.c.ctx, s.id)
	case sending:
		_ = s.c.sendPayload(s.c.ctx, s.id, wire.FlagComplete, Payload{})
	}
}
