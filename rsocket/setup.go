package rsocket

import (
	"context"
	"errors"
	"time"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// onSetup handles the first frame a server receives (spec, "Connection
// Establishment"): it must be SETUP. A refused SETUP is answered with an
// ERROR on stream 0 and the connection is closed:
//
//   - RESUME as first frame: the transport joins that session (onResume), or
//     REJECTED_RESUME (resumption not served, unknown token, positions
//     that cannot be served);
//   - another frame type, or SETUP values that fail validation:
//     INVALID_SETUP; a major version other than 1: UNSUPPORTED_SETUP;
//   - the L (lease) flag when ServerConfig.Lease is nil: UNSUPPORTED_SETUP;
//   - the R (resume) flag when ServerConfig.Resume is nil, or a token in
//     use: REJECTED_SETUP;
//   - the Acceptor's error: REJECTED_SETUP with its message (an *Error keeps
//     its code).
func (c *Conn) onSetup(f *wire.Frame) error {
	switch {
	case f.Type == wire.TypeResume:
		return c.onResume(f)
	case f.Type != wire.TypeSetup:
		c.rejectSetup(CodeInvalidSetup, "first frame must be SETUP, got "+f.Type.String())
		return errStop
	case f.MajorVersion != wire.MajorVersion:
		c.rejectSetup(CodeUnsupportedSetup, "unsupported protocol version")
		return errStop
	}
	if err := f.ValidateSetup(); err != nil {
		c.rejectSetup(CodeInvalidSetup, err.Error())
		return errStop
	}
	if f.Flags&wire.FlagLease != 0 {
		if c.leaseCfg == nil {
			c.rejectSetup(CodeUnsupportedSetup, "lease is not supported")
			return errStop
		}
		c.lease = newLeaseState(c.leaseCfg)
	}
	if f.Flags&wire.FlagResume != 0 || f.ResumeToken != nil {
		if code, msg := c.onSetupResume(f); code != 0 {
			c.rejectSetup(code, msg)
			return errStop
		}
	}
	info := SetupInfo{
		MajorVersion:      f.MajorVersion,
		MinorVersion:      f.MinorVersion,
		KeepaliveInterval: time.Duration(f.KeepaliveInterval) * time.Millisecond,
		MaxLifetime:       time.Duration(f.MaxLifetime) * time.Millisecond,
		MetadataMIME:      string(f.MetadataMIME),
		DataMIME:          string(f.DataMIME),
		Payload:           Payload{Metadata: f.Metadata, Data: f.Data}.Clone(),
		Lease:             c.lease != nil,
	}
	var h Handler
	if c.acceptor != nil {
		var err error
		h, err = c.accept(info)
		if err != nil {
			code, msg := CodeRejectedSetup, err.Error()
			var e *Error
			if errors.As(err, &e) {
				code, msg = e.Code, e.Message
			}
			c.rejectSetup(code, msg)
			return errStop
		}
	}
	c.setHandler(h)
	c.liftRecvLimit()
	c.setupSeen = true
	lifetime := info.MaxLifetime
	if c.lifetimeCap > 0 {
		lifetime = min(lifetime, c.lifetimeCap)
	}
	c.set.keepalive, c.set.maxLifetime = info.KeepaliveInterval, lifetime
	go c.keepaliveLoop(info.KeepaliveInterval, lifetime, false)
	if c.lease != nil {
		go c.leaseLoop()
	}
	close(c.ready)
	return nil
}

// setupTurn reports whether the receive goroutine handles the first frame
// (or the failure to read it) itself: false if the setup deadline passed
// first, whose timer then closes the connection (setupTimedOut). Receive
// goroutine only.
func (c *Conn) setupTurn() bool {
	if c.setupTimer != nil && !c.setupTaken {
		c.setupTaken = true
		c.setupLate = !c.setupTimer.Stop()
	}
	return !c.setupLate
}

// setupTimedOut runs when ServerConfig.SetupTimeout passed without a first
// frame: the client is told and the connection closes.
func (c *Conn) setupTimedOut() {
	ctx, cancel := context.WithTimeout(c.ctx, 100*time.Millisecond)
	_ = c.sendError(ctx, 0, CodeConnectionError, "no SETUP within the setup timeout")
	cancel()
	c.fail(ErrSetupTimeout)
}

// liftRecvLimit ends the limit on the first frame's length (MaxSetupSize)
// once SETUP or RESUME was accepted.
func (c *Conn) liftRecvLimit() {
	if l, ok := c.recvT.(recvLimiter); ok {
		l.limitRecv(MaxFrameLength)
	}
}

func (c *Conn) rejectSetup(code ErrorCode, msg string) {
	c.setupErr = &Error{Code: code, Message: msg} // read once done is closed
	c.connError(code, msg)
}

// keepaliveLoop is the connection's keepalive goroutine; it ends when the
// connection closes. The client (send) sends KEEPALIVE with R every
// interval; both sides close the connection with ErrKeepaliveTimeout when
// nothing was received for longer than lifetime. Silence is measured by a
// flag the receive path sets (a load per frame, a store the first time
// after each tick; no locked instruction, no clock read) and this loop
// clears.
//
// A server with an idle timeout (ServerConfig.IdleTimeout) checks it here
// too: a connection with no open stream and no request (reqSeen) since
// that long ago is closed (closeIdle).
func (c *Conn) keepaliveLoop(interval, lifetime time.Duration, send bool) {
	tick := min(interval, lifetime/4)
	if c.idleTimeout > 0 {
		tick = min(tick, c.idleTimeout/4)
	}
	if tick < time.Millisecond {
		tick = time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	c.recvSeen.Store(false)
	lastChange := time.Now()
	lastSent := lastChange
	lastBusy := lastChange
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			if c.idleTimeout > 0 {
				if c.reqSeen.Load() || c.openStreams() > 0 {
					c.reqSeen.Store(false)
					lastBusy = now
				} else if now.Sub(lastBusy) >= c.idleTimeout+tick {
					// lastBusy is the last tick that saw activity:
					// it ended up to a tick later.
					c.closeIdle()
					return
				}
			}
			if c.recvSeen.Load() {
				c.recvSeen.Store(false)
				lastChange = now
			} else if c.res != nil && !c.res.connected() {
				lastChange = now // the session's timeout applies instead
			} else if now.Sub(lastChange) > lifetime {
				if c.res != nil {
					// A silent transport of a resumable session is
					// treated as broken: resume on a new one.
					c.res.breakCurrent(ErrKeepaliveTimeout)
					lastChange = now
					continue
				}
				// Tell the peer, in case it is alive and only slower
				// than the lifetime this side enforces.
				ctx, cancel := context.WithTimeout(c.ctx, 100*time.Millisecond)
				_ = c.sendError(ctx, 0, CodeConnectionError, "keepalive timeout: nothing received within "+lifetime.String())
				cancel()
				c.fail(ErrKeepaliveTimeout)
				return
			}
			if send && now.Sub(lastSent) >= interval {
				lastSent = now
				ctx, cancel := context.WithTimeout(c.ctx, interval)
				_ = c.sendKeepalive(ctx, true, nil)
				cancel()
			}
		}
	}
}

// closeIdle ends a connection that was idle for ServerConfig.IdleTimeout:
// ERROR[CONNECTION_CLOSE] tells the peer (and ends a resumable session
// rather than leaving it to be resumed), then the connection closes with
// ErrIdleTimeout.
func (c *Conn) closeIdle() {
	if c.res != nil {
		c.res.closing.Store(true)
	}
	c.endWith(ErrIdleTimeout)
	ctx, cancel := context.WithTimeout(c.ctx, 100*time.Millisecond)
	_ = c.sendError(ctx, 0, CodeConnectionClose, "idle timeout")
	cancel()
	c.fail(ErrIdleTimeout)
}

// accept runs the acceptor; a panic in it rejects the client
// (REJECTED_SETUP "acceptor panicked") and is logged as a handler's is,
// instead of ending the process.
func (c *Conn) accept(info SetupInfo) (h Handler, err error) {
	defer func() {
		if v := recover(); v != nil {
			c.logPanicIn("acceptor", v)
			h, err = nil, errAcceptorPanicked
		}
	}()
	return c.acceptor(c.ctx, info, c)
}

var errAcceptorPanicked = &Error{Code: CodeRejectedSetup, Message: "acceptor panicked"}
