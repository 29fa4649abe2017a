package rsocket_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// trace is an interceptor factory that records, in order, what each of its
// interceptors saw.
type trace struct {
	mu  sync.Mutex
	log []string
}

func (tr *trace) add(s string) {
	tr.mu.Lock()
	tr.log = append(tr.log, s)
	tr.mu.Unlock()
}

func (tr *trace) take() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	l := tr.log
	tr.log = nil
	return l
}

func (tr *trace) named(name string) rsocket.Interceptor {
	return func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		tr.add(fmt.Sprintf("%s>%v:%s", name, call.Model, call.Payload.Metadata))
		err := next(ctx, call)
		tr.add(fmt.Sprintf("%s<%v:%v", name, call.Model, err))
		return err
	}
}

// tag adds a metadata tag to every request.
func tag(md string) rsocket.Interceptor {
	return func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		call.Payload.Metadata = append(call.Payload.Metadata, md...)
		return next(ctx, call)
	}
}

// TestInterceptorsSeeEveryModel: requester interceptors run around every
// request method, responder ones around every Handler method, the first
// outermost, and a requester interceptor's change of the payload reaches
// the peer.
func TestInterceptorsSeeEveryModel(t *testing.T) {
	req, resp := &trace{}, &trace{}
	echo := &rsockettest.Echo{FNF: make(chan rsocket.Payload, 1), Push: make(chan []byte, 1)}
	p := rsockettest.Connect(t, pipeDial, rsocket.ClientConfig{
		RequesterInterceptors: []rsocket.Interceptor{req.named("a"), tag("1"), req.named("b")},
	}, rsocket.ServerConfig{
		ResponderInterceptors: []rsocket.Interceptor{resp.named("x"), resp.named("y")},
		Acceptor:              func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return echo, nil },
	})
	ctx := t.Context()
	check := func(model rsocket.Model, wantErr string) {
		t.Helper()
		got := req.take()
		want := []string{"a>" + model.String() + ":", "b>" + model.String() + ":1", "b<" + model.String() + ":" + wantErr, "a<" + model.String() + ":" + wantErr}
		if !slices.Equal(got, want) {
			t.Errorf("requester interceptors saw %q; want %q", got, want)
		}
		rsockettest.Eventually(t, 3*time.Second, "the responder interceptors", func() bool {
			resp.mu.Lock()
			defer resp.mu.Unlock()
			return len(resp.log) == 4
		})
		got = resp.take()
		want = []string{"x>" + model.String() + ":1", "y>" + model.String() + ":1", "y<" + model.String() + ":<nil>", "x<" + model.String() + ":<nil>"}
		if !slices.Equal(got, want) {
			t.Errorf("responder interceptors saw %q; want %q", got, want)
		}
	}

	r, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("rr")})
	if err != nil || string(r.Metadata) != "1" || string(r.Data) != "rr" {
		t.Fatalf("RequestResponse: %q/%q, %v; want 1/rr", r.Metadata, r.Data, err)
	}
	check(rsocket.ModelRequestResponse, "<nil>")

	if _, err := p.Client.RequestResponseInto(ctx, rsocket.Payload{}, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	check(rsocket.ModelRequestResponse, "<nil>")

	done := make(chan error, 1)
	if err := p.Client.RequestResponseAsync(rsocket.Payload{}, responseFunc(func(_ rsocket.Payload, err error) { done <- err })); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	check(rsocket.ModelRequestResponse, "<nil>")

	if err := p.Client.FireAndForget(ctx, rsocket.Payload{}); err != nil {
		t.Fatal(err)
	}
	if got := <-echo.FNF; string(got.Metadata) != "1" {
		t.Errorf("fire-and-forget metadata %q; want 1", got.Metadata)
	}
	check(rsocket.ModelFireAndForget, "<nil>")

	if err := p.Client.MetadataPush(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-echo.Push; string(got) != "1" {
		t.Errorf("metadata push %q; want 1", got)
	}
	check(rsocket.ModelMetadataPush, "<nil>")

	s, err := p.Client.RequestStream(ctx, rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	// Echo reads the metadata "1" as a stream of one.
	for _, err := range s.All() {
		if err != nil {
			t.Fatal(err)
		}
	}
	check(rsocket.ModelRequestStream, "<nil>")

	ch, err := p.Client.RequestChannel(ctx, rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	ch.CloseSend()
	for _, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
	}
	check(rsocket.ModelRequestChannel, "<nil>")
}

type responseFunc func(rsocket.Payload, error)

func (f responseFunc) OnResponse(p rsocket.Payload, err error) { f(p, err) }

// TestInterceptorRefuses: a responder interceptor that returns an error
// without calling next answers the request with it (the Handler does not
// run, not even its inline path); a requester one fails the call, and one
// that returns nil without calling next fails a stream with
// ErrNotForwarded.
func TestInterceptorRefuses(t *testing.T) {
	deny := func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		if string(call.Payload.Metadata) != "token" {
			return &rsocket.Error{Code: rsocket.CodeRejected, Message: "unauthenticated"}
		}
		return next(ctx, call)
	}
	p := rsockettest.Connect(t, pipeDial, rsocket.ClientConfig{}, rsocket.ServerConfig{
		ResponderInterceptors: []rsocket.Interceptor{deny},
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return &panickyInline{}, nil // its inline path would answer with the request
		},
	})
	ctx := t.Context()
	_, err := p.Client.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")})
	if !errors.Is(err, &rsocket.Error{Code: rsocket.CodeRejected}) {
		t.Errorf("refused request-response: %v; want REJECTED", err)
	}
	r, err := p.Client.RequestResponse(ctx, rsocket.Payload{Metadata: []byte("token"), Data: []byte("x")})
	if err != nil || string(r.Data) != "x" {
		t.Errorf("allowed request-response: %q, %v", r.Data, err)
	}
	s, err := p.Client.RequestStream(ctx, rsocket.Payload{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); !errors.Is(err, &rsocket.Error{Code: rsocket.CodeRejected}) {
		t.Errorf("refused stream: %v; want REJECTED", err)
	}

	swallow := func(context.Context, *rsocket.Call, func(context.Context, *rsocket.Call) error) error { return nil }
	fail := errors.New("refused here")
	after := func(ctx context.Context, call *rsocket.Call, next func(context.Context, *rsocket.Call) error) error {
		if err := next(ctx, call); err != nil {
			return err
		}
		return fail
	}
	for _, tc := range []struct {
		name string
		ic   rsocket.Interceptor
		want error
	}{{"without next", swallow, rsocket.ErrNotForwarded}, {"after next", after, fail}} {
		q := rsockettest.Connect(t, pipeDial, rsocket.ClientConfig{RequesterInterceptors: []rsocket.Interceptor{tc.ic}},
			rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
				return &rsockettest.Echo{}, nil
			}})
		if s, err := q.Client.RequestStream(ctx, rsocket.Payload{}); s != nil || !errors.Is(err, tc.want) {
			t.Errorf("%s: RequestStream: %v, %v; want nil, %v", tc.name, s, err, tc.want)
		}
		if ch, err := q.Client.RequestChannel(ctx, rsocket.Payload{}); ch != nil || !errors.Is(err, tc.want) {
			t.Errorf("%s: RequestChannel: %v, %v; want nil, %v", tc.name, ch, err, tc.want)
		}
		// Once sent, an asynchronous request-response's outcome goes to
		// its handler: the interceptor's later error is not returned.
		wantAsync := tc.want
		if tc.name == "after next" {
			wantAsync = nil
		}
		if err := q.Client.RequestResponseAsync(rsocket.Payload{}, responseFunc(func(rsocket.Payload, error) {})); !errors.Is(err, wantAsync) {
			t.Errorf("%s: RequestResponseAsync: %v; want %v", tc.name, err, wantAsync)
		}
		// A stream made, then refused, was cancelled: the server's table
		// empties and a graceful close does not wait for it.
		closeCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := q.Client.CloseGracefully(closeCtx)
		cancel()
		if err != nil {
			t.Errorf("%s: CloseGracefully: %v", tc.name, err)
		}
	}
}
