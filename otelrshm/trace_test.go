package otelrshm_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/rshm/rshm/otelrshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// connect connects a client to a server over the in-process pipe, each
// with its config, and closes both at the end of the test.
func connect(t *testing.T, ccfg rsocket.ClientConfig, scfg rsocket.ServerConfig) *rsocket.Conn {
	t.Helper()
	ctx := context.Background()
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	srv := make(chan *rsocket.Conn, 1)
	go func() {
		c, _ := rsocket.Server(ctx, st, scfg)
		srv <- c
	}()
	c, err := rsocket.Client(ctx, ct, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	s := <-srv
	t.Cleanup(func() {
		c.Close()
		if s != nil {
			s.Close()
		}
	})
	return c
}

// traced is a client and a server, each with its own tracer provider and
// span recorder, and a router whose handlers report the span context of
// their ctx on seen.
type traced struct {
	conn           *rsocket.Conn
	client, server *tracetest.SpanRecorder
	seen           chan trace.SpanContext
	fnfDone        chan struct{}
}

func newTraced(t *testing.T, opts ...otelrshm.Option) *traced {
	tr := &traced{
		client:  tracetest.NewSpanRecorder(),
		server:  tracetest.NewSpanRecorder(),
		seen:    make(chan trace.SpanContext, 16),
		fnfDone: make(chan struct{}, 16),
	}
	ctp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tr.client))
	stp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tr.server))

	r := router.New(router.Config{})
	r.OnRequestResponse("orders.get", func(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		tr.seen <- trace.SpanContextFromContext(ctx)
		return p, nil
	})
	r.OnFireAndForget("orders.log", func(ctx context.Context, p rsocket.Payload) {
		tr.seen <- trace.SpanContextFromContext(ctx)
	})
	r.OnRequestStream("orders.watch", func(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
		tr.seen <- trace.SpanContextFromContext(ctx)
		return w.Send(ctx, p)
	})
	r.OnRequestChannel("orders.watch", func(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
		tr.seen <- trace.SpanContextFromContext(ctx)
		for {
			if _, err := ch.Recv(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	})
	// done tells when the server's interceptor has ended a
	// fire-and-forget's span: it wraps otelrshm.Responder.
	done := func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		err := next(ctx, call)
		if call.Model == rsocket.ModelFireAndForget {
			tr.fnfDone <- struct{}{}
		}
		return err
	}
	tr.conn = connect(t,
		rsocket.ClientConfig{RequesterInterceptors: []rsocket.Interceptor{
			otelrshm.Requester(append(opts, otelrshm.WithTracerProvider(ctp))...)}},
		rsocket.ServerConfig{Acceptor: r.Acceptor(), ResponderInterceptors: []rsocket.Interceptor{
			done, otelrshm.Responder(append(opts, otelrshm.WithTracerProvider(stp))...)}},
	)
	return tr
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value.String()
		}
	}
	return ""
}

// The client span of every interaction model is the parent of the server
// span, across a connection, through the tracing entry of the request's
// composite metadata.
func TestTracePropagation(t *testing.T) {
	tr := newTraced(t)
	ctx := context.Background()
	rr, _ := router.Route("orders.get", []byte("1"))
	fnf, _ := router.Route("orders.log", []byte("2"))
	rs, _ := router.Route("orders.watch", []byte("3"))
	rc, _ := router.Route("orders.watch", []byte("4"))

	if _, err := tr.conn.RequestResponse(ctx, rr); err != nil {
		t.Fatal(err)
	}
	if err := tr.conn.FireAndForget(ctx, fnf); err != nil {
		t.Fatal(err)
	}
	<-tr.fnfDone
	s, err := tr.conn.RequestStream(ctx, rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
	}
	ch, err := tr.conn.RequestChannel(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	ch.CloseSend()
	for _, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
	}

	cs, ss := tr.client.Ended(), tr.server.Ended()
	if len(cs) != 4 || len(ss) != 4 {
		t.Fatalf("%d client spans, %d server spans; want 4 each", len(cs), len(ss))
	}
	wantModel := []string{"request-response", "fire-and-forget", "request-stream", "request-channel"}
	wantRoute := []string{"orders.get", "orders.log", "orders.watch", "orders.watch"}
	for i := range 4 {
		c, s := cs[i], ss[i]
		if c.SpanKind() != trace.SpanKindClient || s.SpanKind() != trace.SpanKindServer {
			t.Errorf("%d: kinds %v, %v; want client, server", i, c.SpanKind(), s.SpanKind())
		}
		if s.Parent().SpanID() != c.SpanContext().SpanID() || s.SpanContext().TraceID() != c.SpanContext().TraceID() {
			t.Errorf("%d: server span %v has parent %v; want the client span %v", i, s.SpanContext().SpanID(), s.Parent(), c.SpanContext())
		}
		if !s.Parent().IsRemote() {
			t.Errorf("%d: server span's parent is not remote", i)
		}
		if c.Parent().IsValid() {
			t.Errorf("%d: client span has parent %v; want a root", i, c.Parent())
		}
		for _, sp := range []sdktrace.ReadOnlySpan{c, s} {
			if sp.Name() != wantRoute[i] {
				t.Errorf("%d: span name %q; want %q", i, sp.Name(), wantRoute[i])
			}
			if got := attr(sp, "rsocket.interaction_model"); got != wantModel[i] {
				t.Errorf("%d: model %q; want %q", i, got, wantModel[i])
			}
			if got := attr(sp, "rpc.method"); got != wantRoute[i] {
				t.Errorf("%d: rpc.method %q; want %q", i, got, wantRoute[i])
			}
			if got := attr(sp, "rpc.system.name"); got != "rsocket" {
				t.Errorf("%d: rpc.system.name %q", i, got)
			}
			if got := attr(sp, "rpc.response.status_code"); got != "OK" {
				t.Errorf("%d: status %q; want OK", i, got)
			}
		}
		// The handler's ctx holds the server span: what it requests in
		// turn belongs to the trace.
		if got := <-tr.seen; got.SpanID() != s.SpanContext().SpanID() {
			t.Errorf("%d: the handler's ctx holds span %v; want the server span %v", i, got.SpanID(), s.SpanContext().SpanID())
		}
	}
}

// A request made under a span of the application continues its trace: the
// client span is its child, and the server span the client span's.
func TestTraceContinuesCallersTrace(t *testing.T) {
	tr := newTraced(t)
	app := sdktrace.NewTracerProvider()
	ctx, parent := app.Tracer("app").Start(context.Background(), "checkout")
	req, _ := router.Route("orders.get", nil)
	if _, err := tr.conn.RequestResponse(ctx, req); err != nil {
		t.Fatal(err)
	}
	parent.End()
	c, s := tr.client.Ended()[0], tr.server.Ended()[0]
	if c.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("client span's parent %v; want the application's span %v", c.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if s.SpanContext().TraceID() != parent.SpanContext().TraceID() || s.Parent().SpanID() != c.SpanContext().SpanID() {
		t.Errorf("server span %v (parent %v); want in trace %v under %v",
			s.SpanContext(), s.Parent().SpanID(), parent.SpanContext().TraceID(), c.SpanContext().SpanID())
	}
	if !s.SpanContext().IsSampled() {
		t.Error("the server span is not sampled; the sampled flag did not cross")
	}
}

// A refused request ends both spans with an error status and the ERROR
// code as its status code.
func TestTraceError(t *testing.T) {
	tr := newTraced(t)
	req, _ := router.Route("no.such.route", nil)
	_, err := tr.conn.RequestResponse(context.Background(), req)
	if err == nil {
		t.Fatal("a request for an unknown route succeeded")
	}
	for _, s := range []sdktrace.ReadOnlySpan{tr.client.Ended()[0], tr.server.Ended()[0]} {
		if s.Status().Code != codes.Error {
			t.Errorf("%v span status %v; want Error", s.SpanKind(), s.Status())
		}
		if got := attr(s, "rpc.response.status_code"); got != "REJECTED" {
			t.Errorf("%v span status code %q; want REJECTED", s.SpanKind(), got)
		}
		if got := attr(s, "error.type"); got != "REJECTED" {
			t.Errorf("%v span error.type %q; want REJECTED", s.SpanKind(), got)
		}
	}
}

// A propagator's fields (baggage here) travel as composite entries beside
// the tracing entry.
func TestTracePropagatorFields(t *testing.T) {
	tr := newTraced(t, otelrshm.WithPropagators(propagation.Baggage{}))
	got := make(chan string, 1)
	m, _ := baggage.NewMember("tenant", "acme")
	b, _ := baggage.New(m)
	ctx := baggage.ContextWithBaggage(context.Background(), b)

	// A second connection whose handler reports the baggage it sees.
	r := router.New(router.Config{})
	r.OnRequestResponse("who", func(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		got <- baggage.FromContext(ctx).Member("tenant").Value()
		return p, nil
	})
	conn := connect(t,
		rsocket.ClientConfig{RequesterInterceptors: []rsocket.Interceptor{otelrshm.Requester(otelrshm.WithPropagators(propagation.Baggage{}))}},
		rsocket.ServerConfig{Acceptor: r.Acceptor(), ResponderInterceptors: []rsocket.Interceptor{otelrshm.Responder(otelrshm.WithPropagators(propagation.Baggage{}))}},
	)
	req, _ := router.Route("who", nil)
	if _, err := conn.RequestResponse(ctx, req); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "acme" {
		t.Errorf("the handler sees tenant %q; want acme", v)
	}

	// With a tracer too, the span context still crosses.
	req, _ = router.Route("orders.get", nil)
	if _, err := tr.conn.RequestResponse(ctx, req); err != nil {
		t.Fatal(err)
	}
	if c, s := tr.client.Ended()[0], tr.server.Ended()[0]; s.Parent().SpanID() != c.SpanContext().SpanID() {
		t.Errorf("server span's parent %v; want %v", s.Parent().SpanID(), c.SpanContext().SpanID())
	}
}

// A handler's panic ends the server span with APPLICATION_ERROR, and the
// connection serves on.
func TestTraceHandlerPanic(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	r := router.New(router.Config{})
	r.OnRequestResponse("boom", func(context.Context, rsocket.Payload) (rsocket.Payload, error) { panic("boom") })
	r.OnRequestResponse("ok", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) { return p, nil })
	conn := connect(t, rsocket.ClientConfig{}, rsocket.ServerConfig{
		Acceptor:              r.Acceptor(),
		Logger:                slog.New(slog.DiscardHandler),
		ResponderInterceptors: []rsocket.Interceptor{otelrshm.Responder(otelrshm.WithTracerProvider(tp))},
	})
	ctx := context.Background()
	boom, _ := router.Route("boom", nil)
	if _, err := conn.RequestResponse(ctx, boom); err == nil {
		t.Fatal("a panicking handler's request succeeded")
	}
	ok, _ := router.Route("ok", nil)
	if _, err := conn.RequestResponse(ctx, ok); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended; want 2", len(spans))
	}
	if got := attr(spans[0], "rpc.response.status_code"); got != "APPLICATION_ERROR" || spans[0].Status().Code != codes.Error {
		t.Errorf("the panicking request's span: status code %q, status %v; want APPLICATION_ERROR, Error", got, spans[0].Status())
	}
}

// A metadata push carries no tracing entry (the extension is for requests
// only), and its span is named by the interaction model.
func TestTraceMetadataPush(t *testing.T) {
	tr := newTraced(t)
	md, _ := metadata.AppendCompositeID(nil, metadata.ApplicationJSON, []byte("{}"))
	if err := tr.conn.MetadataPush(context.Background(), md); err != nil {
		t.Fatal(err)
	}
	rsockettest.Eventually(t, 5*time.Second, "the server's metadata-push span", func() bool { return len(tr.server.Ended()) == 1 })
	c, s := tr.client.Ended()[0], tr.server.Ended()[0]
	if c.Name() != "metadata-push" || s.Name() != "metadata-push" {
		t.Errorf("span names %q, %q; want metadata-push", c.Name(), s.Name())
	}
	if s.Parent().IsValid() {
		t.Errorf("the server span has parent %v; want none", s.Parent())
	}
}
