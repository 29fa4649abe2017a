package shmtransport

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
	"github.com/rshm/rshm/shm"
)

// pair returns two Transports over one region in a test directory, as the
// handshake builds them: the client's, waiting with w, and the server's,
// waiting by default, with a socket pair as the liveness channel. ringSize
// zero is 64 KiB. Both are closed when the test ends.
func pair(t testing.TB, ringSize int, w Wait) (client, server *Transport) {
	t.Helper()
	return pairWith(t, ringSize, Options{Wait: w})
}

// pairWith is pair with the client's Options.
func pairWith(t testing.TB, ringSize int, co Options) (client, server *Transport) {
	t.Helper()
	if ringSize == 0 {
		ringSize = 64 << 10
	}
	cfg := shm.Config{Dir: t.TempDir()}
	sd, err := shm.CreateDuplex(cfg, ringSize)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := shm.OpenDuplex(cfg, sd.Region().Name())
	if err != nil {
		sd.Close()
		t.Fatal(err)
	}
	if err := sd.Region().Unlink(); err != nil {
		t.Fatal(err)
	}
	a, b := socketPair(t)
	server = New(sd, sd.ServerToClient(), sd.ClientToServer(), a, nil, Options{})
	client = New(cd, cd.ClientToServer(), cd.ServerToClient(), b, nil, co)
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

// socketPair returns the two ends of a loopback TCP connection.
func socketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-acc
	if a == nil {
		t.Fatal("accept failed")
	}
	return a, b
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// echoServer answers every request-response with its request.
func echoServer() rsocket.ServerConfig {
	return rsocket.ServerConfig{Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) {
		return &rsockettest.Echo{}, nil
	}}
}

// TestConformance runs the engine's interaction-model table over a pair of
// Transports in one process (under -race in make test).
func TestConformance(t *testing.T) {
	for _, w := range []Wait{WaitDefault, WaitBlock} {
		t.Run(w.String(), func(t *testing.T) {
			rsockettest.RunConformance(t, func(t testing.TB) (rsocket.Transport, rsocket.Transport) {
				return pair(t, 0, w)
			})
		})
	}
}

// fnfCounter counts fire-and-forget requests on the receive goroutine.
type fnfCounter struct {
	rsocket.RejectAll
	n atomic.Int64
}

func (h *fnfCounter) FireAndForgetInline(rsocket.Payload) { h.n.Add(1) }

// TestBatchAllocs: a batch of fire-and-forget requests, claimed from the
// ring under one hold of the claim, allocates nothing on either side
// (AllocsPerRun counts every goroutine), and every request arrives.
func TestBatchAllocs(t *testing.T) {
	skipAllocsUnderRace(t)
	ct, st := pair(t, 0, WaitDefault)
	h := &fnfCounter{}
	r := rsockettest.ConnectOver(t, ct, st, rsocket.ClientConfig{}, rsocket.ServerConfig{
		Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return h, nil },
	})
	ctx := ctxT(t)
	ps := make([]rsocket.Payload, 64)
	for i := range ps {
		ps[i].Data = make([]byte, 64)
	}
	run := func() {
		if n, err := r.Client.FireAndForgetBatch(ctx, ps); n != len(ps) || err != nil {
			t.Fatalf("FireAndForgetBatch: %d of %d, %v", n, len(ps), err)
		}
	}
	for range 100 {
		run()
	}
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Errorf("FireAndForgetBatch of %d: %.2f allocs per call, want 0", len(ps), a)
	}
	want := int64(201 * len(ps))
	rsockettest.Eventually(t, 5*time.Second, "every request to arrive", func() bool { return h.n.Load() == want })
}
