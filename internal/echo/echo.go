// Package echo is the reference responder of `rshm serve` and of the interop
// tests: it answers every interaction model in a way the peers can check.
package echo

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/rshm/rshm/rsocket"
)

// DefaultCount is how many payloads Responder streams when the request does not
// say ("count:N").
const DefaultCount = 10

// ErrorData is the request data that makes Responder fail the request with
// ErrorMessage as an APPLICATION_ERROR; the interop peers do the same.
const (
	ErrorData    = "error"
	ErrorMessage = "requested error"
)

// Responder is the responder of rshm serve (and of rsocket/internal/interop/testdata/js/server.js, which
// behaves the same):
//
//   - request-response answers with the request's data and metadata;
//   - request-stream answers N payloads with data "0" … "N-1", N from request
//     data "count:N", else Count, sending only as far as request(n) allows;
//   - request-channel echoes every payload, the first included, and completes
//     when the requester completes;
//   - fire-and-forget and metadata push are logged;
//   - request data "error" fails the request with APPLICATION_ERROR
//     "requested error".
//
// The zero value works. Responder is safe for concurrent use.
type Responder struct {
	// Count is the stream length when the request does not give one; zero
	// means DefaultCount, negative means zero.
	Count int
	// Logger receives one record per request; nil is silent.
	Logger *slog.Logger
	// Observe, when set, is called with every event Responder logs, from the
	// connection's handler goroutines; it must be safe for concurrent use.
	Observe func(Event)
}

// Event is one thing Responder saw.
type Event struct {
	// Kind is "rr", "fnf", "stream", "channel", "channelNext", "complete",
	// "cancel" or "metadataPush".
	Kind string
	// Model is the interaction model of complete and cancel events.
	Model string
	// Data and Metadata are copies of the payload, if the event has one.
	Data, Metadata []byte
	HasMetadata    bool
	// Sent is the number of payloads sent (complete and cancel events).
	Sent int
}

var errRequested = errors.New(ErrorMessage)

var _ rsocket.Handler = (*Responder)(nil)

func (e *Responder) event(ev Event, p *rsocket.Payload) {
	if p != nil {
		ev.Data = append([]byte(nil), p.Data...)
		ev.HasMetadata = p.HasMetadata()
		if ev.HasMetadata {
			ev.Metadata = append([]byte{}, p.Metadata...)
		}
	}
	if e.Logger != nil {
		attrs := []any{slog.String("event", ev.Kind)}
		if ev.Model != "" {
			attrs = append(attrs, slog.String("model", ev.Model), slog.Int("sent", ev.Sent))
		}
		if p != nil {
			attrs = append(attrs, slog.String("data", abbrev(ev.Data)), slog.Int("dataLen", len(ev.Data)))
			if ev.HasMetadata {
				attrs = append(attrs, slog.String("metadata", abbrev(ev.Metadata)), slog.Int("metadataLen", len(ev.Metadata)))
			}
		}
		e.Logger.Info("received", attrs...)
	}
	if e.Observe != nil {
		e.Observe(ev)
	}
}

// abbrev shortens a payload for the log.
func abbrev(b []byte) string {
	const max = 64
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "…"
}

func (e *Responder) count(p rsocket.Payload) int {
	if s, ok := strings.CutPrefix(string(p.Data), "count:"); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return n
		}
	}
	switch {
	case e.Count == 0:
		return DefaultCount
	case e.Count < 0:
		return 0
	}
	return e.Count
}

// RequestResponse echoes p.
func (e *Responder) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	e.event(Event{Kind: "rr"}, &p)
	if string(p.Data) == ErrorData {
		return rsocket.Payload{}, errRequested
	}
	// p is valid only until we return, and the response is sent after: a
	// copy keeps to the ownership rule of rsocket.Payload.
	return p.Clone(), nil
}

// FireAndForget logs p.
func (e *Responder) FireAndForget(ctx context.Context, p rsocket.Payload) {
	e.event(Event{Kind: "fnf"}, &p)
}

// RequestStream sends "0" … "N-1".
func (e *Responder) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	e.event(Event{Kind: "stream"}, &p)
	if string(p.Data) == ErrorData {
		return errRequested
	}
	n := e.count(p)
	var buf [20]byte
	for i := 0; i < n; i++ {
		if err := w.Send(ctx, rsocket.Payload{Data: strconv.AppendInt(buf[:0], int64(i), 10)}); err != nil {
			e.event(Event{Kind: "cancel", Model: "stream", Sent: i}, nil)
			return err
		}
	}
	e.event(Event{Kind: "complete", Model: "stream", Sent: n}, nil)
	return nil
}

// RequestChannel echoes every payload until the requester completes.
func (e *Responder) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	e.event(Event{Kind: "channel"}, &p)
	sent := 0
	for {
		if string(p.Data) == ErrorData {
			return errRequested
		}
		if err := ch.Send(ctx, p); err != nil {
			e.event(Event{Kind: "cancel", Model: "channel", Sent: sent}, nil)
			return err
		}
		sent++
		var err error
		p, err = ch.Recv()
		if err == io.EOF {
			e.event(Event{Kind: "complete", Model: "channel", Sent: sent}, nil)
			return nil
		}
		if err != nil {
			e.event(Event{Kind: "cancel", Model: "channel", Sent: sent}, nil)
			return err
		}
		e.event(Event{Kind: "channelNext"}, &p)
	}
}

// MetadataPush logs the metadata.
func (e *Responder) MetadataPush(ctx context.Context, metadata []byte) {
	e.event(Event{Kind: "metadataPush"}, &rsocket.Payload{Metadata: metadata})
}

// Printer returns an observer (Responder.Observe) that writes the data of
// every payload received to w, one a line (metadata for a metadata push):
// rshm serve --print and rshm-kafka serve --print.
func Printer(w io.Writer) func(Event) {
	var (
		mu  sync.Mutex
		buf []byte
	)
	return func(ev Event) {
		var b []byte
		switch ev.Kind {
		case "rr", "fnf", "stream", "channel", "channelNext":
			b = ev.Data
		case "metadataPush":
			b = ev.Metadata
		default: // complete, cancel: nothing received
			return
		}
		mu.Lock()
		buf = append(append(buf[:0], b...), '\n')
		_, _ = w.Write(buf)
		mu.Unlock()
	}
}
