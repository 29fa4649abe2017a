package handshake

import (
	"context"
	"runtime"
	"testing"

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
