package otelrshm

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"go.opentelemetry.io/otel/trace"
)

// mdInfo is what a request's metadata holds for the interceptors.
type mdInfo struct {
	route    []byte // the route, a view into the metadata
	hasRoute bool
	// composite: the metadata reads as composite metadata (none at all
	// does too).
	composite bool
	// hasTracing: a tracing entry is present; tracing is its content
	// when it is well formed (tracingOK).
	hasTracing bool
	tracingOK  bool
	tracing    metadata.Tracing
}

// read finds the route and the tracing entry of a request's metadata md,
// as router.Router finds the route: the first tag of the first routing
// entry of composite metadata, or of the whole metadata when it is bare
// routing. Malformed metadata holds neither.
func (in *inst) read(md []byte) mdInfo {
	var i mdInfo
	switch in.mime {
	case mimeOther:
		return i
	case mimeRouting:
		if tag, ok, err := metadata.FirstRoute(md); err == nil && ok && len(tag) > 0 {
			i.route, i.hasRoute = tag, true
		}
		return i
	}
	seenRoute := false
	r := metadata.NewReader(md)
	for r.Next() {
		e := r.Entry()
		switch {
		case !seenRoute && e.Is(metadata.MessageRouting):
			seenRoute = true
			if tag, ok, err := metadata.FirstRoute(e.Content); err == nil && ok && len(tag) > 0 {
				i.route, i.hasRoute = tag, true
			}
		case !i.hasTracing && e.Is(metadata.MessageZipkin):
			i.hasTracing = true
			if t, err := metadata.ParseTracing(e.Content); err == nil {
				i.tracing, i.tracingOK = t, true
			}
		}
	}
	if r.Err() != nil {
		return mdInfo{}
	}
	i.composite = true
	return i
}

// canInject reports whether entries may be added to metadata of n bytes
// that read as md says.
func (in *inst) canInject(md mdInfo, n int) bool {
	if md.hasTracing || !md.composite || n > maxInjectInto {
		return false
	}
	switch in.mime {
	case mimeUnknown:
		return n > 0
	case mimeComposite:
		return true
	}
	return false
}

// maxInjectInto is the largest metadata entries are added to: what a
// frame's 24-bit metadata length leaves room for after them.
const maxInjectInto = metadata.MaxEntry - 4<<10

// inject replaces call.Payload's metadata with a copy in a pooled buffer
// that carries sc in a tracing entry (when valid) and the propagator's
// fields; parent is the span context sc's span was started under. It
// returns the buffer to put back once the request is sent, or nil when
// nothing was added.
func (in *inst) inject(ctx context.Context, call *rsocket.Call, sc, parent trace.SpanContext) *injectBuf {
	prop := in.propagator()
	if !sc.IsValid() && prop == nil {
		return nil
	}
	b := bufs.Get().(*injectBuf)
	b.b = append(b.b[:0], call.Payload.Metadata...)
	n := len(b.b)
	if sc.IsValid() {
		var tb [1 + 4*8]byte
		content := metadata.AppendTracing(tb[:0], zipkin(sc, parent))
		// A well-known id and a content of at most 33 bytes: no error.
		b.b, _ = metadata.AppendCompositeID(b.b, metadata.MessageZipkin, content)
	}
	if prop != nil {
		prop.Inject(ctx, b)
	}
	if len(b.b) == n {
		b.put()
		return nil
	}
	call.Payload.Metadata = b.b
	return b
}

// extract returns ctx with the span context and propagated values the
// request's metadata carries: the propagator's first, then the tracing
// entry's span context, which the requester side of this package writes
// and other RSocket implementations read.
func (in *inst) extract(ctx context.Context, raw []byte, md mdInfo) context.Context {
	if !md.composite {
		return ctx
	}
	if prop := in.propagator(); prop != nil && len(raw) > 0 {
		ctx = prop.Extract(ctx, mdCarrier{raw})
	}
	if md.tracingOK {
		if sc := spanContext(md.tracing); sc.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	return ctx
}

// zipkin returns the tracing metadata of span context sc, started under
// parent.
func zipkin(sc, parent trace.SpanContext) metadata.Tracing {
	tid, sid := sc.TraceID(), sc.SpanID()
	t := metadata.Tracing{
		Sampling:    metadata.NotSampled,
		HasIDs:      true,
		TraceIDHigh: binary.BigEndian.Uint64(tid[:8]),
		TraceID:     binary.BigEndian.Uint64(tid[8:]),
		SpanID:      binary.BigEndian.Uint64(sid[:]),
	}
	// A 64-bit trace id (one that came from a Zipkin peer, say) goes back
	// as 64 bits.
	t.TraceID128 = t.TraceIDHigh != 0
	if sc.IsSampled() {
		t.Sampling = metadata.Sampled
	}
	if parent.IsValid() && parent.TraceID() == tid {
		psid := parent.SpanID()
		t.HasParent, t.ParentID = true, binary.BigEndian.Uint64(psid[:])
	}
	return t
}

// spanContext returns the remote span context of tracing metadata t, not
// valid when t holds no ids (or zero ones). Debug and Sampled mean
// sampled; NotSampled and no decision, not.
func spanContext(t metadata.Tracing) trace.SpanContext {
	if !t.HasIDs {
		return trace.SpanContext{}
	}
	var c trace.SpanContextConfig
	if t.TraceID128 {
		binary.BigEndian.PutUint64(c.TraceID[:8], t.TraceIDHigh)
	}
	binary.BigEndian.PutUint64(c.TraceID[8:], t.TraceID)
	binary.BigEndian.PutUint64(c.SpanID[:], t.SpanID)
	if t.Sampling == metadata.Sampled || t.Sampling == metadata.Debug {
		c.TraceFlags = trace.FlagsSampled
	}
	c.Remote = true
	return trace.NewSpanContext(c)
}

// injectBuf is a pooled metadata buffer and the propagator's carrier into
// it: each field is a composite entry named by the field.
type injectBuf struct{ b []byte }

var bufs = sync.Pool{New: func() any { return &injectBuf{b: make([]byte, 0, 256)} }}

// put returns b to the pool, unless it grew too large to keep.
func (b *injectBuf) put() {
	if cap(b.b) <= 64<<10 {
		bufs.Put(b)
	}
}

// Get returns the value of the entry named key.
func (b *injectBuf) Get(key string) string { return mdCarrier{b.b}.Get(key) }

// Set appends an entry named key holding value; a key that cannot name a
// composite entry (not US-ASCII, or longer than 128 bytes) is dropped.
func (b *injectBuf) Set(key, value string) {
	b.b, _ = metadata.AppendCompositeCustom(b.b, key, []byte(value))
}

// Keys returns the names of the custom entries.
func (b *injectBuf) Keys() []string { return mdCarrier{b.b}.Keys() }

// mdCarrier is a request's composite metadata as the propagator reads it.
type mdCarrier struct{ md []byte }

// Get returns the content of the first entry named key, "" when there is
// none.
func (c mdCarrier) Get(key string) string {
	r := metadata.NewReader(c.md)
	for r.Next() {
		if e := r.Entry(); !e.WellKnown && string(e.Name) == key {
			return string(e.Content)
		}
	}
	return ""
}

// Set does nothing: the request's metadata is read only.
func (mdCarrier) Set(string, string) {}

// Keys returns the names of the custom entries.
func (c mdCarrier) Keys() []string {
	var keys []string
	r := metadata.NewReader(c.md)
	for r.Next() {
		if e := r.Entry(); !e.WellKnown {
			keys = append(keys, string(e.Name))
		}
	}
	return keys
}
