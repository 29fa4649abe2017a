package rsocket

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Server side of resumption: a SETUP with R registers the session under its
// token in the server's ResumeConfig; a later connection whose first frame
// is RESUME with that token is handed to the session (Server returns
// ErrResumed for it), after the positions check out.

// errSuperseded is why a session's transport is dropped when the client
// resumes on another.
var errSuperseded = errors.New("rsocket: client resumed on a new transport")

// errResumeTransport: RESUME_OK could not be sent.
var errResumeTransport = errors.New("rsocket: resume: sending RESUME_OK failed")

// sessionTable holds a server's live resumable sessions by token.
type sessionTable struct {
	mu sync.Mutex
	m  map[string]*resumeLink
}

// add registers l; false if the token is taken.
func (s *sessionTable) add(token []byte, l *resumeLink) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]*resumeLink)
	}
	if _, taken := s.m[string(token)]; taken {
		return false
	}
	s.m[string(token)] = l
	return true
}

func (s *sessionTable) get(token []byte) *resumeLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[string(token)]
}

func (s *sessionTable) remove(token []byte, l *resumeLink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[string(token)] == l {
		delete(s.m, string(token))
	}
}

// Len reports how many resumable sessions the server holds.
func (r *ResumeConfig) Len() int {
	r.sessions.mu.Lock()
	defer r.sessions.mu.Unlock()
	return len(r.sessions.m)
}

// onSetupResume makes a server connection whose SETUP has R resumable.
// It runs on the receive goroutine before the acceptor, so nothing has been
// sent on the connection yet.
func (c *Conn) onSetupResume(f *wire.Frame) (ErrorCode, string) {
	cfg := c.resumeCfg
	if cfg == nil {
		return CodeRejectedSetup, "resumption is not supported"
	}
	if len(f.ResumeToken) == 0 {
		return CodeInvalidSetup, "empty resume token"
	}
	token := append([]byte(nil), f.ResumeToken...)
	l := newResumeLink(cfg, true, token, c.t)
	if !cfg.sessions.add(token, l) {
		return CodeRejectedSetup, "resume token already in use"
	}
	c.setTransport(l)
	c.res, c.resGen = l, 1
	c.set.mtu = min(c.set.mtu, l.frameMax)
	l.start(c)
	return 0, ""
}

// onResume handles RESUME as the first frame of a server connection: the
// transport joins the session with that token, or the client gets
// REJECTED_RESUME (unknown token, positions that cannot be served).
func (c *Conn) onResume(f *wire.Frame) error {
	cfg := c.resumeCfg
	if cfg == nil {
		c.rejectSetup(CodeRejectedResume, "resumption is not supported")
		return errStop
	}
	if f.MajorVersion != wire.MajorVersion {
		c.rejectSetup(CodeRejectedResume, "unsupported protocol version")
		return errStop
	}
	l := cfg.sessions.get(f.ResumeToken)
	if l == nil {
		c.rejectSetup(CodeRejectedResume, "no session with this resume token")
		return errStop
	}
	gen, err := l.resumeServer(c.t, f.LastPosition, f.FirstAvailablePosition)
	if errors.Is(err, errResumeTransport) {
		// The new transport failed too: the client will try again.
		c.fail(err)
		return errStop
	}
	if err != nil {
		c.rejectSetup(CodeRejectedResume, err.Error())
		return errStop
	}
	// From now on this connection's receive goroutine pumps t for the
	// session.
	c.liftRecvLimit()
	c.res, c.resGen = l, gen
	close(c.resumed)
	return nil
}

// resumeServer resumes the session on t for a client that received up to
// position clientRecv and can retransmit from clientFirst: it checks both,
// answers RESUME_OK and starts the retransmission. A transport the session
// still has is dropped (the client would not resume if it worked).
func (l *resumeLink) resumeServer(t Transport, clientRecv, clientFirst uint64) (uint64, error) {
	l.resumeMu.Lock()
	defer l.resumeMu.Unlock()
	if t.MaxFrameSize() < l.frameMax {
		return 0, fmt.Errorf("transport frames (%d bytes) smaller than the session's (%d)", t.MaxFrameSize(), l.frameMax)
	}
	l.mu.Lock()
	lv := l.live.Load()
	closed, old := lv.closed, lv.t
	l.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("session closed")
	}
	l.storeMu.Lock()
	ok, first, end := l.store.canResumeFrom(clientRecv), l.store.first, l.store.end
	l.storeMu.Unlock()
	if !ok {
		return 0, fmt.Errorf("client received position %d, server can retransmit %d..%d", clientRecv, first, end)
	}
	l.broken(old, errSuperseded)
	gen := l.newGen()
	pos := l.switchRecv(gen)
	if clientFirst > pos {
		return 0, fmt.Errorf("server received position %d, client can retransmit from %d", pos, clientFirst)
	}
	if err := l.accept(t, gen, clientRecv); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(l.c.ctx, resumeWait)
	err := sendRaw(ctx, t, &wire.Frame{Type: wire.TypeResumeOK, LastPosition: pos})
	cancel()
	if err != nil {
		l.pendingEnded(t, 0)
		return 0, fmt.Errorf("%w: %v", errResumeTransport, err)
	}
	go l.catchUp(t, gen, clientRecv)
	return gen, nil
}
