package rsocket

import (
	"context"
	"io"
	"iter"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// Stream is the requester's end of a request-stream. One goroutine reads
// it.
type Stream struct{ s *stream }

// Recv returns the next payload, io.EOF when the responder completed the
// stream, the responder's *Error, ctx.Err() of the request's ctx, or the
// connection's error. The payload is valid until the next Recv.
func (st *Stream) Recv() (Payload, error) { return st.s.recv() }

// All iterates over the payloads until completion (ending quietly) or an
// error (yielded last). Each payload is valid during its iteration step.
func (st *Stream) All() iter.Seq2[Payload, error] { return all(st.s) }

// Close cancels the stream if it is still open (CANCEL is sent).
func (st *Stream) Close() error {
	st.s.cancelLocal(context.Canceled)
	return nil
}

// Channel is one end of a request-channel: the requester's, returned by
// Conn.RequestChannel, or the responder's, passed to Handler.RequestChannel.
// One goroutine may send while another receives.
type Channel struct{ s *stream }

// Send sends p, blocking until the peer has granted a credit. It fails with
// ErrStreamClosed after CloseSend, with the peer's cancel (*Error CANCELED)
// or error, or with ctx.Err().
func (ch *Channel) Send(ctx context.Context, p Payload) error {
	if err := ch.s.takeCredit(ctx); err != nil {
		return err
	}
	return ch.s.c.sendItem(ctx, ch.s.id, p)
}

// SendBatch sends ps as this side's next payloads, as
// StreamWriter.SendBatch does.
func (ch *Channel) SendBatch(ctx context.Context, ps []Payload) (int, error) {
	return ch.s.sendBatch(ctx, ps)
}

// CloseSend completes this side's outbound half (PAYLOAD with C).
func (ch *Channel) CloseSend() error {
	s := ch.s
	s.mu.Lock()
	open := s.outOpen
	s.mu.Unlock()
	if !open {
		return nil
	}
	over := s.closeOut(ErrStreamClosed)
	err := s.c.sendPayload(s.c.ctx, s.id, wire.FlagComplete, Payload{})
	if over {
		s.c.unregister(s.id, s)
	}
	return err
}

// Recv returns the next payload from the peer, as Stream.Recv does.
func (ch *Channel) Recv() (Payload, error) { return ch.s.recv() }

// All iterates over the payloads from the peer, as Stream.All does.
func (ch *Channel) All() iter.Seq2[Payload, error] { return all(ch.s) }

// Close abandons the channel: CANCEL is sent and both halves end. On the
// responder's end, returning from the handler does the same.
func (ch *Channel) Close() error {
	ch.s.cancelLocal(context.Canceled)
	return nil
}

func all(s *stream) iter.Seq2[Payload, error] {
	return func(yield func(Payload, error) bool) {
		for {
			p, err := s.recv()
			if err != nil {
				if err != io.EOF {
					yield(Payload{}, err)
				}
				return
			}
			if !yield(p, nil) {
				s.cancelLocal(context.Canceled)
				return
			}
		}
	}
}

// StreamWriter is the responder's end of a request-stream.
type StreamWriter struct{ s *stream }

// Send sends p, blocking until the requester has granted a credit
// (request(n)); it never sends beyond the credits. It fails when the
// requester cancelled (*Error CANCELED), with ctx.Err(), or with the
// connection's error.
func (w *StreamWriter) Send(ctx context.Context, p Payload) error {
	if err := w.s.takeCredit(ctx); err != nil {
		return err
	}
	return w.s.c.sendItem(ctx, w.s.id, p)
}

// SendBatch sends ps as the stream's next payloads, in order, as calls of
// Send would, and returns how many it sent: all of them, or fewer with
// Send's errors. It blocks while it has no credit, and sends as many of
// ps as the credits allow at a time. Over shared memory, the frames of up
// to 64 payloads at a time are claimed from the ring together, which
// costs less per small payload than Send (BenchmarkRSocket/shm-stream-64B-batch
// against shm-stream-64B in package bench measures it); other senders on
// the connection wait meanwhile. Over other transports it costs what Send
// does per payload.
func (w *StreamWriter) SendBatch(ctx context.Context, ps []Payload) (int, error) {
	return w.s.sendBatch(ctx, ps)
}
