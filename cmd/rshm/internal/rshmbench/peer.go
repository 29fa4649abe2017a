package rshmbench

import (
	"context"
	"sync/atomic"

	"github.com/rshm/rshm/internal/benchkit"
	"github.com/rshm/rshm/rsocket"
)

// echo is the server's handler for the rshm transports: request-response
// answered and fire-and-forget counted inline (on the receive goroutine, no
// goroutine or allocation per request: the per-request cost measured is
// the transport's and the engine's), "size:N" streamed as N-byte payloads
// stamped with the wall clock until cancelled, and channels echoed.
type echo struct {
	rsocket.RejectAll
	fnf atomic.Uint64
}

var _ rsocket.InlineResponder = (*echo)(nil)

func (e *echo) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p.Clone(), nil
}

func (e *echo) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) { _ = r.Respond(p) }

func (e *echo) FireAndForget(context.Context, rsocket.Payload) { e.fnf.Add(1) }

func (e *echo) FireAndForgetInline(rsocket.Payload) { e.fnf.Add(1) }

func (e *echo) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	size, err := benchkit.ParseStreamRequest(p.Data)
	if err != nil {
		return &rsocket.Error{Code: rsocket.CodeInvalid, Message: "want size:N"}
	}
	out := rsocket.Payload{Data: make([]byte, size)}
	for {
		benchkit.Stamp(out.Data)
		if err := w.Send(ctx, out); err != nil {
			return err
		}
	}
}

func (e *echo) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	for {
		if err := ch.Send(ctx, p); err != nil {
			return err
		}
		var err error
		if p, err = ch.Recv(); err != nil {
			return nil // io.EOF: the requester completed; anything else ends the channel too
		}
	}
}
