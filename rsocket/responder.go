package rsocket

import (
	"context"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Responder side: dispatch runs on the receive goroutine with a view of the
// request; each blocking handler runs in a goroutine of its own with a clone
// of it, whose ctx is cancelled by CANCEL, the stream's failure or the
// connection's close.
//
// A handler's panic fails its request only: the connection calls the
// application's Handler through a guard, which recovers, logs the panic
// with its stack and answers the request with errPanicked; the inline
// paths recover on the receive goroutine likewise.

// errPanicked answers a request whose handler panicked. Its message says
// no more: the panic value may hold what the peer must not see.
var errPanicked = &Error{Code: CodeApplicationError, Message: "handler panicked"}

// guard is the Handler a connection calls: the application's, behind the
// responder interceptors (chain, nil without any), with panics recovered.
type guard struct {
	c     *Conn
	h     Handler
	chain func(context.Context, *Call) error
}

func (g *guard) RequestResponse(ctx context.Context, p Payload) (_ Payload, err error) {
	defer g.c.recovered(ModelRequestResponse, &err)
	if g.chain == nil {
		return g.h.RequestResponse(ctx, p)
	}
	call := &Call{Model: ModelRequestResponse, Payload: p}
	if err := g.chain(ctx, call); err != nil {
		return Payload{}, err
	}
	return call.Response, nil
}

func (g *guard) FireAndForget(ctx context.Context, p Payload) {
	defer g.c.recovered(ModelFireAndForget, nil)
	if g.chain == nil {
		g.h.FireAndForget(ctx, p)
		return
	}
	g.dropped(ctx, ModelFireAndForget, g.chain(ctx, &Call{Model: ModelFireAndForget, Payload: p}))
}

func (g *guard) RequestStream(ctx context.Context, p Payload, w *StreamWriter) (err error) {
	defer g.c.recovered(ModelRequestStream, &err)
	defer g.c.abortLoanOf(w.s.id) // after a panic with a loan out; else nothing
	if g.chain == nil {
		return g.h.RequestStream(ctx, p, w)
	}
	return g.chain(ctx, &Call{Model: ModelRequestStream, Payload: p, w: w})
}

func (g *guard) RequestChannel(ctx context.Context, p Payload, ch *Channel) (err error) {
	defer g.c.recovered(ModelRequestChannel, &err)
	if g.chain == nil {
		return g.h.RequestChannel(ctx, p, ch)
	}
	return g.chain(ctx, &Call{Model: ModelRequestChannel, Payload: p, ch: ch})
}

func (g *guard) MetadataPush(ctx context.Context, md []byte) {
	defer g.c.recovered(ModelMetadataPush, nil)
	if g.chain == nil {
		g.h.MetadataPush(ctx, md)
		return
	}
	g.dropped(ctx, ModelMetadataPush, g.chain(ctx, &Call{Model: ModelMetadataPush, Payload: Payload{Metadata: md}}))
}

// dropped logs the error an interceptor returned for a request that has
// no answer to carry it.
func (g *guard) dropped(ctx context.Context, m Model, err error) {
	if l := g.c.set.logger; err != nil && l != nil {
		l.LogAttrs(ctx, slog.LevelDebug, "rsocket: request dropped by an interceptor", slog.String("model", m.String()), slog.Any("err", err))
	}
}

// recovered is deferred around a handler's call: it recovers a panic, logs
// it with the stack at Error level (to slog.Default when the connection
// has no logger: a swallowed panic would hide a bug) and, if err is not
// nil, makes errPanicked the call's error.
func (c *Conn) recovered(m Model, err *error) {
	v := recover()
	if v == nil {
		return
	}
	c.logPanic(m, v)
	if err != nil {
		*err = errPanicked
	}
}

func (c *Conn) logPanic(m Model, v any) { c.logPanicIn(m.String(), v) }

// logPanicIn logs a panic recovered in the application's code: a handler
// of the interaction model where, or the acceptor.
func (c *Conn) logPanicIn(where string, v any) {
	l := c.set.logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(c.ctx, slog.LevelError, "rsocket: handler panicked",
		slog.String("model", where), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
}

// fireAndForgetInline runs the inline fire-and-forget handler, recovering a
// panic.
func (c *Conn) fireAndForgetInline(p Payload) {
	defer c.recovered(ModelFireAndForget, nil)
	c.inlineFNF.FireAndForgetInline(p)
}

// respondInline runs the inline request-response handler; after a panic
// the request, unless answered already, is answered with errPanicked.
func (c *Conn) respondInline(id uint32, p Payload) {
	defer func() {
		if v := recover(); v != nil {
			c.logPanic(ModelRequestResponse, v)
			c.abortLoanOf(id)
			if c.endResponder(id) {
				_ = c.sendError(c.ctx, id, errPanicked.Code, errPanicked.Message)
			}
		}
	}()
	c.inline.RequestResponseInline(p, Responder{c: c, id: id})
}

// dispatch starts serving a complete request. s is the record that held the
// stream id during reassembly, or nil.
func (c *Conn) dispatch(s *stream, kind wire.FrameType, id, initialN uint32, complete bool, p Payload) {
	h := c.handler
	switch kind {
	case wire.TypeRequestFNF:
		if s != nil {
			c.unregister(id, s)
		}
		if c.inlineFNF != nil {
			c.fireAndForgetInline(p)
			return
		}
		q := p.Clone()
		go h.FireAndForget(c.ctx, q)
		return
	case wire.TypeRequestResponse:
		if c.inline != nil {
			c.serveInline(s, id, p)
			return
		}
	}
	if s == nil {
		s = newStream(c, kind)
		s.id = id
		s.responder = true
	}
	s.kind = kind
	ctx, cancel := context.WithCancel(c.ctx)
	s.ctx, s.cancel = ctx, cancel
	var firstN uint32 // a channel's first REQUEST_N
	switch kind {
	case wire.TypeRequestStream:
		s.outOpen = true
		s.credits = int64(initialN)
	case wire.TypeRequestChannel:
		s.outOpen = true
		s.credits = int64(initialN)
		s.inOpen = !complete
		if complete {
			s.inErr = io.EOF
		} else {
			// The window the first REQUEST_N (sent as the handler
			// starts) grants; the first payload came with the request.
			firstN = s.grantInitial()
		}
	}
	if !c.hold(id, nil, s) {
		cancel()
		return
	}
	q := p.Clone()
	switch kind {
	case wire.TypeRequestResponse:
		go func() {
			resp, err := h.RequestResponse(ctx, q)
			if c.unregister(id, s) {
				if err != nil {
					code, msg := toError(err)
					_ = c.sendError(c.ctx, id, code, msg)
				} else {
					_ = c.sendPayload(c.ctx, id, wire.FlagNext|wire.FlagComplete, resp)
				}
			}
			cancel()
		}()
	case wire.TypeRequestStream:
		go func() {
			err := h.RequestStream(ctx, q, &StreamWriter{s: s})
			c.finishResponder(s, err)
		}()
	case wire.TypeRequestChannel:
		go func() {
			if !complete {
				// "A Responder MUST respond to an initial REQUEST_CHANNEL
				// frame with a REQUEST_N frame": sent before the handler
				// runs, so the requester's payloads flow (up to the
				// window) whether or not the handler reads.
				_ = c.sendRequestN(ctx, id, firstN)
			}
			err := h.RequestChannel(ctx, q, &Channel{s: s})
			c.finishResponder(s, err)
		}()
	}
}

// hold puts rec in the table under id, replacing old (the reassembly record)
// if given. It fails when the connection is closed.
func (c *Conn) hold(id uint32, old, rec *stream) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if old != nil && c.streams.get(id) != old {
		return false
	}
	if old != nil {
		c.tableGen.Add(1) // a replacement: see lookup
	}
	c.streams.put(id, rec)
	return true
}

// serveInline runs an inline request-response. s is the reassembly record
// that held the id, or nil.
//
// The table holds a shared marker under the id from the end of the call
// until Respond, so that CANCEL and the connection's close find it. A
// handler that responds during the call (the usual inline handler) needs no
// entry: nothing else can happen to the stream meanwhile, as this is the
// goroutine that would process its CANCEL. c.inlineID says which request is
// in the call; a Respond that swaps it to zero owns the answer, otherwise
// the entry does (endResponder).
func (c *Conn) serveInline(s *stream, id uint32, p Payload) {
	if s != nil {
		if !c.hold(id, s, &c.inlineMark) {
			return
		}
		c.respondInline(id, p)
		return
	}
	c.inlineID.Store(id)
	c.respondInline(id, p)
	if c.inlineID.Load() != id {
		return // answered during the call
	}
	c.mu.Lock()
	if c.inlineID.CompareAndSwap(id, 0) && !c.closed {
		c.streams.put(id, &c.inlineMark)
	}
	c.mu.Unlock()
}

// endResponder ends an inline request-response; false means it was
// answered already, cancelled, or the connection closed, and nothing must
// be sent.
func (c *Conn) endResponder(id uint32) bool {
	return c.inlineID.CompareAndSwap(id, 0) || c.unregister(id, &c.inlineMark)
}

// finishResponder ends a stream or channel after its handler returned:
// nil completes the outbound half (and cancels an inbound one still open),
// an error is sent as ERROR. Nothing is sent if the stream already ended
// (cancelled, failed, or both halves done).
func (c *Conn) finishResponder(s *stream, err error) {
	defer s.cancel()
	if !c.unregister(s.id, s) {
		return
	}
	s.mu.Lock()
	inOpen, outOpen := s.inOpen, s.outOpen
	s.mu.Unlock()
	if err != nil {
		code, msg := toError(err)
		_ = c.sendError(c.ctx, s.id, code, msg)
		s.terminate(&Error{Code: code, Message: msg})
		return
	}
	if outOpen {
		_ = c.sendPayload(c.ctx, s.id, wire.FlagComplete, Payload{})
	}
	if inOpen {
		_ = c.sendCancel(c.ctx, s.id)
	}
	s.terminate(ErrStreamClosed)
}
