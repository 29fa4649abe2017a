package proxy_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/proxy"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
	"github.com/rshm/rshm/shm"
)

// upstream answers as its name says: request-response with name+data,
// streams of N items for data "N", channels echoing, errors for "fail".
type upstream struct {
	rsocket.RejectAll
	name string
	fnf  chan string
}

func (u upstream) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	if string(p.Data) == "fail" {
		return rsocket.Payload{}, &rsocket.Error{Code: rsocket.CodeApplicationError + 1, Message: "failed upstream"}
	}
	return rsocket.Payload{Data: []byte(u.name + ":" + string(p.Data))}, nil
}

func (u upstream) FireAndForget(_ context.Context, p rsocket.Payload) {
	u.fnf <- u.name + ":" + string(p.Data)
}

func (u upstream) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	n, _ := strconv.Atoi(string(p.Data))
	for i := range n {
		if err := w.Send(ctx, rsocket.Payload{Data: strconv.AppendInt(nil, int64(i), 10)}); err != nil {
			return err
		}
	}
	return nil
}

func (u upstream) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	if err := ch.Send(ctx, p.Clone()); err != nil {
		return err
	}
	for {
		q, err := ch.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ch.Send(ctx, q); err != nil {
			return err
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// listen starts a server with handler h (over TCP only: upstreams are
// remote) and returns its address.
func listen(t *testing.T, cfg rshm.Config) string {
	t.Helper()
	l, err := rshm.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

func routed(t *testing.T, route, data string) rsocket.Payload {
	t.Helper()
	p, err := router.Route(route, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProxy: an app connected to a proxy over shared memory reaches two
// upstreams over TCP by route, with every interaction model, and sees the
// upstream's errors and the proxy's refusal of an unknown route.
func TestProxy(t *testing.T) {
	fnf := make(chan string, 4)
	ups := map[string]*rshm.Client{}
	for _, name := range []string{"orders", "users"} {
		u := upstream{name: name, fnf: fnf}
		addr := listen(t, rshm.Config{Handshake: rshm.Handshake{Mode: rshm.TCPOnly},
			Server: rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return u, nil }}})
		c, err := rshm.NewClient("tcp://"+addr, rshm.Config{Client: rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite}}, rshm.Reconnect{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ups[name] = c
	}
	cfg := proxy.Config{Route: func(route string) proxy.Requester {
		if c := ups[route]; c != nil {
			return c
		}
		return nil
	}}
	dir := t.TempDir()
	addr := listen(t, rshm.Config{Handshake: rshm.Handshake{SHM: shm.Config{Dir: dir}},
		Server: rsocket.ServerConfig{Acceptor: cfg.Acceptor()}})
	app, err := rshm.Dial(ctxT(t), "shm://"+addr, rshm.Config{Handshake: rshm.Handshake{SHM: shm.Config{Dir: dir}},
		Client: rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite}})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx := ctxT(t)

	for _, route := range []string{"orders", "users"} {
		p, err := app.RequestResponse(ctx, routed(t, route, "x"))
		if err != nil || string(p.Data) != route+":x" {
			t.Fatalf("request-response to %s: %q, %v", route, p.Data, err)
		}
	}
	_, err = app.RequestResponse(ctx, routed(t, "orders", "fail"))
	var re *rsocket.Error
	if !errors.As(err, &re) || re.Code != rsocket.CodeApplicationError+1 || re.Message != "failed upstream" {
		t.Fatalf("upstream's error through the proxy: %v", err)
	}
	_, err = app.RequestResponse(ctx, routed(t, "nowhere", "x"))
	if !errors.As(err, &re) || re.Code != rsocket.CodeRejected {
		t.Fatalf("unknown route: %v, want REJECTED", err)
	}

	if err := app.FireAndForget(ctx, routed(t, "users", "f")); err != nil {
		t.Fatal(err)
	}
	if got := <-fnf; got != "users:f" {
		t.Fatalf("fire-and-forget reached %q", got)
	}

	st, err := app.RequestStream(ctx, routed(t, "orders", "1000"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for p, err := range st.All() {
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Data) != strconv.Itoa(n) {
			t.Fatalf("stream item %d: %q", n, p.Data)
		}
		n++
	}
	if n != 1000 {
		t.Fatalf("stream: %d items, want 1000", n)
	}

	ch, err := app.RequestChannel(ctx, routed(t, "users", "first"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"first", "a", "b"}
	for _, s := range want[1:] {
		if err := ch.Send(ctx, rsocket.Payload{Data: []byte(s)}); err != nil {
			t.Fatal(err)
		}
	}
	ch.CloseSend()
	var got []string
	for p, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(p.Data))
	}
	if len(got) != len(want) || got[0] != want[0] || got[2] != want[2] {
		t.Fatalf("channel: %q, want %q", got, want)
	}
}

// TestProxyCancel: an app that cancels its stream cancels the upstream's.
func TestProxyCancel(t *testing.T) {
	cancelled := make(chan struct{})
	u := endless{cancelled: cancelled}
	addr := listen(t, rshm.Config{Handshake: rshm.Handshake{Mode: rshm.TCPOnly},
		Server: rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return u, nil }}})
	up, err := rshm.Dial(ctxT(t), "tcp://"+addr, rshm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	cfg := proxy.Config{Route: func(string) proxy.Requester { return up }}
	paddr := listen(t, rshm.Config{Handshake: rshm.Handshake{Mode: rshm.TCPOnly}, Server: rsocket.ServerConfig{Acceptor: cfg.Acceptor()}})
	app, err := rshm.Dial(ctxT(t), "tcp://"+paddr, rshm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	st, err := app.RequestStream(ctxT(t), rsocket.Payload{Data: []byte("go")})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	select {
	case <-cancelled:
	case <-ctxT(t).Done():
		t.Fatal("the upstream's stream was not cancelled")
	}
}

type endless struct {
	rsocket.RejectAll
	cancelled chan struct{}
}

func (e endless) RequestStream(ctx context.Context, _ rsocket.Payload, w *rsocket.StreamWriter) error {
	for i := 0; ; i++ {
		if err := w.Send(ctx, rsocket.Payload{Data: []byte("x")}); err != nil {
			close(e.cancelled)
			return err
		}
	}
}
