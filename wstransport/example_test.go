package wstransport_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/wstransport"
)

type upper struct{ rsocket.RejectAll }

func (upper) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return rsocket.Payload{Data: []byte(strings.ToUpper(string(p.Data)))}, nil
}

// A web service serves RSocket at /rsocket beside its other routes, and a
// client reaches it with a ws:// URL.
func Example() {
	cfg := rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return upper{}, nil
	}}
	mux := http.NewServeMux()
	mux.Handle("/rsocket", wstransport.Handler(func(ctx context.Context, t rsocket.Transport) {
		_, _ = rsocket.Server(ctx, t, cfg)
	}))
	srv := httptest.NewServer(mux) // an existing server, on 127.0.0.1
	defer srv.Close()

	ctx := context.Background()
	t, err := wstransport.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/rsocket", wstransport.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := rsocket.Client(ctx, t, rsocket.ClientConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	p, err := conn.RequestResponse(ctx, rsocket.Payload{Data: []byte("hello")})
	fmt.Println(string(p.Data), err)
	// Output: HELLO <nil>
}
