package rsocket_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// resumeRig is a resumable server reached over in-process pipes: every
// dial makes a new pipe and serves its far end; cut breaks the pipe in use.
type resumeRig struct {
	t      *testing.T
	server rsocket.ServerConfig
	conns  chan *rsocket.Conn // server connections accepted by SETUP
	pipe   rsocket.PipeConfig

	mu      sync.Mutex
	current rsocket.Transport
	dials   atomic.Int32
	refuse  atomic.Bool // dials fail while set
}

func newResumeRig(t *testing.T, h rsocket.Handler, rc *rsocket.ResumeConfig) *resumeRig {
	r := &resumeRig{t: t, conns: make(chan *rsocket.Conn, 16)}
	r.server = rsocket.ServerConfig{
		Resume:   rc,
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
	}
	return r
}

func (r *resumeRig) dial(context.Context) (rsocket.Transport, error) {
	r.dials.Add(1)
	if r.refuse.Load() {
		return nil, errors.New("dial refused by the test")
	}
	ct, st := rsocket.Pipe(r.pipe)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := rsocket.Server(ctx, st, r.server)
		if err == nil {
			r.conns <- c
		}
	}()
	r.mu.Lock()
	r.current = ct
	r.mu.Unlock()
	return ct, nil
}

// cut breaks the transport in use (both ends see it end).
func (r *resumeRig) cut() {
	r.mu.Lock()
	t := r.current
	r.mu.Unlock()
	if t != nil {
		_ = t.Close()
	}
}

// connect opens a resumable client session and returns it with the
// server's side.
func (r *resumeRig) connect(ccfg rsocket.ClientConfig) (*rsocket.Conn, *rsocket.Conn) {
	r.t.Helper()
	if ccfg.Resume == nil {
		ccfg.Resume = &rsocket.ResumeConfig{}
	}
	ccfg.Resume.Redial = r.dial
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t, _ := r.dial(ctx)
	c, err := rsocket.Client(ctx, t, ccfg)
	if err != nil {
		r.t.Fatal(err)
	}
	var s *rsocket.Conn
	select {
	case s = <-r.conns:
	case <-ctx.Done():
		r.t.Fatal("server did not accept the session")
	}
	r.t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c, s
}

// cutter breaks the rig's transport at random intervals until stop is
// closed, and reports how many times it did.
func (r *resumeRig) cutter(stop <-chan struct{}, min, max time.Duration) <-chan int {
	n := make(chan int, 1)
	go func() {
		cuts := 0
		for {
			d := min + time.Duration(rand.Int64N(int64(max-min)))
			select {
			case <-stop:
				n <- cuts
				return
			case <-time.After(d):
				r.cut()
				cuts++
			}
		}
	}()
	return n
}

// seqHandler streams count:N sequence numbers, echoes channels item by
// item and counts fire-and-forget sequence numbers.
type seqHandler struct {
	rsocket.RejectAll
	mu  sync.Mutex
	fnf []int
	rr  atomic.Int64
}

func (h *seqHandler) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	h.rr.Add(1)
	return p.Clone(), nil
}

func (h *seqHandler) FireAndForget(_ context.Context, p rsocket.Payload) {
	n, _ := strconv.Atoi(string(p.Data))
	h.mu.Lock()
	h.fnf = append(h.fnf, n)
	h.mu.Unlock()
}

func (h *seqHandler) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	n, _ := strconv.Atoi(string(p.Data))
	for i := range n {
		if err := w.Send(ctx, rsocket.Payload{Data: strconv.AppendInt(nil, int64(i), 10)}); err != nil {
			return err
		}
	}
	return nil
}

func (h *seqHandler) RequestChannel(ctx context.Context, _ rsocket.Payload, ch *rsocket.Channel) error {
	for q, err := range ch.All() {
		if err != nil {
			return err
		}
		if err := ch.Send(ctx, q.Clone()); err != nil {
			return err
		}
	}
	return nil
}

// checkSeq reads a stream of sequence numbers and checks exactly 0..n-1 in
// order.
func checkSeq(recv func() (rsocket.Payload, error), n int) error {
	for i := range n {
		p, err := recv()
		if err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
		if got, _ := strconv.Atoi(string(p.Data)); got != i || string(p.Data) != strconv.Itoa(i) {
			return fmt.Errorf("item %d: got %q (a frame lost or repeated)", i, p.Data)
		}
	}
	if p, err := recv(); err == nil {
		return fmt.Errorf("item after the last: %q", p.Data)
	}
	return nil
}

// TestResumeExactlyOnce breaks the transport every few milliseconds while
// streams, channels, request-responses and fire-and-forgets run in both
// directions (the server streams to the client too), and checks that every
// payload arrives exactly once and in order.
func TestResumeExactlyOnce(t *testing.T) {
	items := 20000
	if testing.Short() {
		items = 3000
	}
	h := &seqHandler{}
	ch := &seqHandler{} // the client's handler, for the server's requests
	rig := newResumeRig(t, h, &rsocket.ResumeConfig{})
	rig.pipe = rsocket.PipeConfig{Bytes: 64 << 10, Frames: 64}
	rig.server.Prefetch = 64
	// A small window: many REQUEST_N frames cross the cuts, and few
	// payloads are in flight to resend after each.
	client, server := rig.connect(rsocket.ClientConfig{Handler: ch, MTU: 256, Prefetch: 64})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stop := make(chan struct{})
	cuts := rig.cutter(stop, time.Millisecond, 8*time.Millisecond)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	run("client stream", func() error {
		s, err := client.RequestStream(ctx, rsocket.Payload{Data: []byte(strconv.Itoa(items))})
		if err != nil {
			return err
		}
		return checkSeq(s.Recv, items)
	})
	run("server stream", func() error {
		s, err := server.RequestStream(ctx, rsocket.Payload{Data: []byte(strconv.Itoa(items))})
		if err != nil {
			return err
		}
		return checkSeq(s.Recv, items)
	})
	run("channel", func() error {
		c, err := client.RequestChannel(ctx, rsocket.Payload{Data: []byte("start")})
		if err != nil {
			return err
		}
		sendErr := make(chan error, 1)
		go func() {
			for i := range items {
				// A large payload now and then: fragmented at the MTU.
				data := strconv.Itoa(i)
				if err := c.Send(ctx, rsocket.Payload{Data: []byte(data)}); err != nil {
					sendErr <- err
					return
				}
			}
			sendErr <- c.CloseSend()
		}()
		if err := checkSeq(c.Recv, items); err != nil {
			return err
		}
		return <-sendErr
	})
	run("request-response", func() error {
		for i := range 300 {
			big := fmt.Sprintf("%d-%0800d", i, i) // fragmented both ways
			p, err := client.RequestResponse(ctx, rsocket.Payload{Data: []byte(big)})
			if err != nil {
				return fmt.Errorf("request %d: %w", i, err)
			}
			if string(p.Data) != big {
				return fmt.Errorf("request %d: answer %.20q", i, p.Data)
			}
		}
		return nil
	})
	run("fire-and-forget", func() error {
		for i := range 2000 {
			if err := client.FireAndForget(ctx, rsocket.Payload{Data: []byte(strconv.Itoa(i))}); err != nil {
				return fmt.Errorf("fnf %d: %w", i, err)
			}
		}
		return nil
	})
	wg.Wait()
	close(stop)
	n := <-cuts
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Fire-and-forgets still in flight arrive once the link is stable.
	fnfs := func() []int {
		h.mu.Lock()
		defer h.mu.Unlock()
		return append([]int(nil), h.fnf...)
	}
	rsockettest.Eventually(t, 5*time.Second, "2000 fire-and-forgets", func() bool { return len(fnfs()) >= 2000 })
	got := fnfs()
	if len(got) != 2000 {
		t.Errorf("server got %d fire-and-forgets, want 2000", len(got))
	}
	// Handlers run concurrently, so only exactly-once is checked.
	slices.Sort(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("fire-and-forget %d is %d: lost or repeated", i, v)
		}
	}
	if client.Err() != nil || server.Err() != nil {
		t.Fatalf("session ended: client %v, server %v", client.Err(), server.Err())
	}
	if n == 0 {
		t.Fatal("the transport was never cut")
	}
	t.Logf("%d cuts, %d dials", n, rig.dials.Load())
}

// TestResumeRejected: a server that does not know the session (it was
// restarted) answers RESUME with REJECTED_RESUME; the client's connection
// fails with it and does not dial again.
func TestResumeRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rig := newResumeRig(t, &seqHandler{}, &rsocket.ResumeConfig{})
		client, _ := rig.connect(rsocket.ClientConfig{})
		// The server "restarts": a new session table.
		rig.server.Resume = &rsocket.ResumeConfig{}
		rig.cut()
		select {
		case <-client.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("client did not fail")
		}
		if !errors.Is(client.Err(), &rsocket.Error{Code: rsocket.CodeRejectedResume}) {
			t.Fatalf("client error %v, want REJECTED_RESUME", client.Err())
		}
		n := rig.dials.Load()
		advance(time.Minute) // time for any retry
		if rig.dials.Load() != n || n != 2 {
			t.Fatalf("%d dials (then %d), want 2: the first and one resume attempt", n, rig.dials.Load())
		}
	})
}

// TestResumeExpiry: without a transport for longer than the session
// timeout, both sides end the session with ErrSessionExpired and the
// server forgets it.
func TestResumeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rc := &rsocket.ResumeConfig{SessionTimeout: 100 * time.Millisecond}
		rig := newResumeRig(t, &seqHandler{}, rc)
		client, server := rig.connect(rsocket.ClientConfig{Resume: &rsocket.ResumeConfig{SessionTimeout: 300 * time.Millisecond}})
		if rc.Len() != 1 {
			t.Fatalf("server holds %d sessions, want 1", rc.Len())
		}
		rig.refuse.Store(true)
		start := time.Now()
		rig.cut()
		for _, c := range []*rsocket.Conn{server, client} {
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("session did not expire")
			}
			if !errors.Is(c.Err(), rsocket.ErrSessionExpired) {
				t.Fatalf("error %v, want ErrSessionExpired", c.Err())
			}
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("client expired after %v, before its 300ms timeout", d)
		}
		if rig.dials.Load() < 3 {
			t.Errorf("client dialed %d times while disconnected, want retries", rig.dials.Load())
		}
		if rc.Len() != 0 {
			t.Fatalf("server still holds %d sessions", rc.Len())
		}
	})
}

// TestResumeStoreFull: frames sent while disconnected go to the store;
// when it is full the session ends with ErrResumeStoreFull, not more memory.
func TestResumeStoreFull(t *testing.T) {
	rig := newResumeRig(t, &seqHandler{}, &rsocket.ResumeConfig{})
	client, _ := rig.connect(rsocket.ClientConfig{Resume: &rsocket.ResumeConfig{StoreSize: 4096}})
	rig.refuse.Store(true)
	rig.cut()
	ctx := context.Background()
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = client.FireAndForget(ctx, rsocket.Payload{Data: make([]byte, 100)})
	}
	if !errors.Is(err, rsocket.ErrResumeStoreFull) && !errors.Is(client.Err(), rsocket.ErrResumeStoreFull) {
		t.Fatalf("send error %v, connection error %v; want ErrResumeStoreFull", err, client.Err())
	}
	<-client.Done()
}

// TestResumeClose: Close on a resumable session ends it on both sides at
// once (the peer is told; it does not wait for a resumption).
func TestResumeClose(t *testing.T) {
	rc := &rsocket.ResumeConfig{}
	rig := newResumeRig(t, &seqHandler{}, rc)
	client, server := rig.connect(rsocket.ClientConfig{})
	client.Close()
	select {
	case <-server.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server kept the closed session")
	}
	if rc.Len() != 0 {
		t.Fatalf("server holds %d sessions", rc.Len())
	}
	if n := rig.dials.Load(); n != 1 {
		t.Fatalf("%d dials after Close, want 1", n)
	}
}

// TestResumeNotServed: a server without ServerConfig.Resume refuses a
// resumable SETUP with REJECTED_SETUP.
func TestResumeNotServed(t *testing.T) {
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	go rsocket.Server(context.Background(), st, rsocket.ServerConfig{})
	c, err := rsocket.Client(context.Background(), ct, rsocket.ClientConfig{Resume: &rsocket.ResumeConfig{
		Redial: func(context.Context) (rsocket.Transport, error) { return nil, errors.New("no") },
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), &rsocket.Error{Code: rsocket.CodeRejectedSetup}) {
		t.Fatalf("error %v, want REJECTED_SETUP", c.Err())
	}
}

// TestResumeRenewsLease: leases do not survive a resume (spec). After the
// session resumed, the server grants a fresh lease at once, without
// waiting for its strategy's next period (an hour here).
func TestResumeRenewsLease(t *testing.T) {
	h := &seqHandler{}
	rig := newResumeRig(t, h, &rsocket.ResumeConfig{})
	rig.server.Lease = &rsocket.LeaseConfig{Strategy: rsocket.FixedLease{Requests: 3, TTL: time.Hour}}
	client, _ := rig.connect(rsocket.ClientConfig{Lease: &rsocket.LeaseConfig{WaitForLease: true}})
	rr := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := client.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")})
		return err
	}
	for i := range 2 {
		if err := rr(5 * time.Second); err != nil {
			t.Fatalf("request %d under the first lease: %v", i, err)
		}
	}
	rig.cut()
	// The first lease had one request left; the renewed one has three.
	for i := range 3 {
		if err := rr(5 * time.Second); err != nil {
			t.Fatalf("request %d after resuming: %v", i, err)
		}
	}
	if got := h.rr.Load(); got != 5 {
		t.Fatalf("server handled %d requests, want 5", got)
	}
}

// TestWithRedialCopiesEverySetting: WithRedial carries every exported
// field of ResumeConfig but Redial, so a field added later cannot be
// dropped by a client that dials for its user.
func TestWithRedialCopiesEverySetting(t *testing.T) {
	var c rsocket.ResumeConfig
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || v.Type().Field(i).Name == "Redial" {
			continue
		}
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.ValueOf([]byte("token")))
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		default:
			t.Fatalf("field %s of kind %v: teach this test to set it", v.Type().Field(i).Name, f.Kind())
		}
	}
	called := false
	got := c.WithRedial(func(context.Context) (rsocket.Transport, error) { called = true; return nil, nil })
	gv := reflect.ValueOf(got).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if !v.Type().Field(i).IsExported() || name == "Redial" {
			continue
		}
		if !reflect.DeepEqual(gv.Field(i).Interface(), v.Field(i).Interface()) {
			t.Errorf("WithRedial dropped %s: %v, want %v", name, gv.Field(i).Interface(), v.Field(i).Interface())
		}
	}
	if got.Redial == nil {
		t.Fatal("WithRedial did not set Redial")
	}
	_, _ = got.Redial(context.Background())
	if !called {
		t.Fatal("Redial is not the function given")
	}
}
