package rsocket

import (
	"context"
	"errors"
	"runtime/debug"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// A Loan is memory for one payload's data that the connection lends a
// sender to fill in place, instead of building the payload elsewhere and
// having Send copy it: the transport's own memory for the frame when the
// payload fits one frame (the shared-memory ring itself for payloads above
// a couple of KiB, the socket's write buffer over TCP), else a buffer of
// the loan's own that Send copies and fragments as it does any payload.
// A loan carries data only, no metadata.
//
// Ownership: Data belongs to the caller from the loan until Send or Abort,
// and to the connection after; it must not be used, or kept, after either
// (as a received payload's view must not be kept after its handler
// returns). While a loan is out, the connection sends nothing else: every
// other sender, keepalives included, waits for the claim the loan holds.
// Fill it and Send or Abort at once, from the goroutine that took it.
type Loan struct {
	// Data is the payload's data, exactly as long as asked: fill it, then
	// Send.
	Data []byte

	c     *Conn
	ctx   context.Context
	s     *stream // the stream a StreamWriter's loan sends on; nil for a response
	id    uint32
	flags wire.Flags
	frame int // the claimed frame's size; 0 when Data is the loan's own
	open  bool
}

// Errors of a Loan.
var (
	// ErrLoanDone: Send or Abort on a loan already sent or aborted.
	ErrLoanDone = errors.New("rsocket: loan already sent or aborted")
	// ErrLoanSize: a loan of a negative size.
	ErrLoanSize = errors.New("rsocket: negative loan size")
)

// Loan lends n bytes for the stream's next payload, blocking as Send does
// until the requester has granted a credit, which the loan takes. Send
// sends it; Abort gives the credit back.
func (w *StreamWriter) Loan(ctx context.Context, n int) (Loan, error) {
	if n < 0 {
		return Loan{}, ErrLoanSize
	}
	if err := w.s.takeCredit(ctx); err != nil {
		return Loan{}, err
	}
	l, err := w.s.c.loan(ctx, w.s.id, wire.FlagNext, n)
	if err != nil {
		w.s.reserved.Add(1)
		return Loan{}, err
	}
	l.s = w.s
	return l, nil
}

// Loan lends n bytes for the response (inline responders: see
// InlineResponder). Send answers with them as Respond would; a response to
// a request cancelled meanwhile is dropped.
func (r Responder) Loan(n int) (Loan, error) {
	if n < 0 {
		return Loan{}, ErrLoanSize
	}
	return r.c.loan(r.c.ctx, r.id, payloadFlagsComplete(true), n)
}

// loan claims the transport's memory for a PAYLOAD frame of n data bytes,
// or makes a buffer when the frame would exceed the MTU.
func (c *Conn) loan(ctx context.Context, id uint32, flags wire.Flags, n int) (_ Loan, err error) {
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	l := Loan{c: c, ctx: ctx, id: id, flags: flags, open: true}
	size := wire.HeaderSize + n
	if size > c.set.mtu {
		l.Data = make([]byte, n)
		return l, nil
	}
	b, err := c.t.Claim(ctx, size)
	if err != nil {
		return Loan{}, c.sendErr(err)
	}
	wire.PutPayloadHeader(b, id, flags)
	l.Data = b[wire.HeaderSize:size:size]
	l.frame = size
	c.loanOut.Store(uint64(id)<<32 | 1) // the claim is held for stream id
	return l, nil
}

// abortLoanOf gives back the transport's claim a loan for stream id still
// holds: a handler that panicked with a loan out would otherwise leave the
// connection unable to send anything. The claim is the connection's only
// one, so at most one loan holds it.
func (c *Conn) abortLoanOf(id uint32) {
	var err error
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	if c.loanOut.CompareAndSwap(uint64(id)<<32|1, 0) {
		c.t.Abort()
	}
}

// Send sends the loan's Data as the payload and ends the loan.
func (l *Loan) Send() (err error) {
	if !l.open {
		return ErrLoanDone
	}
	l.open = false
	c := l.c
	defer c.guardFault(&err, debug.SetPanicOnFault(true))
	if l.frame > 0 && !c.loanOut.CompareAndSwap(uint64(l.id)<<32|1, 0) {
		return ErrLoanDone // given back after its handler panicked
	}
	if l.s == nil && !c.endResponder(l.id) {
		// The request was cancelled: drop the response.
		if l.frame > 0 {
			c.t.Abort()
		}
		return nil
	}
	if l.frame == 0 {
		p := Payload{Data: l.Data}
		l.Data = nil
		if l.s != nil {
			return c.sendItem(l.ctx, l.id, p)
		}
		return c.sendPayload(l.ctx, l.id, l.flags, p)
	}
	l.Data = nil
	if l.s != nil && c.later != nil {
		return c.later.CommitLater(l.frame)
	}
	return c.t.Commit(l.frame)
}

// Abort ends the loan without sending anything; a stream's credit goes
// back to the stream. Abort after Send, or twice, does nothing.
func (l *Loan) Abort() {
	if !l.open {
		return
	}
	l.open = false
	l.Data = nil
	if l.frame > 0 && l.c.loanOut.CompareAndSwap(uint64(l.id)<<32|1, 0) {
		var err error
		defer l.c.guardFault(&err, debug.SetPanicOnFault(true))
		l.c.t.Abort()
	}
	if l.s != nil {
		l.s.reserved.Add(1)
	}
}
