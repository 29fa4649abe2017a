package handshake

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// BenchmarkRequestResponse compares one 64-byte request-response round
// trip over the rings with the same over loopback TCP, in one run on the
// same CPUs (two goroutines per side in one process; see package bench for
// the two-process, pinned numbers).
func BenchmarkRequestResponse(b *testing.B) {
	cases := []struct {
		name string
		mode Mode
		wait Wait
	}{
		{"shm", Auto, WaitDefault},
		{"shm-block", Auto, WaitBlock},
		{"shm-yield", Auto, WaitYield},
		{"shm-backoff", Auto, WaitBackoff},
		{"tcp", TCPOnly, WaitDefault},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := testConfig(b)
			l := listen(b, cfg)
			ccfg := cfg
			ccfg.Mode, ccfg.Wait = tc.mode, tc.wait
			r := connect(b, l, ccfg, echoServer(nil))
			b.Logf("transport %v, wait %v, GOMAXPROCS %d, %d CPUs", r.ck, tc.wait, runtime.GOMAXPROCS(0), runtime.NumCPU())
			ctx := context.Background()
			p := rsocket.Payload{Data: make([]byte, 64)}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.client.RequestResponse(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDial measures connection setup: one full Dial and Close of the
// client's transport per op, against a listener in the same process whose
// accept loop closes what it accepts. "shm" negotiates shared memory with
// the default configuration (regions in /dev/shm, default ring size,
// prefaulted); "fallback" runs the hello and reply against a TCP-only
// server (no region); "tcp" is a client that skips the handshake (the TCP
// connect alone), the baseline measured in the same run.
func BenchmarkDial(b *testing.B) {
	cases := []struct {
		name         string
		client, serv Mode
		want         Kind
	}{
		{"shm", Auto, Auto, KindSHM},
		{"fallback", Auto, TCPOnly, KindTCP},
		{"tcp", TCPOnly, Auto, KindTCP},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			scfg := Config{Mode: tc.serv, Timeout: 2 * time.Second}
			l := listen(b, scfg)
			ctx := ctxT(b)
			go func() {
				for {
					a, err := l.Accept(ctx)
					if err != nil {
						return
					}
					_ = a.Transport.Close()
				}
			}()
			ccfg := Config{Mode: tc.client, Timeout: 2 * time.Second}
			b.Logf("GOMAXPROCS %d, %d CPUs", runtime.GOMAXPROCS(0), runtime.NumCPU())
			b.ReportAllocs()
			for b.Loop() {
				t, k, err := Dial(ctx, l.Addr().String(), ccfg)
				if err != nil {
					b.Fatal(err)
				}
				if k != tc.want {
					b.Fatalf("got %v; want %v", k, tc.want)
				}
				if err := t.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
