package sidecar

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rshm/rshm/proxy"
	"github.com/rshm/rshm/rsocket"
)

// The interaction models as metrics label them.
var modelNames = [...]string{"request-response", "fire-and-forget", "request-stream", "request-channel", "metadata-push"}

const (
	rr = iota
	fnf
	stream
	channel
	push
)

// buckets are the upper bounds, in seconds, of the request-response
// latency histogram: a shared-memory hop to the sidecar plus a TCP round
// trip upstream spans tens of microseconds to seconds.
var buckets = [...]float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

// metrics counts the requests forwarded to each upstream.
type metrics struct {
	mu  sync.Mutex
	ups map[string]*counters
}

type counters struct {
	requests [len(modelNames)][2]atomic.Uint64 // [model][ok, error]
	latency  [len(buckets) + 1]atomic.Uint64   // request-response, by bucket (the last: above all)
	sumNanos atomic.Uint64
}

func newMetrics() *metrics { return &metrics{ups: map[string]*counters{}} }

// count wraps r so that its requests are counted as upstream name's. The
// counters of a name outlive a reload that replaces its Requester.
func (m *metrics) count(name string, r proxy.Requester) proxy.Requester {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.ups[name]
	if c == nil {
		c = &counters{}
		m.ups[name] = c
	}
	return &counted{r: r, c: c}
}

func (c *counters) done(model int, err error) {
	i := 0
	if err != nil {
		i = 1
	}
	c.requests[model][i].Add(1)
}

// counted is a Requester whose requests are counted.
type counted struct {
	r proxy.Requester
	c *counters
}

func (w *counted) RequestResponse(ctx context.Context, p rsocket.Payload) (rsocket.Payload, error) {
	start := time.Now()
	resp, err := w.r.RequestResponse(ctx, p)
	d := time.Since(start)
	w.c.done(rr, err)
	w.c.sumNanos.Add(uint64(d))
	b := 0
	for b < len(buckets) && d.Seconds() > buckets[b] {
		b++
	}
	w.c.latency[b].Add(1)
	return resp, err
}

func (w *counted) FireAndForget(ctx context.Context, p rsocket.Payload) error {
	err := w.r.FireAndForget(ctx, p)
	w.c.done(fnf, err)
	return err
}

func (w *counted) RequestStream(ctx context.Context, p rsocket.Payload) (*rsocket.Stream, error) {
	st, err := w.r.RequestStream(ctx, p)
	w.c.done(stream, err)
	return st, err
}

func (w *counted) RequestChannel(ctx context.Context, p rsocket.Payload) (*rsocket.Channel, error) {
	ch, err := w.r.RequestChannel(ctx, p)
	w.c.done(channel, err)
	return ch, err
}

func (w *counted) MetadataPush(ctx context.Context, md []byte) error {
	err := w.r.MetadataPush(ctx, md)
	w.c.done(push, err)
	return err
}

// write writes the counters in the Prometheus text format, with up
// reporting whether each upstream has a connection now.
func (m *metrics) write(w io.Writer, up func(name string) (bool, bool)) {
	m.mu.Lock()
	names := make([]string, 0, len(m.ups))
	for name := range m.ups {
		names = append(names, name)
	}
	m.mu.Unlock()
	slices.Sort(names)
	fmt.Fprintln(w, "# HELP rshm_sidecar_requests_total Requests forwarded to an upstream, by interaction model and outcome.")
	fmt.Fprintln(w, "# TYPE rshm_sidecar_requests_total counter")
	for _, name := range names {
		c := m.get(name)
		for model, n := range modelNames {
			for i, outcome := range [2]string{"ok", "error"} {
				fmt.Fprintf(w, "rshm_sidecar_requests_total{upstream=%q,model=%q,outcome=%q} %d\n", name, n, outcome, c.requests[model][i].Load())
			}
		}
	}
	fmt.Fprintln(w, "# HELP rshm_sidecar_request_duration_seconds Request-response latency through the sidecar's upstream hop.")
	fmt.Fprintln(w, "# TYPE rshm_sidecar_request_duration_seconds histogram")
	for _, name := range names {
		c := m.get(name)
		var cum uint64
		for b, le := range buckets {
			cum += c.latency[b].Load()
			fmt.Fprintf(w, "rshm_sidecar_request_duration_seconds_bucket{upstream=%q,le=%q} %d\n", name, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += c.latency[len(buckets)].Load()
		fmt.Fprintf(w, "rshm_sidecar_request_duration_seconds_bucket{upstream=%q,le=\"+Inf\"} %d\n", name, cum)
		fmt.Fprintf(w, "rshm_sidecar_request_duration_seconds_sum{upstream=%q} %g\n", name, float64(c.sumNanos.Load())/1e9)
		fmt.Fprintf(w, "rshm_sidecar_request_duration_seconds_count{upstream=%q} %d\n", name, cum)
	}
	fmt.Fprintln(w, "# HELP rshm_sidecar_upstream_up Whether an upstream group has a connected instance.")
	fmt.Fprintln(w, "# TYPE rshm_sidecar_upstream_up gauge")
	for _, name := range names {
		if ok, configured := up(name); configured {
			v := 0
			if ok {
				v = 1
			}
			fmt.Fprintf(w, "rshm_sidecar_upstream_up{upstream=%q} %d\n", name, v)
		}
	}
}

func (m *metrics) get(name string) *counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ups[name]
}
