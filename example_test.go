package rshm_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
)

type echo struct{ rsocket.RejectAll } // RejectAll answers what echo does not implement

func (echo) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p, nil // p is valid until the handler returns and may be the response; Clone what you keep
}

// A server and a client in one program: the client is co-located, so the
// connection runs over shared memory; a remote or plain RSocket client on
// the same port would get RSocket over TCP.
func Example() {
	ctx := context.Background()
	ln, err := rshm.Listen("127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return echo{}, nil },
	}})
	if err != nil {
		log.Fatal(err)
	}
	// The listener serves every client until Shutdown or Close; Accept
	// is only for a server that wants to see its clients.
	defer ln.Shutdown(ctx)

	conn, err := rshm.Dial(ctx, ln.Addr().String(), rshm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	resp, err := conn.RequestResponse(ctx, rsocket.Payload{Data: []byte("hello")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(conn.Kind(), string(resp.Data))
	// Output: shm hello
}
