package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/balance"
	"github.com/rshm/rshm/internal/hist"
	"github.com/rshm/rshm/internal/tsc"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/rsockettest"
)

// balanceRequesters is the closed-loop requesters of every BenchmarkBalance
// row: enough that outstanding requests, not only latency, tell instances
// apart.
const balanceRequesters = 8

// slowBy is how much later the slow instance answers.
const slowBy = 10 * time.Millisecond

// BenchmarkBalance measures request-response through a balance.Client over
// five upstream instances, in-process rshm servers dialed over TCP, with
// balanceRequesters closed-loop requesters, each row with a fresh Client:
//
//	all-fast/p2c, all-fast/round-robin   five fast instances: the baselines
//	one-slow/p2c, one-slow/round-robin   one instance answers slowBy later
//	                                     (its handler sleeps)
//	one-slow/p2c-no-eject,               the same with stall ejection off:
//	one-slow/round-robin-no-eject        the strategy alone
//
// Each row reports p50-ns and p99-ns per request, req/s, and inst0-% (the
// share of the requests sent to the first instance, the slow one in the
// one-slow rows). The question is the
// ratio of one-slow/p2c's p99 to all-fast/p2c's, with round-robin beside
// it. The instances share the process and its CPUs with the requesters;
// nothing is pinned.
//
//	go test ./bench -run '^$' -bench Balance -benchtime 2s
func BenchmarkBalance(b *testing.B) {
	ups := startUpstreams(b, 5)
	rows := []struct {
		name  string
		slow  bool
		strat balance.Strategy
		eject bool
	}{
		{"all-fast/p2c", false, balance.P2C, true},
		{"all-fast/round-robin", false, balance.RoundRobin, true},
		{"one-slow/p2c", true, balance.P2C, true},
		{"one-slow/round-robin", true, balance.RoundRobin, true},
		{"one-slow/p2c-no-eject", true, balance.P2C, false},
		{"one-slow/round-robin-no-eject", true, balance.RoundRobin, false},
	}
	for _, r := range rows {
		b.Run(r.name, func(b *testing.B) {
			ups[0].slow.Store(r.slow)
			cfg := balance.Config{Strategy: r.strat}
			if !r.eject {
				cfg.StallFactor, cfg.MaxTimeouts = -1, -1
			}
			benchBalance(b, ups, cfg)
		})
	}
}

// upstream is one instance: an echo whose answers wait slowBy while slow
// is set.
type upstream struct {
	rsocket.RejectAll
	addr string
	slow atomic.Bool
}

func (u *upstream) RequestResponse(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	if u.slow.Load() {
		time.Sleep(slowBy)
	}
	return p.Clone(), nil
}

func startUpstreams(b *testing.B, n int) []*upstream {
	ups := make([]*upstream, n)
	for i := range ups {
		u := &upstream{}
		l, err := rshm.Listen("tcp://127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{
			Acceptor: func(context.Context, rsocket.SetupInfo, *rsocket.Conn) (rsocket.Handler, error) { return u, nil },
		}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		u.addr = "tcp://" + l.Addr().String()
		ups[i] = u
	}
	return ups
}

// benchBalance runs b.N request-responses through a fresh Client over ups
// from balanceRequesters goroutines.
func benchBalance(b *testing.B, ups []*upstream, cfg balance.Config) {
	addrs := make([]string, len(ups))
	for i, u := range ups {
		addrs[i] = u.addr
	}
	c, err := balance.New(addrs, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rsockettest.Eventually(b, 10*time.Second, "every instance to be admitted", func() bool {
		for _, s := range c.Stats() {
			if s.State != balance.Admitted {
				return false
			}
		}
		return true
	})
	before := c.Stats()
	hs := make([]hist.Histogram, balanceRequesters)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	clk := tsc.Start()
	start := time.Now()
	for g := range balanceRequesters {
		wg.Add(1)
		go func(h *hist.Histogram) {
			defer wg.Done()
			ctx := context.Background()
			msg := rsocket.Payload{Data: make([]byte, 64)}
			for next.Add(1) <= int64(b.N) {
				t0 := tsc.Now()
				if _, err := c.RequestResponse(ctx, msg); err != nil {
					failed.Add(1)
				}
				h.Record(tsc.Now() - t0)
			}
		}(&hs[g])
	}
	wg.Wait()
	el := time.Since(start)
	clk.Stop()
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d requests failed", f)
	}
	var h hist.Histogram
	for i := range hs {
		h.Merge(&hs[i])
	}
	after := c.Stats()
	var total uint64
	for i := range after {
		total += after[i].Requests - before[i].Requests
	}
	b.ReportMetric(clk.NS(h.Quantile(0.50)), "p50-ns")
	b.ReportMetric(clk.NS(h.Quantile(0.99)), "p99-ns")
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
	b.ReportMetric(100*float64(after[0].Requests-before[0].Requests)/float64(max(total, 1)), "inst0-%")
	b.ReportMetric(0, "ns/op")
}
