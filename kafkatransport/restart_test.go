package kafkatransport

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// advance moves the fake clock of the calling bubble on by d and returns
// once all that the new time woke has run and blocked again.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// tally is a handler that counts each fire-and-forget by the index in its
// data and echoes request-responses.
type tally struct {
	rsocket.RejectAll
	seen  []atomic.Int32
	total atomic.Int64
	all   chan struct{} // closed when total reaches len(seen)
	once  sync.Once
	rrs   atomic.Int64
}

func newTally(n int) *tally { return &tally{seen: make([]atomic.Int32, n), all: make(chan struct{})} }

func (h *tally) FireAndForget(_ context.Context, p rsocket.Payload) {
	h.seen[binary.BigEndian.Uint32(p.Data)].Add(1)
	if h.total.Add(1) == int64(len(h.seen)) {
		h.once.Do(func() { close(h.all) })
	}
}

func (h *tally) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	h.rrs.Add(1)
	return p.Clone(), nil
}

func index(i int) rsocket.Payload {
	return rsocket.Payload{Data: binary.BigEndian.AppendUint32(nil, uint32(i))}
}

// responder is a Listener serving h on topic, stopped by the test.
func responder(t *testing.T, f *fakeKafka, topic string, cfg Config, h rsocket.Handler) *Listener {
	t.Helper()
	l, err := Listen(context.Background(), f.brokers, topic, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go l.Serve(context.Background(), rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return h, nil
	}})
	return l
}

// requester dials topic and runs a client over it with a keepalive that
// tolerates a responder outage of up to a minute.
func requester(t *testing.T, f *fakeKafka, topic string) *rsocket.Conn {
	t.Helper()
	tr, err := Dial(context.Background(), f.brokers, topic, f.config())
	if err != nil {
		t.Fatal(err)
	}
	c, err := rsocket.Client(context.Background(), tr, rsocket.ClientConfig{
		KeepaliveInterval: time.Second,
		MaxLifetime:       time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestResponderRestart is the test: the responder stops for 5 s
// while the requester sends 10,000 fire-and-forgets and 100
// request-responses; once a new responder starts, each fire-and-forget is
// delivered exactly once and each request-response answered.
func TestResponderRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const fnfs, rrs = 10000, 100
		f := newFake(t)
		ctx := context.Background()
		h := newTally(fnfs)
		l := responder(t, f, "orders", f.config(), h)
		c := requester(t, f, "orders")
		if _, err := c.RequestResponse(ctx, index(0)); err != nil {
			t.Fatal(err)
		}
		if err := l.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}

		answers := make(chan error, rrs)
		for i := range rrs {
			go func() {
				p, err := c.RequestResponse(ctx, index(i))
				if err == nil && binary.BigEndian.Uint32(p.Data) != uint32(i) {
					err = errors.New("wrong answer")
				}
				answers <- err
			}()
		}
		for i := range fnfs {
			if err := c.FireAndForget(ctx, index(i)); err != nil {
				t.Fatal(err)
			}
		}
		advance(5 * time.Second)
		if n, m := h.total.Load(), h.rrs.Load(); n != 0 || m != 1 {
			t.Fatalf("while no responder ran: %d fire-and-forgets and %d request-responses handled, want 0 and 1", n, m)
		}
		if err := c.Err(); err != nil {
			t.Fatalf("requester's connection ended during the outage: %v", err)
		}

		l = responder(t, f, "orders", f.config(), h)
		defer l.Close()
		for range rrs {
			if err := <-answers; err != nil {
				t.Fatal(err)
			}
		}
		<-h.all
		advance(2 * time.Second) // room for any duplicate
		for i := range h.seen {
			if n := h.seen[i].Load(); n != 1 {
				t.Fatalf("fire-and-forget %d delivered %d times", i, n)
			}
		}
		t.Logf("fnf %d rr %d at %v", h.total.Load(), h.rrs.Load(), time.Now())
		if n := h.rrs.Load(); n != rrs+1 {
			t.Errorf("%d request-responses handled, want %d", n, rrs+1)
		}
	})
}

// stuck is a handler whose request-responses never finish (until their
// connection ends) and which counts fire-and-forgets.
type stuck struct {
	*tally
	entered chan struct{}
}

func (h stuck) RequestResponse(ctx context.Context, _ rsocket.Payload) (rsocket.Payload, error) {
	h.entered <- struct{}{}
	<-ctx.Done()
	return rsocket.Payload{}, ctx.Err()
}

// TestUnansweredRequestsMoveOn: a responder that closes while it has
// request-responses unanswered, between fire-and-forgets it handled, leaves
// those requests (and only those) to the next responder, which answers
// them; no fire-and-forget is delivered twice.
func TestUnansweredRequestsMoveOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const fnfs, rrs = 300, 3
		f := newFake(t)
		ctx := context.Background()
		first := stuck{newTally(fnfs), make(chan struct{}, rrs)}
		l := responder(t, f, "orders", f.config(), first)
		c := requester(t, f, "orders")
		answers := make(chan error, rrs)
		for i := range fnfs {
			if i%100 == 50 {
				go func() {
					p, err := c.RequestResponse(ctx, index(i))
					if err == nil && binary.BigEndian.Uint32(p.Data) != uint32(i) {
						err = errors.New("wrong answer")
					}
					answers <- err
				}()
				<-first.entered
			}
			if err := c.FireAndForget(ctx, index(i)); err != nil {
				t.Fatal(err)
			}
		}
		<-first.all
		synctest.Wait()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-answers:
			t.Fatalf("a request-response ended when its responder closed: %v", err)
		default:
		}

		next := newTally(fnfs)
		l = responder(t, f, "orders", f.config(), next)
		defer l.Close()
		for range rrs {
			if err := <-answers; err != nil {
				t.Fatal(err)
			}
		}
		advance(2 * time.Second)
		if n := next.total.Load(); n != 0 {
			t.Errorf("the next responder got %d fire-and-forgets again", n)
		}
		for i := range first.seen {
			if n := first.seen[i].Load(); n != 1 {
				t.Fatalf("fire-and-forget %d delivered %d times", i, n)
			}
		}
		if n := next.rrs.Load(); n != rrs {
			t.Errorf("the next responder handled %d request-responses, want the %d left", n, rrs)
		}
	})
}

// crash stops l as a dying process would: it reads and hands over
// nothing more, and neither checkpoints nor commits (the group is left,
// as a dead member's session would time out).
func crash(l *Listener) {
	l.closing.Store(true)
	l.once.Do(func() {
		close(l.done)
		l.pollStop()
		l.loops.Wait()
		var ps []int32
		l.mu.Lock()
		for id := range l.parts {
			ps = append(ps, id)
		}
		l.mu.Unlock()
		l.stopPartitions(context.Background(), ps, false, false)
		l.cl.Close()
	})
}

// streamer streams one payload per request, then waits for its
// connection to end; its request-responses never finish either.
type streamer struct {
	stuck
	streaming chan struct{}
}

func (h streamer) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	if err := w.Send(ctx, p); err != nil {
		return err
	}
	h.streaming <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestResponderCrash: a responder that dies leaves what it did since its
// last checkpoint to be done again: the fire-and-forgets of that window
// are delivered a second time, those before it not; an unanswered
// request-response is answered by the next responder; a stream under way
// at the checkpoint ends with ERROR[CANCELED].
func TestResponderCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const fnfs = 200
		f := newFake(t)
		ctx := context.Background()
		cfg := f.config()
		cfg.CheckpointInterval = time.Second
		first := streamer{stuck{newTally(fnfs), make(chan struct{}, 1)}, make(chan struct{}, 1)}
		l := responder(t, f, "orders", cfg, first)
		c := requester(t, f, "orders")
		st, err := c.RequestStream(ctx, index(7))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := st.Recv(); err != nil || binary.BigEndian.Uint32(p.Data) != 7 {
			t.Fatalf("stream: %v, %v", p.Data, err)
		}
		<-first.streaming
		for i := range fnfs / 2 {
			if err := c.FireAndForget(ctx, index(i)); err != nil {
				t.Fatal(err)
			}
		}
		advance(1500 * time.Millisecond) // a checkpoint
		answer := make(chan error, 1)
		go func() {
			_, err := c.RequestResponse(ctx, index(1))
			answer <- err
		}()
		<-first.entered
		for i := fnfs / 2; i < fnfs; i++ {
			if err := c.FireAndForget(ctx, index(i)); err != nil {
				t.Fatal(err)
			}
		}
		<-first.all
		synctest.Wait()
		crash(l)

		next := newTally(fnfs)
		l = responder(t, f, "orders", cfg, next)
		defer l.Close()
		if err := <-answer; err != nil {
			t.Fatalf("request-response: %v", err)
		}
		_, err = st.Recv()
		if e := new(rsocket.Error); !errors.As(err, &e) || e.Code != rsocket.CodeCanceled || e.Message != "responder restarted" {
			t.Errorf("stream under way at the crash: %v, want ERROR[CANCELED] responder restarted", err)
		}
		advance(2 * time.Second)
		for i := range next.seen {
			want := int32(0)
			if i >= fnfs/2 {
				want = 1
			}
			if n := next.seen[i].Load(); n != want {
				t.Fatalf("fire-and-forget %d delivered %d times by the next responder, want %d", i, n, want)
			}
		}
	})
}

// TestStreamEndsOnStop: a stream under way when its responder stops ends
// with ERROR[CANCELED] at once; the connection goes on with the next
// responder.
func TestStreamEndsOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		first := streamer{stuck{newTally(1), make(chan struct{}, 1)}, make(chan struct{}, 1)}
		l := responder(t, f, "feed", f.config(), first)
		c := requester(t, f, "feed")
		st, err := c.RequestStream(ctx, index(3))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
		<-first.streaming
		if err := l.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = st.Recv()
		if e := new(rsocket.Error); !errors.As(err, &e) || e.Code != rsocket.CodeCanceled || e.Message != "responder stopped" {
			t.Fatalf("stream: %v, want ERROR[CANCELED] responder stopped", err)
		}
		l = responder(t, f, "feed", f.config(), newTally(1))
		defer l.Close()
		if _, err := c.RequestResponse(ctx, index(0)); err != nil {
			t.Fatalf("request-response after the restart: %v", err)
		}
	})
}

// counting is a handler that counts the request-responses it answers.
type counting struct {
	rsocket.RejectAll
	n atomic.Int64
}

func (h *counting) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	h.n.Add(1)
	return p.Clone(), nil
}

// TestScaleOut: responders of one group share the request topic's
// partitions; as one joins and another leaves, the connections of the
// partitions that move continue with the new owner, and every request is
// answered.
func TestScaleOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const conns, rounds = 6, 3
		f := newFake(t)
		ctx := context.Background()
		cfg := f.config()
		cfg.Partitions = 2
		a, b := new(counting), new(counting)
		la := responder(t, f, "work", cfg, a)
		cs := make([]*rsocket.Conn, conns)
		for i := range cs {
			cs[i] = requester(t, f, "work")
		}
		ask := func(round int) {
			t.Helper()
			errs := make(chan error, conns)
			for i, c := range cs {
				go func() {
					p, err := c.RequestResponse(ctx, index(round*100+i))
					if err == nil && binary.BigEndian.Uint32(p.Data) != uint32(round*100+i) {
						err = errors.New("wrong answer")
					}
					errs <- err
				}()
			}
			for range cs {
				if err := <-errs; err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		ask(0)
		lb := responder(t, f, "work", cfg, b)
		defer lb.Close()
		for r := 1; r <= rounds; r++ {
			ask(r)
			advance(time.Second)
		}
		if err := la.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		before := b.n.Load()
		ask(rounds + 1)
		if got := b.n.Load() - before; got != conns {
			t.Errorf("after the first responder left, the second answered %d of %d requests", got, conns)
		}
		if total := a.n.Load() + b.n.Load(); total != conns*(rounds+2) {
			t.Errorf("%d requests answered in all, want %d", total, conns*(rounds+2))
		}
	})
}

// TestSetupRestored: the responder that takes a connection over gives its
// engine the connection's SETUP, as the requester sent it, large payload
// included.
func TestSetupRestored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		setups := make(chan rsocket.SetupInfo, 2)
		serve := func() *Listener {
			l, err := Listen(ctx, f.brokers, "rpc", f.config())
			if err != nil {
				t.Fatal(err)
			}
			go l.Serve(ctx, rsocket.ServerConfig{Acceptor: func(_ context.Context, s rsocket.SetupInfo, _ *rsocket.Conn) (rsocket.Handler, error) {
				s.Payload = s.Payload.Clone()
				setups <- s
				return echo{}, nil
			}})
			return l
		}
		l := serve()
		tr, err := Dial(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		big := make([]byte, 400<<10)
		for i := range big {
			big[i] = byte(i)
		}
		c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{
			DataMIME: "application/x-test", MaxLifetime: time.Minute,
			SetupPayload: rsocket.Payload{Data: big, Metadata: []byte("md")},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		first := <-setups
		if err := l.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		l = serve()
		defer l.Close()
		if _, err := c.RequestResponse(ctx, index(1)); err != nil {
			t.Fatal(err)
		}
		again := <-setups
		if again.DataMIME != "application/x-test" || string(again.Payload.Data) != string(big) ||
			string(again.Payload.Metadata) != "md" || again.MaxLifetime != first.MaxLifetime {
			t.Errorf("restored SETUP: %s, %d bytes, metadata %q, lifetime %v; want %s, %d bytes, md, %v",
				again.DataMIME, len(again.Payload.Data), again.Payload.Metadata, again.MaxLifetime,
				first.DataMIME, len(big), first.MaxLifetime)
		}
	})
}

// TestShutdownDeadline: a Shutdown whose context ends while a
// request-response is still unanswered hands the connection over all the
// same: the next responder answers that request and delivers none of the
// fire-and-forgets again.
func TestShutdownDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const fnfs = 50
		f := newFake(t)
		ctx := context.Background()
		first := stuck{newTally(fnfs), make(chan struct{}, 1)}
		l := responder(t, f, "orders", f.config(), first)
		c := requester(t, f, "orders")
		answer := make(chan error, 1)
		go func() {
			_, err := c.RequestResponse(ctx, index(1))
			answer <- err
		}()
		<-first.entered
		for i := range fnfs {
			if err := c.FireAndForget(ctx, index(i)); err != nil {
				t.Fatal(err)
			}
		}
		<-first.all
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := l.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		next := newTally(fnfs)
		l = responder(t, f, "orders", f.config(), next)
		defer l.Close()
		if err := <-answer; err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Second)
		if n := next.total.Load(); n != 0 {
			t.Errorf("the next responder got %d fire-and-forgets again", n)
		}
	})
}
