package rsocket_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// panicky panics in every method when the request's data is "panic"
// (a stream after its first payload), and echoes otherwise.
type panicky struct{ rsockettest.Echo }

func panicOn(p rsocket.Payload, model string) {
	if string(p.Data) == "panic" {
		panic("boom in " + model)
	}
}

func (h *panicky) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	panicOn(p, "request-response")
	return h.Echo.RequestResponse(ctx, p)
}

func (h *panicky) FireAndForget(_ context.Context, p rsocket.Payload) {
	panicOn(p, "fire-and-forget")
}

func (h *panicky) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	if err := w.Send(ctx, rsocket.Payload{Data: []byte("first")}); err != nil {
		return err
	}
	panicOn(p, "request-stream")
	return nil
}

func (h *panicky) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	panicOn(p, "request-channel")
	return h.Echo.RequestChannel(ctx, p, ch)
}

func (h *panicky) MetadataPush(_ context.Context, md []byte) {
	panicOn(rsocket.Payload{Data: md}, "metadata-push")
}

// panickyInline panics in its inline methods as panicky does.
type panickyInline struct{ panicky }

func (h *panickyInline) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) {
	panicOn(p, "inline request-response")
	r.Respond(p)
}

func (h *panickyInline) FireAndForgetInline(p rsocket.Payload) {
	panicOn(p, "inline fire-and-forget")
}

// records is a slog.Handler that passes each record on a channel.
type records chan slog.Record

func (r records) Enabled(context.Context, slog.Level) bool        { return true }
func (r records) Handle(_ context.Context, rec slog.Record) error { r <- rec.Clone(); return nil }
func (r records) WithAttrs([]slog.Attr) slog.Handler              { return r }
func (r records) WithGroup(string) slog.Handler                   { return r }

// panicLogged waits for the record of the panic in model and checks it.
func (r records) panicLogged(t *testing.T, model string) {
	t.Helper()
	for rec := range r {
		if rec.Level < slog.LevelError {
			continue
		}
		attrs := map[string]string{}
		rec.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		if attrs["panic"] != "boom in "+model || !strings.Contains(attrs["stack"], "rsocket_test.panicOn") {
			t.Errorf("logged %q %v; want the panic of %s and its stack", rec.Message, attrs, model)
		}
		return
	}
}

// TestHandlerPanic: a panic in any handler method fails that request with
// APPLICATION_ERROR, is logged with its stack at Error level, and the
// connection serves the next request.
func TestHandlerPanic(t *testing.T) {
	for _, tr := range []struct {
		name string
		dial rsockettest.Dial
	}{{"pipe", pipeDial}, {"tcp", tcpDial}} {
		for _, h := range []rsocket.Handler{&panicky{}, &panickyInline{}} {
			t.Run(fmt.Sprintf("%s/%T", tr.name, h), func(t *testing.T) { testHandlerPanic(t, tr.dial, h) })
		}
	}
}

func testHandlerPanic(t *testing.T, dial rsockettest.Dial, h rsocket.Handler) {
	_, inline := h.(rsocket.InlineResponder)
	logged := make(records, 16)
	p := rsockettest.Connect(t, dial, rsocket.ClientConfig{}, rsocket.ServerConfig{
		Logger:   slog.New(logged),
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
	})
	ctx := t.Context()
	bad := rsocket.Payload{Data: []byte("panic")}
	good := rsocket.Payload{Data: []byte("ok")}
	wantPanicked := func(what string, err error) {
		t.Helper()
		var e *rsocket.Error
		if !errors.As(err, &e) || e.Code != rsocket.CodeApplicationError || e.Message != "handler panicked" {
			t.Fatalf("%s: %v; want APPLICATION_ERROR handler panicked", what, err)
		}
	}
	alive := func() {
		t.Helper()
		if r, err := p.Client.RequestResponse(ctx, good); err != nil || string(r.Data) != "ok" {
			t.Fatalf("request after the panic: %q, %v", r.Data, err)
		}
	}

	_, err := p.Client.RequestResponse(ctx, bad)
	wantPanicked("RequestResponse", err)
	if inline {
		logged.panicLogged(t, "inline request-response")
	} else {
		logged.panicLogged(t, "request-response")
	}
	alive()

	if err := p.Client.FireAndForget(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if inline {
		logged.panicLogged(t, "inline fire-and-forget")
	} else {
		logged.panicLogged(t, "fire-and-forget")
	}
	alive()

	s, err := p.Client.RequestStream(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	if q, err := s.Recv(); err != nil || string(q.Data) != "first" {
		t.Fatalf("stream's first payload: %q, %v", q.Data, err)
	}
	_, err = s.Recv()
	wantPanicked("RequestStream", err)
	logged.panicLogged(t, "request-stream")
	alive()

	ch, err := p.Client.RequestChannel(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Recv()
	wantPanicked("RequestChannel", err)
	logged.panicLogged(t, "request-channel")
	alive()

	if err := p.Client.MetadataPush(ctx, []byte("panic")); err != nil {
		t.Fatal(err)
	}
	logged.panicLogged(t, "metadata-push")
	alive()
	if err := p.Server.Err(); err != nil {
		t.Errorf("server connection: %v", err)
	}
}

// loanPanic panics while filling a loan whose Abort it deferred.
// loanPanic's stream handler panics with a loan out, deferring its Abort
// or not.
type loanPanic struct {
	rsockettest.Echo
	deferAbort bool
}

func (h *loanPanic) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	l, err := w.Loan(ctx, 8)
	if err != nil {
		return err
	}
	if h.deferAbort {
		defer l.Abort()
	}
	panic("while filling a loan")
}

// TestHandlerPanicWithLoan: a handler that panics with a loan out, whether
// it defers the loan's Abort or not, leaves the transport's claim free, so
// the ERROR and the next request go through.
func TestHandlerPanicWithLoan(t *testing.T) {
	for _, tr := range []struct {
		name       string
		dial       rsockettest.Dial
		deferAbort bool
	}{{"pipe", pipeDial, true}, {"tcp", tcpDial, true}, {"pipe-no-abort", pipeDial, false}, {"tcp-no-abort", tcpDial, false}} {
		t.Run(tr.name, func(t *testing.T) {
			p := rsockettest.Connect(t, tr.dial, rsocket.ClientConfig{}, rsocket.ServerConfig{
				Logger: slog.New(make(records, 16)),
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					return &loanPanic{deferAbort: tr.deferAbort}, nil
				},
			})
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			s, err := p.Client.RequestStream(ctx, rsocket.Payload{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Recv(); !errors.Is(err, &rsocket.Error{Code: rsocket.CodeApplicationError}) {
				t.Fatalf("stream: %v; want APPLICATION_ERROR", err)
			}
			if r, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("ok")}); err != nil || string(r.Data) != "ok" {
				t.Fatalf("request after the panic: %q, %v", r.Data, err)
			}
		})
	}
}

// TestAcceptorPanic: an acceptor that panics rejects that client
// (REJECTED_SETUP) and the server keeps serving the next.
func TestAcceptorPanic(t *testing.T) {
	calls := 0
	acceptor := func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		calls++
		if calls == 1 {
			panic("acceptor bug")
		}
		return inlineEcho{}, nil
	}
	for i := range 2 {
		ct, st := pipeDial(t)
		done := make(chan error, 1)
		go func() {
			_, err := rsocket.Server(t.Context(), st, rsocket.ServerConfig{Acceptor: acceptor, Logger: slog.New(slog.DiscardHandler)})
			done <- err
		}()
		c, err := rsocket.Client(t.Context(), ct, rsocket.ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		serr := <-done
		_, err = c.RequestResponse(t.Context(), rsocket.Payload{Data: []byte("x")})
		var re *rsocket.Error
		if i == 0 {
			if serr == nil || !errors.As(err, &re) || re.Code != rsocket.CodeRejectedSetup {
				t.Fatalf("after a panicking acceptor: server %v, request %v; want REJECTED_SETUP", serr, err)
			}
		} else if serr != nil || err != nil {
			t.Fatalf("the next client: server %v, request %v", serr, err)
		}
		c.Close()
	}
}
