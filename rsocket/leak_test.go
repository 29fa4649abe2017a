package rsocket_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/rshm/rshm/rsocket"
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
