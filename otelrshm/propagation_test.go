package otelrshm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
	"go.opentelemetry.io/otel/trace"
)

func sc(trace128 bool, sampled bool) trace.SpanContext {
	c := trace.SpanContextConfig{
		TraceID: trace.TraceID{8: 1, 15: 2},
		SpanID:  trace.SpanID{0: 0xab, 7: 3},
	}
	if trace128 {
		c.TraceID[0] = 0xfe
	}
	if sampled {
		c.TraceFlags = trace.FlagsSampled
	}
	return trace.NewSpanContext(c)
}

// A span context goes into Zipkin tracing metadata and comes back the same:
// 64-bit trace ids as 64 bits, 128-bit ones whole, the sampled flag, the
// parent's id.
func TestZipkinRoundTrip(t *testing.T) {
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: sc(true, true).TraceID(), SpanID: trace.SpanID{7: 9}})
	for _, tc := range []struct {
		sc, parent trace.SpanContext
		want128    bool
		wantParent bool
	}{
		{sc(false, true), trace.SpanContext{}, false, false},
		{sc(true, false), trace.SpanContext{}, true, false},
		{sc(true, true), parent, true, true},
		{sc(false, true), parent, false, false}, // another trace: no parent
	} {
		z := zipkin(tc.sc, tc.parent)
		if z.TraceID128 != tc.want128 || z.HasParent != tc.wantParent {
			t.Errorf("%v: 128-bit %v, parent %v; want %v, %v", tc.sc, z.TraceID128, z.HasParent, tc.want128, tc.wantParent)
		}
		if tc.wantParent && z.ParentID != 9 {
			t.Errorf("parent id %x; want 9", z.ParentID)
		}
		b := metadata.AppendTracing(nil, z)
		back, err := metadata.ParseTracing(b)
		if err != nil {
			t.Fatal(err)
		}
		got := spanContext(back)
		if got.TraceID() != tc.sc.TraceID() || got.SpanID() != tc.sc.SpanID() || got.IsSampled() != tc.sc.IsSampled() || !got.IsRemote() {
			t.Errorf("round trip of %v gave %v", tc.sc, got)
		}
	}
	for _, tc := range []struct {
		t       metadata.Tracing
		valid   bool
		sampled bool
	}{
		{metadata.Tracing{Sampling: metadata.Sampled}, false, false}, // no ids
		{metadata.Tracing{HasIDs: true, TraceID: 1, SpanID: 1, Sampling: metadata.Debug}, true, true},
		{metadata.Tracing{HasIDs: true, TraceID: 1, SpanID: 1}, true, false},
		{metadata.Tracing{HasIDs: true, TraceID: 1}, false, false}, // zero span id
	} {
		got := spanContext(tc.t)
		if got.IsValid() != tc.valid || got.IsSampled() != tc.sampled {
			t.Errorf("%+v: valid %v, sampled %v; want %v, %v", tc.t, got.IsValid(), got.IsSampled(), tc.valid, tc.sampled)
		}
	}
}

// entries lists the MIME types of composite metadata md.
func entries(t *testing.T, md []byte) []string {
	t.Helper()
	var out []string
	for e, err := range metadata.Entries(md) {
		if err != nil {
			t.Fatalf("malformed composite metadata %x: %v", md, err)
		}
		out = append(out, e.MIME())
	}
	return out
}

// The requester adds the tracing entry after the entries of composite
// metadata, routing included, and gives the caller's payload back once
// the request is sent; it leaves metadata alone that it cannot read as
// composite, or that carries a tracing entry already.
func TestRequesterInjects(t *testing.T) {
	parent := sc(true, true)
	ctx := trace.ContextWithSpanContext(context.Background(), parent)
	routed, _ := router.Route("orders.get", []byte("data"))
	withTrace, _ := metadata.AppendCompositeID(bytes.Clone(routed.Metadata), metadata.MessageZipkin, metadata.AppendTracing(nil, zipkin(sc(false, false), trace.SpanContext{})))
	bareRoute, _ := metadata.AppendRoute(nil, "orders.get")
	for _, tc := range []struct {
		name string
		opts []Option
		md   []byte
		want []string // the entries sent; nil: the metadata as it was
	}{
		{"routed", nil, routed.Metadata, []string{metadata.MIMERouting, metadata.MIMEZipkin}},
		{"routed, composite", []Option{WithMetadataMIME(metadata.MIMEComposite)}, routed.Metadata, []string{metadata.MIMERouting, metadata.MIMEZipkin}},
		{"no metadata", nil, nil, nil},
		{"no metadata, composite", []Option{WithMetadataMIME(metadata.MIMEComposite)}, nil, []string{metadata.MIMEZipkin}},
		{"bare routing", nil, bareRoute, nil},
		{"bare routing, routing", []Option{WithMetadataMIME(metadata.MIMERouting)}, bareRoute, nil},
		{"routed, routing", []Option{WithMetadataMIME(metadata.MIMERouting)}, routed.Metadata, nil},
		{"routed, binary", []Option{WithMetadataMIME("application/binary")}, routed.Metadata, nil},
		{"not composite", nil, []byte("secret"), nil},
		{"own tracing entry", nil, withTrace, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ic := Requester(tc.opts...)
			orig := rsocket.Payload{Metadata: bytes.Clone(tc.md), Data: []byte("data")}
			call := &rsocket.Call{Model: rsocket.ModelRequestResponse, Payload: orig}
			var sent []byte
			err := ic(ctx, call, func(_ context.Context, c *rsocket.Call) error {
				sent = bytes.Clone(c.Payload.Metadata)
				if !bytes.Equal(c.Payload.Data, orig.Data) {
					t.Errorf("data %q; want %q", c.Payload.Data, orig.Data)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(call.Payload.Metadata, tc.md) || (tc.md == nil) != (call.Payload.Metadata == nil) {
				t.Errorf("after the call, call.Payload.Metadata is %x; want the caller's %x", call.Payload.Metadata, tc.md)
			}
			if tc.want == nil {
				if !bytes.Equal(sent, tc.md) {
					t.Errorf("sent metadata %x; want it unchanged, %x", sent, tc.md)
				}
				return
			}
			if got := entries(t, sent); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("entries %v; want %v", got, tc.want)
			}
			if !bytes.HasPrefix(sent, tc.md) {
				t.Errorf("sent metadata %x does not start with the caller's %x", sent, tc.md)
			}
			content, _, _ := metadata.Find(sent, metadata.MessageZipkin)
			z, err := metadata.ParseTracing(content)
			if err != nil {
				t.Fatal(err)
			}
			// No tracer provider is installed: the caller's span
			// context is passed on as it is.
			if got := spanContext(z); got.TraceID() != parent.TraceID() || got.SpanID() != parent.SpanID() {
				t.Errorf("tracing entry holds %v; want %v", got, parent)
			}
		})
	}
}

// The responder reads the route and the tracing entry of the metadata as
// the router does, and nothing of malformed metadata.
func TestResponderReads(t *testing.T) {
	z := metadata.AppendTracing(nil, zipkin(sc(true, true), trace.SpanContext{}))
	md, _ := metadata.AppendCompositeID(nil, metadata.ApplicationJSON, []byte("{}"))
	rt, _ := metadata.AppendRoute(nil, "a.b", "c")
	md, _ = metadata.AppendCompositeID(md, metadata.MessageRouting, rt)
	md, _ = metadata.AppendCompositeID(md, metadata.MessageZipkin, z)
	second, _ := metadata.AppendRoute(nil, "ignored")
	md, _ = metadata.AppendCompositeID(md, metadata.MessageRouting, second)

	in := newInst(true, nil)
	i := in.read(md)
	if !i.composite || !i.hasRoute || string(i.route) != "a.b" || !i.tracingOK {
		t.Errorf("read %+v; want route a.b and the tracing entry", i)
	}
	if got := trace.SpanContextFromContext(in.extract(context.Background(), md, i)); got.SpanID() != sc(true, true).SpanID() || !got.IsRemote() {
		t.Errorf("extracted %v; want %v, remote", got, sc(true, true))
	}
	if i := in.read(md[:len(md)-1]); i.hasRoute || i.hasTracing || i.composite {
		t.Errorf("malformed metadata read as %+v", i)
	}
	in = newInst(true, []Option{WithMetadataMIME(metadata.MIMERouting)})
	if i := in.read(rt); !i.hasRoute || string(i.route) != "a.b" || i.composite {
		t.Errorf("bare routing read as %+v; want route a.b", i)
	}
}

// The status codes of errors: the ERROR frame's code, or what stands for
// the error on each side.
func TestClassify(t *testing.T) {
	req, srv := newInst(false, nil), newInst(true, nil)
	for _, tc := range []struct {
		err           error
		client, serve string
	}{
		{nil, "OK", "OK"},
		{&rsocket.Error{Code: rsocket.CodeRejected}, "REJECTED", "REJECTED"},
		{fmt.Errorf("wrapped: %w", &rsocket.Error{Code: 0x301}), "0x301", "0x301"},
		{context.Canceled, "CANCELED", "CANCELED"},
		{context.DeadlineExceeded, "DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"},
		{rsocket.ErrClosed, "UNAVAILABLE", "APPLICATION_ERROR"},
		{errors.New("oops"), "UNKNOWN", "APPLICATION_ERROR"},
	} {
		if got := status(req.classify(tc.err)); got != tc.client {
			t.Errorf("requester: %v is %q; want %q", tc.err, got, tc.client)
		}
		if got := status(srv.classify(tc.err)); got != tc.serve {
			t.Errorf("responder: %v is %q; want %q", tc.err, got, tc.serve)
		}
	}
}

// Without a provider the interceptors allocate nothing, also when they
// pass a span context on.
func TestNoProviderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops buffers at random")
	}
	routed, _ := router.Route("orders.get", []byte("data"))
	next := func(context.Context, *rsocket.Call) error { return nil }
	req, resp := Requester(), Responder()
	plain := context.Background()
	traced := trace.ContextWithSpanContext(plain, sc(true, true))
	withEntry := routed
	withEntry.Metadata, _ = metadata.AppendCompositeID(bytes.Clone(routed.Metadata), metadata.MessageZipkin,
		metadata.AppendTracing(nil, zipkin(sc(true, true), trace.SpanContext{})))
	for _, tc := range []struct {
		name string
		ic   rsocket.Interceptor
		ctx  context.Context
		p    rsocket.Payload
		want float64
	}{
		{"requester", req, plain, routed, 0},
		{"requester, span context", req, traced, routed, 0},
		{"responder", resp, plain, routed, 0},
		// The handler's ctx gets the remote span context:
		// trace.ContextWithRemoteSpanContext's two allocations (the
		// span in an interface, the context).
		{"responder, tracing entry", resp, plain, withEntry, 2},
	} {
		call := &rsocket.Call{Model: rsocket.ModelRequestResponse}
		got := testing.AllocsPerRun(1000, func() {
			call.Payload = tc.p
			if err := tc.ic(tc.ctx, call, next); err != nil {
				t.Fatal(err)
			}
		})
		if got > tc.want {
			t.Errorf("%s: %v allocations per request; want %v", tc.name, got, tc.want)
		}
	}
}
