package otelrshm

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/rshm/rshm/rsocket"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Bounds of the caches, and so of the time series: the routes and the
// error codes come from the peer.
const (
	maxRoutes   = 256 // distinct routes recorded as they are, without WithRoutes
	maxOutcomes = 32  // distinct status codes per route and model
)

// otherRoute is rpc.method for a route that is not recorded as it is.
const otherRoute = "_OTHER"

// Attributes besides the semantic conventions' own.
var (
	systemAttr = semconv.RPCSystemNameKey.String("rsocket")
	modelKey   = attribute.Key("rsocket.interaction_model")
)

// routeTable maps the routes of requests to what is built for them. Its
// map is copied on every addition and swapped in whole, so that a lookup
// is one atomic load and a map read, without a lock or an allocation.
type routeTable struct {
	m     atomic.Pointer[map[string]*route]
	full  atomic.Bool // no route is added any more
	mu    sync.Mutex  // serializes additions, of routes and of outcomes
	kind  trace.SpanKind
	none  *route // requests without a route
	other *route // routes past the bound, or not named by WithRoutes
}

func newRouteTable(kind trace.SpanKind, names []string, fixed bool) *routeTable {
	t := &routeTable{kind: kind}
	t.none = t.newRoute("", false)
	t.other = t.newRoute(otherRoute, true)
	m := make(map[string]*route, len(names))
	for _, n := range names {
		if _, dup := m[n]; !dup {
			m[n] = t.newRoute(n, false)
		}
	}
	t.m.Store(&m)
	t.full.Store(fixed)
	return t
}

// lookup returns the route of a request whose route is tag (a view), or
// t.none when it has none.
func (t *routeTable) lookup(tag []byte, ok bool) *route {
	if !ok {
		return t.none
	}
	if r, ok := (*t.m.Load())[string(tag)]; ok {
		return r
	}
	if t.full.Load() {
		return t.other
	}
	return t.add(tag)
}

func (t *routeTable) add(tag []byte) *route {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.m.Load()
	if r, ok := old[string(tag)]; ok {
		return r
	}
	if len(old) >= maxRoutes {
		t.full.Store(true)
		return t.other
	}
	if !utf8.Valid(tag) { // not a route the spec allows, nor an attribute value
		return t.other
	}
	m := make(map[string]*route, len(old)+1)
	maps.Copy(m, old)
	r := t.newRoute(string(tag), false)
	m[r.name] = r
	t.m.Store(&m)
	return r
}

// route is one value of rpc.method (or none) and what is built for it, per
// interaction model.
type route struct {
	t      *routeTable
	name   string // "" without a route
	other  bool   // name is otherRoute
	models [rsocket.ModelMetadataPush + 1]model
}

// model is what a request of one route and interaction model needs.
type model struct {
	r        *route
	spanName string
	base     []attribute.KeyValue // rpc.system.name, rpc.method, the model
	start    []trace.SpanStartOption
	outcomes atomic.Pointer[map[uint64]*outcome] // copied on addition, as routeTable.m
}

func (t *routeTable) newRoute(name string, other bool) *route {
	r := &route{t: t, name: name, other: other}
	for i := range r.models {
		mn := rsocket.Model(i).String()
		m := &r.models[i]
		m.r = r
		m.base = []attribute.KeyValue{systemAttr}
		if name != "" {
			m.base = append(m.base, semconv.RPCMethod(name))
		}
		m.base = append(m.base, modelKey.String(mn))
		m.spanName = name
		if name == "" {
			m.spanName = mn
		}
		m.start = []trace.SpanStartOption{trace.WithSpanKind(t.kind), trace.WithAttributes(m.base...)}
		empty := map[uint64]*outcome{}
		m.outcomes.Store(&empty)
	}
	return r
}

// model returns the route's entry for mo.
func (r *route) model(mo rsocket.Model) *model {
	if int(mo) >= len(r.models) {
		mo = 0
	}
	return &r.models[mo]
}

// outcome is what a request's end records: the metric's attributes and the
// span's status attributes.
type outcome struct {
	rec []metric.RecordOption
	kvs []attribute.KeyValue // rpc.response.status_code, error.type
}

// Outcome keys: the class in the upper 32 bits, an ERROR code in the
// lower.
const (
	keyOK          = 0
	keyCode        = 1 << 32 // | the rsocket.ErrorCode
	keyDeadline    = 2 << 32
	keyUnavailable = 3 << 32
	keyUnknown     = 4 << 32
	keyOther       = 5 << 32 // past maxOutcomes
)

// classify returns the outcome key of a request's error (see the package
// documentation).
func (in *inst) classify(err error) uint64 {
	if err == nil {
		return keyOK
	}
	if e, ok := errors.AsType[*rsocket.Error](err); ok {
		return keyCode | uint64(e.Code)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return keyCode | uint64(rsocket.CodeCanceled)
	case errors.Is(err, context.DeadlineExceeded):
		return keyDeadline
	case in.server:
		return keyCode | uint64(rsocket.CodeApplicationError)
	case rsocket.IsPeerGone(err):
		return keyUnavailable
	}
	return keyUnknown
}

func status(key uint64) string {
	switch key &^ (1<<32 - 1) {
	case keyOK:
		return "OK"
	case keyCode:
		return rsocket.ErrorCode(uint32(key)).String()
	case keyDeadline:
		return "DEADLINE_EXCEEDED"
	case keyUnavailable:
		return "UNAVAILABLE"
	case keyUnknown:
		return "UNKNOWN"
	}
	return otherRoute
}

// outcome returns the entry of key, made on first use.
func (m *model) outcome(key uint64) *outcome {
	if o, ok := (*m.outcomes.Load())[key]; ok {
		return o
	}
	t := m.r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *m.outcomes.Load()
	if o, ok := old[key]; ok {
		return o
	}
	if len(old) >= maxOutcomes {
		key = keyOther
		if o, ok := old[key]; ok {
			return o
		}
	}
	s := status(key)
	o := &outcome{kvs: []attribute.KeyValue{semconv.RPCResponseStatusCode(s)}}
	if key != keyOK {
		o.kvs = append(o.kvs, semconv.ErrorTypeKey.String(s))
	}
	kvs := append(append([]attribute.KeyValue(nil), m.base...), o.kvs...)
	o.rec = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	n := make(map[uint64]*outcome, len(old)+1)
	maps.Copy(n, old)
	n[key] = o
	m.outcomes.Store(&n)
	return o
}
