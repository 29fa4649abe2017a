package rsocket_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/internal/wire"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// endings serves a stream of one payload, or fails one whose data is
// "fail"; its channels echo.
type endings struct{ rsockettest.Echo }

func (endings) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	if string(p.Data) == "fail" {
		return errors.New("failed")
	}
	return w.Send(ctx, rsocket.Payload{Data: []byte("x")})
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFinishedStreamsLeaveContext: 20,000 request-streams and channels
// under one long-lived ctx, ended every way a stream ends (completed and
// read to the end, failed by the responder, closed after or before their
// end), leave nothing registered on the ctx: the heap is back where it
// started.
func TestFinishedStreamsLeaveContext(t *testing.T) {
	p := pipePair(t, &endings{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := func(i int) {
		data := []byte("ok")
		if i%4 == 1 {
			data = []byte("fail")
		}
		s, err := p.Client.RequestStream(ctx, rsocket.Payload{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0, 1: // to its end: completion, or the responder's error
			for _, err := range s.All() {
				if err != nil && i%4 == 0 {
					t.Fatal(err)
				}
			}
		case 2: // closed after its end
			for range s.All() {
			}
			s.Close()
		case 3: // closed before its end
			s.Close()
		}
	}
	channel := func(i int) {
		ch, err := p.Client.RequestChannel(ctx, rsocket.Payload{Data: []byte("ch")})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			ch.Close()
			return
		}
		if err := ch.CloseSend(); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := ch.Recv(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(n int) {
		for i := range n {
			stream(i)
			channel(i)
		}
	}
	run(200) // pools and tables at their steady size
	before := heapAlloc()
	run(10000)
	after := heapAlloc()
	t.Logf("heap %d -> %d bytes", before, after)
	if after > before+1<<20 {
		t.Errorf("heap grew by %d bytes over 20,000 finished streams and channels; want at most 1 MiB", after-before)
	}
}

// failingTransport is a transport whose Claim or Commit fails.
type failingTransport struct {
	claimErr, commitErr error
	buf                 []byte
}

func (f *failingTransport) MaxFrameSize() int { return rsocket.MaxFrameLength }
func (f *failingTransport) Claim(_ context.Context, n int) ([]byte, error) {
	if f.claimErr != nil {
		return nil, f.claimErr
	}
	f.buf = make([]byte, n)
	return f.buf, nil
}
func (f *failingTransport) Commit(int) error                       { return f.commitErr }
func (f *failingTransport) Abort()                                 {}
func (f *failingTransport) Receive(func(frame []byte) error) error { return io.EOF }
func (f *failingTransport) Close() error                           { return nil }

// rsocketGoroutines counts the goroutines running code of package rsocket.
func rsocketGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("rshm/rsocket.")) {
			n++
		}
	}
	return n
}

// TestConstructorFailureLeavesNoGoroutine: every way Client and Server
// can fail leaves no goroutine of the connection behind.
func TestConstructorFailureLeavesNoGoroutine(t *testing.T) {
	redial := func(context.Context) (rsocket.Transport, error) { return nil, errors.New("no redial") }
	resume := func() *rsocket.ResumeConfig { return &rsocket.ResumeConfig{Redial: redial} }
	long := strings.Repeat("m", 256)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	reject := func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return nil, errors.New("not you")
	}
	clients := []struct {
		name string
		ctx  context.Context
		t    func() rsocket.Transport
		cfg  rsocket.ClientConfig
	}{
		{"resume without redial", context.Background(), pipeClient, rsocket.ClientConfig{Resume: &rsocket.ResumeConfig{}}},
		{"resume token too long", context.Background(), pipeClient, rsocket.ClientConfig{Resume: &rsocket.ResumeConfig{Redial: redial, Token: make([]byte, 1<<16)}}},
		{"MIME too long", context.Background(), pipeClient, rsocket.ClientConfig{DataMIME: long}},
		{"resume, MIME too long", context.Background(), pipeClient, rsocket.ClientConfig{DataMIME: long, Resume: resume()}},
		{"lease and resume, MIME too long", context.Background(), pipeClient, rsocket.ClientConfig{MetadataMIME: long, Resume: resume(), Lease: &rsocket.LeaseConfig{}}},
		{"claim fails", context.Background(), func() rsocket.Transport { return &failingTransport{claimErr: io.ErrClosedPipe} }, rsocket.ClientConfig{}},
		{"resume, claim fails", cancelled, func() rsocket.Transport { return &failingTransport{claimErr: context.Canceled} }, rsocket.ClientConfig{Resume: resume()}},
		{"commit fails", context.Background(), func() rsocket.Transport { return &failingTransport{commitErr: io.ErrClosedPipe} }, rsocket.ClientConfig{}},
	}
	before := rsocketGoroutines()
	for _, tc := range clients {
		c, err := rsocket.Client(tc.ctx, tc.t(), tc.cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s: Client succeeded", tc.name)
		}
	}
	servers := []struct {
		name string
		ctx  context.Context
		cfg  rsocket.ServerConfig
		peer func(rsocket.Transport)
	}{
		{"setup rejected", context.Background(), rsocket.ServerConfig{Acceptor: reject}, func(ct rsocket.Transport) {
			rsocket.Client(context.Background(), ct, rsocket.ClientConfig{})
		}},
		{"resume refused", context.Background(), rsocket.ServerConfig{}, func(ct rsocket.Transport) {
			rsocket.Client(context.Background(), ct, rsocket.ClientConfig{Resume: resume()})
		}},
		{"first frame not SETUP", context.Background(), rsocket.ServerConfig{}, func(ct rsocket.Transport) {
			newRaw(t, ct).send(wire.AppendRequestN(nil, 1, 1))
		}},
		{"peer closes", context.Background(), rsocket.ServerConfig{}, func(ct rsocket.Transport) { ct.Close() }},
		{"ctx ends", cancelled, rsocket.ServerConfig{}, func(rsocket.Transport) {}},
	}
	for _, tc := range servers {
		ct, st := rsocket.Pipe(rsocket.PipeConfig{})
		go tc.peer(ct)
		c, err := rsocket.Server(tc.ctx, st, tc.cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s: Server succeeded", tc.name)
		}
		ct.Close()
	}
	if _, err := rsocket.DialTCP(context.Background(), closedAddr(t), rsocket.ClientConfig{}); err == nil {
		t.Error("DialTCP to a closed port succeeded")
	}
	defer func() {
		if t.Failed() {
			buf := make([]byte, 1<<20)
			t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
	}()
	rsockettest.Eventually(t, 3*time.Second, "the failed connections' goroutines to end", func() bool {
		return rsocketGoroutines() <= before
	})
}

func pipeClient() rsocket.Transport {
	ct, st := rsocket.Pipe(rsocket.PipeConfig{})
	st.Close()
	return ct
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
