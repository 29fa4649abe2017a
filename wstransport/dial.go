package wstransport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"

	"github.com/gorilla/websocket"
	"github.com/rshm/rshm/rsocket"
)

// Dial opens a WebSocket connection to url (ws://host[:port]/path or
// wss://...) and returns the transport over it; rsocket.Client runs the
// client side on it. ctx bounds the dial and the handshake. An HTTP
// answer other than the upgrade fails with its status in the error.
//
// HTTP proxies are not used: the connection goes to the URL's host.
func Dial(ctx context.Context, rawURL string, opts Options) (rsocket.Transport, error) {
	max, err := opts.maxMessage()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("wstransport: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("%w: %q", errBadScheme, rawURL)
	}
	var wc *wireConn // the connection of this dial, once made
	var nd net.Dialer
	d := websocket.Dialer{
		ReadBufferSize: bufferSize,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			wc = newWireConn(c, opts)
			return wc, nil
		},
		NetDialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(c, tlsConfig(opts.TLS, u.Hostname()))
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			wc = newWireConn(tc, opts)
			return wc, nil
		},
	}
	ws, resp, err := d.DialContext(ctx, rawURL, opts.Header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("wstransport: dial %s: %w (HTTP %s)", rawURL, err, resp.Status)
		}
		return nil, fmt.Errorf("wstransport: dial %s: %w", rawURL, err)
	}
	return newTransport(ws, wc, max, true), nil
}

// tlsConfig is cfg for a WebSocket client: the server name from the URL
// unless cfg names one, and HTTP/1.1 as the only application protocol (the
// upgrade needs it).
func tlsConfig(cfg *tls.Config, host string) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}
