package rsocket_test

import (
	"context"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// TestStats: a connection's counters see the frames of a request-response
// both ways, over the pipe and over TCP, and the open streams.
func TestStats(t *testing.T) {
	for name, p := range map[string]func(*testing.T) (*rsocket.Conn, *rsocket.Conn){
		"pipe": func(t *testing.T) (*rsocket.Conn, *rsocket.Conn) {
			pp := pipePair(t, inlineEcho{})
			return pp.Client, pp.Server
		},
		"tcp": func(t *testing.T) (*rsocket.Conn, *rsocket.Conn) {
			ct, st := tcpDial(t)
			pp := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					return inlineEcho{}, nil
				},
			})
			return pp.Client, pp.Server
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, s := p(t)
			before := c.Stats().Transport
			for range 10 {
				if _, err := c.RequestResponse(t.Context(), rsocket.Payload{Data: make([]byte, 100)}); err != nil {
					t.Fatal(err)
				}
			}
			after := c.Stats().Transport
			if d := after.FramesSent - before.FramesSent; d != 10 {
				t.Errorf("frames sent: %d, want 10", d)
			}
			if d := after.FramesReceived - before.FramesReceived; d != 10 {
				t.Errorf("frames received: %d, want 10", d)
			}
			if d := after.BytesSent - before.BytesSent; d < 10*100 {
				t.Errorf("bytes sent: %d, want at least 1000", d)
			}
			if st := s.Stats().Transport; st.FramesReceived < 10 || st.FramesSent < 10 {
				t.Errorf("server side: %+v", st)
			}
			if n := c.Stats().StreamsOpen; n != 0 {
				t.Errorf("open streams after the requests: %d", n)
			}
		})
	}
}
