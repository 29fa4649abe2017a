package otelrshm

import (
	"github.com/rshm/rshm/rsocket/metadata"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// config is what the Options set.
type config struct {
	mp     metric.MeterProvider
	tp     trace.TracerProvider
	prop   propagation.TextMapPropagator
	mime   mimeMode
	routes []string
	fixed  bool // routes is the whole list (WithRoutes)
}

// mimeMode is how the requests' metadata is read (WithMetadataMIME).
type mimeMode uint8

const (
	mimeUnknown   mimeMode = iota // composite if it reads as composite
	mimeComposite                 // composite, also when absent
	mimeRouting                   // bare routing
	mimeOther                     // neither: no route, nothing added
)

// Option configures Requester and Responder.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMeterProvider sets the meter provider of the histograms; nil (and
// the default) is the global one, otel.GetMeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithTracerProvider sets the tracer provider of the spans; nil (and the
// default) is the global one, otel.GetTracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithPropagators sets the propagator whose fields travel as composite
// entries beside the Zipkin tracing entry (see the package documentation);
// nil (and the default) is the global one, otel.GetTextMapPropagator.
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.prop = p })
}

// WithMetadataMIME says what the metadata of the requests is, as the
// connections' SETUP announced it (rsocket.ClientConfig.MetadataMIME on a
// client): metadata.MIMEComposite lets the requester give a request
// without metadata composite metadata of its own, for the tracing entry;
// metadata.MIMERouting reads the route from bare routing metadata and adds
// nothing; any other type reads no route and adds nothing. Without it the
// metadata is taken for composite metadata when it reads as such.
func WithMetadataMIME(mime string) Option {
	return optionFunc(func(c *config) {
		switch mime {
		case metadata.MIMEComposite:
			c.mime = mimeComposite
		case metadata.MIMERouting:
			c.mime = mimeRouting
		default:
			c.mime = mimeOther
		}
	})
}

// WithRoutes names the routes recorded as they are in rpc.method: any other
// route is recorded as "_OTHER" (and, on a span, in rpc.method_original),
// as the semantic conventions ask of a method the instrumentation does not
// know. Without it the first 256 distinct routes seen are recorded as they
// are and the later ones as "_OTHER": the route comes from the peer, and
// the number of time series must stay bounded.
func WithRoutes(routes ...string) Option {
	return optionFunc(func(c *config) {
		c.routes = append(c.routes[:0:0], routes...)
		c.fixed = true
	})
}
