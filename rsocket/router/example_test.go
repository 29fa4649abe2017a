package router_test

import (
	"context"
	"fmt"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/router"
)

// A Router serving one route, and a client calling it with Route.
func ExampleRoute() {
	r := router.New(router.Config{})
	r.OnRequestResponse("greet", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		return rsocket.Payload{Data: fmt.Appendf(nil, "hello, %s", p.Data)}, nil
	})

	ctx := context.Background()
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	go rsocket.Server(ctx, st, rsocket.ServerConfig{Acceptor: r.Acceptor()})
	conn, err := rsocket.Client(ctx, ct, rsocket.ClientConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()

	req, err := router.Route("greet", []byte("alice"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := conn.RequestResponse(ctx, req)
	fmt.Println(string(resp.Data), err)
	// Output: hello, alice <nil>
}
