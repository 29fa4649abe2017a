package rsocket_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rshm/rshm/rsocket"
)

type upper struct{ rsocket.RejectAll }

func (upper) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return rsocket.Payload{Data: []byte(strings.ToUpper(string(p.Data)))}, nil
}

func (upper) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	for _, word := range strings.Fields(string(p.Data)) {
		if err := w.Send(ctx, rsocket.Payload{Data: []byte(word)}); err != nil {
			return err
		}
	}
	return nil
}

func Example() {
	ctx := context.Background()
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	srv := make(chan *rsocket.Conn)
	go func() {
		c, _ := rsocket.Server(ctx, st, rsocket.ServerConfig{
			Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
				return upper{}, nil
			},
		})
		srv <- c
	}()
	client, err := rsocket.Client(ctx, ct, rsocket.ClientConfig{})
	if err != nil {
		panic(err)
	}
	server := <-srv
	defer server.Close()
	defer client.Close()

	resp, err := client.RequestResponse(ctx, rsocket.Payload{Data: []byte("hello")})
	fmt.Println(string(resp.Data), err)

	s, _ := client.RequestStream(ctx, rsocket.Payload{Data: []byte("one two three")})
	for p, err := range s.All() {
		if err != nil {
			panic(err)
		}
		fmt.Println(string(p.Data))
	}
	// Output:
	// HELLO <nil>
	// one
	// two
	// three
}
