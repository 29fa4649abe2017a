package kafkatransport

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// typeSetup is the SETUP frame's type: the first frame of a connection,
// which a session keeps (and checkpoints) to give a new responder first.
const typeSetup = 0x01

// session is a responder's side of one connection: the rsocket.Transport
// that Listener.Accept hands out. The Listener's poll loop queues the
// connection's records (push); Receive hands them to the engine in order;
// what the engine sends goes to the connection's reply topic (the embedded
// sender). Lock order: Listener.ckMu, Listener.mu, session.mu.
type session struct {
	*sender
	l      *Listener
	id     []byte
	reply  string
	part   int32
	connAt int64 // offset of the connect record; -1 for a restored session

	stopCh    chan struct{} // closed when the session stops sending (stopped or closed)
	stopOnce  sync.Once
	closeOnce sync.Once

	mu   sync.Mutex
	cond *sync.Cond // on mu: queue, pause, stop, inFn and tracker changes
	// queue holds the connection's records that the engine has not taken,
	// in offset order.
	queue []*kgo.Record
	// setup is the connection's SETUP frame (a copy), once seen.
	setup []byte
	// replaySetup: restored, Receive gives setup to the engine first.
	replaySetup bool
	// done and redo describe a restored session's earlier records: those
	// below done were handled by a previous responder, except the offsets
	// in redo, which it left unfinished and which are given again.
	done int64
	redo map[int64]bool
	// delivered is the offset after the last record given to the engine.
	delivered int64
	track     tracker
	dirty     bool  // changed since the last checkpoint
	inFn      bool  // Receive is handing a frame to the engine
	paused    bool  // stopping: hold records back
	stopped   bool  // detached: another responder continues the connection
	peerGone  bool  // the requester's close record was read
	closeAt   int64 // its offset
	ended     bool  // closed for good: tombstoned, no more checkpoints
	closed    bool
	err       error // a send failure, which ends the session
}

func newSession(l *Listener, cl *kgo.Client, id []byte, reply string, part int32) *session {
	s := &session{l: l, id: id, reply: reply, part: part, connAt: -1, stopCh: make(chan struct{}), track: newTracker()}
	s.cond = sync.NewCond(&s.mu)
	s.sender = newSender(cl, reply, id, &l.cfg, s.stopCh, s.stopErr)
	s.sender.onAck = s.acked
	s.sender.onFail = s.failSend
	return s
}

// restoreSession makes the session a checkpoint describes.
func restoreSession(l *Listener, cl *kgo.Client, id []byte, st *sessionState) *session {
	s := newSession(l, cl, id, st.reply, st.partition)
	s.setup = st.setup
	s.replaySetup = true
	s.done = st.delivered
	s.delivered = st.delivered
	s.redo = make(map[int64]bool, len(st.pending))
	for _, o := range st.pending {
		s.redo[o] = true
	}
	return s
}

func (s *session) MaxFrameSize() int { return s.max }

// push queues r unless a previous responder handled it already, and
// returns the queue's length. The poll loop calls it with l.mu held.
func (s *session) push(r *kgo.Record) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.closed {
		return 0
	}
	if r.Offset < s.done {
		if !s.redo[r.Offset] {
			return len(s.queue)
		}
		delete(s.redo, r.Offset)
	}
	s.queue = append(s.queue, r)
	s.cond.Broadcast()
	return len(s.queue)
}

// peerClosed records the requester's close record, at offset off:
// Receive ends once the records before it are delivered.
func (s *session) peerClosed(off int64) {
	s.mu.Lock()
	s.peerGone = true
	s.closeAt = off
	s.cond.Broadcast()
	s.mu.Unlock()
}

// low is the lowest offset of the connection that the group's committed
// offset must not pass: its first record not handed to the engine, a
// record left unfinished, its connect record while its SETUP is unknown,
// or its close record (until the session ends, which deletes its
// checkpoint: a successor must learn of the close). math.MaxInt64 when
// none. With s.mu held.
func (s *session) low() int64 {
	low := int64(1<<63 - 1)
	if s.setup == nil && s.connAt >= 0 {
		low = s.connAt
	}
	if s.peerGone {
		low = min(low, s.closeAt)
	}
	if len(s.queue) > 0 {
		low = min(low, s.queue[0].Offset)
	}
	for o := range s.redo {
		low = min(low, o)
	}
	if p := s.track.pending(); len(p) > 0 {
		low = min(low, p[0])
	}
	return low
}

// state is the session's checkpoint. With s.mu held.
func (s *session) state() *sessionState {
	pending := s.track.pending()
	for o := range s.redo {
		pending = append(pending, o)
	}
	slices.Sort(pending)
	pending = slices.Compact(pending)
	return &sessionState{
		partition: s.part,
		delivered: s.delivered,
		reply:     s.reply,
		setup:     s.setup,
		pending:   pending,
		streams:   s.track.streams(),
	}
}

// Receive hands the connection's frames to fn in order: a restored
// session's SETUP first, then its records from the request topic, until the
// requester closes the connection (ErrPeerClosed), the responder stops
// serving it (ErrStopped), sending failed, or fn fails. A frame is valid
// while fn runs.
func (s *session) Receive(fn func(frame []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replaySetup {
		s.replaySetup = false
		if err := s.deliver(fn, s.setup); err != nil {
			return err
		}
	}
	for {
		for !s.stopped && !s.closed && (s.paused || len(s.queue) == 0) && !(s.peerGone && len(s.queue) == 0) {
			s.cond.Wait()
		}
		switch {
		case s.stopped || s.closed:
			return s.stopErrLocked()
		case len(s.queue) == 0:
			return ErrPeerClosed
		}
		r := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.cond.Broadcast() // room for the poll loop
		f := r.Value
		if s.setup == nil {
			if h, ok := parseHeader(f); ok && h.typ == typeSetup && h.stream == 0 {
				s.setup = append([]byte(nil), f...)
			}
		}
		if old, answer := s.expired(r); old {
			s.delivered = max(s.delivered, r.Offset+1)
			s.dirty = true
			if answer != nil {
				s.mu.Unlock()
				s.send(&kgo.Record{Topic: s.reply, Key: s.id, Value: answer}, nil)
				s.mu.Lock()
			}
			continue
		}
		s.track.in(f, r.Offset)
		err := s.deliver(fn, f)
		s.delivered = max(s.delivered, r.Offset+1)
		s.dirty = true
		if err != nil {
			return err
		}
	}
}

// deliver runs fn(f) without s.mu, marked as in progress.
func (s *session) deliver(fn func([]byte) error, f []byte) error {
	s.inFn = true
	s.mu.Unlock()
	err := fn(f)
	s.mu.Lock()
	s.inFn = false
	s.cond.Broadcast()
	return err
}

// expired reports whether r is a request older than Config.MaxRequestAge,
// which is then not delivered, and returns the ERROR[REJECTED] frame that
// answers it in the engine's place (nil for a fire-and-forget, which has no
// one to tell). Its further fragments, if any, reach the engine as frames
// of an unknown stream, which it ignores. With s.mu held.
func (s *session) expired(r *kgo.Record) (bool, []byte) {
	maxAge := s.l.cfg.MaxRequestAge
	if maxAge <= 0 {
		return false, nil
	}
	h, ok := parseHeader(r.Value)
	if !ok || h.typ < typeRequestResponse || h.typ > typeRequestChannel {
		return false, nil
	}
	age := s.l.now().Sub(r.Timestamp)
	if age <= maxAge {
		return false, nil
	}
	s.l.log.Debug("kafkatransport: request expired in the log", "connection", string(s.id), "offset", r.Offset, "age", age)
	if h.typ == typeRequestFNF {
		return true, nil
	}
	msg := fmt.Sprintf("request waited %v in the log, more than the responder's limit of %v", age.Round(time.Millisecond), maxAge)
	return true, errorFrame(nil, h.stream, codeRejected, msg)
}

// acked follows a frame Kafka acknowledged.
func (s *session) acked(f []byte) {
	s.mu.Lock()
	if s.track.out(f) {
		s.dirty = true
		s.cond.Broadcast()
	}
	s.mu.Unlock()
}

// failSend ends the session when a record could not be produced (its
// requester's reply topic deleted, say).
func (s *session) failSend(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = fmt.Errorf("kafkatransport: producing to %s: %w", s.reply, err)
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopCh) })
	// The engine, if it has the session, closes it too; one that has not
	// been accepted yet never will be. (Not on franz-go's goroutine, which
	// must not wait for the producer.)
	go s.l.end(s)
}

// stopErr is what Claim and Receive return once the session stopped.
func (s *session) stopErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopErrLocked()
}

func (s *session) stopErrLocked() error {
	switch {
	case s.err != nil:
		return s.err
	case s.stopped:
		return ErrStopped
	}
	return ErrClosed
}

// pause stops handing records to the engine and waits until the one being
// handed over, if any, has been taken.
func (s *session) pause() {
	s.mu.Lock()
	s.paused = true
	s.cond.Broadcast()
	for s.inFn {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

// detach ends the responder's part in the connection, which another
// responder continues: once its request-responses are answered (with wait,
// until ctx ends), the engine's Receive returns ErrStopped and its sends
// fail. It returns the streams and channels under way, for handOver, or
// nil if the session had closed.
func (s *session) detach(ctx context.Context, wait bool) []uint32 {
	s.pause()
	s.mu.Lock()
	if wait {
		stop := context.AfterFunc(ctx, func() {
			s.mu.Lock()
			s.cond.Broadcast()
			s.mu.Unlock()
		})
		for s.track.busy() && ctx.Err() == nil && !s.closed {
			s.cond.Wait()
		}
		stop()
	}
	closed := s.closed
	s.stopped = true
	s.cond.Broadcast()
	streams := s.track.streams()
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopCh) })
	if closed {
		return nil
	}
	return streams
}

// handOver ends a detached session's streams and channels with
// ERROR[CANCELED] (a new responder cannot continue them) and waits until
// what the session sent is acknowledged, or ctx ends; the caller
// checkpoints after.
func (s *session) handOver(ctx context.Context, streams []uint32) {
	s.mu.Lock()
	gone := s.peerGone
	s.mu.Unlock()
	if gone {
		// The requester closed, and deleted its reply topic: nothing
		// sent there can arrive, and waiting for its acknowledgements
		// would wait out ctx.
		return
	}
	for _, id := range streams {
		s.send(&kgo.Record{Topic: s.reply, Key: s.id, Value: errorFrame(nil, id, codeCanceled, "responder stopped")}, nil)
	}
	_ = s.drain(ctx)
}

// cancelStreams ends, for a restored session, the streams and channels the
// previous responder left under way, with ERROR[CANCELED].
func (s *session) cancelStreams(ids []uint32) {
	for _, id := range ids {
		s.send(&kgo.Record{Topic: s.reply, Key: s.id, Value: errorFrame(nil, id, codeCanceled, "responder restarted")}, nil)
	}
	if len(ids) > 0 {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
	}
}

// Close ends the responder's side. A session the responder stopped serving
// (ErrStopped) only lets go: another responder continues it. Otherwise the
// connection ends for good: what was committed is sent, then the close
// record unless the requester closed first or sending failed, and the
// session's checkpoint is deleted.
func (s *session) Close() error {
	s.closeOnce.Do(s.close)
	return nil
}

func (s *session) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	detached := s.stopped && s.err == nil
	peerGone, failed := s.peerGone, s.err != nil
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopCh) })
	if detached {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	_ = s.drain(ctx)
	if !peerGone && !failed {
		s.send(controlRecord(s.reply, s.id, kindClose, nil), nil)
	}
	s.l.end(s)
}
