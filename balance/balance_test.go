package balance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shm"
)

// Every requester API satisfies rsocket.Requester.
var (
	_ rsocket.Requester = (*rsocket.Conn)(nil)
	_ rsocket.Requester = (*rshm.Conn)(nil)
	_ rsocket.Requester = (*rshm.Client)(nil)
	_ rsocket.Requester = (*Client)(nil)
)

// wait bounds the waits for a state in these tests; they are usually met
// within milliseconds.
const wait = 10 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// server is an in-process rshm server that counts what it serves. Its
// request-responses wait while it is held.
type server struct {
	rsockettest.Echo
	addr              string
	l                 *rshm.Listener
	served, fnf, push atomic.Int64

	mu   sync.Mutex
	hold chan struct{} // nil, or closed to release the held requests
}

func (s *server) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return rsocket.Payload{}, ctx.Err()
		}
	}
	s.served.Add(1)
	return p, nil
}

func (s *server) FireAndForget(context.Context, rsocket.Payload) { s.fnf.Add(1) }
func (s *server) MetadataPush(context.Context, []byte)           { s.push.Add(1) }

// stall holds the server's request-responses until the returned release.
func (s *server) stall() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.hold = nil
		s.mu.Unlock()
		close(ch)
	}
}

func testConn(t *testing.T) rshm.Config {
	return rshm.Config{Handshake: rshm.Handshake{SHM: shm.Config{Dir: t.TempDir()}, RingSize: 64 << 10}}
}

// listen starts (or, with addr set, restarts) s on addr.
func (s *server) listen(t *testing.T, cfg rshm.Config, addr string) {
	t.Helper()
	cfg.Server.Acceptor = func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return s, nil
	}
	l, err := rshm.Listen(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.l, s.addr = l, l.Addr().String()
	t.Cleanup(func() { l.Close() })
}

func startServers(t *testing.T, n int, cfg rshm.Config) []*server {
	srvs := make([]*server, n)
	for i := range srvs {
		srvs[i] = &server{}
		srvs[i].listen(t, cfg, "127.0.0.1:0")
	}
	return srvs
}

// dial makes a Client over srvs, each address prefixed with scheme, and
// waits until all are admitted.
func dial(t *testing.T, srvs []*server, scheme string, cfg Config) *Client {
	t.Helper()
	addrs := make([]string, len(srvs))
	for i, s := range srvs {
		addrs[i] = scheme + s.addr
	}
	c, err := New(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rsockettest.Eventually(t, wait, "every instance to be admitted", func() bool {
		for _, s := range c.Stats() {
			if s.State != Admitted {
				return false
			}
		}
		return true
	})
	return c
}

// TestRequester: every interaction model and metadata push through a
// Client; round-robin spreads request-responses evenly over the
// instances, shared memory where the address allows it.
func TestRequester(t *testing.T) {
	conn := testConn(t)
	srvs := startServers(t, 3, conn)
	c := dial(t, srvs, "", Config{Conn: conn, Strategy: RoundRobin, StallFactor: -1})
	for _, s := range c.Stats() {
		if s.Kind != rshm.KindSHM {
			t.Errorf("%s: kind %v; want shm", s.Addr, s.Kind)
		}
	}
	ctx := ctxT(t)
	for i := range 30 {
		p, err := c.RequestResponse(ctx, rsocket.Payload{Data: fmt.Appendf(nil, "r%d", i)})
		if err != nil || string(p.Data) != fmt.Sprintf("r%d", i) {
			t.Fatalf("request %d: got %q, %v", i, p.Data, err)
		}
	}
	for i, s := range srvs {
		if got := s.served.Load(); got != 10 {
			t.Errorf("server %d served %d of 30 round-robin requests; want 10", i, got)
		}
	}
	for _, s := range c.Stats() {
		if s.Requests != 10 || s.Failures != 0 || s.Pending != 0 || s.Latency <= 0 {
			t.Errorf("stats: %+v", s)
		}
	}

	for range 6 {
		if err := c.FireAndForget(ctx, rsocket.Payload{Data: []byte("f")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.MetadataPush(ctx, []byte("md")); err != nil {
		t.Fatal(err)
	}
	rsockettest.Eventually(t, wait, "the fire-and-forgets and the push to arrive", func() bool {
		var fnf, push int64
		for _, s := range srvs {
			fnf += s.fnf.Load()
			push += s.push.Load()
		}
		return fnf == 6 && push == 1
	})

	st, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte("s")})
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
	if fmt.Sprint(items) != "[s-0 s-1 s-2]" {
		t.Errorf("stream: got %v", items)
	}

	ch, err := c.RequestChannel(ctx, rsocket.Payload{Data: []byte("c0")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Send(ctx, rsocket.Payload{Data: []byte("c1")}); err != nil {
		t.Fatal(err)
	}
	if err := ch.CloseSend(); err != nil {
		t.Fatal(err)
	}
	items = nil
	for p, err := range ch.All() {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, string(p.Data))
	}
	if fmt.Sprint(items) != "[c0 c1]" {
		t.Errorf("channel: got %v", items)
	}
}

// startLoad runs requesters request-response loops on c until end,
// counting answers and failures. end lets the requests in flight finish.
type traffic struct {
	ok, failed atomic.Int64
	stopped    atomic.Bool
	wg         sync.WaitGroup
}

func startLoad(t *testing.T, c *Client, requesters int) *traffic {
	ctx := ctxT(t)
	l := &traffic{}
	for range requesters {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for !l.stopped.Load() {
				if _, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")}); err == nil {
					l.ok.Add(1)
				} else {
					l.failed.Add(1)
				}
			}
		}()
	}
	t.Cleanup(l.end)
	return l
}

func (l *traffic) end() {
	l.stopped.Store(true)
	l.wg.Wait()
}

// more waits until n more requests have been answered.
func (l *traffic) more(t *testing.T, n int64, what string) {
	t.Helper()
	target := l.ok.Load() + n
	rsockettest.Eventually(t, wait, what, func() bool { return l.ok.Load() >= target })
}

// TestKillUnderLoad: one of three instances is killed under load (its
// listener closes every connection). New requests stop going to it; only
// requests in flight on it fail, at most one per requester; the others
// carry the load; once it listens again it is re-admitted and served.
func TestKillUnderLoad(t *testing.T) {
	for _, scheme := range []string{"", "tcp://"} {
		t.Run(map[string]string{"": "shm", "tcp://": "tcp"}[scheme], func(t *testing.T) {
			conn := testConn(t)
			srvs := startServers(t, 3, conn)
			c := dial(t, srvs, scheme, Config{Conn: conn})
			const requesters = 4
			l := startLoad(t, c, requesters)
			l.more(t, 300, "the load to start")

			victim := srvs[0]
			killed := time.Now()
			victim.l.Close()
			rsockettest.Eventually(t, wait, "the killed instance to be ejected", func() bool {
				return c.Stats()[0].State != Admitted
			})
			ejectedIn := time.Since(killed)
			sent := c.Stats()[0].Requests
			l.more(t, 300, "the others to carry the load")
			if after := c.Stats()[0].Requests; after > sent+requesters {
				t.Errorf("the killed instance got %d requests after its ejection; want at most the %d in flight", after-sent, requesters)
			}
			if f := l.failed.Load(); f > requesters {
				t.Errorf("%d requests failed; want at most one per requester (%d)", f, requesters)
			}

			back := time.Now()
			victim.listen(t, conn, victim.addr)
			rsockettest.Eventually(t, wait, "the restarted instance to be re-admitted", func() bool {
				return c.Stats()[0].State == Admitted
			})
			rsockettest.Eventually(t, wait, "the restarted instance to take traffic", func() bool {
				return victim.served.Load() > 0 && l.ok.Load() > 0
			})
			servedIn := time.Since(back)
			l.end()
			t.Logf("ejected %v after the kill; served again %v after it listened again; answered %d, failed %d (%.3f%%)",
				ejectedIn, servedIn, l.ok.Load(), l.failed.Load(), 100*float64(l.failed.Load())/float64(l.ok.Load()+l.failed.Load()))
		})
	}
}

// TestStallEjectReadmit: an instance that stops answering (its handler
// holds every request, while its connection answers pings) is ejected, by
// its timeouts or its silence, and the others carry the load. Each time it
// is admitted on the strength of a ping it costs one request (with a
// single requester: the first after its admission, whose timeout ejects
// it); once it answers again it is re-admitted and served.
func TestStallEjectReadmit(t *testing.T) {
	conn := testConn(t)
	srvs := startServers(t, 3, conn)
	c := dial(t, srvs, "", Config{Conn: conn, CheckInterval: 5 * time.Millisecond, MaxEjection: 50 * time.Millisecond})
	ctx := ctxT(t)
	release := srvs[0].stall()
	// Requests with a short deadline, as a caller of a stalling service
	// sets: those sent to the stalled instance time out.
	request := func() error {
		rctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := c.RequestResponse(rctx, rsocket.Payload{Data: []byte("x")})
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		return err
	}
	var ok int
	for ok < 200 || c.Stats()[0].Ejections == 0 {
		if request() == nil {
			ok++
		}
		if ctx.Err() != nil {
			t.Fatal("the stalled instance was not ejected")
		}
	}
	st := c.Stats()
	admissions := st[0].Ejections
	if st[0].State == Admitted {
		admissions++
	}
	if st[0].Failures > admissions {
		t.Errorf("the stalled instance failed %d requests in %d admissions; want at most one each", st[0].Failures, admissions)
	}
	release()
	rsockettest.Eventually(t, wait, "the recovered instance to be re-admitted and served", func() bool {
		request()
		return c.Stats()[0].State == Admitted && srvs[0].served.Load() > 0
	})
	t.Logf("stats %+v", c.Stats())
}

// zeroLease grants no requests: a peer under it cannot send any.
type zeroLease struct{}

func (zeroLease) Next(rsocket.LeaseStats) (rsocket.Lease, time.Duration) {
	return rsocket.Lease{TTL: time.Hour, Requests: 0}, time.Hour
}

// TestLease: an instance that grants no lease is passed over: every
// request is answered by the others, and it serves none.
func TestLease(t *testing.T) {
	conn := testConn(t)
	conn.Client.Lease = &rsocket.LeaseConfig{}
	srvs := make([]*server, 3)
	for i := range srvs {
		cfg := conn
		strategy := rsocket.LeaseStrategy(rsocket.FixedLease{})
		if i == 1 {
			strategy = zeroLease{}
		}
		cfg.Server.Lease = &rsocket.LeaseConfig{Strategy: strategy}
		srvs[i] = &server{}
		srvs[i].listen(t, cfg, "127.0.0.1:0")
	}
	c := dial(t, srvs, "", Config{Conn: conn})
	ctx := ctxT(t)
	for i := range 200 {
		if _, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := srvs[1].served.Load(); n != 0 {
		t.Errorf("the instance without a lease served %d requests", n)
	}
	if n := srvs[0].served.Load() + srvs[2].served.Load(); n != 200 {
		t.Errorf("the others served %d; want 200", n)
	}
	if n := c.Stats()[1].Requests; n != 0 {
		t.Errorf("%d requests were sent to the instance without a lease", n)
	}
}

// answers collects asynchronous responses.
type answers chan error

func (a answers) OnResponse(_ rsocket.Payload, err error) { a <- err }

// TestRequestResponseAsync: asynchronous request-responses go round-robin
// over the instances, feed their estimates, and fail at once with no
// instance admitted.
func TestRequestResponseAsync(t *testing.T) {
	conn := testConn(t)
	srvs := startServers(t, 2, conn)
	c := dial(t, srvs, "", Config{Conn: conn, Strategy: RoundRobin, StallFactor: -1})
	got := make(answers, 10)
	for i := range 10 {
		if err := c.RequestResponseAsync(rsocket.Payload{Data: fmt.Appendf(nil, "a%d", i)}, got); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range c.Stats() {
		if s.Requests != 5 || s.Pending != 0 || s.Latency <= 0 {
			t.Errorf("stats after asynchronous requests: %+v", s)
		}
	}
	empty, err := New([]string{"shm://127.0.0.1:1"}, Config{Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if err := empty.RequestResponseAsync(rsocket.Payload{}, got); !errors.Is(err, ErrNoInstance) {
		t.Fatalf("with no instance: %v, want ErrNoInstance", err)
	}
}
