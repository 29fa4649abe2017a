package benchkit

import (
	"math"
	"testing"
	"time"

	"github.com/rshm/rshm/internal/hist"
)

func TestNewRow(t *testing.T) {
	h := &hist.Histogram{}
	for v := int64(1); v <= 1000; v++ {
		h.Record(v * 10) // ticks
	}
	w := &Window{
		h: h, nsPerUnit: 0.5, Msgs: 2000, elapsed: 2 * time.Second,
		client: [2]usage{{user: 100, sys: 50}, {user: 2_000_150, sys: 1_000_000}},
		server: [2]usage{{user: 0, sys: 0}, {user: 1_000_000, sys: 0}},
	}
	c := Case{Transport: RawUnix, Model: RR, Size: 1024, Concurrency: 64}
	r := NewRow("full", c, w)
	scaled := func(q float64) int64 { return int64(math.Round(float64(h.Quantile(q)) * 0.5)) }
	for _, x := range []struct {
		name      string
		got, want float64
	}{
		{"p50", float64(r.P50), float64(scaled(0.5))},
		{"p90", float64(r.P90), float64(scaled(0.9))},
		{"p99", float64(r.P99), float64(scaled(0.99))},
		{"p99.9", float64(r.P999), float64(scaled(0.999))},
		{"max", float64(r.Max), 5000},
		{"msgs/s", r.MsgsPerS, 1000},
		{"bytes/s", r.BytesPerS, 1024 * 1000},
		{"client cpu/msg", r.ClientCPUPerMsg, 1500},
		{"server cpu/msg", r.ServerCPUPerMsg, 500},
		{"cpu/msg", r.CPUPerMsg, 2000},
		{"seconds", r.Seconds, 2},
		{"samples", float64(r.Samples), 1000},
	} {
		if x.got != x.want {
			t.Errorf("%s: got %v; want %v", x.name, x.got, x.want)
		}
	}
	// About 2500 ns (value 5000 ticks × 0.5), within the histogram's 0.8 %.
	if r.P50 < 2480 || r.P50 > 2500 {
		t.Errorf("p50 = %d; want about 2500", r.P50)
	}
	if r.Transport != "raw-unix" || r.Model != "rr" || r.Size != 1024 || r.Concurrency != 64 || r.Suite != "full" {
		t.Errorf("identity fields: %+v", r)
	}
	for _, w := range []*Window{nil, {}} {
		empty := NewRow("quick", c, w)
		if empty.MsgsPerS != 0 || empty.CPUPerMsg != 0 || empty.P50 != 0 || empty.Transport != "raw-unix" || empty.Suite != "quick" {
			t.Errorf("empty window %v: %+v", w, empty)
		}
	}
}
