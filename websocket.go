package rshm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/wstransport"
)

// KindWS is a connection over a WebSocket (a ws:// or wss:// URL).
const KindWS = handshake.KindWS

// wsURL reports whether s is a WebSocket URL (ws:// or wss://) and parses
// it.
func wsURL(s string) (*url.URL, bool, error) {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		return nil, false, nil
	}
	switch strings.ToLower(scheme) {
	case "ws", "wss":
	default:
		return nil, false, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, true, fmt.Errorf("%w: %q: a WebSocket URL needs a host", ErrBadURL, s)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, true, nil
}

// dialWS is Dial for a ws:// or wss:// URL: RSocket over a WebSocket
// (package wstransport), with the same proof of the server and setup
// deadline; a resumable session redials the same URL.
func dialWS(ctx context.Context, u *url.URL, cfg Config) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	t, err := wstransport.Dial(dctx, u.String(), cfg.WebSocket)
	if err != nil {
		return nil, dialErr(ctx, u.String(), &cfg, err)
	}
	conn := newConn(nil, KindWS)
	if r := cfg.Client.Resume; r != nil && r.Redial == nil {
		cfg.Client.Resume = r.WithRedial(func(ctx context.Context) (rsocket.Transport, error) {
			t, err := wstransport.Dial(ctx, u.String(), cfg.WebSocket)
			if err != nil {
				return nil, err
			}
			return cfg.wrap(t, KindWS), nil
		})
	}
	c, err := rsocket.Client(dctx, cfg.wrap(t, KindWS), cfg.Client)
	if err != nil {
		return nil, err
	}
	if _, err := c.Ping(dctx); err != nil {
		_ = c.Close()
		return nil, dialErr(ctx, u.String(), &cfg, err)
	}
	conn.Conn = c
	return conn, nil
}

// listenWS is Listen for a ws:// URL: an HTTP server on its host and port
// that upgrades requests to its path (WebSocketHandler) and serves them.
// TLS (wss://) is for an http.Server of the application's, with
// WebSocketHandler mounted on it.
func listenWS(u *url.URL, cfg Config) (*Listener, error) {
	if strings.EqualFold(u.Scheme, "wss") {
		return nil, fmt.Errorf("%w: %s: listen on ws://, or mount Listener.WebSocketHandler on a TLS http.Server", ErrBadURL, u)
	}
	host := u.Host
	if h, p, err := net.SplitHostPort(host); err == nil && h == "" {
		host = net.JoinHostPort("127.0.0.1", p)
	}
	ln, err := net.Listen("tcp", host)
	if err != nil {
		return nil, err
	}
	l := newListener(ln, cfg)
	mux := http.NewServeMux()
	mux.Handle(u.Path, l.WebSocketHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: cfg.timeout()}
	go func() {
		defer close(l.done)
		go func() { <-l.ctx.Done(); _ = srv.Close() }()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && l.cfg.Logger != nil {
			l.cfg.Logger.Warn("rshm: WebSocket server", "err", err)
		}
	}()
	return l, nil
}

// WebSocketHandler returns an http.Handler that serves RSocket clients
// over WebSocket (package wstransport, with Config.WebSocket's options)
// as this listener's connections: Accept, Conns, Close and Shutdown see
// them as any other, of KindWS. Mount it on an application's own
// http.Server (TLS included) to add RSocket without a new port:
//
//	mux.Handle("/rsocket", ln.WebSocketHandler())
func (l *Listener) WebSocketHandler() http.Handler {
	return l.cfg.WebSocket.Handler(func(ctx context.Context, t rsocket.Transport) {
		select {
		case <-l.ctx.Done():
			_ = t.Close()
			return
		default:
		}
		l.setup(l.ctx, handshake.Accepted{Transport: t, Kind: KindWS})
	})
}
