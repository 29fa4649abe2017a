package router_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

func pipe(testing.TB) (rsocket.Transport, rsocket.Transport) {
	return rsocket.Pipe(rsocket.PipeConfig{})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// composite builds composite metadata with a route and optional auth.
func composite(t testing.TB, route string, auth []byte) []byte {
	t.Helper()
	var md []byte
	var err error
	if route != "" {
		rt, err := metadata.AppendRoute(nil, route)
		if err != nil {
			t.Fatal(err)
		}
		if md, err = metadata.AppendCompositeID(md, metadata.MessageRouting, rt); err != nil {
			t.Fatal(err)
		}
	}
	if auth != nil {
		if md, err = metadata.AppendCompositeID(md, metadata.MessageAuthentication, auth); err != nil {
			t.Fatal(err)
		}
	}
	if md == nil {
		md = []byte{}
	}
	return md
}

// testRouter registers one handler per interaction model.
func testRouter(cfg router.Config, fnf chan<- string) *router.Router {
	r := router.New(cfg)
	r.OnRequestResponse("echo", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		return rsocket.Payload{Data: p.Data}, nil
	})
	r.OnRequestResponse("upper", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		return rsocket.Payload{Data: bytes.ToUpper(p.Data)}, nil
	})
	r.OnRequestResponse("", func(context.Context, rsocket.Payload) (rsocket.Payload, error) {
		return rsocket.Payload{Data: []byte("default")}, nil
	})
	r.OnRequestStream("ticks", func(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
		for i := range 3 {
			if err := w.Send(ctx, rsocket.Payload{Data: fmt.Appendf(nil, "%s-%d", p.Data, i)}); err != nil {
				return err
			}
		}
		return nil
	})
	r.OnFireAndForget("log", func(_ context.Context, p rsocket.Payload) { fnf <- string(p.Data) })
	r.OnRequestChannel("echo", func(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
		if err := ch.Send(ctx, rsocket.Payload{Data: p.Data}); err != nil {
			return err
		}
		for q, err := range ch.All() {
			if err != nil {
				return err
			}
			if err := ch.Send(ctx, rsocket.Payload{Data: q.Data}); err != nil {
				return err
			}
		}
		return nil
	})
	return r
}

func connect(t *testing.T, r *router.Router, mime string) *rsocket.Conn {
	p := rsockettest.Connect(t, pipe, rsocket.ClientConfig{MetadataMIME: mime}, rsocket.ServerConfig{Acceptor: r.Acceptor()})
	return p.Client
}

func wantCode(t *testing.T, err error, code rsocket.ErrorCode, msgPart string) {
	t.Helper()
	var re *rsocket.Error
	if !errors.As(err, &re) || re.Code != code || !strings.Contains(re.Message, msgPart) {
		t.Fatalf("err = %v; want %v containing %q", err, code, msgPart)
	}
}

func TestCompositeRouting(t *testing.T) {
	fnf := make(chan string, 1)
	c := connect(t, testRouter(router.Config{}, fnf), metadata.MIMEComposite)
	ctx := ctxT(t)

	for _, tt := range []struct{ route, data, want string }{
		{"echo", "hi", "hi"},
		{"upper", "hi", "HI"},
		{"", "x", "default"}, // no routing entry: the "" route
	} {
		got, err := c.RequestResponse(ctx, rsocket.Payload{Metadata: composite(t, tt.route, nil), Data: []byte(tt.data)})
		if err != nil || string(got.Data) != tt.want {
			t.Errorf("route %q: %q, %v; want %q", tt.route, got.Data, err, tt.want)
		}
	}

	st, err := c.RequestStream(ctx, rsocket.Payload{Metadata: composite(t, "ticks", nil), Data: []byte("t")})
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for p, err := range st.All() {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, string(p.Data))
	}
	if strings.Join(items, ",") != "t-0,t-1,t-2" {
		t.Errorf("stream = %q", items)
	}

	if err := c.FireAndForget(ctx, rsocket.Payload{Metadata: composite(t, "log", nil), Data: []byte("logged")}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-fnf:
		if got != "logged" {
			t.Errorf("fnf = %q", got)
		}
	case <-ctx.Done():
		t.Fatal("fire-and-forget not dispatched")
	}

	ch, err := c.RequestChannel(ctx, rsocket.Payload{Metadata: composite(t, "echo", nil), Data: []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(ctx, rsocket.Payload{Data: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	ch.CloseSend()
	items = items[:0]
	for p, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, string(p.Data))
	}
	if strings.Join(items, ",") != "a,b" {
		t.Errorf("channel = %q", items)
	}
}

func TestUnknownAndMalformed(t *testing.T) {
	c := connect(t, testRouter(router.Config{}, nil), "")
	ctx := ctxT(t)
	_, err := c.RequestResponse(ctx, rsocket.Payload{Metadata: composite(t, "nope", nil)})
	wantCode(t, err, rsocket.CodeRejected, `route "nope"`)
	// A route known for another model only.
	_, err = c.RequestResponse(ctx, rsocket.Payload{Metadata: composite(t, "ticks", nil)})
	wantCode(t, err, rsocket.CodeRejected, `no request-response handler for route "ticks"`)
	st, err := c.RequestStream(ctx, rsocket.Payload{Metadata: composite(t, "echo", nil)})
	if err == nil {
		_, err = st.Recv()
	}
	wantCode(t, err, rsocket.CodeRejected, `no request-stream handler for route "echo"`)
	_, err = c.RequestResponse(ctx, rsocket.Payload{Metadata: []byte{0xFE, 0, 0, 9, 1}})
	wantCode(t, err, rsocket.CodeInvalid, "malformed composite metadata")
	_, err = c.RequestResponse(ctx, rsocket.Payload{Metadata: []byte{0xFE, 0, 0, 2, 5, 'x'}})
	wantCode(t, err, rsocket.CodeInvalid, "malformed routing entry")

	// Spring's choice of code.
	c2 := connect(t, testRouter(router.Config{UnknownRouteCode: rsocket.CodeApplicationError}, nil), "")
	_, err = c2.RequestResponse(ctx, rsocket.Payload{Metadata: composite(t, "nope", nil)})
	wantCode(t, err, rsocket.CodeApplicationError, `route "nope"`)
}

func TestBareRouting(t *testing.T) {
	c := connect(t, testRouter(router.Config{}, nil), metadata.MIMERouting)
	ctx := ctxT(t)
	md, _ := metadata.AppendRoute(nil, "upper", "ignored-tag")
	got, err := c.RequestResponse(ctx, rsocket.Payload{Metadata: md, Data: []byte("abc")})
	if err != nil || string(got.Data) != "ABC" {
		t.Fatalf("bare routing: %q, %v", got.Data, err)
	}
	// Composite metadata on a routing connection is read as tags: the
	// first byte 0xFE is a 254-byte tag past the end.
	_, err = c.RequestResponse(ctx, rsocket.Payload{Metadata: composite(t, "echo", nil)})
	wantCode(t, err, rsocket.CodeInvalid, "malformed routing metadata")
}

func TestAuthenticate(t *testing.T) {
	var seen []string
	cfg := router.Config{Authenticate: func(_ context.Context, route []byte, a metadata.Auth, ok bool) error {
		seen = append(seen, string(route))
		if !ok {
			return errors.New("authentication required")
		}
		if tok, ok := a.Bearer(); ok {
			if string(tok) == "good-token" {
				return nil
			}
			return &rsocket.Error{Code: rsocket.CodeApplicationError, Message: "bad token"}
		}
		u, p, err := a.Simple()
		if err != nil || string(u) != "user" || string(p) != "pass" {
			return errors.New("bad credentials")
		}
		return nil
	}}
	c := connect(t, testRouter(cfg, nil), metadata.MIMEComposite)
	ctx := ctxT(t)
	simple, _ := metadata.AppendAuthSimple(nil, "user", "pass")
	wrong, _ := metadata.AppendAuthSimple(nil, "user", "nope")
	tests := []struct {
		name  string
		route string
		auth  []byte
		code  rsocket.ErrorCode // 0: success
		msg   string
	}{
		{"simple", "echo", simple, 0, ""},
		{"bearer", "echo", metadata.AppendAuthBearer(nil, "good-token"), 0, ""},
		{"wrong password", "echo", wrong, rsocket.CodeRejected, "bad credentials"},
		{"bad token keeps its code", "echo", metadata.AppendAuthBearer(nil, "x"), rsocket.CodeApplicationError, "bad token"},
		{"none", "echo", nil, rsocket.CodeRejected, "authentication required"},
		{"unknown route, unauthenticated", "secret-route", nil, rsocket.CodeRejected, "authentication required"},
	}
	for _, tt := range tests {
		got, err := c.RequestResponse(ctx, rsocket.Payload{Metadata: composite(t, tt.route, tt.auth), Data: []byte("d")})
		if tt.code == 0 {
			if err != nil || string(got.Data) != "d" {
				t.Errorf("%s: %q, %v; want d", tt.name, got.Data, err)
			}
			continue
		}
		var re *rsocket.Error
		if !errors.As(err, &re) || re.Code != tt.code || re.Message != tt.msg {
			t.Errorf("%s: err %v; want %v %q", tt.name, err, tt.code, tt.msg)
		}
	}
	if len(seen) != len(tests) || seen[0] != "echo" {
		t.Errorf("hook saw routes %q", seen)
	}
}

func TestMetadataPush(t *testing.T) {
	r := router.New(router.Config{})
	got := make(chan string, 1)
	r.OnMetadataPush(func(_ context.Context, md []byte) { got <- string(md) })
	c := connect(t, r, "")
	ctx := ctxT(t)
	if err := c.MetadataPush(ctx, []byte("pushed")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "pushed" {
			t.Errorf("push = %q", s)
		}
	case <-ctx.Done():
		t.Fatal("metadata push not delivered")
	}
	// Without a handler it is ignored.
	router.New(router.Config{}).MetadataPush(ctx, []byte("x"))
}

func TestRegisterPanics(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(r *router.Router)
	}{
		{"duplicate", func(r *router.Router) {
			r.OnRequestStream("a", nil)
			r.OnRequestStream("a", nil)
		}},
		{"too long", func(r *router.Router) { r.OnFireAndForget(strings.Repeat("r", 256), nil) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tt.name)
				}
			}()
			tt.fn(router.New(router.Config{}))
		}()
	}
	// The same route for two models is fine.
	r := router.New(router.Config{})
	r.OnRequestResponse("a", nil)
	r.OnRequestStream("a", nil)
}

// Dispatch itself does not allocate: route lookup by a view, no copies.
func TestDispatchAllocs(t *testing.T) {
	auth, _ := metadata.AppendAuthSimple(nil, "user", "pass")
	cfg := router.Config{Authenticate: func(_ context.Context, _ []byte, a metadata.Auth, ok bool) error {
		if _, _, err := a.Simple(); !ok || err != nil {
			return errors.New("no")
		}
		return nil
	}}
	r := testRouter(cfg, nil)
	p := rsocket.Payload{Metadata: composite(t, "echo", auth), Data: []byte("x")}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		if q, err := r.RequestResponse(ctx, p); err != nil || len(q.Data) != 1 {
			t.Fatal(q, err)
		}
	}); n != 0 {
		t.Errorf("composite dispatch: %v allocs; want 0", n)
	}
	md, _ := metadata.AppendRoute(nil, "echo")
	br := testRouter(router.Config{MetadataMIME: metadata.MIMERouting}, nil)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := br.RequestResponse(ctx, rsocket.Payload{Metadata: md}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("routing dispatch: %v allocs; want 0", n)
	}
}

func BenchmarkDispatch(b *testing.B) {
	r := testRouter(router.Config{}, nil)
	p := rsocket.Payload{Metadata: composite(b, "echo", nil), Data: []byte("x")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r.RequestResponse(ctx, p)
	}
}
