package kafkatransport

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
)

type echo struct{ rsocket.RejectAll }

func (echo) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p, nil
}

func TestRequestResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		l, err := Listen(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		go l.Serve(sctx, rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return echo{}, nil
		}})
		start := time.Now()
		tr, err := Dial(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("hi")})
		if err != nil || string(p.Data) != "hi" {
			t.Fatalf("got %q, %v", p.Data, err)
		}
		t.Log(time.Since(start))
	})
}
