package wstransport

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/rshm/rshm/rsocket"
)

// Upgrade answers the WebSocket handshake of r and returns the transport
// over the connection; rsocket.Server runs the server side on it. The
// connection outlives the handler that called Upgrade. A request that is
// not a valid handshake (or whose origin opts.CheckOrigin refuses) is
// answered with an HTTP error and fails.
func Upgrade(w http.ResponseWriter, r *http.Request, opts Options) (rsocket.Transport, error) {
	max, err := opts.maxMessage()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, err
	}
	hw := &hijacker{ResponseWriter: w, opts: opts}
	u := websocket.Upgrader{
		ReadBufferSize: bufferSize,
		CheckOrigin:    opts.CheckOrigin,
	}
	ws, err := u.Upgrade(hw, r, nil)
	if err != nil {
		return nil, fmt.Errorf("wstransport: upgrade: %w", err)
	}
	return newTransport(ws, hw.wc, max, false), nil
}

// Handler returns an http.Handler that accepts RSocket over WebSocket with
// the zero Options; see Options.Handler.
func Handler(serve func(ctx context.Context, t rsocket.Transport)) http.Handler {
	return Options{}.Handler(serve)
}

// Handler returns an http.Handler that upgrades each request to a
// WebSocket transport and calls serve with it, typically to run
// rsocket.Server. serve runs on the request's goroutine with the request's
// context, which ends when serve returns; the transport lives on until the
// rsocket connection over it closes it. Mount it at a path of an existing
// server:
//
//	mux.Handle("/rsocket", wstransport.Handler(serve))
func (o Options) Handler(serve func(ctx context.Context, t rsocket.Transport)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := Upgrade(w, r, o)
		if err != nil {
			return // answered
		}
		serve(r.Context(), t)
	})
}

// hijacker hands the library a wireConn over the hijacked connection.
type hijacker struct {
	http.ResponseWriter
	opts Options
	wc   *wireConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.wc = newWireConn(c, h.opts)
	return h.wc, brw, nil
}

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (h *hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }
