package otelrshm_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/otelrshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/router"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// An application as in the README, a router serving two routes, with a
// meter provider: each side exports the number and the latencies of its
// requests per route, interaction model and status code. With
// otel.SetMeterProvider(mp) in place of the options, the interceptors use
// the global provider alike.
func Example_metrics() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	r := router.New(router.Config{})
	r.OnRequestResponse("greet", func(_ context.Context, p rsocket.Payload) (rsocket.Payload, error) {
		if len(p.Data) == 0 {
			return rsocket.Payload{}, errors.New("greet whom?")
		}
		return rsocket.Payload{Data: fmt.Appendf(nil, "hello, %s", p.Data)}, nil
	})
	r.OnRequestStream("ticks", func(ctx context.Context, p rsocket.Payload, w *rsocket.StreamWriter) error {
		for i := range 3 {
			if err := w.Send(ctx, rsocket.Payload{Data: fmt.Appendf(nil, "tick %d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	r.OnRequestChannel("ticks", func(ctx context.Context, p rsocket.Payload, ch *rsocket.Channel) error {
		for { // echoes what the requester sends, its first payload p included
			if err := ch.Send(ctx, p); err != nil {
				return err
			}
			var err error
			if p, err = ch.Recv(); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
		}
	})

	ln, err := rshm.Listen("127.0.0.1:0", rshm.Config{Server: rsocket.ServerConfig{
		Acceptor:              r.Acceptor(),
		ResponderInterceptors: []rsocket.Interceptor{otelrshm.Responder(otelrshm.WithMeterProvider(mp))},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Shutdown(ctx)
	conn, err := rshm.Dial(ctx, ln.Addr().String(), rshm.Config{Client: rsocket.ClientConfig{
		RequesterInterceptors: []rsocket.Interceptor{otelrshm.Requester(otelrshm.WithMeterProvider(mp))},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	for _, who := range []string{"alice", "bob", "carol", ""} {
		req, _ := router.Route("greet", []byte(who))
		_, err := conn.RequestResponse(ctx, req)
		if err != nil {
			fmt.Println(err)
		}
	}
	for range 2 {
		req, _ := router.Route("ticks", nil)
		s, err := conn.RequestStream(ctx, req)
		if err != nil {
			log.Fatal(err)
		}
		for _, err := range s.All() {
			if err != nil {
				log.Fatal(err)
			}
		}
	}
	req, _ := router.Route("ticks", []byte("a"))
	ch, err := conn.RequestChannel(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	if err := ch.Send(ctx, rsocket.Payload{Data: []byte("b")}); err != nil {
		log.Fatal(err)
	}
	ch.CloseSend()
	for _, err := range ch.All() {
		if err != nil {
			log.Fatal(err)
		}
	}

	// Each side records a request before its caller sees the request's
	// end: what the reader collects now is complete.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, line := range requests(rm) {
		fmt.Println(line)
	}
	// Output:
	// rsocket: APPLICATION_ERROR (0x201): greet whom?
	// rpc.client.call.duration greet request-response OK: 3 requests, latencies recorded
	// rpc.client.call.duration greet request-response APPLICATION_ERROR: 1 requests, latencies recorded
	// rpc.client.call.duration ticks request-stream OK: 2 requests, latencies recorded
	// rpc.client.call.duration ticks request-channel OK: 1 requests, latencies recorded
	// rpc.server.call.duration greet request-response OK: 3 requests, latencies recorded
	// rpc.server.call.duration greet request-response APPLICATION_ERROR: 1 requests, latencies recorded
	// rpc.server.call.duration ticks request-stream OK: 2 requests, latencies recorded
	// rpc.server.call.duration ticks request-channel OK: 1 requests, latencies recorded
}

// requests returns a line per histogram data point: the metric, the route,
// the interaction model, the status code and the count, and whether the
// latencies were recorded (a positive sum, the count in the buckets).
func requests(rm metricdata.ResourceMetrics) []string {
	type point struct {
		metric, route, model, status string
		n                            uint64
		recorded                     bool
	}
	var points []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				continue
			}
			for _, dp := range h.DataPoints {
				get := func(k attribute.Key) string { v, _ := dp.Attributes.Value(k); return v.String() }
				var inBuckets uint64
				for _, n := range dp.BucketCounts {
					inBuckets += n
				}
				points = append(points, point{
					metric: m.Name, route: get("rpc.method"), model: get("rsocket.interaction_model"),
					status: get("rpc.response.status_code"), n: dp.Count,
					recorded: dp.Sum > 0 && inBuckets == dp.Count,
				})
			}
		}
	}
	order := []string{"request-response", "fire-and-forget", "request-stream", "request-channel", "metadata-push"}
	slices.SortFunc(points, func(a, b point) int {
		return cmp.Or(strings.Compare(a.metric, b.metric), strings.Compare(a.route, b.route),
			cmp.Compare(slices.Index(order, a.model), slices.Index(order, b.model)),
			cmp.Compare(b.n, a.n))
	})
	var lines []string
	for _, p := range points {
		rec := "latencies recorded"
		if !p.recorded {
			rec = "no latencies"
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s: %d requests, %s", p.metric, p.route, p.model, p.status, p.n, rec))
	}
	return lines
}
