package rsocket_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

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

// Example_interceptors logs every request the server answers and refuses
// those without the right token; the client's interceptor adds the token
// to every request it makes.
func Example_interceptors() {
	// The logger prints without the time, so that the output is stable.
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "took" {
				return slog.Attr{}
			}
			return a
		},
	}))
	logging := func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		start := time.Now()
		err := next(ctx, call)
		log.Info("served", "model", call.Model, "took", time.Since(start), "err", err)
		return err
	}
	auth := func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		if string(call.Payload.Metadata) != "secret" {
			return &rsocket.Error{Code: rsocket.CodeRejected, Message: "unauthenticated"}
		}
		return next(ctx, call)
	}
	token := func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		call.Payload.Metadata = []byte("secret")
		return next(ctx, call)
	}

	serve := rsocket.ServerConfig{
		ResponderInterceptors: []rsocket.Interceptor{logging, auth},
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return upper{}, nil
		},
	}
	ctx := context.Background()

	anonymous := connectPipe(rsocket.ClientConfig{}, serve)
	defer anonymous.Close()
	_, err := anonymous.RequestResponse(ctx, rsocket.Payload{Data: []byte("hello")})
	fmt.Println(err)

	client := connectPipe(rsocket.ClientConfig{RequesterInterceptors: []rsocket.Interceptor{token}}, serve)
	defer client.Close()
	resp, err := client.RequestResponse(ctx, rsocket.Payload{Data: []byte("hello")})
	fmt.Println(string(resp.Data), err)
	// Output:
	// level=INFO msg=served model=request-response err="rsocket: REJECTED (0x202): unauthenticated"
	// rsocket: REJECTED (0x202): unauthenticated
	// level=INFO msg=served model=request-response err=<nil>
	// HELLO <nil>
}

// connectPipe connects a client to a server over an in-process pipe and
// returns the client; closing it ends the server's connection too.
func connectPipe(ccfg rsocket.ClientConfig, scfg rsocket.ServerConfig) *rsocket.Conn {
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	go rsocket.Server(context.Background(), st, scfg)
	c, err := rsocket.Client(context.Background(), ct, ccfg)
	if err != nil {
		panic(err)
	}
	return c
}
