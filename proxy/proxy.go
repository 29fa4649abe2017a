// Package proxy forwards RSocket requests to upstream requesters by their
// route: the heart of rshm sidecar. A connection served with a proxy
// Handler answers each request by making the same request of the upstream
// its route names and relaying the answer: all four interaction models and
// metadata push, request(n) passed through end to end (a downstream reader
// that falls behind slows the upstream stream instead of filling the
// proxy's memory), the cancellation of streams and channels and the
// upstream's errors passed through. A request-response is forwarded
// without a goroutine (RequestResponseInline); its downstream cancel drops
// the answer but does not cancel the upstream request.
//
//	h := proxy.Config{Route: func(route string) proxy.Requester { return orders }}
//	rshm.Listen(addr, rshm.Config{Server: rsocket.ServerConfig{Acceptor: h.Acceptor()}})
//
// What the proxy holds per request is bounded by the upstream
// connection's window (rsocket.ClientConfig.PrefetchBytes) and the
// downstream's credit: it reads an upstream payload only when the
// downstream has granted a credit for it.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
)

// Requester is what a proxy forwards to: a connection (*rsocket.Conn,
// *rshm.Conn), a reconnecting rshm.Client or a load-balancing
// balance.Client.
type Requester = rsocket.Requester

// Config says where a proxy forwards.
type Config struct {
	// Route returns the upstream of a request whose route (the first tag
	// of its routing metadata, bare or in composite metadata) is route, ""
	// for a request without one; nil refuses the request with
	// ERROR[REJECTED] ("no upstream for route").
	Route func(route string) Requester
	// Push returns the upstreams a metadata push goes to (it has no route:
	// it is meant for the connection); nil drops pushes.
	Push func() []Requester
	// Logger receives a line per refused or failed forward at Debug; nil
	// is silent.
	Logger *slog.Logger
}

// Acceptor returns the rsocket acceptor of a proxy: every client is
// accepted and its requests forwarded. A client whose SETUP announces
// bare routing metadata has it wrapped in composite metadata on the way
// up, which is what upstream connections announce.
func (c Config) Acceptor() func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
	return func(_ context.Context, s rsocket.SetupInfo, _ *rsocket.Conn) (rsocket.Handler, error) {
		return &handler{cfg: c, bare: s.MetadataMIME == metadata.MIMERouting}, nil
	}
}

// Handler returns a proxy Handler for a connection whose metadata is
// composite (or absent).
func (c Config) Handler() rsocket.Handler { return &handler{cfg: c} }

// ErrNoRoute is the error (an *rsocket.Error, REJECTED) of a request
// whose route has no upstream.
var ErrNoRoute = &rsocket.Error{Code: rsocket.CodeRejected, Message: "no upstream for the route"}

type handler struct {
	cfg  Config
	bare bool // the connection's metadata is bare routing metadata
}

// upstream returns the Requester of p's route and p as it goes up.
func (h *handler) upstream(p rsocket.Payload) (Requester, rsocket.Payload, error) {
	route, err := h.route(p.Metadata)
	if err != nil {
		return nil, p, &rsocket.Error{Code: rsocket.CodeInvalid, Message: "metadata: " + err.Error()}
	}
	var up Requester
	if h.cfg.Route != nil {
		up = h.cfg.Route(route)
	}
	if up == nil {
		h.debug("proxy: no upstream", "route", route)
		return nil, p, ErrNoRoute
	}
	if h.bare && p.Metadata != nil {
		md, err := metadata.AppendComposite(nil, metadata.MIMERouting, p.Metadata)
		if err != nil {
			return nil, p, &rsocket.Error{Code: rsocket.CodeInvalid, Message: "metadata: " + err.Error()}
		}
		p.Metadata = md
	}
	return up, p, nil
}

// route returns the first routing tag of md, "" when it has none.
func (h *handler) route(md []byte) (string, error) {
	if len(md) == 0 {
		return "", nil
	}
	routing := md
	if !h.bare {
		content, ok, err := metadata.Find(md, metadata.MessageRouting)
		if err != nil || !ok {
			return "", err
		}
		routing = content
	}
	tag, _, err := metadata.FirstRoute(routing)
	return string(tag), err
}

func (h *handler) debug(msg string, args ...any) {
	if h.cfg.Logger != nil {
		h.cfg.Logger.Debug(msg, args...)
	}
}

func (h *handler) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	up, p, err := h.upstream(p)
	if err != nil {
		return rsocket.Payload{}, err
	}
	return up.RequestResponse(ctx, p)
}

// asyncRequester is a Requester that can make a request-response without
// a goroutine: rsocket.Conn, rshm.Conn, rshm.Client and balance.Client.
type asyncRequester interface {
	RequestResponseAsync(p rsocket.Payload, h rsocket.ResponseHandler) error
}

// RequestResponseInline forwards a request-response without a goroutine
// when the upstream can answer asynchronously: the request goes up from
// the connection's receive goroutine and the answer comes back from the
// upstream's (rsocket.InlineResponder). A request the upstream cannot take
// so (no connection now) goes the blocking way, on a goroutine of its own,
// and waits for a connection as RequestResponse does.
func (h *handler) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) {
	up, q, err := h.upstream(p)
	if err != nil {
		_ = r.Fail(err)
		return
	}
	if a, ok := up.(asyncRequester); ok {
		if err := a.RequestResponseAsync(q, relay{r}); err == nil {
			return
		}
	}
	q = q.Clone() // the view is valid only during this call
	go func() {
		resp, err := up.RequestResponse(context.Background(), q)
		if err != nil {
			_ = r.Fail(upstreamErr(err))
			return
		}
		_ = r.Respond(resp)
	}()
}

// relay answers the downstream request with the upstream's answer.
type relay struct{ r rsocket.Responder }

func (l relay) OnResponse(p rsocket.Payload, err error) {
	if err != nil {
		_ = l.r.Fail(upstreamErr(err))
		return
	}
	_ = l.r.Respond(p)
}

func (h *handler) FireAndForget(ctx context.Context, p rsocket.Payload) {
	up, p, err := h.upstream(p)
	if err != nil {
		return
	}
	if err := up.FireAndForget(ctx, p); err != nil {
		h.debug("proxy: fire-and-forget", "err", err)
	}
}

// RequestStream relays the upstream stream; w.Send waits for the
// downstream's credit, so the upstream is read no faster than the
// downstream reads.
func (h *handler) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	up, p, err := h.upstream(p)
	if err != nil {
		return err
	}
	st, err := up.RequestStream(ctx, p)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		item, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return upstreamErr(err)
		}
		if err := w.Send(ctx, item); err != nil {
			return err
		}
	}
}

// RequestChannel relays both halves: the downstream's payloads up, the
// upstream's down, each as fast as its reader grants credit.
func (h *handler) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	up, p, err := h.upstream(p)
	if err != nil {
		return err
	}
	uc, err := up.RequestChannel(ctx, p)
	if err != nil {
		return err
	}
	defer uc.Close()
	go func() { // ends when the downstream's half ends or the channel closes
		for {
			item, err := ch.Recv()
			if err == io.EOF {
				_ = uc.CloseSend()
				return
			}
			if err != nil {
				_ = uc.Close()
				return
			}
			if err := uc.Send(ctx, item); err != nil {
				return
			}
		}
	}()
	for {
		item, err := uc.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return upstreamErr(err)
		}
		if err := ch.Send(ctx, item); err != nil {
			return err
		}
	}
}

func (h *handler) MetadataPush(ctx context.Context, md []byte) {
	if h.cfg.Push == nil {
		return
	}
	for _, up := range h.cfg.Push() {
		if err := up.MetadataPush(ctx, md); err != nil {
			h.debug("proxy: metadata push", "err", err)
		}
	}
}

// upstreamErr is what the downstream gets for an upstream's error: the
// upstream's own *rsocket.Error as it is (its code and message), anything
// else (the upstream connection failed) as APPLICATION_ERROR saying so.
func upstreamErr(err error) error {
	var e *rsocket.Error
	if errors.As(err, &e) && e.Code != rsocket.CodeConnectionError && e.Code != rsocket.CodeConnectionClose {
		return e
	}
	return &rsocket.Error{Code: rsocket.CodeApplicationError, Message: fmt.Sprintf("upstream: %v", err)}
}
