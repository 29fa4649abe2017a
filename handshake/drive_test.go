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
// turn). The channels run until they have made 256000 round trips in all
// (fewer under the race detector, within the test's context): their
// counts then spread by less than the factor asked for.
func TestConcurrentChannelsShareTheDriver(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := dialFastServer(t)
	ctx := ctxT(t)
	const n = 8
	chans := make([]*rsocket.Channel, n)
	for i := range chans {
		ch, err := c.RequestChannel(ctx, rsocket.Payload{Data: []byte("ping")})
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		chans[i] = ch
	}
	total := int64(256000)
	if raceEnabled {
		total = 64000
	}
	shareEvenly(t, "round trips", n, total, 2, func(i int) error {
		if _, err := chans[i].Recv(); err != nil {
			return err
		}
		return chans[i].Send(ctx, rsocket.Payload{Data: []byte("ping")})
	})
}

// shareEvenly runs n goroutines that call op(i) until they have made total
// calls in all, counted from the time every goroutine has made its first
// (which goroutine starts first, and alone, is the scheduler's choice),
// and fails unless the busiest made at most within times as many as the
// least busy.
func shareEvenly(t *testing.T, what string, n int, total int64, within float64, op func(i int) error) {
	t.Helper()
	counts := make([]int, n)
	var started, done atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			first := true
			for done.Load() < total {
				if err := op(i); err != nil {
					t.Error(err)
					return
				}
				if first {
					first = false
					started.Add(1)
				}
				if started.Load() == int64(n) {
					counts[i]++
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%s per goroutine: %v", what, counts)
	if low, high := slices.Min(counts), slices.Max(counts); float64(high) > within*float64(low) {
		t.Fatalf("one goroutine made %d %s and another %d; want them within a factor of %v: %v", high, what, low, within, counts)
	}
}

// TestConcurrentSendersShareTheClaim: goroutines that send batches of
// fire-and-forget requests on one connection and one P all get the claim
// on the outgoing ring in turn, at a finer grain than the scheduler's
// 10 ms slice. A sender that releases the claim and takes it again at
// once, before the waiter it woke has run, would keep it until the runtime
// preempted it while it held the claim, and the others would wait for
// seconds; a sender that never yields the P (a ring with room never
// blocks) would send for a whole slice before the others asked for the
// claim. Batches of 64 go out under one hold of the claim, batches of one
// a request at a time (as requests larger than a frame do); the senders
// run until a few ms of batches are sent in all.
func TestConcurrentSendersShareTheClaim(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := dialFastServer(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		name  string
		size  int   // requests a batch
		total int64 // batches in all
	}{{"held", 64, 1600}, {"single", 1, 40000}} {
		t.Run(tc.name, func(t *testing.T) {
			batch := make([]rsocket.Payload, tc.size)
			for i := range batch {
				batch[i].Data = make([]byte, 64)
			}
			shareEvenly(t, "batches", 8, tc.total, 1.5, func(int) error {
				_, err := c.FireAndForgetBatch(ctx, batch)
				return err
			})
		})
	}
}

// TestConcurrentLargeRequests: 64 goroutines on one P each send 1 MiB
// requests (16 fragments at the default MTU) over shared memory at once,
// and every one is answered. The fragments of a message go out under one
// hold of the claim; interleaved with the 63 others' (each sender giving
// the claim up to the next at every fragment), the server would hold 64
// partial messages at once and refuse fragments past its
// MaxReassemblyBytes (32 MiB).
func TestConcurrentLargeRequests(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := dialFastServer(t)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			p := rsocket.Payload{Data: make([]byte, 1<<20)}
			for k := range 4 {
				r, err := c.RequestResponse(ctx, p)
				if err != nil {
					t.Errorf("requester %d, request %d: %v", i, k, err)
					return
				}
				if len(r.Data) != len(p.Data) {
					t.Errorf("requester %d, request %d: answer of %d bytes", i, k, len(r.Data))
					return
				}
			}
		})
	}
	wg.Wait()
}
