// Package otelrshm instruments rshm connections with OpenTelemetry: a
// metric and a span per request, and the trace context carried from the
// requester to the responder in the request's metadata. It is a module of
// its own (github.com/rshm/rshm/otelrshm), so that the rshm library does
// not depend on OpenTelemetry.
//
// Requester and Responder return rsocket.Interceptors; an application sets
// them in its configs, on either side of a connection:
//
//	cfg := rshm.Config{
//		Client: rsocket.ClientConfig{RequesterInterceptors: []rsocket.Interceptor{otelrshm.Requester()}},
//		Server: rsocket.ServerConfig{
//			Acceptor:              r.Acceptor(), // a router.Router, say
//			ResponderInterceptors: []rsocket.Interceptor{otelrshm.Responder()},
//		},
//	}
//
// They use OpenTelemetry's API only: the meter provider, tracer provider
// and text-map propagator are the global ones (otel.SetMeterProvider and
// the like) unless an Option names others, and with none installed the
// interceptors record nothing and start no span.
//
// # Metrics
//
// One histogram on each side, in seconds, as the RPC semantic conventions
// name them:
//
//	rpc.client.call.duration   Requester: from the call until the Conn
//	                           method's outcome (see below)
//	rpc.server.call.duration   Responder: from the request until the
//	                           Handler's method returned
//
// The count of a histogram's data point is the number of requests with its
// attributes (a Prometheus exporter shows it as the _count series), so no
// separate counter is kept. The attributes:
//
//	rpc.system.name            "rsocket"
//	rpc.method                 the route: the first tag of the request's
//	                           routing metadata; absent without one (see
//	                           WithRoutes for the routes recorded as they are)
//	rsocket.interaction_model  "request-response", "fire-and-forget",
//	                           "request-stream", "request-channel",
//	                           "metadata-push" (rsocket.Model's String)
//	rpc.response.status_code   "OK", or the error (see below)
//	error.type                 the same as the status code, on errors only
//
// The status code of an error is its ERROR frame's code name
// ("APPLICATION_ERROR", "REJECTED", "CANCELED", "INVALID", or an
// application's code in hex, "0x301"); context.Canceled is "CANCELED",
// context.DeadlineExceeded "DEADLINE_EXCEEDED"; on the requester side an
// error for which rsocket.IsPeerGone holds is "UNAVAILABLE", and any other
// "UNKNOWN"; on the responder side any other error is "APPLICATION_ERROR",
// the code the requester receives, and so is a panic.
//
// The requester's duration is what its interceptor can see: a
// request-response until its answer; a fire-and-forget, a stream, a channel,
// a metadata push and RequestResponseAsync until the request is sent (the
// stream then goes on without the interceptor). The responder's covers the
// whole request: a stream or channel until the Handler's method returned.
// The histograms advise bucket boundaries from 1 µs to 10 s, as requests
// over shared memory take about a microsecond (an SDK view may set others).
//
// # Traces
//
// Requester starts a client span per request, Responder a server span whose
// parent is the requester's span. The span's name is the route, or the
// interaction model without one; its attributes are the metric's.
//
// The context crosses the connection in the Zipkin tracing extension of
// RSocket (message/x.rsocket.tracing-zipkin.v0, metadata.Tracing): the
// requester adds an entry to the request's composite metadata, after the
// entries already there (the routing entry is left as it is), and the
// responder reads it, as rsocket-java's TracingMetadataCodec and Spring do.
// The entry holds the trace id (64 bits when the upper half of
// OpenTelemetry's 128-bit id is zero, else 128), the requester span's id,
// its parent's id and the sampled flag. A request whose metadata already
// holds a tracing entry keeps its own. The propagator (WithPropagators,
// else the global one) carries what else it carries, baggage say: each of
// its fields becomes a composite entry named by the field, as Spring Cloud
// Sleuth writes them.
//
// The interceptor cannot see the metadata MIME type a connection's SETUP
// announced, so by default it adds to metadata that reads as composite
// metadata only, and leaves a request without metadata alone; with
// WithMetadataMIME(metadata.MIMEComposite) a request without metadata gets
// composite metadata of its own, and with metadata.MIMERouting the
// metadata is read as bare routing and never changed.
//
// # Cost
//
// With no provider installed the interceptors pass the trace context on
// (from the ctx to the request's metadata, and back into the handler's
// ctx) and do nothing else: no span, no clock, and no allocation but the
// handler's ctx when the request carries a trace context. With
// providers, the attributes of each route, model and status code are built
// once and reused; what remains per request is the SDK's own work and, when
// the requester adds the tracing entry, a copy of the metadata into a
// pooled buffer.
package otelrshm
