package kafkatransport

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeKafka is a kfake cluster in the test process whose brokers listen on
// in-memory pipes, dialed by the transport's clients through Config
// (kgo.Dialer): no goroutine blocks in a system call, so a test runs in a
// testing/synctest bubble, on its fake clock, the cluster included.
type fakeKafka struct {
	c       *kfake.Cluster
	brokers []string

	mu        sync.Mutex
	listeners map[string]*memListener
}

// newFake starts a cluster of one broker; the test closes it.
func newFake(t testing.TB, opts ...kfake.Opt) *fakeKafka {
	t.Helper()
	f := &fakeKafka{listeners: make(map[string]*memListener)}
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.ListenFn(f.listen)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	f.brokers = c.ListenAddrs()
	t.Cleanup(c.Close)
	return f
}

// config returns a Config whose clients dial the cluster's pipes.
func (f *fakeKafka) config() Config {
	return Config{ClientOpts: []kgo.Opt{kgo.Dialer(f.dial)}}
}

func (f *fakeKafka) listen(_, _ string) (net.Listener, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	addr := "127.0.0.1:" + strconv.Itoa(10000+len(f.listeners))
	l := &memListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
	f.listeners[addr] = l
	return l, nil
}

func (f *fakeKafka) dial(ctx context.Context, _, host string) (net.Conn, error) {
	f.mu.Lock()
	l := f.listeners[host]
	f.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: net.UnknownNetworkError(host)}
	}
	a, b := net.Pipe()
	select {
	case l.conns <- b:
		return a, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// memListener is a net.Listener of net.Pipe connections.
type memListener struct {
	addr  string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return pipeAddr(l.addr) }

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }
