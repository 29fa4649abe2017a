package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shm"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// named answers request-response with its name and the data.
type named struct {
	rsocket.RejectAll
	name string
}

func (n named) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return rsocket.Payload{Data: []byte(n.name + ":" + string(p.Data))}, nil
}

// upstreamServer starts a TCP server answering as name; it returns its
// address and the listener.
func upstreamServer(t *testing.T, name string) (string, *rshm.Listener) {
	t.Helper()
	l, err := rshm.Listen("tcp://127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return named{name: name}, nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String(), l
}

func config(t *testing.T, dir string, ups map[string]string, routes map[string]string) *Config {
	t.Helper()
	c := &Config{Listen: "127.0.0.1:0", SHMDir: dir, Admin: "127.0.0.1:0", Upstreams: map[string]Upstream{}, Routes: routes}
	for name, addr := range ups {
		c.Upstreams[name] = Upstream{Addrs: []string{addr}}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c, err = Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ask(t *testing.T, app *rshm.Conn, route string) (string, error) {
	t.Helper()
	p, err := router.Route(route, []byte("q"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := app.RequestResponse(ctxT(t), p)
	return string(resp.Data), err
}

// TestSidecar: the app reaches upstreams through the sidecar over shared
// memory, by route; a reload moves a route to another upstream and keeps
// the app's connection; /healthz and /metrics tell about the upstreams.
func TestSidecar(t *testing.T) {
	a, _ := upstreamServer(t, "a")
	b, bl := upstreamServer(t, "b")
	dir := t.TempDir()
	s, err := Start(config(t, dir, map[string]string{"a": a, "b": b}, map[string]string{"orders.*": "a", "users.get": "b"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := rshm.Dial(ctxT(t), "shm://"+s.Addr().String(), rshm.Config{
		Handshake: rshm.Handshake{SHM: shm.Config{Dir: dir}},
		Client:    rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()

	for route, want := range map[string]string{"orders.get": "a:q", "orders.put": "a:q", "users.get": "b:q"} {
		if got, err := ask(t, app, route); err != nil || got != want {
			t.Fatalf("%s: %q, %v; want %q", route, got, err, want)
		}
	}
	var re *rsocket.Error
	if _, err := ask(t, app, "users.put"); !errors.As(err, &re) || re.Code != rsocket.CodeRejected {
		t.Fatalf("a route nobody serves: %v, want REJECTED", err)
	}

	if err := s.Reload(config(t, dir, map[string]string{"a": a, "b": b}, map[string]string{"orders.*": "b", "*": "a"})); err != nil {
		t.Fatal(err)
	}
	for route, want := range map[string]string{"orders.get": "b:q", "users.put": "a:q"} {
		if got, err := ask(t, app, route); err != nil || got != want {
			t.Fatalf("after the reload, %s: %q, %v; want %q", route, got, err, want)
		}
	}
	bad := config(t, dir, map[string]string{"a": a}, nil)
	bad.Listen = "127.0.0.1:1"
	if err := s.Reload(bad); !errors.Is(err, ErrRestart) {
		t.Fatalf("reload of the listening address: %v, want ErrRestart", err)
	}

	admin := "http://" + s.AdminAddr().String()
	if code, body := get(t, admin+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz with both upstreams up: %d %s", code, body)
	}
	code, body := get(t, admin+"/metrics")
	for _, want := range []string{
		`rshm_sidecar_requests_total{upstream="a",model="request-response",outcome="ok"} 3`,
		`rshm_sidecar_requests_total{upstream="b",model="request-response",outcome="ok"} 2`,
		`rshm_sidecar_upstream_up{upstream="a"} 1`,
		`rshm_sidecar_request_duration_seconds_count{upstream="a"} 3`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("/metrics: %d, missing %q:\n%s", code, want, body)
		}
	}
	bl.Close()
	rsockettest.Eventually(t, 5*time.Second, "/healthz to report upstream b down", func() bool {
		code, body := get(t, admin+"/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, ": b")
	})
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConfigErrors(t *testing.T) {
	for _, bad := range []string{
		`{}`,
		`{"listen": "x", "upstreams": {"a": {}}}`,
		`{"listen": "x", "upstreams": {"a": {"addrs": ["h:1"], "balance": "random"}}}`,
		`{"listen": "x", "upstreams": {"a": {"addrs": ["h:1"]}}, "routes": {"r": "b"}}`,
		`{"listen": "x", "upstreams": {"a": {"addrs": ["h:1"]}}, "routes": {"a*b": "a"}}`,
		`{"listen": "x", "upstreams": {"a": {"addrs": ["h:1"]}}, "extra": 1}`,
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted it", bad)
		}
	}
}

func TestTable(t *testing.T) {
	tb := newTable(map[string]string{"a.b": "x", "a.*": "y", "a.b.*": "z", "*": "d"})
	for route, want := range map[string]string{"a.b": "x", "a.c": "y", "a.b.c": "z", "q": "d", "": "d"} {
		if got := tb.lookup(route); got != want {
			t.Errorf("lookup(%q) = %q, want %q", route, got, want)
		}
	}
	if got := newTable(map[string]string{"a.*": "y"}).lookup(""); got != "" {
		t.Errorf("a request without a route matched %q", got)
	}
}
