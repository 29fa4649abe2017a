package rsocket_test

import (
	"net"
	"testing"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

func pipeDial(t testing.TB) (rsocket.Transport, rsocket.Transport) {
	a, b := rsocket.Pipe(rsocket.PipeConfig{})
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func tcpDial(t testing.TB) (rsocket.Transport, rsocket.Transport) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		ch <- c
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-ch
	if sc == nil {
		t.Fatal("accept failed")
	}
	a, b := rsocket.NewTCPTransport(cc), rsocket.NewTCPTransport(sc)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// The pipe runs the table on synctest's fake clock; TCP in real time.
func TestConformancePipe(t *testing.T) { rsockettest.RunConformanceSynctest(t, pipeDial) }
func TestConformanceTCP(t *testing.T)  { rsockettest.RunConformance(t, tcpDial) }
