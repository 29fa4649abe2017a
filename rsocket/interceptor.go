package rsocket

import (
	"context"
	"errors"
)

// Interceptors: one function type wraps requests on either side of a
// connection (ClientConfig and ServerConfig: RequesterInterceptors for the
// requests this side makes, ResponderInterceptors for those its Handler
// answers). They are chained once per connection, the first outermost; a
// connection without any pays one nil check per request and allocates
// nothing for them. With any, each request allocates its Call.

// Call is one request as an interceptor sees it.
type Call struct {
	// Model is the request's interaction model.
	Model Model
	// Payload is the request: a channel's first payload; a metadata
	// push's metadata, in Payload.Metadata. A requester interceptor may
	// replace it (to add metadata, say) before calling next. On the
	// responder side it is a view valid until next returns ("Payload
	// ownership" in the package documentation); a replacement is the
	// interceptor's own.
	Payload Payload
	// Response is a request-response's answer once next returned nil:
	// what the caller gets (requester side) or what is sent (responder
	// side). An interceptor may replace it; one that answers without
	// calling next sets it.
	Response Payload

	// What the innermost call needs besides the payload, and what it
	// makes.
	buf  []byte          // RequestResponseInto's buffer
	rh   ResponseHandler // RequestResponseAsync's handler
	w    *StreamWriter   // responder: the stream's writer
	ch   *Channel        // responder: the channel; requester: the one made
	st   *Stream         // requester: the stream made
	sent bool            // requester: the innermost call ran
	err  error           // requester: RequestResponseAsync's own outcome
}

// Interceptor wraps requests: it is called with each request and calls
// next to pass it on (to the next interceptor, then the wire or the
// Handler), and may act before and after next, pass a derived ctx, change
// call.Payload, or refuse the request by returning an error without
// calling next. Logging, authentication, metrics and tracing fit in a few
// lines (see the package example "Interceptors").
//
// On the requester side next returns the outcome of the Conn method: for a
// request-response once the answer came; for the other models, and
// RequestResponseAsync, once the request is sent (a stream or channel then
// goes on without the interceptor; an asynchronous answer goes to its
// ResponseHandler). The error an interceptor returns is the method's,
// except that RequestResponseAsync returns next's own once next has sent
// the request (its ResponseHandler is then called whatever happens). A
// stream, a channel or an asynchronous request-response whose interceptor
// returns nil without calling next fails with ErrNotForwarded; a stream or
// channel that next made is cancelled if the interceptor returns an error.
//
// On the responder side next runs the Handler's method and returns when it
// returns (a stream or channel has then ended). An error returned for a
// request-response, stream or channel is sent as the Handler's would be;
// one for a fire-and-forget or metadata push is dropped (logged at Debug).
// Responder interceptors turn off the inline paths (InlineResponder,
// InlineFireAndForget), so the Handler must implement the blocking
// methods: every request runs one in a goroutine of its own, and an
// interceptor may block. A panic in an interceptor is recovered as one in
// the Handler.
type Interceptor func(ctx context.Context, call *Call, next func(context.Context, *Call) error) error

// ErrNotForwarded is the error of a stream, a channel or an asynchronous
// request-response whose requester interceptor returned nil without
// calling next: no request was sent.
var ErrNotForwarded = errors.New("rsocket: an interceptor returned without sending the request")

// chain returns the interceptors wrapped around last, the first outermost,
// or nil when there are none.
func chain(ics []Interceptor, last func(context.Context, *Call) error) func(context.Context, *Call) error {
	if len(ics) == 0 {
		return nil
	}
	next := last
	for i := len(ics) - 1; i >= 0; i-- {
		ic, n := ics[i], next
		next = func(ctx context.Context, call *Call) error { return ic(ctx, call, n) }
	}
	return next
}

// intercept runs a request made on c through its requester interceptors.
func (c *Conn) intercept(ctx context.Context, call *Call) error {
	err := c.reqChain(ctx, call)
	switch {
	case call.rh != nil && call.sent:
		// Whether the ResponseHandler will be called is decided: an
		// error must mean that it will not.
		return call.err
	case err == nil && !call.sent && (call.rh != nil || call.Model == ModelRequestStream || call.Model == ModelRequestChannel):
		return ErrNotForwarded
	case err != nil && call.st != nil:
		call.st.Close() // made, then refused: no one would read it
	case err != nil && call.ch != nil:
		call.ch.Close()
	}
	return err
}

// request is the innermost requester call: the Conn method's own work.
func (c *Conn) request(ctx context.Context, call *Call) error {
	call.sent = true
	var err error
	switch call.Model {
	case ModelRequestResponse:
		if call.rh != nil {
			call.err = c.requestResponseAsync(call.Payload, call.rh)
			return call.err
		}
		call.Response, err = c.requestResponse(ctx, call.Payload, call.buf)
	case ModelFireAndForget:
		err = c.fireAndForget(ctx, call.Payload)
	case ModelRequestStream:
		call.st, err = c.requestStream(ctx, call.Payload)
	case ModelRequestChannel:
		call.ch, err = c.requestChannel(ctx, call.Payload)
	case ModelMetadataPush:
		err = c.metadataPush(ctx, call.Payload.Metadata)
	}
	return err
}

// respond is the innermost responder call: the Handler's method.
func (g *guard) respond(ctx context.Context, call *Call) error {
	var err error
	switch call.Model {
	case ModelRequestResponse:
		call.Response, err = g.h.RequestResponse(ctx, call.Payload)
	case ModelFireAndForget:
		g.h.FireAndForget(ctx, call.Payload)
	case ModelRequestStream:
		err = g.h.RequestStream(ctx, call.Payload, call.w)
	case ModelRequestChannel:
		err = g.h.RequestChannel(ctx, call.Payload, call.ch)
	case ModelMetadataPush:
		g.h.MetadataPush(ctx, call.Payload.Metadata)
	}
	return err
}
