package kafkatransport

import (
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRealCluster runs against the Kafka cluster in $KAFKA_BROKERS
// (comma-separated HOST:PORT; see docs/operations.md, "Kafka") and is
// skipped without it: request-response, stream and fire-and-forget over a
// connection, the responder stopped and a new one started, on topics of
// the test's own that it deletes at the end.
func TestRealCluster(t *testing.T) {
	env := os.Getenv("KAFKA_BROKERS")
	if env == "" {
		t.Skip("KAFKA_BROKERS not set")
	}
	brokers := strings.Split(env, ",")
	topic := "rshm-test-" + hex.EncodeToString(newID()[:8])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cfg Config
	t.Cleanup(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
		if err != nil {
			return
		}
		defer cl.Close()
		_, _ = kadm.NewClient(cl).DeleteTopics(context.Background(), topic, topic+stateSuffix)
	})

	h := newTally(100)
	l, err := Listen(ctx, brokers, topic, cfg)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(l *Listener) {
		go l.Serve(ctx, rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
			return h, nil
		}})
	}
	serve(l)
	tr, err := Dial(ctx, brokers, topic, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{KeepaliveInterval: time.Second, MaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p, err := c.RequestResponse(ctx, index(1)); err != nil || string(p.Data) != string(index(1).Data) {
		t.Fatalf("request-response: %v, %v", p.Data, err)
	}
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	answer := make(chan error, 1)
	go func() {
		_, err := c.RequestResponse(ctx, index(2))
		answer <- err
	}()
	for i := range 100 {
		if err := c.FireAndForget(ctx, index(i)); err != nil {
			t.Fatal(err)
		}
	}
	l, err = Listen(ctx, brokers, topic, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	serve(l)
	if err := <-answer; err != nil {
		t.Fatalf("request-response across the restart: %v", err)
	}
	select {
	case <-h.all:
	case <-ctx.Done():
		t.Fatalf("%d of 100 fire-and-forgets delivered", h.total.Load())
	}
	for i := range h.seen {
		if n := h.seen[i].Load(); n != 1 {
			t.Errorf("fire-and-forget %d delivered %d times", i, n)
		}
	}
}
