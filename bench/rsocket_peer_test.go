package bench

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// echoHandler is the responder of every RSocket benchmark peer: it answers
// request-response inline (on the receive goroutine, without a goroutine or
// an allocation per request), streams "count:N" payloads of the request's
// size (N = 0: until cancelled), and counts fire-and-forget requests.
type echoHandler struct {
	rsocket.RejectAll
	fnf atomic.Uint64
}

func (h *echoHandler) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	compute(p.Data)
	return p.Clone(), nil
}

func (h *echoHandler) RequestResponseInline(p rsocket.Payload, r rsocket.Responder) {
	compute(p.Data)
	_ = r.Respond(p)
}

// compute busy-waits for the microseconds that a request "work:N" names
// before it is answered: a handler that computes. Other requests pass.
func compute(p []byte) {
	n, ok := bytes.CutPrefix(p, []byte("work:"))
	if !ok {
		return
	}
	us, _ := strconv.Atoi(string(n))
	for end := time.Now().Add(time.Duration(us) * time.Microsecond); time.Now().Before(end); {
	}
}

func (h *echoHandler) FireAndForget(context.Context, rsocket.Payload) { h.fnf.Add(1) }

// RequestStream answers "count:N size:S" with N payloads of S bytes (N 0:
// until cancelled); with "loan:1" each payload is copied into a loan
// (StreamWriter.Loan) instead of sent from the handler's buffer; with
// "batch:B" the payloads go B at a time through StreamWriter.SendBatch.
func (h *echoHandler) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	count, size, loan, batch := 0, 64, false, 0
	for _, f := range strings.Fields(string(p.Data)) {
		k, v, _ := strings.Cut(f, ":")
		n, _ := strconv.Atoi(v)
		switch k {
		case "count":
			count = n
		case "size":
			size = n
		case "loan":
			loan = n != 0
		case "batch":
			batch = n
		}
	}
	out := rsocket.Payload{Data: make([]byte, size)}
	if batch > 0 {
		ps := make([]rsocket.Payload, batch)
		for i := range ps {
			ps[i] = out
		}
		for i := 0; count <= 0 || i < count; i += batch {
			if count > 0 {
				ps = ps[:min(batch, count-i)]
			}
			if _, err := w.SendBatch(ctx, ps); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; count <= 0 || i < count; i++ {
		if !loan {
			if err := w.Send(ctx, out); err != nil {
				return err
			}
			continue
		}
		l, err := w.Loan(ctx, size)
		if err != nil {
			return err
		}
		copy(l.Data, out.Data)
		if err := l.Send(); err != nil {
			return err
		}
	}
	return nil
}

func init() {
	childRoles["rsocket-tcp"] = childRSocketTCP
}

func serverConfig(h rsocket.Handler) rsocket.ServerConfig {
	return rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
	}
}

// childRSocketTCP serves RSocket over TCP on a loopback port.
func childRSocketTCP(m *mapping) error {
	ln, err := rsocket.ListenTCP("127.0.0.1:0", serverConfig(&echoHandler{}))
	if err != nil {
		return err
	}
	return serveUntilStopped(m, ln.Addr().String(), ln.Serve)
}

// serveUntilStopped publishes addr's port, runs serve until the parent sets
// stop, then cancels it.
func serveUntilStopped(m *mapping, addr string, serve func(context.Context) error) error {
	_, port, _ := strings.Cut(addr[strings.LastIndexByte(addr, ':'):], ":")
	p, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !stopped(m) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	atomic.StoreUint64(m.word(offPort), uint64(p))
	if err := serve(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// benchRR measures request-response round trips of size bytes, each answer
// copied into the same buffer (RequestResponseInto), as a requester that
// cares about latency does: a fresh allocation per answer slows the 14 KiB
// round trip (RSocket/shm-rr-14KiB against RSocket/ring-pingpong-14KiB).
func benchRR(b *testing.B, conn *rsocket.Conn, size int) {
	ctx := context.Background()
	p := rsocket.Payload{Data: make([]byte, size)}
	buf := make([]byte, size)
	b.ReportAllocs()
	latency(b, func() {
		r, err := conn.RequestResponseInto(ctx, p, buf)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Data) != size {
			b.Fatalf("response of %d bytes, want %d", len(r.Data), size)
		}
	})
}

// benchRRConcurrent runs request-response from n goroutines on one
// connection, each with its own answer buffer, and reports requests per
// second.
func benchRRConcurrent(b *testing.B, conn *rsocket.Conn, size, n int) {
	ctx := context.Background()
	runRequesters(b, n, func(pb *testing.PB) {
		p := rsocket.Payload{Data: make([]byte, size)}
		buf := make([]byte, size)
		for pb.Next() {
			if _, err := conn.RequestResponseInto(ctx, p, buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// runRequesters runs body in n goroutines (b.RunParallel, n per P) and
// reports requests per second, one request per iteration of pb.
func runRequesters(b *testing.B, n int, body func(pb *testing.PB)) {
	b.SetParallelism((n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	start := time.Now()
	b.RunParallel(body)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// benchGoroutineFloor is the floor of benchRRConcurrent on this CPU: n
// goroutines each send a request and block until it is answered, as there,
// but a request is a channel appended to a slice under a mutex and the
// answer is a send on that channel from one answering goroutine, which
// answers everything queued and yields. No frame, ring or peer: what is
// left is the cost of a goroutine per blocking request on one P (a park, a
// ready and a switch each), which no transport can take away. The
// connection's own goroutines are not here, so the floor is if anything
// low.
func benchGoroutineFloor(b *testing.B, n int) {
	pin(b)
	var (
		mu      sync.Mutex
		pending []chan struct{}
		stop    atomic.Bool
		exited  = make(chan struct{})
	)
	go func() {
		defer close(exited)
		var batch []chan struct{}
		for !stop.Load() {
			mu.Lock()
			batch, pending = pending, batch[:0]
			mu.Unlock()
			for _, ch := range batch {
				ch <- struct{}{}
			}
			runtime.Gosched()
		}
	}()
	runRequesters(b, n, func(pb *testing.PB) {
		ch := make(chan struct{})
		for pb.Next() {
			mu.Lock()
			pending = append(pending, ch)
			mu.Unlock()
			<-ch
		}
	})
	stop.Store(true)
	<-exited
}

// benchRRAsync keeps n requests in flight on one connection with the
// asynchronous API (a callback per answer, no goroutine per request) and
// reports requests per second.
func benchRRAsync(b *testing.B, conn *rsocket.Conn, size, n int) {
	p := rsocket.Payload{Data: make([]byte, size)}
	sem := make(semHandler, n)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		sem <- struct{}{}
		if err := conn.RequestResponseAsync(p, sem); err != nil {
			b.Fatal(err)
		}
	}
	for range n {
		sem <- struct{}{}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// semHandler frees a slot of benchRRAsync's window for each answer.
type semHandler chan struct{}

func (s semHandler) OnResponse(_ rsocket.Payload, err error) {
	if err != nil {
		panic(err)
	}
	<-s
}

// benchStreamRecv receives an unbounded request-stream of size-byte
// payloads and reports payloads per second.
func benchStreamRecv(b *testing.B, conn *rsocket.Conn, size int) {
	benchStreamRecvReq(b, conn, size, "")
}

// benchStreamRecvReq is benchStreamRecv with extra appended to the request
// (" loan:1": the server sends from loans).
func benchStreamRecvReq(b *testing.B, conn *rsocket.Conn, size int, extra string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := conn.RequestStream(ctx, rsocket.Payload{Data: []byte("count:0 size:" + strconv.Itoa(size) + extra)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	n := 0
	for b.Loop() {
		p, err := s.Recv()
		if err != nil {
			b.Fatal(err)
		}
		n += len(p.Data)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "msgs/s")
	b.ReportMetric(float64(n)/el/1e9, "GB/s")
}

// benchFNF (used by BenchmarkRSocket) sends fire-and-forget requests as fast as the connection takes
// them and reports requests per second.
func benchFNF(b *testing.B, conn *rsocket.Conn, size int) {
	ctx := context.Background()
	p := rsocket.Payload{Data: make([]byte, size)}
	start := time.Now()
	for b.Loop() {
		if err := conn.FireAndForget(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// benchFNFBatch is benchFNF sending batch requests per
// Conn.FireAndForgetBatch.
func benchFNFBatch(b *testing.B, conn *rsocket.Conn, size, batch int) {
	ctx := context.Background()
	ps := make([]rsocket.Payload, batch)
	for i := range ps {
		ps[i] = rsocket.Payload{Data: make([]byte, size)}
	}
	start := time.Now()
	n := 0
	for n < b.N {
		k, err := conn.FireAndForgetBatch(ctx, ps[:min(batch, b.N-n)])
		if err != nil {
			b.Fatal(err)
		}
		n += k
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func (h *echoHandler) FireAndForgetInline(rsocket.Payload) { h.fnf.Add(1) }
