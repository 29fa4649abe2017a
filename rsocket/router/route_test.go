package router_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
)

// TestRoute: Route builds the composite metadata that the two metadata
// calls build, reaches the route's handler for every interaction model,
// and refuses a route no request could name.
func TestRoute(t *testing.T) {
	for _, route := range []string{"echo", "a.b.c", strings.Repeat("r", metadata.MaxTag)} {
		p, err := router.Route(route, []byte("data"))
		if err != nil {
			t.Fatalf("Route(%q): %v", route, err)
		}
		if want := composite(t, route, nil); !bytes.Equal(p.Metadata, want) || string(p.Data) != "data" {
			t.Errorf("Route(%q) = %x/%q; want %x/data", route, p.Metadata, p.Data, want)
		}
	}
	if _, err := router.Route(strings.Repeat("r", metadata.MaxTag+1), nil); !errors.Is(err, metadata.ErrInvalid) {
		t.Errorf("Route of a 256-byte route: %v; want metadata.ErrInvalid", err)
	}

	fnf := make(chan string, 1)
	c := connect(t, testRouter(router.Config{}, fnf), "")
	ctx := ctxT(t)
	route := func(r, data string) rsocket.Payload {
		p, err := router.Route(r, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got, err := c.RequestResponse(ctx, route("upper", "hi")); err != nil || string(got.Data) != "HI" {
		t.Errorf("upper: %q, %v; want HI", got.Data, err)
	}
	if got, err := c.RequestResponse(ctx, route("", "x")); err != nil || string(got.Data) != "default" {
		t.Errorf("the empty route: %q, %v; want the \"\" route's default", got.Data, err)
	}
	if err := c.FireAndForget(ctx, route("log", "logged")); err != nil {
		t.Fatal(err)
	}
	if got := <-fnf; got != "logged" {
		t.Errorf("fire-and-forget %q; want logged", got)
	}
	st, err := c.RequestStream(ctx, route("ticks", "t"))
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
	ch, err := c.RequestChannel(ctx, route("echo", "a"))
	if err != nil {
		t.Fatal(err)
	}
	ch.CloseSend()
	if p, err := ch.Recv(); err != nil || string(p.Data) != "a" {
		t.Errorf("channel: %q, %v; want a", p.Data, err)
	}
}
