package interop

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
)

// The metadata extensions and the router against rsocket-js 0.0.27:
// testdata/js/router_client.js calls an rshm router by route with composite
// metadata (routing + simple or bearer authentication) encoded by
// rsocket-core, and the rshm client sends composite metadata encoded by
// package metadata to testdata/js/metadata_server.js, which decodes it with
// rsocket-core and logs what it found.

// routerTimeout bounds each of these tests.
const routerTimeout = 5 * time.Second

// checkAuth accepts the bearer token "token-1" or simple user/pass.
func checkAuth(_ context.Context, _ []byte, a metadata.Auth, ok bool) error {
	if !ok {
		return errors.New("authentication required")
	}
	if tok, isBearer := a.Bearer(); isBearer {
		if string(tok) == "token-1" {
			return nil
		}
		return errors.New("bad token")
	}
	if u, p, err := a.Simple(); err == nil && string(u) == "user" && string(p) == "pass" {
		return nil
	}
	return errors.New("bad credentials")
}

// startGoRouter serves a router with an authentication check on a free
// loopback port until the test ends; fnf receives fire-and-forget data.
func startGoRouter(t *testing.T, fnf chan<- string) int {
	t.Helper()
	r := router.New(router.Config{Authenticate: checkAuth})
	r.OnRequestResponse("echo", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		return rsocket.Payload{Data: p.Data}, nil
	})
	r.OnRequestStream("ticks", func(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
		for i := range 3 {
			if err := w.Send(ctx, rsocket.Payload{Data: []byte(string(p.Data) + "-" + strconv.Itoa(i))}); err != nil {
				return err
			}
		}
		return nil
	})
	r.OnFireAndForget("log", func(_ context.Context, p rsocket.Payload) { fnf <- string(p.Data) })
	return serveTCP(t, rsocket.ServerConfig{Acceptor: r.Acceptor()})
}

func TestJSClientGoRouter(t *testing.T) {
	node := needNode(t)
	fnf := make(chan string, 1)
	port := startGoRouter(t, fnf)
	ctx, cancel := context.WithTimeout(context.Background(), routerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "router_client.js", strconv.Itoa(port))
	cmd.Dir = jsDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	events := map[string]event{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e event
		if json.Unmarshal([]byte(line), &e) == nil {
			events[e.str("event")] = e
		}
	}
	if err != nil {
		t.Fatalf("router_client.js: %v; events %v; stderr %s", err, events, stderr.String())
	}
	if events["done"] == nil {
		t.Fatalf("router_client.js did not finish: %v", events)
	}
	if e := events["unknown"]; e.num("code") != 0x202 || !strings.Contains(e.str("message"), `route "nope"`) {
		t.Errorf("unknown route answered %v; want REJECTED naming the route", e)
	}
	if e := events["unauth"]; e.num("code") != 0x202 || e.str("message") != "bad credentials" {
		t.Errorf("wrong password answered %v; want REJECTED \"bad credentials\"", e)
	}
	select {
	case got := <-fnf:
		if got != "logged" {
			t.Errorf("fire-and-forget data = %q; want logged", got)
		}
	case <-ctx.Done():
		t.Error("fire-and-forget \"log\" never reached the router")
	}
}

// startMetadataServer runs testdata/js/metadata_server.js until the test
// ends.
func startMetadataServer(t *testing.T) *jsServer {
	t.Helper()
	return startJSScript(t, "metadata_server.js")
}

func TestGoClientJSMetadataServer(t *testing.T) {
	s := startMetadataServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), routerTimeout)
	defer cancel()
	conn := dial(ctx, t, s.addr(), rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite, DataMIME: "application/json"})

	build := func(auth []byte, extra ...func([]byte) []byte) []byte {
		route, err := metadata.AppendRoute(nil, "orders.get", "v2")
		if err != nil {
			t.Fatal(err)
		}
		md, _ := metadata.AppendComposite(nil, metadata.MIMERouting, route)
		md, _ = metadata.AppendComposite(md, metadata.MIMEAuthentication, auth)
		for _, f := range extra {
			md = f(md)
		}
		return md
	}
	simple, _ := metadata.AppendAuthSimple(nil, "j\u00fcrgen", "s3cret")
	custom := func(md []byte) []byte {
		md, err := metadata.AppendComposite(md, "application/x.trace-tag", []byte("t-1"))
		if err != nil {
			t.Fatal(err)
		}
		return md
	}
	tests := []struct {
		name string
		md   []byte
		want map[string]any
	}{
		{"simple", build(simple, custom), map[string]any{
			"tags": []any{"orders.get", "v2"}, "authType": "simple", "username": "j\u00fcrgen", "password": "s3cret",
			"application/x.trace-tag": "t-1",
			"entries":                 []any{metadata.MIMERouting, metadata.MIMEAuthentication, "application/x.trace-tag"},
		}},
		{"bearer", build(metadata.AppendAuthBearer(nil, "tok.en")), map[string]any{
			"tags": []any{"orders.get", "v2"}, "authType": "bearer", "token": "tok.en",
		}},
	}
	for _, tt := range tests {
		mark := s.mark()
		res, err := conn.RequestResponse(ctx, rsocket.Payload{Metadata: tt.md, Data: []byte("{}")})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		e := s.waitEvent(ctx, t, mark, "decoded", isEvent("decoded"))
		var answer map[string]any
		if err := json.Unmarshal(res.Data, &answer); err != nil {
			t.Fatalf("%s: answer %q: %v", tt.name, res.Data, err)
		}
		for k, want := range tt.want {
			w, _ := json.Marshal(want)
			got, _ := json.Marshal(e[k])
			if string(got) != string(w) {
				t.Errorf("%s: rsocket-js decoded %s = %s; want %s", tt.name, k, got, w)
			}
			if a, _ := json.Marshal(answer[k]); string(a) != string(w) {
				t.Errorf("%s: answer %s = %s; want %s", tt.name, k, a, w)
			}
		}
	}
}

// TestJSServerGoClientRouter: the requests the other way round. An rshm
// client whose Handler is a router (composite metadata, checkAuth) is
// called by testdata/js/metadata_server.js --call-client with routing and
// authentication encoded by rsocket-core: the bearer-token call is routed
// and answered, the wrong password gets REJECTED "bad credentials".
func TestJSServerGoClientRouter(t *testing.T) {
	s := startJSScript(t, "metadata_server.js", "--call-client")
	ctx, cancel := context.WithTimeout(context.Background(), routerTimeout)
	defer cancel()
	r := router.New(router.Config{Authenticate: checkAuth})
	r.OnRequestResponse("client.echo", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		return rsocket.Payload{Data: append([]byte("client:"), p.Data...)}, nil
	})
	dial(ctx, t, s.addr(), rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite, Handler: r})
	if e := s.waitEvent(ctx, t, 0, "clientRR 0", isEvent("clientRR", "index", "0")); e.str("data") != "client:to-client" {
		t.Errorf("bearer call: %v; want data client:to-client", e)
	}
	e := s.waitEvent(ctx, t, 0, "clientRRError 1", isEvent("clientRRError", "index", "1"))
	if e.num("code") != int(rsocket.CodeRejected) || e.str("message") != "bad credentials" {
		t.Errorf("wrong password: %v; want REJECTED \"bad credentials\"", e)
	}
	if e := findEvent(s.eventsSince(0), isEvent("clientRR", "index", "1")); e != nil {
		t.Errorf("wrong password was answered: %v", e)
	}
}
