package balance_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/balance"
	"github.com/rshm/rshm/rsocket"
)

type echo struct{ rsocket.RejectAll }

func (echo) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p, nil
}

// A Client over three instances of an echo service; its requests go to
// whichever P2C picks, and wait for the first admission.
func ExampleClient() {
	var addrs []string
	for range 3 {
		l, err := rshm.Listen("127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{
			Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return echo{}, nil },
		}})
		if err != nil {
			panic(err)
		}
		defer l.Close()
		addrs = append(addrs, "tcp://"+l.Addr().String())
	}
	c, err := balance.New(addrs, balance.Config{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, word := range []string{"one", "two", "three"} {
		p, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte(word)})
		if err != nil {
			panic(err)
		}
		fmt.Println(string(p.Data))
	}
	// Output:
	// one
	// two
	// three
}
