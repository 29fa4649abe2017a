package otelrshm

import (
	"context"
	"reflect"
	"time"

	"github.com/rshm/rshm/rsocket"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// scope is the instrumentation scope of the meters and tracers.
const scope = "github.com/rshm/rshm/otelrshm"

// The histograms, named as semantic conventions v1.43 name them.
const (
	clientDuration = "rpc.client.call.duration"
	serverDuration = "rpc.server.call.duration"
)

// buckets are the advised boundaries of the histograms, in seconds: from
// a request over shared memory (about a microsecond) to a slow one over a
// network. The conventions' own start at 5 ms, where every rshm request
// would fall in the first bucket.
var buckets = []float64{
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// Requester returns an interceptor for the requests a connection makes
// (rsocket.ClientConfig.RequesterInterceptors, or a server's
// ServerConfig.RequesterInterceptors): a client span and the
// rpc.client.call.duration histogram per request, and the span's context
// added to the request's metadata. See the package documentation.
func Requester(opts ...Option) rsocket.Interceptor {
	return newInst(false, opts).requester
}

// Responder returns an interceptor for the requests a connection's Handler
// answers (rsocket.ServerConfig.ResponderInterceptors, or a client's
// ClientConfig.ResponderInterceptors): a server span, child of the
// requester's span that the request's metadata carries, and the
// rpc.server.call.duration histogram per request. The handler's ctx holds
// the span, so that the requests the handler makes in turn belong to the
// trace. See the package documentation.
func Responder(opts ...Option) rsocket.Interceptor {
	return newInst(true, opts).responder
}

// inst is one interceptor's instruments and caches.
type inst struct {
	server bool
	mime   mimeMode
	hist   metric.Float64Histogram
	tracer trace.Tracer
	routes *routeTable

	// noTrace: the tracer provider is a no-op one. unsetTP is the
	// global provider when the interceptor took it before the
	// application set one: the otel package's delegating provider,
	// whose tracers start non-recording spans (and allocate for them)
	// until a provider is set; as long as otel.GetTracerProvider still
	// returns it, no span is started.
	noTrace bool
	unsetTP trace.TracerProvider

	// prop is the propagator given with WithPropagators (nil when none
	// was, or when it has no fields); global: the global one is used,
	// except while it is still unsetProp, the otel package's delegating
	// propagator before any is set.
	prop      propagation.TextMapPropagator
	global    bool
	unsetProp propagation.TextMapPropagator
}

func newInst(server bool, opts []Option) *inst {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	in := &inst{server: server, mime: c.mime}

	mp := c.mp
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	name, desc := clientDuration, "Duration of an outgoing RSocket request."
	if server {
		name, desc = serverDuration, "Duration of an incoming RSocket request."
	}
	h, err := mp.Meter(scope, metric.WithSchemaURL(semconv.SchemaURL)).Float64Histogram(name,
		metric.WithUnit("s"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(buckets...))
	if err != nil {
		otel.Handle(err)
	}
	if h == nil { // an SDK returns a usable instrument with its error; others may not
		h = metricnoop.Float64Histogram{}
	}
	in.hist = h

	tp := c.tp
	if tp == nil {
		tp = otel.GetTracerProvider()
		if isGlobalDelegate(tp, "tracerProvider") {
			in.unsetTP = tp
		}
	}
	if _, ok := tp.(noop.TracerProvider); ok {
		in.noTrace = true
	}
	in.tracer = tp.Tracer(scope, trace.WithSchemaURL(semconv.SchemaURL))

	if c.prop != nil {
		if len(c.prop.Fields()) > 0 {
			in.prop = c.prop
		}
	} else {
		in.global = true
		if p := otel.GetTextMapPropagator(); isGlobalDelegate(p, "textMapPropagator") {
			in.unsetProp = p
		}
	}

	kind := trace.SpanKindClient
	if server {
		kind = trace.SpanKindServer
	}
	in.routes = newRouteTable(kind, c.routes, c.fixed)
	return in
}

// isGlobalDelegate reports whether v is the otel package's delegating
// implementation named name, what the globals hold before an application
// sets its own. Should a later otel version rename it, the check fails and
// the interceptors simply do the no-op work the delegate does.
func isGlobalDelegate(v any, name string) bool {
	t := reflect.TypeOf(v)
	return t != nil && t.Kind() == reflect.Pointer &&
		t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global" && t.Elem().Name() == name
}

// tracing reports whether spans are to be started.
func (in *inst) tracing() bool {
	if in.noTrace {
		return false
	}
	// unsetTP holds a pointer: an interface comparison with it cannot
	// panic whatever the current provider's type.
	return in.unsetTP == nil || otel.GetTracerProvider() != in.unsetTP
}

// propagator returns the propagator to inject or extract with, or nil.
func (in *inst) propagator() propagation.TextMapPropagator {
	if !in.global {
		return in.prop
	}
	p := otel.GetTextMapPropagator()
	if in.unsetProp != nil && p == in.unsetProp {
		return nil
	}
	return p
}

// requester is the interceptor Requester returns.
func (in *inst) requester(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
	tracing, metrics := in.tracing(), in.hist.Enabled(ctx)
	parent := trace.SpanContextFromContext(ctx)
	if !tracing && !metrics && !parent.IsValid() && in.propagator() == nil {
		return next(ctx, call)
	}
	var md mdInfo
	if call.Model != rsocket.ModelMetadataPush {
		md = in.read(call.Payload.Metadata)
	}
	var m *model // nil: only passing the context on
	if tracing || metrics {
		m = in.routes.lookup(md.route, md.hasRoute).model(call.Model)
	}
	var span trace.Span
	sc := parent
	if tracing {
		ctx, span = in.tracer.Start(ctx, m.spanName, m.start...)
		sc = span.SpanContext()
		if m.r.other && span.IsRecording() {
			span.SetAttributes(semconv.RPCMethodOriginal(string(md.route)))
		}
	}
	orig := call.Payload
	var buf *injectBuf
	if call.Model != rsocket.ModelMetadataPush && in.canInject(md, len(orig.Metadata)) {
		buf = in.inject(ctx, call, sc, parent)
	}

	var start time.Time
	if metrics {
		start = time.Now()
	}
	err := next(ctx, call)
	if buf != nil {
		// The connection read the request during next; an outer
		// interceptor that looks at call.Payload afterwards sees its own.
		call.Payload = orig
		buf.put()
	}
	if m != nil {
		in.finish(ctx, m, span, start, metrics, err)
	}
	return err
}

// responder is the interceptor Responder returns.
func (in *inst) responder(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) (err error) {
	tracing, metrics := in.tracing(), in.hist.Enabled(ctx)
	var md mdInfo
	if call.Model != rsocket.ModelMetadataPush && (tracing || metrics || len(call.Payload.Metadata) > 0) {
		md = in.read(call.Payload.Metadata)
		ctx = in.extract(ctx, call.Payload.Metadata, md)
	}
	if !tracing && !metrics {
		return next(ctx, call)
	}
	m := in.routes.lookup(md.route, md.hasRoute).model(call.Model)

	var span trace.Span
	if tracing {
		ctx, span = in.tracer.Start(ctx, m.spanName, m.start...)
		if m.r.other && span.IsRecording() {
			span.SetAttributes(semconv.RPCMethodOriginal(string(md.route)))
		}
	}
	var start time.Time
	if metrics {
		start = time.Now()
	}
	defer func() {
		// A panicking handler fails its request with APPLICATION_ERROR
		// (the connection recovers it further out): record that, then
		// let the panic go on.
		if v := recover(); v != nil {
			in.finish(ctx, m, span, start, metrics, errPanicked)
			panic(v)
		}
	}()
	err = next(ctx, call)
	in.finish(ctx, m, span, start, metrics, err)
	return err
}

// errPanicked stands for a handler's panic in finish.
var errPanicked = &rsocket.Error{Code: rsocket.CodeApplicationError, Message: "handler panicked"}

// finish records a request's outcome and ends its span.
func (in *inst) finish(ctx context.Context, m *model, span trace.Span, start time.Time, metrics bool, err error) {
	o := m.outcome(in.classify(err))
	if metrics {
		in.hist.Record(ctx, time.Since(start).Seconds(), o.rec...)
	}
	if span == nil {
		return
	}
	if span.IsRecording() {
		span.SetAttributes(o.kvs...)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}
