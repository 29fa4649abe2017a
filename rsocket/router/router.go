// Package router dispatches RSocket requests to handlers by route, the way
// Spring's @MessageMapping and rsocket-js requesters expect: the route is
// the first tag of the routing extension (message/x.rsocket.routing.v0),
// found inside composite metadata (message/x.rsocket.composite-metadata.v0,
// Spring's default), or making up the whole metadata when the connection's
// metadata MIME type is the routing one.
//
// A Router implements rsocket.Handler. Build it once, register routes, then
// serve it on any number of connections with Acceptor (which reads each
// connection's metadata MIME type from its SETUP) or WithSetup:
//
//	r := router.New(router.Config{})
//	r.OnRequestResponse("echo", func(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
//		return p, nil
//	})
//	ln, _ := rsocket.ListenTCP("127.0.0.1:7878", rsocket.ServerConfig{Acceptor: r.Acceptor()})
//
// Handlers run as rsocket.Handler methods do: in a goroutine the connection
// owns, with the Payload valid until they return; as in the example above,
// a handler may return it, or slices of it, as its response, and Clones
// what it keeps longer (rsocket's "Payload ownership"). Dispatch does not
// allocate.
//
// A requester builds a routed request with Route:
//
//	req, err := router.Route("echo", []byte("hi"))
//	resp, err := conn.RequestResponse(ctx, req)
package router

import (
	"context"
	"log/slog"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
)

// Handler functions of the interaction models; they receive the request's
// whole Payload, metadata included.
type (
	RequestResponseFunc func(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error)
	FireAndForgetFunc   func(ctx context.Context, p rsocket.Payload)
	RequestStreamFunc   func(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error
	RequestChannelFunc  func(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error
	MetadataPushFunc    func(ctx context.Context, md []byte)
)

// AuthFunc checks a request before its handler runs. route is the request's
// route (a view valid during the call); auth is the decoded authentication
// entry of its composite metadata and ok is false when there is none (or
// the metadata is bare routing). A non-nil error refuses the request: an
// *rsocket.Error is sent as is, any other error as REJECTED with its text.
// A refused fire-and-forget is dropped.
type AuthFunc func(ctx context.Context, route []byte, auth metadata.Auth, ok bool) error

// Config configures a Router. The zero value works.
type Config struct {
	// MetadataMIME is the metadata MIME type of the connections served
	// directly (not through Acceptor or WithSetup): MIMERouting means the
	// metadata is bare routing; anything else, empty included, means
	// composite metadata.
	MetadataMIME string
	// Authenticate, when set, checks every request (not metadata push)
	// before dispatch; nil lets every request through.
	Authenticate AuthFunc
	// UnknownRouteCode is the error code for a request whose route has no
	// handler for its interaction model; zero means rsocket.CodeRejected.
	// Spring answers APPLICATION_ERROR ("No handler for destination"); set
	// rsocket.CodeApplicationError to do the same. The message names the
	// route either way.
	UnknownRouteCode rsocket.ErrorCode
	// Logger receives a line for every dropped fire-and-forget; nil is
	// silent.
	Logger *slog.Logger
}

// routes is the registration shared by a Router and its WithSetup copies.
type routes struct {
	cfg  Config
	rr   map[string]RequestResponseFunc
	fnf  map[string]FireAndForgetFunc
	rs   map[string]RequestStreamFunc
	rc   map[string]RequestChannelFunc
	push MetadataPushFunc
}

// Router routes requests to handlers. Register every route before serving:
// the On methods must not run concurrently with requests. A request whose
// metadata holds no route is dispatched to the route "" if one is
// registered.
type Router struct {
	t       *routes
	routing bool // the metadata is bare routing, not composite
}

// New returns an empty Router.
func New(cfg Config) *Router {
	return &Router{
		t: &routes{
			cfg: cfg,
			rr:  map[string]RequestResponseFunc{},
			fnf: map[string]FireAndForgetFunc{},
			rs:  map[string]RequestStreamFunc{},
			rc:  map[string]RequestChannelFunc{},
		},
		routing: cfg.MetadataMIME == metadata.MIMERouting,
	}
}

// WithSetup returns a Router sharing r's routes that reads metadata as the
// connection's SETUP announced: bare routing for MIMERouting, composite
// metadata otherwise.
func (r *Router) WithSetup(s rsocket.SetupInfo) *Router {
	return &Router{t: r.t, routing: s.MetadataMIME == metadata.MIMERouting}
}

// Acceptor returns an rsocket.ServerConfig Acceptor that serves every
// client with r.WithSetup(setup).
func (r *Router) Acceptor() func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
	return func(_ context.Context, s rsocket.SetupInfo, _ *rsocket.Conn) (rsocket.Handler, error) {
		return r.WithSetup(s), nil
	}
}

func register[F any](m map[string]F, route string, fn F) {
	if len(route) > metadata.MaxTag {
		panic("router: route longer than 255 bytes: " + route[:32] + "...")
	}
	if _, dup := m[route]; dup {
		panic("router: route registered twice: " + route)
	}
	m[route] = fn
}

// OnRequestResponse registers fn for request-response on route. It panics
// when route already has a request-response handler or is longer than 255
// bytes (no request could name it).
func (r *Router) OnRequestResponse(route string, fn RequestResponseFunc) {
	register(r.t.rr, route, fn)
}

// OnFireAndForget registers fn for fire-and-forget on route; it panics as
// OnRequestResponse does.
func (r *Router) OnFireAndForget(route string, fn FireAndForgetFunc) {
	register(r.t.fnf, route, fn)
}

// OnRequestStream registers fn for request-stream on route; it panics as
// OnRequestResponse does.
func (r *Router) OnRequestStream(route string, fn RequestStreamFunc) {
	register(r.t.rs, route, fn)
}

// OnRequestChannel registers fn for request-channel on route; it panics as
// OnRequestResponse does.
func (r *Router) OnRequestChannel(route string, fn RequestChannelFunc) {
	register(r.t.rc, route, fn)
}

// OnMetadataPush sets the handler of metadata push, which has no route;
// nil (the default) ignores it.
func (r *Router) OnMetadataPush(fn MetadataPushFunc) { r.t.push = fn }
