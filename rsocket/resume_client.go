package rsocket

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Client side of resumption: after the session's transport broke, one
// redial goroutine at a time opens a new transport, sends RESUME, waits for
// RESUME_OK and then pumps the new transport's frames until it breaks in
// turn (which starts the next redial goroutine). A rejection ends the
// session with the server's error and no retry.

const (
	redialMinBackoff = 5 * time.Millisecond
	redialMaxBackoff = time.Second
)

// redialLoop is the client's redial goroutine; it ends when the session is
// resumed on a transport that then breaks, when the session ends, or at
// deadline (the session expires).
func (l *resumeLink) redialLoop(deadline time.Time) {
	backoff := redialMinBackoff
	for {
		select {
		case <-l.c.done:
			return
		default:
		}
		if !time.Now().Before(deadline) {
			l.c.fail(ErrSessionExpired)
			return
		}
		ctx, cancel := context.WithDeadline(l.c.ctx, deadline)
		t, err := l.cfg.Redial(ctx)
		cancel()
		if err == nil {
			if l.resumeOn(t, deadline) {
				return
			}
		} else if lg := l.c.set.logger; lg != nil {
			lg.Debug("rsocket: redial failed", "err", err)
		}
		select {
		case <-l.c.done:
			return
		case <-time.After(min(backoff, time.Until(deadline))):
		}
		backoff = min(2*backoff, redialMaxBackoff)
	}
}

// resumeOn tries to resume the session on t, pumping t's frames until it
// breaks. It returns true when the session is over or was resumed on t
// (whose break started the next redial), false if this attempt failed
// and another may follow.
func (l *resumeLink) resumeOn(t Transport, deadline time.Time) bool {
	if t.MaxFrameSize() < l.frameMax {
		_ = t.Close()
		if lg := l.c.set.logger; lg != nil {
			lg.Debug("rsocket: redialed transport takes frames too small for the session", "max", t.MaxFrameSize(), "need", l.frameMax)
		}
		return false
	}
	gen := l.newGen()
	pos := l.switchRecv(gen)
	l.storeMu.Lock()
	first := l.store.first
	l.storeMu.Unlock()
	ctx, cancel := context.WithTimeout(l.c.ctx, resumeWait)
	err := sendRaw(ctx, t, &wire.Frame{Type: wire.TypeResume, MajorVersion: wire.MajorVersion, MinorVersion: wire.MinorVersion,
		ResumeToken: l.token, LastPosition: pos, FirstAvailablePosition: first})
	cancel()
	if err != nil {
		_ = t.Close()
		return false
	}
	var attached atomic.Bool
	wait := time.AfterFunc(min(resumeWait, max(time.Until(deadline), 0)), func() {
		if !attached.Load() {
			_ = t.Close()
		}
	})
	var f wire.Frame
	err = t.Receive(func(frame []byte) error {
		if attached.Load() {
			return l.deliver(gen, frame)
		}
		return l.onResumeAnswer(t, gen, frame, &f, &attached)
	})
	wait.Stop()
	if attached.Load() && l.pendingEnded(t, gen) {
		// Resumed, then broken: whoever noticed first started the next
		// redial (or pumpEnded does now).
		l.pumpEnded(t, err)
		return true
	}
	_ = t.Close()
	select {
	case <-l.c.done:
		return true
	default:
		return false
	}
}

// onResumeAnswer handles the first frame on a transport that sent RESUME:
// RESUME_OK resumes the session, an ERROR (REJECTED_RESUME) ends it.
func (l *resumeLink) onResumeAnswer(t Transport, gen uint64, frame []byte, f *wire.Frame, attached *atomic.Bool) error {
	if err := wire.Parse(frame, f); err != nil {
		l.failOn(t, CodeConnectionError, "resume: "+err.Error())
		return errStop
	}
	switch {
	case f.Type == wire.TypeResumeOK:
		err := l.accept(t, gen, f.LastPosition)
		if errors.Is(err, ErrResumePosition) {
			l.storeMu.Lock()
			first, end := l.store.first, l.store.end
			l.storeMu.Unlock()
			l.failOn(t, CodeConnectionError, fmt.Sprintf("resume: server received position %d, client can retransmit %d..%d", f.LastPosition, first, end))
			return errStop
		}
		if err != nil {
			return err
		}
		attached.Store(true)
		go l.catchUp(t, gen, f.LastPosition)
		return nil
	case f.Type == wire.TypeError && f.StreamID == 0:
		// REJECTED_RESUME (or any connection error): no retry.
		l.c.fail(&Error{Code: f.ErrorCode, Message: string(f.Data)})
		return errStop
	default:
		l.failOn(t, CodeConnectionError, "resume: expected RESUME_OK, got "+f.Type.String())
		return errStop
	}
}

// failOn sends ERROR[code] on t (which never joined the session) and ends
// the session with it.
func (l *resumeLink) failOn(t Transport, code ErrorCode, msg string) {
	ctx, cancel := context.WithTimeout(l.c.ctx, time.Second)
	_ = sendRaw(ctx, t, &wire.Frame{Type: wire.TypeError, ErrorCode: code, Data: []byte(msg)})
	cancel()
	_ = t.Close()
	l.c.fail(&Error{Code: code, Message: msg})
}
