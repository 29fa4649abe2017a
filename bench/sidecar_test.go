package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/internal/hist"
	"github.com/rshm/rshm/internal/testchild"
	"github.com/rshm/rshm/proxy"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/rsocket/router"
)

// serverRoles are the children that serve over the network: an upstream
// and a sidecar in processes of their own. Each prints "addr HOST:PORT"
// and serves until killed.
var serverRoles = map[string]func(args []string) int{
	"upstream": func([]string) int {
		l, err := rshm.Listen("tcp://127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{
			Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return echoRR{}, nil },
		}})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("addr", l.Addr())
		select {}
	},
	// sidecar UPSTREAM: a proxy of every request to UPSTREAM over TCP,
	// serving shared memory and TCP.
	"sidecar": func(args []string) int {
		upstream, err := rshm.NewClient("tcp://"+args[0], rshm.Config{Client: rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite}}, rshm.Reconnect{})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		pcfg := proxy.Config{Route: func(string) proxy.Requester { return upstream }}
		l, err := rshm.Listen("127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{Acceptor: pcfg.Acceptor()}})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("addr", l.Addr())
		select {}
	},
}

// BenchmarkSidecar measures what the sidecar's hop costs an application:
// request-response through a sidecar process (app -> sidecar over shared
// memory -> upstream process over TCP) against the app calling the
// upstream process over TCP directly, one requester at a time (p50, p99)
// and 64 at once (requests/s). The three processes share the machine's
// CPUs, unpinned, as an app, its sidecar and a co-located upstream would.
//
// The targets (the sidecar issue) are ratios in the same run: sidecar p50
// within 5 us of direct, c64 throughput at least 0.8x direct's.
func BenchmarkSidecar(b *testing.B) {
	ctx := context.Background()
	upAddr := testchild.Start(b, "upstream").Line(b, "addr ")
	sideAddr := testchild.Start(b, "sidecar", upAddr).Line(b, "addr ")
	ccfg := rshm.Config{Client: rsocket.ClientConfig{MetadataMIME: metadata.MIMEComposite}}
	direct, err := rshm.Dial(ctx, "tcp://"+upAddr, ccfg)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	via, err := rshm.Dial(ctx, "shm://"+sideAddr, ccfg)
	if err != nil {
		b.Fatal(err)
	}
	defer via.Close()
	p, err := router.Route("echo", make([]byte, 64))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		conn *rshm.Conn
	}{{"direct-tcp", direct}, {"sidecar", via}} {
		b.Run(c.name+"-rr-64B", func(b *testing.B) {
			var h hist.Histogram
			for b.Loop() {
				start := time.Now()
				if _, err := c.conn.RequestResponse(ctx, p); err != nil {
					b.Fatal(err)
				}
				h.Record(int64(time.Since(start)))
			}
			b.ReportMetric(float64(h.Quantile(0.5)), "p50-ns")
			b.ReportMetric(float64(h.Quantile(0.99)), "p99-ns")
		})
		b.Run(c.name+"-rr-64B-c64", func(b *testing.B) {
			var wg sync.WaitGroup
			next := make(chan struct{}, 64)
			start := time.Now()
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						if _, err := c.conn.RequestResponse(ctx, p); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			for b.Loop() {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

type echoRR struct{ rsocket.RejectAll }

func (echoRR) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	return p, nil
}
