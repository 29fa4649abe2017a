package rshm

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// TestClientSurvivesRestart: a Client whose server restarts under load
// (with and without resumption: a restarted server has no session to
// resume and answers REJECTED_RESUME) serves requests again once the
// server listens again; requests made during the outage wait for the new
// connection.
func TestClientSurvivesRestart(t *testing.T) {
	for _, resume := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "resumable"}[resume], func(t *testing.T) {
			cfg := testConfig(t)
			if resume {
				cfg.Server.Resume = &rsocket.ResumeConfig{}
				cfg.Client.Resume = &rsocket.ResumeConfig{SessionTimeout: time.Second}
			}
			l, err := Listen("127.0.0.1:0", cfg)
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			c, err := NewClient(addr, cfg, Reconnect{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			roundTrip(t, c)
			if !c.Connected() {
				t.Fatal("Connected is false after a request was answered")
			}

			// Load: requesters that keep going through the restart.
			ctx, stop := context.WithCancel(ctxT(t))
			var wg sync.WaitGroup
			var ok, failed atomic.Int64
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						if _, err := c.RequestResponse(ctx, rsocket.Payload{Data: []byte("x")}); err == nil {
							ok.Add(1)
						} else if ctx.Err() == nil {
							failed.Add(1) // in flight when the connection ended
						}
					}
				}()
			}
			l.Close()
			l, err = Listen(addr, cfg)
			if err != nil {
				stop()
				t.Fatal(err)
			}
			defer l.Close()
			// A request may still meet the old connection before its end
			// is seen (it fails, as in flight); the next ones reach the
			// new server.
			start := time.Now()
			for {
				p, err := c.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("ping")})
				if err == nil && string(p.Data) == "ping" {
					break
				}
				if ctxT(t).Err() != nil || time.Since(start) > 5*time.Second {
					t.Fatalf("no answer since the server listened again: %v", err)
				}
			}
			t.Logf("answered %v after the server listened again", time.Since(start))
			before := ok.Load()
			for ok.Load() < before+100 {
				if _, err := c.RequestResponse(ctxT(t), rsocket.Payload{Data: []byte("y")}); err != nil {
					t.Fatal(err)
				}
				if ctxT(t).Err() != nil {
					t.Fatal("the load did not resume")
				}
			}
			stop()
			wg.Wait()
			t.Logf("requests during the test: %d answered, %d failed in flight", ok.Load(), failed.Load())
		})
	}
}

// TestClientFailFast: with FailFast a request made while the Client has no
// connection fails at once with ErrNotConnected; without it, it waits up
// to its ctx. Close ends both with ErrClosed.
func TestClientFailFast(t *testing.T) {
	cfg := testConfig(t)
	cfg.Timeout = 100 * time.Millisecond
	// A port nobody listens on: every dial is refused.
	l, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	fast, err := NewClient(addr, cfg, Reconnect{FailFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if fast.Connected() {
		t.Fatal("Connected with nobody listening")
	}
	if _, err := fast.RequestResponse(ctxT(t), rsocket.Payload{}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("FailFast request without a connection: %v", err)
	}
	fast.Close()
	if _, err := fast.RequestResponse(ctxT(t), rsocket.Payload{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("request after Close: %v", err)
	}

	patient, err := NewClient(addr, cfg, Reconnect{})
	if err != nil {
		t.Fatal(err)
	}
	defer patient.Close()
	ctx, cancel := context.WithTimeout(ctxT(t), 20*time.Millisecond)
	defer cancel()
	if _, err := patient.RequestResponse(ctx, rsocket.Payload{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting request without a connection: %v", err)
	}
}
