package rshm

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm/handshake"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/wstransport"
)

// seqStreamer streams count sequence numbers for request data "count".
type seqStreamer struct{ rsocket.RejectAll }

func (seqStreamer) RequestStream(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
	n, _ := strconv.Atoi(string(p.Data))
	for i := range n {
		if err := w.Send(ctx, rsocket.Payload{Data: strconv.AppendInt(nil, int64(i), 10)}); err != nil {
			return err
		}
	}
	return nil
}

func (seqStreamer) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p.Clone(), nil
}

// TestResumeAcrossTransports moves one resumable session between shared
// memory, TCP and WebSocket while a stream runs, each to each. Every item
// arrives exactly once, in order; the server accepts one connection;
// nothing is left in the shm directory.
func TestResumeAcrossTransports(t *testing.T) {
	cfg := testConfig(t)
	cfg.Server.Resume = &rsocket.ResumeConfig{}
	cfg.Server.Acceptor = func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return seqStreamer{}, nil
	}
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	ws := httptest.NewServer(l.WebSocketHandler()) // the same listener, over WebSocket
	defer ws.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The order of transports: the first dial, then one per cut.
	modes := []Kind{KindSHM, KindTCP, KindWS, KindTCP, KindSHM, KindWS, KindSHM}
	var mu sync.Mutex
	var cur rsocket.Transport
	var kinds []Kind
	dial := func(ctx context.Context) (rsocket.Transport, error) {
		mu.Lock()
		i := min(len(kinds), len(modes)-1)
		mu.Unlock()
		var tr rsocket.Transport
		var err error
		k := modes[i]
		if k == KindWS {
			tr, err = wstransport.Dial(ctx, "ws://"+strings.TrimPrefix(ws.URL, "http://")+"/", wstransport.Options{})
		} else {
			hcfg := cfg.Handshake
			hcfg.Mode = map[Kind]Mode{KindSHM: SHMOnly, KindTCP: TCPOnly}[k]
			tr, k, err = handshake.Dial(ctx, addr, hcfg)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		cur = tr
		kinds = append(kinds, k)
		mu.Unlock()
		return tr, nil
	}
	first, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rsocket.Client(ctx, first, rsocket.ClientConfig{Resume: &rsocket.ResumeConfig{Redial: dial}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const items = 50000
	st, err := c.RequestStream(ctx, rsocket.Payload{Data: []byte(strconv.Itoa(items))})
	if err != nil {
		t.Fatal(err)
	}
	cuts := 0
	var lastCut rsocket.Transport
	for i := range items {
		p, err := st.Recv()
		if err != nil {
			t.Fatalf("item %d: %v (kinds %v)", i, err, kinds)
		}
		if string(p.Data) != strconv.Itoa(i) {
			t.Fatalf("item %d: got %q: lost or repeated (kinds %v)", i, p.Data, kinds)
		}
		if i > 0 && i%(items/len(modes)) == 0 && cuts < len(modes)-1 {
			// The stream's window may still hold items from before the
			// last cut while its transport is redialed: cut the new one.
			var tr rsocket.Transport
			rsockettest.Eventually(t, 10*time.Second, "the session to resume on a new transport", func() bool {
				mu.Lock()
				defer mu.Unlock()
				tr = cur
				return tr != lastCut
			})
			_ = tr.Close() // the transport breaks under the stream
			lastCut = tr
			cuts++
		}
	}
	if _, err := st.Recv(); err == nil {
		t.Fatal("item after the last")
	}
	roundTrip(t, c)
	mu.Lock()
	got := fmt.Sprint(kinds)
	mu.Unlock()
	if want := fmt.Sprint(modes); got != want {
		t.Fatalf("transports %s, want %s", got, want)
	}
	// The resumed transports joined the session of the first connection:
	// nothing new to accept.
	actx, acancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer acancel()
	if extra, err := l.Accept(actx); err == nil {
		t.Fatalf("a resumed transport was accepted as a new connection (%v)", extra.Kind())
	}
	c.Close()
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("server kept the session after the client closed it")
	}
	rsockettest.Eventually(t, 2*time.Second, "the shm directory to empty", func() bool {
		es, _ := os.ReadDir(cfg.SHM.Dir)
		return len(es) == 0
	})
}

// TestDialResumable: Dial with Client.Resume and no Redial dials the same
// address again by itself; the server sees a resumable session.
func TestDialResumable(t *testing.T) {
	cfg := testConfig(t)
	rc := &rsocket.ResumeConfig{}
	cfg.Server.Resume = rc
	cfg.Client.Resume = &rsocket.ResumeConfig{}
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	c, err := Dial(ctx, l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	roundTrip(t, c)
	if rc.Len() != 1 || c.Kind() != KindSHM {
		t.Fatalf("server sessions %d, kind %v; want 1, shm", rc.Len(), c.Kind())
	}
}
