package rshm

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWebSocket: a ws:// URL listens and dials RSocket over WebSocket, and
// WebSocketHandler serves the listener's clients from another HTTP server
// (TLS included, at a wss:// URL).
func TestWebSocket(t *testing.T) {
	cfg := testConfig(t)
	l, err := Listen("ws://127.0.0.1:0/rsocket", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := Dial(ctxT(t), "ws://"+l.Addr().String()+"/rsocket", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c)
	s, err := l.Accept(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind() != KindWS || s.Kind() != KindWS {
		t.Fatalf("kinds: client %v, server %v; want ws", c.Kind(), s.Kind())
	}
	if _, err := Dial(ctxT(t), "ws://"+l.Addr().String()+"/elsewhere", cfg); err == nil {
		t.Fatal("dialed a path nobody serves")
	}

	srv := httptest.NewTLSServer(l.WebSocketHandler())
	defer srv.Close()
	wcfg := cfg
	wcfg.WebSocket.TLS = srv.Client().Transport.(*http.Transport).TLSClientConfig
	w, err := Dial(ctxT(t), "wss://"+strings.TrimPrefix(srv.URL, "https://")+"/", wcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	roundTrip(t, w)
	// The server side answers before the listener queues it: Accept
	// waits for it.
	ws, err := l.Accept(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if ws.Kind() != KindWS {
		t.Fatalf("the wss connection is accepted as %v", ws.Kind())
	}
	if n := len(l.Conns()); n != 2 {
		t.Fatalf("the listener serves %d connections; want the ws and the wss one", n)
	}
}
