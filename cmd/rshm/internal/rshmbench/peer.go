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
// stamped with the wall clock, in batches, until cancelled, and channels
// echoed.
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
	batch := make([]rsocket.Payload, sendBatch(size))
	for i := range batch {
		batch[i].Data = make([]byte, size)
	}
	for {
		for _, out := range batch {
			benchkit.Stamp(out.Data)
		}
		if _, err := w.SendBatch(ctx, batch); err != nil {
			return err
		}
	}
}

// sendBatch is how many payloads of size bytes a stream's server, and a
// fire-and-forget client, hand over at a time: up to 64, as many as fit
// 64 KiB. That is what a producer that has items ready hands the writer
// at once (StreamWriter.SendBatch, Conn.FireAndForgetBatch), as the raw
// baselines fill a 64 KiB bufio.Writer before each write.
func sendBatch(size int) int { return max(1, min(64, (64<<10)/max(size, 1))) }

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
