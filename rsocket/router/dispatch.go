package router

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
)

var _ rsocket.Handler = (*Router)(nil)

// target is what dispatch found in a request's metadata.
type target struct {
	route   []byte
	auth    metadata.Auth
	hasAuth bool
}

// parse finds the route (and, in composite metadata, the authentication
// entry) of a request. Errors are INVALID: the metadata is malformed.
func (r *Router) parse(md []byte) (target, error) {
	var t target
	if r.routing {
		tag, _, err := metadata.FirstRoute(md)
		if err != nil {
			return t, &rsocket.Error{Code: rsocket.CodeInvalid, Message: "malformed routing metadata: " + err.Error()}
		}
		t.route = tag
		return t, nil
	}
	rd := metadata.NewReader(md)
	seenRoute := false
	for rd.Next() {
		e := rd.Entry()
		switch {
		case !seenRoute && e.Is(metadata.MessageRouting):
			tag, _, err := metadata.FirstRoute(e.Content)
			if err != nil {
				return t, &rsocket.Error{Code: rsocket.CodeInvalid, Message: "malformed routing entry: " + err.Error()}
			}
			t.route, seenRoute = tag, true
		case !t.hasAuth && e.Is(metadata.MessageAuthentication):
			a, err := metadata.ParseAuth(e.Content)
			if err != nil {
				return t, &rsocket.Error{Code: rsocket.CodeInvalid, Message: "malformed authentication entry: " + err.Error()}
			}
			t.auth, t.hasAuth = a, true
		}
	}
	if err := rd.Err(); err != nil {
		return t, &rsocket.Error{Code: rsocket.CodeInvalid, Message: "malformed composite metadata: " + err.Error()}
	}
	return t, nil
}

// check runs the Authenticate hook.
func (r *Router) check(ctx context.Context, t target) error {
	if r.t.cfg.Authenticate == nil {
		return nil
	}
	err := r.t.cfg.Authenticate(ctx, t.route, t.auth, t.hasAuth)
	if err == nil {
		return nil
	}
	var re *rsocket.Error
	if errors.As(err, &re) {
		return re
	}
	return &rsocket.Error{Code: rsocket.CodeRejected, Message: err.Error()}
}

func (r *Router) unknown(model string, route []byte) error {
	code := r.t.cfg.UnknownRouteCode
	if code == 0 {
		code = rsocket.CodeRejected
	}
	return &rsocket.Error{Code: code, Message: "no " + model + " handler for route " + strconv.Quote(string(route))}
}

// find parses p's metadata, authenticates and looks route up in m.
func find[F any](r *Router, ctx context.Context, m map[string]F, model string, md []byte) (F, error) {
	var zero F
	t, err := r.parse(md)
	if err != nil {
		return zero, err
	}
	// Authenticate first, so that an unauthenticated peer learns nothing
	// of which routes exist.
	if err := r.check(ctx, t); err != nil {
		return zero, err
	}
	fn, ok := m[string(t.route)]
	if !ok {
		return zero, r.unknown(model, t.route)
	}
	return fn, nil
}

// RequestResponse dispatches to the route's request-response handler.
func (r *Router) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	fn, err := find(r, ctx, r.t.rr, "request-response", p.Metadata)
	if err != nil {
		return rsocket.Payload{}, err
	}
	return fn(ctx, p)
}

// FireAndForget dispatches to the route's fire-and-forget handler; an
// unroutable or refused message is dropped (and logged).
func (r *Router) FireAndForget(ctx context.Context, p rsocket.Payload) {
	fn, err := find(r, ctx, r.t.fnf, "fire-and-forget", p.Metadata)
	if err != nil {
		if l := r.t.cfg.Logger; l != nil {
			l.LogAttrs(ctx, slog.LevelDebug, "router: fire-and-forget dropped", slog.String("err", err.Error()))
		}
		return
	}
	fn(ctx, p)
}

// RequestStream dispatches to the route's request-stream handler.
func (r *Router) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	fn, err := find(r, ctx, r.t.rs, "request-stream", p.Metadata)
	if err != nil {
		return err
	}
	return fn(ctx, p, w)
}

// RequestChannel dispatches to the route's request-channel handler,
// routing by the first payload's metadata.
func (r *Router) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	fn, err := find(r, ctx, r.t.rc, "request-channel", p.Metadata)
	if err != nil {
		return err
	}
	return fn(ctx, p, ch)
}

// MetadataPush passes connection-level metadata to the OnMetadataPush
// handler, if any.
func (r *Router) MetadataPush(ctx context.Context, md []byte) {
	if fn := r.t.push; fn != nil {
		fn(ctx, md)
	}
}
