package kafkatransport

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// accepted serves echo on l and returns each server connection it makes.
func accepted(t *testing.T, l *Listener) <-chan *rsocket.Conn {
	conns := make(chan *rsocket.Conn, 8)
	go l.Serve(context.Background(), rsocket.ServerConfig{Acceptor: func(_ context.Context, _ rsocket.SetupInfo, c *rsocket.Conn) (rsocket.Handler, error) {
		conns <- c
		return echo{}, nil
	}})
	return conns
}

// TestRequesterCloses: the requester's Close reaches the responder, whose
// connection ends as with a socket at EOF; the requester's own reply topic
// is deleted, and the connection's checkpoint with it, so a new responder
// does not bring it back.
func TestRequesterCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		l, err := Listen(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		conns := accepted(t, l)
		tr, err := Dial(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		reply := tr.(*clientTransport).reply
		c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Second) // checkpointed
		sc := <-conns
		c.Close()
		<-sc.Done()
		if err := sc.Err(); !rsocket.IsPeerGone(err) {
			t.Errorf("responder's connection ended with %v, want the peer gone", err)
		}
		if f.c.TopicInfo(reply) != nil {
			t.Errorf("reply topic %s left behind", reply)
		}
		synctest.Wait()
		l.Close()

		l, err = Listen(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		advance(5 * time.Second)
		actx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if st, err := l.Accept(actx); err == nil {
			t.Errorf("a closed connection was restored: %v", st)
		}
	})
}

// TestResponderCloses: the responder's application closing the connection
// ends the requester's, as a socket at EOF would.
func TestResponderCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		l, err := Listen(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		conns := accepted(t, l)
		c := requester(t, f, "rpc")
		(<-conns).Close()
		<-c.Done()
		if err := c.Err(); !rsocket.IsPeerGone(err) {
			t.Errorf("requester's connection ended with %v, want the peer gone", err)
		}
	})
}

// TestDialWaitsForResponder: a connect record waits in the log for a
// responder, and Dial for its confirmation; Dial gives up with its ctx.
func TestDialWaitsForResponder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := Dial(dctx, f.brokers, "rpc", f.config()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial with no responder: %v, want the deadline", err)
		}
		done := make(chan error, 1)
		go func() {
			tr, err := Dial(ctx, f.brokers, "rpc", f.config())
			if err == nil {
				var c *rsocket.Conn
				if c, err = rsocket.Client(ctx, tr, rsocket.ClientConfig{}); err == nil {
					_, err = c.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")})
					c.Close()
				}
			}
			done <- err
		}()
		advance(10 * time.Second)
		select {
		case err := <-done:
			t.Fatalf("Dial returned with no responder: %v", err)
		default:
		}
		l, err := Listen(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		accepted(t, l)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The first Dial's connection was announced and given up: the
		// responder met it and let it end, as the second one (its
		// confirmation to the deleted reply topic given up on).
		advance(time.Minute)
		l.mu.Lock()
		n := len(l.sessions)
		l.mu.Unlock()
		if n != 0 {
			t.Errorf("%d sessions left at the responder, want 0", n)
		}
	})
}

// TestMaxRequestAge: a request that waited in the log longer than the
// responder's limit is refused with REJECTED (a fire-and-forget dropped);
// one that did not is answered.
func TestMaxRequestAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		cfg := f.config()
		cfg.MaxRequestAge = 3 * time.Second
		h := newTally(2)
		l := responder(t, f, "rpc", cfg, h)
		c := requester(t, f, "rpc")
		if err := l.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		old := make(chan error, 1)
		go func() {
			_, err := c.RequestResponse(ctx, index(0))
			old <- err
		}()
		if err := c.FireAndForget(ctx, index(0)); err != nil {
			t.Fatal(err)
		}
		advance(4 * time.Second)
		if err := c.FireAndForget(ctx, index(1)); err != nil {
			t.Fatal(err)
		}
		l = responder(t, f, "rpc", cfg, h)
		defer l.Close()
		err := <-old
		if e := new(rsocket.Error); !errors.As(err, &e) || e.Code != rsocket.CodeRejected || !strings.Contains(e.Message, "waited 4s in the log") {
			t.Errorf("old request: %v, want ERROR[REJECTED] waited 4s in the log", err)
		}
		if _, err := c.RequestResponse(ctx, index(1)); err != nil {
			t.Errorf("fresh request: %v", err)
		}
		synctest.Wait()
		if a, b := h.seen[0].Load(), h.seen[1].Load(); a != 0 || b != 1 {
			t.Errorf("fire-and-forgets delivered %d and %d times, want 0 (expired) and 1", a, b)
		}
	})
}

// TestRefusesOtherVersions: a connect record of another protocol version
// is refused, with the reason.
func TestRefusesOtherVersions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		l, err := Listen(ctx, f.brokers, "rpc", f.config())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		cfg := f.config()
		cl, err := newClient(f.brokers, &cfg, kgo.ConsumeTopics("mine"))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := ensureTopic(ctx, kadm.NewClient(cl), "mine", 1, nil); err != nil {
			t.Fatal(err)
		}
		id := []byte("0123456789abcdef0123456789abcdef")
		r := controlRecord("rpc", id, kindConnect, nil, headerVersion, "0", headerReply, "mine")
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		for {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			if fs.NumRecords() == 0 {
				continue
			}
			r := fs.Records()[0]
			if kind(r) != kindRefuse || !strings.Contains(string(r.Value), `unsupported version "0"`) {
				t.Fatalf("answer %q %q, want a refusal", kind(r), r.Value)
			}
			return
		}
	})
}

// TestSharedReplyTopic: requesters that share a reply topic each get their
// own answers.
func TestSharedReplyTopic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t)
		ctx := context.Background()
		l := responder(t, f, "rpc", f.config(), newTally(1))
		defer l.Close()
		cfg := f.config()
		cfg.ReplyTopic = "rpc.replies"
		done := make(chan error, 2)
		for i := range 2 {
			go func() {
				tr, err := Dial(ctx, f.brokers, "rpc", cfg)
				if err != nil {
					done <- err
					return
				}
				c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
				if err != nil {
					done <- err
					return
				}
				defer c.Close()
				for j := range 50 {
					p, err := c.RequestResponse(ctx, index(i*100+j))
					if err != nil {
						done <- err
						return
					}
					if got := index(i*100 + j); string(p.Data) != string(got.Data) {
						done <- errors.New("another requester's answer")
						return
					}
				}
				done <- nil
			}()
		}
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	})
}
