package rsocket_test

import (
	"context"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// BenchmarkRequestResponse measures one blocking request-response round
// trip (64-byte payload, inline responder) over the in-process pipe and
// over TCP loopback, and the asynchronous form with 64 requests in flight.
func BenchmarkRequestResponse(b *testing.B) {
	for _, tc := range []struct {
		name string
		dial rsockettest.Dial
	}{{"pipe", pipeDial}, {"tcp", tcpDial}} {
		b.Run(tc.name, func(b *testing.B) {
			ct, st := tc.dial(b)
			p := rsockettest.ConnectOver(b, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					return inlineEcho{}, nil
				},
			})
			req := rsocket.Payload{Data: make([]byte, 64)}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Client.RequestResponse(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"-async64", func(b *testing.B) {
			ct, st := tc.dial(b)
			p := rsockettest.ConnectOver(b, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{
				Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
					return inlineEcho{}, nil
				},
			})
			req := rsocket.Payload{Data: make([]byte, 64)}
			sem := make(semHandler, 64)
			b.ReportAllocs()
			for b.Loop() {
				sem <- struct{}{}
				if err := p.Client.RequestResponseAsync(req, sem); err != nil {
					b.Fatal(err)
				}
			}
			for range 64 {
				sem <- struct{}{}
			}
		})
	}
}

type semHandler chan struct{}

func (s semHandler) OnResponse(rsocket.Payload, error) { <-s }
