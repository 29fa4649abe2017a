package handshake

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/rsocket"
)

// TestConcurrentRequestersShareTheDriver: blocking request-responses from
// several goroutines on one P, against a server in another process that
// answers within a microsecond, all make progress at about the same rate.
// The requester that drives the receive side wakes the others with their
// answers; if it went on to its next request without letting them run, it
// would ping-pong alone and the others would wait for the runtime to
// preempt it (10 ms a turn).
func TestConcurrentRequestersShareTheDriver(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := dialFastServer(t)
	counts := requestFor(t, c, 8, 300*time.Millisecond)

	t.Logf("requests per requester in 300 ms: %v", counts)
	if low, high := slices.Min(counts), slices.Max(counts); high > 2*low {
		t.Fatalf("one requester made %d requests and another %d; want them within a factor of 2: %v",
			high, low, counts)
	}
}

// dialFastServer starts a child "fastserver" and returns a client
// connection to it whose requesters drive the receive side (WaitSpin).
func dialFastServer(t *testing.T) *rsocket.Conn {
	dir := t.TempDir()
	addr := testchild.Start(t, "fastserver", dir).Line(t, "addr ")
	ctx := ctxT(t)
	tr, _, err := Dial(ctx, addr, Config{Mode: SHMOnly, SHM: shmConfig(dir), Wait: WaitSpin})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rsocket.Client(ctx, tr, rsocket.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// requestFor runs n goroutines that make blocking request-responses on c
// for d, and returns how many each made.
func requestFor(t *testing.T, c *rsocket.Conn, n int, d time.Duration) []int {
	counts := make([]int, n)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := rsocket.Payload{Data: []byte("ping")}
			for !stop.Load() {
				if _, err := c.RequestResponse(context.Background(), p); err != nil {
					t.Error(err)
					return
				}
				counts[i]++
			}
		})
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	return counts
}

// inlineEchoServer answers request-response inline, on the receive side's
// goroutine, so the server answers as fast as it reads.
func inlineEchoServer() rsocket.ServerConfig {
	return rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return inlineEcho{}, nil
	}}
}

type inlineEcho struct{ rsocket.RejectAll }

func (inlineEcho) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) { _ = r.Respond(p) }

// RequestChannel echoes every payload of the channel.
func (inlineEcho) RequestChannel(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
	for {
		if err := ch.Send(ctx, p); err != nil {
			return err
		}
		var err error
		if p, err = ch.Recv(); err != nil {
			return nil
		}
	}
}

// TestConcurrentChannelsShareTheDriver: goroutines that each ping-pong on
// a channel of their own, on one P, against a server in another process
// that echoes at once, all make progress at about the same rate. A reader
// that drives the receive side delivers the others' payloads and wakes
// their readers; if it went on with its own channel without letting them
// run, it would ping-pong alone until the runtime preempted it (10 ms a
// turn). The channels run until they have made 64000 round trips in all.
func TestConcurrentChannelsShareTheDriver(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := dialFastServer(t)
	const n, total = 8, 64000
	counts := make([]int, n)
	var done atomic.Int64
	var wg sync.WaitGroup
	ctx := ctxT(t)
	for i := range n {
		ch, err := c.RequestChannel(ctx, rsocket.Payload{Data: []byte("ping")})
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		wg.Go(func() {
			for done.Load() < total {
				if _, err := ch.Recv(); err != nil {
					t.Error(err)
					return
				}
				if err := ch.Send(ctx, rsocket.Payload{Data: []byte("ping")}); err != nil {
					t.Error(err)
					return
				}
				counts[i]++
				done.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("round trips per channel: %v", counts)
	if low, high := slices.Min(counts), slices.Max(counts); high > 2*low {
		t.Fatalf("one channel made %d round trips and another %d; want them within a factor of 2: %v",
			high, low, counts)
	}
}
